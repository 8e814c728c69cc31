#!/bin/sh
# out_outputs.sh - end to end: profile out_prog in full mode and check every
# output of the real heapanalyze against its JSON report (issue 4):
# flamegraph and timeline are well-formed XML naming the program's
# functions, folded stacks sum to the report's totals for every kind, and
# the pprof profile decodes with protoc against analyzer/profile.proto with
# totals equal to the report's.
set -eu
A=$HP_BUILD/heapanalyze
P=$HP_BUILD/tests/integration/out_prog
fail() { echo "FAIL: $*"; exit 1; }
for tool in xmllint protoc python3; do
    command -v $tool >/dev/null || { echo "$tool not installed (make deps)"; exit 77; }
done

HEAPPROF_RATE=1 HEAPPROF_OUT=prog.zst LD_PRELOAD=$HP_BUILD/libheapprof.so "$P" 2 >/dev/null
[ -s prog.zst ] || fail "no trace written"
"$A" --json prog.zst > report.json
json() { python3 -c "import json,sys; print(int(round(json.load(open('report.json'))['$1'])))"; }
total_bytes=$(json total_bytes); peak=$(json peak_bytes); leaked=$(json leaked_bytes)
calls=$(json total_allocations); temp=$(json temporary_allocations); lblocks=$(json leaked_blocks)
echo "report: total_bytes=$total_bytes peak=$peak leaked=$leaked calls=$calls temporary=$temp"
# What out_prog allocates (SCALE=2), at least: 200 x 1000 + 50 x 4096 + 2000 + 512.
[ "$total_bytes" -ge 407312 ] || fail "total_bytes $total_bytes too small"
[ "$leaked" -ge 2000 ] || fail "leaked $leaked < 2000"

# Folded stacks: for each kind the values sum to the report's total.
for kind in allocated peak leaked temporary count; do
    "$A" prog.zst --folded=$kind > $kind.folded
    sum=$(awk '{s += $NF} END {printf "%d", s}' $kind.folded)
    case $kind in
    allocated) want=$total_bytes ;; peak) want=$peak ;; leaked) want=$leaked ;;
    temporary) want=$temp ;; count) want=$calls ;;
    esac
    echo "folded $kind: $(wc -l < $kind.folded) lines, sum $sum, report $want"
    [ "$sum" -eq "$want" ] || fail "--folded=$kind sums to $sum, report says $want"
    # Root first: every line starts at the program's entry, not at malloc.
    ! grep -q '^malloc' $kind.folded || fail "--folded=$kind is not root first"
done
grep -q ';grow_list [0-9]*$' allocated.folded || fail "grow_list missing from folded"
grep -q 'main;leak_some [0-9]*$' leaked.folded || fail "leak_some missing from leaked folded"
[ "$(grep -c 'recurse;recurse;recurse' allocated.folded)" -ge 1 ] || fail "recursion chain missing"

# Flamegraphs: well-formed, self-contained, titled with kind, program, total.
"$A" prog.zst --flame >/dev/null
[ -s prog.flame.svg ] || fail "--flame did not write prog.flame.svg"
"$A" prog.zst --flame=leaked -o leaks.svg
for f in prog.flame.svg leaks.svg; do
    xmllint --noout "$f" || fail "$f is not well-formed XML"
    ! grep -q 'xlink:href\|src="http\|href="http' "$f" || fail "$f references the network"
done
grep -q 'Allocated bytes: .*out_prog' prog.flame.svg || fail "flame title lacks kind/program"
grep -q '<title>grow_list' prog.flame.svg || fail "grow_list frame missing"
grep -q 'Leaked bytes' leaks.svg || fail "leaked flame title"
grep -q '<title>leak_some' leaks.svg || fail "leak_some frame missing in leaked flame"
! grep -q '<title>grow_list' leaks.svg || fail "grow_list leaks nothing yet is in the leaked flame"

# Timeline.
"$A" prog.zst --timeline heap.svg
xmllint --noout heap.svg || fail "timeline is not well-formed XML"
grep -q 'class="peaklabel"' heap.svg || fail "timeline has no peak marker"
grep -q 'grow_list' heap.svg || fail "timeline legend lacks grow_list"

# pprof: decodes with protoc; totals equal the report's.
"$A" prog.zst --pprof heap.pb.gz
[ "$(head -c 2 heap.pb.gz | od -An -tx1 | tr -d ' ')" = 1f8b ] || fail "pprof file is not gzip"
gzip -dc heap.pb.gz | protoc --decode=heapprof.pprof.Profile \
    --proto_path="$HP_SRC/analyzer" "$HP_SRC/analyzer/profile.proto" > heap.txt ||
    fail "protoc cannot decode the pprof profile"
sums=$(awk '/^sample \{/ {n = 0} /^  value: / {v[n++] += $2} END {printf "%d %d %d %d", v[0], v[1], v[2], v[3]}' heap.txt)
echo "pprof sums (alloc_objects alloc_space inuse_objects inuse_space): $sums"
[ "$sums" = "$calls $total_bytes $lblocks $leaked" ] ||
    fail "pprof totals '$sums' != report '$calls $total_bytes $lblocks $leaked'"
grep -q 'string_table: "alloc_space"' heap.txt || fail "sample type names missing"
grep -q 'string_table: "grow_list"' heap.txt || fail "function names missing"
grep -q 'build_id: [1-9]' heap.txt || fail "mappings carry no build-id"
"$A" prog.zst --pprof peak.pb.gz --peak-pprof
gzip -dc peak.pb.gz | protoc --decode=heapprof.pprof.Profile \
    --proto_path="$HP_SRC/analyzer" "$HP_SRC/analyzer/profile.proto" > peak.txt
inuse=$(awk '/^sample \{/ {n = 0} /^  value: / {v[n++] += $2} END {printf "%d", v[3]}' peak.txt)
[ "$inuse" -eq "$peak" ] || fail "--peak-pprof inuse_space $inuse != peak $peak"
echo "all outputs agree with the report"
