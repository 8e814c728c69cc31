#!/bin/sh
# The program's own exit status and death by signal come through heapprof
# and heapprof --leak-check faithfully: a non-zero status is never replaced
# by the gate's 1, a leak-free program passes, a leaking one that exits 0
# fails with 1, and a killed program kills the launcher with the same
# signal (checked from python, which sees the signal, not 128+n).
set -u
B=$HP_BUILD
for f in libheapprof.so heapanalyze heapprof tests/integration/gate_exit; do
    [ -e "$B/$f" ] || { echo "$B/$f not built"; exit 77; }
done
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
P=$B/tests/integration/gate_exit
H=$B/heapprof

expect() { # expect STATUS CMD... : the command's exit status
    want=$1
    shift
    "$@" >run.txt 2>&1
    rc=$?
    cat run.txt
    [ "$rc" -eq "$want" ] || fail "$*: exit $rc, want $want"
}
expect 0 "$H" "$P" clean
expect 0 "$H" "$P" leak
expect 3 "$H" "$P" exit 3
expect 0 "$H" --leak-check "$P" clean
grep -q 'no leaks - PASSED' run.txt || fail "clean program: no PASSED verdict"
expect 1 "$H" --leak-check "$P" leak
grep -q 'lost_block' run.txt || fail "leak site lost_block not named"
expect 0 "$H" --leak-check --fail-on-leaks=100 "$P" leak
expect 1 "$H" --fail-on-leaks=99 "$P" leak
expect 0 "$H" --fail-on-leaks 100 "$P" leak     # a separate byte count, as with =
expect 1 "$H" --fail-on-leaks "$P" leak         # no count: 0
# The program failed and leaked: its own status, not the gate's.
expect 3 "$H" --leak-check "$P" exit 3
expect 42 "$H" --leak-check "$P" exit 42
grep -q 'exited with status 42' run.txt || fail "status 42 not explained"
# Not found / not executable, as a shell reports them.
expect 127 "$H" ./no-such-program
printf '#!/bin/sh\n' >noexec.sh
chmod 0644 noexec.sh
expect 126 "$H" ./noexec.sh
expect 2 "$H" --rate 4096 --full "$P" clean
expect 2 "$H" --no-such-option "$P" clean

# Death by signal: the launcher dies of the same signal (SIGTERM, SIGSEGV,
# SIGABRT), with and without --leak-check, and a shell shows 128+n.
python3 - "$H" "$P" <<'PY' || fail "signal pass-through"
import subprocess, sys, signal, resource
h, p = sys.argv[1], sys.argv[2]
def nocore():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
for sig in (signal.SIGTERM, signal.SIGSEGV, signal.SIGABRT):
    for extra in ([], ["--leak-check"]):
        r = subprocess.run([h] + extra + [p, "kill", str(int(sig))],
                           capture_output=True, text=True, preexec_fn=nocore)
        assert r.returncode == -sig, (extra, sig, r.returncode, r.stderr)
        assert "PASSED" not in r.stdout + r.stderr, r.stdout + r.stderr
        assert "FAILED" not in r.stdout + r.stderr, r.stdout + r.stderr
        print("died of", sig.name, extra, "->", r.returncode)
PY
sh -c "ulimit -c 0; '$H' '$P' kill 15; echo status=\$?" >sh.txt 2>&1
cat sh.txt
grep -q 'status=143' sh.txt || fail "shell did not see 143 for SIGTERM"
echo "gate_status: ok"
