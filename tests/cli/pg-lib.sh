# A private PostgreSQL cluster for the history tests (sourced after
# lib.sh): initdb in the test's folder, a Unix socket there, a TCP
# listener on loopback for the password cases, stopped by the EXIT trap.
# The server runs as the invoking user, or as 'nobody' when that is root
# (postgres refuses to run as root).  Roles: 'pgadmin' (superuser),
# 'hallmark' owning database 'fleet', 'other' owning database 'foreign'.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=$T_DIR/pg
PG_PORT=$((20000 + $$ % 20000))

pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
	else
		"$@"
	fi
}

pg_stop() {
	[ -f "$PG_DIR/data/postmaster.pid" ] &&
		pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
	return 0
}

pg_start_server() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
		-o "-k $PG_DIR -p $PG_PORT -c listen_addresses=127.0.0.1" start >/dev/null
}

pg_psql() {   # pg_psql USER DB SQL
	PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" \
		-U "$1" -d "$2" -c "$3"
}

# pg_setup: start the cluster, or skip the whole test when PostgreSQL is
# missing (.ci/install-deps installs it).
pg_setup() {
	if [ ! -x "$PG_BIN/initdb" ]; then
		skip "PostgreSQL 15 is not installed in $PG_BIN"
		done_testing
		exit 0
	fi
	trap 'pg_stop; chmod -R u+rwx "$T_DIR" 2>/dev/null; rm -rf "$T_DIR"' EXIT
	mkdir -p "$PG_DIR"
	if [ "$(id -u)" -eq 0 ]; then
		chmod 711 "$T_DIR"
		chown nobody:nogroup "$PG_DIR"
	fi
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U pgadmin -A trust \
		--no-sync >"$PG_DIR/initdb.log" 2>&1 || {
		echo "# initdb failed"; sed 's/^/#   /' "$PG_DIR/initdb.log"; exit 2; }
	cat >"$PG_DIR/data/pg_hba.conf" <<HBA
local all all trust
host all secure 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
HBA
	printf "fsync = off\nmax_connections = 120\n" >>"$PG_DIR/data/postgresql.conf"
	pg_start_server || { echo "# postgres did not start"; cat "$PG_DIR/log"; exit 2; }
	pg_psql pgadmin postgres "CREATE ROLE hallmark LOGIN" &&
	pg_psql pgadmin postgres "CREATE ROLE other LOGIN" &&
	pg_psql pgadmin postgres "CREATE ROLE secure LOGIN PASSWORD 'right-password'" &&
	pg_psql pgadmin postgres "CREATE DATABASE fleet OWNER hallmark" &&
	pg_psql pgadmin postgres "CREATE DATABASE foreign_db OWNER other" &&
	pg_psql pgadmin postgres "CREATE DATABASE secure OWNER secure" || exit 2
	PG_URI="postgresql://hallmark@/fleet?host=$PG_DIR&port=$PG_PORT"
}

# pg_fresh DB: drop and recreate a database owned by hallmark.
pg_fresh() {
	pg_psql pgadmin postgres "DROP DATABASE IF EXISTS $1" &&
	pg_psql pgadmin postgres "CREATE DATABASE $1 OWNER hallmark"
}
