#!/usr/bin/env bash
# The demo, from a fresh clone: installs what it needs, builds, starts authd
# on a private runtime directory the way a shell would (eval "$(authd)"),
# shows `tb status`, and stops the daemon again.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build >/dev/null
cmake --build build -j"${AUTHD_JOBS:-2}" >/dev/null
PATH=$PWD/build:$PATH

export XDG_RUNTIME_DIR
XDG_RUNTIME_DIR=$(mktemp -d)
trap 'kill "${AUTHD_PID:-}" 2>/dev/null; rm -rf "$XDG_RUNTIME_DIR"' EXIT
unset AUTHD_SOCK
export AUTHD_ISSUER=${AUTHD_ISSUER:-https://idp.example.test}
export AUTHD_CLIENT_ID=${AUTHD_CLIENT_ID:-tb-cli}

echo '$ eval "$(authd)"'
eval "$(authd)"
echo "\$ tb status"
set +e
tb status
echo "(exit status $?: 3 means not logged in)"
echo "\$ tb --json status"
tb --json status
set -e
echo "\$ kill \$AUTHD_PID"
kill "$AUTHD_PID"
