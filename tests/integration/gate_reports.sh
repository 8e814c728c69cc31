#!/bin/sh
# JUnit XML and SARIF from the leak gate on examples/leak.c: the JUnit file
# validates against tests/integration/gate_junit.xsd (xmllint) with one
# test case per leak site; the SARIF file has SARIF 2.1.0's required fields
# and points each result at the leaking line of examples/leak.c.
set -u
B=$HP_BUILD
for f in libheapprof.so heapanalyze examples/leak; do
    [ -e "$B/$f" ] || { echo "$B/$f not built"; exit 77; }
done
command -v xmllint >/dev/null || { echo "xmllint not installed (libxml2-utils)"; exit 77; }
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
src=$HP_SRC/examples/leak.c
lines=$(grep -n 'LEAK [123]' "$src" | cut -d: -f1 | tr '\n' ' ')

HEAPPROF_RATE=1 HEAPPROF_OUT=leak.zst LD_PRELOAD=$B/libheapprof.so "$B/examples/leak" ||
    fail "example failed"
printf 'leak:copy_name\n' >s.supp
"$B/heapanalyze" leak.zst --fail-on-leaks --suppressions s.supp --junit junit.xml >j.txt 2>&1
rc=$?
[ "$rc" -eq 1 ] || { cat j.txt; fail "junit run: exit $rc, want 1"; }
xmllint --noout --schema "$HP_SRC/tests/integration/gate_junit.xsd" junit.xml ||
    fail "junit.xml does not validate"
cat junit.xml
n=$(grep -c '<testcase ' junit.xml)
[ "$n" -eq 3 ] || fail "want 3 test cases, got $n"
[ "$(grep -c '<failure ' junit.xml)" -eq 2 ] || fail "want 2 failures"
[ "$(grep -c '<skipped ' junit.xml)" -eq 1 ] || fail "want 1 skipped (suppressed)"
for l in $lines; do
    grep -q "file=\"[^\"]*examples/leak.c\" line=\"$l\"" junit.xml || fail "no case at leak.c:$l"
done

"$B/heapanalyze" leak.zst --fail-on-leaks --sarif leak.sarif >s.txt 2>&1
rc=$?
[ "$rc" -eq 1 ] || { cat s.txt; fail "sarif run: exit $rc, want 1"; }
python3 - leak.sarif $lines <<'PY' || fail "SARIF check"
import json, sys
doc = json.load(open(sys.argv[1]))
want = sorted(int(x) for x in sys.argv[2:])
assert doc["version"] == "2.1.0", "version"
assert "sarif-2.1.0" in doc["$schema"], "$schema"
assert isinstance(doc["runs"], list) and len(doc["runs"]) == 1, "runs"
run = doc["runs"][0]
drv = run["tool"]["driver"]
assert drv["name"] == "heapprof", "tool.driver.name"
rule_ids = [r["id"] for r in drv["rules"]]
assert rule_ids, "rules"
got = []
for r in run["results"]:
    assert r["ruleId"] in rule_ids, "ruleId"
    assert r["level"] in ("none", "note", "warning", "error"), "level"
    assert r["message"]["text"], "message.text"
    loc = r["locations"][0]["physicalLocation"]
    uri = loc["artifactLocation"]["uri"]
    assert uri.endswith("examples/leak.c"), uri
    got.append(loc["region"]["startLine"])
    assert r["level"] == "error"
assert sorted(got) == want, (got, want)
print("sarif ok:", len(run["results"]), "results at lines", sorted(got))
PY
# Both reports from one launcher run.
"$B/heapprof" --leak-check --junit both.xml --sarif both.sarif "$B/examples/leak" >b.txt 2>&1
rc=$?
[ "$rc" -eq 1 ] || { cat b.txt; fail "launcher with --junit and --sarif: exit $rc, want 1"; }
xmllint --noout --schema "$HP_SRC/tests/integration/gate_junit.xsd" both.xml ||
    fail "launcher's JUnit does not validate"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["runs"][0]["results"]) == 3' \
    both.sarif || fail "launcher's SARIF"
echo "gate_reports: ok"
