#!/bin/sh
# A process killed by SIGKILL leaves a trace without an end record:
# heapanalyze reads what was written (exit 0), says the trace is not
# complete, and reports the events it read.
set -u
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
HEAPPROF_RATE=1 HEAPPROF_OUT="$HP_TMP/k.zst" LD_PRELOAD="$LIB" \
    "$BIN/ana_killed" "$HP_TMP/ready" &
pid=$!
i=0
while [ ! -e "$HP_TMP/ready" ] && [ $i -lt 600 ]; do
    sleep 0.5
    i=$((i + 1))
done
kill -9 $pid
wait $pid 2>/dev/null
[ -e "$HP_TMP/ready" ] || { echo "program never got ready"; exit 1; }
"$ANA" --json "$HP_TMP/k.zst" >k.json 2>k.err
rc=$?
cat k.err
[ $rc -eq 0 ] || { echo "heapanalyze exit $rc on a killed process's trace"; exit 1; }
grep -q '"complete":false' k.json || { echo "trace of a killed process said complete"; exit 1; }
samples=$(sed -n 's/.*"samples":\([0-9]*\).*/\1/p' k.json)
[ "${samples:-0}" -gt 100000 ] || { echo "only ${samples:-0} events read"; exit 1; }
"$ANA" "$HP_TMP/k.zst" >report.txt 2>&1 || exit 1
grep -q "no end record" report.txt || { echo "report does not say the run was cut"; exit 1; }
exit 0
