#!/bin/sh
# verify --db postgresql://... against a real server of our own (see
# pg-lib.sh): a fleet of 50 hosts recording at once into a new database,
# the serial race in both commit orders, the server dying mid-run, a
# wrong password, a database of another role, a newer schema, and the
# same `history` output as SQLite for the same runs.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/pg-lib.sh"
pg_setup

mkdir -p root/etc
printf 'a\n' > root/etc/a
printf 'b\n' > root/etc/b
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
tar -C root -cf root.tar .
for s in 3 4 5; do
	"$HALLMARK" manifest tar:root.tar --name race --serial $s -o m$s 2>/dev/null
	"$HALLMARK" sign m$s --key ops.key >/dev/null 2>&1
done
uri() { echo "postgresql://hallmark@/$1?host=$PG_DIR&port=$PG_PORT"; }
V="--pubkey ops.pub"

# --- 50 hosts at once, on a database without a schema yet ---------------
pg_fresh fresh50
pids="" i=1 bad=0
while [ $i -le 50 ]; do
	"$HALLMARK" verify tar:root.tar --manifest m5 $V --db "$(uri fresh50)" \
		--host "h$i" >/dev/null 2>"v$i.err" &
	pids="$pids $!"
	i=$((i + 1))
done
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
if [ $bad -eq 0 ]; then ok "50 concurrent verifies into a new database all pass"
else fail "50 concurrent verifies: $bad failed"; cat v*.err | sort | uniq -c | sed 's/^/#   /' | head; fi
got=$(pg_psql hallmark fresh50 "SELECT count(*), count(DISTINCT host), bool_and(host LIKE 'h%')::int FROM runs")
[ "$got" = "50|50|1" ] && ok "50 runs of 50 hosts recorded, exactly" ||
	fail "50 runs of 50 hosts recorded (got '$got')"
got=$(pg_psql hallmark fresh50 "SELECT version FROM hallmark_schema")
[ "$got" = 1 ] && ok "the schema was created once, version 1" || fail "schema version '$got'"

# --- the serial race: 4 and 5 both claimed, then either commits first ----
# Each verify reads tar:- from a FIFO the test holds open, so it stops
# after its serial claim until the test feeds it.
wait_serial() {   # DB SERIAL
	n=0
	while [ "$(pg_psql hallmark "$1" "SELECT max(max_serial) FROM serials" 2>/dev/null)" != "$2" ]; do
		n=$((n + 1)); [ $n -gt 200 ] && return 1; sleep 0.05
	done
}
race() {   # DB FIRST(4|5)
	db=$1; first=$2
	pg_fresh "$db"
	rm -f f4 f5; mkfifo f4 f5
	exec 7<>f4 8<>f5
	"$HALLMARK" verify tar:- --manifest m4 $V --db "$(uri "$db")" --host a \
		<f4 >r4.out 2>r4.err 7>&- 8>&- &
	p4=$!
	wait_serial "$db" 4 || fail "the run of serial 4 did not claim it"
	"$HALLMARK" verify tar:- --manifest m5 $V --db "$(uri "$db")" --host b \
		<f5 >r5.out 2>r5.err 7>&- 8>&- &
	p5=$!
	wait_serial "$db" 5 || fail "the run of serial 5 did not claim it"
	if [ "$first" = 4 ]; then
		cat root.tar >&7; exec 7>&-; wait $p4; e4=$?
		cat root.tar >&8; exec 8>&-; wait $p5; e5=$?
	else
		cat root.tar >&8; exec 8>&-; wait $p5; e5=$?
		cat root.tar >&7; exec 7>&-; wait $p4; e4=$?
	fi
	runs=$(pg_psql hallmark "$db" "SELECT string_agg(host || serial, ',' ORDER BY id) FROM runs")
	if [ $e4 -eq 3 ] && [ $e5 -eq 0 ] && [ "$runs" = b5 ] &&
	   grep -q "rollback: 'race' serial 4 is older than serial 5" r4.err; then
		ok "serial 4 racing serial 5, $first records first: 4 refused (exit 3), only 5 recorded"
	else
		fail "race, $first first: exits 4=$e4 5=$e5, runs '$runs'"; sed 's/^/#   /' r4.err r5.err
	fi
}
race race4 4
race race5 5
pg_fresh seq
expect_exit 0 "serial 5 recorded" "$HALLMARK" verify tar:root.tar --manifest m5 $V --db "$(uri seq)" --host c
expect_exit 3 "then serial 3 from another host is a rollback" "$HALLMARK" verify tar:root.tar --manifest m3 $V --db "$(uri seq)" --host d
expect_grep "rollback: 'race' serial 3 is older than serial 5" err.txt "the rollback message names both serials"

# --- the server stops while verify compares --------------------------------
pg_fresh stopped
rm -f fs; mkfifo fs; exec 7<>fs
"$HALLMARK" verify tar:- --manifest m5 $V --db "$(uri stopped)" --host s -o stopped.report \
	<fs >s.out 2>s.err 7>&- &
ps=$!
wait_serial stopped 5 || fail "the run did not claim its serial"
pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
cat root.tar >&7; exec 7>&-; wait $ps; es=$?
[ $es -eq 2 ] && ok "server gone before the record: exit 2" || fail "server gone: exit $es"
expect_grep "history database .*cannot record the run" s.err "the error says the run was not recorded"
expect_grep "^OK" stopped.report "the report was written all the same"
pg_start_server
got=$(pg_psql hallmark stopped "SELECT count(*) FROM runs")
[ "$got" = 0 ] && ok "nothing of that run is in the database" || fail "runs after the stop: $got"

# --- credentials -------------------------------------------------------------
SECURE="postgresql://secure@127.0.0.1:$PG_PORT/secure"
printf '127.0.0.1:%s:secure:secure:wrong-password\n' "$PG_PORT" > pgpass.bad
printf '127.0.0.1:%s:secure:secure:right-password\n' "$PG_PORT" > pgpass.good
chmod 600 pgpass.bad pgpass.good
expect_exit 2 "a wrong password (PGPASSFILE) is exit 2" env PGPASSFILE=pgpass.bad \
	"$HALLMARK" verify tar:root.tar --manifest m5 $V --db "$SECURE" --host p
expect_grep "cannot connect to history database '$SECURE': .*password authentication failed" err.txt \
	"the message says the password was refused"
expect_exit 0 "the right password from PGPASSFILE (scram-sha-256 on TCP) records" env PGPASSFILE=pgpass.good \
	"$HALLMARK" verify tar:root.tar --manifest m5 $V --db "$SECURE" --host p
expect_exit 2 "a password in the URI is refused" \
	"$HALLMARK" verify tar:root.tar --manifest m5 $V \
	--db "postgresql://secure:right-password@127.0.0.1:$PG_PORT/secure" --host p
expect_grep "carries a password: refusing it" err.txt "the refusal says why"
if grep -q right-password err.txt; then fail "the password is echoed"; else ok "the password is not echoed"; fi
got=$(PGPASSFILE=pgpass.good pg_psql pgadmin secure "SELECT count(*) FROM runs")
[ "$got" = 1 ] && ok "only the authenticated run was recorded" || fail "runs in secure: $got"

# --- a database of another role; a newer schema --------------------------------
expect_exit 2 "an empty database owned by another role is refused" \
	"$HALLMARK" verify tar:root.tar --manifest m5 $V --db "$(uri foreign_db)" --host o
expect_grep "owned by role 'other', not 'hallmark': refusing" err.txt "the refusal names both roles"
got=$(pg_psql pgadmin foreign_db "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
[ "$got" = 0 ] && ok "nothing was created there" || fail "tables in foreign_db: $got"
pg_psql hallmark seq "UPDATE hallmark_schema SET version = 2"
expect_exit 2 "a newer schema is refused by verify" \
	"$HALLMARK" verify tar:root.tar --manifest m5 $V --db "$(uri seq)" --host c
expect_grep "has history schema 2, newer than this hallmark \(1\)" err.txt "the message names both versions"
expect_exit 2 "and by history" "$HALLMARK" history --db "$(uri seq)"
got=$(pg_psql hallmark seq "SELECT count(*) FROM runs")
[ "$got" = 1 ] && ok "the newer database was left as it was" || fail "runs in seq: $got"
pg_psql hallmark seq "DROP TABLE hallmark_schema"
expect_exit 2 "our tables without the version table are refused" \
	"$HALLMARK" verify tar:root.tar --manifest m5 $V --db "$(uri seq)" --host c
expect_grep "not a hallmark history database" err.txt "as a foreign database"
expect_exit 2 "an empty database is no history for 'history'" "$HALLMARK" history --db "$(uri fleet)"
expect_grep "no history at .*the database is empty" err.txt "history says the database is empty"
got=$(pg_psql hallmark fleet "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
[ "$got" = 0 ] && ok "history created nothing" || fail "tables in fleet: $got"

# --- the same runs, the same history on SQLite and PostgreSQL ----------------
pg_fresh same
for step in 1 2 3; do
	case $step in 2) printf 'changed\n' > root/etc/a; rm root/etc/b; printf 'x\n' > root/etc/new ;;
	              3) printf 'b\n' > root/etc/b ;; esac
	tar -C root -cf step.tar .
	for h in web1 web2; do
		for db in "$(uri same)" same.db; do
			"$HALLMARK" verify tar:step.tar --manifest m5 $V --db "$db" --host $h >/dev/null 2>&1
		done
	done
done
same_out() {   # DESCRIPTION ARGS...
	what=$1; shift
	"$HALLMARK" history --db same.db "$@" 2>&1 | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z/TIME/g; s/"database": "[^"]*"/"database": DB/' > sq.out
	"$HALLMARK" history --db "$(uri same)" "$@" 2>&1 | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z/TIME/g; s/"database": "[^"]*"/"database": DB/' > pg.out
	if cmp -s sq.out pg.out && [ -s sq.out ]; then ok "$what"; else
		fail "$what"; diff sq.out pg.out | sed 's/^/#   /' | head -n 20; fi
}
same_out "history: the same text on SQLite and PostgreSQL"
same_out "history --format json: the same" --format json
same_out "history --diff: the same" --diff
same_out "history --diff --format json: the same" --diff --format json
same_out "history --host web2 --limit 1: the same" --host web2 --limit 1
done_testing
