"""Banned functions (STYLE.md): fail on any use in our C sources."""
import os
import re
import sys

root = sys.argv[1]
banned_everywhere = ["strcpy", "strcat", "sprintf", "vsprintf", "strtok",
                     "atoi", "atol", "system", "gets", "tmpnam", "mktemp"]
banned_daemon = ["curl_easy_perform", "sleep", "usleep"]
failures = []
for top in ("proto", "daemon", "client", "tests"):
    for dirpath, _, files in os.walk(os.path.join(root, top)):
        if "node_modules" in dirpath:
            continue
        for name in files:
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            banned = banned_everywhere + (banned_daemon if top == "daemon"
                                          else [])
            with open(path, errors="replace") as f:
                text = f.read()
            # Drop comments and string literals before matching.
            text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group().count(
                "\n"), text, flags=re.S)
            text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
            for lineno, line in enumerate(text.splitlines(), 1):
                for fn in banned:
                    if re.search(r"(?<![\w.>])%s\s*\(" % fn, line):
                        failures.append("%s:%d: %s()" % (
                            os.path.relpath(path, root), lineno, fn))
for f in failures:
    print("banned: " + f)
print("%d passed, %d failed" % (0 if failures else 1, 1 if failures else 0))
sys.exit(1 if failures else 0)
