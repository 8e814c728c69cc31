#!/bin/sh
# Accuracy of heapprof's full mode against valgrind's DHAT (issue 2 "What
# will be measured"; target: every figure within 0.5%).
#
# For each case it runs the program once with LD_PRELOAD=libheapprof.so and
# HEAPPROF_RATE=1, and once under `valgrind --tool=dhat --run-libc-freeres=no
# --run-cxx-freeres=no` (the C and C++ runtimes' exit-time frees are off, as
# in a native run, so that leaks compare), then compares heapanalyze --json's
# total_allocations, total_bytes, peak_bytes, leaked_bytes and leaked_blocks
# with DHAT's "Total", "At t-gmax" and "At t-end" lines, and prints the
# relative differences.
#
# Cases: acc_peak acc_leak acc_realloc (programs in bench/), python perl
# sqlite gcc (gcc -c of a small file: the process compared is cc1; valgrind
# follows children, heapprof writes one trace per process). Default: all.
#
# Usage: bench/accuracy.sh [--check PERCENT] [CASE...]
#   --check PERCENT  exit 1 when a figure differs by more than PERCENT
#                    (tests/integration/acc_dhat.sh uses --check 0.5)
# Environment: HP_BUILD (build directory), ACC_KEEP=1 keeps the scratch dir,
# ACC_MEMCHECK=1 also compares the leaks with memcheck's "in use at exit".
# Exit: 0 done (and within tolerance with --check), 1 out of tolerance or a
# run failed, 77 valgrind or the build is missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
HP_SRC=$(dirname "$here")
: "${HP_BUILD:=$HP_SRC/build}"
LIB=$HP_BUILD/libheapprof.so
ANALYZE=$HP_BUILD/heapanalyze
check=""
if [ "${1:-}" = --check ]; then
    check=$2
    shift 2
fi
CASES=${*:-acc_peak acc_leak acc_realloc python perl sqlite gcc}

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind is not installed"
    exit 77
fi
if [ ! -f "$LIB" ] || [ ! -x "$ANALYZE" ]; then
    echo "libheapprof.so or heapanalyze missing in $HP_BUILD"
    exit 77
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/heapprof-acc.XXXXXX")
if [ "${ACC_KEEP:-0}" = 1 ]; then
    echo "accuracy: scratch directory $scratch" >&2
else
    trap 'rm -rf "$scratch"' EXIT
    trap 'exit 130' INT TERM
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || echo python3)
# Hash seeds fixed: the interpreters' allocations then repeat from run to run.
export PYTHONHASHSEED=0 PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0
# valgrind (and Debian's wrapper script) add variables to its client's
# environment (GLIBCXX_FORCE_NEW, GLIBCPP_FORCE_NEW, LD_LIBRARY_PATH); both
# runs get them, so that programs copying their environment (perl's %ENV)
# allocate alike and libstdc++'s pools behave alike. Only LD_PRELOAD and $_
# still differ.
env | sort >"$scratch/env.native"
valgrind --tool=none env 2>/dev/null | sort >"$scratch/env.valgrind"
comm -13 "$scratch/env.native" "$scratch/env.valgrind" | grep -v '^LD_PRELOAD=' |
    grep -v '^_=' | grep '^[A-Za-z_][A-Za-z0-9_]*=' >"$scratch/env.added"
while IFS= read -r kv; do
    export "$kv"
done <"$scratch/env.added"
# Address-space randomisation off: some programs allocate according to where
# mmap put things (cc1's garbage collector adds a 32 KiB page-table block per
# 16 MiB region its pages land in), so a native run varies by a block or
# three from run to run while valgrind's fixed layout does not.
norand=""
if setarch "$(uname -m)" -R true 2>/dev/null; then
    norand="setarch $(uname -m) -R"
fi

cat >"$scratch/work.py" <<'EOF'
import json
rows = [{"id": i, "name": "item%d" % i, "vals": list(range(i % 7))} for i in range(20000)]
s = json.dumps(rows)
d = {r["name"]: r for r in json.loads(s)}
leak = [bytearray(100 + i) for i in range(50)]
print(len(s), len(d))
EOF
cat >"$scratch/work.pl" <<'EOF'
my %h; my @a;
for my $i (1 .. 20000) { $h{"key$i"} = "v" x ($i % 50); push @a, [$i, "x$i"]; }
my @k = sort keys %h;
print scalar(@k), " ", length(join(",", map { $_->[1] } @a)), "\n";
EOF
awk 'BEGIN {
    print "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, note TEXT);"
    print "CREATE INDEX t_name ON t(name);"
    print "BEGIN;"
    for (i = 1; i <= 5000; i++)
        printf "INSERT INTO t VALUES(%d, %cn%d%c, %cnote %d%c);\n", i, 39, (i * 7919) % 5000, 39, 39, i, 39
    print "COMMIT;"
    print "SELECT count(*), max(name) FROM t;"
}' >"$scratch/work.sql"
cat >"$scratch/small.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct item { char name[32]; int value; struct item *next; };
static struct item *push(struct item *head, const char *name, int value)
{
    struct item *it = malloc(sizeof *it);
    if (it == NULL)
        abort();
    snprintf(it->name, sizeof it->name, "%s", name);
    it->value = value;
    it->next = head;
    return it;
}
int main(int argc, char **argv)
{
    struct item *head = NULL;
    for (int i = 1; i < argc; i++)
        head = push(head, argv[i], (int)strlen(argv[i]));
    for (struct item *it = head; it != NULL; it = it->next)
        printf("%s %d\n", it->name, it->value);
    return 0;
}
EOF

# prog NAME: path of a bench/ program, built into the scratch dir if the
# build directory does not have it (the test suite does not build bench/).
prog() {
    if [ -x "$HP_BUILD/bench/$1" ]; then
        echo "$HP_BUILD/bench/$1"
    else
        mkdir -p "$scratch/bin"
        [ -x "$scratch/bin/$1" ] ||
            cc -std=gnu11 -O1 -g -D_GNU_SOURCE -o "$scratch/bin/$1" "$here/$1.c" >&2 || return 1
        echo "$scratch/bin/$1"
    fi
}

# run_case CASE WRAPPER...: runs the case's command behind WRAPPER (env with
# LD_PRELOAD, or valgrind), with the case's stdin.
run_case() {
    c=$1
    shift
    case $c in
    acc_*) p=$(prog "$c") || return 1; "$@" "$p" </dev/null ;;
    python) "$@" "$PY" "$scratch/work.py" </dev/null ;;
    perl) "$@" perl "$scratch/work.pl" </dev/null ;;
    sqlite) "$@" sqlite3 </"$scratch/work.sql" ;;
    gcc) "$@" gcc -O2 -c "$scratch/small.c" -o "$scratch/small.o" </dev/null ;;
    esac
}
# proc_of CASE: the base name of the executable whose figures are compared
# (heapprof's %e, the resolved executable); argv0_of CASE: the same process
# as valgrind's "Command:" line names it (the path as invoked).
proc_of() {
    case $1 in
    acc_*) echo "$1" ;;
    python) basename "$(readlink -f "$PY")" ;;
    perl) basename "$(readlink -f "$(command -v perl)")" ;;
    sqlite) basename "$(readlink -f "$(command -v sqlite3)")" ;;
    gcc) echo cc1 ;;
    esac
}
argv0_of() {
    case $1 in
    python) basename "$PY" ;;
    perl) echo perl ;;
    sqlite) echo sqlite3 ;;
    *) proc_of "$1" ;;
    esac
}

# Top-level numeric fields of the JSON object on stdin ("key value" lines);
# nested objects and arrays are skipped, so a site's leaked_bytes is never
# taken for the total.
json_top() {
    awk 'BEGIN { RS = "\001" } {
        n = length($0); depth = 0; instr = 0; key = ""; want = 0
        for (i = 1; i <= n; i++) {
            ch = substr($0, i, 1)
            if (instr) {
                if (ch == "\\") { i++; continue }
                if (ch == "\"") { instr = 0; if (depth == 1 && !want) { key = buf; want = 1 } }
                else buf = buf ch
                continue
            }
            if (ch == "\"") { instr = 1; buf = ""; continue }
            if (ch == "{" || ch == "[") { depth++; want = 0; continue }
            if (ch == "}" || ch == "]") { depth--; continue }
            if (ch == ",") { want = 0; continue }
            if (depth == 1 && want && ch ~ /[-0-9]/) {
                j = i
                while (j <= n && substr($0, j, 1) ~ /[-+0-9.eE]/) j++
                print key, substr($0, i, j - i)
                i = j - 1
                want = 0
            }
        }
    }'
}

DHAT_OPTS="--tool=dhat --dhat-out-file=/dev/null --trace-children=yes
    --run-libc-freeres=no --run-cxx-freeres=no"
MEMCHECK_OPTS="--tool=memcheck --leak-check=no --trace-children=yes
    --run-libc-freeres=no --run-cxx-freeres=no"

fails=0 errors=0
printf '%-12s %-18s %14s %14s %9s\n' case figure heapprof dhat diff%
for c in $CASES; do
    d=$scratch/$c
    mkdir -p "$d"
    proc=$(proc_of "$c")
    # The same HEAPPROF_* variables in both runs, so programs that copy their
    # environment (perl's %ENV, python's os.environ) allocate alike.
    export HEAPPROF_RATE=1 HEAPPROF_OUT="$d/hp.%e.%p.zst"
    (cd "$d" && run_case "$c" $norand env "LD_PRELOAD=$LIB") >"$d/hp.out" 2>"$d/hp.err"
    st1=$?
    (cd "$d" && run_case "$c" $norand valgrind $DHAT_OPTS) >"$d/dhat.out" 2>"$d/dhat.err"
    st2=$?
    unset HEAPPROF_RATE HEAPPROF_OUT
    if [ "$st1" -ne 0 ] || [ "$st2" -ne 0 ]; then
        echo "$c: run failed (heapprof exit $st1, valgrind exit $st2)"
        tail -n 5 "$d/hp.err" "$d/dhat.err" | sed 's/^/    /'
        errors=$((errors + 1))
        continue
    fi
    tr=$(ls "$d"/hp."$proc".*zst 2>/dev/null | head -n 1)
    if [ -z "$tr" ]; then
        echo "$c: no heapprof trace for $proc in $d ($(ls "$d" | tr '\n' ' '))"
        errors=$((errors + 1))
        continue
    fi
    "$ANALYZE" --json "$tr" >"$d/hp.json" 2>"$d/analyze.err" || {
        echo "$c: heapanalyze --json $tr failed:"; sed 's/^/    /' "$d/analyze.err" | tail -n 5
        errors=$((errors + 1))
        continue
    }
    json_top <"$d/hp.json" >"$d/hp.fields"
    # DHAT's figures for the pid whose Command line names $proc.
    awk -v proc="$(argv0_of "$c")" '
        { gsub(/,/, "") }
        /== Command: / { split($1, a, "=="); pid = a[2]; split($3, b, "/")
                         if (b[length(b)] == proc && want == "") want = pid }
        { split($1, a, "=="); if (a[2] != want) next }
        /== Total:/    { print "total_bytes", $3; print "total_allocations", $6 }
        /== At t-gmax:/ { print "peak_bytes", $4 }
        /== At t-end:/ { print "leaked_bytes", $4; print "leaked_blocks", $7 }
    ' "$d/dhat.err" >"$d/dhat.fields"
    pairs="total_allocations total_bytes peak_bytes leaked_bytes leaked_blocks"
    if [ "${ACC_MEMCHECK:-0}" = 1 ]; then
        # memcheck's "in use at exit" (issue 3 compares leaks with it).
        (cd "$d" && run_case "$c" $norand valgrind $MEMCHECK_OPTS) >"$d/mc.out" 2>"$d/mc.err"
        awk -v proc="$(argv0_of "$c")" '
            { gsub(/,/, "") }
            /== Command: / { split($1, a, "=="); pid = a[2]; split($3, b, "/")
                             if (b[length(b)] == proc && want == "") want = pid }
            { split($1, a, "=="); if (a[2] != want) next }
            /in use at exit:/ { print "mc_leaked_bytes", $(NF - 4); print "mc_leaked_blocks", $(NF - 1) }
        ' "$d/mc.err" >>"$d/dhat.fields"
        pairs="$pairs leaked_bytes:mc_leaked_bytes leaked_blocks:mc_leaked_blocks"
    fi
    for pair in $pairs; do
        hk=${pair%%:*} f=${pair#*:}
        h=$(awk -v k="$hk" '$1 == k { print $2; exit }' "$d/hp.fields")
        v=$(awk -v k="$f" '$1 == k { print $2; exit }' "$d/dhat.fields")
        line=$(awk -v c="$c" -v f="$f" -v h="$h" -v v="$v" -v tol="$check" 'BEGIN {
            bad = 0
            if (h == "" || v == "") { diff = "n/a"; bad = 1 }
            else if (v == 0) { diff = (h == 0) ? "0.000" : "inf"; bad = (h != 0) }
            else { r = (h - v) / v * 100; diff = sprintf("%+.3f", r); bad = (r > tol || -r > tol) }
            mark = (tol != "" && bad) ? "  <-- off" : ((tol == "" && diff != "n/a" && diff != "inf" && (r > 0.5 || -r > 0.5)) ? "  !" : "")
            if (tol == "" && diff == "inf") mark = "  !"
            printf "%-12s %-18s %14s %14s %9s%s\n", c, f, h == "" ? "-" : h, v == "" ? "-" : v, diff, mark
            exit (tol != "" && bad) ? 1 : 0 }')
        st=$?
        echo "$line"
        [ "$st" -eq 0 ] || fails=$((fails + 1))
    done
done
echo "diff% = (heapprof - dhat) / dhat; target: within 0.5% ('!' marks a miss)"
[ "${ACC_MEMCHECK:-0}" = 1 ] && echo "mc_*: valgrind memcheck's \"in use at exit\" instead of DHAT's t-end"
if [ -n "$check" ]; then
    echo "$fails figure(s) off by more than $check%, $errors case(s) failed to run"
    [ "$fails" -eq 0 ] && [ "$errors" -eq 0 ] || exit 1
fi
[ "$errors" -eq 0 ] || exit 1
exit 0
