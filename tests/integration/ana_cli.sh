#!/bin/sh
# heapanalyze's command line: exit status 2 with a message naming the
# problem for usage errors and unreadable traces, --help and --version,
# options before or after TRACE, -o, --top, and the leak gate's exit 1.
set -u
ha=$HP_BUILD/heapanalyze
trace=$HP_SRC/tests/golden/small.zst
fail() { echo "FAIL: $*"; exit 1; }
expect() { # expect STATUS PATTERN -- ARGS...
    want=$1 pat=$2
    shift 3
    "$ha" "$@" >out.txt 2>err.txt
    rc=$?
    [ $rc -eq "$want" ] || { cat out.txt err.txt; fail "heapanalyze $*: exit $rc, want $want"; }
    [ -z "$pat" ] || grep -q -- "$pat" out.txt err.txt || { cat out.txt err.txt; fail "heapanalyze $*: no '$pat'"; }
}
expect 2 "no TRACE" --
expect 2 "unrecognized option" -- --bogus "$trace"
expect 2 "/nonexistent/x.zst" -- /nonexistent/x.zst
printf 'not a trace at all' >garbage.zst
expect 2 "not a heapprof trace" -- garbage.zst
expect 2 "one TRACE only" -- "$trace" "$trace"
expect 2 "--top" -- --top x "$trace"
expect 2 "unknown KIND" -- --flame=bogus "$trace"
expect 2 "corrupt.zst: frame 0" -- "$HP_SRC/tests/golden/corrupt.zst"
expect 0 "--json" -- --help
expect 0 "heapanalyze" -- --version
expect 0 '"version":2' -- --json "$trace"
expect 0 '"version":2' -- "$trace" --json
# a version 1 trace (its header's version field, at byte 16, set to 1)
cp "$trace" v1.zst
printf '\001' | dd of=v1.zst bs=1 seek=16 conv=notrunc 2>/dev/null
expect 2 "version 1 is no longer read; record it again" -- v1.zst
expect 0 "Leaks: memory never freed" -- "$trace"
# --top 1: each JSON array holds one site at most
"$ha" --json --top 1 "$trace" >top.json || fail "--top 1"
[ "$(grep -o '"stack_id"' top.json | wc -l)" -le 4 ] || fail "--top 1 gave more than one site per array"
# -o writes the chosen output to a file, nothing on stdout
"$ha" "$trace" --json -o o.json >stdout.txt || fail "-o"
[ -s o.json ] && [ ! -s stdout.txt ] || fail "-o did not write the file alone"
grep -q '"leaked_bytes":20480' o.json || fail "-o file content"
# truncated trace: warning on stderr, exit 0
expect 0 "truncated" -- --json "$HP_SRC/tests/golden/truncated.zst"
# leak gate: small.zst leaks 20,480 bytes
expect 1 "" -- --fail-on-leaks "$trace"
expect 0 "" -- --fail-on-leaks=1M "$trace"
expect 2 "byte count" -- --fail-on-leaks=lots "$trace"
# --flame without -o names its file after the trace, in the working directory
cp "$trace" mytrace.zst
if "$ha" mytrace.zst --flame >flame.out 2>&1; then
    [ -s mytrace.flame.svg ] || fail "--flame did not write mytrace.flame.svg"
    grep -q mytrace.flame.svg flame.out || fail "--flame did not say where it wrote"
fi
exit 0
