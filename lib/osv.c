/*
 * Matching installed packages against an OSV feed (https://ossf.github.io/
 * osv-schema/), as Debian exports it: per source package, ecosystem
 * "Debian" or "Debian:N", ranges of type ECOSYSTEM whose events are Debian
 * versions, or explicit "versions" lists.
 *
 * The feed is untrusted input and big (Debian's is hundreds of MB): it is
 * read through a callback that enforces a size limit, duplicate keys are
 * refused, unknown fields are ignored, and an entry whose Debian part has
 * a bad shape or a bad version is skipped as a whole and listed, so one
 * broken advisory never hides the others.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/packages.h"

/* Largest feed read. */
#define HM_OSV_MAX_BYTES    (256u * 1024 * 1024)
/* Skipped entries listed one by one; beyond, only counted. */
#define HM_OSV_MAX_SKIPPED  1000
/* Longest advisory id kept. */
#define HM_OSV_MAX_ID       256

struct feed_reader {
	int fd;
	size_t total;
	bool over;
	int sys_errno;
};

static size_t feed_read(void *buf, size_t len, void *data)
{
	struct feed_reader *fr = data;
	ssize_t n;

	do
		n = read(fr->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		fr->sys_errno = errno;
		return (size_t)-1;
	}
	fr->total += (size_t)n;
	if (fr->total > HM_OSV_MAX_BYTES) {
		fr->over = true;
		return (size_t)-1;
	}
	return (size_t)n;
}

static int feed_load(const char *path, json_t **ret, struct hm_error *err)
{
	struct feed_reader fr = { .fd = -1 };
	json_error_t jerr;
	struct stat st;
	json_t *root;

	fr.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fr.fd < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", path);
	if (fstat(fr.fd, &st) < 0) {
		int e = errno;

		close(fr.fd);
		return hm_error_set(err, HM_ERR_IO, e, "cannot read '%s'", path);
	}
	if (S_ISDIR(st.st_mode)) {
		close(fr.fd);
		return hm_error_set(err, HM_ERR_INPUT, 0, "'%s' is a directory", path);
	}
	root = json_load_callback(feed_read, &fr, JSON_REJECT_DUPLICATES, &jerr);
	close(fr.fd);
	if (root) {
		*ret = root;
		return 0;
	}
	if (fr.over)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "'%s' is larger than %u bytes", path,
				    HM_OSV_MAX_BYTES);
	if (fr.sys_errno)
		return hm_error_set(err, HM_ERR_IO, fr.sys_errno,
				    "cannot read '%s'", path);
	return hm_error_set(err, HM_ERR_INPUT, 0, "%s:%d:%d: %s", path,
			    jerr.line, jerr.column, jerr.text);
}

/* Events of one ECOSYSTEM range. */
enum ev_kind { EV_INTRODUCED, EV_FIXED, EV_LAST_AFFECTED };

struct event {
	enum ev_kind kind;
	const char *version;     /* NULL: introduced "0", before everything */
};

struct matcher {
	const char *path;
	const struct hm_packages *pkgs;
	const struct hm_package **by_source;   /* sorted by source name */
	struct hm_vulns out;
	size_t cap_skipped, n_more_skipped;
	size_t seq;
	size_t *seqs;            /* per finding, to keep the first duplicate */
};

static bool text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A copy with control characters turned into spaces (for reports). */
static char *clean_dup(const char *s)
{
	char *d = strdup(s), *p;

	if (d)
		for (p = d; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
	return d;
}

static int skip(struct matcher *m, size_t i, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Append a message built in b (freed either way). */
static int skipped_add(struct matcher *m, struct hm_buf *b)
{
	char **n;

	if (!b->data)
		return HM_ERR_NOMEM;
	if (m->out.n_skipped == m->cap_skipped) {
		size_t cap = m->cap_skipped ? 2 * m->cap_skipped : 16;

		if (!(n = realloc(m->out.skipped, cap * sizeof(*n)))) {
			hm_buf_free(b);
			return HM_ERR_NOMEM;
		}
		m->out.skipped = n;
		m->cap_skipped = cap;
	}
	m->out.skipped[m->out.n_skipped++] = hm_buf_detach(b, NULL);
	return 0;
}

static int skip(struct matcher *m, size_t i, const char *id, const char *fmt, ...)
{
	struct hm_buf b = HM_BUF_INIT;
	va_list ap;

	if (m->out.n_skipped >= HM_OSV_MAX_SKIPPED) {
		m->n_more_skipped++;
		return 0;
	}
	if (id)
		hm_buf_addf(&b, "%s: entry %zu (%s): ", m->path, i, id);
	else
		hm_buf_addf(&b, "%s: entry %zu: ", m->path, i);
	va_start(ap, fmt);
	hm_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return skipped_add(m, &b);
}

static bool is_debian(json_t *affected)
{
	const char *eco = json_string_value(
		json_object_get(json_object_get(affected, "package"), "ecosystem"));

	return eco && (strcmp(eco, "Debian") == 0 || strncmp(eco, "Debian:", 7) == 0);
}

/* A short description of a JSON value that is not what was expected. */
static const char *shown(json_t *v, char *buf, size_t size)
{
	const char *s = json_string_value(v);

	if (s && text_ok(s))
		snprintf(buf, size, "'%.64s%s'", s, strlen(s) > 64 ? "..." : "");
	else
		snprintf(buf, size, "%s", s ? "a string with control characters" :
			 "a non-string");
	return buf;
}

/*
 * Check the Debian parts of an entry before any of it is used: NULL if
 * they are all understood, else what is wrong (in buf).
 */
static const char *entry_check(json_t *affected, char *buf, size_t size)
{
	char sv[96];
	size_t k, j, e;
	json_t *a, *r, *ev, *v;

	json_array_foreach(affected, k, a) {
		json_t *ranges, *versions;

		if (!json_is_object(a)) {
			snprintf(buf, size, "affected[%zu] is not an object", k);
			return buf;
		}
		if (!is_debian(a))
			continue;
		if (!json_is_string(json_object_get(json_object_get(a, "package"), "name"))) {
			snprintf(buf, size, "affected[%zu] has no package name", k);
			return buf;
		}
		ranges = json_object_get(a, "ranges");
		versions = json_object_get(a, "versions");
		if ((ranges && !json_is_array(ranges)) ||
		    (versions && !json_is_array(versions))) {
			snprintf(buf, size, "affected[%zu]: ranges and versions must be arrays", k);
			return buf;
		}
		json_array_foreach(versions, j, v)
			if (!json_is_string(v) || !hm_debver_valid(json_string_value(v))) {
				snprintf(buf, size, "bad version %s", shown(v, sv, sizeof(sv)));
				return buf;
			}
		json_array_foreach(ranges, j, r) {
			json_t *events;
			const char *type;

			if (!json_is_object(r)) {
				snprintf(buf, size, "affected[%zu].ranges[%zu] is not an object", k, j);
				return buf;
			}
			type = json_string_value(json_object_get(r, "type"));
			if (!type || strcmp(type, "ECOSYSTEM") != 0)
				continue;
			events = json_object_get(r, "events");
			if (!json_is_array(events)) {
				snprintf(buf, size, "affected[%zu].ranges[%zu] has no events", k, j);
				return buf;
			}
			json_array_foreach(events, e, ev) {
				static const char *const keys[] = {
					"introduced", "fixed", "last_affected",
				};
				size_t q;

				if (!json_is_object(ev)) {
					snprintf(buf, size, "an event is not an object");
					return buf;
				}
				for (q = 0; q < 3; q++) {
					v = json_object_get(ev, keys[q]);
					if (!v)
						continue;
					if (q == 0 && json_is_string(v) &&
					    strcmp(json_string_value(v), "0") == 0)
						continue;
					if (!json_is_string(v) ||
					    !hm_debver_valid(json_string_value(v))) {
						snprintf(buf, size, "bad version %s",
							 shown(v, sv, sizeof(sv)));
						return buf;
					}
				}
			}
		}
	}
	return NULL;
}

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	int c;

	if (!x->version || !y->version)
		c = (x->version != NULL) - (y->version != NULL);
	else
		c = hm_debver_cmp(x->version, y->version);
	if (!c)
		c = (int)x->kind - (int)y->kind;
	return c;
}

/*
 * Is version v in the ECOSYSTEM range r (the OSV evaluation: events in
 * version order, introduced opens, fixed and last_affected close)?  1 and
 * *ret_fixed (borrowed, or NULL) if so, 0 if not, HM_ERR_NOMEM.
 */
static int range_affects(json_t *r, const char *v, const char **ret_fixed)
{
	json_t *events = json_object_get(r, "events"), *ev, *x;
	struct event *evs;
	size_t i, n = 0;
	bool affected = false;

	evs = calloc(3 * json_array_size(events) + 1, sizeof(*evs));
	if (!evs)
		return HM_ERR_NOMEM;
	json_array_foreach(events, i, ev) {
		if ((x = json_object_get(ev, "introduced"))) {
			const char *s = json_string_value(x);

			evs[n++] = (struct event){ EV_INTRODUCED,
				strcmp(s, "0") == 0 ? NULL : s };
		}
		if ((x = json_object_get(ev, "fixed")))
			evs[n++] = (struct event){ EV_FIXED, json_string_value(x) };
		if ((x = json_object_get(ev, "last_affected")))
			evs[n++] = (struct event){ EV_LAST_AFFECTED, json_string_value(x) };
	}
	qsort(evs, n, sizeof(*evs), event_cmp);
	for (i = 0; i < n; i++) {
		switch (evs[i].kind) {
		case EV_INTRODUCED:
			if (!evs[i].version || hm_debver_cmp(v, evs[i].version) >= 0)
				affected = true;
			break;
		case EV_FIXED:
			if (hm_debver_cmp(v, evs[i].version) >= 0)
				affected = false;
			break;
		case EV_LAST_AFFECTED:
			if (hm_debver_cmp(v, evs[i].version) > 0)
				affected = false;
			break;
		}
	}
	*ret_fixed = NULL;
	if (affected)
		for (i = 0; i < n; i++)
			if (evs[i].kind == EV_FIXED &&
			    hm_debver_cmp(evs[i].version, v) > 0) {
				*ret_fixed = evs[i].version;
				break;
			}
	free(evs);
	return affected;
}

static int add_finding(struct matcher *m, const struct hm_package *pkg,
		       const char *id, const char *summary, const char *fixed,
		       const char *severity)
{
	struct hm_vuln *v;

	if (m->out.n == m->out.cap) {
		size_t cap = m->out.cap ? 2 * m->out.cap : 16;
		struct hm_vuln *n = realloc(m->out.items, cap * sizeof(*n));
		size_t *s;

		if (!n)
			return HM_ERR_NOMEM;
		m->out.items = n;
		if (!(s = realloc(m->seqs, cap * sizeof(*s))))
			return HM_ERR_NOMEM;
		m->seqs = s;
		m->out.cap = cap;
	}
	v = &m->out.items[m->out.n];
	memset(v, 0, sizeof(*v));
	v->pkg = pkg;
	v->id = strdup(id);
	v->summary = summary ? clean_dup(summary) : NULL;
	v->fixed = fixed ? strdup(fixed) : NULL;
	v->severity = severity ? clean_dup(severity) : NULL;
	m->seqs[m->out.n] = m->seq++;
	m->out.n++;
	if (!v->id || (summary && !v->summary) || (fixed && !v->fixed) ||
	    (severity && !v->severity))
		return HM_ERR_NOMEM;
	return 0;
}

/* Does one Debian affected[] item affect version v?  As range_affects. */
static int item_affects(json_t *a, const char *v, const char **ret_fixed)
{
	json_t *r, *x;
	size_t j;
	int hit;

	*ret_fixed = NULL;
	json_array_foreach(json_object_get(a, "ranges"), j, r) {
		const char *type = json_string_value(json_object_get(r, "type"));

		if (!type || strcmp(type, "ECOSYSTEM") != 0)
			continue;
		hit = range_affects(r, v, ret_fixed);
		if (hit)
			return hit;
	}
	json_array_foreach(json_object_get(a, "versions"), j, x)
		if (hm_debver_cmp(json_string_value(x), v) == 0)
			return 1;
	return 0;
}

static int src_cmp(const void *a, const void *b)
{
	const struct hm_package *const *x = a, *const *y = b;

	return strcmp((*x)->source, (*y)->source);
}

/* First index in the sorted by_source whose source is >= name. */
static size_t source_lower(const struct matcher *m, const char *name)
{
	size_t lo = 0, hi = m->pkgs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(m->by_source[mid]->source, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t name_lower(const struct matcher *m, const char *name)
{
	size_t lo = 0, hi = m->pkgs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(m->pkgs->items[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int entry_match(struct matcher *m, size_t i, json_t *entry)
{
	json_t *id_v = json_object_get(entry, "id"), *affected, *a, *sev;
	const char *id = json_string_value(id_v), *summary, *severity = NULL;
	const char *fixed, *problem;
	char buf[256];
	size_t k, p;
	int r;

	if (!json_is_object(entry))
		return skip(m, i, NULL, "not an object");
	if (!id || !*id || strlen(id) > HM_OSV_MAX_ID || !text_ok(id))
		return skip(m, i, NULL, "no valid \"id\"");
	if (json_object_get(entry, "withdrawn"))
		return 0;
	affected = json_object_get(entry, "affected");
	if (!affected)
		return 0;
	if (!json_is_array(affected))
		return skip(m, i, id, "\"affected\" is not an array");
	if ((problem = entry_check(affected, buf, sizeof(buf))))
		return skip(m, i, id, "%s", problem);

	summary = json_string_value(json_object_get(entry, "summary"));
	sev = json_object_get(json_object_get(entry, "database_specific"), "severity");
	severity = json_string_value(sev);
	if (!severity)
		severity = json_string_value(json_object_get(
			json_array_get(json_object_get(entry, "severity"), 0), "score"));

	json_array_foreach(affected, k, a) {
		const char *name;

		if (!is_debian(a))
			continue;
		name = json_string_value(json_object_get(json_object_get(a, "package"), "name"));
		/* Debian's advisories are per source package: its version. */
		for (p = source_lower(m, name);
		     p < m->pkgs->n && strcmp(m->by_source[p]->source, name) == 0; p++) {
			r = item_affects(a, m->by_source[p]->source_version, &fixed);
			if (r > 0)
				r = add_finding(m, m->by_source[p], id, summary, fixed, severity);
			if (r < 0)
				return r;
		}
		/* A binary package named in the feed: its own version. */
		for (p = name_lower(m, name);
		     p < m->pkgs->n && strcmp(m->pkgs->items[p].name, name) == 0; p++) {
			const struct hm_package *pkg = &m->pkgs->items[p];

			if (strcmp(pkg->source, name) == 0)
				continue;
			r = item_affects(a, pkg->version, &fixed);
			if (r > 0)
				r = add_finding(m, pkg, id, summary, fixed, severity);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Findings in package order, then by id; the first of duplicates first. */
static int finding_cmp(const void *a, const void *b, void *ctx)
{
	const struct matcher *m = ctx;
	const size_t *x = a, *y = b;
	const struct hm_vuln *vx = &m->out.items[*x], *vy = &m->out.items[*y];
	int c;

	if (vx->pkg != vy->pkg)
		return vx->pkg < vy->pkg ? -1 : 1;
	c = strcmp(vx->id, vy->id);
	if (c)
		return c;
	return (m->seqs[*x] > m->seqs[*y]) - (m->seqs[*x] < m->seqs[*y]);
}

static void vuln_free(struct hm_vuln *v)
{
	free(v->id);
	free(v->summary);
	free(v->fixed);
	free(v->severity);
}

/* Sort and drop duplicate (package, id) findings. */
static int findings_finish(struct matcher *m)
{
	struct hm_vuln *sorted;
	size_t *order, i, n = 0;

	if (!m->out.n)
		return 0;
	order = malloc(m->out.n * sizeof(*order));
	sorted = malloc(m->out.n * sizeof(*sorted));
	if (!order || !sorted) {
		free(order);
		free(sorted);
		return HM_ERR_NOMEM;
	}
	for (i = 0; i < m->out.n; i++)
		order[i] = i;
	qsort_r(order, m->out.n, sizeof(*order), finding_cmp, m);
	for (i = 0; i < m->out.n; i++) {
		struct hm_vuln *v = &m->out.items[order[i]];

		if (n && sorted[n - 1].pkg == v->pkg && strcmp(sorted[n - 1].id, v->id) == 0) {
			struct hm_vuln *kept = &sorted[n - 1];
			char *t;

			/* One finding per advisory: what the first one lacks
			 * (a fix, say, from another release's range) is
			 * taken from the others. */
			if (!kept->fixed && v->fixed) {
				t = kept->fixed;
				kept->fixed = v->fixed;
				v->fixed = t;
			}
			vuln_free(v);
		} else
			sorted[n++] = *v;
	}
	free(order);
	free(m->out.items);
	m->out.items = sorted;
	m->out.n = n;
	m->out.cap = m->out.n;
	return 0;
}

int hm_osv_match(const char *osv_path, const struct hm_packages *pkgs,
		 struct hm_vulns *ret, struct hm_error *err)
{
	struct matcher m = { .path = osv_path, .pkgs = pkgs };
	json_t *root = NULL, *entry;
	size_t i;
	int r;

	r = feed_load(osv_path, &root, err);
	if (r < 0)
		return r;
	if (!json_is_object(root) && !json_is_array(root)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "'%s' holds neither an OSV entry nor an array of them",
				 osv_path);
		goto out;
	}
	m.by_source = malloc((pkgs->n ? pkgs->n : 1) * sizeof(*m.by_source));
	if (!m.by_source) {
		r = hm_error_nomem(err);
		goto out;
	}
	for (i = 0; i < pkgs->n; i++)
		m.by_source[i] = &pkgs->items[i];
	qsort(m.by_source, pkgs->n, sizeof(*m.by_source), src_cmp);

	if (json_is_object(root)) {
		r = entry_match(&m, 0, root);
	} else {
		json_array_foreach(root, i, entry)
			if ((r = entry_match(&m, i, entry)) < 0)
				break;
	}
	if (r == 0 && m.n_more_skipped) {
		struct hm_buf b = HM_BUF_INIT;

		hm_buf_addf(&b, "%s: %zu more entries skipped", osv_path,
			    m.n_more_skipped);
		r = skipped_add(&m, &b);
	}
	if (r == 0)
		r = findings_finish(&m);
	if (r < 0) {
		hm_error_nomem(err);
		goto out;
	}
	*ret = m.out;
	memset(&m.out, 0, sizeof(m.out));
out:
	hm_vulns_free(&m.out);
	free(m.seqs);
	free(m.by_source);
	json_decref(root);
	return r;
}

void hm_vulns_free(struct hm_vulns *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->n; i++)
		vuln_free(&v->items[i]);
	free(v->items);
	for (i = 0; i < v->n_skipped; i++)
		free(v->skipped[i]);
	free(v->skipped);
	memset(v, 0, sizeof(*v));
}
