#!/bin/sh
# Runs every test: the cmocka unit tests, then each integration script.
# Called by `make test` with HP_BUILD set to the absolute build directory.
# An integration script exits 0 (pass), 77 (skip, with a reason on stdout)
# or anything else (fail). Ends with the line "N passed, N failed, N skipped".
#
# TESTS=pattern runs only the tests whose name contains pattern.
set -u
cd "$(dirname "$0")/.." || exit 2
HP_SRC=$(pwd)
: "${HP_BUILD:=$HP_SRC/build}"
export HP_SRC HP_BUILD
pass=0 fail=0 skip=0 failed=""
filter=${TESTS:-}
tmproot=$(mktemp -d "${TMPDIR:-/tmp}/heapprof-tests.XXXXXX")
trap 'rm -rf "$tmproot"' EXIT INT TERM

matches() { [ -z "$filter" ] || case "$1" in *"$filter"*) return 0 ;; *) return 1 ;; esac; }

for t in "$HP_BUILD"/tests/unit/test_*; do
    [ -x "$t" ] || continue
    name=unit/$(basename "$t")
    matches "$name" || continue
    out=$tmproot/out.txt
    CMOCKA_MESSAGE_OUTPUT=stdout timeout 600 "$t" >"$out" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
    p=${p:-0} f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or exited early
    pass=$((pass + p)) fail=$((fail + f))
    if [ "$f" -ne 0 ]; then
        echo "FAIL $name ($p passed, $f failed)"
        sed 's/^/    /' "$out" | tail -n 40
        failed="$failed $name"
    else
        echo "ok   $name ($p tests)"
    fi
done

for s in tests/integration/*.sh; do
    [ -f "$s" ] || continue
    name=integration/$(basename "$s" .sh)
    matches "$name" || continue
    dir=$tmproot/$(basename "$s" .sh)
    mkdir -p "$dir"
    start=$(date +%s)
    (cd "$dir" && HP_TMP="$dir" timeout 900 sh "$HP_SRC/$s") >"$dir.log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    case $rc in
    0) pass=$((pass + 1)); echo "ok   $name (${secs}s)" ;;
    77) skip=$((skip + 1)); echo "skip $name: $(tail -n 1 "$dir.log")" ;;
    *) fail=$((fail + 1)); failed="$failed $name"
       echo "FAIL $name (exit $rc, ${secs}s)"; sed 's/^/    /' "$dir.log" | tail -n 60 ;;
    esac
done

[ -z "$failed" ] || echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
