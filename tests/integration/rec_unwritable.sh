# An unwritable HEAPPROF_OUT: exactly one warning on stderr, and the
# program's output and exit status are unchanged (issue 2, item 7).
. "$HP_SRC/tests/integration/rec_lib.inc"
"$BIN/rec_known" arg >expected.out 2>expected.err
want=$?
[ "$want" = 3 ] || fail "rec_known arg exited $want unprofiled"
for rate in 1 524288; do
    HEAPPROF_RATE=$rate HEAPPROF_OUT=$HP_TMP/no/such/dir/t.zst LD_PRELOAD=$LIB \
        "$BIN/rec_known" arg >got.out 2>got.err
    rc=$?
    [ "$rc" = 3 ] || fail "exit status $rc under the preload, expected 3"
    cmp -s expected.out got.out || fail "stdout changed: $(cat got.out)"
    n=$(wc -l <got.err)
    [ "$n" = 1 ] || fail "expected one line on stderr, got $n: $(cat got.err)"
    grep -q "^heapprof: cannot write trace .*no/such/dir/t.zst: .*; running unprofiled$" got.err ||
        fail "unexpected warning: $(cat got.err)"
done
# A directory we cannot write to, as the default path.
mkdir ro && chmod 555 ro
if [ "$(id -u)" != 0 ]; then
    (cd ro && LD_PRELOAD=$LIB "$BIN/rec_known" arg >../got.out 2>../got.err)
    [ $? = 3 ] || fail "exit status changed in a read-only cwd"
    [ "$(wc -l <got.err)" = 1 ] || fail "read-only cwd: $(cat got.err)"
fi
# A symlink in place of the trace is never followed.
ln -s "$HP_TMP/target" link.zst
HEAPPROF_OUT=link.zst LD_PRELOAD=$LIB "$BIN/rec_known" arg >got.out 2>got.err
[ $? = 3 ] || fail "exit status changed with a symlinked trace name"
[ ! -e "$HP_TMP/target" ] || fail "followed the symlink"
echo pass
