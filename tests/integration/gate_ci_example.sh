#!/bin/sh
# The worked CI example (examples/ci): its leak-gate target passes on the
# clean test, fails on the leaky build (LEAKY=1) naming the leaking line,
# and leaves the artifacts the workflow uploads: JUnit that validates,
# SARIF, the text report and the flamegraph.
set -u
B=$HP_BUILD
for f in libheapprof.so heapanalyze heapprof; do
    [ -e "$B/$f" ] || { echo "$B/$f not built"; exit 77; }
done
command -v make >/dev/null || { echo "make not installed"; exit 77; }
command -v xmllint >/dev/null || { echo "xmllint not installed (libxml2-utils)"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
run() { make -s -C "$HP_SRC/examples/ci" leak-gate HEAPPROF="$B/heapprof" \
            HEAPANALYZE="$B/heapanalyze" "$@"; }

run O="$HP_TMP/clean" >clean.txt 2>&1
rc=$?
cat clean.txt
[ "$rc" -eq 0 ] || fail "clean test: make exit $rc"
r=$HP_TMP/clean/reports/test_strbuf
for f in "$r.zst" "$r.junit.xml" "$r.sarif" "$r.report.txt" "$r.flame.svg"; do
    [ -s "$f" ] || fail "artifact $f missing"
done
xmllint --noout --schema "$HP_SRC/tests/integration/gate_junit.xsd" "$r.junit.xml" ||
    fail "JUnit does not validate"
grep -q 'failures="0"' "$r.junit.xml" || fail "clean JUnit has failures"

run O="$HP_TMP/leaky" LEAKY=1 >leaky.txt 2>&1
rc=$?
cat leaky.txt
[ "$rc" -ne 0 ] || fail "leaky test passed the gate"
line=$(grep -n 'd = realloc' "$HP_SRC/examples/ci/test_strbuf.c" | cut -d: -f1)
grep -q "strbuf_append .*test_strbuf.c:$line\$" leaky.txt || fail "leak line $line not named"
r=$HP_TMP/leaky/reports/test_strbuf
grep -q '<failure ' "$r.junit.xml" || fail "leaky JUnit has no failure"
grep -q '"startLine": ' "$r.sarif" || fail "leaky SARIF has no location"
echo "gate_ci_example: ok"
