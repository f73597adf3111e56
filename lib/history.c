/*
 * Drift history (docs/history.md): the API of hallmark/history.h over two
 * backends, SQLite (lib/history_sqlite.c) for a file and PostgreSQL
 * (lib/history_pg.c) for a postgresql:// URI.  What does not depend on
 * the database lives here: which backend, the checks of the arguments,
 * the rollback message, collecting runs, and the in-memory diff.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hallmark/history.h"
#include "history_private.h"

/* The schema both backends check a database against. */
const struct hm_history_table hm_history_tables[HM_HISTORY_N_TABLES] = {
	{ "runs", "id,host,target,manifest_name,serial,manifest_sha256,key_id,"
		  "policy,started,finished,result,exit_code,entries,"
		  "target_entries,findings,tool_version" },
	{ "run_counts", "run_id,kind,count" },
	{ "findings", "id,run_id,kind,path,expected,actual,detail" },
	{ "serials", "manifest_name,key_id,max_serial" },
};

bool hm_history_is_uri(const char *db)
{
	return strncmp(db, "postgresql://", 13) == 0 ||
	       strncmp(db, "postgres://", 11) == 0;
}

bool hm_history_is_postgresql(const struct hm_history *h)
{
	return h && h->ops == &hm_history_pg_ops;
}

int hm_history_open(const char *path, unsigned flags, struct hm_history **ret,
		    struct hm_error *err)
{
	struct hm_history *h;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h || !(h->path = strdup(path))) {
		free(h);
		return hm_error_nomem(err);
	}
	h->readonly = flags & HM_HISTORY_READONLY;
	h->ops = hm_history_is_uri(path) ? &hm_history_pg_ops :
					   &hm_history_sqlite_ops;
	if ((r = h->ops->open(h, flags, err)) < 0) {
		hm_history_free(h);
		return r;
	}
	*ret = h;
	return 0;
}

void hm_history_free(struct hm_history *h)
{
	if (!h)
		return;
	if (h->be)
		h->ops->close(h->be);
	free(h->path);
	free(h);
}

int hm_history_check_snapshot(struct hm_history *h, struct hm_error *err)
{
	return h->ops->check_snapshot(h->be, err);
}

int hm_history_rollback_error(const char *name, uint64_t serial,
			      uint64_t max, const char *key_id,
			      struct hm_error *err)
{
	return hm_error_set(err, HM_ERR_TRUST, 0,
			    "rollback: '%s' serial %" PRIu64
			    " is older than serial %" PRIu64
			    " already seen with key %s",
			    name, serial, max, key_id);
}

static int check_range(const char *name, uint64_t serial, struct hm_error *err)
{
	if (serial > (uint64_t)HM_HISTORY_MAX_SERIAL)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' serial %" PRIu64 " is too large for the history (at most %" PRId64 ")",
				    name, serial, (int64_t)HM_HISTORY_MAX_SERIAL);
	return 0;
}

int hm_history_check_serial(struct hm_history *h, const char *name,
			    const char *key_id, uint64_t serial,
			    uint64_t *ret_max, struct hm_error *err)
{
	uint64_t max;
	bool found;
	int r;

	if ((r = check_range(name, serial, err)) < 0 ||
	    (r = h->ops->max_serial(h->be, name, key_id, &max, &found, err)) < 0)
		return r;
	if (found && serial < max)
		return hm_history_rollback_error(name, serial, max, key_id, err);
	if (ret_max)
		*ret_max = max;
	return 0;
}

static int refuse_readonly(const struct hm_history *h, struct hm_error *err)
{
	return hm_error_set(err, HM_ERR_USAGE, 0,
			    "history database '%s' was opened read-only: nothing recorded",
			    h->path);
}

int hm_history_claim_serial(struct hm_history *h, const char *name,
			    const char *key_id, uint64_t serial,
			    struct hm_error *err)
{
	int r;

	if (h->readonly)
		return refuse_readonly(h, err);
	if ((r = check_range(name, serial, err)) < 0)
		return r;
	return h->ops->claim_serial(h->be, name, key_id, serial, err);
}

int hm_history_record(struct hm_history *h, const struct hm_report *rep,
		      int64_t *ret_id, struct hm_error *err)
{
	int64_t id = 0;
	int r;

	if (h->readonly)
		return refuse_readonly(h, err);
	if (!rep->target || !rep->manifest_name || !rep->manifest_sha256 ||
	    !rep->key_id || !rep->stats ||
	    (rep->exit_code != HM_EXIT_OK && rep->exit_code != HM_EXIT_DRIFT))
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "incomplete run: nothing recorded in '%s'", h->path);
	if ((r = check_range(rep->manifest_name, rep->serial, err)) < 0 ||
	    (r = h->ops->record(h->be, rep, &id, err)) < 0)
		return r;
	if (ret_id)
		*ret_id = id;
	return 0;
}

int hm_history_each_run(struct hm_history *h, const char *host, size_t limit,
			hm_history_run_fn fn, void *ctx, struct hm_error *err)
{
	return h->ops->each_run(h->be, host, limit, fn, ctx, err);
}

int hm_history_each_last_run(struct hm_history *h, hm_history_run_fn fn,
			     void *ctx, struct hm_error *err)
{
	return h->ops->each_last_run(h->be, fn, ctx, err);
}

int hm_history_hosts(struct hm_history *h, char ***ret, size_t *ret_n,
		     struct hm_error *err)
{
	*ret = NULL;
	*ret_n = 0;
	return h->ops->hosts(h->be, ret, ret_n, err);
}

int hm_history_each_finding(struct hm_history *h, int64_t run_id,
			    hm_finding_fn fn, void *ctx, struct hm_error *err)
{
	return h->ops->each_finding(h->be, run_id, fn, ctx, err);
}

int hm_history_diff_runs(struct hm_history *h, int64_t previous, int64_t last,
			 unsigned changes, hm_history_diff_fn fn, void *ctx,
			 struct hm_error *err)
{
	return h->ops->diff_runs(h, previous, last, changes, fn, ctx, err);
}

int hm_history_each_path_host(struct hm_history *h, const char *path,
			      size_t path_len, hm_history_path_fn fn,
			      void *ctx, struct hm_error *err)
{
	return h->ops->each_path_host(h->be, path, path_len, fn, ctx, err);
}

int hm_history_each_manifest_host(struct hm_history *h,
				  hm_history_manifest_fn fn, void *ctx,
				  struct hm_error *err)
{
	return h->ops->each_manifest_host(h->be, fn, ctx, err);
}

void hm_history_format_time(time_t t, char out[32])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

int hm_history_kind_from_name(const char *name)
{
	int k;

	for (k = 0; name && k < HM_FINDING__COUNT; k++)
		if (strcmp(name, hm_finding_kind_name((enum hm_finding_kind)k)) == 0)
			return k;
	return -1;
}

static void run_clear(struct hm_history_run *x)
{
	free(x->host);
	free(x->target);
	free(x->manifest_name);
	free(x->manifest_sha256);
	free(x->key_id);
	free(x->policy);
	free(x->started);
	free(x->finished);
	free(x->tool_version);
}

void hm_history_runs_free(struct hm_history_run *runs, size_t n)
{
	size_t i;

	for (i = 0; runs && i < n; i++)
		run_clear(&runs[i]);
	free(runs);
}

struct run_list {
	struct hm_history_run *v;
	size_t n, cap;
};

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*oom = true;
	return d;
}

static int collect_run(void *ctx, const struct hm_history_run *x,
		       struct hm_error *err)
{
	struct run_list *l = ctx;
	struct hm_history_run *y;
	bool oom = false;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		struct hm_history_run *p = realloc(l->v, ncap * sizeof(*p));

		if (!p)
			return hm_error_nomem(err);
		l->v = p;
		l->cap = ncap;
	}
	y = &l->v[l->n++];
	*y = *x;
	y->host = dup_or_null(x->host, &oom);
	y->target = dup_or_null(x->target, &oom);
	y->manifest_name = dup_or_null(x->manifest_name, &oom);
	y->manifest_sha256 = dup_or_null(x->manifest_sha256, &oom);
	y->key_id = dup_or_null(x->key_id, &oom);
	y->policy = dup_or_null(x->policy, &oom);
	y->started = dup_or_null(x->started, &oom);
	y->finished = dup_or_null(x->finished, &oom);
	y->tool_version = dup_or_null(x->tool_version, &oom);
	return oom ? hm_error_nomem(err) : 0;
}

int hm_history_runs(struct hm_history *h, const char *host, size_t limit,
		    struct hm_history_run **ret, size_t *ret_n,
		    struct hm_error *err)
{
	struct run_list l = { 0 };
	int r;

	if ((r = hm_history_each_run(h, host, limit, collect_run, &l, err)) < 0) {
		hm_history_runs_free(l.v, l.n);
		return r;
	}
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

void hm_history_hosts_free(char **hosts, size_t n)
{
	size_t i;

	for (i = 0; hosts && i < n; i++)
		free(hosts[i]);
	free(hosts);
}

int hm_history_findings(struct hm_history *h, int64_t run_id,
			struct hm_findings *out, struct hm_error *err)
{
	return hm_history_each_finding(h, run_id, hm_findings_collect, out, err);
}
const char *hm_history_change_name(enum hm_history_change c)
{
	switch (c) {
	case HM_HISTORY_NEW: return "new";
	case HM_HISTORY_FIXED: return "fixed";
	case HM_HISTORY_PERSISTING: return "persisting";
	}
	return "unknown";
}

/* Order of (path bytes, kind). */
static int key_cmp(const struct hm_finding *x, const struct hm_finding *y)
{
	size_t n = x->path_len < y->path_len ? x->path_len : y->path_len;
	int c = memcmp(x->path, y->path, n);

	if (c)
		return c;
	if (x->path_len != y->path_len)
		return x->path_len < y->path_len ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

/* Ties broken by position in the list, so the result is deterministic. */
static int ptr_cmp(const void *a, const void *b)
{
	const struct hm_finding *x = *(const struct hm_finding *const *)a;
	const struct hm_finding *y = *(const struct hm_finding *const *)b;
	int c = key_cmp(x, y);

	if (c)
		return c;
	return x < y ? -1 : x > y;
}

static const struct hm_finding **sorted(const struct hm_findings *l)
{
	const struct hm_finding **v;
	size_t i, n = l ? l->n : 0;

	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < n; i++)
		v[i] = &l->items[i];
	qsort(v, n, sizeof(*v), ptr_cmp);
	return v;
}

int hm_history_diff(const struct hm_findings *previous,
		    const struct hm_findings *last, hm_history_diff_fn fn,
		    void *ctx, struct hm_error *err)
{
	const struct hm_finding **p = sorted(previous), **l = sorted(last);
	size_t np = previous ? previous->n : 0, nl = last ? last->n : 0;
	size_t i = 0, j = 0;
	int r = 0, c;

	if (!p || !l) {
		r = hm_error_nomem(err);
		goto out;
	}
	while (r == 0 && (i < np || j < nl)) {
		if (i == np)
			c = 1;
		else if (j == nl)
			c = -1;
		else
			c = key_cmp(p[i], l[j]);
		if (c < 0)
			r = fn(ctx, HM_HISTORY_FIXED, p[i++], err);
		else if (c > 0)
			r = fn(ctx, HM_HISTORY_NEW, l[j++], err);
		else {
			r = fn(ctx, HM_HISTORY_PERSISTING, l[j++], err);
			i++;
		}
	}
out:
	free(p);
	free(l);
	return r;
}
