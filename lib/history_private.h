/*
 * The history backends (lib/history_sqlite.c, lib/history_pg.c) behind the
 * API of hallmark/history.h.  lib/history.c owns the handle, picks the
 * backend from the --db value, and keeps what does not depend on the
 * database: argument checks, the rollback message, the in-memory diff.
 *
 * Every backend gives the same guarantees (docs/history.md): one
 * transaction per run, the rollback check repeated inside it under a lock
 * on the (name, key) serial, strings compared bytewise, results in the
 * same order.  Borrowed pointers passed to callbacks live for the call.
 */
#ifndef HALLMARK_HISTORY_PRIVATE_H
#define HALLMARK_HISTORY_PRIVATE_H

#include "hallmark/history.h"

struct hm_history_ops {
	const char *name;                           /* "sqlite", "postgresql" */
	int (*open)(struct hm_history *h, unsigned flags, struct hm_error *err);
	void (*close)(void *be);
	int (*check_snapshot)(void *be, struct hm_error *err);
	/* Highest serial of (name, key_id), *found false if none. */
	int (*max_serial)(void *be, const char *name, const char *key_id,
			  uint64_t *ret, bool *found, struct hm_error *err);
	/* Check and raise the serial in one transaction (hm_history_claim_serial). */
	int (*claim_serial)(void *be, const char *name, const char *key_id,
			    uint64_t serial, struct hm_error *err);
	int (*record)(void *be, const struct hm_report *rep, int64_t *ret_id,
		      struct hm_error *err);
	int (*each_run)(void *be, const char *host, size_t limit,
			hm_history_run_fn fn, void *ctx, struct hm_error *err);
	int (*each_last_run)(void *be, hm_history_run_fn fn, void *ctx,
			     struct hm_error *err);
	int (*hosts)(void *be, char ***ret, size_t *ret_n, struct hm_error *err);
	int (*each_finding)(void *be, int64_t run_id, hm_finding_fn fn,
			    void *ctx, struct hm_error *err);
	int (*diff_runs)(struct hm_history *h, int64_t previous, int64_t last,
			 unsigned changes, hm_history_diff_fn fn, void *ctx,
			 struct hm_error *err);
	int (*each_path_host)(void *be, const char *path, size_t path_len,
			      hm_history_path_fn fn, void *ctx,
			      struct hm_error *err);
	int (*each_manifest_host)(void *be, hm_history_manifest_fn fn,
				  void *ctx, struct hm_error *err);
};

struct hm_history {
	const struct hm_history_ops *ops;
	void *be;               /* the backend's state */
	char *path;             /* --db as given, for messages */
	bool readonly;          /* HM_HISTORY_READONLY */
};

extern const struct hm_history_ops hm_history_sqlite_ops;
extern const struct hm_history_ops hm_history_pg_ops;

/* The rollback refusal, worded once for every backend. */
int hm_history_rollback_error(const char *name, uint64_t serial,
			      uint64_t max, const char *key_id,
			      struct hm_error *err);
/* Finding kind by name, -1 if this version does not know it. */
int hm_history_kind_from_name(const char *name);

/*
 * Queries both dialects read alike ($1 is positional in SQLite too when
 * the parameters appear in order).  PostgreSQL's text columns are
 * COLLATE "C", so ORDER BY is bytewise there as in SQLite.
 */
#define HM_HISTORY_SQL_RUN_COLS \
	"r.id, r.host, r.target, r.manifest_name, r.serial, r.manifest_sha256," \
	" r.key_id, r.policy, r.started, r.finished, r.result, r.exit_code," \
	" r.entries, r.target_entries, r.findings, r.tool_version"
#define HM_HISTORY_SQL_LAST_RUNS \
	"SELECT " HM_HISTORY_SQL_RUN_COLS " FROM runs r JOIN" \
	" (SELECT host, max(id) AS id FROM runs GROUP BY host) m" \
	" ON r.id = m.id ORDER BY r.host"
#define HM_HISTORY_SQL_PATH_HOSTS \
	"SELECT r.host, min(r.started), max(r.started), count(DISTINCT r.id)," \
	" CASE WHEN max(r.id) = (SELECT max(x.id) FROM runs x" \
	" WHERE x.host = r.host) THEN 1 ELSE 0 END" \
	" FROM findings f JOIN runs r ON r.id = f.run_id WHERE f.path = $1" \
	" GROUP BY r.host ORDER BY r.host"
#define HM_HISTORY_SQL_MANIFEST_HOSTS \
	"SELECT r.manifest_name, r.serial, r.key_id, r.host, r.started, r.result" \
	" FROM runs r JOIN (SELECT host, manifest_name, max(id) AS id FROM runs" \
	" GROUP BY host, manifest_name) m ON r.id = m.id" \
	" ORDER BY r.manifest_name, r.serial DESC, r.host"

/* What an accepted database must hold, on either backend: table ->
 * columns in order (lib/history.c). */
struct hm_history_table {
	const char *table;
	const char *columns;
};
extern const struct hm_history_table hm_history_tables[];
#define HM_HISTORY_N_TABLES 4

#endif
