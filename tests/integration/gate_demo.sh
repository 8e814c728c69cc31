#!/bin/sh
# scripts/demo.sh (what `make demo` runs after building) works: it profiles
# examples/wordcount, prints the text report with its peak and leak
# sections, writes a flamegraph, and says where both are.
set -u
B=$HP_BUILD
for f in libheapprof.so heapanalyze heapprof examples/wordcount; do
    [ -e "$B/$f" ] || { echo "$B/$f not built"; exit 77; }
done
fail() { echo "FAIL: $*"; exit 1; }
HP_DEMO_DIR=$HP_TMP/demo sh "$HP_SRC/scripts/demo.sh" >demo.txt 2>&1
rc=$?
cat demo.txt
[ "$rc" -eq 0 ] || fail "demo.sh exit $rc"
[ -s "$HP_TMP/demo/wordcount.zst" ] || fail "no trace"
grep -q '<svg' "$HP_TMP/demo/wordcount.flame.svg" || fail "no flamegraph"
grep -q 'table_add' demo.txt || fail "report does not name table_add"
grep -q 'make_summary' demo.txt || fail "report does not name the leak"
grep -q 'flamegraph .*demo/wordcount.flame.svg' demo.txt || fail "flamegraph path not said"
# Run twice: an existing trace must not make it fail or pile up files.
HP_DEMO_DIR=$HP_TMP/demo sh "$HP_SRC/scripts/demo.sh" >demo2.txt 2>&1 || fail "second run"
[ "$(ls "$HP_TMP/demo" | wc -l)" -eq 2 ] || { ls "$HP_TMP/demo"; fail "files pile up"; }
echo "gate_demo: ok"
