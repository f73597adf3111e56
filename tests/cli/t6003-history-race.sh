#!/bin/sh
# Many processes use a new history database at once: each round starts 50
# `verify --db` and a few `history` on a file that does not exist yet.
# Every verify must succeed and be recorded, and history may only say
# that there is no history yet (the file is missing, empty or has no
# tables), never that the database is foreign or locked.  Before the fix
# the schema check read user_version and the tables in two transactions,
# so 1-2 % of the openers saw the tables of a concurrent creator with
# user_version 0 and refused "a foreign database".
. "$(dirname "$0")/lib.sh"

ROUNDS=${HM_RACE_ROUNDS:-8}
N=${HM_RACE_PROCS:-50}

mkdir -p root/etc
printf 'a\n' > root/etc/a
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:root --name t6003 --serial 1 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1

bad=0 total=0 hbad=0 lost=0
round=1
while [ $round -le $ROUNDS ]; do
	rm -f new.db new.db-wal new.db-shm
	pids=""
	i=1
	while [ $i -le $N ]; do
		"$HALLMARK" verify dir:root --manifest m --pubkey ops.pub \
			--db new.db --host "h$i" >/dev/null 2>"v$i.err" &
		pids="$pids $!"
		if [ $((i % 8)) -eq 0 ]; then
			"$HALLMARK" history --db new.db >/dev/null 2>"h$i.err" &
			echo $! > "h$i.pid"
		fi
		i=$((i + 1))
	done
	for p in $pids; do
		wait "$p" || bad=$((bad + 1))
		total=$((total + 1))
	done
	for f in h*.pid; do
		p=$(cat "$f")
		if ! wait "$p"; then
			e=${f%.pid}.err
			grep -q "no history at 'new.db'" "$e" || {
				hbad=$((hbad + 1)); sed 's/^/#   history: /' "$e"; }
		fi
	done
	cat v*.err | sed 's/^/#   verify: /' | sort | uniq -c
	n=$(python3 -c "import sqlite3; print(sqlite3.connect('new.db').execute('select count(*) from runs').fetchone()[0])")
	[ "$n" = $N ] || { echo "# round $round: $n runs recorded"; lost=$((lost + N - n)); }
	rm -f v*.err h*.err h*.pid
	round=$((round + 1))
done
echo "# $bad of $total verify runs failed"
[ $bad -eq 0 ] && ok "$total verify runs on $ROUNDS new databases all succeed" ||
	fail "$bad of $total verify runs on new databases failed"
[ $lost -eq 0 ] && ok "and every one of them is recorded" ||
	fail "$lost runs are not recorded"
[ $hbad -eq 0 ] && ok "history beside them finds a complete database or none" ||
	fail "history beside them: $hbad wrong errors"
python3 -c "import sqlite3; c = sqlite3.connect('new.db'); print(c.execute('pragma integrity_check').fetchone()[0], c.execute('pragma journal_mode').fetchone()[0])" > ic.txt
expect_grep '^ok wal$' ic.txt "the last one is intact and in WAL mode"

done_testing
