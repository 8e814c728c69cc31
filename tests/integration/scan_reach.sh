#!/bin/sh
# The reachability scan at exit (full mode with HEAPPROF_LEAK_SCAN=1, which
# heapprof --leak-check sets; without it no scan is recorded and the JSON
# says so): on scan_reach.c the JSON's
# lost figures are exactly the unreachable blocks (a lost block, a lost
# block and the block it points to), the still-reachable ones (from a
# global, through a reachable block, from a local of main while exit() is
# called from a nested function) are not lost; the gate passes a program
# whose only live blocks are reachable from globals, fails one with a lost
# block naming its file:line, and --gate-reachable counts every live block
# again. With four other threads still running at exit (mode "threads"),
# blocks held by their stacks and TLS are reachable, and only the two lost
# blocks fail the gate; so is everything python3 holds in threads sleeping
# at exit, and what threads that never allocated hold in their stacks and
# registers while running at exit (mode "running", where ptrace works). Blocks held from memory the program mapped itself (mode
# "mapped") are reachable while it stays mapped, and CPython with its own
# allocator passes the gate. When valgrind is installed, its definitely +
# indirectly lost bytes equal our lost_bytes in every mode.
set -u
B=$HP_BUILD
for f in libheapprof.so heapanalyze heapprof tests/integration/scan_reach; do
    [ -e "$B/$f" ] || { echo "$B/$f not built"; exit 77; }
done
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
P=$B/tests/integration/scan_reach

# Runs scan_reach in mode $1 with the scan on; its JSON report goes to $1.json.
scan_mode() {
    HEAPPROF_RATE=1 HEAPPROF_LEAK_SCAN=1 HEAPPROF_OUT="$1.zst" LD_PRELOAD="$B/libheapprof.so" \
        "$P" "$1" || fail "scan_reach $1 exit $?"
    "$B/heapanalyze" "$1.zst" --json --top 0 >"$1.json" || fail "json ($1)"
}

HEAPPROF_RATE=1 HEAPPROF_OUT=noscan.zst LD_PRELOAD="$B/libheapprof.so" "$P" mixed ||
    fail "scan_reach mixed (no scan) exit $?"
"$B/heapanalyze" noscan.zst --json >noscan.json || fail "json (no scan)"
python3 -c 'import json; j = json.load(open("noscan.json"))
assert j["leak_scan"] is False and j["lost_bytes"] is None, j' || fail "scan without HEAPPROF_LEAK_SCAN"
scan_mode mixed
python3 - "$HP_SRC/tests/integration/scan_reach.c" <<'PY' || fail "JSON lost figures"
import json, sys
j = json.load(open("mixed.json"))
assert j["leak_scan"] is True, j["leak_scan"]
# (c) 300 + (d) 400 + (d') 500, in 3 blocks; nothing else is lost.
assert (j["lost_bytes"], j["lost_blocks"]) == (1200, 3), (j["lost_bytes"], j["lost_blocks"])
by_size = {}
for s in j["leaks"]:
    by_size[s["leaked_bytes"]] = s
for size, lost in ((100, 0), (200, 0), (300, 300), (400, 400), (500, 500), (600, 0)):
    s = by_size.get(size)
    assert s is not None, "no leak site of %d bytes" % size
    assert s["lost_bytes"] == lost, (size, s["lost_bytes"])
    assert s["lost_blocks"] == (1 if lost else 0), (size, s["lost_blocks"])
# Still reachable: everything leaked that is not lost (a, b, e).
assert j["leaked_bytes"] - j["lost_bytes"] == sum(
    s["leaked_bytes"] - s["lost_bytes"] for s in j["leaks"])
assert sum(s["lost_bytes"] for s in j["leaks"]) == 1200
print("mixed: leaked %d, lost %d in %d blocks" % (j["leaked_bytes"], j["lost_bytes"],
                                                   j["lost_blocks"]))
PY
"$B/heapanalyze" mixed.zst | grep -q 'lost (no pointer reaches them at exit) 1.2 KiB in 3 blocks' ||
    fail "text report does not say what is lost"

# The gate: globals only passes; one lost block fails, named by file:line.
"$B/heapprof" -q --leak-check "$P" globals >globals.txt 2>&1
rc=$?
cat globals.txt
[ "$rc" -eq 0 ] || fail "gate on reachable-only program: exit $rc, want 0"
grep -q '^reachable: 300 bytes in 2 blocks' globals.txt || fail "reachable blocks not listed"
"$B/heapprof" -q --leak-check --gate-reachable "$P" globals >globals2.txt 2>&1
rc=$?
[ "$rc" -eq 1 ] || { cat globals2.txt; fail "--gate-reachable: exit $rc, want 1"; }

"$B/heapprof" -q --leak-check "$P" lost >lost.txt 2>&1
rc=$?
cat lost.txt
[ "$rc" -eq 1 ] || fail "gate on a lost block: exit $rc, want 1"
line=$(grep -n 'LOST-LINE' "$HP_SRC/tests/integration/scan_reach.c" | cut -d: -f1)
grep -q "^leak 1 of 1: 300 bytes in 1 block" lost.txt || fail "lost block not reported"
grep -q "make_lost .*scan_reach.c:$line\$" lost.txt || fail "lost line $line not named"

# Other threads still running at exit: a thread waiting in read() holds
# (f) in a local and has lost (h), another holds (g) in a __thread
# variable, a spinning thread holds (i) in a local, a thread reads into
# (q), held only in the system call's argument register; main has lost (c).
scan_mode threads
python3 - <<'PY' || fail "lost figures with other threads running"
import json
j = json.load(open("threads.json"))
assert j["leak_scan"] is True, j["leak_scan"]
lost = {(s["stack"][0]["function"], s["leaked_bytes"]): s["lost_bytes"] for s in j["leaks"]}
want = {("make_lost", 300): 300, ("worker_local", 900): 900, ("worker_local", 700): 0,
        ("worker_tls", 800): 0, ("worker_spin", 1000): 0, ("worker_read", 1100): 0}
for k, v in want.items():
    assert lost.get(k) == v, (k, lost.get(k), lost)
assert (j["lost_bytes"], j["lost_blocks"]) == (1200, 2), (j["lost_bytes"], j["lost_blocks"], lost)
print("threads: leaked %d in %d blocks, lost %d in %d" % (j["leaked_bytes"], j["leaked_blocks"],
                                                         j["lost_bytes"], j["lost_blocks"]))
PY
"$B/heapprof" -q --leak-check "$P" threads >threads.txt 2>&1
rc=$?
cat threads.txt
[ "$rc" -eq 1 ] || fail "gate with threads running: exit $rc, want 1"
grep -q "^leak 1 of 2: 900 bytes in 1 block" threads.txt || fail "the thread's lost block is not first"
grep -q "^leak 2 of 2: 300 bytes in 1 block" threads.txt || fail "main's lost block is not reported"

# A real program: CPython (its own allocator off, as under LeakSanitizer)
# exits while three daemon threads sleep holding lists of buffers. memcheck
# finds nothing lost there; before the other threads' stacks were scanned,
# about 1.2 KB in 9 blocks showed as lost.
PY=$(python3 -c 'import sys; print(sys.executable)')
PYTHONMALLOC=malloc HEAPPROF_RATE=1 HEAPPROF_LEAK_SCAN=1 HEAPPROF_OUT=py.zst \
    LD_PRELOAD="$B/libheapprof.so" "$PY" -c '
import threading, time
ready = threading.Barrier(4)
def worker():
    data = [bytearray(1000) for _ in range(10)]
    ready.wait()
    time.sleep(100)
for _ in range(3):
    threading.Thread(target=worker, daemon=True).start()
ready.wait()
time.sleep(0.2)' || fail "python3 with daemon threads"
"$B/heapanalyze" py.zst --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["leak_scan"] is True and j["leaked_blocks"] > 30, (j["leak_scan"], j["leaked_blocks"])
assert (j["lost_bytes"], j["lost_blocks"]) == (0, 0), (j["lost_bytes"], j["lost_blocks"])
print("python3, 3 threads at exit: leaked %d in %d blocks, lost 0" % (j["leaked_bytes"],
                                                                     j["leaked_blocks"]))' ||
    fail "python3: blocks of running threads reported lost"

# Threads that never called the allocator, running at exit: the scan stops
# them (ptrace) and reads their stacks and registers. One holds a block
# main passed it, one a block only in a register. Needs ptrace: x86-64, no
# seccomp filter, Yama's ptrace_scope at most 1.
if [ "$(uname -m)" = x86_64 ] && grep -q '^Seccomp:[[:space:]]*0$' /proc/self/status &&
    [ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)" -le 1 ]; then
    scan_mode running
    python3 - <<'PY' || fail "lost figures with threads running that never allocated"
import json
j = json.load(open("running.json"))
lost = {s["leaked_bytes"]: s["lost_bytes"] for s in j["leaks"]}
want = {300: 300, 1800: 0, 1900: 0}
for k, v in want.items():
    assert lost.get(k) == v, (k, lost.get(k), lost)
assert (j["lost_bytes"], j["lost_blocks"]) == (300, 1), (j["lost_bytes"], j["lost_blocks"], lost)
print("running: leaked %d in %d blocks, lost %d in %d" % (j["leaked_bytes"], j["leaked_blocks"],
                                                         j["lost_bytes"], j["lost_blocks"]))
PY
    RUNNING=1
else
    echo "scan_reach: ptrace not available here; mode running skipped"
    RUNNING=0
fi

# The main thread left with pthread_exit() and another calls exit(): the
# scan still runs (it reads /proc/thread-self, not the main thread's views).
scan_mode leaderless
python3 -c '
import json
j = json.load(open("leaderless.json"))
assert j["leak_scan"] is True, j["leak_scan"]
assert (j["lost_bytes"], j["lost_blocks"]) == (300, 1), (j["lost_bytes"], j["lost_blocks"])' ||
    fail "scan after the main thread left"

# Memory the program mapped itself is a root while it stays mapped: a
# mapping, a moved one, a used page of a 1 GiB reservation and what is left
# of a partly unmapped one keep their blocks reachable; an unmapped mapping
# or page does not.
scan_mode mapped
python3 - <<'PY' || fail "lost figures with pointers in the program's own mappings"
import json
j = json.load(open("mapped.json"))
assert j["leak_scan"] is True, j["leak_scan"]
lost = {s["leaked_bytes"]: s["lost_bytes"] for s in j["leaks"]}
want = {300: 300, 1100: 0, 1200: 0, 1300: 1300, 1400: 0, 1500: 1500, 1600: 0}
for k, v in want.items():
    assert lost.get(k) == v, (k, lost.get(k), lost)
assert (j["lost_bytes"], j["lost_blocks"]) == (3100, 3), (j["lost_bytes"], j["lost_blocks"], lost)
print("mapped: leaked %d in %d blocks, lost %d in %d" % (j["leaked_bytes"], j["leaked_blocks"],
                                                        j["lost_bytes"], j["lost_blocks"]))
PY

# Threads that map and unmap while signal handlers do too: nothing hangs,
# and the mapping made afterwards still holds its block.
scan_mode mapsig
python3 -c '
import json
j = json.load(open("mapsig.json"))
lost = {s["leaked_bytes"]: s["lost_bytes"] for s in j["leaks"]}
assert lost.get(1700) == 0 and lost.get(300) == 300, lost' ||
    fail "mappings made among signal handlers that map memory"
# (the exited threads' C runtime blocks are lost too, and not gated)
"$B/heapanalyze" mapsig.zst --fail-on-leaks >mapsig.txt 2>&1
grep -q "^heapprof: 1 leak, 300 B in 1 block - FAILED" mapsig.txt ||
    { cat mapsig.txt; fail "gate on mapsig"; }

# CPython with its own allocator: its objects live in arenas it maps itself
# and point to malloc'd blocks (a dict's table, a list's items). memcheck
# finds nothing definitely lost in this script; before the program's
# mappings were scanned, 6 blocks (13 KB) showed as lost.
"$B/heapprof" -q --leak-check "$PY" -c '
import json, re
class Node:
    def __init__(self, i): self.kids = [{"k%d" % j: j} for j in range(i % 7)]
nodes = [Node(i) for i in range(2000)]
print(len(json.dumps({"a": [1, 2]})), len(re.findall("k1", str(nodes[50].kids))))' \
    >pymalloc.txt 2>&1
rc=$?
[ "$rc" -eq 0 ] || { cat pymalloc.txt; fail "gate on python3 with its own allocator: exit $rc, want 0"; }
grep -q "no leaks - PASSED" pymalloc.txt || { cat pymalloc.txt; fail "python3: no gate verdict"; }
# ... and still catches what C code called from it leaks: three blocks from
# libc's malloc through ctypes, the 37038 bytes memcheck finds definitely
# lost in this script.
if "$PY" -c 'import ctypes' 2>/dev/null; then
    HEAPPROF_RATE=1 HEAPPROF_LEAK_SCAN=1 HEAPPROF_OUT=pyleak.zst LD_PRELOAD="$B/libheapprof.so" \
        "$PY" -c '
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
for i in range(3):
    libc.malloc(12345 + i)
x = [str(i) * 50 for i in range(20000)]' || fail "python3 with ctypes"
    "$B/heapanalyze" pyleak.zst --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert (j["lost_bytes"], j["lost_blocks"]) == (37038, 3), (j["lost_bytes"], j["lost_blocks"])' ||
        fail "python3: the blocks leaked through ctypes"
fi

# Sampled mode makes no scan: the analyzer falls back to live at exit.
HEAPPROF_RATE=4096 HEAPPROF_OUT=sampled.zst LD_PRELOAD="$B/libheapprof.so" "$P" mixed ||
    fail "sampled run"
"$B/heapanalyze" sampled.zst --json | grep -q '"leak_scan":false,"lost_bytes":null' ||
    fail "a sampled trace claims a scan"

# memcheck's definitely + indirectly lost bytes for mode $1 equal ours ($2).
vg_agrees() {
    valgrind --leak-check=full --show-leak-kinds=all --run-libc-freeres=no \
        --run-cxx-freeres=no "$P" "$1" >/dev/null 2>"vg-$1.txt" || fail "valgrind $1"
    def=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "vg-$1.txt" | tr -d ,)
    ind=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "vg-$1.txt" | tr -d ,)
    echo "valgrind, $1: definitely $def + indirectly $ind bytes lost; heapprof: $2"
    [ $((def + ind)) -eq "$2" ] || { cat "vg-$1.txt"; fail "valgrind disagrees ($1)"; }
}
if command -v valgrind >/dev/null; then
    vg_agrees mixed 1200
    vg_agrees threads 1200
    vg_agrees mapped 3100
    [ "$RUNNING" = 0 ] || vg_agrees running 300
    vg_agrees leaderless 300
fi
echo "scan_reach: ok"
