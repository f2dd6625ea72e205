"""The shared libraries tb and the credential helpers load (DT_NEEDED):
only those named. Every one costs every start of tb token, and of the git
helper on every fetch and push, an open, mappings, relocations and page
faults (docs/BENCHMARKS.md); a static library that was linked shared by
mistake shows here, not as a slower benchmark.

usage: lint_needed.py --allow LIB[,LIB...] EXECUTABLE...
"""
import argparse
import re
import shutil
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--allow", required=True)
ap.add_argument("files", nargs="+")
a = ap.parse_args()
allowed = set(a.allow.split(","))
readelf = shutil.which("readelf")
if readelf is None:
    print("readelf not found (binutils)")
    sys.exit(1)
failures = []
for path in a.files:
    out = subprocess.run([readelf, "-d", path], capture_output=True,
                         text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    if not needed:
        failures.append("%s: no NEEDED entries (not a dynamic "
                        "executable?)" % path)
    for lib in needed:
        if lib not in allowed:
            failures.append("%s needs %s (allowed: %s)" % (
                path, lib, ", ".join(sorted(allowed))))
for f in failures:
    print("needed: " + f)
print("%d checked, %d failed" % (len(a.files), len(failures)))
sys.exit(1 if failures else 0)
