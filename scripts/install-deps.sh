#!/bin/sh
# Installs the Debian packages heapprof needs to build, test and benchmark,
# and only those that are missing. Uses sudo when not run as root.
set -eu
pkgs="make gcc g++ clang pkg-config libunwind-dev libzstd-dev libdw-dev libelf-dev
      zlib1g-dev libcmocka-dev libprotobuf-c-dev protobuf-compiler libxml2-utils
      protobuf-c-compiler chromium nodejs golang-go golang-github-google-pprof-dev
      libjemalloc-dev zstd binutils python3 file sqlite3 time valgrind heaptrack"
# npm (for the browser test's playwright-core) ships inside some nodejs builds,
# and Debian's npm package conflicts with those: ask for it only when absent.
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
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
