#!/bin/sh
# The fleet views of `hallmark history` (--fleet, --stale-after, --path,
# --manifests), text and JSON, on SQLite and on PostgreSQL: the same runs
# must give the same output on both.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/pg-lib.sh"
pg_setup

mkdir -p root/etc
printf 'a\n' > root/etc/a
printf 'b\n' > root/etc/b
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
for s in 4 5; do
	"$HALLMARK" manifest dir:root --name base --serial $s -o m$s 2>/dev/null
	"$HALLMARK" sign m$s --key ops.key >/dev/null 2>&1
done
PGDB="postgresql://hallmark@/fleet?host=$PG_DIR&port=$PG_PORT"
both() {   # MANIFEST HOST: record one run of root into both databases
	for db in fleet.db "$PGDB"; do
		"$HALLMARK" verify dir:root --manifest "$1" --pubkey ops.pub \
			--db "$db" --host "$2" >/dev/null 2>&1
	done
}
both m4 web3            # run 1: web3 stays on serial 4, and goes silent
both m5 web1            # run 2
both m5 web2            # run 3: pass
printf 'changed\n' > root/etc/a
both m5 web2            # run 4: drift at /etc/a
both m5 'web 4'         # run 5: drift too, a name with a space
printf 'a\n' > root/etc/a
both m5 'web 4'         # run 6: fixed
# Every run 3h30m old (a second apart), web3's 30 hours: the same times
# in both databases, so that the outputs can be compared byte for byte.
python3 - >times.sql <<'PY'
import sqlite3, time
t = time.time()
rows = [(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t - 12600 + i)), i) for i in range(2, 7)]
rows.append((time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t - 30 * 3600)), 1))
c = sqlite3.connect("fleet.db")
c.executemany("UPDATE runs SET started = ? WHERE id = ?", rows)
c.commit()
for s, i in rows:
    print("UPDATE runs SET started = '%s' WHERE id = %d;" % (s, i))
PY
pg_psql hallmark fleet "$(cat times.sql)"

norm() { sed -E 's/"now": "[^"]*"/"now": NOW/; s/"age_seconds": [0-9]+/"age_seconds": AGE/g; s/"database": "[^"]*"/"database": DB/'; }
same() {   # DESCRIPTION ARGS...: same output and exit on both
	what=$1; shift
	"$HALLMARK" history --db fleet.db "$@" >sq.raw 2>&1; e1=$?
	"$HALLMARK" history --db "$PGDB" "$@" >pg.raw 2>&1; e2=$?
	norm <sq.raw >sq.out; norm <pg.raw >pg.out
	if [ $e1 -eq $e2 ] && cmp -s sq.out pg.out; then ok "$what (exit $e1)"; else
		fail "$what: exits $e1/$e2"; diff sq.out pg.out | sed 's/^/#   /' | head -n 20; fi
}

same "--fleet: the same on SQLite and PostgreSQL" --fleet
expect_exit 0 "--fleet exits 0" "$HALLMARK" history --db "$PGDB" --fleet
expect_grep '^web2 +4 .* 3h +drift +[1-9][0-9]* +base #5$' out.txt "web2: last run 4, 3h old, drift, its open findings, serial 5"
expect_grep '^web3 +1 .* 30h +pass .*base #4$' out.txt "web3: 30 hours old, on serial 4"
expect_grep '^web 4 +6 .* pass +0 ' out.txt "'web 4': its last run passes"
expect_grep '^4 hosts, 1 with drift$' out.txt "the summary counts hosts and drift"
same "--fleet --stale-after 26h: the same" --fleet --stale-after 26h
expect_exit 1 "a host silent for longer than 26h is a finding: exit 1" \
	"$HALLMARK" history --db "$PGDB" --fleet --stale-after 26h
expect_grep '^web3 .*STALE$' out.txt "web3 is marked stale"
if grep -v '^web3' out.txt | grep -q STALE; then fail "only web3 is stale"; else ok "only web3 is stale"; fi
expect_grep '1 stale \(no run for more than 93600s\)' out.txt "the summary counts it"
expect_exit 0 "--stale-after 2d: nobody is stale" "$HALLMARK" history --db fleet.db --fleet --stale-after 2d
expect_exit 1 "--stale-after 90m on SQLite too" "$HALLMARK" history --db fleet.db --fleet --stale-after 1799m
same "--fleet --format json: the same" --fleet --stale-after 26h --format json
expect_exit 1 "JSON exit 1 too" "$HALLMARK" history --db "$PGDB" --fleet --stale-after 26h --format json
if python3 - out.txt <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "hallmark-fleet" and d["stale_after"] == 93600, d
h = {x["host"]: x for x in d["hosts"]}
assert list(h) == ["web 4", "web1", "web2", "web3"], list(h)
assert h["web3"]["stale"] and not h["web1"]["stale"]
assert h["web3"]["age_seconds"] >= 30 * 3600
assert h["web2"]["result"] == "drift" and h["web2"]["findings"] >= 1
assert h["web3"]["manifest"] == {"name": "base", "serial": 4}
assert d["stale"] == 1 and d["drift"] == 1
PY
then ok "the fleet JSON holds the hosts, their age and staleness"; else fail "the fleet JSON"; fi

same "--path /etc/a: the same" --path /etc/a
expect_exit 0 "--path exits 0" "$HALLMARK" history --db "$PGDB" --path /etc/a
expect_grep '^web2 +open ' out.txt "web2 drifted at /etc/a and still does"
expect_grep '^web 4 +fixed .* 1$' out.txt "'web 4' drifted there once and was fixed"
if grep -Eq '^web(1|3) ' out.txt; then fail "hosts without drift there are not listed"; else ok "hosts without drift there are not listed"; fi
same "--path --format json: the same" --path /etc/a --format json
same "--path of a path without findings: the same" --path /etc/none
expect_grep '^no findings at /etc/none$' pg.out "a path without findings says so"

same "--manifests: the same" --manifests
expect_exit 0 "--manifests exits 0" "$HALLMARK" history --db "$PGDB" --manifests
if awk '/^  #/ {print $1, $2}' out.txt | tr '\n' ';' | grep -qx '#5 web;#5 web1;#5 web2;#4 web3;'; then
	ok "--manifests: which host runs which serial, highest first"
else fail "--manifests order"; sed 's/^/#   /' out.txt; fi
same "--manifests --format json: the same" --manifests --format json

expect_exit 2 "a malformed duration is a usage error" "$HALLMARK" history --db fleet.db --fleet --stale-after 26
expect_grep "not a duration: '26'" err.txt "the message names it"
expect_exit 2 "--stale-after without --fleet" "$HALLMARK" history --db fleet.db --stale-after 1h
expect_exit 2 "two views at once" "$HALLMARK" history --db fleet.db --fleet --manifests
done_testing
