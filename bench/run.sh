#!/bin/sh
# Overhead benchmark of heapprof (`make bench`; issue 2 "What will be measured").
#
# For each workload it runs the program unprofiled, under the issue's
# reference wrapper (bench/refwrap.c: a pass-through with one thread-local
# counter), under heapprof at the default rate, under heapprof in full mode
# (HEAPPROF_RATE=1) and under heaptrack (when installed), BENCH_RUNS times
# each, the modes interleaved so
# that drift of the machine hits them all alike. It prints the median wall
# time of each mode (and, in a second table, the median CPU time, user +
# system with children, steadier on a busy machine), the ratios
# profiled/unprofiled, full mode's overhead as a
# fraction of heaptrack's ((full-1)/(heaptrack-1)), the trace sizes, and the
# median per-run ratio of the default rate to the wrapper; then
# it times heapanalyze on a full-mode trace of >= 10^7 events against
# heaptrack_print on heaptrack's trace of the same run (wall time and peak
# RSS, from /usr/bin/time -v). Results also go, as JSON, to
# $HP_BUILD/bench/results.json. See bench/README.md.
#
# It measures; it does not judge pass or fail, except that each row is marked
# against the targets of issue 2 (default rate <= 1.05x, full-mode overhead
# <= 1/3 of heaptrack's, trace no larger than heaptrack's).
#
# Environment:
#   HP_BUILD         build directory (set by `make bench`)
#   BENCH_RUNS       runs per mode and workload (default 5; 3 with BENCH_QUICK)
#   BENCH_QUICK=1    a smoke run of about a minute: smaller workloads
#   BENCH_WORKLOADS  space-separated subset of: churn1 churn4 sqlite python perl
#                    (default: churn1 churn4 sqlite python perl)
#   BENCH_ANALYZER=0 skip the analyzer-vs-heaptrack_print measurement
#   BENCH_KEEP=1     keep the scratch directory (traces, logs)
set -u
cd "$(dirname "$0")/.." || exit 2
HP_SRC=$(pwd)
: "${HP_BUILD:=$HP_SRC/build}"
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
    RUNS=${BENCH_RUNS:-3}
    CHURN_ITERS=8000000
    SQL_ROWS=20000
    PY_N=30000
    PERL_N=30000
    ANA_ITERS=1000000
    WORKLOADS=${BENCH_WORKLOADS:-churn1 churn4 sqlite}
else
    RUNS=${BENCH_RUNS:-5}
    CHURN_ITERS=60000000
    SQL_ROWS=200000
    PY_N=300000
    PERL_N=300000
    ANA_ITERS=12000000
    WORKLOADS=${BENCH_WORKLOADS:-churn1 churn4 sqlite python perl}
fi
LIB=$HP_BUILD/libheapprof.so
REFWRAP=$HP_BUILD/bench/librefwrap.so
ANALYZE=$HP_BUILD/heapanalyze
CHURN=$HP_BUILD/bench/churn
PY=/usr/bin/python3
export PYTHONHASHSEED=0 PERL_HASH_SEED=0
[ -x "$PY" ] || PY=$(command -v python3 || echo python3)

have() { command -v "$1" >/dev/null 2>&1; }

if [ ! -x "$CHURN" ]; then
    echo "bench: $CHURN missing; run \`make BUILD=... bench\`" >&2
    exit 2
fi
MODES="base"
if [ -f "$REFWRAP" ]; then
    MODES="$MODES wrapper"
else
    echo "bench: $REFWRAP missing: the reference wrapper's column stays empty" >&2
fi
if [ -f "$LIB" ]; then
    MODES="$MODES default full"
else
    echo "bench: $LIB missing: heapprof modes skipped" >&2
fi
if have heaptrack; then
    MODES="$MODES heaptrack"
else
    echo "bench: heaptrack not installed: its column stays empty" >&2
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/heapprof-bench.XXXXXX")
if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "bench: scratch directory $scratch" >&2
else
    trap 'rm -rf "$scratch"' EXIT
    trap 'exit 130' INT TERM
fi
mkdir -p "$HP_BUILD/bench"

# ---- workloads ----
# Each workload is a command line run by `launch`, with stdin from a file
# when it needs one.
sql=$scratch/insert.sql
python_code='
import json, random
random.seed(1)
n = int(__import__("sys").argv[1])
rows = [{"id": i, "name": "item%d" % i, "tags": [str(random.random())] * (i % 4)}
        for i in range(n)]
s = json.dumps(rows)
back = json.loads(s)
d = {r["name"]: r for r in back}
print(len(s), len(d))
'
perl_code='
my $n = shift; my %h; my @a;
for my $i (1 .. $n) { $h{"key$i"} = "v" x ($i % 50); push @a, [$i, "x$i"]; }
my @k = sort keys %h; my $j = join(",", map { $_->[1] } @a);
print scalar(@k), " ", length($j), "\n";
'
make_sql() {
    awk -v n="$1" 'BEGIN {
        print "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
        print "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, note TEXT);"
        print "CREATE INDEX t_name ON t(name);"
        print "BEGIN;"
        for (i = 1; i <= n; i++)
            printf "INSERT INTO t VALUES(%d, %cname-%d%c, %d.%d, %c%s%c);\n",
                i, 39, (i * 7919) % n, 39, i % 1000, i % 97, 39,
                substr("the quick brown fox jumps over the lazy dog", 1 + i % 20), 39
        print "COMMIT;"
        print "SELECT count(*), sum(length(note)) FROM t;"
    }' > "$sql"
}

describe() {
    case $1 in
    churn1) echo "churn, 1 thread, $CHURN_ITERS iterations" ;;
    churn4) echo "churn, 4 threads on $(nproc) cores, $CHURN_ITERS iterations" ;;
    sqlite) echo "sqlite3 inserting $SQL_ROWS rows" ;;
    python) echo "python3 json round trip of $PY_N records" ;;
    perl) echo "perl hash + sort + join of $PERL_N keys" ;;
    esac
}

# run_workload NAME MODE DIR: run one workload once in DIR under MODE.
run_workload() {
    case $1 in
    churn1) launch "$2" "$3" "$CHURN" 1 "$CHURN_ITERS" </dev/null ;;
    churn4) launch "$2" "$3" "$CHURN" 4 "$CHURN_ITERS" </dev/null ;;
    sqlite) rm -f "$3/db"; launch "$2" "$3" sqlite3 "$3/db" <"$sql" ;;
    python) launch "$2" "$3" "$PY" "$scratch/work.py" "$PY_N" </dev/null ;;
    perl) launch "$2" "$3" perl "$scratch/work.pl" "$PERL_N" </dev/null ;;
    esac
}

# launch MODE DIR CMD...: run CMD unprofiled or under one of the profilers,
# writing traces into DIR. Output of the program goes to DIR/out.
# The CPU time (user + system, the program and its waited-for children, such
# as heaptrack_interpret) goes to DIR/cpu when /usr/bin/time exists. env
# starts the program so that /usr/bin/time itself is never profiled.
launch() {
    mode=$1 dir=$2
    shift 2
    case $mode in
    base) set -- env "$@" ;;
    wrapper) set -- env "LD_PRELOAD=$REFWRAP" "$@" ;;
    default) set -- env "LD_PRELOAD=$LIB" "HEAPPROF_OUT=$dir/hp.%e.%p.zst" "$@" ;;
    full) set -- env "LD_PRELOAD=$LIB" HEAPPROF_RATE=1 "HEAPPROF_OUT=$dir/hp.%e.%p.zst" "$@" ;;
    heaptrack) set -- heaptrack -o "$dir/ht" "$@" ;;
    esac
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%U %S' -o "$dir/cpu" "$@"
    else
        "$@"
    fi >"$dir/out" 2>"$dir/err"
}

now_ns() { date +%s%N; }

# median of the numbers in a file, one a line
median() {
    sort -n "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "null"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bytes_of() { # total size of the files matching a glob pattern, or nothing
    sz=0 found=0
    for f in "$@"; do
        [ -f "$f" ] || continue
        found=1
        sz=$((sz + $(stat -c %s "$f")))
    done
    [ "$found" = 1 ] && echo "$sz"
}

# Scripts go in files: heaptrack cannot record a command line with newlines.
printf '%s\n' "$python_code" >"$scratch/work.py"
printf '%s\n' "$perl_code" >"$scratch/work.pl"
case " $WORKLOADS " in *" sqlite "*)
    if have sqlite3; then make_sql "$SQL_ROWS"
    else echo "bench: sqlite3 not installed: sqlite skipped" >&2
        WORKLOADS=$(echo " $WORKLOADS " | sed 's/ sqlite / /')
    fi ;;
esac

echo "heapprof benchmark: $RUNS run(s) per mode, modes: $MODES"
echo "machine: $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
for w in $WORKLOADS; do
    echo "  $w: $(describe "$w")"
done

# ---- timed runs, interleaved ----
for w in $WORKLOADS; do
    for m in $MODES; do : >"$scratch/$w.$m.times"; : >"$scratch/$w.$m.cpu"; done
    r=1
    while [ "$r" -le "$RUNS" ]; do
        for m in $MODES; do
            d=$scratch/$w.$m.run
            rm -rf "$d"; mkdir -p "$d"
            t0=$(now_ns)
            run_workload "$w" "$m" "$d"
            rc=$?
            t1=$(now_ns)
            if [ "$rc" -ne 0 ]; then
                echo "bench: $w under $m exited $rc:" >&2
                tail -n 5 "$d/err" >&2
                echo "$w $m" >>"$scratch/failed"
                continue
            fi
            echo $(( (t1 - t0) / 1000 )) >>"$scratch/$w.$m.times"
            [ -s "$d/cpu" ] && awk 'NF == 2 { printf "%d\n", ($1 + $2) * 1e6 }' "$d/cpu" |
                tail -n 1 >>"$scratch/$w.$m.cpu"
            # sizes from the last run (traces are deterministic in size only roughly)
            case $m in
            default|full) bytes_of "$d"/hp.*.zst >"$scratch/$w.$m.size" ;;
            heaptrack) bytes_of "$d"/ht.zst "$d"/ht.gz "$d"/ht >"$scratch/$w.$m.size" ;;
            esac
        done
        printf '.' >&2
        r=$((r + 1))
    done
    echo " $w done" >&2
done

# ---- table and JSON ----
json=$HP_BUILD/bench/results.json
val() { # median seconds of a mode (wall, or CPU with a third argument "cpu"), or "null"
    f=$scratch/$1.$2.${3:-times}
    if [ -s "$f" ]; then median "$f" | awk '{ printf "%.3f", $1 / 1e6 }'; else echo null; fi
}
size() { f=$scratch/$1.$2.size; if [ -s "$f" ]; then cat "$f"; else echo null; fi; }
# per_run W [cpu]: the median over the runs of W's default time / wrapper time in
# the same run (heapprof's own cost above interposition, with the drift of the
# machine between runs taken out), or "null"
per_run() {
    a=$scratch/$1.default.${2:-times} b=$scratch/$1.wrapper.${2:-times}
    if [ -s "$a" ] && [ -s "$b" ] && [ "$(wc -l <"$a")" = "$(wc -l <"$b")" ]; then
        paste "$a" "$b" | awk '$2 > 0 { print $1 / $2 }' >"$scratch/per_run"
        median "$scratch/per_run" | awk '{ printf "%.4f", $1 }'
    else
        echo null
    fi
}

printf '\n%-8s %7s %7s %9s %7s %8s | %7s %8s %7s %7s %8s | %9s %10s %10s\n' \
    workload base_s wrap_s default_s full_s htrack_s wrapper default full htrack full/ht \
    trace_def trace_full trace_ht
{
    echo "{"
    echo "  \"runs\": $RUNS,"
    echo "  \"quick\": $([ "$QUICK" = 1 ] && echo true || echo false),"
    echo "  \"cores\": $(nproc),"
    echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
    echo "  \"workloads\": ["
} >"$json"
first=1
for w in $WORKLOADS; do
    b=$(val "$w" base) d=$(val "$w" default) f=$(val "$w" full) h=$(val "$w" heaptrack)
    wr=$(val "$w" wrapper)
    sd=$(size "$w" default) sf=$(size "$w" full) sh=$(size "$w" heaptrack)
    rw=$(awk -v b="$b" -v x="$wr" 'BEGIN { print (b != "null" && x != "null") ? x / b : "null" }')
    row=$(awk -v b="$b" -v d="$d" -v f="$f" -v h="$h" -v sf="$sf" -v sh="$sh" 'BEGIN {
        rd = (b != "null" && d != "null") ? d / b : "null"
        rf = (b != "null" && f != "null") ? f / b : "null"
        rh = (b != "null" && h != "null") ? h / b : "null"
        fh = (rf != "null" && rh != "null" && rh > 1) ? (rf - 1) / (rh - 1) : "null"
        ok_d = rd == "null" ? "null" : (rd <= 1.05 ? "true" : "false")
        ok_f = fh == "null" ? "null" : (fh <= 1 / 3 ? "true" : "false")
        ok_s = (sf == "null" || sh == "null") ? "null" : (sf + 0 <= sh + 0 ? "true" : "false")
        printf "%s %s %s %s %s %s %s", rd, rf, rh, fh, ok_d, ok_f, ok_s }')
    set -- $row
    rd=$1 rf=$2 rh=$3 fh=$4 okd=$5 okf=$6 oks=$7
    fmt() { [ "$1" = null ] && echo "-" || awk -v x="$1" "BEGIN { printf \"$2\", x }"; }
    mark() { case $1 in false) echo "!" ;; *) echo "" ;; esac; }
    printf '%-8s %7s %7s %9s %7s %8s | %7s %8s %7s %7s %8s | %9s %10s %10s\n' "$w" \
        "$(fmt "$b" %.3f)" "$(fmt "$wr" %.3f)" "$(fmt "$d" %.3f)" "$(fmt "$f" %.3f)" \
        "$(fmt "$h" %.3f)" "$(fmt "$rw" %.3fx)" \
        "$(fmt "$rd" %.3fx)$(mark "$okd")" "$(fmt "$rf" %.2fx)" "$(fmt "$rh" %.2fx)" \
        "$(fmt "$fh" %.3f)$(mark "$okf")" \
        "$(fmt "$sd" %d)" "$(fmt "$sf" %d)$(mark "$oks")" "$(fmt "$sh" %d)"
    cb=$(val "$w" base cpu) cd=$(val "$w" default cpu) cf=$(val "$w" full cpu) ch=$(val "$w" heaptrack cpu)
    cw=$(val "$w" wrapper cpu)
    crw=$(awk -v b="$cb" -v x="$cw" 'BEGIN { print (b != "null" && b > 0 && x != "null") ? x / b : "null" }')
    set -- $(awk -v b="$cb" -v d="$cd" -v f="$cf" -v h="$ch" 'BEGIN {
        rd = (b != "null" && b > 0 && d != "null") ? d / b : "null"
        rf = (b != "null" && b > 0 && f != "null") ? f / b : "null"
        rh = (b != "null" && b > 0 && h != "null") ? h / b : "null"
        fh = (rf != "null" && rh != "null" && rh > 1) ? (rf - 1) / (rh - 1) : "null"
        print rd, rf, rh, fh }')
    crd=$1 crf=$2 crh=$3 cfh=$4
    printf '%-8s %7s %7s %9s %7s %8s | %7s %8s %7s %7s %8s\n' "$w" \
        "$(fmt "$cb" %.3f)" "$(fmt "$cw" %.3f)" "$(fmt "$cd" %.3f)" "$(fmt "$cf" %.3f)" \
        "$(fmt "$ch" %.3f)" "$(fmt "$crw" %.3fx)" \
        "$(fmt "$crd" %.3fx)" "$(fmt "$crf" %.2fx)" "$(fmt "$crh" %.2fx)" "$(fmt "$cfh" %.3f)" \
        >>"$scratch/cpu.table"
    pw=$(per_run "$w") pc=$(per_run "$w" cpu)
    [ "$pw" = null ] || printf '  %-8s %s wall, %s CPU\n' "$w" "$(fmt "$pw" %.3fx)" \
        "$(fmt "$pc" %.3fx)" >>"$scratch/per_run.table"
    [ "$first" = 1 ] || echo "    ," >>"$json"
    first=0
    cat >>"$json" <<EOF
    {
      "name": "$w",
      "description": "$(describe "$w")",
      "median_seconds": { "unprofiled": $b, "wrapper": $wr, "default": $d, "full": $f,
                          "heaptrack": $h },
      "ratio": { "wrapper": $rw, "default": $rd, "full": $rf, "heaptrack": $rh },
      "median_cpu_seconds": { "unprofiled": $cb, "wrapper": $cw, "default": $cd, "full": $cf,
                              "heaptrack": $ch },
      "cpu_ratio": { "wrapper": $crw, "default": $crd, "full": $crf, "heaptrack": $crh },
      "cpu_full_overhead_vs_heaptrack": $cfh,
      "default_over_wrapper_per_run": { "wall": $pw, "cpu": $pc },
      "full_overhead_vs_heaptrack": $fh,
      "trace_bytes": { "default": $sd, "full": $sf, "heaptrack": $sh },
      "targets_met": { "default_le_1.05x": $okd, "full_overhead_le_third_of_heaptrack": $okf,
                       "full_trace_le_heaptrack": $oks }
    }
EOF
done
echo "  ]," >>"$json"
if [ -s "$scratch/cpu.table" ]; then
    echo
    echo "CPU time (user + system, with children such as heaptrack_interpret), medians:"
    printf '%-8s %7s %7s %9s %7s %8s | %7s %8s %7s %7s %8s\n' \
        workload base_s wrap_s default_s full_s htrack_s wrapper default full htrack full/ht
    cat "$scratch/cpu.table"
fi
if [ -s "$scratch/per_run.table" ]; then
    echo
    echo "default over wrapper, run by run (median of the per-run ratios: heapprof's own cost"
    echo "above a bare interposer, measured in the same run):"
    cat "$scratch/per_run.table"
fi
echo
echo "ratios are median wall time / median unprofiled wall time; full/ht = (full-1)/(heaptrack-1);"
echo "wrapper: the issue's reference, a pass-through with one thread-local counter (bench/refwrap.c);"
echo "a '!' marks a miss of issue 2's targets (default <= 1.05x, full/ht <= 0.333, full trace <= heaptrack's)."
if [ -f "$scratch/failed" ]; then
    echo "failed runs (not timed):"; sort -u "$scratch/failed" | sed 's/^/  /'
fi

# ---- analyzer vs heaptrack_print on the same program ----
ana_json=null
if [ "${BENCH_ANALYZER:-1}" != 0 ] && [ -x "$ANALYZE" ] && [ -f "$LIB" ] && [ -x /usr/bin/time ]; then
    d=$scratch/analyzer
    mkdir -p "$d"
    echo
    echo "analyzer: full-mode trace of churn 1 thread, $ANA_ITERS iterations"
    launch full "$d" "$CHURN" 1 "$ANA_ITERS" </dev/null
    tr=$(ls "$d"/hp.*.zst 2>/dev/null | head -n 1)
    ht=""
    if have heaptrack && have heaptrack_print; then
        launch heaptrack "$d" "$CHURN" 1 "$ANA_ITERS" </dev/null
        ht=$(ls "$d"/ht.zst "$d"/ht.gz 2>/dev/null | head -n 1)
    fi
    # timed COMMAND...: prints "seconds max_rss_kib exit_status"
    timed() {
        /usr/bin/time -v -o "$d/time.txt" "$@" >"$d/tool.out" 2>"$d/tool.err"
        st=$?
        awk -v st="$st" '/Elapsed \(wall clock\)/ { n = split($NF, p, ":"); s = 0
                for (i = 1; i <= n; i++) s = s * 60 + p[i] }
            /Maximum resident set size/ { rss = $NF }
            END { printf "%.2f %d %d\n", s, rss, st }' "$d/time.txt"
    }
    if [ -n "$tr" ]; then
        events=$("$ANALYZE" --json "$tr" 2>/dev/null |
            awk 'match($0, /"total_allocations": *[0-9]+/) { a = substr($0, RSTART, RLENGTH); sub(/.*: */, "", a) }
                 match($0, /"total_frees": *[0-9]+/) { f = substr($0, RSTART, RLENGTH); sub(/.*: */, "", f) }
                 END { if (a != "") print a + f; else print "null" }')
        set -- $(timed "$ANALYZE" "$tr")
        at=$1 arss=$2 ast=$3
        set -- $(timed "$ANALYZE" --json "$tr")
        jt=$1 jrss=$2 jst=$3
        trsize=$(stat -c %s "$tr")
        printf '  %-30s %8s s %9s KiB peak RSS (exit %s)  trace %s bytes, %s events\n' \
            "heapanalyze (text report)" "$at" "$arss" "$ast" "$trsize" "$events"
        printf '  %-30s %8s s %9s KiB peak RSS (exit %s)\n' "heapanalyze --json" "$jt" "$jrss" "$jst"
        pt=null prss=null pst=null htsize=null
        if [ -n "$ht" ]; then
            set -- $(timed heaptrack_print "$ht")
            pt=$1 prss=$2 pst=$3
            htsize=$(stat -c %s "$ht")
            printf '  %-30s %8s s %9s KiB peak RSS (exit %s)  trace %s bytes\n' \
                "heaptrack_print" "$pt" "$prss" "$pst" "$htsize"
            awk -v a="$at" -v p="$pt" -v ar="$arss" -v pr="$prss" 'BEGIN {
                if (a > 0) printf "  heaptrack_print / heapanalyze: %.2fx the time, %.2fx the memory\n", p / a, pr / ar }'
        fi
        ana_json="{ \"iterations\": $ANA_ITERS, \"events\": $events, \"trace_bytes\": $trsize,
    \"heapanalyze\": { \"seconds\": $at, \"max_rss_kib\": $arss, \"exit\": $ast },
    \"heapanalyze_json\": { \"seconds\": $jt, \"max_rss_kib\": $jrss, \"exit\": $jst },
    \"heaptrack_print\": { \"seconds\": $pt, \"max_rss_kib\": $prss, \"exit\": $pst, \"trace_bytes\": $htsize } }"
    else
        echo "  no heapprof trace was written (see $d/err)"
        tail -n 5 "$d/err" 2>/dev/null
    fi
fi
echo "  \"analyzer\": $ana_json" >>"$json"
echo "}" >>"$json"
echo
echo "results: $json"
