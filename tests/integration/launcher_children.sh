#!/bin/sh
# Children are profiled, each in its own trace: a forked child, an exec'd
# one and one started by posix_spawn write a trace next to the parent's,
# and the launcher lists them; with --no-children only the parent's trace
# is written (also none for the posix_spawn and system() children, which
# pass no hook of ours).
set -u
B=$HP_BUILD
for f in libheapprof.so heapprof tests/integration/launcher_forker; do
    [ -e "$B/$f" ] || { echo "$B/$f not built"; exit 77; }
done
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
P=$B/tests/integration/launcher_forker

pids_of() { # the pids in the headers of the traces in directory $1
    python3 - "$1" <<'PY'
import glob, os, struct, sys
pids = set()
for f in glob.glob(os.path.join(sys.argv[1], "*.zst")):
    with open(f, "rb") as fh:
        b = fh.read(8 + 64)
    if len(b) == 72 and b[8:16] == b"HEAPPROF":
        pids.add(struct.unpack_from("<I", b, 8 + 12)[0])
print(" ".join(str(p) for p in sorted(pids)))
PY
}

mkdir with without
(cd with && LAUNCHER_FOREIGN_TRACE=heapprof.launcher_forker.999999.zst \
    "$B/heapprof" --full "$P" >out.txt 2>err.txt) || fail "run with children"
cat with/out.txt with/err.txt
set -- $(sed -n 's/^pids //p' with/out.txt)
[ $# -eq 4 ] || fail "program did not print its pids"
parent=$1 a=$2 b=$3 c=$4
got=$(pids_of with)
echo "trace pids: $got (parent $parent, fork child $a, exec'd child $b, spawned child $c)"
for p in $parent $a $b $c; do
    case " $got " in *" $p "*) ;; *) fail "no trace of pid $p" ;; esac
done
grep -q "heapprof: trace written to heapprof.launcher_forker.$parent.zst" with/err.txt ||
    fail "main trace not named"
grep -q "heapprof: trace of child $a written to" with/err.txt || fail "fork child not listed"
grep -q "written to .*\.$b\.*[0-9]*\.*zst" with/err.txt || fail "exec'd child not listed"
# A trace another run wrote into the directory meanwhile is not ours.
[ -f with/heapprof.launcher_forker.999999.zst ] || fail "foreign trace not written"
grep -q 999999 with/err.txt && fail "an unrelated trace was listed as the run's"

(cd without && "$B/heapprof" --full --no-children "$P" >out.txt 2>err.txt) ||
    fail "run without children"
cat without/out.txt without/err.txt
set -- $(sed -n 's/^pids //p' without/out.txt)
parent=$1
n=$(ls without/*.zst | wc -l)
[ "$n" -eq 1 ] || fail "--no-children: want 1 trace, got $n"
[ "$(pids_of without)" = "$parent" ] || fail "--no-children: the trace is not the parent's"
echo "launcher_children: ok"
