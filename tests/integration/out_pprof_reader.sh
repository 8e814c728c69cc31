#!/bin/sh
# out_pprof_reader.sh - the pprof profile of a real trace read by Google's
# pprof itself (issue 4): `pprof -raw` totals per sample type equal the JSON
# report's, and `pprof -top` names the program's functions with file:line
# information. pprof comes from PATH, or is built once from Debian's
# golang-github-google-pprof-dev sources with golang-go; the test skips only
# when neither is available.
set -eu
A=$HP_BUILD/heapanalyze
P=$HP_BUILD/tests/integration/out_prog
fail() { echo "FAIL: $*"; exit 1; }
command -v python3 >/dev/null || { echo "python3 not installed (make deps)"; exit 77; }

PPROF=$(command -v pprof || true)
if [ -z "$PPROF" ]; then
    PPROF=$HP_BUILD/tools/pprof
    src=/usr/share/gocode/src/github.com/google/pprof
    if [ ! -x "$PPROF" ]; then
        command -v go >/dev/null && [ -d "$src" ] ||
            { echo "no pprof: install golang-go and golang-github-google-pprof-dev (make deps)"; exit 77; }
        mkdir -p "$HP_BUILD/tools"
        GOPATH=/usr/share/gocode GO111MODULE=off GOPROXY=off GOFLAGS= \
            GOCACHE=$HP_BUILD/tools/gocache go build -o "$PPROF" github.com/google/pprof ||
            { echo "cannot build pprof from $src"; exit 77; }
    fi
fi

HEAPPROF_RATE=1 HEAPPROF_OUT=prog.zst LD_PRELOAD=$HP_BUILD/libheapprof.so "$P" 2 >/dev/null
"$A" --json prog.zst > report.json
"$A" prog.zst --pprof heap.pb.gz
"$PPROF" -raw heap.pb.gz > raw.txt 2>&1 || { cat raw.txt; fail "pprof -raw cannot read the profile"; }
python3 - <<'PY' || fail "pprof totals differ from the report"
import json, re
rep = json.load(open("report.json"))
raw = open("raw.txt").read()
head = re.search(r"^Samples:\n(.*)\n", raw, re.M).group(1).split()
assert head[:4] == ["alloc_objects/count", "alloc_space/bytes", "inuse_objects/count",
                    "inuse_space/bytes[dflt]"], head
sums = [0, 0, 0, 0]
for m in re.finditer(r"^\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+):", raw, re.M):
    for i in range(4):
        sums[i] += int(m.group(i + 1))
want = [rep["total_allocations"], rep["total_bytes"], rep["leaked_blocks"], rep["leaked_bytes"]]
want = [int(round(w)) for w in want]
print("pprof -raw sums", sums, "report", want)
assert sums == want
assert "PeriodType: space bytes" in raw and "Period: 1" in raw
PY
"$PPROF" -top -sample_index=alloc_space heap.pb.gz > top.txt 2>&1 || fail "pprof -top failed"
cat top.txt
grep -q 'Type: alloc_space' top.txt || fail "pprof -top: sample type"
grep -q ' grow_list$' top.txt || fail "pprof -top lacks grow_list"
grep -q ' fixed_buffers$' top.txt || fail "pprof -top lacks fixed_buffers"
"$PPROF" -top -lines -sample_index=inuse_space heap.pb.gz > lines.txt 2>&1
grep -q 'leak_some .*out_prog.c:[0-9]' lines.txt || { cat lines.txt; fail "pprof -lines lacks leak_some file:line"; }
echo "pprof reads the profile"
