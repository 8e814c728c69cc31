#!/bin/sh
# Runs the trace-reader fuzz target (built by `make test` or `make fuzz` when
# clang is installed) for about 20 seconds from the seed corpus
# tests/fuzz/corpus. Any crash or sanitizer report fails the test.
set -u
f=$HP_BUILD/fuzz/fuzz_trace_read
[ -x "$f" ] || { echo "fuzz target not built (needs clang): $f"; exit 77; }
mkdir -p "$HP_TMP/corpus"
"$f" -max_total_time="${HP_FUZZ_SECONDS:-20}" -max_len=65536 -rss_limit_mb=1024 \
    -timeout=10 -artifact_prefix="$HP_TMP/" "$HP_TMP/corpus" "$HP_SRC/tests/fuzz/corpus" \
    >"$HP_TMP/fuzz.log" 2>&1
rc=$?
tail -n 5 "$HP_TMP/fuzz.log"
if [ "$rc" -ne 0 ]; then
    grep -A 30 'ERROR' "$HP_TMP/fuzz.log" | head -60
    ls "$HP_TMP"/crash-* "$HP_TMP"/leak-* "$HP_TMP"/oom-* "$HP_TMP"/timeout-* 2>/dev/null
    exit 1
fi
exit 0
