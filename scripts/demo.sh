#!/bin/sh
# demo.sh - what `make demo` runs once everything is built: profiles
# examples/wordcount.c with the launcher in full mode, prints the text
# report, writes a flamegraph, and says where everything is and what to
# try next. HP_BUILD is the build directory (absolute; `make demo` sets it).
# The files go to $HP_BUILD/demo/ (HP_DEMO_DIR overrides).
set -u
cd "$(dirname "$0")/.." || exit 2
src=$(pwd)
B=${HP_BUILD:-$src/build}
dir=${HP_DEMO_DIR:-$B/demo}

for f in heapprof heapanalyze libheapprof.so examples/wordcount; do
    if [ ! -e "$B/$f" ]; then
        echo "demo: $B/$f is missing; build first: make all examples" >&2
        exit 2
    fi
done
mkdir -p "$dir" || exit 2
cd "$dir" || exit 2
rm -f wordcount.zst wordcount.flame.svg wordcount.*.zst

say() { printf '\n\033[1m%s\033[0m\n' "$*" 2>/dev/null || printf '\n%s\n' "$*"; }
[ -t 1 ] || say() { printf '\n%s\n' "$*"; }

say "\$ heapprof --full -o wordcount.zst examples/wordcount"
"$B/heapprof" --full -o wordcount.zst "$B/examples/wordcount"
rc=$?
if [ "$rc" -ne 0 ] || [ ! -s wordcount.zst ]; then
    echo "demo: profiling failed (exit $rc); see the messages above" >&2
    exit 1
fi

say "\$ heapanalyze wordcount.zst --top 3"
"$B/heapanalyze" wordcount.zst --top 3 || exit 1

say "\$ heapanalyze wordcount.zst --flame -o wordcount.flame.svg"
"$B/heapanalyze" wordcount.zst --flame -o wordcount.flame.svg || exit 1

# Paths as a user at the repository root types them.
rel() { case $1 in "$src"/*) echo "${1#"$src"/}" ;; *) echo "$1" ;; esac; }
rb=$(rel "$B")
rd=$(rel "$dir")
say "Done."
cat <<EOT
  trace       $rd/wordcount.zst
  flamegraph  $rd/wordcount.flame.svg
              (open it in a web browser: click a box to zoom in, Search to
              highlight a function)

Next, from $src:
  $rb/heapprof --leak-check $rb/examples/leak     # the CI leak gate: fails, 3 leaks
  $rb/heapanalyze $rd/wordcount.zst --flame=peak -o peak.svg   # who holds the peak
  examples/README.md and docs/user-guide.md say more.
EOT
