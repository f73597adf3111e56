/*
 * The dpkg status database (/var/lib/dpkg/status): stanzas of
 * "Field: value" lines separated by blank lines, continuation lines
 * starting with a space or a tab (deb822(5)).
 *
 * The file comes from the image being audited, so it is hostile input: a
 * broken stanza (no Package or Version, an invalid version, a line that is
 * neither a field nor a continuation, a NUL byte) is skipped and listed in
 * ->skipped with its line, and the rest is read.  Running into one of the
 * limits below is an error (HM_ERR_LIMIT), never a skipped note: padding
 * the file with fake stanzas, or a package's own stanza with a huge
 * field, must not hide a vulnerable package from the audit (HM-VULN-005).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hallmark/buf.h"
#include "hallmark/packages.h"

#define HM_DPKG_STATUS_PATH       "/var/lib/dpkg/status"
/* Largest status file read (a big desktop install is ~10 MiB). */
#define HM_DPKG_MAX_STATUS_BYTES  (64u * 1024 * 1024)
/* Stanzas read; a longer file is an error. */
#define HM_DPKG_MAX_STANZAS       200000
/* Longest value of a field that is kept (Package, Version, ...); a
 * longer one is an error. */
#define HM_DPKG_MAX_FIELD         4096

enum field {
	F_PACKAGE, F_STATUS, F_VERSION, F_ARCH, F_SOURCE, F_MAINTAINER,
	F_HOMEPAGE, F_COUNT
};

static const char *const field_names[F_COUNT] = {
	"Package", "Status", "Version", "Architecture", "Source",
	"Maintainer", "Homepage",
};

struct stanza {
	struct hm_buf f[F_COUNT];
	bool seen[F_COUNT];
	size_t line[F_COUNT];
	int cur;                 /* field continued by the next line, or -1 */
	bool open;               /* a line of it was seen */
	size_t start;            /* its first line */
	char broken[160];        /* the first problem, or "" */
	size_t broken_line;
	int too_long;            /* the field over HM_DPKG_MAX_FIELD */
};

/* A parsed package and the line it started at (to report duplicates). */
struct pending {
	struct hm_package p;
	size_t line;
};

struct parser {
	const char *name;
	struct pending *items;
	size_t n, cap;
	char **skipped;
	size_t n_skipped, cap_skipped;
};

static void package_free(struct hm_package *p)
{
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->source);
	free(p->source_version);
	free(p->maintainer);
	free(p->homepage);
	free(p->license);
	memset(p, 0, sizeof(*p));
}

static int add_skipped(struct parser *ps, size_t line, const char *pkg,
		       const char *what)
{
	struct hm_buf b = HM_BUF_INIT;
	char **n;

	if (ps->n_skipped == ps->cap_skipped) {
		size_t cap = ps->cap_skipped ? 2 * ps->cap_skipped : 16;

		n = realloc(ps->skipped, cap * sizeof(*n));
		if (!n)
			return HM_ERR_NOMEM;
		ps->skipped = n;
		ps->cap_skipped = cap;
	}
	if (pkg && *pkg)
		hm_buf_addf(&b, "%s:%zu: package '%s': %s", ps->name, line, pkg, what);
	else
		hm_buf_addf(&b, "%s:%zu: %s", ps->name, line, what);
	if (!b.data)
		return HM_ERR_NOMEM;
	ps->skipped[ps->n_skipped++] = hm_buf_detach(&b, NULL);
	return 0;
}

static void stanza_reset(struct stanza *st)
{
	int i;

	for (i = 0; i < F_COUNT; i++) {
		hm_buf_reset(&st->f[i]);
		st->seen[i] = false;
		st->line[i] = 0;
	}
	st->cur = -1;
	st->open = false;
	st->start = 0;
	st->broken[0] = '\0';
	st->broken_line = 0;
}

static void stanza_free(struct stanza *st)
{
	int i;

	for (i = 0; i < F_COUNT; i++)
		hm_buf_free(&st->f[i]);
}

static void stanza_break(struct stanza *st, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void stanza_break(struct stanza *st, size_t line, const char *fmt, ...)
{
	va_list ap;

	if (st->broken[0])
		return;
	va_start(ap, fmt);
	vsnprintf(st->broken, sizeof(st->broken), fmt, ap);
	va_end(ap);
	st->broken_line = line;
}

/* Well-formed UTF-8 without control characters (values end up in JSON
 * and in terminal reports). */
static bool text_valid(const unsigned char *p, const unsigned char *e)
{
	while (p < e) {
		unsigned c = *p, n, i;
		unsigned long cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		if ((size_t)(e - p) <= n)
			return false;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0x80 && cp < 0xa0))
			return false;
		p += n + 1;
	}
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **p, const char **e)
{
	while (*p < *e && is_blank(**p))
		(*p)++;
	while (*e > *p && is_blank((*e)[-1]))
		(*e)--;
}

/* dpkg's rule: an alphanumeric, then alphanumerics and "-+._". */
static bool name_valid(const char *s)
{
	const char *p;

	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	      (*s >= '0' && *s <= '9')))
		return false;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("-+._", *p)))
			return false;
	return true;
}

static bool arch_valid(const char *s)
{
	const char *p;

	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-'))
			return false;
	return *s && *s != '-';
}

/* Add a value (or a continuation of one) to the stanza. */
static int field_add(struct stanza *st, int f, const char *p, const char *e,
		     bool continuation)
{
	struct hm_buf *b = &st->f[f];

	if (b->len + (size_t)(e - p) + 1 > HM_DPKG_MAX_FIELD) {
		st->too_long = f;
		return HM_ERR_LIMIT;
	}
	if (!text_valid((const unsigned char *)p, (const unsigned char *)e)) {
		stanza_break(st, st->line[f],
			     "field '%s' is not printable UTF-8", field_names[f]);
		return 0;
	}
	if (continuation && b->len && hm_buf_addc(b, ' ') < 0)
		return HM_ERR_NOMEM;
	if (hm_buf_add(b, p, (size_t)(e - p)) < 0)
		return HM_ERR_NOMEM;
	return 0;
}

static int line_add(struct stanza *st, const char *p, const char *e,
		    size_t line)
{
	const char *colon, *q, *v, *ve;
	int f;

	if (!st->open) {
		st->open = true;
		st->start = line;
	}
	if (memchr(p, '\0', (size_t)(e - p))) {
		stanza_break(st, line, "NUL byte");
		st->cur = -1;
		return 0;
	}
	if (*p == ' ' || *p == '\t') {
		if (line == st->start)
			stanza_break(st, line, "continuation line without a field");
		else if (st->cur >= 0) {
			v = p;
			ve = e;
			trim(&v, &ve);
			return field_add(st, st->cur, v, ve, true);
		}
		return 0;
	}
	st->cur = -1;
	colon = memchr(p, ':', (size_t)(e - p));
	if (!colon) {
		stanza_break(st, line, "line without ':'");
		return 0;
	}
	for (q = p; q < colon; q++)
		if (is_blank(*q) || (unsigned char)*q < 32)
			break;
	if (q == p || q < colon) {
		stanza_break(st, line, "bad field name");
		return 0;
	}
	for (f = 0; f < F_COUNT; f++)
		if ((size_t)(colon - p) == strlen(field_names[f]) &&
		    strncasecmp(p, field_names[f], (size_t)(colon - p)) == 0)
			break;
	if (f == F_COUNT)
		return 0;
	if (st->seen[f]) {
		stanza_break(st, line, "duplicate field '%s'", field_names[f]);
		return 0;
	}
	st->seen[f] = true;
	st->line[f] = line;
	st->cur = f;
	v = colon + 1;
	ve = e;
	trim(&v, &ve);
	return field_add(st, f, v, ve, false);
}

/* "what 'value'", the value cut short (it is printable: text_valid). */
static const char *quoted(char *buf, size_t size, const char *what,
			  const char *v)
{
	snprintf(buf, size, "%s '%.64s%s'", what, v, strlen(v) > 64 ? "..." : "");
	return buf;
}

static const char *value(const struct stanza *st, int f)
{
	return st->seen[f] && st->f[f].data ? st->f[f].data : "";
}

/* "install ok installed": any want, flag "ok", state "installed". */
static int status_installed(const char *s)
{
	static const char *const wants[] = {
		"unknown", "install", "hold", "deinstall", "purge",
	};
	const char *w[4];
	size_t wl[4], n = 0, i;

	while (*s && n < 4) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		w[n] = s;
		while (*s && *s != ' ')
			s++;
		wl[n] = (size_t)(s - w[n]);
		n++;
	}
	if (n != 3)
		return -1;
	for (i = 0; i < sizeof(wants) / sizeof(wants[0]); i++)
		if (wl[0] == strlen(wants[i]) && !strncmp(w[0], wants[i], wl[0]))
			break;
	if (i == sizeof(wants) / sizeof(wants[0]))
		return -1;
	return wl[1] == 2 && !strncmp(w[1], "ok", 2) &&
	       wl[2] == 9 && !strncmp(w[2], "installed", 9);
}

/* Source: "name" or "name (version)". */
static int parse_source(const char *s, char **ret_name, char **ret_version)
{
	const char *sp = strchr(s, ' '), *open, *close;
	char *name, *ver = NULL;

	if (!sp) {
		if (!name_valid(s))
			return -1;
		*ret_name = strdup(s);
		*ret_version = NULL;
		return *ret_name ? 0 : HM_ERR_NOMEM;
	}
	open = sp + 1;
	close = s + strlen(s) - 1;
	if (*open != '(' || *close != ')' || close <= open + 1)
		return -1;
	name = strndup(s, (size_t)(sp - s));
	ver = strndup(open + 1, (size_t)(close - open - 1));
	if (!name || !ver) {
		free(name);
		free(ver);
		return HM_ERR_NOMEM;
	}
	if (!name_valid(name) || !hm_debver_valid(ver)) {
		free(name);
		free(ver);
		return -1;
	}
	*ret_name = name;
	*ret_version = ver;
	return 0;
}

static int add_pending(struct parser *ps, struct pending *pd)
{
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 64;
		struct pending *n = realloc(ps->items, cap * sizeof(*n));

		if (!n)
			return HM_ERR_NOMEM;
		ps->items = n;
		ps->cap = cap;
	}
	ps->items[ps->n++] = *pd;
	return 0;
}

/* The stanza is complete: keep it, skip it, or drop it (not installed). */
static int stanza_end(struct parser *ps, struct stanza *st)
{
	const char *pkg = value(st, F_PACKAGE), *ver = value(st, F_VERSION);
	const char *src = value(st, F_SOURCE);
	struct pending pd = { .line = st->start };
	char what[128];
	int r, installed;

	if (!st->open)
		return 0;
	if (st->broken[0])
		return add_skipped(ps, st->broken_line, pkg, st->broken);
	if (!st->seen[F_PACKAGE])
		return add_skipped(ps, st->start, NULL, "no Package field");
	if (!name_valid(pkg))
		return add_skipped(ps, st->line[F_PACKAGE], NULL,
				   quoted(what, sizeof(what), "invalid Package name", pkg));
	if (!st->seen[F_STATUS])
		return add_skipped(ps, st->start, pkg, "no Status field");
	installed = status_installed(value(st, F_STATUS));
	if (installed < 0)
		return add_skipped(ps, st->line[F_STATUS], pkg,
				   quoted(what, sizeof(what), "invalid Status",
					  value(st, F_STATUS)));
	if (!installed)
		return 0;
	if (!st->seen[F_VERSION])
		return add_skipped(ps, st->start, pkg, "no Version field");
	if (!hm_debver_valid(ver))
		return add_skipped(ps, st->line[F_VERSION], pkg,
				   quoted(what, sizeof(what), "invalid Version", ver));
	if (st->seen[F_ARCH] && !arch_valid(value(st, F_ARCH)))
		return add_skipped(ps, st->line[F_ARCH], pkg,
				   quoted(what, sizeof(what), "invalid Architecture",
					  value(st, F_ARCH)));

	if (st->seen[F_SOURCE] && *src) {
		r = parse_source(src, &pd.p.source, &pd.p.source_version);
		if (r == HM_ERR_NOMEM)
			return r;
		if (r < 0)
			return add_skipped(ps, st->line[F_SOURCE], pkg,
					   quoted(what, sizeof(what), "invalid Source", src));
	}
	pd.p.name = strdup(pkg);
	pd.p.version = strdup(ver);
	pd.p.arch = strdup(value(st, F_ARCH));
	if (!pd.p.source)
		pd.p.source = strdup(pkg);
	if (!pd.p.source_version)
		pd.p.source_version = strdup(ver);
	if (*value(st, F_MAINTAINER))
		pd.p.maintainer = strdup(value(st, F_MAINTAINER));
	if (*value(st, F_HOMEPAGE))
		pd.p.homepage = strdup(value(st, F_HOMEPAGE));
	if (!pd.p.name || !pd.p.version || !pd.p.arch || !pd.p.source ||
	    !pd.p.source_version ||
	    (*value(st, F_MAINTAINER) && !pd.p.maintainer) ||
	    (*value(st, F_HOMEPAGE) && !pd.p.homepage) ||
	    add_pending(ps, &pd) < 0) {
		package_free(&pd.p);
		return HM_ERR_NOMEM;
	}
	return 0;
}

static int pending_cmp(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	int c = strcmp(x->p.name, y->p.name);

	if (!c)
		c = strcmp(x->p.arch, y->p.arch);
	if (!c)
		c = (x->line > y->line) - (x->line < y->line);
	return c;
}

int hm_dpkg_parse(const char *data, size_t len, const char *name,
		  struct hm_packages *ret, struct hm_error *err)
{
	struct parser ps = { .name = name };
	struct hm_packages out = { 0 };
	struct stanza st = { .cur = -1 };
	const char *p = data, *end = data + len, *e;
	size_t line = 0, stanzas = 0, i;
	int r = 0;

	while (p < end) {
		e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			e = end;
		line++;
		{
			const char *q = p;

			while (q < e && is_blank(*q))
				q++;
			if (q == e) {            /* a blank line ends a stanza */
				r = stanza_end(&ps, &st);
				stanza_reset(&st);
				if (r < 0)
					goto out;
				p = e + 1;
				continue;
			}
		}
		if (!st.open && ++stanzas > HM_DPKG_MAX_STANZAS) {
			r = hm_error_set(err, HM_ERR_LIMIT, 0,
					 "%s:%zu: more than %d stanzas", name, line,
					 HM_DPKG_MAX_STANZAS);
			goto out;
		}
		r = line_add(&st, p, e, line);
		if (r == HM_ERR_LIMIT)
			r = hm_error_set(err, HM_ERR_LIMIT, 0,
					 "%s:%zu: field '%s' is longer than %d bytes",
					 name, st.line[st.too_long],
					 field_names[st.too_long], HM_DPKG_MAX_FIELD);
		if (r < 0)
			goto out;
		p = e + 1;
	}
	r = stanza_end(&ps, &st);
	if (r < 0)
		goto out;

	if (ps.n)
		qsort(ps.items, ps.n, sizeof(*ps.items), pending_cmp);
	out.items = calloc(ps.n ? ps.n : 1, sizeof(*out.items));
	if (!out.items) {
		r = HM_ERR_NOMEM;
		goto out;
	}
	out.cap = ps.n;
	for (i = 0; i < ps.n; i++) {
		struct pending *pd = &ps.items[i];

		if (out.n && strcmp(out.items[out.n - 1].name, pd->p.name) == 0 &&
		    strcmp(out.items[out.n - 1].arch, pd->p.arch) == 0) {
			r = add_skipped(&ps, pd->line, pd->p.name,
					"duplicate of an earlier stanza");
			package_free(&pd->p);
			if (r < 0)
				goto out;
			continue;
		}
		out.items[out.n++] = pd->p;
		memset(&pd->p, 0, sizeof(pd->p));
	}
	out.skipped = ps.skipped;
	out.n_skipped = ps.n_skipped;
	ps.skipped = NULL;
	ps.n_skipped = 0;
	*ret = out;
	memset(&out, 0, sizeof(out));
	r = 0;
out:
	if (r == HM_ERR_NOMEM)
		hm_error_nomem(err);
	for (i = 0; i < ps.n; i++)
		package_free(&ps.items[i].p);
	free(ps.items);
	for (i = 0; i < ps.n_skipped; i++)
		free(ps.skipped[i]);
	free(ps.skipped);
	hm_packages_free(&out);
	stanza_free(&st);
	return r;
}

int hm_packages_load(const struct hm_image *img, struct hm_packages *ret,
		     struct hm_error *err)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	r = hm_image_read(img, HM_DPKG_STATUS_PATH, HM_DPKG_MAX_STATUS_BYTES,
			  &data, &len, err);
	if (r < 0)
		return hm_error_prefix(err, "%s: cannot read the dpkg status database",
				       hm_image_name(img));
	r = hm_dpkg_parse(data, len, HM_DPKG_STATUS_PATH, ret, err);
	free(data);
	return r;
}

void hm_packages_free(struct hm_packages *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		package_free(&p->items[i]);
	free(p->items);
	for (i = 0; i < p->n_skipped; i++)
		free(p->skipped[i]);
	free(p->skipped);
	free(p->distro);
	memset(p, 0, sizeof(*p));
}
