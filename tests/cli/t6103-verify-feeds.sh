#!/bin/sh
# verify --prometheus FILE (read back by prometheus_client's own text
# parser) and verify --syslog (read from a private /dev/log: a datagram
# socket of ours bound over it in a mount namespace).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3          # Debian's, where python3-prometheus-client is
mkdir -p root/etc
printf 'a\n' > root/etc/a
printf 'secret-hash\n' > root/etc/shadow
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:root --name base --serial 7 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1
V="--manifest m --pubkey ops.pub"

# --- Prometheus ------------------------------------------------------------
prom_check() {   # FILE EXPECTED-RESULT CONTENT-FINDINGS(or -) SERIAL(or -)
	"$PY" - "$@" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
path, result, content, serial = sys.argv[1:5]
fams = {f.name: f for f in text_string_to_metric_families(open(path).read())}
def one(name):
    f = fams[name]
    assert f.type == "gauge" and f.documentation, name
    assert len(f.samples) == 1, (name, f.samples)
    return f.samples[0]
s = one("hallmark_verify_result")
assert s.value == float(result), s
assert s.labels["host"] == 'web "1"\\x', s.labels
assert one("hallmark_verify_last_run_timestamp_seconds").value > 1.7e9
assert 0 <= one("hallmark_verify_duration_seconds").value < 60
if serial != "-":
    assert one("hallmark_verify_manifest_serial").value == float(serial)
if content != "-":
    kinds = {x.labels["kind"]: x.value for x in fams["hallmark_verify_findings"].samples}
    assert kinds["content"] == float(content) and kinds["missing"] == 0, kinds
    assert len(kinds) >= 10, kinds
else:
    assert "hallmark_verify_findings" not in fams
PY
}
H='web "1"\x'
expect_exit 0 "a passing run with --prometheus" "$HALLMARK" verify dir:root $V --host "$H" --prometheus m.prom
if prom_check m.prom 0 0 7 2>err.py; then ok "the parser reads result 0, serial 7, no finding"; else
	fail "prometheus text of a pass"; sed 's/^/#   /' err.py | tail -n 5; fi
printf 'changed\n' > root/etc/a
expect_exit 1 "a drifted run" "$HALLMARK" verify dir:root $V --host "$H" --prometheus m.prom
if prom_check m.prom 1 1 7 2>err.py; then ok "result 1 and one content finding"; else
	fail "prometheus text of a drift"; sed 's/^/#   /' err.py | tail -n 5; fi
ls -a | grep -q '\.m\.prom\.tmp' && fail "a temporary file was left" || ok "no temporary file left"
printf 'forged' >> m
expect_exit 3 "a forged manifest: exit 3" "$HALLMARK" verify dir:root $V --host "$H" --prometheus m.prom
if prom_check m.prom 3 - - 2>err.py; then ok "the metrics say 3 (trust failure), with no findings"; else
	fail "prometheus text of a trust failure"; sed 's/^/#   /' err.py | tail -n 5; fi
printf 'a\n' > root/etc/a
"$HALLMARK" manifest dir:root --name base --serial 7 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1
mkdir ro && chmod 555 ro
if [ "$(id -u)" -ne 0 ]; then
	expect_exit 2 "an unwritable metrics file is exit 2, although the run passed" \
		"$HALLMARK" verify dir:root $V --prometheus ro/m.prom
else
	skip "root writes a read-only folder"
fi

# --- syslog ----------------------------------------------------------------
cat > logd.py <<'PY'
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
open(sys.argv[3], "w").close()                 # ready
s.settimeout(20)
with open(sys.argv[2], "wb") as out:
    while True:
        d = s.recv(65536)
        out.write(d + b"\n"); out.flush()
        if b'"dataset": "hallmark.run"' in d or b'"dataset":"hallmark.run"' in d:
            break
PY
syslog_run() {   # WANT-EXIT: run verify --syslog under a private /dev/log
	rm -f log.sock log.txt ready
	"$PY" logd.py "$T_DIR/log.sock" log.txt ready & lp=$!
	n=0; while [ ! -e ready ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
	cat > inns.sh <<SH
set -e
if [ -e /dev/log ]; then
	mount --bind "$T_DIR/log.sock" /dev/log
else
	mkdir -p "$T_DIR/dev"
	mount -t tmpfs tmpfs "$T_DIR/dev"
	for n in null zero urandom random; do
		touch "$T_DIR/dev/\$n"; mount --bind "/dev/\$n" "$T_DIR/dev/\$n"
	done
	touch "$T_DIR/dev/log"; mount --bind "$T_DIR/log.sock" "$T_DIR/dev/log"
	mount --rbind "$T_DIR/dev" /dev
fi
set +e
"$HALLMARK" verify dir:root $V --host web1 --syslog >/dev/null 2>"$T_DIR/v.err"
echo \$? > "$T_DIR/v.rc"
SH
	if [ "$(id -u)" -eq 0 ]; then unshare --mount --propagation private sh inns.sh
	else unshare --user --map-root-user --mount sh inns.sh; fi
	e=$?
	wait $lp
	[ $e -eq 0 ] && [ "$(cat v.rc 2>/dev/null)" = "$1" ]
}
printf 'changed\n' > root/etc/a
printf 'other-hash\n' > root/etc/shadow
if ! syslog_run 1; then
	skip "no private mount namespace here (unshare --mount failed)"
else
	ok "verify --syslog under a private /dev/log: exit 1"
	if "$PY" - log.txt <<'PY' 2>err.py
import json, sys, re
lines = [l for l in open(sys.argv[1], "rb").read().split(b"\n") if l]
objs = []
for l in lines:
    m = re.match(rb"^<(\d+)>.*?hallmark\[\d+\]: (.*)$", l)
    assert m, l
    objs.append((int(m.group(1)), json.loads(m.group(2))))
finds = [o for p, o in objs if o["event"]["dataset"] == "hallmark.finding"]
runs = [o for p, o in objs if o["event"]["dataset"] == "hallmark.run"]
assert len(runs) == 1 and len(finds) >= 2, (len(runs), len(finds))
paths = sorted(f["file"]["path"] for f in finds)
assert "/etc/a" in paths and "/etc/shadow" in paths, paths
for f in finds:
    assert f["event"]["kind"] == "alert" and f["host"]["name"] == "web1"
    assert f["event"]["action"] in ("content", "size", "mtime"), f
    assert f["hallmark"]["manifest"] == {"name": "base", "serial": 7}
r = runs[0]
assert r["hallmark"]["result"] == "drift" and r["hallmark"]["exit_code"] == 1
assert r["hallmark"]["findings"] == len(finds)
assert r["event"]["outcome"] == "failure" and r["event"]["duration"] >= 0
assert "@timestamp" in r and r["host"]["name"] == "web1"
# priorities: facility daemon (3), warning (4) for drift
assert all(p == 3 * 8 + 4 for p, o in objs), [p for p, o in objs]
PY
	then ok "one ECS line per finding and one for the run, parsed back"; else
		fail "the syslog lines"; sed 's/^/#   /' err.py | tail -n 5; sed 's/^/#   /' log.txt | head -n 5; fi
	if grep -q -e secret-hash -e other-hash -e "$(sha256sum root/etc/shadow | cut -c1-64)" log.txt; then
		fail "a value of a finding reached syslog"; else ok "no expected or actual value is sent"; fi
fi
done_testing
