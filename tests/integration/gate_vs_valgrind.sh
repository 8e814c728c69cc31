#!/bin/sh
# Calibration of the leak gate against valgrind memcheck: on the leaking
# examples (leak, threads, cxx_shapes) the gate counts exactly the bytes
# valgrind reports as definitely + indirectly lost, at the same source
# lines, and sets apart what valgrind calls still reachable or possibly
# lost in the C runtime (stdout's buffer, TLS, libstdc++'s pool).
set -u
B=$HP_BUILD
for f in libheapprof.so heapanalyze heapprof examples/leak examples/threads \
         examples/cxx_shapes; do
    [ -e "$B/$f" ] || { echo "$B/$f not built"; exit 77; }
done
command -v valgrind >/dev/null || { echo "valgrind not installed"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

for ex in leak threads cxx_shapes; do
    case $ex in cxx_shapes) src=$ex.cpp ;; *) src=$ex.c ;; esac
    valgrind --leak-check=full --show-leak-kinds=definite,indirect --run-libc-freeres=no \
        --run-cxx-freeres=no "$B/examples/$ex" >vg.$ex.out 2>vg.$ex.txt ||
        fail "valgrind $ex"
    def=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' vg.$ex.txt | tr -d ,)
    ind=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' vg.$ex.txt | tr -d ,)
    vg=$((def + ind))
    # valgrind's sites: the first frame of each loss record in the example's source.
    awk -v src="$src" '/are (definitely|indirectly) lost/ {want = 1; next}
        want && index($0, "(" src ":") { sub(/.*\(/, ""); sub(/\).*/, ""); print; want = 0 }' \
        vg.$ex.txt | sort -u >vg.$ex.sites

    "$B/heapprof" --leak-check "$B/examples/$ex" >hp.$ex.txt 2>&1
    rc=$?
    [ "$rc" -eq 1 ] || { cat hp.$ex.txt; fail "$ex: gate exit $rc, want 1"; }
    hp=$(sed -n 's/^leak [0-9]* of [0-9]*: \([0-9]*\) bytes.*/\1/p' hp.$ex.txt |
         awk '{s += $1} END {print s + 0}')
    awk -v src="$src" '/^leak [0-9]+ of/ {want = 1; next}
        want && index($0, "/" src ":") { n = split($0, w, "/"); print w[n]; want = 0 }' \
        hp.$ex.txt | sort -u >hp.$ex.sites
    echo "$ex: valgrind $vg bytes lost at $(tr '\n' ' ' <vg.$ex.sites)"
    echo "$ex: heapprof $hp bytes leaked at $(tr '\n' ' ' <hp.$ex.sites)"
    [ "$vg" -gt 0 ] || fail "$ex: valgrind found no leak"
    [ "$hp" -eq "$vg" ] || { cat hp.$ex.txt vg.$ex.txt; fail "$ex: bytes differ"; }
    cmp -s vg.$ex.sites hp.$ex.sites || { cat hp.$ex.txt vg.$ex.txt; fail "$ex: sites differ"; }
done
echo "gate_vs_valgrind: ok"
