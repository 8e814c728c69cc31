#!/bin/sh
# Golden tests: heapanalyze on the small traces in tests/golden/ must print
# exactly the .expected output (stdout, or stderr for the *.stderr cases)
# and exit with the status listed in tests/golden/cases.txt. The traces were
# written with tests/support/trace_writer and name modules that do not
# exist, so frames stay module+offset on every machine.
#
# To accept a deliberate change of the output: HP_GOLDEN_UPDATE=1 rewrites
# the .expected files (review the diff before committing it).
set -u
g=$HP_SRC/tests/golden
fail=0
grep -v '^#' "$g/cases.txt" | while read -r name want args; do
    [ -n "$name" ] || continue
    # shellcheck disable=SC2086
    (cd "$g" && NO_COLOR=1 "$HP_BUILD/heapanalyze" $args) >"$HP_TMP/out" 2>"$HP_TMP/err"
    rc=$?
    case $name in
    *.stderr) grep -v 'cannot open' "$HP_TMP/err" >"$HP_TMP/got" ;;
    *) cp "$HP_TMP/out" "$HP_TMP/got" ;;
    esac
    if [ "${HP_GOLDEN_UPDATE:-}" = 1 ]; then
        cp "$HP_TMP/got" "$g/$name.expected"
    fi
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL $name: exit $rc, want $want"; cat "$HP_TMP/err"; exit 1
    fi
    if ! diff -u "$g/$name.expected" "$HP_TMP/got"; then
        echo "FAIL $name: output differs from tests/golden/$name.expected"; exit 1
    fi
    echo "ok $name"
done || fail=1
exit $fail
