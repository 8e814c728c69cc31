# Detached threads that come and go: the program runs as it does
# unprofiled, and the counts stay exact. A detached thread's last frees in
# glibc (the thread descriptors it evicts from the stack cache) come after
# its exit callback, and a thread that never called the allocator makes
# its first call there; such a thread once attached a record whose counters
# died with it, and the final flush crashed the program (SIGSEGV in 10 runs
# of 10 in mode "spawners"), while in full mode those frees were lost and
# their blocks (604 of them in mode "bursts") reported leaked.
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
need_python
P=$BIN/rec_thread_churn
for run in 1 2 3; do
    for rate in 1 524288; do
        HEAPPROF_RATE=$rate HEAPPROF_OUT=s$rate.zst LD_PRELOAD=$LIB "$P" spawners ||
            fail "spawners, rate $rate, run $run: exit $?"
        "$ANA" --json s$rate.zst >s$rate.json || fail "spawners: unreadable trace"
    done
done
# Full mode: every allocation is either freed or live at exit, but for the
# few calls of threads still running that race with the final flush (a
# free counted whose record came too late, or the other way round).
python3 -c '
import json
j = json.load(open("s1.json"))
a, f, l = j["total_allocations"], j["total_frees"], j["leaked_blocks"]
assert a > 100 and abs(l - (a - f)) <= 8, (a, f, l)
print("ok: spawners, %d allocations, %d frees, %d live at exit" % (a, f, l))' ||
    fail "spawners: counts do not add up"

HEAPPROF_RATE=1 HEAPPROF_OUT=b.zst LD_PRELOAD=$LIB "$P" bursts || fail "bursts: exit $?"
"$ANA" --json b.zst | python3 -c '
import json, sys
j = json.load(sys.stdin)
m = j["functions"]["malloc"]
assert (m["calls"], m["bytes"]) == (640, 84160), m
a, f, l = j["total_allocations"], j["total_frees"], j["leaked_blocks"]
assert a - f == l, (a, f, l)
# Live at exit: the descriptors of the stacks glibc still caches (a few).
assert l <= 10, (a, f, l)
print("ok: bursts, %d allocations, %d frees, %d live at exit" % (a, f, l))' ||
    fail "bursts: frees at thread exit lost"
HEAPPROF_OUT=bs.zst LD_PRELOAD=$LIB "$P" bursts || fail "bursts, sampled: exit $?"
"$ANA" --json bs.zst | python3 -c '
import json, sys
j = json.load(sys.stdin)
m = j["functions"]["malloc"]
assert (m["calls"], m["bytes"]) == (640, 84160), m
assert j["total_allocations"] - j["total_frees"] <= 10, (j["total_allocations"], j["total_frees"])
print("ok: bursts sampled, counters exact")' || fail "bursts, sampled: counters"
