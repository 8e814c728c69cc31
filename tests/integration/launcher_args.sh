#!/bin/sh
# The launcher passes arguments untouched (spaces, quotes, empty strings,
# glob and shell characters, a leading dash, a newline), prepends
# libheapprof.so to an existing LD_PRELOAD instead of replacing it (the
# other preload still loads), sets the rate, honours -o with %p, and says
# where the trace went.
set -u
B=$HP_BUILD
for f in libheapprof.so heapprof tests/integration/launcher_argv \
         tests/integration/liblauncher_marker.so; do
    [ -e "$B/$f" ] || { echo "$B/$f not built"; exit 77; }
done
fail() { echo "FAIL: $*"; exit 1; }
P=$B/tests/integration/launcher_argv
M=$B/tests/integration/liblauncher_marker.so
lib=$(cd "$B" && pwd -P)/libheapprof.so

nl='
'
"$B/heapprof" --rate 4K -o "run %p.zst" -- "$P" "two words" "it's" 'say "hi"' "" \
    '*.c $HOME `x` \n' -dash "a${nl}b" >out.txt 2>err.txt
rc=$?
cat out.txt err.txt
[ "$rc" -eq 0 ] || fail "exit $rc"
cat >want.txt <<'W'
arg[1]=<two words>
arg[2]=<it's>
arg[3]=<say "hi">
arg[4]=<>
arg[5]=<*.c $HOME `x` \n>
arg[6]=<-dash>
arg[7]=<a
b>
W
head -n 8 out.txt | cmp -s - want.txt || { diff want.txt out.txt; fail "arguments changed"; }
grep -qx "LD_PRELOAD=<$lib>" out.txt || fail "LD_PRELOAD is not <$lib>"
grep -qx 'HEAPPROF_RATE=<4096>' out.txt || fail "rate not passed"
grep -qx 'HEAPPROF_NO_CHILDREN=<(unset)>' out.txt || fail "NO_CHILDREN set without --no-children"
set -- run\ *.zst
[ -f "$1" ] || fail "no trace named 'run PID.zst'"
grep -q "heapprof: trace written to $1\$" err.txt || fail "trace path not printed"
grep -q "heapanalyze 'run [0-9]*.zst'" err.txt || fail "hint not printed (quoted)"

# An existing LD_PRELOAD (space- or colon-separated) is kept, after ours.
LD_PRELOAD="$M" "$B/heapprof" --full -q "$P" >out2.txt 2>err2.txt || fail "marker run"
cat out2.txt err2.txt
grep -qx "LD_PRELOAD=<$lib $M>" out2.txt || fail "LD_PRELOAD not prepended"
grep -qx 'LAUNCHER_MARKER=<loaded>' out2.txt || fail "the other preload was not loaded"
grep -qx 'HEAPPROF_RATE=<1>' out2.txt || fail "--full is not rate 1"
[ -s err2.txt ] && fail "-q printed something"
LD_PRELOAD="$M:$lib" "$B/heapprof" -q "$P" >out3.txt 2>&1 || fail "colon run"
grep -qx "LD_PRELOAD=<$lib $M>" out3.txt || fail "colon-separated LD_PRELOAD not merged"
n=$(ls heapprof.launcher_argv.*.zst 2>/dev/null | wc -l)
[ "$n" -eq 2 ] || fail "want 2 default-named traces, got $n"

# Through PATH, like execvp.
mkdir -p bin
cp "$P" bin/hp-argv-test
PATH="$PWD/bin:$PATH" "$B/heapprof" -q hp-argv-test "x y" >out4.txt 2>&1 || fail "PATH run"
grep -qx 'arg\[1\]=<x y>' out4.txt || fail "PATH search"

# A statically linked program cannot be profiled: the launcher says why.
printf '#include <stdlib.h>\nint main(void) { return malloc(10) == 0; }\n' >static.c
if cc -static -o static static.c 2>/dev/null; then
    "$B/heapprof" ./static >st.txt 2>&1 || fail "static program: exit $?"
    grep -q 'statically linked' st.txt || { cat st.txt; fail "static program not explained"; }
fi

# --version and --help.
"$B/heapprof" --version | grep -q '^heapprof [0-9]' || fail "--version"
"$B/heapprof" --help | grep -q -- '--leak-check' || fail "--help"
echo "launcher_args: ok"
