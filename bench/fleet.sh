#!/bin/sh
# The fleet at scale (issue 16, item 7): HOSTS simulated hosts of ENTRIES
# entries each, one in DRIFT_EVERY with FINDINGS findings (1 % of hosts,
# 1 % of their entries), recorded into PostgreSQL and into SQLite by JOBS
# writers at once; then the fleet view, the per-path and the per-manifest
# queries of `hallmark history` at that size.
#
# Real: the database, every transaction of a run (open, serial claim,
# record, close), the queries, the `hallmark history` processes timed.
# Simulated: the comparison (bench/fleet_record.c makes each report up
# instead of reading 20k files: 10,000 real verifies would take hours).
#
#   sh bench/fleet.sh            HOSTS=1000 sh bench/fleet.sh (quicker)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
HOSTS=${HOSTS:-10000}
ENTRIES=${ENTRIES:-20000}
DRIFT_EVERY=${DRIFT_EVERY:-100}
FINDINGS=${FINDINGS:-200}
JOBS=${JOBS:-4}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
W=$(mktemp -d /tmp/hm-fleet-XXXXXX)
PORT=$((40000 + $$ % 20000))

as_pg() { if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; else "$@"; fi; }
cleanup() {
	[ -f "$W/pg/data/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$W/pg/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

cd "$TOP"
make -s -j2 O="$O" >/dev/null
mkdir -p "$O/bench"
# shellcheck disable=SC2046
cc -std=c17 -O2 -D_GNU_SOURCE -Iinclude -o "$O/bench/fleet_record" bench/fleet_record.c \
	"$O/libhallmark.a" $(pkg-config --libs libarchive libcrypto yaml-0.1 jansson sqlite3 libxcrypt libpq) -pthread
REC=$TOP/$O/bench/fleet_record
HM=$TOP/bin/hallmark
[ "$O" = build ] || HM=$TOP/$O/bin/hallmark

# A cluster of our own, with its defaults (fsync on, synchronous_commit on).
mkdir -p "$W/pg"
if [ "$(id -u)" -eq 0 ]; then chmod 711 "$W"; chown nobody:nogroup "$W/pg"; fi
as_pg "$PG_BIN/initdb" -D "$W/pg/data" -U pgadmin -A trust >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$W/pg/data" -l "$W/pg/log" -w \
	-o "-k $W/pg -p $PORT -c listen_addresses=''" start >/dev/null
psql() { "$PG_BIN/psql" -X -q -At -h "$W/pg" -p "$PORT" -U pgadmin -d "$1" -c "$2"; }
psql postgres "CREATE ROLE hallmark LOGIN"
psql postgres "CREATE DATABASE fleet OWNER hallmark"
PGURI="postgresql://hallmark@/fleet?host=$W/pg&port=$PORT"
SQ=$W/fleet.db

now() { date +%s.%N; }
record() {   # DB: HOSTS runs by JOBS writers; prints runs/s
	per=$(( (HOSTS + JOBS - 1) / JOBS )) first=0 pids=""
	t0=$(now)
	while [ $first -lt "$HOSTS" ]; do
		n=$per; [ $((first + n)) -gt "$HOSTS" ] && n=$((HOSTS - first))
		"$REC" "$1" $first $n "$ENTRIES" "$DRIFT_EVERY" "$FINDINGS" & pids="$pids $!"
		first=$((first + n))
	done
	for p in $pids; do wait "$p"; done
	t1=$(now)
	echo "$t0 $t1" | awk -v n="$HOSTS" '{ printf "%.0f runs/s (%.1f s)", n / ($2 - $1), $2 - $1 }'
}
median_ms() {   # CMD...: median wall time of 5 runs, in ms
	for i in 1 2 3 4 5 6; do
		t0=$(now); "$@" >/dev/null 2>&1 || [ $? -eq 1 ]; t1=$(now)
		[ $i -gt 1 ] && echo "$t0 $t1" | awk '{ printf "%.1f\n", ($2 - $1) * 1000 }'
	done | sort -n | sed -n 3p
}
path=/usr/lib/x86_64-linux-gnu/lib-00097.so

echo "fleet: $HOSTS hosts x $ENTRIES entries, 1 in $DRIFT_EVERY drifted with $FINDINGS findings, $JOBS writers"
echo "machine: $(nproc) CPUs, $(uname -r)"
for db in postgresql sqlite; do
	if [ $db = postgresql ]; then D=$PGURI; else D=$SQ; fi
	rate=$(record "$D")
	if [ $db = postgresql ]; then
		size=$(psql fleet "SELECT pg_database_size('fleet')")
		runs=$(psql fleet "SELECT count(*) FROM runs")
		finds=$(psql fleet "SELECT count(*) FROM findings")
	else
		python3 -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA wal_checkpoint(TRUNCATE)')" "$SQ"
		size=$(stat -c %s "$SQ")
		runs=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM runs').fetchone()[0])" "$SQ")
		finds=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM findings').fetchone()[0])" "$SQ")
	fi
	[ "$runs" -eq "$HOSTS" ] || { echo "$db: $runs runs recorded, expected $HOSTS" >&2; exit 1; }
	fleet=$(median_ms "$HM" history --db "$D" --fleet --stale-after 26h)
	pathq=$(median_ms "$HM" history --db "$D" --path "$path")
	mani=$(median_ms "$HM" history --db "$D" --manifests)
	printf '%-10s recorded %s; %s runs, %s findings; %s bytes, %s bytes/run\n' \
		$db "$rate" "$runs" "$finds" "$size" $((size / runs))
	printf '%-10s history --fleet %s ms, --path %s ms, --manifests %s ms (median of 5)\n' \
		$db "$fleet" "$pathq" "$mani"
done
"$HM" history --db "$SQ" --fleet | tail -n 1
