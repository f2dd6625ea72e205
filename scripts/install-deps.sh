#!/usr/bin/env bash
# Install what authd needs to build and to run its whole test suite on Debian 12.
# Idempotent; needs root (or sudo). Used by .ci/run and by the README's commands.
set -euo pipefail

pkgs=(
	build-essential cmake pkg-config git ca-certificates
	libevent-dev libcurl4-openssl-dev libcjson-dev libjwt-dev libsecret-1-dev
	libsystemd-dev libinih-dev libglib2.0-dev libssl-dev libqrencode-dev
	gnome-keyring libsecret-tools dbus dbus-daemon libglib2.0-bin
	systemd valgrind openssl python3 curl zbar-tools man-db dpkg-dev
	clang libclang-rt-14-dev
	nodejs npm chromium
	openssh-server openssh-client
	libfaketime
	# tests/bench/run: oidc-agent side by side (oidc-agent-cli holds oidc-agent,
	# oidc-gen and oidc-token; the package oidc-agent adds only the desktop
	# integration), and the chart
	oidc-agent-cli gnuplot-nox
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done

# node/npm may come from outside Debian (a newer node on PATH): keep it.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	keep=()
	for p in "${missing[@]}"; do
		case "$p" in nodejs|npm) ;; *) keep+=("$p") ;; esac
	done
	missing=("${keep[@]}")
fi

if [ "${#missing[@]}" -gt 0 ]; then
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
