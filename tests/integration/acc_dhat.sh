#!/bin/sh
# Full mode agrees with valgrind's DHAT within 0.5% (issue 2 "What will be
# measured"): total_allocations, total_bytes, peak_bytes, leaked_bytes and
# leaked_blocks of heapanalyze --json against DHAT's Total, At t-gmax and
# At t-end, for three small deterministic programs: a leaky one (malloc,
# calloc, strdup, an open stream), a realloc-heavy one (growing, shrinking
# and same-size reallocs) and one with two peaks, temporaries, the aligned
# variants and an mmap-sized block. The comparison itself is
# bench/accuracy.sh; the programs are bench/acc_leak.c, bench/acc_realloc.c
# and bench/acc_peak.c, compiled here when the build has not made them.
# Skips (77) when valgrind is not installed.
set -u
command -v valgrind >/dev/null 2>&1 || { echo "valgrind is not installed"; exit 77; }
TMPDIR=$HP_TMP sh "$HP_SRC/bench/accuracy.sh" --check 0.5 acc_leak acc_realloc acc_peak
