/*
 * Unit tests: the history database (schema, refusals that leave the file
 * untouched, rollback, findings round trip) and the run-to-run diff.
 * The file is inspected through its bytes, so the test needs no SQLite.
 */
#include "harness.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <sys/stat.h>

#include "hallmark/buf.h"
#include "hallmark/history.h"

static void add(struct hm_findings *l, enum hm_finding_kind kind,
		const char *path, size_t len, const char *exp, const char *act,
		const char *detail)
{
	struct hm_finding f = { kind, (char *)path, len, (char *)exp,
				(char *)act, (char *)detail };
	struct hm_error err = { 0 };

	if (hm_findings_add(l, &f, &err) < 0)
		abort();
}

#define ADD(l, kind, path, exp, act, detail) \
	add((l), (kind), (path), sizeof(path) - 1, (exp), (act), (detail))

static void report_init(struct hm_report *r, struct hm_compare_stats *st,
			const struct hm_findings *l, const char *host,
			const char *name, const char *key, uint64_t serial)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	st->expected = 100;
	st->actual = 101;
	for (i = 0; l && i < l->n; i++)
		st->findings[l->items[i].kind]++;
	st->total_findings = l ? l->n : 0;
	memset(r, 0, sizeof(*r));
	r->tool_version = "9.9.9";
	r->target = "dir:/srv";
	r->host = host;
	r->manifest_path = "base.manifest";
	r->manifest_name = name;
	r->serial = serial;
	r->manifest_sha256 = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";
	r->key_id = key;
	r->policy_path = NULL;
	r->started = 1795000000;
	r->finished = 1795000042;
	r->exit_code = st->total_findings ? 1 : 0;
	r->stats = st;
	r->findings = l;
}

/* Record one run; returns its id or -1. */
static int64_t record(struct hm_history *h, const struct hm_findings *l,
		      const char *host, uint64_t serial, struct hm_error *err)
{
	struct hm_compare_stats st;
	struct hm_report rep;
	int64_t id = -1;

	report_init(&rep, &st, l, host, "web-base", "00112233aabbccdd", serial);
	if (hm_history_record(h, &rep, &id, err) < 0)
		return -1;
	return id;
}

static size_t slurp(const char *path, unsigned char *buf, size_t max)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, max, f);
	fclose(f);
	return n;
}

static void spit(const char *path, const unsigned char *buf, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, n, f) != n)
		abort();
	fclose(f);
}

#define DB_MAX (1 << 20)
static unsigned char before[DB_MAX], after[DB_MAX];

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* A fresh database with one run, closed. */
static int make_db(const char *path)
{
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;
	int64_t id;

	if (hm_history_open(path, HM_HISTORY_CREATE, &h, &err) < 0)
		return -1;
	id = record(h, NULL, "web1", 3, &err);
	hm_history_free(h);
	return id < 0 ? -1 : 0;
}

TEST(schema_created_in_new_file)
{
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;
	struct hm_history_run *runs = NULL;
	size_t n = 99, len;
	struct stat st;

	CHECK_OK(hm_history_open("h.db", HM_HISTORY_CREATE, &h, &err), &err);
	hm_history_free(h);
	h = NULL;
	len = slurp("h.db", before, DB_MAX);
	CHECK(len >= 100);
	CHECK(memcmp(before, "SQLite format 3", 16) == 0);
	CHECK_EQ_INT(be32(before + 60), HM_HISTORY_SCHEMA);   /* user_version */
	CHECK_EQ_INT(before[18], 2);                          /* WAL */
	CHECK_EQ_INT(before[19], 2);
	CHECK(stat("h.db", &st) == 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	/* Opened again: accepted, and empty. */
	CHECK_OK(hm_history_open("h.db", 0, &h, &err), &err);
	CHECK_OK(hm_history_runs(h, NULL, 0, &runs, &n, &err), &err);
	CHECK_EQ_INT(n, 0);
	hm_history_free(h);
}

TEST(empty_existing_file_gets_schema)
{
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;

	spit("e.db", (const unsigned char *)"", 0);
	CHECK_OK(hm_history_open("e.db", 0, &h, &err), &err);
	hm_history_free(h);
	CHECK(slurp("e.db", before, DB_MAX) >= 100);
	CHECK_EQ_INT(be32(before + 60), HM_HISTORY_SCHEMA);
}

TEST(missing_file_without_create)
{
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;

	CHECK_EQ_INT(hm_history_open("none.db", 0, &h, &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "cannot open history database 'none.db'"));
	CHECK(access("none.db", F_OK) != 0);
}

TEST(symlink_refused)
{
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;

	CHECK(make_db("real.db") == 0);
	CHECK(symlink("real.db", "link.db") == 0);
	CHECK_EQ_INT(hm_history_open("link.db", 0, &h, &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "symbolic link"));
}

TEST(newer_schema_refused_untouched)
{
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;
	size_t n, m;

	CHECK(make_db("h.db") == 0);
	n = slurp("h.db", before, DB_MAX);
	CHECK(n >= 100 && n < DB_MAX);
	before[63] = 2;                        /* user_version = 2 */
	spit("h.db", before, n);
	unlink("h.db-wal");
	unlink("h.db-shm");
	CHECK_EQ_INT(hm_history_open("h.db", HM_HISTORY_CREATE, &h, &err),
		     HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'h.db' has history schema 2, newer than this "
		     "hallmark (1): refusing to touch it");
	m = slurp("h.db", after, DB_MAX);
	CHECK_EQ_INT(m, n);
	CHECK(memcmp(before, after, n) == 0);
}

TEST(foreign_sqlite_refused_untouched)
{
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;
	size_t n;

	/* Our tables but user_version 0: someone else's database. */
	CHECK(make_db("f.db") == 0);
	n = slurp("f.db", before, DB_MAX);
	before[63] = 0;
	spit("f.db", before, n);
	CHECK_EQ_INT(hm_history_open("f.db", HM_HISTORY_CREATE, &h, &err),
		     HM_ERR_INPUT);
	CHECK(strstr(err.msg, "not a hallmark history database"));
	CHECK_EQ_INT(slurp("f.db", after, DB_MAX), n);
	CHECK(memcmp(before, after, n) == 0);
}

TEST(not_sqlite_refused_untouched)
{
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;
	uint32_t x = 2463534242u;
	size_t i;

	for (i = 0; i < 8192; i++) {      /* xorshift: "random" bytes */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		before[i] = (unsigned char)x;
	}
	spit("r.db", before, 8192);
	CHECK_EQ_INT(hm_history_open("r.db", HM_HISTORY_CREATE, &h, &err),
		     HM_ERR_INPUT);
	CHECK(strstr(err.msg, "'r.db' is not an SQLite database"));
	CHECK_EQ_INT(slurp("r.db", after, DB_MAX), 8192);
	CHECK(memcmp(before, after, 8192) == 0);
	CHECK(access("r.db-wal", F_OK) != 0);
}

TEST(bad_timeout_env)
{
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;
	int r;

	setenv(HM_HISTORY_TIMEOUT_ENV, "10s", 1);
	r = hm_history_open("h.db", HM_HISTORY_CREATE, &h, &err);
	unsetenv(HM_HISTORY_TIMEOUT_ENV);
	CHECK_EQ_INT(r, HM_ERR_USAGE);
	CHECK(strstr(err.msg, HM_HISTORY_TIMEOUT_ENV));
}

TEST(rollback)
{
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;
	struct hm_history_run *runs = NULL;
	uint64_t max = 99;
	size_t n = 0;

	CHECK_OK(hm_history_open("h.db", HM_HISTORY_CREATE, &h, &err), &err);
	CHECK_OK(hm_history_check_serial(h, "web-base", "00112233aabbccdd", 5,
					 &max, &err), &err);
	CHECK_EQ_INT(max, 0);
	CHECK(record(h, NULL, "web1", 5, &err) > 0);
	CHECK_EQ_INT(hm_history_check_serial(h, "web-base", "00112233aabbccdd",
					     3, NULL, &err), HM_ERR_TRUST);
	CHECK_EQ_STR(err.msg, "rollback: 'web-base' serial 3 is older than "
		     "serial 5 already seen with key 00112233aabbccdd");
	CHECK_OK(hm_history_check_serial(h, "web-base", "00112233aabbccdd", 5,
					 &max, &err), &err);
	CHECK_EQ_INT(max, 5);
	CHECK_OK(hm_history_check_serial(h, "web-base", "00112233aabbccdd", 6,
					 NULL, &err), &err);
	/* Per (name, key): another key or another name starts afresh. */
	CHECK_OK(hm_history_check_serial(h, "web-base", "ffffffffffffffff", 1,
					 NULL, &err), &err);
	CHECK_OK(hm_history_check_serial(h, "db-base", "00112233aabbccdd", 1,
					 NULL, &err), &err);
	/* The max only goes up: a pass at 7, then recording 3 is refused
	 * inside the transaction and stores nothing. */
	CHECK(record(h, NULL, "web1", 7, &err) > 0);
	CHECK_EQ_INT(record(h, NULL, "web1", 3, &err), -1);
	CHECK_EQ_INT(err.code, HM_ERR_TRUST);
	CHECK_OK(hm_history_runs(h, NULL, 0, &runs, &n, &err), &err);
	CHECK_EQ_INT(n, 2);
	hm_history_runs_free(runs, n);
	/* Survives a reopen. */
	hm_history_free(h);
	h = NULL;
	CHECK_OK(hm_history_open("h.db", 0, &h, &err), &err);
	CHECK_EQ_INT(hm_history_check_serial(h, "web-base", "00112233aabbccdd",
					     6, NULL, &err), HM_ERR_TRUST);
	CHECK(strstr(err.msg, "older than serial 7"));
	CHECK_EQ_INT(hm_history_check_serial(h, "web-base", "00112233aabbccdd",
					     (uint64_t)INT64_MAX + 1, NULL, &err),
		     HM_ERR_INPUT);
	hm_history_free(h);
}

TEST(findings_round_trip)
{
	struct hm_findings in = { 0 }, out = { 0 };
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;
	struct hm_history_run *runs = NULL;
	size_t n = 0, i;
	int64_t id;

	ADD(&in, HM_FINDING_CONTENT, "/etc/passwd", "sha256:aa", "sha256:bb", NULL);
	ADD(&in, HM_FINDING_ADDED, "/srv/a\nb\x1b[31m", NULL, "file", NULL);
	ADD(&in, HM_FINDING_MISSING, "/srv/\xff\x01name", "file", NULL, NULL);
	ADD(&in, HM_FINDING_XATTR, "/usr/bin/ping", "01", NULL,
	    "security.capability");
	ADD(&in, HM_FINDING_XATTR, "/usr/bin/ping", NULL, "02", "user.x");
	CHECK_OK(hm_history_open("h.db", HM_HISTORY_CREATE, &h, &err), &err);
	id = record(h, &in, "web\n1", 4, &err);
	CHECK(id > 0);
	CHECK_OK(hm_history_findings(h, id, &out, &err), &err);
	CHECK_EQ_INT(out.n, in.n);
	for (i = 0; i < in.n; i++) {
		const struct hm_finding *a = &in.items[i], *b = &out.items[i];

		CHECK_EQ_INT(b->kind, a->kind);
		CHECK_EQ_INT(b->path_len, a->path_len);
		CHECK(memcmp(b->path, a->path, a->path_len) == 0);
		CHECK_EQ_INT(b->path[b->path_len], '\0');
		CHECK((a->expected == NULL) == (b->expected == NULL));
		CHECK(!a->expected || strcmp(a->expected, b->expected) == 0);
		CHECK((a->actual == NULL) == (b->actual == NULL));
		CHECK(!a->actual || strcmp(a->actual, b->actual) == 0);
		CHECK((a->detail == NULL) == (b->detail == NULL));
		CHECK(!a->detail || strcmp(a->detail, b->detail) == 0);
	}
	CHECK_OK(hm_history_runs(h, "web\n1", 0, &runs, &n, &err), &err);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(runs[0].id, id);
	CHECK_EQ_STR(runs[0].host, "web\n1");
	CHECK_EQ_STR(runs[0].target, "dir:/srv");
	CHECK_EQ_STR(runs[0].manifest_name, "web-base");
	CHECK_EQ_INT(runs[0].serial, 4);
	CHECK_EQ_STR(runs[0].key_id, "00112233aabbccdd");
	CHECK(runs[0].policy == NULL);
	CHECK_EQ_STR(runs[0].started, "2026-11-18T11:06:40Z");
	CHECK_EQ_STR(runs[0].finished, "2026-11-18T11:07:22Z");
	CHECK(runs[0].drift);
	CHECK_EQ_INT(runs[0].exit_code, 1);
	CHECK_EQ_INT(runs[0].entries, 100);
	CHECK_EQ_INT(runs[0].target_entries, 101);
	CHECK_EQ_INT(runs[0].findings, 5);
	CHECK_EQ_INT(runs[0].counts[HM_FINDING_XATTR], 2);
	CHECK_EQ_INT(runs[0].counts[HM_FINDING_CONTENT], 1);
	CHECK_EQ_INT(runs[0].counts[HM_FINDING_MODE], 0);
	CHECK_EQ_STR(runs[0].tool_version, "9.9.9");
	hm_history_runs_free(runs, n);
	hm_findings_free(&in);
	hm_findings_free(&out);
	hm_history_free(h);
}

TEST(runs_newest_first_by_host)
{
	struct hm_findings one = { 0 };
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;
	struct hm_history_run *runs = NULL;
	char **hosts = NULL;
	int64_t a, b, c, d;
	size_t n = 0;

	ADD(&one, HM_FINDING_MODE, "/etc/shadow", "0640", "0644", NULL);
	CHECK_OK(hm_history_open("h.db", HM_HISTORY_CREATE, &h, &err), &err);
	a = record(h, NULL, "web2", 1, &err);
	b = record(h, &one, "web1", 1, &err);
	c = record(h, NULL, "web2", 2, &err);
	d = record(h, NULL, "web1", 2, &err);
	CHECK(a > 0 && b > a && c > b && d > c);
	CHECK_OK(hm_history_runs(h, NULL, 0, &runs, &n, &err), &err);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_INT(runs[0].id, d);
	CHECK_EQ_INT(runs[3].id, a);
	CHECK(!runs[0].drift);
	CHECK(runs[2].drift);
	hm_history_runs_free(runs, n);
	CHECK_OK(hm_history_runs(h, "web2", 1, &runs, &n, &err), &err);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(runs[0].id, c);
	hm_history_runs_free(runs, n);
	CHECK_OK(hm_history_runs(h, "nohost", 0, &runs, &n, &err), &err);
	CHECK_EQ_INT(n, 0);
	hm_history_runs_free(runs, n);
	CHECK_OK(hm_history_hosts(h, &hosts, &n, &err), &err);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(hosts[0], "web1");
	CHECK_EQ_STR(hosts[1], "web2");
	hm_history_hosts_free(hosts, n);
	hm_findings_free(&one);
	hm_history_free(h);
}

struct seen {
	char text[1024];
	size_t len;
};

static int note(void *ctx, enum hm_history_change c, const struct hm_finding *f,
		struct hm_error *err)
{
	struct seen *s = ctx;
	int n;

	(void)err;
	n = snprintf(s->text + s->len, sizeof(s->text) - s->len, "%s %s %.*s %s|",
		     hm_history_change_name(c), hm_finding_kind_name(f->kind),
		     (int)f->path_len, f->path, f->actual ? f->actual : "-");
	if (n > 0)
		s->len += (size_t)n;
	return 0;
}

TEST(diff_new_fixed_persisting)
{
	struct hm_findings prev = { 0 }, last = { 0 };
	struct hm_error err = { 0 };
	struct seen s = { "", 0 };

	ADD(&prev, HM_FINDING_MODE, "/b", "0644", "0666", NULL);
	ADD(&prev, HM_FINDING_CONTENT, "/a", "sha256:1", "sha256:2", NULL);
	ADD(&prev, HM_FINDING_MISSING, "/c", "file", NULL, NULL);
	ADD(&prev, HM_FINDING_XATTR, "/x", NULL, "1", "user.a");
	ADD(&prev, HM_FINDING_XATTR, "/x", NULL, "2", "user.b");
	ADD(&last, HM_FINDING_ADDED, "/d", NULL, "file", NULL);
	ADD(&last, HM_FINDING_CONTENT, "/a", "sha256:1", "sha256:3", NULL);
	ADD(&last, HM_FINDING_CONTENT, "/b", "sha256:1", "sha256:9", NULL);
	ADD(&last, HM_FINDING_XATTR, "/x", NULL, "2", "user.b");
	CHECK_OK(hm_history_diff(&prev, &last, note, &s, &err), &err);
	/* Same path, other kind is new + fixed; the new value is reported. */
	CHECK_EQ_STR(s.text,
		     "persisting content /a sha256:3|"
		     "new content /b sha256:9|"
		     "fixed mode /b 0666|"
		     "fixed missing /c -|"
		     "new added /d file|"
		     "persisting xattr /x 2|"
		     "fixed xattr /x 2|");
	/* Against nothing: all new; and the reverse: all fixed. */
	s.len = 0;
	s.text[0] = '\0';
	CHECK_OK(hm_history_diff(NULL, &prev, note, &s, &err), &err);
	CHECK(strncmp(s.text, "new content /a", 14) == 0);
	CHECK(strstr(s.text, "fixed") == NULL);
	s.len = 0;
	s.text[0] = '\0';
	CHECK_OK(hm_history_diff(&prev, NULL, note, &s, &err), &err);
	CHECK(strstr(s.text, "new") == NULL);
	CHECK(strstr(s.text, "fixed xattr /x 2|"));
	hm_findings_free(&prev);
	hm_findings_free(&last);
}

TEST(diff_paths_compared_as_bytes)
{
	struct hm_findings prev = { 0 }, last = { 0 };
	struct hm_error err = { 0 };
	struct seen s = { "", 0 };

	/* "/a" and "/a\0"-free prefixes: different lengths, same start. */
	ADD(&prev, HM_FINDING_MODE, "/a\xff", "0644", "0600", NULL);
	ADD(&last, HM_FINDING_MODE, "/a", "0644", "0600", NULL);
	ADD(&last, HM_FINDING_MODE, "/a\xff", "0644", "0601", NULL);
	CHECK_OK(hm_history_diff(&prev, &last, note, &s, &err), &err);
	CHECK_EQ_STR(s.text, "new mode /a 0600|persisting mode /a\xff 0601|");
	hm_findings_free(&prev);
	hm_findings_free(&last);
}

static int note_buf(void *ctx, enum hm_history_change c,
		    const struct hm_finding *f, struct hm_error *err)
{
	(void)err;
	if (hm_buf_addf(ctx, "%s %s ", hm_history_change_name(c),
			hm_finding_kind_name(f->kind)) < 0 ||
	    hm_buf_add(ctx, f->path, f->path_len) < 0 ||
	    hm_buf_addf(ctx, " %s %s|", f->actual ? f->actual : "-",
			f->detail ? f->detail : "-") < 0)
		abort();
	return 0;
}

/* The diff read from the database in path order gives what the diff of
 * the two lists in memory gives, call for call; and a mask keeps the
 * order of the changes it selects. */
TEST(diff_runs_same_as_in_memory)
{
	static const char *const paths[] = {
		"/a", "/a/b", "/a\xff", "/a ", "/b", "/\xc3\xa9", "/x\ny", "/a/b/c",
	};
	static const char *const values[] = { NULL, "1", "2" };
	struct hm_findings prev = { 0 }, last = { 0 }, rp = { 0 }, rl = { 0 };
	struct hm_buf mem = HM_BUF_INIT, db = HM_BUF_INIT, one = HM_BUF_INIT;
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;
	uint32_t x = 2463534242u;
	int64_t a, b;
	int i, round, c;

	CHECK_OK(hm_history_open("h.db", HM_HISTORY_CREATE, &h, &err), &err);
	for (round = 0; round < 20; round++) {
		struct hm_findings *l[2] = { &prev, &last };
		int k;

		for (k = 0; k < 2; k++) {
			int n = (int)(x % 40);

			for (i = 0; i < n; i++) {
				const char *p;

				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				p = paths[x % 8];
				add(l[k], (enum hm_finding_kind)((x >> 3) % HM_FINDING__COUNT),
				    p, strlen(p), NULL, values[(x >> 8) % 3],
				    values[(x >> 10) % 3]);
			}
		}
		a = record(h, &prev, "web1", 1, &err);
		b = record(h, &last, "web1", 1, &err);
		CHECK(a > 0 && b > a);
		/* Round-trip through the database, then diff in memory. */
		CHECK_OK(hm_history_findings(h, a, &rp, &err), &err);
		CHECK_OK(hm_history_findings(h, b, &rl, &err), &err);
		CHECK_EQ_INT(rp.n, prev.n);
		CHECK_OK(hm_history_diff(&rp, &rl, note_buf, &mem, &err), &err);
		CHECK_OK(hm_history_diff_runs(h, a, b, HM_HISTORY_ALL_CHANGES,
					      note_buf, &db, &err), &err);
		CHECK(hm_buf_adds(&mem, "") == 0 && hm_buf_adds(&db, "") == 0);
		CHECK_EQ_STR(db.data, mem.data);
		/* One change at a time: the calls of that change, in order. */
		for (c = HM_HISTORY_NEW; c <= HM_HISTORY_PERSISTING; c++) {
			const char *name = hm_history_change_name((enum hm_history_change)c);
			const char *p = mem.data;
			size_t len = strlen(name);
			struct hm_buf want = HM_BUF_INIT;

			while (*p) {
				const char *end = strchr(p, '|');

				/* Paths hold no '|': each call ends at one. */
				if (strncmp(p, name, len) == 0 && p[len] == ' ')
					CHECK(hm_buf_add(&want, p, (size_t)(end - p) + 1) == 0);
				p = end + 1;
			}
			hm_buf_reset(&one);
			CHECK_OK(hm_history_diff_runs(h, a, b, HM_HISTORY_CHANGE(c),
						      note_buf, &one, &err), &err);
			CHECK(hm_buf_adds(&one, "") == 0 && hm_buf_adds(&want, "") == 0);
			CHECK_EQ_STR(one.data, want.data);
			hm_buf_free(&want);
		}
		/* No previous run: everything of the last one is new. */
		hm_buf_reset(&one);
		CHECK_OK(hm_history_diff_runs(h, 0, b, HM_HISTORY_ALL_CHANGES,
					      note_buf, &one, &err), &err);
		CHECK(hm_buf_adds(&one, "") == 0);
		CHECK(strstr(one.data, "fixed") == NULL &&
		      strstr(one.data, "persisting") == NULL);
		hm_buf_reset(&mem);
		hm_buf_reset(&db);
		hm_findings_free(&prev);
		hm_findings_free(&last);
		hm_findings_free(&rp);
		hm_findings_free(&rl);
	}
	hm_buf_free(&mem);
	hm_buf_free(&db);
	hm_buf_free(&one);
	hm_history_free(h);
}

static int count_run(void *ctx, const struct hm_history_run *run,
		     struct hm_error *err)
{
	(void)run;
	(void)err;
	(*(size_t *)ctx)++;
	return 0;
}

/* HM_HISTORY_READONLY never writes: an empty file stays empty, a missing
 * one is "no history", and recording on such a handle is refused. */
TEST(readonly_open_writes_nothing)
{
	struct hm_findings one = { 0 };
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;
	size_t n = 0, m = 0;
	struct stat st;

	spit("e.db", (const unsigned char *)"", 0);
	CHECK_EQ_INT(hm_history_open("e.db", HM_HISTORY_READONLY, &h, &err),
		     HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "no history at 'e.db': the file is empty");
	CHECK(stat("e.db", &st) == 0 && st.st_size == 0);
	CHECK(access("e.db-wal", F_OK) != 0);
	CHECK_EQ_INT(hm_history_open("none.db", HM_HISTORY_READONLY, &h, &err),
		     HM_ERR_IO);
	CHECK(strstr(err.msg, "no history at 'none.db'"));
	CHECK(access("none.db", F_OK) != 0);

	CHECK(make_db("h.db") == 0);
	n = slurp("h.db", before, DB_MAX);
	CHECK_OK(hm_history_open("h.db", HM_HISTORY_READONLY, &h, &err), &err);
	CHECK_OK(hm_history_each_run(h, NULL, 0, count_run, &m, &err), &err);
	CHECK_EQ_INT(m, 1);
	ADD(&one, HM_FINDING_MODE, "/etc/shadow", "0640", "0644", NULL);
	CHECK(record(h, &one, "web1", 4, &err) < 0);
	CHECK_EQ_INT(err.code, HM_ERR_USAGE);
	CHECK_OK(hm_history_check_snapshot(h, &err), &err);
	hm_history_free(h);
	CHECK_EQ_INT(slurp("h.db", after, DB_MAX), n);
	CHECK(memcmp(before, after, n) == 0);
	hm_findings_free(&one);
}

/* A link among the folders is followed; the file itself as a link is not. */
TEST(linked_folder_followed_link_file_refused)
{
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;

	CHECK(mkdir("real", 0700) == 0);
	CHECK(symlink("real", "lnk") == 0);
	CHECK_OK(hm_history_open("lnk/h.db", HM_HISTORY_CREATE, &h, &err), &err);
	CHECK(record(h, NULL, "web1", 1, &err) > 0);
	hm_history_free(h);
	CHECK(access("real/h.db", F_OK) == 0);
	CHECK_OK(hm_history_open("lnk/h.db", HM_HISTORY_READONLY, &h, &err), &err);
	hm_history_free(h);
	CHECK(symlink("h.db", "real/l.db") == 0);
	CHECK_EQ_INT(hm_history_open("lnk/l.db", 0, &h, &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "symbolic link"));
	CHECK_EQ_INT(hm_history_open("lnk/l.db", HM_HISTORY_READONLY, &h, &err),
		     HM_ERR_IO);
	CHECK(strstr(err.msg, "symbolic link"));
}

TEST(claim_serial_raises_at_once)
{
	struct hm_error err = { 0 };
	struct hm_history *h = NULL, *ro = NULL;
	uint64_t max = 0;

	CHECK_OK(hm_history_open("c.db", HM_HISTORY_CREATE, &h, &err), &err);
	/* A claim is recorded before any run: serial 4 racing serial 5,
	 * both claimed, 4 cannot record whichever order they finish in. */
	CHECK_OK(hm_history_claim_serial(h, "web-base", "00112233aabbccdd", 4,
					 &err), &err);
	CHECK_OK(hm_history_check_serial(h, "web-base", "00112233aabbccdd", 4,
					 &max, &err), &err);
	CHECK_EQ_INT(max, 4);
	CHECK_OK(hm_history_claim_serial(h, "web-base", "00112233aabbccdd", 5,
					 &err), &err);
	CHECK_EQ_INT(record(h, NULL, "web1", 4, &err), -1);
	CHECK_EQ_INT(err.code, HM_ERR_TRUST);
	CHECK(record(h, NULL, "web2", 5, &err) > 0);
	CHECK_EQ_INT(hm_history_claim_serial(h, "web-base", "00112233aabbccdd",
					     3, &err), HM_ERR_TRUST);
	CHECK_EQ_STR(err.msg, "rollback: 'web-base' serial 3 is older than "
		     "serial 5 already seen with key 00112233aabbccdd");
	CHECK_EQ_INT(hm_history_claim_serial(h, "web-base", "00112233aabbccdd",
					     (uint64_t)INT64_MAX + 1, &err),
		     HM_ERR_INPUT);
	hm_history_free(h);
	CHECK_OK(hm_history_open("c.db", HM_HISTORY_READONLY, &ro, &err), &err);
	CHECK_EQ_INT(hm_history_claim_serial(ro, "web-base", "00112233aabbccdd",
					     9, &err), HM_ERR_USAGE);
	CHECK(!hm_history_is_postgresql(ro));
	hm_history_free(ro);
	CHECK(hm_history_is_uri("postgresql://db/fleet"));
	CHECK(hm_history_is_uri("postgres://db/fleet"));
	CHECK(!hm_history_is_uri("postgresql.db"));
	CHECK(!hm_history_is_uri("./postgres://x"));
}

struct fseen {
	char text[1024];
	size_t n;
};

static int see_run(void *ctx, const struct hm_history_run *x,
		   struct hm_error *err)
{
	struct fseen *s = ctx;
	size_t len = strlen(s->text);

	(void)err;
	snprintf(s->text + len, sizeof(s->text) - len, "%s:%" PRId64 ":%s:%" PRIu64 ";",
		 x->host, x->id, x->drift ? "drift" : "pass", x->findings);
	s->n++;
	return 0;
}

static int see_path(void *ctx, const struct hm_history_path_host *p,
		    struct hm_error *err)
{
	struct fseen *s = ctx;
	size_t len = strlen(s->text);

	(void)err;
	snprintf(s->text + len, sizeof(s->text) - len, "%s:%s:%" PRIu64 ";",
		 p->host, p->open ? "open" : "fixed", p->runs);
	return 0;
}

static int see_manifest(void *ctx, const struct hm_history_manifest_host *m,
			struct hm_error *err)
{
	struct fseen *s = ctx;
	size_t len = strlen(s->text);

	(void)err;
	snprintf(s->text + len, sizeof(s->text) - len, "%s#%" PRIu64 "@%s;",
		 m->manifest_name, m->serial, m->host);
	return 0;
}

TEST(fleet_views)
{
	struct hm_error err = { 0 };
	struct hm_history *h = NULL;
	struct hm_findings a = { 0 }, none = { 0 };
	struct fseen s;

	ADD(&a, HM_FINDING_CONTENT, "/etc/a", "x", "y", NULL);
	ADD(&a, HM_FINDING_MODE, "/etc/a", "0644", "0600", NULL);
	CHECK_OK(hm_history_open("f.db", HM_HISTORY_CREATE, &h, &err), &err);
	CHECK(record(h, &none, "web2", 1, &err) == 1);
	CHECK(record(h, &a, "web1", 1, &err) == 2);
	CHECK(record(h, &a, "web2", 2, &err) == 3);
	CHECK(record(h, &a, "web1", 2, &err) == 4);
	CHECK(record(h, &none, "web1", 2, &err) == 5);
	/* A name that sorts after by bytes, before in a locale. */
	CHECK(record(h, &none, "Web3", 2, &err) == 6);
	memset(&s, 0, sizeof(s));
	CHECK_OK(hm_history_each_last_run(h, see_run, &s, &err), &err);
	CHECK_EQ_STR(s.text, "Web3:6:pass:0;web1:5:pass:0;web2:3:drift:2;");
	memset(&s, 0, sizeof(s));
	CHECK_OK(hm_history_each_path_host(h, "/etc/a", 6, see_path, &s, &err), &err);
	CHECK_EQ_STR(s.text, "web1:fixed:2;web2:open:1;");
	memset(&s, 0, sizeof(s));
	CHECK_OK(hm_history_each_path_host(h, "/etc/a\0", 7, see_path, &s, &err), &err);
	CHECK_EQ_STR(s.text, "");
	memset(&s, 0, sizeof(s));
	CHECK_OK(hm_history_each_manifest_host(h, see_manifest, &s, &err), &err);
	CHECK_EQ_STR(s.text, "web-base#2@Web3;web-base#2@web1;web-base#2@web2;");
	hm_history_free(h);
	hm_findings_free(&a);
}
