#!/usr/bin/env bash
# The demo, from a fresh clone, with no display needed: installs what it
# needs, builds, starts the bundled test identity provider on loopback,
# starts authd against it the way a shell would (eval "$(authd)"), logs in
# with `tb login` (approved automatically by a scripted user unless a
# display is present and DEMO_BROWSER=1), then shows `tb status` and a
# token, and stops everything again.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

bash scripts/install-deps.sh >/dev/null
(cd tests/idp && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
cmake -S . -B build >/dev/null
cmake --build build -j"${AUTHD_JOBS:-2}" >/dev/null
PATH=$top/build:$PATH

work=$(mktemp -d)
idp_pid=
cleanup() {
	[ -n "${AUTHD_PID:-}" ] && kill "$AUTHD_PID" 2>/dev/null
	[ -n "$idp_pid" ] && kill "$idp_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n$ %s\n' "$*"; }

# The test provider: oidc-provider with the device flow, on a free port.
node tests/idp/idp.js --port 0 --interval 1 --ready-file "$work/idp.json" \
	>"$work/idp.out" 2>&1 &
idp_pid=$!
for _ in $(seq 100); do
	[ -s "$work/idp.json" ] && break
	kill -0 "$idp_pid" 2>/dev/null || { cat "$work/idp.out"; exit 1; }
	sleep 0.1
done
issuer=$(sed -n 's/.*"issuer":"\([^"]*\)".*/\1/p' "$work/idp.json")
echo "test identity provider: $issuer"

export XDG_RUNTIME_DIR=$work/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset AUTHD_SOCK
export AUTHD_ISSUER=$issuer AUTHD_CLIENT_ID=tb-cli

say 'eval "$(authd)"'
eval "$(authd)"

if [ "${DEMO_BROWSER:-0}" = 1 ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
	unset BROWSER
else
	# A scripted user opens the page, signs in as alice and approves.
	export BROWSER="node $top/tests/idp/approve-http.js"
fi
say "tb login"
tb login
say "tb status"
tb status
say 'tb token'
tb token
say 'curl -H "Authorization: Bearer $(tb token)" $AUTHD_ISSUER/me'
curl -s -H "Authorization: Bearer $(tb token)" "$issuer/me"
echo
say 'kill $AUTHD_PID'
kill "$AUTHD_PID"
AUTHD_PID=
