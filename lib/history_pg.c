/*
 * Drift history in PostgreSQL (docs/history.md), the backend of
 * lib/history.c for a --db "postgresql://" or "postgres://" URI.  This is
 * the only file that calls libpq.
 *
 * The schema is that of SQLite with PostgreSQL types (bigint identities,
 * bytea paths, text COLLATE "C" so that every ORDER BY is bytewise) and a
 * version table, hallmark_schema, instead of PRAGMA user_version.  A newer
 * version is refused; an empty database gets the schema through the
 * migrations below, in one transaction under an advisory lock, so a fleet
 * of hosts opening a new database at once creates it exactly once.
 *
 * Rollback protection under races: the serials row of (name, key) is
 * checked and raised by one upsert whose update has a check
 * (SQL_RAISE_SERIAL); in a run's transaction its row lock is held to the
 * end, so a second run of the same (name, key) waits for the
 * first to commit and then sees its serial.  Every statement is PQexecParams or a
 * prepared statement: no value is ever spliced into SQL.
 *
 * Credentials are libpq's: ~/.pgpass, PGPASSFILE, a service file.  A URI
 * that carries a password is refused (it would be on a command line,
 * visible in ps and shell history).  TLS is libpq's too (sslmode, ...).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/history.h"
#include "history_private.h"

#ifndef HM_VERSION
#define HM_VERSION "unknown"
#endif


struct pg {
	PGconn *conn;
	const char *path;       /* the URI (without a password), for messages */
	bool readonly;
};

/*
 * Explicit migrations: migrations[v] takes a database from version v to
 * v + 1.  Version 0 is an empty database.  A later schema appends a step
 * here; a database is never downgraded.
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE hallmark_schema (version integer NOT NULL);"
	"INSERT INTO hallmark_schema (version) VALUES (0);"
	"CREATE TABLE runs ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" host text COLLATE \"C\" NOT NULL,"
	" target text COLLATE \"C\" NOT NULL,"
	" manifest_name text COLLATE \"C\" NOT NULL,"
	" serial bigint NOT NULL,"
	" manifest_sha256 text COLLATE \"C\" NOT NULL,"
	" key_id text COLLATE \"C\" NOT NULL,"
	" policy text COLLATE \"C\","
	" started text COLLATE \"C\" NOT NULL,"
	" finished text COLLATE \"C\" NOT NULL,"
	" result text COLLATE \"C\" NOT NULL CHECK (result IN ('pass', 'drift')),"
	" exit_code integer NOT NULL,"
	" entries bigint NOT NULL,"
	" target_entries bigint NOT NULL,"
	" findings bigint NOT NULL,"
	" tool_version text COLLATE \"C\" NOT NULL);"
	"CREATE INDEX runs_host_id ON runs (host, id);"
	"CREATE TABLE run_counts ("
	" run_id bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
	" kind text COLLATE \"C\" NOT NULL,"
	" count bigint NOT NULL CHECK (count > 0),"
	" PRIMARY KEY (run_id, kind));"
	"CREATE TABLE findings ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" run_id bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
	" kind text COLLATE \"C\" NOT NULL,"
	" path bytea NOT NULL,"
	" expected text, actual text, detail text);"
	"CREATE INDEX findings_run ON findings (run_id, id);"
	"CREATE TABLE serials ("
	" manifest_name text COLLATE \"C\" NOT NULL,"
	" key_id text COLLATE \"C\" NOT NULL,"
	" max_serial bigint NOT NULL,"
	" PRIMARY KEY (manifest_name, key_id));",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The first line of libpq's message (it adds hints on further lines). */
static void first_line(const char *msg, char *out, size_t size)
{
	size_t n = strcspn(msg ? msg : "", "\n");

	if (n >= size)
		n = size - 1;
	memcpy(out, msg ? msg : "", n);
	out[n] = '\0';
	if (!out[0])
		snprintf(out, size, "unknown error");
}

/* An error about the database: res may be NULL (connection trouble). */
static int pg_error(const struct pg *h, const PGresult *res, const char *what,
		    struct hm_error *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char line[512];

	if (!msg)
		msg = PQerrorMessage(h->conn);
	first_line(msg, line, sizeof(line));
	/* 55P03 lock_not_available: lock_timeout expired. */
	if (state && strcmp(state, "55P03") == 0)
		return hm_error_set(err, HM_ERR_IO, 0,
				    "history database '%s' is locked by another process",
				    h->path);
	if (PQstatus(h->conn) == CONNECTION_BAD)
		return hm_error_set(err, HM_ERR_IO, 0,
				    "history database '%s': %s: connection lost: %s",
				    h->path, what, line);
	return hm_error_set(err, HM_ERR_IO, 0, "history database '%s': %s: %s",
			    h->path, what, line);
}

/* Run a statement; *ret (may be NULL) gets the result on success. */
static int run(struct pg *h, const char *sql, int n, const char *const *vals,
	       const int *lens, const int *fmts, const char *what,
	       PGresult **ret, struct hm_error *err)
{
	PGresult *res = PQexecParams(h->conn, sql, n, NULL, vals, lens, fmts, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	int r = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		r = pg_error(h, res, what, err);
	if (r == 0 && ret)
		*ret = res;
	else
		PQclear(res);
	return r;
}

static int simple(struct pg *h, const char *sql, const char *what,
		  struct hm_error *err)
{
	return run(h, sql, 0, NULL, NULL, NULL, what, NULL, err);
}

/* A script of several statements without parameters (the migrations):
 * the simple query protocol, constant text only. */
static int script(struct pg *h, const char *sql, const char *what,
		  struct hm_error *err)
{
	PGresult *res = PQexec(h->conn, sql);
	int r = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		r = pg_error(h, res, what, err);
	PQclear(res);
	return r;
}

static void pg_rollback(struct pg *h)
{
	if (PQstatus(h->conn) == CONNECTION_OK &&
	    PQtransactionStatus(h->conn) != PQTRANS_IDLE)
		PQclear(PQexec(h->conn, "ROLLBACK"));
}

/* The library never prints: notices from the server are dropped. */
static void no_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static int refuse_password(struct pg *h, struct hm_error *err)
{
	PQconninfoOption *opts, *o;
	char *perr = NULL;
	int r = 0;

	opts = PQconninfoParse(h->path, &perr);
	if (!opts) {
		char line[512];

		first_line(perr, line, sizeof(line));
		PQfreemem(perr);
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "invalid history database URI: %s", line);
	}
	for (o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && o->val[0])
			r = hm_error_set(err, HM_ERR_USAGE, 0,
					 "the history database URI carries a password: refusing it (a command line is visible to every user); put it in ~/.pgpass, PGPASSFILE or a service file");
	PQconninfoFree(opts);
	return r;
}

static int timeout_setting(char *out, size_t size, struct hm_error *err)
{
	const char *s = getenv(HM_HISTORY_TIMEOUT_ENV);
	char *end;
	long v = HM_HISTORY_TIMEOUT_MS;

	if (s) {
		errno = 0;
		v = strtol(s, &end, 10);
		if (*s < '0' || *s > '9' || *end || errno || v > 3600000L)
			return hm_error_set(err, HM_ERR_USAGE, 0,
					    "%s must be a number of milliseconds from 0 to 3600000, not '%s'",
					    HM_HISTORY_TIMEOUT_ENV, s);
	}
	/* lock_timeout 0 would mean "wait forever": 1 ms is "do not wait". */
	snprintf(out, size, "%ld", v ? v : 1);
	return 0;
}

/* The version in hallmark_schema, 0 for a database without our tables. */
static int read_version(struct pg *h, const char *lock_timeout, int *ret,
			struct hm_error *err)
{
	const char *v[1] = { lock_timeout };
	PGresult *res = NULL;
	int64_t ours;
	int r;

	/* lock_timeout set in the same round trip: every run opens. */
	if ((r = run(h, "SELECT to_regclass('hallmark_schema') IS NOT NULL,"
		     " (SELECT count(*) FROM pg_catalog.pg_tables WHERE"
		     " schemaname = current_schema() AND tablename IN"
		     " ('runs', 'run_counts', 'findings', 'serials')),"
		     " set_config('lock_timeout', $1, false)",
		     1, v, NULL, NULL, "cannot read it", &res, err)) < 0)
		return r;
	ours = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	if (PQgetvalue(res, 0, 0)[0] != 't') {
		PQclear(res);
		*ret = 0;
		if (ours)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "'%s' is not a hallmark history database (it holds other tables): refusing to touch it",
					    h->path);
		return 0;
	}
	PQclear(res);
	if ((r = run(h, "SELECT max(version), count(*) FROM hallmark_schema", 0,
		     NULL, NULL, NULL, "cannot read it", &res, err)) < 0)
		return r;
	*ret = atoi(PQgetvalue(res, 0, 0));
	if (strcmp(PQgetvalue(res, 0, 1), "1") != 0)
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "'%s': its table hallmark_schema must hold one row: refusing to touch it",
				 h->path);
	PQclear(res);
	return r;
}

/* One catalog query for the four tables (information_schema is slow,
 * and every run of every host opens the database). */
static int check_tables(struct pg *h, struct hm_error *err)
{
	PGresult *res = NULL;
	size_t i;
	int r, row, n;

	if ((r = run(h, "SELECT c.relname::text, string_agg(a.attname::text, ','"
		     " ORDER BY a.attnum) FROM pg_catalog.pg_attribute a"
		     " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
		     " WHERE c.relnamespace = current_schema()::regnamespace"
		     " AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
		     " AND c.relname IN ('runs', 'run_counts', 'findings', 'serials')"
		     " GROUP BY c.relname", 0, NULL, NULL, NULL,
		     "cannot read its schema", &res, err)) < 0)
		return r;
	n = PQntuples(res);
	for (i = 0; i < HM_HISTORY_N_TABLES && r == 0; i++) {
		for (row = 0; row < n; row++)
			if (strcmp(PQgetvalue(res, row, 0), hm_history_tables[i].table) == 0)
				break;
		if (row == n || strcmp(PQgetvalue(res, row, 1), hm_history_tables[i].columns) != 0)
			r = hm_error_set(err, HM_ERR_INPUT, 0,
					 "'%s' is not a hallmark history database (table '%s' does not match schema %d): refusing to touch it",
					 h->path, hm_history_tables[i].table, HM_HISTORY_SCHEMA);
	}
	PQclear(res);
	return r;
}

/* An empty database may be given the schema only by its owner: anyone
 * else gets a clear refusal rather than half a schema or a grant error. */
static int check_owner(struct pg *h, struct hm_error *err)
{
	PGresult *res = NULL;
	int r;

	if ((r = run(h, "SELECT pg_catalog.pg_get_userbyid(datdba) = current_user,"
		     " pg_catalog.pg_get_userbyid(datdba), current_user,"
		     " current_database() FROM pg_catalog.pg_database"
		     " WHERE datname = current_database()", 0, NULL, NULL, NULL,
		     "cannot read it", &res, err)) < 0)
		return r;
	if (PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] != 't')
		r = hm_error_set(err, HM_ERR_IO, 0,
				 "history database '%s': database '%s' has no hallmark schema and is owned by role '%s', not '%s': refusing to create one there (create it as its owner, or give this role its own database)",
				 h->path, PQntuples(res) ? PQgetvalue(res, 0, 3) : "?",
				 PQntuples(res) ? PQgetvalue(res, 0, 1) : "?",
				 PQntuples(res) ? PQgetvalue(res, 0, 2) : "?");
	PQclear(res);
	return r;
}

static int migrate(struct pg *h, int from, struct hm_error *err)
{
	char ver[16];
	const char *v[1] = { ver };
	int i, r;

	for (i = from; i < N_MIGRATIONS; i++) {
		if ((r = script(h, migrations[i], "cannot create the schema", err)) < 0)
			return r;
		snprintf(ver, sizeof(ver), "%d", i + 1);
		if ((r = run(h, "UPDATE hallmark_schema SET version = $1", 1, v,
			     NULL, NULL, "cannot create the schema", NULL, err)) < 0)
			return r;
	}
	return 0;
}

/*
 * Check the schema, creating or migrating it for a writer, in the current
 * transaction.  A newer version is refused and nothing is written.
 */
static int check_schema(struct pg *h, const char *lock_timeout,
			struct hm_error *err)
{
	int version, r;

	if ((r = read_version(h, lock_timeout, &version, err)) < 0)
		return r;
	if (version > HM_HISTORY_SCHEMA)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' has history schema %d, newer than this hallmark (%d): refusing to touch it",
				    h->path, version, HM_HISTORY_SCHEMA);
	if (version == 0 && h->readonly)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "no history at '%s': the database is empty", h->path);
	if (version < HM_HISTORY_SCHEMA) {
		if (version == 0 && (r = check_owner(h, err)) < 0)
			return r;
		if ((r = migrate(h, version, err)) < 0)
			return r;
	}
	return check_tables(h, err);
}

static void pg_close(void *be)
{
	struct pg *h = be;

	if (!h)
		return;
	PQfinish(h->conn);
	free(h);
}

static int pg_open(struct hm_history *hh, unsigned flags, struct hm_error *err)
{
	static const char *const keys[] = { "dbname", "fallback_application_name", NULL };
	const char *vals[] = { hh->path, "hallmark", NULL };
	char tmo[32], line[512];
	struct pg *h;
	int version, r;

	if (!(h = calloc(1, sizeof(*h))))
		return hm_error_nomem(err);
	hh->be = h;
	h->path = hh->path;
	h->readonly = flags & HM_HISTORY_READONLY;
	if ((r = refuse_password(h, err)) < 0 ||
	    (r = timeout_setting(tmo, sizeof(tmo), err)) < 0)
		return r;
	/* expand_dbname: the URI is parsed by libpq, with its TLS settings. */
	h->conn = PQconnectdbParams(keys, vals, 1);
	if (!h->conn)
		return hm_error_nomem(err);
	if (PQstatus(h->conn) != CONNECTION_OK) {
		first_line(PQerrorMessage(h->conn), line, sizeof(line));
		return hm_error_set(err, HM_ERR_IO, 0,
				    "cannot connect to history database '%s': %s",
				    h->path, line);
	}
	PQsetNoticeProcessor(h->conn, no_notice, NULL);
	if (h->readonly) {
		/* One snapshot for every read of this handle, never a write. */
		if ((r = simple(h, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
				"cannot read it", err)) < 0)
			return r;
		return check_schema(h, tmo, err);
	}
	/* The usual case, a current schema, needs no lock: it is only
	 * read.  Otherwise the check is made again under the lock.  A
	 * writer trusts the version row of a current schema and leaves the
	 * column check to history (each run of each host opens the database,
	 * and the catalog query costs a new backend more than the run); a
	 * table that does not match then fails the run's INSERT, all or
	 * nothing, with the server's message. */
	if ((r = read_version(h, tmo, &version, err)) < 0)
		return r;
	if (version == HM_HISTORY_SCHEMA)
		return 0;
	if ((r = simple(h, "BEGIN", "cannot read it", err)) < 0)
		return r;
	if ((r = simple(h, "SELECT pg_advisory_xact_lock(x'68616c6c'::int, x'6d61726b'::int)",
			"cannot lock it", err)) < 0 ||
	    (r = check_schema(h, tmo, err)) < 0 ||
	    (r = simple(h, "COMMIT", "cannot create the schema", err)) < 0) {
		pg_rollback(h);
		return r;
	}
	return 0;
}

static int pg_check_snapshot(void *be, struct hm_error *err)
{
	(void)be;
	(void)err;
	return 0;
}

static int get_serial(struct pg *h, const char *name, const char *key_id,
		      uint64_t *ret, bool *found, struct hm_error *err)
{
	const char *v[2] = { name, key_id };
	PGresult *res = NULL;
	int r;

	*ret = 0;
	*found = false;
	if ((r = run(h, "SELECT max_serial FROM serials WHERE"
		     " manifest_name = $1 AND key_id = $2",
		     2, v, NULL, NULL, "cannot read the serials", &res, err)) < 0)
		return r;
	if (PQntuples(res) == 1) {
		long long s = strtoll(PQgetvalue(res, 0, 0), NULL, 10);

		*ret = s < 0 ? 0 : (uint64_t)s;
		*found = true;
	}
	PQclear(res);
	return 0;
}

static int pg_max_serial(void *be, const char *name, const char *key_id,
			 uint64_t *ret, bool *found, struct hm_error *err)
{
	return get_serial(be, name, key_id, ret, found, err);
}

/*
 * The (name, key) serial raised to serial, or refused if it is higher,
 * in one statement: an upsert whose update has a check.  ON CONFLICT
 * locks the row and evaluates the WHERE on its latest committed version
 * (a concurrent raise is waited for, then seen), so the check and the
 * raise are atomic under races from any number of hosts.  No row back:
 * the recorded serial is higher; it is then read for the message.  In a
 * transaction, the row lock is held to its end.
 */
#define SQL_RAISE_SERIAL \
	"INSERT INTO serials (manifest_name, key_id, max_serial)" \
	" VALUES ($1, $2, $3) ON CONFLICT (manifest_name, key_id)" \
	" DO UPDATE SET max_serial = excluded.max_serial" \
	" WHERE serials.max_serial <= excluded.max_serial RETURNING max_serial"

static int lock_check_raise(struct pg *h, const char *name, const char *key_id,
			    uint64_t serial, struct hm_error *err)
{
	char sv[32];
	const char *v[3] = { name, key_id, sv };
	PGresult *res = NULL;
	uint64_t max;
	bool found;
	int r, n;

	snprintf(sv, sizeof(sv), "%" PRIu64, serial);
	if ((r = run(h, SQL_RAISE_SERIAL, 3, v, NULL, NULL,
		     "cannot record the serial", &res, err)) < 0)
		return r;
	n = PQntuples(res);
	PQclear(res);
	if (n == 1)
		return 0;
	if ((r = get_serial(h, name, key_id, &max, &found, err)) < 0)
		return r;
	return hm_history_rollback_error(name, serial, max, key_id, err);
}

/* One statement, so one transaction of its own (autocommit). */
static int pg_claim_serial(void *be, const char *name, const char *key_id,
			   uint64_t serial, struct hm_error *err)
{
	return lock_check_raise(be, name, key_id, serial, err);
}

/*
 * Pipeline mode (libpq 14+): a run is recorded in two round trips, not
 * one per statement.  pipe_sync ends a batch and reads every result of
 * it: the first error is returned (later statements of the batch are
 * then aborted by the server); *ret_rows and *ret_id (may be NULL) get
 * the row count and first value of the batch's first result with rows.
 */
static int pipe_sync(struct pg *h, const char *what, int *ret_rows,
		     int64_t *ret_id, struct hm_error *err)
{
	bool seen_rows = false;
	int r = 0, nulls = 0;
	PGresult *res;

	if (!PQpipelineSync(h->conn))
		return pg_error(h, NULL, what, err);
	for (;;) {
		if (!(res = PQgetResult(h->conn))) {
			/* One NULL ends each statement; two in a row, a lost
			 * connection: there is nothing more to read. */
			if (++nulls > 1)
				return r ? r : pg_error(h, NULL, what, err);
			continue;
		}
		nulls = 0;
		switch (PQresultStatus(res)) {
		case PGRES_PIPELINE_SYNC:
			PQclear(res);
			return r;
		case PGRES_TUPLES_OK:
			if (!seen_rows) {
				seen_rows = true;
				if (ret_rows)
					*ret_rows = PQntuples(res);
				if (ret_id && PQntuples(res) == 1)
					*ret_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			}
			break;
		case PGRES_COMMAND_OK:
		case PGRES_PIPELINE_ABORTED:
			break;
		default:
			if (r == 0)
				r = pg_error(h, res, what, err);
			break;
		}
		PQclear(res);
	}
}

static int pipe_send(struct pg *h, const char *sql, int n,
		     const char *const *vals, const int *lens, const int *fmts,
		     const char *what, struct hm_error *err)
{
	if (!PQsendQueryParams(h->conn, sql, n, NULL, vals, lens, fmts, 0))
		return pg_error(h, NULL, what, err);
	return 0;
}

static int64_t clamp64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int send_run(struct pg *h, const struct hm_report *rep,
		    struct hm_error *err)
{
	const struct hm_compare_stats *s = rep->stats;
	char started[32], finished[32], serial[32], code[16], ent[32], tent[32],
	     fnd[32];
	const char *v[15];

	hm_history_format_time(rep->started, started);
	hm_history_format_time(rep->finished, finished);
	snprintf(serial, sizeof(serial), "%" PRIu64, (uint64_t)rep->serial);
	snprintf(code, sizeof(code), "%d", rep->exit_code);
	snprintf(ent, sizeof(ent), "%" PRId64, clamp64(s->expected));
	snprintf(tent, sizeof(tent), "%" PRId64, clamp64(s->actual));
	snprintf(fnd, sizeof(fnd), "%" PRId64, clamp64(s->total_findings));
	v[0] = rep->host ? rep->host : "";
	v[1] = rep->target;
	v[2] = rep->manifest_name;
	v[3] = serial;
	v[4] = rep->manifest_sha256;
	v[5] = rep->key_id;
	v[6] = rep->policy_path;
	v[7] = started;
	v[8] = finished;
	v[9] = rep->exit_code ? "drift" : "pass";
	v[10] = code;
	v[11] = ent;
	v[12] = tent;
	v[13] = fnd;
	v[14] = rep->tool_version ? rep->tool_version : HM_VERSION;
	return pipe_send(h, "INSERT INTO runs (host, target, manifest_name, serial,"
			 " manifest_sha256, key_id, policy, started, finished, result,"
			 " exit_code, entries, target_entries, findings, tool_version)"
			 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
			 " $13, $14, $15) RETURNING id", 15, v, NULL, NULL,
			 "cannot record the run", err);
}

/* The run's id, in the same batch: the session's value of its sequence. */
#define RUN_ID "currval(pg_get_serial_sequence('runs', 'id'))"

static int send_counts(struct pg *h, const struct hm_compare_stats *s,
		       struct hm_error *err)
{
	char n[32];
	const char *v[2] = { NULL, n };
	int k, r = 0;

	for (k = 0; k < HM_FINDING__COUNT && r == 0; k++) {
		if (!s->findings[k])
			continue;
		v[0] = hm_finding_kind_name((enum hm_finding_kind)k);
		snprintf(n, sizeof(n), "%" PRId64, clamp64(s->findings[k]));
		r = pipe_send(h, "INSERT INTO run_counts (run_id, kind, count)"
			      " VALUES (" RUN_ID ", $1, $2)", 2, v, NULL, NULL,
			      "cannot record the counts", err);
	}
	return r;
}

/* Findings are sent in batches: libpq and the server buffer a batch's
 * statements and results, so memory stays bounded for millions. */
#define FINDING_BATCH 256

struct insert {
	struct pg *h;
	size_t pending;
};

static int send_finding(void *ctx, const struct hm_finding *f,
			struct hm_error *err)
{
	struct insert *in = ctx;
	const char *v[5] = { hm_finding_kind_name(f->kind), f->path,
			     f->expected, f->actual, f->detail };
	int lens[5] = { 0, (int)f->path_len, 0, 0, 0 };
	/* The path is bytes: sent binary, never escaped. */
	int fmts[5] = { 0, 1, 0, 0, 0 };
	int r;

	if (f->path_len > INT32_MAX)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "a finding's path is too long for the history");
	if ((r = pipe_send(in->h, "INSERT INTO findings (run_id, kind, path,"
			   " expected, actual, detail) VALUES (" RUN_ID ", $1,"
			   " $2::bytea, $3, $4, $5)", 5, v, lens, fmts,
			   "cannot record the findings", err)) < 0)
		return r;
	if (++in->pending < FINDING_BATCH)
		return 0;
	in->pending = 0;
	return pipe_sync(in->h, "cannot record the findings", NULL, NULL, err);
}

/*
 * Two batches: BEGIN and the serial's upsert with a check (its row lock
 * then held to the end), and, if the serial passed, the run, its counts,
 * its findings and COMMIT.  Any error, and the end of the connection,
 * leave nothing: the transaction is rolled back.
 */
static int pg_record(void *be, const struct hm_report *rep, int64_t *ret_id,
		     struct hm_error *err)
{
	struct pg *h = be;
	struct insert in = { .h = h };
	char sv[32];
	const char *v[3] = { rep->manifest_name, rep->key_id, sv };
	int64_t id = 0;
	uint64_t max;
	bool found;
	int rows = 0, r;

	snprintf(sv, sizeof(sv), "%" PRIu64, (uint64_t)rep->serial);
	if (!PQenterPipelineMode(h->conn))
		return pg_error(h, NULL, "cannot record the run", err);
	if ((r = pipe_send(h, "BEGIN", 0, NULL, NULL, NULL,
			   "cannot record the run", err)) < 0 ||
	    (r = pipe_send(h, SQL_RAISE_SERIAL, 3, v, NULL, NULL,
			   "cannot record the serial", err)) < 0 ||
	    (r = pipe_sync(h, "cannot record the run", &rows, NULL, err)) < 0)
		goto fail;
	if (rows != 1) {
		PQexitPipelineMode(h->conn);
		pg_rollback(h);
		if ((r = get_serial(h, rep->manifest_name, rep->key_id, &max,
				    &found, err)) < 0)
			return r;
		return hm_history_rollback_error(rep->manifest_name, rep->serial,
						 max, rep->key_id, err);
	}
	if ((r = send_run(h, rep, err)) < 0 ||
	    (r = send_counts(h, rep->stats, err)) < 0 ||
	    ((rep->spool || (rep->findings && rep->findings->n)) &&
	     (r = hm_report_each_finding(rep, send_finding, &in, err)) < 0) ||
	    (r = pipe_send(h, "COMMIT", 0, NULL, NULL, NULL,
			   "cannot record the run", err)) < 0 ||
	    (r = pipe_sync(h, "cannot record the run", NULL, &id, err)) < 0)
		goto fail;
	PQexitPipelineMode(h->conn);
	*ret_id = id;
	return 0;
fail:
	/* Read what is left of the batch, so that the mode can end. */
	if (PQstatus(h->conn) == CONNECTION_OK &&
	    PQpipelineStatus(h->conn) != PQ_PIPELINE_OFF) {
		struct hm_error ignored = { 0 };

		pipe_sync(h, "cannot record the run", NULL, NULL, &ignored);
		PQexitPipelineMode(h->conn);
	}
	pg_rollback(h);
	return r;
}

/*
 * Stream the rows of a query one at a time (single-row mode): memory
 * stays flat whatever the number of rows.  row() must not use the
 * connection.
 */
typedef int (*row_fn)(struct pg *h, PGresult *row, void *ctx,
		      struct hm_error *err);

static int stream(struct pg *h, const char *sql, int n, const char *const *vals,
		  const int *lens, const int *fmts, const char *what, row_fn fn,
		  void *ctx, struct hm_error *err)
{
	PGresult *res;
	int r = 0;

	if (!PQsendQueryParams(h->conn, sql, n, NULL, vals, lens, fmts, 0))
		return pg_error(h, NULL, what, err);
	PQsetSingleRowMode(h->conn);
	while ((res = PQgetResult(h->conn))) {
		ExecStatusType st = PQresultStatus(res);

		if (r == 0) {
			if (st == PGRES_SINGLE_TUPLE)
				r = fn(h, res, ctx, err);
			else if (st != PGRES_TUPLES_OK)
				r = pg_error(h, res, what, err);
		}
		PQclear(res);
	}
	return r;
}

static const char *val(PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : PQgetvalue(res, 0, col);
}

static uint64_t val_u64(PGresult *res, int col)
{
	long long v = strtoll(PQgetvalue(res, 0, col), NULL, 10);

	return v < 0 ? 0 : (uint64_t)v;
}

struct run_cb {
	hm_history_run_fn fn;
	void *ctx;
};

/* Columns of HM_HISTORY_SQL_RUN_COLS, then the counts as a JSON object. */
static int run_row(struct pg *h, PGresult *res, void *ctx, struct hm_error *err)
{
	struct run_cb *cb = ctx;
	struct hm_history_run x;
	const char *res_s = val(res, 10);
	json_t *counts = NULL, *v;
	const char *kind;
	int r, k;

	(void)h;
	memset(&x, 0, sizeof(x));
	x.id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	x.host = (char *)val(res, 1);
	x.target = (char *)val(res, 2);
	x.manifest_name = (char *)val(res, 3);
	x.serial = val_u64(res, 4);
	x.manifest_sha256 = (char *)val(res, 5);
	x.key_id = (char *)val(res, 6);
	x.policy = (char *)val(res, 7);
	x.started = (char *)val(res, 8);
	x.finished = (char *)val(res, 9);
	x.drift = res_s && strcmp(res_s, "drift") == 0;
	x.exit_code = atoi(PQgetvalue(res, 0, 11));
	x.entries = val_u64(res, 12);
	x.target_entries = val_u64(res, 13);
	x.findings = val_u64(res, 14);
	x.tool_version = (char *)val(res, 15);
	if (PQnfields(res) > 16 && val(res, 16)) {
		counts = json_loads(val(res, 16), 0, NULL);
		if (!counts)
			return hm_error_nomem(err);
		json_object_foreach(counts, kind, v) {
			k = hm_history_kind_from_name(kind);
			if (k >= 0 && json_integer_value(v) > 0)
				x.counts[k] = (uint64_t)json_integer_value(v);
		}
	}
	r = cb->fn(cb->ctx, &x, err);
	json_decref(counts);
	return r;
}

static int pg_each_run(void *be, const char *host, size_t limit,
		       hm_history_run_fn fn, void *ctx, struct hm_error *err)
{
	struct run_cb cb = { fn, ctx };
	char lim[32];
	const char *v[2] = { host, NULL };

	if (limit && limit <= INT64_MAX) {
		snprintf(lim, sizeof(lim), "%zu", limit);
		v[1] = lim;
	}
	/* LIMIT NULL is no limit. */
	return stream(be, "SELECT " HM_HISTORY_SQL_RUN_COLS ","
		      " (SELECT json_object_agg(c.kind, c.count) FROM run_counts c"
		      " WHERE c.run_id = r.id)"
		      " FROM runs r WHERE $1::text IS NULL OR r.host = $1"
		      " ORDER BY r.id DESC LIMIT $2::bigint", 2, v, NULL, NULL,
		      "cannot read the runs", run_row, &cb, err);
}

static int pg_each_last_run(void *be, hm_history_run_fn fn, void *ctx,
			    struct hm_error *err)
{
	struct run_cb cb = { fn, ctx };

	return stream(be, HM_HISTORY_SQL_LAST_RUNS, 0, NULL, NULL, NULL,
		      "cannot read the runs", run_row, &cb, err);
}

struct hosts_cb {
	char **v;
	size_t n, cap;
};

static int host_row(struct pg *h, PGresult *res, void *ctx, struct hm_error *err)
{
	struct hosts_cb *l = ctx;

	(void)h;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		char **p = realloc(l->v, ncap * sizeof(*p));

		if (!p)
			return hm_error_nomem(err);
		l->v = p;
		l->cap = ncap;
	}
	if (!(l->v[l->n] = strdup(PQgetvalue(res, 0, 0))))
		return hm_error_nomem(err);
	l->n++;
	return 0;
}

static int pg_hosts(void *be, char ***ret, size_t *ret_n, struct hm_error *err)
{
	struct hosts_cb l = { 0 };
	int r;

	r = stream(be, "SELECT DISTINCT host FROM runs ORDER BY host", 0, NULL,
		   NULL, NULL, "cannot read the runs", host_row, &l, err);
	if (r < 0) {
		hm_history_hosts_free(l.v, l.n);
		return r;
	}
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

struct finding_cb {
	hm_finding_fn fn;
	void *ctx;
	const char *run_id;
};

static int finding_row(struct pg *h, PGresult *res, void *ctx,
		       struct hm_error *err)
{
	struct finding_cb *cb = ctx;
	const char *kind = PQgetvalue(res, 0, 0);
	int k = hm_history_kind_from_name(kind);
	struct hm_finding f;
	size_t len = 0;
	unsigned char *path;
	int r;

	if (k < 0)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "history database '%s': run %s has a finding of unknown kind '%s'",
				    h->path, cb->run_id, kind);
	path = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 1), &len);
	if (!path)
		return hm_error_nomem(err);
	memset(&f, 0, sizeof(f));
	f.kind = (enum hm_finding_kind)k;
	f.path = (char *)path;
	f.path_len = len;
	f.expected = (char *)val(res, 2);
	f.actual = (char *)val(res, 3);
	f.detail = (char *)val(res, 4);
	r = cb->fn(cb->ctx, &f, err);
	PQfreemem(path);
	return r;
}

static int pg_each_finding(void *be, int64_t run_id, hm_finding_fn fn,
			   void *ctx, struct hm_error *err)
{
	char id[32];
	const char *v[1] = { id };
	struct finding_cb cb = { fn, ctx, id };

	snprintf(id, sizeof(id), "%" PRId64, run_id);
	return stream(be, "SELECT kind, path, expected, actual, detail"
		      " FROM findings WHERE run_id = $1 ORDER BY id", 1, v, NULL,
		      NULL, "cannot read the findings", finding_row, &cb, err);
}

struct mask_cb {
	unsigned changes;
	hm_history_diff_fn fn;
	void *ctx;
};

static int masked(void *ctx, enum hm_history_change c,
		  const struct hm_finding *f, struct hm_error *err)
{
	struct mask_cb *m = ctx;

	return m->changes & HM_HISTORY_CHANGE(c) ? m->fn(m->ctx, c, f, err) : 0;
}

/*
 * The two runs' findings in memory, then the diff of lib/history.c: the
 * same matching and order as the SQLite backend's streamed diff (which
 * holds one path at a time); here memory grows with the two runs.
 */
static int pg_diff_runs(struct hm_history *hh, int64_t previous, int64_t last,
			unsigned changes, hm_history_diff_fn fn, void *ctx,
			struct hm_error *err)
{
	struct hm_findings p = { 0 }, l = { 0 };
	struct mask_cb m = { changes, fn, ctx };
	int r;

	if ((previous > 0 &&
	     (r = pg_each_finding(hh->be, previous, hm_findings_collect, &p, err)) < 0) ||
	    (r = pg_each_finding(hh->be, last, hm_findings_collect, &l, err)) < 0)
		goto out;
	r = hm_history_diff(&p, &l, masked, &m, err);
out:
	hm_findings_free(&p);
	hm_findings_free(&l);
	return r;
}

struct path_cb {
	hm_history_path_fn fn;
	void *ctx;
};

static int path_row(struct pg *h, PGresult *res, void *ctx, struct hm_error *err)
{
	struct path_cb *cb = ctx;
	struct hm_history_path_host p;

	(void)h;
	p.host = PQgetvalue(res, 0, 0);
	p.first_seen = PQgetvalue(res, 0, 1);
	p.last_seen = PQgetvalue(res, 0, 2);
	p.runs = val_u64(res, 3);
	p.open = strcmp(PQgetvalue(res, 0, 4), "1") == 0;
	return cb->fn(cb->ctx, &p, err);
}

static int pg_each_path_host(void *be, const char *path, size_t path_len,
			     hm_history_path_fn fn, void *ctx,
			     struct hm_error *err)
{
	struct path_cb cb = { fn, ctx };
	const char *v[1] = { path };
	int lens[1] = { (int)path_len }, fmts[1] = { 1 };

	if (path_len > INT32_MAX)
		return hm_error_set(err, HM_ERR_LIMIT, 0, "the path is too long");
	return stream(be, HM_HISTORY_SQL_PATH_HOSTS, 1, v, lens, fmts,
		      "cannot read the findings", path_row, &cb, err);
}

struct manifest_cb {
	hm_history_manifest_fn fn;
	void *ctx;
};

static int manifest_row(struct pg *h, PGresult *res, void *ctx,
			struct hm_error *err)
{
	struct manifest_cb *cb = ctx;
	struct hm_history_manifest_host m;

	(void)h;
	m.manifest_name = PQgetvalue(res, 0, 0);
	m.serial = val_u64(res, 1);
	m.key_id = PQgetvalue(res, 0, 2);
	m.host = PQgetvalue(res, 0, 3);
	m.started = PQgetvalue(res, 0, 4);
	m.drift = strcmp(PQgetvalue(res, 0, 5), "drift") == 0;
	return cb->fn(cb->ctx, &m, err);
}

static int pg_each_manifest_host(void *be, hm_history_manifest_fn fn,
				 void *ctx, struct hm_error *err)
{
	struct manifest_cb cb = { fn, ctx };

	return stream(be, HM_HISTORY_SQL_MANIFEST_HOSTS, 0, NULL, NULL, NULL,
		      "cannot read the runs", manifest_row, &cb, err);
}

const struct hm_history_ops hm_history_pg_ops = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.check_snapshot = pg_check_snapshot,
	.max_serial = pg_max_serial,
	.claim_serial = pg_claim_serial,
	.record = pg_record,
	.each_run = pg_each_run,
	.each_last_run = pg_each_last_run,
	.hosts = pg_hosts,
	.each_finding = pg_each_finding,
	.diff_runs = pg_diff_runs,
	.each_path_host = pg_each_path_host,
	.each_manifest_host = pg_each_manifest_host,
};
