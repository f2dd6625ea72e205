"""The shared libraries tb and the credential helpers load (DT_NEEDED):
only those named. Every one costs every start of tb token, and of the git
helper on every fetch and push, an open, mappings, relocations and page
faults (docs/BENCHMARKS.md); a static library that was linked shared by
mistake shows here, not as a slower benchmark.

With --relro instead of --allow: each file is bound at start with
read-only relocations (BIND_NOW and a GNU_RELRO segment: CMakeLists.txt
says why).

With --exports HEADER: each shared library defines exactly the functions
HEADER declares (client/authd-client.map keeps the rest local).

usage: lint_needed.py --allow LIB[,LIB...] EXECUTABLE...
       lint_needed.py --relro FILE...
       lint_needed.py --exports HEADER LIBRARY...
"""
import argparse
import re
import shutil
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--allow")
ap.add_argument("--relro", action="store_true")
ap.add_argument("--exports")
ap.add_argument("files", nargs="+")
a = ap.parse_args()
if [bool(a.allow), a.relro, bool(a.exports)].count(True) != 1:
    ap.error("give one of --allow, --relro and --exports")
allowed = set(a.allow.split(",")) if a.allow else set()
readelf = shutil.which("readelf")
if readelf is None:
    print("readelf not found (binutils)")
    sys.exit(1)
failures = []
if a.exports:
    nm = shutil.which("nm")
    if nm is None:
        print("nm not found (binutils)")
        sys.exit(1)
    with open(a.exports) as f:
        # Declarations, not the example in the header's comment.
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    declared = set(re.findall(r"\b(authd_[a-z_]+)\(", text))
    if not declared:
        failures.append("%s declares no function" % a.exports)
    for path in a.files:
        out = subprocess.run([nm, "-D", "--defined-only", path],
                             capture_output=True, text=True,
                             check=True).stdout
        defined = {ln.split()[-1].split("@")[0] for ln in out.splitlines()
                   if ln.split()[-2:-1] in (["T"], ["W"], ["D"], ["B"],
                                            ["R"])}
        for sym in sorted(defined - declared):
            failures.append("%s exports %s, which %s does not declare" % (
                path, sym, a.exports))
        for sym in sorted(declared - defined):
            failures.append("%s does not define %s, which %s declares" % (
                path, sym, a.exports))
    for f in failures:
        print("exports: " + f)
    print("%d checked, %d failed" % (len(a.files), len(failures)))
    sys.exit(1 if failures else 0)
for path in a.files:
    out = subprocess.run([readelf, "-d", path], capture_output=True,
                         text=True, check=True).stdout
    if a.relro:
        segs = subprocess.run([readelf, "-lW", path], capture_output=True,
                              text=True, check=True).stdout
        if not re.search(r"\(BIND_NOW\)|\(FLAGS(_1)?\).*\bNOW\b", out):
            failures.append("%s: not bound at start (link with -z now)" %
                            path)
        if "GNU_RELRO" not in segs:
            failures.append("%s: no RELRO segment (link with -z relro)" %
                            path)
        continue
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
