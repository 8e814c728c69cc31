#!/bin/sh
# Installs the Debian packages heapprof needs, and only those that are missing.
# Uses sudo when not run as root.
#
#   install-deps.sh          what building and `make demo` need
#   install-deps.sh --test   also what the tests and benchmarks use: valgrind and
#                            heaptrack to compare against, clang for the fuzz
#                            target, Chromium and Node for the flamegraph browser
#                            test, Go's pprof to read our pprof output
set -eu
pkgs="make gcc g++ pkg-config libunwind-dev libzstd-dev libdw-dev libelf-dev
      zlib1g-dev libprotobuf-c-dev protobuf-c-compiler libjemalloc-dev zstd binutils"
if [ "${1:-}" = "--test" ]; then
    pkgs="$pkgs libcmocka-dev clang protobuf-compiler libxml2-utils python3 file
          sqlite3 time valgrind heaptrack chromium nodejs golang-go
          golang-github-google-pprof-dev"
    # npm (for the browser test's playwright-core) ships inside some nodejs
    # builds, and Debian's npm package conflicts with those: ask only when absent.
    command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done
[ -n "$missing" ] || exit 0
echo "heapprof: installing Debian packages:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
