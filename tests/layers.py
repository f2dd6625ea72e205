#!/usr/bin/env python3
"""The daemon's include graph is a tree of layers (RFC 0001, "Who may
include whom"): a daemon file may include the headers of its own layer and
of the layers below it, never above. The one circle allowed inside a layer
is conn.c <-> req.c; store.c reaches its backends through a vtable
(store-backend.h). A new daemon file must be given a layer here.

Usage: layers.py SOURCE_DIR   (exit 1 and one line per violation)
"""
import os
import re
import sys

# Lowest first. A module is a file stem; "account" covers account*.c/.h.
LAYERS = [
    # the context struct, allocation, logging, secrets, the worker, proto/,
    # private directories and lock files
    ["authd.h", "xmalloc", "log", "secret", "secmem", "worker", "error", "msg",
     "frame", "proto", "text", "ctxrule", "sockpath", "privdir", "lockfile",
     "child"],
    # pure or leaf modules
    ["http", "http-chan", "authd-http", "url", "redirect", "qr", "oauth", "jwtcheck", "jwt", "jws", "dpop",
     "profile", "preset", "policy", "confirm",
     "store", "store-backend", "store-file", "store-memory", "store-secret",
     "audit",
     # the Secret Service store's helper program and its messages
     "keyring", "authd-keyring"],
    ["config", "disco", "jwks"],
    ["idp"],
    ["account"],
    ["flow", "mint"],
    ["lock"],
    ["req", "conn", "server", "forward"],
    ["authd.c"],
]

MODULE_OF = {
    "account-int": "account", "account-store": "account",
    "account-refresh": "account", "account-federated": "account",
    "account-life": "account", "chan-io": "child", "mint-int": "mint", "mint-job": "mint",
}


def module(name):
    if name in ("authd.h", "authd.c"):
        return name
    stem = os.path.splitext(name)[0]
    if stem.startswith("req-"):
        return "req"
    return MODULE_OF.get(stem, stem)


def layer_of(name):
    m = module(name)
    for i, mods in enumerate(LAYERS):
        if m in mods:
            return i
    return None


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "."
    daemon = os.path.join(src, "daemon")
    bad = []
    checked = 0
    for f in sorted(os.listdir(daemon)):
        if not f.endswith((".c", ".h")):
            continue
        mine = layer_of(f)
        if mine is None:
            bad.append(f"daemon/{f}: no layer: add it to tests/layers.py")
            continue
        with open(os.path.join(daemon, f), encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                m = re.match(r'#include "([^"]+)"', line)
                if not m:
                    continue
                checked += 1
                inc = m.group(1)
                theirs = layer_of(inc)
                if theirs is None:
                    bad.append(f"daemon/{f}:{n}: {inc}: no layer: add it "
                               "to tests/layers.py")
                elif theirs > mine:
                    bad.append(f"daemon/{f}:{n}: includes {inc} "
                               f"({module(inc)}, layer {theirs}) from "
                               f"{module(f)} (layer {mine}): a module may "
                               "not include one above it")
    for b in bad:
        print(b)
    print(f"layers: {checked} includes checked, {len(bad)} violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
