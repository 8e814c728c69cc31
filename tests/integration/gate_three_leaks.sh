#!/bin/sh
# The leak gate on examples/leak.c (three leak sites at known lines):
# heapprof --leak-check fails with exit 1 and names each site by file:line
# with its bytes; with suppressions for the three it passes (exit 0) and
# shows what each suppression hid; the fixed program passes; a threshold
# above the leaked bytes passes; a malformed suppressions file is exit 2
# naming file:line.
set -u
B=$HP_BUILD
for f in libheapprof.so heapanalyze heapprof examples/leak; do
    [ -e "$B/$f" ] || { echo "$B/$f not built"; exit 77; }
done
fail() { echo "FAIL: $*"; exit 1; }
src=$HP_SRC/examples/leak.c
l1=$(grep -n 'LEAK 1' "$src" | tail -n 1 | cut -d: -f1)
l2=$(grep -n 'LEAK 2' "$src" | tail -n 1 | cut -d: -f1)
l3=$(grep -n 'LEAK 3' "$src" | tail -n 1 | cut -d: -f1)

"$B/heapprof" --leak-check -o leak.zst "$B/examples/leak" >out.txt 2>&1
rc=$?
cat out.txt
[ "$rc" -eq 1 ] || fail "leaking program: exit $rc, want 1"
grep -q "make_table .*leak.c:$l1\$" out.txt || fail "site 1 (leak.c:$l1) not named"
grep -q "copy_name .*leak.c:$l2\$" out.txt || fail "site 2 (leak.c:$l2) not named"
grep -q "new_node .*leak.c:$l3\$" out.txt || fail "site 3 (leak.c:$l3) not named"
grep -q '^leak [0-9] of 3: 4000 bytes in 1 block$' out.txt || fail "4000-byte site"
grep -q '^leak [0-9] of 3: 48 bytes in 2 blocks$' out.txt || fail "48-byte site"
grep -q '^leak [0-9] of 3: 18 bytes in 3 blocks$' out.txt || fail "18-byte site"
grep -q '^heapprof: 3 leaks, 4.0 KiB in 6 blocks - FAILED (threshold 0 B)' out.txt ||
    fail "verdict line"
# The stdout buffer printf allocated is the C runtime's, not a leak.
grep -q '_IO_file_doallocate' out.txt && fail "runtime block reported as a leak"
[ -f leak.zst ] || fail "-o leak.zst not written"

# The gate's verdict goes to stderr: the program's stdout stays its own.
"$B/heapprof" --leak-check "$B/examples/leak" >stdout.txt 2>/dev/null
[ "$(cat stdout.txt)" = "leak: total 33654" ] || { cat stdout.txt; fail "stdout changed"; }

# Suppressions, LeakSanitizer syntax, in two files.
cat >a.supp <<'S'
# known leaks, tracked elsewhere
leak:make_table

leak:^copy_name$
S
cat >b.supp <<'S'
leak:examples/leak.c*new_node
leak:leak.c
leak:no_such_function_anywhere
S
# a pattern naming a file and function at once matches nothing: only one
# name is tested at a time. new_node is hidden by the broader leak.c line.
"$B/heapprof" --leak-check --suppressions a.supp --suppressions b.supp \
    "$B/examples/leak" >sup.txt 2>&1
rc=$?
cat sup.txt
[ "$rc" -eq 0 ] || fail "all suppressed: exit $rc, want 0"
grep -q 'leak:make_table .*a.supp:2 .*hid 1 leak, 4000 bytes in 1 block$' sup.txt ||
    fail "make_table suppression count"
grep -q 'leak:^copy_name\$ .*a.supp:4 .*hid 1 leak, 18 bytes in 3 blocks$' sup.txt ||
    fail "copy_name suppression count"
grep -q 'leak:examples/leak.c\*new_node .*unused$' sup.txt || fail "unused suppression 1"
grep -q 'leak:leak.c .*b.supp:2 .*hid 1 leak, 48 bytes in 2 blocks$' sup.txt ||
    fail "leak.c suppression count"
grep -q 'leak:no_such_function_anywhere .*unused$' sup.txt || fail "unused suppression 2"
grep -q '^heapprof: no leaks - PASSED (threshold 0 B); 3 suppressed (4066 bytes)' sup.txt ||
    fail "suppressed verdict"

# Same trace through heapanalyze: a threshold at the leaked bytes passes,
# one byte less fails.
"$B/heapanalyze" leak.zst --fail-on-leaks=4066 >t1.txt 2>&1
rc=$?
[ "$rc" -eq 0 ] || { cat t1.txt; fail "threshold 4066: exit $rc, want 0"; }
"$B/heapanalyze" leak.zst --fail-on-leaks=4065 >t2.txt 2>&1
rc=$?
[ "$rc" -eq 1 ] || { cat t2.txt; fail "threshold 4065: exit $rc, want 1"; }

# The fixed program passes.
"$B/heapprof" --leak-check "$B/examples/leak" --fixed >fixed.txt 2>&1
rc=$?
cat fixed.txt
[ "$rc" -eq 0 ] || fail "fixed program: exit $rc, want 0"
grep -q '^heapprof: no leaks - PASSED' fixed.txt || fail "fixed verdict"

# A malformed suppressions file: exit 2, naming file:line.
printf 'leak:ok\n\nmake_table\n' >bad.supp
"$B/heapanalyze" leak.zst --fail-on-leaks --suppressions bad.supp >bad.txt 2>&1
rc=$?
cat bad.txt
[ "$rc" -eq 2 ] || fail "malformed suppressions: exit $rc, want 2"
grep -q 'bad.supp:3' bad.txt || fail "malformed line not named"
echo "gate_three_leaks: ok"
