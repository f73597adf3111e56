/*
 * Drift history: one database (docs/history.md is the spec) that keeps
 * every verification run with its findings, and the highest manifest
 * serial seen per (name, key id) for rollback protection.  A --db value
 * starting with "postgresql://" or "postgres://" is a PostgreSQL
 * connection URI (lib/history_pg.c, through libpq: same schema, same
 * guarantees); any other value is the path of an SQLite file
 * (lib/history_sqlite.c), to which the rest of this paragraph applies.
 *
 * The schema is versioned (PRAGMA user_version = HM_HISTORY_SCHEMA).  A
 * database with a newer schema, a file that is not SQLite and an SQLite
 * file whose tables are not hallmark's are refused (HM_ERR_INPUT) and
 * never written to; an empty database gets the schema.  The database runs
 * in WAL mode with synchronous=FULL, and each run is recorded in one
 * transaction, so a process killed at any moment leaves the earlier
 * history intact.  A database locked by another writer is waited for
 * (HM_HISTORY_TIMEOUT_MS, or HALLMARK_DB_TIMEOUT_MS from the environment),
 * then HM_ERR_IO "history database 'F' is locked by another process".
 *
 * lib/history_sqlite.c is the only file that calls SQLite, and
 * lib/history_pg.c the only one that calls libpq.
 */
#ifndef HALLMARK_HISTORY_H
#define HALLMARK_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hallmark/compare.h"
#include "hallmark/error.h"
#include "hallmark/report.h"

#define HM_HISTORY_SCHEMA 1
#define HM_HISTORY_DEFAULT_DB "/var/lib/hallmark/history.db"
#define HM_HISTORY_TIMEOUT_MS 10000
#define HM_HISTORY_TIMEOUT_ENV "HALLMARK_DB_TIMEOUT_MS"
/* SQLite integers are signed: serials above this cannot be recorded. */
#define HM_HISTORY_MAX_SERIAL INT64_MAX

struct hm_history;

/* hm_history_open flags */
#define HM_HISTORY_CREATE 0x1   /* create the file (mode 0600) if missing */
#define HM_HISTORY_READONLY 0x2 /* only read: nothing is ever written */

/*
 * Open the history database at path.  The file itself must not be a
 * symbolic link (refused); links among its folders are followed.  Without
 * HM_HISTORY_CREATE a missing file is HM_ERR_IO.  A writer checks the
 * schema and creates it in a new or empty file in one transaction, so
 * several processes may open a new file at once.
 *
 * With HM_HISTORY_READONLY the file is opened read-only and never
 * written: a missing file is HM_ERR_IO "no history at 'F'", an empty file
 * or an SQLite database without tables HM_ERR_INPUT; a WAL database in a
 * folder this process cannot write is read without locks when it has no
 * -wal and -shm files (see hm_history_check_snapshot), otherwise refused
 * with the reason.  hm_history_record fails on such a handle.
 *
 * Errors: HM_ERR_INPUT for a foreign, corrupt or newer database (the file
 * is left as it was), HM_ERR_IO for locks and system errors (with the
 * system's reason: a read-only file system, a permission), HM_ERR_USAGE
 * for a malformed HALLMARK_DB_TIMEOUT_MS.  The caller frees *ret with
 * hm_history_free.
 */
int hm_history_open(const char *path, unsigned flags, struct hm_history **ret,
		    struct hm_error *err);
void hm_history_free(struct hm_history *h);      /* accepts NULL */

/*
 * After reading a database that was opened without locks (read-only, in a
 * folder we cannot write): HM_ERR_IO if the file changed since it was
 * opened, since what was read may then mix two states.  0 otherwise, and
 * always 0 for a database read with locks.
 */
int hm_history_check_snapshot(struct hm_history *h, struct hm_error *err);

/*
 * Rollback check, before a comparison: HM_ERR_TRUST "rollback: ..." if a
 * higher serial was already recorded for (name, key_id); HM_ERR_INPUT if
 * serial exceeds HM_HISTORY_MAX_SERIAL.  A serial equal to or above the
 * highest seen passes.  *ret_max (may be NULL) gets the highest serial
 * seen, 0 if none.
 */
int hm_history_check_serial(struct hm_history *h, const char *name,
			    const char *key_id, uint64_t serial,
			    uint64_t *ret_max, struct hm_error *err);

/*
 * hm_history_check_serial, and raise the highest serial of (name, key_id)
 * to serial, in one transaction holding the (name, key) lock.  verify
 * claims the serial of a manifest whose signature it checked before
 * comparing anything, so of two runs racing with serials 4 and 5 the
 * lower is refused whichever commits first: at its claim if the higher
 * claimed first, at its record otherwise.
 */
int hm_history_claim_serial(struct hm_history *h, const char *name,
			    const char *key_id, uint64_t serial,
			    struct hm_error *err);

/* true when the handle is a PostgreSQL database (a URI was given). */
bool hm_history_is_postgresql(const struct hm_history *h);
bool hm_history_is_uri(const char *db);

/*
 * Record a finished run (rep->exit_code 0 = pass, 1 = drift), its findings
 * and counts, and raise the highest serial of (manifest name, key id), in
 * one transaction: all of it is stored or none.  rep->host NULL records
 * "".  The rollback check is repeated inside the transaction (a concurrent
 * run may have recorded a higher serial meanwhile): HM_ERR_TRUST then,
 * nothing stored.  *ret_id (may be NULL) gets the new run id.
 */
int hm_history_record(struct hm_history *h, const struct hm_report *rep,
		      int64_t *ret_id, struct hm_error *err);

/* t as recorded: "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
void hm_history_format_time(time_t t, char out[32]);

/* A recorded run; the strings are owned by it. */
struct hm_history_run {
	int64_t id;
	char *host;
	char *target;
	char *manifest_name;
	uint64_t serial;
	char *manifest_sha256;
	char *key_id;
	char *policy;                  /* NULL when no policy was used */
	char *started;                 /* "YYYY-MM-DDTHH:MM:SSZ" (UTC) */
	char *finished;
	bool drift;                    /* result: false "pass", true "drift" */
	int exit_code;
	uint64_t entries;              /* manifest entries read */
	uint64_t target_entries;       /* target entries read */
	uint64_t findings;             /* total findings */
	uint64_t counts[HM_FINDING__COUNT];
	char *tool_version;
};

/*
 * Call fn for each run, newest first: of host (NULL: every host), at most
 * limit (0: all).  The run and its strings are borrowed for the call only;
 * one run is in memory at a time.  Returns 0, a negative error of fn, or
 * an error reading the database.
 */
typedef int (*hm_history_run_fn)(void *ctx, const struct hm_history_run *run,
				 struct hm_error *err);
int hm_history_each_run(struct hm_history *h, const char *host, size_t limit,
			hm_history_run_fn fn, void *ctx, struct hm_error *err);

/*
 * Fleet view: the last run of each host, sorted by host bytewise (one
 * query).  The counts by kind are not read (left 0): x->findings is
 * the total.
 */
int hm_history_each_last_run(struct hm_history *h, hm_history_run_fn fn,
			     void *ctx, struct hm_error *err);

/* Per path: a host that had a finding at that path. */
struct hm_history_path_host {
	const char *host;
	const char *first_seen;        /* start of its first run with one */
	const char *last_seen;         /* start of its last run with one */
	uint64_t runs;                 /* its runs with a finding there */
	bool open;                     /* its last run has one there */
};
typedef int (*hm_history_path_fn)(void *ctx,
				  const struct hm_history_path_host *p,
				  struct hm_error *err);
/* The hosts with findings at path (raw bytes), sorted by host. */
int hm_history_each_path_host(struct hm_history *h, const char *path,
			      size_t path_len, hm_history_path_fn fn,
			      void *ctx, struct hm_error *err);

/* Per manifest: the last run of a host with that manifest name. */
struct hm_history_manifest_host {
	const char *manifest_name;
	uint64_t serial;
	const char *key_id;
	const char *host;
	const char *started;
	bool drift;
};
typedef int (*hm_history_manifest_fn)(void *ctx,
				      const struct hm_history_manifest_host *m,
				      struct hm_error *err);
/* Sorted by manifest name, serial (highest first), then host. */
int hm_history_each_manifest_host(struct hm_history *h,
				  hm_history_manifest_fn fn, void *ctx,
				  struct hm_error *err);

/*
 * The same runs collected in an array (memory grows with limit).
 * *ret is NULL when there are none; free with hm_history_runs_free.
 */
int hm_history_runs(struct hm_history *h, const char *host, size_t limit,
		    struct hm_history_run **ret, size_t *ret_n,
		    struct hm_error *err);
void hm_history_runs_free(struct hm_history_run *runs, size_t n);

/* The hosts that have runs, sorted bytewise; free with hm_history_hosts_free. */
int hm_history_hosts(struct hm_history *h, char ***ret, size_t *ret_n,
		     struct hm_error *err);
void hm_history_hosts_free(char **hosts, size_t n);

/*
 * Call fn for each finding of run_id, in the order they were found; the
 * finding is borrowed for the call only (memory stays flat).
 */
int hm_history_each_finding(struct hm_history *h, int64_t run_id,
			    hm_finding_fn fn, void *ctx, struct hm_error *err);

/* Append the findings of run_id, in the order they were found, to *out. */
int hm_history_findings(struct hm_history *h, int64_t run_id,
			struct hm_findings *out, struct hm_error *err);

/* How a finding changed between two runs. */
enum hm_history_change {
	HM_HISTORY_NEW,          /* in the last run, not in the previous one */
	HM_HISTORY_FIXED,        /* in the previous run, not in the last one */
	HM_HISTORY_PERSISTING,   /* in both */
};
const char *hm_history_change_name(enum hm_history_change c);

typedef int (*hm_history_diff_fn)(void *ctx, enum hm_history_change c,
				  const struct hm_finding *f,
				  struct hm_error *err);

/*
 * Match the findings of two runs on (kind, path) and call fn for each,
 * ordered by path bytes then kind; a key found n times in one run and m in
 * the other pairs min(n, m) times.  NEW and PERSISTING pass the last run's
 * finding, FIXED the previous run's.  The lists are not modified.
 * Returns 0, a negative error of fn, or HM_ERR_NOMEM.
 */
int hm_history_diff(const struct hm_findings *previous,
		    const struct hm_findings *last, hm_history_diff_fn fn,
		    void *ctx, struct hm_error *err);

/* hm_history_diff_runs: which changes to report. */
#define HM_HISTORY_CHANGE(c) (1u << (c))
#define HM_HISTORY_ALL_CHANGES (HM_HISTORY_CHANGE(HM_HISTORY_NEW) | \
				HM_HISTORY_CHANGE(HM_HISTORY_FIXED) | \
				HM_HISTORY_CHANGE(HM_HISTORY_PERSISTING))

/*
 * hm_history_diff on two recorded runs, read from the database in path
 * order: the same matching and the same order of calls, but only one
 * path's findings of each run are in memory at a time.  previous 0 means
 * no previous run (every finding of last is new).  Only the changes in
 * the mask are passed to fn (a caller that prints the new, then the fixed,
 * then the persisting ones makes three calls).  The finding is borrowed
 * for the call only.
 */
int hm_history_diff_runs(struct hm_history *h, int64_t previous, int64_t last,
			 unsigned changes, hm_history_diff_fn fn, void *ctx,
			 struct hm_error *err);

#endif
