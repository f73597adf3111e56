#!/bin/sh
# Reports CI systems accept (issue 14, item 6): the audit and the verify
# SARIF validate against the OASIS SARIF 2.1.0 schema (committed under
# tests/), every result has a location, the driver its informationUri;
# audit writes JUnit as verify does.
. "$(dirname "$0")/lib.sh"
SCHEMA=$HM_TOP/tests/sarif-schema-2.1.0.json

# A tree with findings with a path (a second uid-0 account) and without
# one (kernel settings that nothing sets).
mkdir -p root/etc/ssh
printf 'root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\n' > root/etc/passwd
printf 'PermitRootLogin yes\n' > root/etc/ssh/sshd_config
chmod 644 root/etc/passwd

sarif_ok() {  # sarif_ok WHAT FILE
	if python3 - "$SCHEMA" "$2" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
log = json.load(open(sys.argv[2]))
jsonschema.Draft4Validator(schema).validate(log)
run = log["runs"][0]
assert run["tool"]["driver"]["informationUri"].startswith("https://"), run["tool"]["driver"]
assert run["results"], "no results"
for r in run["results"]:
    locs = r.get("locations")
    assert locs and locs[0]["physicalLocation"]["artifactLocation"]["uri"].startswith("/"), r
PY
	then ok "$1"; else fail "$1"; fi
}

expect_exit 1 "audit --format sarif" "$HALLMARK" audit dir:root --format sarif -o audit.sarif
sarif_ok "the audit SARIF is valid SARIF 2.1.0, every result located" audit.sarif
python3 - audit.sarif <<'PY' && ok "a sysctl set nowhere points at the file that should set it" || fail "sysctl location"
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
sys2 = [r for r in run["results"] if r["ruleId"] == "HM-SYS-002"]
assert sys2, "no HM-SYS-002 result"
assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sys2} == \
    {"/etc/sysctl.d/90-hallmark-harden.conf"}
PY
# The schema itself is what the test relies on: a result it must refuse.
python3 - "$SCHEMA" audit.sarif <<'PY' && ok "the schema refuses a broken log" || fail "the schema refuses a broken log"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
log = json.load(open(sys.argv[2]))
log["runs"][0]["results"][0]["level"] = "fatal"
try:
    jsonschema.Draft4Validator(schema).validate(log)
except jsonschema.ValidationError:
    sys.exit(0)
sys.exit(1)
PY

# verify: drift of several kinds.
"$HALLMARK" keygen -o k --no-passphrase >/dev/null 2>&1
mkdir -p tree/etc && printf 'a\n' > tree/etc/a && printf 'b\n' > tree/etc/b
"$HALLMARK" manifest dir:tree -o m >/dev/null 2>&1 && "$HALLMARK" sign m --key k.key >/dev/null 2>&1
printf 'changed\n' > tree/etc/a; rm tree/etc/b; printf 'new\n' > "tree/etc/new
line"; chmod 600 tree/etc/a
expect_exit 1 "verify --format sarif" "$HALLMARK" verify dir:tree -m m -k k.pub --format sarif -o verify.sarif
sarif_ok "the verify SARIF is valid SARIF 2.1.0, every result located" verify.sarif

# JUnit for audit, in verify's shape.
expect_exit 1 "audit --format junit" "$HALLMARK" audit dir:root --format junit -o audit.xml
python3 - audit.xml <<'PY' && ok "audit JUnit: one suite, a testcase per rule, failures for what fails the gate" || fail "audit JUnit"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites"
suite = root.find("testsuite")
assert suite.get("name") == "hallmark audit"
cases = suite.findall("testcase")
assert int(suite.get("tests")) == len(cases) > 10
failed = [c for c in cases if c.find("failure") is not None]
assert int(suite.get("failures")) == len(failed) > 0
acct = [c for c in cases if c.get("name") == "HM-ACCT-002"][0]
assert acct.get("classname") == "hallmark.audit"
assert "/etc/passwd: " in acct.find("failure").text and "toor" in acct.find("failure").text
props = {p.get("name"): p.get("value") for p in suite.find("properties")}
assert props["target"] == "dir:root" and props["exit_code"] == "1" and props["fail_on"] == "high"
PY
mkdir -p calm/etc && printf 'root:x:0:0:root:/root:/bin/bash\n' > calm/etc/passwd
expect_exit 0 "a passing audit's JUnit" "$HALLMARK" audit dir:calm --format junit --fail-on critical -o pass.xml
python3 - pass.xml <<'PY' && ok "has no failure, its findings in system-out" || fail "passing audit JUnit"
import sys, xml.etree.ElementTree as ET
suite = ET.parse(sys.argv[1]).getroot().find("testsuite")
assert suite.get("failures") == "0" and not suite.findall("testcase/failure")
assert suite.findall("testcase/system-out")
PY

done_testing
