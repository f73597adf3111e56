/*
 * `hallmark history`: the runs recorded by `verify --db`, per host and
 * newest first, and with --diff what is new, fixed or persisting in each
 * host's last run against the run before it (docs/history.md).
 *
 * Everything printed that came from a target or a command line goes
 * through an escape: paths with the manifest escaping (hm_escape), other
 * strings with \ooo for control and non-ASCII bytes, so a hostile name
 * can neither forge an output line nor make the JSON invalid.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hallmark/buf.h"
#include "hallmark/cli.h"
#include "hallmark/history.h"
#include "hallmark/json_out.h"
#include "hallmark/manifest.h"
#include "verifier.h"

#define HISTORY_DEFAULT_LIMIT 20
#define HISTORY_MAX_LIMIT 1000000

static const char history_usage[] =
	"usage: hallmark history [--db FILE|URI] [--host NAME] [--limit N] [--diff]\n"
	"       [--fleet [--stale-after DURATION]] [--path PATH] [--manifests]\n"
	"       [--format text|json]\n"
	"\n"
	"Show the runs that 'verify --db' recorded: per host, newest first, with\n"
	"their result and findings counted by kind.  With --diff, compare each\n"
	"host's last run with the run before it: findings are new, fixed or\n"
	"persisting (matched on kind and path).  The fleet views: --fleet, one\n"
	"line per host (its last run, result, open findings, age); --path, the\n"
	"hosts that drifted at PATH and since when; --manifests, which hosts\n"
	"run which serial of each manifest.\n"
	"\n"
	"  -d, --db FILE|URI        the history database: an SQLite file or a\n"
	"                           postgresql:// URI\n"
	"                           (default: " HM_HISTORY_DEFAULT_DB ")\n"
	"  -H, --host NAME          only this host\n"
	"  -n, --limit N            at most N runs per host (default: 20; 0: all)\n"
	"  -D, --diff               what changed since each host's previous run\n"
	"  -F, --fleet              the last run of every host\n"
	"  -S, --stale-after DURATION  with --fleet: a host whose last run is older\n"
	"                           (90m, 26h, 7d) is a finding (exit 1)\n"
	"  -P, --path PATH          the hosts with findings at PATH\n"
	"  -M, --manifests          the serial each host runs, per manifest\n"
	"  -f, --format FORMAT      text (default) or json\n"
	"  -h, --help               show this help\n"
	"\n"
	"exit: 0 shown, 1 stale hosts (--stale-after), 2 usage, input or I/O\n"
	"error (a missing, locked, foreign or newer database)\n";

/*
 * JSON is written as it is produced, through the streaming writer
 * (hallmark/json_out.h), in exactly the layout json_dumpf gives a whole
 * document: one run or finding is in memory at a time.
 */
struct ctx {
	struct hm_history *h;
	bool json;
	struct hm_buf tmp;
	struct hm_error err;
	struct hm_json_out out;
};

/* Control bytes, non-ASCII and '\' as \ooo; NULL for NULL. */
static const char *safe(struct ctx *c, const char *s)
{
	const unsigned char *p;

	if (!s)
		return NULL;
	hm_buf_reset(&c->tmp);
	for (p = (const unsigned char *)s; *p; p++) {
		int r = *p < 0x20 || *p > 0x7e || *p == '\\' ?
			hm_buf_addf(&c->tmp, "\\%03o", *p) :
			hm_buf_addc(&c->tmp, (char)*p);

		if (r < 0)
			return "?";
	}
	if (hm_buf_adds(&c->tmp, "") < 0)
		return "?";
	return c->tmp.data;
}

static const char *safe_path(struct ctx *c, const struct hm_finding *f)
{
	hm_buf_reset(&c->tmp);
	if (hm_escape(&c->tmp, f->path, f->path_len, 0) < 0 ||
	    hm_buf_adds(&c->tmp, "") < 0)
		return "?";
	return c->tmp.data;
}

/* json_string of a safe (ASCII) copy, or null. */
static json_t *jstr(struct ctx *c, const char *s)
{
	return s ? json_string(safe(c, s)) : json_null();
}

static json_t *juint(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *run_json(struct ctx *c, const struct hm_history_run *x)
{
	json_t *o = json_object(), *m = json_object(), *k = json_object();
	int i;

	json_object_set_new(o, "id", json_integer(x->id));
	json_object_set_new(o, "host", jstr(c, x->host));
	json_object_set_new(o, "target", jstr(c, x->target));
	json_object_set_new(m, "name", jstr(c, x->manifest_name));
	json_object_set_new(m, "serial", juint(x->serial));
	json_object_set_new(m, "sha256", jstr(c, x->manifest_sha256));
	json_object_set_new(m, "key_id", jstr(c, x->key_id));
	json_object_set_new(o, "manifest", m);
	json_object_set_new(o, "policy", jstr(c, x->policy));
	json_object_set_new(o, "started", jstr(c, x->started));
	json_object_set_new(o, "finished", jstr(c, x->finished));
	json_object_set_new(o, "result", json_string(x->drift ? "drift" : "pass"));
	json_object_set_new(o, "exit_code", json_integer(x->exit_code));
	json_object_set_new(o, "entries", juint(x->entries));
	json_object_set_new(o, "target_entries", juint(x->target_entries));
	json_object_set_new(o, "findings", juint(x->findings));
	for (i = 0; i < HM_FINDING__COUNT; i++)
		json_object_set_new(k, hm_finding_kind_name((enum hm_finding_kind)i),
				    juint(x->counts[i]));
	json_object_set_new(o, "counts", k);
	json_object_set_new(o, "tool_version", jstr(c, x->tool_version));
	return o;
}

static json_t *finding_json(struct ctx *c, const struct hm_finding *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "kind", json_string(hm_finding_kind_name(f->kind)));
	json_object_set_new(o, "path", json_string(safe_path(c, f)));
	json_object_set_new(o, "expected", jstr(c, f->expected));
	json_object_set_new(o, "actual", jstr(c, f->actual));
	json_object_set_new(o, "detail", jstr(c, f->detail));
	return o;
}

static void print_counts(const struct hm_history_run *x)
{
	int i;
	bool any = false;

	for (i = 0; i < HM_FINDING__COUNT; i++) {
		if (!x->counts[i])
			continue;
		printf("%s%s=%" PRIu64, any ? " " : "",
		       hm_finding_kind_name((enum hm_finding_kind)i), x->counts[i]);
		any = true;
	}
	if (!any)
		printf("-");
}

static void print_run(struct ctx *c, const struct hm_history_run *x)
{
	printf("  %-6" PRId64 " %-20s  %-5s  %8" PRIu64 "  ", x->id,
	       safe(c, x->started), x->drift ? "drift" : "pass", x->findings);
	printf("%s #%" PRIu64 "  ", safe(c, x->manifest_name), x->serial);
	printf("%s  ", safe(c, x->target));
	print_counts(x);
	putchar('\n');
}

static const char *host_label(struct ctx *c, const char *host)
{
	return host[0] ? safe(c, host) : "(no host)";
}

struct list_state {
	struct ctx *c;
	const char *host;
	bool first;          /* the first host printed */
	size_t n;            /* runs printed so far */
};

static int list_one(void *ctx, const struct hm_history_run *x,
		    struct hm_error *err)
{
	struct list_state *s = ctx;
	struct ctx *c = s->c;

	(void)err;
	if (c->json) {
		hm_json_out_value(&c->out, run_json(c, x));
	} else {
		if (s->n == 0) {
			printf("%shost %s\n", s->first ? "" : "\n",
			       host_label(c, s->host));
			printf("  %-6s %-20s  %-5s  %8s  %s\n", "run", "started",
			       "result", "findings", "manifest  target  by kind");
		}
		print_run(c, x);
	}
	s->n++;
	return 0;
}

static int list_runs(struct ctx *c, const char *host, bool first, size_t limit)
{
	struct list_state s = { .c = c, .host = host, .first = first };
	int r;

	if (c->json) {
		hm_json_out_begin_object(&c->out);
		hm_json_out_member(&c->out, "host", jstr(c, host));
		hm_json_out_key(&c->out, "runs");
		hm_json_out_begin_array(&c->out);
	}
	if ((r = hm_history_each_run(c->h, host, limit, list_one, &s, &c->err)) < 0)
		return r;
	if (c->json) {
		hm_json_out_end(&c->out);
		hm_json_out_end(&c->out);
	} else if (s.n == 0) {
		printf("no runs of host %s\n", host_label(c, host));
	}
	return 0;
}

static void print_finding(struct ctx *c, enum hm_history_change ch,
			  const struct hm_finding *f)
{
	printf("  %-10s  %-21s  %s", hm_history_change_name(ch),
	       hm_finding_kind_name(f->kind), safe_path(c, f));
	if (f->expected)
		printf("  expected %s", safe(c, f->expected));
	if (f->actual)
		printf("  actual %s", safe(c, f->actual));
	if (f->detail)
		printf("  (%s)", safe(c, f->detail));
	putchar('\n');
}

struct diff_state {
	struct ctx *c;
	size_t n[3];
};

static int diff_one(void *ctx, enum hm_history_change ch,
		    const struct hm_finding *f, struct hm_error *err)
{
	struct diff_state *s = ctx;

	(void)err;
	if (s->c->json)
		hm_json_out_value(&s->c->out, finding_json(s->c, f));
	else
		print_finding(s->c, ch, f);
	s->n[ch]++;
	/* Stop early when the output is gone (a closed pipe, a full disk). */
	if (ferror(stdout) || s->c->out.err)
		return hm_error_set(err, HM_ERR_IO, 0, "cannot write the history");
	return 0;
}

static int diff_host(struct ctx *c, const char *host, bool first)
{
	static const enum hm_history_change order[3] = {
		HM_HISTORY_NEW, HM_HISTORY_FIXED, HM_HISTORY_PERSISTING,
	};
	struct hm_history_run *runs = NULL;
	struct diff_state s = { .c = c };
	size_t n = 0, i;
	int64_t prev;
	int r;

	if ((r = hm_history_runs(c->h, host, 2, &runs, &n, &c->err)) < 0)
		goto out;
	if (n == 0) {
		if (!c->json)
			printf("no runs of host %s\n", host_label(c, host));
		goto out;
	}
	prev = n > 1 ? runs[1].id : 0;
	if (c->json) {
		hm_json_out_begin_object(&c->out);
		hm_json_out_member(&c->out, "host", jstr(c, host));
		hm_json_out_member(&c->out, "last", run_json(c, &runs[0]));
		hm_json_out_member(&c->out, "previous",
				   n > 1 ? run_json(c, &runs[1]) : json_null());
	} else {
		printf("%shost %s: ", first ? "" : "\n", host_label(c, host));
		printf("run %" PRId64 " (%s)", runs[0].id, safe(c, runs[0].started));
		if (n > 1)
			printf(" against run %" PRId64 " (%s)\n", runs[1].id,
			       safe(c, runs[1].started));
		else
			printf(", no previous run\n");
	}
	/* One pass per kind of change: the output groups them, and only
	 * one path's findings are held at a time. */
	for (i = 0; i < 3; i++) {
		if (c->json) {
			hm_json_out_key(&c->out, hm_history_change_name(order[i]));
			hm_json_out_begin_array(&c->out);
		}
		if ((r = hm_history_diff_runs(c->h, prev, runs[0].id,
					      HM_HISTORY_CHANGE(order[i]),
					      diff_one, &s, &c->err)) < 0)
			goto out;
		if (c->json)
			hm_json_out_end(&c->out);
	}
	if (c->json)
		hm_json_out_end(&c->out);
	else
		printf("  %zu new, %zu fixed, %zu persisting\n", s.n[HM_HISTORY_NEW],
		       s.n[HM_HISTORY_FIXED], s.n[HM_HISTORY_PERSISTING]);
out:
	hm_history_runs_free(runs, n);
	return r;
}

/* "90m", "26h", "7d", "45s" -> seconds; -1 if malformed. */
static long long parse_duration(const char *s)
{
	unsigned long long v, mul;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || end[0] == '\0' || end[1] != '\0' || v == 0)
		return -1;
	switch (*end) {
	case 's': mul = 1; break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	default: return -1;
	}
	if (v > 3650ULL * 86400 / mul)      /* ten years at most */
		return -1;
	return (long long)(v * mul);
}

/* Seconds since a recorded "YYYY-MM-DDTHH:MM:SSZ"; -1 if unreadable. */
static long long age_of(const char *iso, time_t now)
{
	struct tm tm;
	const char *end;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	end = iso ? strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	if (!end || *end)
		return -1;
	t = timegm(&tm);
	return t > now ? 0 : (long long)(now - t);
}

static void fmt_age(long long a, char out[32])
{
	if (a < 0)
		snprintf(out, 32, "?");
	else if (a < 120)
		snprintf(out, 32, "%llds", a);
	else if (a < 2 * 3600)
		snprintf(out, 32, "%lldm", a / 60);
	else if (a < 2 * 86400)
		snprintf(out, 32, "%lldh", a / 3600);
	else
		snprintf(out, 32, "%lldd", a / 86400);
}

struct fleet_state {
	struct ctx *c;
	time_t now;
	long long stale_after;        /* seconds, 0: not asked */
	size_t hosts, drift, stale;
};

static int fleet_one(void *ctx, const struct hm_history_run *x,
		     struct hm_error *err)
{
	struct fleet_state *s = ctx;
	struct ctx *c = s->c;
	long long age = age_of(x->started, s->now);
	bool stale = s->stale_after && (age < 0 || age > s->stale_after);
	char a[32];

	s->hosts++;
	s->drift += x->drift;
	s->stale += stale;
	if (c->json) {
		json_t *o = json_object(), *m = json_object();

		json_object_set_new(o, "host", jstr(c, x->host));
		json_object_set_new(o, "run", json_integer(x->id));
		json_object_set_new(o, "started", jstr(c, x->started));
		json_object_set_new(o, "age_seconds",
				    age < 0 ? json_null() : json_integer(age));
		json_object_set_new(o, "result", json_string(x->drift ? "drift" : "pass"));
		json_object_set_new(o, "findings", juint(x->findings));
		json_object_set_new(m, "name", jstr(c, x->manifest_name));
		json_object_set_new(m, "serial", juint(x->serial));
		json_object_set_new(o, "manifest", m);
		json_object_set_new(o, "target", jstr(c, x->target));
		json_object_set_new(o, "stale", json_boolean(stale));
		hm_json_out_value(&c->out, o);
	} else {
		fmt_age(age, a);
		if (s->hosts == 1)
			printf("%-20s %-6s %-20s  %5s  %-5s  %8s  %s\n", "host", "run",
			       "last run", "age", "result", "findings", "manifest");
		/* One safe() per printf: they share a buffer. */
		printf("%-20s %-6" PRId64 " ", host_label(c, x->host), x->id);
		printf("%-20s  %5s  %-5s  %8" PRIu64 "  ", safe(c, x->started), a,
		       x->drift ? "drift" : "pass", x->findings);
		printf("%s #%" PRIu64 "%s\n", safe(c, x->manifest_name), x->serial,
		       stale ? "  STALE" : "");
	}
	if (ferror(stdout) || c->out.err)
		return hm_error_set(err, HM_ERR_IO, 0, "cannot write the history");
	return 0;
}

static int show_fleet(struct ctx *c, long long stale_after, size_t *ret_stale)
{
	struct fleet_state s = { .c = c, .now = time(NULL),
				 .stale_after = stale_after };
	char now[32];
	int r;

	hm_history_format_time(s.now, now);
	if (c->json) {
		hm_json_out_member(&c->out, "now", json_string(now));
		hm_json_out_member(&c->out, "stale_after",
				   stale_after ? json_integer(stale_after) : json_null());
		hm_json_out_key(&c->out, "hosts");
		hm_json_out_begin_array(&c->out);
	}
	if ((r = hm_history_each_last_run(c->h, fleet_one, &s, &c->err)) < 0)
		return r;
	if (c->json) {
		hm_json_out_end(&c->out);
		hm_json_out_member(&c->out, "drift", json_integer((json_int_t)s.drift));
		hm_json_out_member(&c->out, "stale", json_integer((json_int_t)s.stale));
	} else if (s.hosts) {
		printf("%zu hosts, %zu with drift", s.hosts, s.drift);
		if (stale_after)
			printf(", %zu stale (no run for more than %llds)", s.stale,
			       stale_after);
		putchar('\n');
	}
	*ret_stale = s.stale;
	return 0;
}

struct path_state {
	struct ctx *c;
	size_t n;
};

static int path_one(void *ctx, const struct hm_history_path_host *p,
		    struct hm_error *err)
{
	struct path_state *s = ctx;
	struct ctx *c = s->c;

	s->n++;
	if (c->json) {
		json_t *o = json_object();

		json_object_set_new(o, "host", jstr(c, p->host));
		json_object_set_new(o, "open", json_boolean(p->open));
		json_object_set_new(o, "first_seen", jstr(c, p->first_seen));
		json_object_set_new(o, "last_seen", jstr(c, p->last_seen));
		json_object_set_new(o, "runs", juint(p->runs));
		hm_json_out_value(&c->out, o);
	} else {
		if (s->n == 1)
			printf("%-20s %-6s %-20s  %-20s  %s\n", "host", "state",
			       "first seen", "last seen", "runs");
		printf("%-20s %-6s ", host_label(c, p->host), p->open ? "open" : "fixed");
		printf("%-20s  ", safe(c, p->first_seen));
		printf("%-20s  %" PRIu64 "\n", safe(c, p->last_seen), p->runs);
	}
	if (ferror(stdout) || c->out.err)
		return hm_error_set(err, HM_ERR_IO, 0, "cannot write the history");
	return 0;
}

static int show_path(struct ctx *c, const char *path)
{
	struct path_state s = { .c = c };
	struct hm_buf esc = HM_BUF_INIT;
	int r;

	if (hm_escape(&esc, path, strlen(path), 0) < 0 || hm_buf_adds(&esc, "") < 0) {
		hm_buf_free(&esc);
		return hm_error_nomem(&c->err);
	}
	if (c->json) {
		hm_json_out_member(&c->out, "path", json_string(esc.data));
		hm_json_out_key(&c->out, "hosts");
		hm_json_out_begin_array(&c->out);
	} else {
		printf("path %s\n", esc.data);
	}
	r = hm_history_each_path_host(c->h, path, strlen(path), path_one, &s, &c->err);
	if (r == 0 && c->json)
		hm_json_out_end(&c->out);
	else if (r == 0 && s.n == 0)
		printf("no findings at %s\n", esc.data);
	hm_buf_free(&esc);
	return r;
}

struct manifest_state {
	struct ctx *c;
	struct hm_buf name;           /* the manifest of the group open */
	bool open;
};

static int manifest_one(void *ctx, const struct hm_history_manifest_host *m,
			struct hm_error *err)
{
	struct manifest_state *s = ctx;
	struct ctx *c = s->c;
	bool same = s->open && strcmp(s->name.data, m->manifest_name) == 0;

	if (!same) {
		hm_buf_reset(&s->name);
		if (hm_buf_adds(&s->name, m->manifest_name) < 0 ||
		    hm_buf_adds(&s->name, "") < 0)
			return hm_error_nomem(err);
		if (c->json) {
			if (s->open) {
				hm_json_out_end(&c->out);
				hm_json_out_end(&c->out);
			}
			hm_json_out_begin_object(&c->out);
			hm_json_out_member(&c->out, "name", jstr(c, m->manifest_name));
			hm_json_out_key(&c->out, "hosts");
			hm_json_out_begin_array(&c->out);
		} else {
			printf("%smanifest %s\n", s->open ? "\n" : "",
			       safe(c, m->manifest_name));
		}
		s->open = true;
	}
	if (c->json) {
		json_t *o = json_object();

		json_object_set_new(o, "host", jstr(c, m->host));
		json_object_set_new(o, "serial", juint(m->serial));
		json_object_set_new(o, "key_id", jstr(c, m->key_id));
		json_object_set_new(o, "started", jstr(c, m->started));
		json_object_set_new(o, "result", json_string(m->drift ? "drift" : "pass"));
		hm_json_out_value(&c->out, o);
	} else {
		printf("  #%-8" PRIu64 " %-20s ", m->serial, host_label(c, m->host));
		printf("%-20s  %-5s  ", safe(c, m->started), m->drift ? "drift" : "pass");
		printf("key %s\n", safe(c, m->key_id));
	}
	if (ferror(stdout) || c->out.err)
		return hm_error_set(err, HM_ERR_IO, 0, "cannot write the history");
	return 0;
}

static int show_manifests(struct ctx *c)
{
	struct manifest_state s = { .c = c, .name = HM_BUF_INIT };
	int r;

	if (c->json) {
		hm_json_out_key(&c->out, "manifests");
		hm_json_out_begin_array(&c->out);
	}
	r = hm_history_each_manifest_host(c->h, manifest_one, &s, &c->err);
	if (r == 0 && c->json) {
		if (s.open) {
			hm_json_out_end(&c->out);
			hm_json_out_end(&c->out);
		}
		hm_json_out_end(&c->out);
	}
	hm_buf_free(&s.name);
	return r;
}

int cmd_history(int argc, char **argv)
{
	static const struct hm_option_word formats[] = {
		{ "text", HM_REPORT_TEXT }, { "json", HM_REPORT_JSON }, { NULL, 0 },
	};
	const char *db_path = HM_HISTORY_DEFAULT_DB, *host = NULL;
	unsigned long long limit_opt = HISTORY_DEFAULT_LIMIT;
	int fmt = HM_REPORT_TEXT, nargs, r = 0, rc = HM_EXIT_ERROR;
	bool diff = false, fleet = false, manifests = false;
	const char *stale_opt = NULL, *path = NULL;
	long long stale_after = 0;
	size_t stale = 0;
	const struct hm_option opts[] = {
		HM_OPT_DB(&db_path),
		HM_OPT_HOST(&host),
		HM_OPT_UINT('n', "limit", &limit_opt, 0, HISTORY_MAX_LIMIT, NULL),
		HM_OPT_FLAG('D', "diff", &diff),
		HM_OPT_FLAG('F', "fleet", &fleet),
		HM_OPT_STRING('S', "stale-after", &stale_opt),
		HM_OPT_STRING('P', "path", &path),
		HM_OPT_FLAG('M', "manifests", &manifests),
		HM_OPT_FORMAT(&fmt, formats, "format"),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	const struct hm_cli_command cmd = {
		"history", history_usage, NULL, opts, HM_OPTIONS_GETOPT_TEXT,
	};
	size_t limit, n_hosts = 0, i;
	struct ctx c = { .tmp = HM_BUF_INIT, .out = { .f = stdout } };
	char **hosts = NULL;
	char *one[1];

	if ((r = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return r;
	if (nargs != 0)
		return hm_cli_usage(&cmd);
	r = 0;
	limit = (size_t)limit_opt;
	c.json = fmt == HM_REPORT_JSON;
	if (diff + fleet + manifests + (path != NULL) > 1)
		return hm_cli_fail("--diff, --fleet, --path and --manifests are separate views: pick one");
	if (stale_opt && !fleet)
		return hm_cli_fail("--stale-after goes with --fleet");
	if (host && (fleet || manifests || path))
		return hm_cli_fail("--host does not go with --fleet, --path or --manifests");
	if (stale_opt && (stale_after = parse_duration(stale_opt)) < 0)
		return hm_cli_fail("--stale-after: not a duration: '%s' (a number and s, m, h or d: 90m, 26h, 7d)",
				   stale_opt);

	if ((r = hm_history_open(db_path, HM_HISTORY_READONLY, &c.h, &c.err)) < 0)
		goto out;
	if (fleet || manifests || path) {
		static const char *const fmt_names[] = {
			"hallmark-fleet", "hallmark-manifests", "hallmark-path",
		};

		if (c.json) {
			hm_json_out_begin_object(&c.out);
			hm_json_out_member(&c.out, "format",
					   json_string(fmt_names[fleet ? 0 : manifests ? 1 : 2]));
			hm_json_out_member(&c.out, "version", json_integer(1));
			hm_json_out_member(&c.out, "database", jstr(&c, db_path));
		}
		r = fleet ? show_fleet(&c, stale_after, &stale) :
		    manifests ? show_manifests(&c) : show_path(&c, path);
		if (r < 0)
			goto out;
		if (c.json) {
			hm_json_out_end(&c.out);
			hm_json_out_finish(&c.out);
		}
		goto flush;
	}
	if (host) {
		one[0] = (char *)host;
		hosts = one;
		n_hosts = 1;
	} else if ((r = hm_history_hosts(c.h, &hosts, &n_hosts, &c.err)) < 0) {
		goto out;
	}
	if (c.json) {
		hm_json_out_begin_object(&c.out);
		hm_json_out_member(&c.out, "format",
				   json_string(diff ? "hallmark-history-diff" :
					       "hallmark-history"));
		hm_json_out_member(&c.out, "version", json_integer(1));
		hm_json_out_member(&c.out, "database", jstr(&c, db_path));
		hm_json_out_key(&c.out, "hosts");
		hm_json_out_begin_array(&c.out);
	}
	for (i = 0; i < n_hosts && r == 0; i++)
		r = diff ? diff_host(&c, hosts[i], i == 0) :
			   list_runs(&c, hosts[i], i == 0, limit);
	if (r < 0)
		goto out;
	if (c.json) {
		hm_json_out_end(&c.out);
		hm_json_out_end(&c.out);
		hm_json_out_finish(&c.out);
	} else if (n_hosts == 0) {
		printf("no runs recorded in '%s'\n", safe(&c, db_path));
	}
flush:
	if (fflush(stdout) != 0 || ferror(stdout) || c.out.err) {
		r = hm_error_set(&c.err, HM_ERR_IO, 0, "cannot write the history");
		goto out;
	}
	/* Read without locks (a read-only folder): was it stable meanwhile? */
	if ((r = hm_history_check_snapshot(c.h, &c.err)) < 0)
		goto out;
	rc = stale ? HM_EXIT_DRIFT : HM_EXIT_OK;
out:
	if (r < 0)
		rc = hm_cli_error(&c.err);
	if (hosts != one)
		hm_history_hosts_free(hosts, n_hosts);
	hm_history_free(c.h);
	hm_buf_free(&c.tmp);
	return rc;
}
