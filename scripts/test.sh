#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, then
#   1. a normal build, every label (unit, integration, security, lint);
#   2. an ASan+UBSan build, every label again;
#   3. the fuzz build (clang, ASan+UBSan): the libFuzzer targets, each for a
#      bounded time, and the socket fuzzer (tests/fuzz/sockfuzz.py: the real
#      authd fed random frame sequences; it prints its seed).
# Usage: scripts/test.sh [--quick]   (--quick: step 1 only)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=${AUTHD_JOBS:-2}
werror=()
[ -n "${CI:-}" ] && werror=(-DAUTHD_WERROR=ON)

bash scripts/install-deps.sh
# The test identity provider and the browser driver, from the lock file.
(cd tests/idp && npm ci --no-audit --no-fund --loglevel=error)

step() { printf '\n=== %s ===\n' "$*"; }

# The figures the tests print (cycles, latencies, memory), which ctest
# keeps to itself when a test passes.
figures() {
	grep -hE '^(soak|crash loop|rotation kill loop|file store|1000 idle|flood|status (during|with)|100 concurrent|cache after|[a-z0-9]+ +-> tb:)' \
	    "$1/Testing/Temporary/LastTest.log" || true
}

step "normal build"
cmake -S . -B build "${werror[@]}" >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs" -LE bench)
figures build
# Reached only when every test passed (set -e): say what that covers.
printf 'valgrind memcheck: %s tests passed: no memcheck error and no definite leak in any daemon\n' \
	"$(cd build && ctest -N -L valgrind | sed -n 's/^Total Tests: //p')"
[ "$quick" = 1 ] && exit 0

step "ASan+UBSan build"
cmake -S . -B build-asan -DAUTHD_SANITIZE=ON "${werror[@]}" >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ctest --output-on-failure -j"$jobs" -LE bench)
figures build-asan
printf 'ASan+UBSan: %s tests passed: no sanitizer report (leaks included)\n' \
	"$(cd build-asan && ctest -N -LE bench | sed -n 's/^Total Tests: //p')"

step "fuzzers (${AUTHD_FUZZ_SECONDS:-30} s each, then the socket fuzzer)"
CC=clang cmake -S . -B build-fuzz -DAUTHD_FUZZ=ON -DAUTHD_SANITIZE=ON \
	-DAUTHD_FUZZ_SECONDS="${AUTHD_FUZZ_SECONDS:-30}" "${werror[@]}" >/dev/null
# Every target: the fuzz targets, and authd and tb for fuzz_socket.
cmake --build build-fuzz -j"$jobs"
(cd build-fuzz && ctest --output-on-failure -L fuzz -V |
	grep -E 'executions|passed|failed|FAIL|sockfuzz|Test|ERROR|SUMMARY|==[0-9]+==|#[0-9]+ 0x')
