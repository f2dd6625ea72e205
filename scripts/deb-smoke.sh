#!/usr/bin/env bash
# Build the Debian package (cpack -G DEB), install it with dpkg -i, check
# the installed programs, manual pages and library, log in and get tokens
# with the installed binaries against the bundled test provider, then
# dpkg -r it and check that none of its files is left behind.
# Needs root (dpkg), the build dependencies (scripts/install-deps.sh) and
# the test provider's modules (cd tests/idp && npm ci). Used by .ci/run.
# Usage: scripts/deb-smoke.sh [BUILD_DIR]   (default: build-deb)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=${1:-build-deb}
pkg=authd-tb

[ "$(id -u)" -eq 0 ] || { echo "deb-smoke: needs root (dpkg -i)" >&2; exit 1; }
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
	echo "deb-smoke: $pkg is already installed; dpkg -r $pkg first" >&2
	exit 1
fi

step() { printf '\n--- deb: %s ---\n' "$*"; }
fail() { echo "deb-smoke: FAIL: $*" >&2; exit 1; }

step "build"
cmake -S . -B "$build" -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo ${CI:+-DAUTHD_WERROR=ON} >/dev/null
cmake --build "$build" -j"${AUTHD_JOBS:-2}" >/dev/null
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls "$build"/${pkg}_*.deb)
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Depends\):/&/p'

# Nothing of Ubuntu's unrelated authd package (the login broker's
# /usr/libexec/authd, its system units, PAM and NSS modules): only our
# prefix, user units, and the names below.
step "contents"
files=$(dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's|^\./|/|' |
	grep -v '/$')
printf '%s\n' "$files"
while read -r f; do
	case $f in
	/usr/bin/authd|/usr/bin/tb|/usr/bin/git-credential-tb|\
	/usr/bin/docker-credential-tb|/usr/libexec/authd-tb/authd-keyring|\
	/usr/libexec/authd-tb/authd-http|/usr/lib/*/libauthd-client.so*|\
	/usr/lib/libauthd-client.so*|/usr/include/authd-client.h|\
	/usr/lib/*pkgconfig/authd-client.pc|/usr/share/man/man[158]/*|\
	/usr/share/bash-completion/completions/tb|\
	/usr/share/zsh/vendor-completions/_tb|\
	/usr/share/fish/vendor_completions.d/tb.fish|\
	/usr/lib/systemd/user/authd.service|/usr/lib/systemd/user/authd.socket|\
	/usr/share/doc/*) ;;
	*) fail "unexpected file in the package: $f" ;;
	esac
done <<<"$files"

step "dpkg -i"
# Minimal images exclude /usr/share/man (dpkg path-exclude): include ours.
dpkg -i --path-include='/usr/share/man/*' "$deb" >/dev/null ||
	{ apt-get install -y -q -f >/dev/null; dpkg -i --path-include='/usr/share/man/*' "$deb"; }
installed=$(dpkg -L "$pkg")

cleanup() {
	if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
		dpkg -P "$pkg" >/dev/null || true
	fi
}
trap cleanup EXIT

step "programs, manual pages, library"
tb --version | grep -qx "tb [0-9.]*" || fail "tb --version"
authd --version | grep -q "^authd [0-9.]*" || fail "authd --version"
git-credential-tb --version >/dev/null
docker-credential-tb version >/dev/null
for m in tb authd authd.ini; do
	man -w "$m" >/dev/null || fail "man -w $m"
done
man -w tb
pkg-config --exists authd-client || fail "pkg-config authd-client"
tmp=$(mktemp -d)
# shellcheck disable=SC2046  # (the example uses cJSON itself)
cc -o "$tmp/example" tests/integration/client_example.c \
	$(pkg-config --cflags --libs authd-client libcjson) ||
		fail "libauthd-client"
rm -rf "$tmp"
[ -x /usr/libexec/authd-tb/authd-keyring ] || fail "authd-keyring"
[ -f /usr/lib/systemd/user/authd.socket ] || fail "user units"
grep -q "^ExecStart=/usr/bin/authd" /usr/lib/systemd/user/authd.service ||
	fail "authd.service does not start /usr/bin/authd"

step "login and tokens with the installed binaries"
AUTHD_BIN=/usr/bin/authd TB_BIN=/usr/bin/tb \
	GIT_CREDENTIAL_TB_BIN=/usr/bin/git-credential-tb \
	DOCKER_CREDENTIAL_TB_BIN=/usr/bin/docker-credential-tb \
	AUTHD_BUILD_DIR="$src/$build" \
	python3 tests/integration/test_context.py binding_token helpers_git \
	helpers_docker
# The Secret Service store: the installed authd finds its installed
# authd-keyring (/usr/libexec/authd-tb; none next to /usr/bin/authd).
AUTHD_BIN=/usr/bin/authd TB_BIN=/usr/bin/tb AUTHD_BUILD_DIR="$src/$build" \
	python3 tests/integration/test_store.py keyring_restart

step "dpkg -r"
dpkg -r "$pkg" >/dev/null
trap - EXIT
left=0
while read -r f; do
	[ -d "$f" ] && continue		# shared directories stay
	if [ -e "$f" ] || [ -L "$f" ]; then
		echo "left behind: $f" >&2
		left=1
	fi
done <<<"$installed"
[ "$left" = 0 ] || fail "dpkg -r left files behind"
! command -v tb >/dev/null || fail "tb still on PATH"
# dpkg keeps the record of a removed package with maintainer scripts
# (ldconfig's postrm) until it is purged: purge it, then nothing is left.
dpkg -P "$pkg" >/dev/null
! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -qv 'not-installed' ||
	fail "dpkg still records $pkg"
echo "deb-smoke: ok ($(basename "$deb"): built, installed, smoke-tested, removed)"
