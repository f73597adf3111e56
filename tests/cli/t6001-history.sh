#!/bin/sh
# verify --db records each run; `hallmark history` lists them and --diff
# tells new, fixed and persisting findings apart.  Rollback to an older
# serial is refused (exit 3).  A corrupt, foreign, newer or locked
# database is an error (exit 2) and is left exactly as it was.
. "$(dirname "$0")/lib.sh"

mkdir -p root/etc root/srv
printf 'a\n' > root/etc/a
printf 'b\n' > root/etc/b
printf 'c\n' > root/srv/c
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
for s in 1 2; do
	"$HALLMARK" manifest dir:root --name t6001 --serial $s -o m$s 2>/dev/null
	"$HALLMARK" sign m$s --key ops.key >/dev/null 2>&1
done
V() { "$HALLMARK" verify dir:root --manifest m2 --pubkey ops.pub --db h.db "$@"; }
runs() { python3 -c "import sqlite3; print(sqlite3.connect('h.db').execute('select count(*) from runs').fetchone()[0])"; }

expect_exit 0 "a clean run is recorded" V --host web1
[ -f h.db ] && ok "the database was created" || fail "the database was created"
mode=$(stat -c %a h.db)
[ "$mode" = 600 ] && ok "and is mode 0600" || fail "and is mode 0600 (got $mode)"

# Drift appears: content of /etc/a, a new file with a newline in its name.
printf 'tampered\n' > root/etc/a
printf 'x\n' > "root/srv/new
line"
expect_exit 1 "a run with drift exits 1" V --host web1
# Part of it is fixed, some persists, something new appears.
printf 'a\n' > root/etc/a
chmod 600 root/etc/b
expect_exit 1 "a third run with other drift exits 1" V --host web1
expect_exit 1 "a run of another host" V --host web2
[ "$(runs)" = 4 ] && ok "four runs recorded" || fail "four runs recorded (got $(runs))"

expect_exit 0 "history lists the runs" "$HALLMARK" history --db h.db
cp out.txt list.txt
expect_grep '^host web1' list.txt "with a section for web1"
expect_grep '^host web2' list.txt "and one for web2"
first=$(grep -nE '^  [0-9]' list.txt | head -n 1 | awk '{print $2}')
[ "$first" = 3 ] && ok "newest run first" || fail "newest run first (got $first)"
expect_grep '^  3 .* drift .* 2  t6001 #2 .*added=1 mode=1' list.txt "run 3 shows drift and its counts by kind"
expect_grep '^  1 .* pass .* 0 ' list.txt "run 1 passed"

expect_exit 0 "history --diff" "$HALLMARK" history --db h.db --diff --host web1
cp out.txt diff.txt
expect_grep '^host web1: run 3 .* against run 2' diff.txt "compares web1's last run with the previous one"
expect_grep '^  new +mode +/etc/b' diff.txt "the mode change is new"
expect_grep '^  fixed +content +/etc/a' diff.txt "the content change is fixed"
expect_grep '^  persisting +added +/srv/new\\012line' diff.txt "the added file persists, its name escaped"
expect_grep '1 new, 1 fixed, 1 persisting' diff.txt "and the totals add up"

expect_exit 0 "history --format json" "$HALLMARK" history --db h.db --format json --limit 1
python3 - out.txt <<'PY' && ok "json: one run per host with --limit 1, counts by kind" || fail "json: one run per host with --limit 1"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "hallmark-history"
hosts = {h["host"]: h["runs"] for h in d["hosts"]}
assert set(hosts) == {"web1", "web2"}, hosts
assert [len(v) for v in hosts.values()] == [1, 1]
r = hosts["web1"][0]
assert r["id"] == 3 and r["result"] == "drift" and r["counts"]["mode"] == 1, r
assert r["manifest"]["name"] == "t6001" and r["manifest"]["serial"] == 2
PY
expect_exit 0 "history --diff --format json" "$HALLMARK" history --db h.db --diff --format json
python3 - out.txt <<'PY' && ok "json diff: new, fixed and persisting lists; a first run is all new" || fail "json diff"
import json, sys
d = json.load(open(sys.argv[1]))
h = {x["host"]: x for x in d["hosts"]}
w = h["web1"]
assert w["last"]["id"] == 3 and w["previous"]["id"] == 2
assert [f["path"] for f in w["new"]] == ["/etc/b"]
assert sorted(f["kind"] for f in w["fixed"]) == ["content"]
assert [f["path"] for f in w["persisting"]] == ["/srv/new\\012line"]
w = h["web2"]
assert w["previous"] is None and w["fixed"] == [] and w["persisting"] == []
assert len(w["new"]) == w["last"]["findings"] == 2
PY

# Rollback: serial 2 was seen; serial 1 is refused before any compare.
n=$(runs)
expect_exit 3 "an older serial is a rollback (exit 3)" \
	"$HALLMARK" verify dir:root --manifest m1 --pubkey ops.pub --db h.db --host web1
expect_grep "rollback: 't6001' serial 1 is older than serial 2 already seen with key [0-9a-f]{16}" err.txt "and the message names both serials and the key"
[ "$(runs)" = "$n" ] && ok "the refused run is not recorded" || fail "the refused run is not recorded"
expect_exit 1 "serial 2 again is fine" V --host web1
expect_exit 3 "hallmark-verify refuses the rollback too" \
	"$HALLMARK_VERIFY" dir:root --manifest m1 --pubkey ops.pub --db h.db

# Bad databases: exit 2, file untouched.
python3 -c "import os; open('junk.db', 'wb').write(os.urandom(8192))"
cp junk.db junk.orig
expect_exit 2 "a database of random bytes is an error" V --db junk.db
expect_grep "'junk.db' is not an SQLite database" err.txt "and says it is not SQLite"
cmp -s junk.db junk.orig && ok "and the file is unchanged" || fail "and the file is unchanged"
expect_exit 2 "history on it too" "$HALLMARK" history --db junk.db

python3 -c "import sqlite3; c = sqlite3.connect('foreign.db'); c.execute('create table t (x)'); c.commit()"
cp foreign.db foreign.orig
expect_exit 2 "someone else's SQLite database is refused" V --db foreign.db
expect_grep "'foreign.db' is not a hallmark history database" err.txt "and the message says so"
cmp -s foreign.db foreign.orig && ok "and the file is unchanged" || fail "and the file is unchanged"

cp h.db newer.db
python3 -c "import sqlite3; c = sqlite3.connect('newer.db'); c.execute('pragma journal_mode=delete'); c.execute('pragma user_version=2'); c.commit()"
cp newer.db newer.orig
expect_exit 2 "a newer schema is refused" V --db newer.db
expect_grep "'newer.db' has history schema 2, newer than this hallmark \(1\): refusing to touch it" err.txt "with the schema numbers"
cmp -s newer.db newer.orig && ok "and the file is unchanged" || fail "and the file is unchanged"

expect_exit 2 "history of a missing database is an error" "$HALLMARK" history --db nothere.db
expect_grep "cannot open history database 'nothere.db'" err.txt "and names it"
[ ! -e nothere.db ] && ok "and does not create it" || fail "and does not create it"

# A writer holds the lock longer than the (lowered) busy timeout.
rm -f locked
python3 -c "
import sqlite3, time
c = sqlite3.connect('h.db', isolation_level=None)
c.execute('BEGIN EXCLUSIVE')
open('locked', 'w').close()
time.sleep(20)" &
holder=$!
i=0; while [ ! -e locked ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
n=$(python3 -c "import sqlite3; print(sqlite3.connect('h.db').execute('select count(*) from runs').fetchone()[0])")
start=$(date +%s)
HALLMARK_DB_TIMEOUT_MS=300 V --host web1 >out.txt 2>err.txt
rc=$?
[ $rc -eq 2 ] && ok "a locked database fails after the timeout (exit 2)" || fail "a locked database fails (exit $rc)"
expect_grep "history database 'h.db' is locked by another process" err.txt "and says it is locked"
[ $(( $(date +%s) - start )) -lt 10 ] && ok "the timeout is the one asked for" || fail "the timeout is the one asked for"
expect_exit 0 "history still reads while a writer holds the lock" "$HALLMARK" history --db h.db
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
[ "$(runs)" = "$n" ] && ok "nothing was recorded by the locked run" || fail "nothing was recorded by the locked run"
expect_exit 2 "a malformed HALLMARK_DB_TIMEOUT_MS is an error" env HALLMARK_DB_TIMEOUT_MS=soon "$HALLMARK" history --db h.db
python3 -c "import sqlite3; print(sqlite3.connect('h.db').execute('pragma integrity_check').fetchone()[0])" > ic.txt
expect_grep '^ok$' ic.txt "integrity_check is ok at the end"

done_testing
