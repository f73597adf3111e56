/*
 * Drift history in SQLite (docs/history.md): runs, their findings and
 * counts, and the highest serial seen per (manifest name, key id).
 *
 * The SQLite backend of lib/history.c (lib/history_private.h).  This is
 * the only file that calls SQLite; it turns SQLite's result codes
 * into hallmark's errors.  Before a database is accepted nothing is
 * written to it: the schema is read inside a transaction that is rolled
 * back, checkpoint on close is off, and only then is the journal switched
 * to WAL.  So a newer, foreign or corrupt file is refused byte for byte
 * untouched.  Readers (HM_HISTORY_READONLY) never write at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/history.h"
#include "history_private.h"

#ifndef HM_VERSION
#define HM_VERSION "unknown"
#endif

/* Longest wait HALLMARK_DB_TIMEOUT_MS may ask for: one hour. */
#define HM_HISTORY_TIMEOUT_MAX_MS 3600000L

struct sq {
	sqlite3 *db;
	const char *path;       /* as the user gave it (the handle's), for messages */
	char *dir;              /* its folder, resolved */
	char *canon;            /* dir + last component: what SQLite opens */
	bool readonly;          /* HM_HISTORY_READONLY */
	bool unlocked;          /* read as immutable: see open_ro */
	struct stat snap;       /* the file when it was opened unlocked */
};

/* Schema 1.  Changing it means a new version and a migration. */
static const char schema_sql[] =
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" host TEXT NOT NULL,"
	" target TEXT NOT NULL,"
	" manifest_name TEXT NOT NULL,"
	" serial INTEGER NOT NULL,"
	" manifest_sha256 TEXT NOT NULL,"
	" key_id TEXT NOT NULL,"
	" policy TEXT,"
	" started TEXT NOT NULL,"
	" finished TEXT NOT NULL,"
	" result TEXT NOT NULL CHECK (result IN ('pass', 'drift')),"
	" exit_code INTEGER NOT NULL,"
	" entries INTEGER NOT NULL,"
	" target_entries INTEGER NOT NULL,"
	" findings INTEGER NOT NULL,"
	" tool_version TEXT NOT NULL);"
	"CREATE INDEX runs_host_id ON runs (host, id);"
	"CREATE TABLE run_counts ("
	" run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
	" kind TEXT NOT NULL,"
	" count INTEGER NOT NULL CHECK (count > 0),"
	" PRIMARY KEY (run_id, kind)) WITHOUT ROWID;"
	"CREATE TABLE findings ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
	" kind TEXT NOT NULL,"
	" path BLOB NOT NULL,"
	" expected TEXT,"
	" actual TEXT,"
	" detail TEXT);"
	"CREATE INDEX findings_run ON findings (run_id, id);"
	"CREATE TABLE serials ("
	" manifest_name TEXT NOT NULL,"
	" key_id TEXT NOT NULL,"
	" max_serial INTEGER NOT NULL,"
	" PRIMARY KEY (manifest_name, key_id)) WITHOUT ROWID;"
	"PRAGMA user_version = 1;";

/* Turn an SQLite result code into an hm error about h's database. */
static int db_error(const struct sq *h, int rc, const char *what,
		    struct hm_error *err)
{
	const char *msg = h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc);
	int sys = h->db ? sqlite3_system_errno(h->db) : 0;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return hm_error_set(err, HM_ERR_IO, 0,
				    "history database '%s' is locked by another process",
				    h->path);
	case SQLITE_NOTADB:
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' is not an SQLite database: refusing to use it as history",
				    h->path);
	case SQLITE_CORRUPT:
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "history database '%s' is corrupt: %s", h->path, msg);
	case SQLITE_NOMEM:
		return hm_error_nomem(err);
	case SQLITE_CANTOPEN:
		if (rc == SQLITE_CANTOPEN_SYMLINK)
			return hm_error_set(err, HM_ERR_IO, 0,
					    "history database '%s' is a symbolic link: refusing it",
					    h->path);
		return hm_error_set(err, HM_ERR_IO, sys,
				    "cannot open history database '%s'", h->path);
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		if (sys)
			return hm_error_set(err, HM_ERR_IO, sys,
					    "history database '%s': %s", h->path, what);
		/* fall through */
	default:
		return hm_error_set(err, HM_ERR_IO, 0, "history database '%s': %s: %s",
				    h->path, what, msg);
	}
}

static int prep(struct sq *h, const char *sql, sqlite3_stmt **ret,
		struct hm_error *err)
{
	int rc = sqlite3_prepare_v2(h->db, sql, -1, ret, NULL);

	if (rc != SQLITE_OK) {
		sqlite3_finalize(*ret);
		*ret = NULL;
		return db_error(h, rc, "cannot read it", err);
	}
	return 0;
}

static int exec(struct sq *h, const char *sql, const char *what,
		struct hm_error *err)
{
	int rc = sqlite3_exec(h->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_error(h, rc, what, err);
}

/* Run a query that returns one integer. */
static int query_int(struct sq *h, const char *sql, int64_t *ret,
		     struct hm_error *err)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = prep(h, sql, &st, err)) < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret = sqlite3_column_int64(st, 0);
		r = 0;
	} else {
		r = db_error(h, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
			     "cannot read it", err);
	}
	sqlite3_finalize(st);
	return r;
}

static int rollback(struct sq *h)
{
	if (!sqlite3_get_autocommit(h->db))
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	return 0;
}

static int table_columns(struct sq *h, const char *table,
			 struct hm_buf *out, struct hm_error *err)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	hm_buf_reset(out);
	if ((r = prep(h, "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
		      &st, err)) < 0)
		return r;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if ((out->len && hm_buf_addc(out, ',') < 0) ||
		    hm_buf_adds(out, name ? name : "") < 0) {
			r = hm_error_nomem(err);
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		r = db_error(h, rc, "cannot read its schema", err);
	else if (hm_buf_adds(out, "") < 0)
		r = hm_error_nomem(err);
out:
	sqlite3_finalize(st);
	return r;
}

enum schema_state { SCHEMA_EMPTY, SCHEMA_OURS };

/* Read-only look at what the file holds; refuse what is not ours. */
static int check_schema(struct sq *h, enum schema_state *ret,
			struct hm_error *err)
{
	struct hm_buf cols = HM_BUF_INIT;
	int64_t version, objects, tables;
	size_t i;
	int r;

	if ((r = query_int(h, "PRAGMA user_version", &version, err)) < 0 ||
	    (r = query_int(h, "SELECT count(*) FROM sqlite_master", &objects,
			   err)) < 0)
		return r;
	if (version > HM_HISTORY_SCHEMA)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' has history schema %" PRId64
				    ", newer than this hallmark (%d): refusing to touch it",
				    h->path, version, HM_HISTORY_SCHEMA);
	if (version == 0 && objects == 0) {
		*ret = SCHEMA_EMPTY;
		return 0;
	}
	if (version != HM_HISTORY_SCHEMA)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' is not a hallmark history database (it holds other tables): refusing to touch it",
				    h->path);
	r = query_int(h, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
		      " AND name IN ('runs', 'run_counts', 'findings', 'serials')",
		      &tables, err);
	if (r < 0)
		return r;
	if (tables != (int64_t)HM_HISTORY_N_TABLES) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "'%s' is not a hallmark history database (tables missing): refusing to touch it",
				 h->path);
		goto out;
	}
	for (i = 0; i < HM_HISTORY_N_TABLES; i++) {
		if ((r = table_columns(h, hm_history_tables[i].table, &cols, err)) < 0)
			goto out;
		if (strcmp(cols.data, hm_history_tables[i].columns) != 0) {
			r = hm_error_set(err, HM_ERR_INPUT, 0,
					 "'%s' is not a hallmark history database (table '%s' does not match schema %d): refusing to touch it",
					 h->path, hm_history_tables[i].table,
					 HM_HISTORY_SCHEMA);
			goto out;
		}
	}
	*ret = SCHEMA_OURS;
out:
	hm_buf_free(&cols);
	return r;
}

static int set_wal(struct sq *h, int *ret_rc, struct hm_error *err)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int r, rc;

	*ret_rc = SQLITE_ERROR;
	if ((r = prep(h, "PRAGMA journal_mode = WAL", &st, err)) < 0)
		return r;
	rc = *ret_rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = db_error(h, rc, "cannot switch it to WAL mode", err);
	} else {
		mode = (const char *)sqlite3_column_text(st, 0);
		if (!mode || strcmp(mode, "wal") != 0)
			r = hm_error_set(err, HM_ERR_IO, 0,
					 "history database '%s': cannot switch it to WAL mode (it stays in '%s' mode)",
					 h->path, mode ? mode : "unknown");
	}
	sqlite3_finalize(st);
	return r;
}

static int timeout_ms(int *ret, struct hm_error *err)
{
	const char *s = getenv(HM_HISTORY_TIMEOUT_ENV);
	char *end;
	long v;

	*ret = HM_HISTORY_TIMEOUT_MS;
	if (!s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v > HM_HISTORY_TIMEOUT_MAX_MS)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "%s must be a number of milliseconds from 0 to %ld, not '%s'",
				    HM_HISTORY_TIMEOUT_ENV, HM_HISTORY_TIMEOUT_MAX_MS, s);
	*ret = (int)v;
	return 0;
}

/*
 * The name SQLite is given: the folder the user named resolved (a link
 * among the folders is the user's choice, as for any output file), then
 * the last component as given.  SQLite's NOFOLLOW refuses a link anywhere
 * in that name, so the database itself must not be a link, and a folder
 * swapped for one after this point is refused too.
 */
static int resolve_path(struct sq *h, struct hm_error *err)
{
	const char *slash = strrchr(h->path, '/');
	const char *base = slash ? slash + 1 : h->path;
	struct hm_buf b = HM_BUF_INIT;
	char *dir;
	int r = 0;

	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return hm_error_set(err, HM_ERR_IO, EISDIR,
				    "cannot open history database '%s'", h->path);
	if (!slash)
		dir = strdup(".");
	else if (slash == h->path)
		dir = strdup("/");
	else
		dir = strndup(h->path, (size_t)(slash - h->path));
	if (!dir)
		return hm_error_nomem(err);
	h->dir = realpath(dir, NULL);
	if (!h->dir) {
		r = errno == ENOENT && h->readonly ?
			hm_error_set(err, HM_ERR_IO, errno,
				     "no history at '%s': cannot open history database '%s'",
				     h->path, h->path) :
			hm_error_set(err, HM_ERR_IO, errno,
				     "cannot open history database '%s'", h->path);
		goto out;
	}
	if (hm_buf_addf(&b, "%s%s%s", h->dir, strcmp(h->dir, "/") ? "/" : "",
			base) < 0 || hm_buf_adds(&b, "") < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	h->canon = b.data;
	b.data = NULL;
out:
	hm_buf_free(&b);
	free(dir);
	return r;
}

static int refuse_link(const struct sq *h, struct hm_error *err)
{
	return hm_error_set(err, HM_ERR_IO, 0,
			    "history database '%s' is a symbolic link: refusing it",
			    h->path);
}

static int refuse_special(const struct sq *h, struct hm_error *err)
{
	return hm_error_set(err, HM_ERR_INPUT, 0,
			    "history database '%s' is not a regular file: refusing it",
			    h->path);
}

/*
 * For a writer: the file must exist (created mode 0600 with
 * HM_HISTORY_CREATE: it names every drifted path) and be writable by us.
 * Opening it here first gives the true reason when it is not (a read-only
 * mount, no permission) instead of whatever SQLite met last.
 */
static int check_writable(struct sq *h, bool create,
			  struct hm_error *err)
{
	int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
	struct stat st;
	int fd, r = 0;

	fd = open(h->canon, flags | (create ? O_CREAT : 0), 0600);
	if (fd < 0) {
		if (errno == ELOOP)
			return refuse_link(h, err);
		return hm_error_set(err, HM_ERR_IO, errno, create && errno != ENOENT ?
				    "cannot write history database '%s'" :
				    "cannot open history database '%s'", h->path);
	}
	if (fstat(fd, &st) < 0)
		r = hm_error_set(err, HM_ERR_IO, errno,
				 "cannot open history database '%s'", h->path);
	else if (!S_ISREG(st.st_mode))
		r = refuse_special(h, err);
	close(fd);
	return r;
}

/* SQLite could not open or create the -wal or -shm file of a WAL database:
 * CANTOPEN when the folder is on a read-only file system, READONLY_DIRECTORY
 * when we may not write it, READONLY_CANTINIT for a -shm we may only read. */
static bool sidecar_trouble(int rc)
{
	return (rc & 0xff) == SQLITE_CANTOPEN || rc == SQLITE_READONLY_DIRECTORY ||
	       rc == SQLITE_READONLY_CANTINIT;
}

/* Why SQLite could not open the -wal or -shm file beside the database. */
static int sidecar_error(const struct sq *h, int rc,
			 struct hm_error *err)
{
	if (faccessat(AT_FDCWD, h->dir, W_OK, AT_EACCESS) < 0)
		return hm_error_set(err, HM_ERR_IO, errno,
				    "history database '%s' is in WAL mode and SQLite cannot create its '-wal' and '-shm' files in '%s'",
				    h->path, h->dir);
	return db_error(h, rc, "cannot open it", err);
}

/* journal_mode=WAL needs the database to itself for a moment: another
 * opener's read lock makes it fail with SQLITE_BUSY, which the busy
 * handler does not always cover.  Retry until the timeout. */
static int set_wal_retry(struct sq *h, int ms, struct hm_error *err)
{
	struct timespec now, end, pause = { 0, 5 * 1000 * 1000 };
	int r, rc;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (;;) {
		r = set_wal(h, &rc, err);
		if (r == 0 || (rc & 0xff) != SQLITE_BUSY)
			return r;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			return r;
		nanosleep(&pause, NULL);
	}
}

/*
 * Writer: the version check and the schema creation in one BEGIN
 * IMMEDIATE transaction, so that of several processes opening a new file
 * at once exactly one creates the schema and the others see all of it
 * (two separate reads could see user_version 0, then the tables).
 * Nothing is written to a file that is refused: the transaction is rolled
 * back, and the journal stays as it was until the file is accepted.
 */
static int open_rw(struct sq *h, int ms, struct hm_error *err)
{
	enum schema_state state;
	int rc, r;

	rc = sqlite3_open_v2(h->canon, &h->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (h->db) {
		/* The wait first: every later step may meet another opener. */
		sqlite3_busy_timeout(h->db, ms);
		sqlite3_extended_result_codes(h->db, 1);
		/* Until the file is known to be ours, closing must not write it. */
		sqlite3_db_config(h->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	}
	if (rc != SQLITE_OK)
		return db_error(h, h->db ? sqlite3_extended_errcode(h->db) : rc,
				"cannot open it", err);
	rc = sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		rc = sqlite3_extended_errcode(h->db);
	if (sidecar_trouble(rc))
		return sidecar_error(h, rc, err);
	if (rc != SQLITE_OK)
		return db_error(h, rc, "cannot read it", err);
	if ((r = check_schema(h, &state, err)) < 0 ||
	    (state == SCHEMA_EMPTY &&
	     (r = exec(h, schema_sql, "cannot create the schema", err)) < 0) ||
	    (r = exec(h, "COMMIT", "cannot create the schema", err)) < 0) {
		rollback(h);
		return r;
	}
	if ((r = set_wal_retry(h, ms, err)) < 0 ||
	    (r = exec(h, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
		      "cannot configure it", err)) < 0)
		return r;
	sqlite3_db_config(h->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static bool sidecar_exists(const struct sq *h, const char *suffix)
{
	struct hm_buf b = HM_BUF_INIT;
	struct stat st;
	bool found = true;      /* when in doubt, not safe to read unlocked */

	if (hm_buf_addf(&b, "%s%s", h->canon, suffix) == 0 &&
	    hm_buf_adds(&b, "") == 0)
		found = lstat(b.data, &st) == 0 || errno != ENOENT;
	hm_buf_free(&b);
	return found;
}

/* "file:" URI of h->canon with every byte that is not unreserved escaped. */
static int immutable_uri(const struct sq *h, struct hm_buf *b)
{
	const unsigned char *p;

	if (hm_buf_adds(b, "file:") < 0)
		return -1;
	for (p = (const unsigned char *)h->canon; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || strchr("/-._~", *p);

		if ((plain ? hm_buf_addc(b, (char)*p) :
			     hm_buf_addf(b, "%%%02X", *p)) < 0)
			return -1;
	}
	return hm_buf_adds(b, "?immutable=1");
}

static int open_ro_db(struct sq *h, const char *name, int flags,
		      int ms, struct hm_error *err)
{
	int rc;

	sqlite3_close_v2(h->db);
	h->db = NULL;
	rc = sqlite3_open_v2(name, &h->db, SQLITE_OPEN_READONLY |
			     SQLITE_OPEN_NOFOLLOW | flags, NULL);
	if (h->db) {
		sqlite3_busy_timeout(h->db, ms);
		sqlite3_extended_result_codes(h->db, 1);
	}
	if (rc != SQLITE_OK)
		return db_error(h, h->db ? sqlite3_extended_errcode(h->db) : rc,
				"cannot open it", err);
	return 0;
}

/*
 * Reader: SQLITE_OPEN_READONLY, nothing is ever written, and an empty
 * file is refused rather than given a schema.  A WAL database needs its
 * -wal and -shm files; in a folder we cannot write (a read-only mount, a
 * folder of another user) SQLite cannot create them.  When neither
 * exists, everything committed is in the database file itself: it is
 * then read without locks (immutable), and hm_history_check_snapshot
 * tells afterwards whether a writer changed it meanwhile.
 */
static int open_ro(struct sq *h, int ms, struct hm_error *err)
{
	struct hm_buf uri = HM_BUF_INIT;
	enum schema_state state;
	sqlite3_stmt *st = NULL;
	struct stat sb;
	int rc, r;

	if (lstat(h->canon, &sb) < 0) {
		if (errno == ENOENT)
			return hm_error_set(err, HM_ERR_IO, errno,
					    "no history at '%s': cannot open history database '%s'",
					    h->path, h->path);
		return hm_error_set(err, HM_ERR_IO, errno,
				    "cannot open history database '%s'", h->path);
	}
	if (S_ISLNK(sb.st_mode))
		return refuse_link(h, err);
	if (!S_ISREG(sb.st_mode))
		return refuse_special(h, err);
	if (sb.st_size == 0)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "no history at '%s': the file is empty", h->path);
	if ((r = open_ro_db(h, h->canon, 0, ms, err)) < 0)
		return r;
	rc = sqlite3_prepare_v2(h->db, "SELECT count(*) FROM sqlite_master", -1,
				&st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (sidecar_trouble(rc)) {
		if (sidecar_exists(h, "-wal") || sidecar_exists(h, "-shm") ||
		    faccessat(AT_FDCWD, h->dir, W_OK, AT_EACCESS) == 0)
			return sidecar_error(h, rc, err);
		if (lstat(h->canon, &h->snap) < 0)
			return hm_error_set(err, HM_ERR_IO, errno,
					    "cannot open history database '%s'", h->path);
		if (immutable_uri(h, &uri) < 0 || hm_buf_adds(&uri, "") < 0) {
			hm_buf_free(&uri);
			return hm_error_nomem(err);
		}
		r = open_ro_db(h, uri.data, SQLITE_OPEN_URI, ms, err);
		hm_buf_free(&uri);
		if (r < 0)
			return r;
		h->unlocked = true;
	} else if (rc != SQLITE_ROW) {
		return db_error(h, rc, "cannot read it", err);
	}
	/* One snapshot for all the checks. */
	if ((r = exec(h, "BEGIN", "cannot read it", err)) < 0)
		return r;
	r = check_schema(h, &state, err);
	rollback(h);
	if (r == 0 && state == SCHEMA_EMPTY)
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "no history at '%s': the database is empty", h->path);
	return r;
}

static void sq_close(void *be);

static int sq_open(struct hm_history *hh, unsigned flags, struct hm_error *err)
{
	struct sq *h;
	int ms, r;

	if ((r = timeout_ms(&ms, err)) < 0)
		return r;
	if (!(h = calloc(1, sizeof(*h))))
		return hm_error_nomem(err);
	h->path = hh->path;
	h->readonly = flags & HM_HISTORY_READONLY;
	if ((r = resolve_path(h, err)) < 0)
		goto fail;
	if (h->readonly)
		r = open_ro(h, ms, err);
	else if ((r = check_writable(h, flags & HM_HISTORY_CREATE, err)) == 0)
		r = open_rw(h, ms, err);
	if (r < 0)
		goto fail;
	hh->be = h;
	return 0;
fail:
	sq_close(h);
	return r;
}

static int sq_check_snapshot(void *be, struct hm_error *err)
{
	struct sq *h = be;
	struct stat now;

	if (!h->unlocked)
		return 0;
	if (lstat(h->canon, &now) < 0 || !same_file(&h->snap, &now))
		return hm_error_set(err, HM_ERR_IO, 0,
				    "history database '%s' changed while it was read without locks (its folder is read-only): what was shown may be inconsistent, read it again",
				    h->path);
	return 0;
}

static void sq_close(void *be)
{
	struct sq *h = be;

	if (!h)
		return;
	sqlite3_close_v2(h->db);
	free(h->dir);
	free(h->canon);
	free(h);
}

/* Highest serial recorded for (name, key_id); *found false if none. */
static int max_serial(void *be, const char *name, const char *key_id,
		      uint64_t *ret, bool *found, struct hm_error *err)
{
	struct sq *h = be;
	sqlite3_stmt *st = NULL;
	int r, rc;

	*ret = 0;
	*found = false;
	if ((r = prep(h, "SELECT max_serial FROM serials"
		      " WHERE manifest_name = ?1 AND key_id = ?2", &st, err)) < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int64_t v = sqlite3_column_int64(st, 0);

		*ret = v < 0 ? 0 : (uint64_t)v;
		*found = true;
	} else if (rc != SQLITE_DONE) {
		r = db_error(h, rc, "cannot read the serials", err);
	}
	sqlite3_finalize(st);
	return r;
}



static int64_t clamp64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Bind text or NULL. */
static void bind_opt(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static int step_done(struct sq *h, sqlite3_stmt *st, const char *what,
		     struct hm_error *err)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE ? 0 : db_error(h, rc, what, err);
}

static int insert_run(struct sq *h, const struct hm_report *rep,
		      int64_t *ret_id, struct hm_error *err)
{
	const struct hm_compare_stats *s = rep->stats;
	char started[32], finished[32];
	sqlite3_stmt *st = NULL;
	int r;

	hm_history_format_time(rep->started, started);
	hm_history_format_time(rep->finished, finished);
	if ((r = prep(h, "INSERT INTO runs (host, target, manifest_name, serial,"
		      " manifest_sha256, key_id, policy, started, finished, result,"
		      " exit_code, entries, target_entries, findings, tool_version)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		      " ?13, ?14, ?15)", &st, err)) < 0)
		return r;
	sqlite3_bind_text(st, 1, rep->host ? rep->host : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rep->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rep->manifest_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)rep->serial);
	sqlite3_bind_text(st, 5, rep->manifest_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, rep->key_id, -1, SQLITE_STATIC);
	bind_opt(st, 7, rep->policy_path);
	sqlite3_bind_text(st, 8, started, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, finished, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, rep->exit_code ? "drift" : "pass", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(st, 11, rep->exit_code);
	sqlite3_bind_int64(st, 12, clamp64(s->expected));
	sqlite3_bind_int64(st, 13, clamp64(s->actual));
	sqlite3_bind_int64(st, 14, clamp64(s->total_findings));
	sqlite3_bind_text(st, 15, rep->tool_version ? rep->tool_version : HM_VERSION,
			  -1, SQLITE_STATIC);
	r = step_done(h, st, "cannot record the run", err);
	if (r == 0)
		*ret_id = sqlite3_last_insert_rowid(h->db);
	sqlite3_finalize(st);
	return r;
}

static int insert_counts(struct sq *h, int64_t id,
			 const struct hm_compare_stats *s, struct hm_error *err)
{
	sqlite3_stmt *st = NULL;
	int k, r;

	if ((r = prep(h, "INSERT INTO run_counts (run_id, kind, count)"
		      " VALUES (?1, ?2, ?3)", &st, err)) < 0)
		return r;
	for (k = 0; k < HM_FINDING__COUNT && r == 0; k++) {
		if (!s->findings[k])
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, hm_finding_kind_name((enum hm_finding_kind)k),
				  -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, clamp64(s->findings[k]));
		r = step_done(h, st, "cannot record the counts", err);
	}
	sqlite3_finalize(st);
	return r;
}

struct insert {
	struct sq *h;
	sqlite3_stmt *st;
	int64_t id;
};

static int insert_finding(void *ctx, const struct hm_finding *f,
			  struct hm_error *err)
{
	struct insert *in = ctx;

	if (f->path_len > INT32_MAX)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "a finding's path is too long for the history");
	sqlite3_reset(in->st);
	sqlite3_bind_int64(in->st, 1, in->id);
	sqlite3_bind_text(in->st, 2, hm_finding_kind_name(f->kind), -1,
			  SQLITE_STATIC);
	/* STATIC: f lives until we return, past the step that reads it. */
	sqlite3_bind_blob(in->st, 3, f->path, (int)f->path_len, SQLITE_STATIC);
	bind_opt(in->st, 4, f->expected);
	bind_opt(in->st, 5, f->actual);
	bind_opt(in->st, 6, f->detail);
	return step_done(in->h, in->st, "cannot record the findings", err);
}

/* The findings are read one at a time (from the report's spool), so a run
 * with millions of them is recorded in flat memory. */
static int insert_findings(struct sq *h, int64_t id,
			   const struct hm_report *rep, struct hm_error *err)
{
	struct insert in = { .h = h, .id = id };
	int r;

	if (!rep->spool && (!rep->findings || rep->findings->n == 0))
		return 0;
	if ((r = prep(h, "INSERT INTO findings (run_id, kind, path, expected,"
		      " actual, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		      &in.st, err)) < 0)
		return r;
	r = hm_report_each_finding(rep, insert_finding, &in, err);
	sqlite3_finalize(in.st);
	return r;
}

static int raise_serial(struct sq *h, const char *name, const char *key_id,
			uint64_t serial, struct hm_error *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = prep(h, "INSERT INTO serials (manifest_name, key_id, max_serial)"
		      " VALUES (?1, ?2, ?3) ON CONFLICT (manifest_name, key_id)"
		      " DO UPDATE SET max_serial = max(max_serial, excluded.max_serial)",
		      &st, err)) < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)serial);
	r = step_done(h, st, "cannot record the serial", err);
	sqlite3_finalize(st);
	return r;
}

/* Inside a write transaction: refuse a serial below the recorded one. */
static int check_in_tx(struct sq *h, const char *name, const char *key_id,
		       uint64_t serial, struct hm_error *err)
{
	uint64_t max;
	bool found;
	int r;

	if ((r = max_serial(h, name, key_id, &max, &found, err)) < 0)
		return r;
	if (found && serial < max)
		return hm_history_rollback_error(name, serial, max, key_id, err);
	return 0;
}

/* BEGIN IMMEDIATE takes the write lock at once: between the check and the
 * raise no other writer can record anything. */
static int sq_claim_serial(void *be, const char *name, const char *key_id,
			   uint64_t serial, struct hm_error *err)
{
	struct sq *h = be;
	int r;

	if ((r = exec(h, "BEGIN IMMEDIATE", "cannot record the serial", err)) < 0)
		return r;
	if ((r = check_in_tx(h, name, key_id, serial, err)) < 0 ||
	    (r = raise_serial(h, name, key_id, serial, err)) < 0 ||
	    (r = exec(h, "COMMIT", "cannot record the serial", err)) < 0)
		rollback(h);
	return r;
}

static int sq_record(void *be, const struct hm_report *rep, int64_t *ret_id,
		     struct hm_error *err)
{
	struct sq *h = be;
	int64_t id = 0;
	int r;

	if ((r = exec(h, "BEGIN IMMEDIATE", "cannot record the run", err)) < 0)
		return r;
	if ((r = check_in_tx(h, rep->manifest_name, rep->key_id, rep->serial,
			     err)) < 0 ||
	    (r = insert_run(h, rep, &id, err)) < 0 ||
	    (r = insert_counts(h, id, rep->stats, err)) < 0 ||
	    (r = insert_findings(h, id, rep, err)) < 0 ||
	    (r = raise_serial(h, rep->manifest_name, rep->key_id, rep->serial,
			      err)) < 0 ||
	    (r = exec(h, "COMMIT", "cannot record the run", err)) < 0) {
		rollback(h);
		return r;
	}
	*ret_id = id;
	return 0;
}

static char *col_dup(sqlite3_stmt *st, int i, bool *oom)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	char *d;

	if (!s)
		return NULL;
	d = strdup((const char *)s);
	if (!d)
		*oom = true;
	return d;
}

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
	int64_t v = sqlite3_column_int64(st, i);

	return v < 0 ? 0 : (uint64_t)v;
}



/* Fill the per-kind counts of x; kinds this version does not know are
 * left out (a newer hallmark may have appended some). */
static int load_counts(struct sq *h, sqlite3_stmt *st,
		       struct hm_history_run *x, struct hm_error *err)
{
	int rc, k;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, x->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		k = hm_history_kind_from_name((const char *)sqlite3_column_text(st, 0));
		if (k >= 0)
			x->counts[k] = col_u64(st, 1);
	}
	return rc == SQLITE_DONE ? 0 : db_error(h, rc, "cannot read the runs", err);
}

/* Read the current row of the runs query into x (strings borrowed from st
 * until its next step) and its counts through cst. */
static int run_row(struct sq *h, sqlite3_stmt *st, sqlite3_stmt *cst,
		   struct hm_history_run *x, struct hm_error *err)
{
	const unsigned char *res = sqlite3_column_text(st, 10);

	memset(x, 0, sizeof(*x));
	x->id = sqlite3_column_int64(st, 0);
	x->host = (char *)sqlite3_column_text(st, 1);
	x->target = (char *)sqlite3_column_text(st, 2);
	x->manifest_name = (char *)sqlite3_column_text(st, 3);
	x->serial = col_u64(st, 4);
	x->manifest_sha256 = (char *)sqlite3_column_text(st, 5);
	x->key_id = (char *)sqlite3_column_text(st, 6);
	x->policy = (char *)sqlite3_column_text(st, 7);
	x->started = (char *)sqlite3_column_text(st, 8);
	x->finished = (char *)sqlite3_column_text(st, 9);
	x->drift = res && strcmp((const char *)res, "drift") == 0;
	x->exit_code = sqlite3_column_int(st, 11);
	x->entries = col_u64(st, 12);
	x->target_entries = col_u64(st, 13);
	x->findings = col_u64(st, 14);
	x->tool_version = (char *)sqlite3_column_text(st, 15);
	if (sqlite3_errcode(h->db) == SQLITE_NOMEM)
		return hm_error_nomem(err);
	if (!x->host || !x->target || !x->manifest_name ||
	    !x->manifest_sha256 || !x->key_id || !x->started ||
	    !x->finished || !x->tool_version)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "history database '%s': run %" PRId64 " is incomplete",
				    h->path, x->id);
	return cst ? load_counts(h, cst, x, err) : 0;
}

static int each_run_query(struct sq *h, const char *sql, const char *host,
			  size_t limit, bool counts, hm_history_run_fn fn,
			  void *ctx, struct hm_error *err)
{
	sqlite3_stmt *st = NULL, *cst = NULL;
	struct hm_history_run x;
	int r, rc;

	if ((r = prep(h, sql, &st, err)) < 0 ||
	    (counts && (r = prep(h, "SELECT kind, count FROM run_counts"
				 " WHERE run_id = ?1", &cst, err)) < 0))
		goto out;
	if (sqlite3_bind_parameter_count(st) == 2) {
		bind_opt(st, 1, host);
		sqlite3_bind_int64(st, 2, limit == 0 || limit > INT64_MAX ?
				   -1 : (int64_t)limit);
	}
	/* A run's counts are written with it and never change, so reading
	 * them beside the runs query is safe. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = run_row(h, st, cst, &x, err)) < 0 ||
		    (r = fn(ctx, &x, err)) < 0)
			goto out;
	if (rc != SQLITE_DONE)
		r = db_error(h, rc, "cannot read the runs", err);
out:
	sqlite3_finalize(st);
	sqlite3_finalize(cst);
	return r;
}

static int sq_each_run(void *be, const char *host, size_t limit,
		       hm_history_run_fn fn, void *ctx, struct hm_error *err)
{
	return each_run_query(be, "SELECT " HM_HISTORY_SQL_RUN_COLS
			      " FROM runs r WHERE ?1 IS NULL OR host = ?1"
			      " ORDER BY id DESC LIMIT ?2", host, limit, true,
			      fn, ctx, err);
}

static int sq_each_last_run(void *be, hm_history_run_fn fn, void *ctx,
			    struct hm_error *err)
{
	return each_run_query(be, HM_HISTORY_SQL_LAST_RUNS, NULL, 0, false,
			      fn, ctx, err);
}

static int sq_each_path_host(void *be, const char *path, size_t path_len,
			     hm_history_path_fn fn, void *ctx,
			     struct hm_error *err)
{
	struct sq *h = be;
	struct hm_history_path_host p;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (path_len > INT32_MAX)
		return hm_error_set(err, HM_ERR_LIMIT, 0, "the path is too long");
	if ((r = prep(h, HM_HISTORY_SQL_PATH_HOSTS, &st, err)) < 0)
		return r;
	sqlite3_bind_blob(st, 1, path, (int)path_len, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p.host = (const char *)sqlite3_column_text(st, 0);
		p.first_seen = (const char *)sqlite3_column_text(st, 1);
		p.last_seen = (const char *)sqlite3_column_text(st, 2);
		p.runs = col_u64(st, 3);
		p.open = sqlite3_column_int(st, 4) != 0;
		if (!p.host || !p.first_seen || !p.last_seen) {
			r = db_error(h, SQLITE_NOMEM, "cannot read the findings", err);
			goto out;
		}
		if ((r = fn(ctx, &p, err)) < 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = db_error(h, rc, "cannot read the findings", err);
out:
	sqlite3_finalize(st);
	return r;
}

static int sq_each_manifest_host(void *be, hm_history_manifest_fn fn,
				 void *ctx, struct hm_error *err)
{
	struct sq *h = be;
	struct hm_history_manifest_host m;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = prep(h, HM_HISTORY_SQL_MANIFEST_HOSTS, &st, err)) < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *res = (const char *)sqlite3_column_text(st, 5);

		m.manifest_name = (const char *)sqlite3_column_text(st, 0);
		m.serial = col_u64(st, 1);
		m.key_id = (const char *)sqlite3_column_text(st, 2);
		m.host = (const char *)sqlite3_column_text(st, 3);
		m.started = (const char *)sqlite3_column_text(st, 4);
		m.drift = res && strcmp(res, "drift") == 0;
		if (!m.manifest_name || !m.key_id || !m.host || !m.started) {
			r = db_error(h, SQLITE_NOMEM, "cannot read the runs", err);
			goto out;
		}
		if ((r = fn(ctx, &m, err)) < 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = db_error(h, rc, "cannot read the runs", err);
out:
	sqlite3_finalize(st);
	return r;
}

static int sq_hosts(void *be, char ***ret, size_t *ret_n,
		    struct hm_error *err)
{
	struct sq *h = be;
	sqlite3_stmt *st = NULL;
	char **hosts = NULL;
	size_t n = 0, cap = 0;
	bool oom = false;
	int r, rc;

	if ((r = prep(h, "SELECT DISTINCT host FROM runs ORDER BY host", &st,
		      err)) < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			char **p = realloc(hosts, ncap * sizeof(*p));

			if (!p) {
				r = hm_error_nomem(err);
				goto out;
			}
			hosts = p;
			cap = ncap;
		}
		hosts[n] = col_dup(st, 0, &oom);
		if (oom || !hosts[n]) {
			r = hm_error_nomem(err);
			goto out;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		r = db_error(h, rc, "cannot read the runs", err);
		goto out;
	}
	*ret = hosts;
	*ret_n = n;
	hosts = NULL;
	n = 0;
out:
	sqlite3_finalize(st);
	hm_history_hosts_free(hosts, n);
	return r;
}

/* The finding of the current row of a findings query (kind, path,
 * expected, actual, detail), borrowed from st until its next step. */
static int finding_row(struct sq *h, sqlite3_stmt *st, int64_t run_id,
		       struct hm_finding *f, struct hm_error *err)
{
	const char *kind = (const char *)sqlite3_column_text(st, 0);
	int k = hm_history_kind_from_name(kind);

	if (k < 0)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "history database '%s': run %" PRId64
				    " has a finding of unknown kind '%s'",
				    h->path, run_id, kind ? kind : "");
	memset(f, 0, sizeof(*f));
	f->kind = (enum hm_finding_kind)k;
	/* column_blob then column_bytes, in that order (SQLite's rule). */
	f->path = (char *)sqlite3_column_blob(st, 1);
	f->path_len = (size_t)sqlite3_column_bytes(st, 1);
	if (!f->path)
		f->path = (char *)"";
	f->expected = (char *)sqlite3_column_text(st, 2);
	f->actual = (char *)sqlite3_column_text(st, 3);
	f->detail = (char *)sqlite3_column_text(st, 4);
	return 0;
}

static int sq_each_finding(void *be, int64_t run_id, hm_finding_fn fn,
			   void *ctx, struct hm_error *err)
{
	struct sq *h = be;
	struct hm_finding f;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = prep(h, "SELECT kind, path, expected, actual, detail"
		      " FROM findings WHERE run_id = ?1 ORDER BY id", &st, err)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, run_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = finding_row(h, st, run_id, &f, err)) < 0 ||
		    (r = fn(ctx, &f, err)) < 0)
			goto out;
	if (rc != SQLITE_DONE)
		r = db_error(h, rc, "cannot read the findings", err);
out:
	sqlite3_finalize(st);
	return r;
}


/*
 * The findings of one run with one path: the diff reads each run in path
 * order and holds only the current path's findings (copies), so its
 * memory is that of the largest group, not of the run.
 */
struct group {
	struct sq *h;
	int64_t run_id;
	sqlite3_stmt *st;          /* NULL: no run, always empty */
	int rc;                    /* last step: SQLITE_ROW while a row waits */
	struct hm_findings l;      /* this path's findings, in id order */
	size_t *order;             /* indexes into l by (kind, id) */
	size_t order_cap;
};

static void group_clear(struct group *g)
{
	size_t i;

	for (i = 0; i < g->l.n; i++) {
		free(g->l.items[i].path);
		free(g->l.items[i].expected);
		free(g->l.items[i].actual);
		free(g->l.items[i].detail);
	}
	g->l.n = 0;
}

static void group_free(struct group *g)
{
	hm_findings_free(&g->l);
	free(g->order);
	sqlite3_finalize(g->st);
}

static const struct hm_finding *group_at(const struct group *g, size_t i)
{
	return &g->l.items[g->order[i]];
}

static int group_start(struct group *g, struct sq *h, int64_t run_id,
		       struct hm_error *err)
{
	int r;

	memset(g, 0, sizeof(*g));
	g->h = h;
	g->run_id = run_id;
	g->rc = SQLITE_DONE;
	if (run_id <= 0)
		return 0;
	/* CAST: the order must be that of path_cmp, bytes then length. */
	if ((r = prep(h, "SELECT kind, path, expected, actual, detail"
		      " FROM findings WHERE run_id = ?1"
		      " ORDER BY CAST(path AS BLOB), id", &g->st, err)) < 0)
		return r;
	sqlite3_bind_int64(g->st, 1, run_id);
	g->rc = sqlite3_step(g->st);
	if (g->rc != SQLITE_ROW && g->rc != SQLITE_DONE)
		return db_error(h, g->rc, "cannot read the findings", err);
	return 0;
}

/* By kind, then by position in the run (the index: rows come in id order). */
static int group_cmp(const void *a, const void *b, void *arg)
{
	const struct hm_findings *l = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = (int)l->items[i].kind - (int)l->items[j].kind;

	if (c)
		return c;
	return i < j ? -1 : i > j;
}

static bool same_path(const struct hm_finding *x, const struct hm_finding *y)
{
	return x->path_len == y->path_len &&
	       memcmp(x->path, y->path, x->path_len) == 0;
}

/* The next path's findings, ordered by (kind, position); l.n 0 at the end. */
static int group_next(struct group *g, struct hm_error *err)
{
	struct hm_finding f;
	size_t i;
	int r;

	group_clear(g);
	while (g->rc == SQLITE_ROW) {
		if ((r = finding_row(g->h, g->st, g->run_id, &f, err)) < 0)
			return r;
		if (g->l.n && !same_path(&g->l.items[0], &f))
			break;
		if ((r = hm_findings_add(&g->l, &f, err)) < 0)
			return r;
		g->rc = sqlite3_step(g->st);
	}
	if (g->rc != SQLITE_ROW && g->rc != SQLITE_DONE)
		return db_error(g->h, g->rc, "cannot read the findings", err);
	if (g->l.n > g->order_cap) {
		size_t *p = realloc(g->order, g->l.n * sizeof(*p));

		if (!p)
			return hm_error_nomem(err);
		g->order = p;
		g->order_cap = g->l.n;
	}
	for (i = 0; i < g->l.n; i++)
		g->order[i] = i;
	if (g->l.n > 1)
		qsort_r(g->order, g->l.n, sizeof(*g->order), group_cmp, &g->l);
	return 0;
}

static int path_cmp(const struct hm_finding *x, const struct hm_finding *y)
{
	size_t n = x->path_len < y->path_len ? x->path_len : y->path_len;
	int c = memcmp(x->path, y->path, n);

	if (c)
		return c;
	if (x->path_len != y->path_len)
		return x->path_len < y->path_len ? -1 : 1;
	return 0;
}

static int emit(unsigned changes, enum hm_history_change c,
		const struct hm_finding *f, hm_history_diff_fn fn, void *ctx,
		struct hm_error *err)
{
	return changes & HM_HISTORY_CHANGE(c) ? fn(ctx, c, f, err) : 0;
}

static int sq_diff_runs(struct hm_history *hh, int64_t previous,
			int64_t last, unsigned changes, hm_history_diff_fn fn,
			void *ctx, struct hm_error *err)
{
	struct sq *h = hh->be;
	struct group p, l;
	size_t i, j;
	int r, c;

	memset(&p, 0, sizeof(p));
	memset(&l, 0, sizeof(l));
	if ((r = group_start(&p, h, previous, err)) < 0 ||
	    (r = group_start(&l, h, last, err)) < 0 ||
	    (r = group_next(&p, err)) < 0 || (r = group_next(&l, err)) < 0)
		goto out;
	while (p.l.n || l.l.n) {
		c = !p.l.n ? 1 : !l.l.n ? -1 :
		    path_cmp(group_at(&p, 0), group_at(&l, 0));
		i = j = 0;
		if (c < 0) {
			for (; i < p.l.n && r == 0; i++)
				r = emit(changes, HM_HISTORY_FIXED, group_at(&p, i),
					 fn, ctx, err);
		} else if (c > 0) {
			for (; j < l.l.n && r == 0; j++)
				r = emit(changes, HM_HISTORY_NEW, group_at(&l, j),
					 fn, ctx, err);
		} else {
			/* Same path: pair on kind, in order of position. */
			while (r == 0 && (i < p.l.n || j < l.l.n)) {
				int k = i == p.l.n ? 1 : j == l.l.n ? -1 :
					(int)group_at(&p, i)->kind -
					(int)group_at(&l, j)->kind;

				if (k < 0)
					r = emit(changes, HM_HISTORY_FIXED,
						 group_at(&p, i++), fn, ctx, err);
				else if (k > 0)
					r = emit(changes, HM_HISTORY_NEW,
						 group_at(&l, j++), fn, ctx, err);
				else {
					r = emit(changes, HM_HISTORY_PERSISTING,
						 group_at(&l, j++), fn, ctx, err);
					i++;
				}
			}
		}
		if (r < 0)
			goto out;
		if ((c <= 0 && (r = group_next(&p, err)) < 0) ||
		    (c >= 0 && (r = group_next(&l, err)) < 0))
			goto out;
	}
out:
	group_free(&p);
	group_free(&l);
	return r;
}

const struct hm_history_ops hm_history_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.check_snapshot = sq_check_snapshot,
	.max_serial = max_serial,
	.claim_serial = sq_claim_serial,
	.record = sq_record,
	.each_run = sq_each_run,
	.each_last_run = sq_each_last_run,
	.hosts = sq_hosts,
	.each_finding = sq_each_finding,
	.diff_runs = sq_diff_runs,
	.each_path_host = sq_each_path_host,
	.each_manifest_host = sq_each_manifest_host,
};
