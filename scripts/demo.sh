#!/usr/bin/env bash
# The demo, from a fresh clone, with no display needed: installs what it
# needs, builds, starts the bundled test identity provider on loopback,
# starts authd against it the way a shell would (eval "$(authd)"), logs in
# with `tb login` (approved automatically by a scripted user unless a
# display is present and DEMO_BROWSER=1), prints a project-scoped token and
# `tb status`, answers a git credential request, and stops everything.
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

export XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/config
mkdir -m 700 "$XDG_RUNTIME_DIR"
mkdir -p "$XDG_CONFIG_HOME/authd"
unset AUTHD_SOCK AUTHD_ISSUER AUTHD_CLIENT_ID
printf 'store = memory\n\n[profile default]\nissuer = %s\nclient_id = tb-cli\naudience = https://api.tb.test\n' \
	"$issuer" >"$XDG_CONFIG_HOME/authd/config.ini"
chmod 600 "$XDG_CONFIG_HOME/authd/config.ini"	# authd refuses one others may write

say 'eval "$(authd)"'
eval "$(authd)"

if [ "${DEMO_BROWSER:-0}" = 1 ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
	# Your browser: the browser login, back to authd on loopback.
	unset BROWSER
	how=
else
	# A scripted user opens the device flow's page, signs in as alice
	# and approves.
	export BROWSER="node $top/tests/idp/approve-http.js"
	how=--device
fi
say "tb login $how"
# The demo's user is here even when its output goes to a pipe or a CI log.
TB_INTERACTIVE=1 tb login $how
say "tb status"
tb status
say 'tb token --project prj_123        # a project-scoped JWT'
tok=$(tb token --project prj_123)
echo "$tok"
say 'tb list'
tb list
say 'curl -H "Authorization: Bearer $(tb token)" $ISSUER/me   # the user token'
curl -s -H "Authorization: Bearer $(tb token)" "$issuer/me"
echo
say 'git -c credential.https://git.example.test.helper="tb --host git.example.test --project prj_123" credential fill'
printf 'protocol=https\nhost=git.example.test\n\n' |
	GIT_TERMINAL_PROMPT=0 git -c credential.helper= -c \
	credential.https://git.example.test.helper="tb --host git.example.test --project prj_123" \
	credential fill |
	sed 's/^password=\(.\{24\}\).*/password=\1.../'
say 'kill $AUTHD_PID'
kill "$AUTHD_PID"
AUTHD_PID=
