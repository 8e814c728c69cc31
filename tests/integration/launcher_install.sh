#!/bin/sh
# `make install` (PREFIX, DESTDIR) puts a working tree in place: the
# installed heapprof finds the library under PREFIX/lib/heapprof and
# heapanalyze under PREFIX/bin (also when started through a symlink), and
# both tools answer --version and --help.
set -u
B=$HP_BUILD
for f in libheapprof.so heapanalyze heapprof examples/leak; do
    [ -e "$B/$f" ] || { echo "$B/$f not built"; exit 77; }
done
command -v make >/dev/null || { echo "make not installed"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
stage=$HP_TMP/stage
make -s -C "$HP_SRC" BUILD="$B" PREFIX=/opt/heapprof-test DESTDIR="$stage" install \
    >make.txt 2>&1 || { cat make.txt; fail "make install"; }
root=$stage/opt/heapprof-test
for f in bin/heapprof bin/heapanalyze lib/heapprof/libheapprof.so \
         include/heapprof/heapprof.h include/heapprof/trace_format.h; do
    [ -f "$root/$f" ] || fail "$f not installed"
done
[ -x "$root/bin/heapprof" ] || fail "heapprof not executable"
for m in heapprof.1 heapanalyze.1; do
    [ -f "$HP_SRC/docs/$m" ] || continue
    [ -f "$root/share/man/man1/$m" ] || fail "man page $m not installed"
done

"$root/bin/heapprof" --version | grep -q '^heapprof [0-9]' || fail "heapprof --version"
"$root/bin/heapanalyze" --version | grep -q '^heapanalyze [0-9]' || fail "heapanalyze --version"
"$root/bin/heapprof" --help | grep -q 'usage: heapprof' || fail "heapprof --help"
"$root/bin/heapanalyze" --help >/dev/null 2>&1 || fail "heapanalyze --help"

# The installed launcher, reached through a symlink on PATH, with nothing
# of the build tree on PATH: the installed library records, the installed
# analyzer gates.
mkdir -p pathbin
ln -s "$root/bin/heapprof" pathbin/heapprof
PATH="$PWD/pathbin:/usr/bin:/bin" heapprof --leak-check "$B/examples/leak" >out.txt 2>&1
rc=$?
cat out.txt
[ "$rc" -eq 1 ] || fail "installed leak check: exit $rc, want 1"
grep -q '^heapprof: 3 leaks' out.txt || fail "installed leak check verdict"
grep -q "LD_PRELOAD" out.txt && fail "loader complained"
echo "launcher_install: ok"
