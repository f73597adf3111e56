/*
 * Reports of a verification, in four formats (docs/report-format.md):
 * text for people, JSON for scripts, JUnit XML and SARIF 2.1.0 for CI
 * servers.
 *
 * Finding paths are raw bytes.  Every format shows them with the manifest
 * escaping (hm_escape: \ooo for bytes outside 0x21..0x7e and '\'), so a
 * path in a report can be pasted into a grep of the manifest, and a
 * hostile name can neither forge a report line, nor inject terminal
 * escapes, nor make the JSON invalid UTF-8.  Other strings (expected and
 * actual values, details, the target as given) keep valid UTF-8 but lose
 * control characters and invalid bytes to the same \ooo form.
 *
 * JSON goes through the streaming writer (hallmark/json_out.h) and the
 * SARIF skeleton shared with the audit report (sarif_private.h); JUnit
 * XML is simple enough to print with escaping, so no XML library is
 * needed.
 *
 * Memory does not grow with the number of findings (a run may have
 * millions): a first pass over them (from the spool compare filled, or a
 * list) counts what the report heads need, then each format reads them
 * again one at a time and writes as it goes.  The JSON formats are written
 * value by value in the layout json_dumpf gives a whole document, so the
 * output is the same as if it had been built at once.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/json_out.h"
#include "hallmark/manifest.h"
#include "hallmark/report.h"
#include "sarif_private.h"

#ifndef HM_VERSION
#define HM_VERSION "unknown"
#endif

/* Findings shown per kind in the text report; JSON always has them all. */
#define HM_TEXT_GROUP_CAP 50

/* Most serious first: the order of the text report and of JUnit cases. */
static const enum hm_finding_kind kind_order[HM_FINDING__COUNT] = {
	HM_FINDING_TYPE,   HM_FINDING_CONTENT,    HM_FINDING_MISSING,
	HM_FINDING_ADDED,  HM_FINDING_MODE,       HM_FINDING_UID,
	HM_FINDING_GID,    HM_FINDING_XATTR,      HM_FINDING_TARGET,
	HM_FINDING_SIZE,   HM_FINDING_RDEV,       HM_FINDING_UNREADABLE,
	HM_FINDING_CHANGED, HM_FINDING_MOUNTPOINT,
	HM_FINDING_EXE_ANONYMOUS, HM_FINDING_EXE_DELETED, HM_FINDING_EXE_UNKNOWN,
	HM_FINDING_EXE_CONTENT, HM_FINDING_MODULE_UNKNOWN,
	HM_FINDING_LISTENER_UNDECLARED, HM_FINDING_PROCESS_UNLISTED,
	HM_FINDING_PROCESS_USER, HM_FINDING_SYSCTL, HM_FINDING_MOUNT_OPTIONS,
	HM_FINDING_MOUNT_UNDECLARED, HM_FINDING_LISTENER_ABSENT,
	HM_FINDING_KERNEL_TAINTED, HM_FINDING_NOT_INSPECTED,
};

int hm_report_format_from_name(const char *s)
{
	static const char *const names[] = {
		[HM_REPORT_TEXT] = "text",
		[HM_REPORT_JSON] = "json",
		[HM_REPORT_JUNIT] = "junit",
		[HM_REPORT_SARIF] = "sarif",
	};
	size_t i;

	if (!s)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/*
 * Every kind of finding fails a run (cmd_verify.c counts them all as
 * drift), so each is a SARIF "error" and a JUnit <failure>.  There is no
 * informational kind: compare reports a mount point only when it hid
 * manifest entries from the check, and an unchecked entry is drift.
 */

struct ctx {
	const struct hm_report *r;
	struct hm_compare_stats st;
	uint64_t n_listed;                       /* findings handed to us */
	uint64_t listed[HM_FINDING__COUNT];
	uint64_t paths;                          /* distinct paths among them */
	uint64_t kind_paths[HM_FINDING__COUNT];  /* the same, per kind */
	struct hm_buf cur;             /* counting: the path being seen */
	unsigned cur_kinds;            /* counting: its kinds so far (bits) */
	enum hm_finding_kind kind;     /* the kind a pass is after */
	struct hm_findings group;      /* text: the findings shown of a kind */
	FILE *out;
	int err;                       /* sticky: HM_ERR_NOMEM or HM_ERR_IO */
	int sys_errno;
	struct hm_error *e;            /* filled when err came from a pass */
	bool e_set;
	struct hm_buf b;               /* the text being built */
	struct hm_buf tmp;
	struct hm_json_out j;          /* JSON and SARIF, on out */
};

/* ---- escaping ---------------------------------------------------------- */

/*
 * Length of the well-formed UTF-8 sequence at s (no overlongs, no
 * surrogates, at most U+10FFFF, not U+FFFE/U+FFFF which XML forbids), or 0.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp, min;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp == 0xfffe || cp == 0xffff)
		return 0;
	return len;
}

static int add_octal(struct hm_buf *b, unsigned char c)
{
	char e[4] = { '\\', (char)('0' + (c >> 6)), (char)('0' + ((c >> 3) & 7)),
		      (char)('0' + (c & 7)) };

	return hm_buf_add(b, e, 4);
}

/*
 * Append s keeping printable ASCII and well-formed UTF-8; control
 * characters (C0, DEL, C1) and invalid bytes become \ooo.  Backslashes are
 * kept: values from compare are already escaped text.
 */
static int add_safe(struct hm_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0, k, len;

	while (i < n) {
		len = utf8_len(s + i, n - i);
		if (len == 1 && s[i] >= 0x20 && s[i] != 0x7f) {
			if (hm_buf_addc(b, (char)s[i]) < 0)
				return HM_ERR_NOMEM;
		} else if (len > 1 && !(len == 2 && s[i] == 0xc2 &&
					s[i + 1] < 0xa0)) {
			if (hm_buf_add(b, s + i, len) < 0)
				return HM_ERR_NOMEM;
		} else {
			if (!len)
				len = 1;
			for (k = 0; k < len; k++)
				if (add_octal(b, s[i + k]) < 0)
					return HM_ERR_NOMEM;
		}
		i += len;
	}
	return 0;
}

/* Sticky-error appenders to c->b. */
static void put_raw(struct ctx *c, const char *s)
{
	if (!c->err && hm_buf_adds(&c->b, s) < 0)
		c->err = HM_ERR_NOMEM;
}

static void put_safe(struct ctx *c, const char *s)
{
	if (!c->err && add_safe(&c->b, s ? s : "") < 0)
		c->err = HM_ERR_NOMEM;
}

static void put_path(struct ctx *c, const struct hm_finding *f)
{
	if (!c->err && hm_escape(&c->b, f->path, f->path_len, 0) < 0)
		c->err = HM_ERR_NOMEM;
}

__attribute__((format(printf, 2, 3)))
static void put_fmt(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err)
		return;
	va_start(ap, fmt);
	if (hm_buf_vaddf(&c->b, fmt, ap) < 0)
		c->err = HM_ERR_NOMEM;
	va_end(ap);
}

/* Write what was built so far to the output. */
static void flush(struct ctx *c)
{
	if (!c->err && c->b.len &&
	    fwrite(c->b.data, 1, c->b.len, c->out) != c->b.len) {
		c->err = HM_ERR_IO;
		c->sys_errno = errno;
	}
	hm_buf_reset(&c->b);
}

/* A SHA-256 in hex, as compare writes a content finding's values. */
/* Sizes for people: "812 bytes", "1.2 KiB", "3.4 MiB". */
static void iec_bytes(unsigned long long n, char out[32])
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)n;
	size_t i = 0;

	if (n < 1024) {
		snprintf(out, 32, "%llu bytes", n);
		return;
	}
	v /= 1024;
	while (v >= 1024 && i + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		i++;
	}
	snprintf(out, 32, "%.1f %s", v, units[i]);
}

/*
 * A changed file, in one line: "content and size differ: 1.2 KiB ->
 * 3.4 KiB, sha256 ab12cd34ef56... -> 9f8e7d6c5b4a..." (digests cut to 12
 * digits when cut: JSON, SARIF and JUnit keep them whole).  The sizes come from
 * the detail compare writes, "size A -> B", and what follows it ("; from
 * layer ...") stays in parentheses.  Returns false for values of another
 * shape, which are shown as any other finding's.
 */
static bool put_content(struct ctx *c, const struct hm_finding *f, bool cut)
{
	unsigned long long a, b;
	const char *rest = f->detail;
	char ha[32], hb[32];
	int off = 0;

	if (f->kind != HM_FINDING_CONTENT || !hm_hex_is_sha256(f->expected) ||
	    !hm_hex_is_sha256(f->actual))
		return false;
	if (f->detail && sscanf(f->detail, "size %llu -> %llu%n", &a, &b, &off) == 2 &&
	    off > 0) {
		iec_bytes(a, ha);
		iec_bytes(b, hb);
		/* Rounded alike (125000 and 125001 bytes): the exact counts. */
		if (strcmp(ha, hb) == 0) {
			snprintf(ha, sizeof(ha), "%llu", a);
			snprintf(hb, sizeof(hb), "%llu bytes", b);
		}
		put_fmt(c, "content and size differ: %s -> %s, ", ha, hb);
		rest = f->detail + off;
		if (rest[0] == ';' && rest[1] == ' ')
			rest += 2;
		if (!rest[0])
			rest = NULL;
	} else {
		put_raw(c, "content differs: ");
	}
	if (cut)
		put_fmt(c, "sha256 %.12s... -> %.12s...", f->expected, f->actual);
	else
		put_fmt(c, "sha256 %s -> %s", f->expected, f->actual);
	if (rest) {
		put_raw(c, " (");
		put_safe(c, rest);
		put_raw(c, ")");
	}
	return true;
}

/* "expected X, found Y (detail)", each part only when present; cut:
 * digests shortened (the text report, not JUnit). */
static void put_change(struct ctx *c, const struct hm_finding *f, bool cut)
{
	if (put_content(c, f, cut))
		return;
	if (f->expected) {
		put_raw(c, "expected ");
		put_safe(c, f->expected);
	}
	if (f->actual) {
		put_raw(c, f->expected ? ", found " : "found ");
		put_safe(c, f->actual);
	}
	if (f->detail) {
		put_raw(c, f->expected || f->actual ? " (" : "");
		put_safe(c, f->detail);
		put_raw(c, f->expected || f->actual ? ")" : "");
	}
}

/* ---- reading the findings -------------------------------------------- */

int hm_report_each_finding(const struct hm_report *r, hm_finding_fn fn,
			   void *ctx, struct hm_error *err)
{
	size_t i;
	int x;

	if (r->spool)
		return hm_finding_spool_each(r->spool, fn, ctx, err);
	for (i = 0; r->findings && i < r->findings->n; i++) {
		x = fn(ctx, &r->findings->items[i], err);
		if (x < 0)
			return x;
		if (x > 0)
			break;
	}
	return 0;
}

/* One pass of fn over the findings; its errors become c's. */
static void each(struct ctx *c, hm_finding_fn fn)
{
	int r;

	if (c->err)
		return;
	r = hm_report_each_finding(c->r, fn, c, c->e);
	if (r < 0 && !c->err) {
		c->err = r;          /* reading failed: c->e says why */
		c->e_set = true;
	}
}

/*
 * Count findings and distinct paths, overall and per kind.  Compare's
 * merge join emits all findings of a path together, so a path is new
 * when it differs from the previous finding's: no set of paths is kept.
 */
static int count_one(void *ctx, const struct hm_finding *f,
		     struct hm_error *err)
{
	struct ctx *c = ctx;
	unsigned bit;

	if ((unsigned)f->kind >= HM_FINDING__COUNT)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "invalid finding kind %d", (int)f->kind);
	bit = 1u << f->kind;
	if (c->n_listed == 0 || c->cur.len != f->path_len ||
	    (f->path_len && memcmp(c->cur.data, f->path, f->path_len) != 0)) {
		hm_buf_reset(&c->cur);
		if (hm_buf_add(&c->cur, f->path, f->path_len) < 0)
			return c->err = HM_ERR_NOMEM;
		c->paths++;
		c->cur_kinds = 0;
	}
	if (!(c->cur_kinds & bit)) {
		c->kind_paths[f->kind]++;
		c->cur_kinds |= bit;
	}
	c->listed[f->kind]++;
	c->n_listed++;
	return 0;
}

/* Findings of a kind: the stats count, or what the list holds if more. */
static uint64_t kind_total(const struct ctx *c, enum hm_finding_kind k)
{
	return c->st.findings[k] > c->listed[k] ? c->st.findings[k] :
						  c->listed[k];
}

static void human_bytes(uint64_t n, char out[32])
{
	static const char *const units[] = { "kB", "MB", "GB", "TB", "PB", "EB" };
	double v = (double)n;
	size_t i = 0;

	if (n < 1000) {
		snprintf(out, 32, "%" PRIu64 " bytes", n);
		return;
	}
	v /= 1000;
	while (v >= 1000 && i + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000;
		i++;
	}
	snprintf(out, 32, "%.2f %s", v, units[i]);
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* ---- text -------------------------------------------------------------- */

static void put_subject(struct ctx *c)
{
	const struct hm_report *r = c->r;

	put_safe(c, r->target ? r->target : "(target)");
	if (r->host) {
		put_raw(c, " on ");
		put_safe(c, r->host);
	}
}

static void put_manifest_id(struct ctx *c)
{
	const struct hm_report *r = c->r;

	if (r->manifest_name) {
		put_safe(c, r->manifest_name);
		put_fmt(c, " serial %llu", r->serial);
	} else {
		put_safe(c, r->manifest_path ? r->manifest_path : "the manifest");
	}
}

/* Collect the first HM_TEXT_GROUP_CAP findings of c->kind. */
static int group_one(void *ctx, const struct hm_finding *f,
		     struct hm_error *err)
{
	struct ctx *c = ctx;

	(void)err;
	if (f->kind != c->kind)
		return 0;
	if (hm_findings_add(&c->group, f, NULL) < 0)
		return c->err = HM_ERR_NOMEM;
	return c->group.n == HM_TEXT_GROUP_CAP;
}

static void text_write(struct ctx *c)
{
	const struct hm_report *r = c->r;
	uint64_t total = c->st.total_findings, n;
	char tstart[21], tend[21], hashed[32];
	bool first = true;
	size_t i, k, shown;
	int width;

	human_bytes(c->st.bytes_hashed, hashed);
	if (r->exit_code == 0) {
		put_raw(c, "OK: ");
		put_subject(c);
		put_raw(c, " matches ");
		put_manifest_id(c);
		put_fmt(c, " (%" PRIu64 " %s compared, %s hashed", c->st.matched,
			plural(c->st.matched, "entry", "entries"), hashed);
		if (total)
			put_fmt(c, ", %" PRIu64 " %s", total,
				plural(total, "note", "notes"));
		put_raw(c, ")\n");
	} else {
		put_fmt(c, "DRIFT: %" PRIu64 " %s", total,
			plural(total, "finding", "findings"));
		if (c->n_listed) {
			n = c->paths;
			put_fmt(c, " in %" PRIu64 " %s", n,
				plural(n, "path", "paths"));
		}
		put_raw(c, " - ");
		put_subject(c);
		put_raw(c, " against ");
		put_manifest_id(c);
		if (r->key_id) {
			put_raw(c, " (key ");
			put_safe(c, r->key_id);
			put_raw(c, ")");
		}
		put_raw(c, "\n");
	}

	for (k = 0; k < HM_FINDING__COUNT; k++) {
		n = kind_total(c, kind_order[k]);
		if (!n)
			continue;
		put_fmt(c, "%s%s %" PRIu64, first ? "" : ", ",
			hm_finding_kind_name(kind_order[k]), n);
		first = false;
	}
	if (!first)
		put_raw(c, "\n");
	flush(c);

	for (k = 0; k < HM_FINDING__COUNT && !c->err; k++) {
		enum hm_finding_kind kind = kind_order[k];

		n = kind_total(c, kind);
		if (!n)
			continue;
		put_fmt(c, "\n%s (%" PRIu64 "): %s\n", hm_finding_kind_name(kind),
			n, hm_finding_kind_text(kind));
		/* The first of the kind, shown; the rest are counted only. */
		hm_findings_free(&c->group);
		c->kind = kind;
		each(c, group_one);
		/* Align the values after the paths, within reason. */
		width = 0;
		for (i = 0, shown = 0; i < c->group.n && !c->err; i++) {
			const struct hm_finding *f = &c->group.items[i];

			hm_buf_reset(&c->tmp);
			if (hm_escape(&c->tmp, f->path, f->path_len, 0) < 0) {
				c->err = HM_ERR_NOMEM;
				break;
			}
			if ((int)c->tmp.len > width)
				width = c->tmp.len > 48 ? 48 : (int)c->tmp.len;
			shown++;
		}
		for (i = 0, shown = 0; i < c->group.n && !c->err; i++) {
			const struct hm_finding *f = &c->group.items[i];
			size_t start;

			put_raw(c, "  ");
			start = c->b.len;
			put_path(c, f);
			if (f->expected || f->actual || f->detail) {
				if (!c->err && c->b.len - start < (size_t)width)
					put_fmt(c, "%*s", width -
						(int)(c->b.len - start), "");
				put_raw(c, "  ");
				put_change(c, f, true);
			}
			put_raw(c, "\n");
			flush(c);
			shown++;
		}
		if (n > shown)
			put_fmt(c, "  ... and %" PRIu64
				" more (use --format json for all)\n",
				n - shown);
	}

	put_raw(c, "\nmanifest:  ");
	put_safe(c, r->manifest_path ? r->manifest_path : "-");
	put_raw(c, " (");
	put_manifest_id(c);
	if (r->manifest_sha256) {
		put_raw(c, ", sha256 ");
		put_safe(c, r->manifest_sha256);
	}
	if (r->key_id) {
		put_raw(c, ", key ");
		put_safe(c, r->key_id);
	}
	put_raw(c, ")\npolicy:    ");
	put_safe(c, r->policy_path ? r->policy_path : "none");
	put_fmt(c, "\nentries:   %" PRIu64 " compared, %" PRIu64
		" in manifest, %" PRIu64 " in target, %" PRIu64 " ignored\n",
		c->st.matched, c->st.expected, c->st.actual, c->st.ignored);
	put_fmt(c, "allowed:   %" PRIu64 " %s, %" PRIu64 " %s\n",
		c->st.allowed_changes,
		plural(c->st.allowed_changes, "change", "changes"),
		c->st.allowed_adds,
		plural(c->st.allowed_adds, "addition", "additions"));
	put_fmt(c, "hashed:    %s\n", hashed);
	hm_time_format(r->started, tstart);
	hm_time_format(r->finished, tend);
	put_fmt(c, "time:      %s to %s (%.0f s)\n", tstart, tend,
		difftime(r->finished, r->started));
	flush(c);
}

/* ---- JSON and SARIF ---------------------------------------------------- */

static void jset(struct ctx *c, json_t *o, const char *key, json_t *v)
{
	/* json_object_set_new drops v on failure, even for a NULL object. */
	if (json_object_set_new(o, key, v) < 0)
		c->err = HM_ERR_NOMEM;
}

static json_t *jsafe(struct ctx *c, const char *s)
{
	if (!s)
		return json_null();
	hm_buf_reset(&c->tmp);
	if (add_safe(&c->tmp, s) < 0)
		return NULL;
	return json_stringn(c->tmp.data ? c->tmp.data : "", c->tmp.len);
}

static json_t *jpath(struct ctx *c, const struct hm_finding *f)
{
	hm_buf_reset(&c->tmp);
	if (hm_escape(&c->tmp, f->path, f->path_len, 0) < 0)
		return NULL;
	return json_stringn(c->tmp.data ? c->tmp.data : "", c->tmp.len);
}

static json_t *juint(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *jtime(time_t t)
{
	char s[21];

	hm_time_format(t, s);
	return json_string(s);
}

static json_t *jmanifest(struct ctx *c)
{
	const struct hm_report *r = c->r;
	json_t *m = json_object();

	jset(c, m, "path", jsafe(c, r->manifest_path));
	jset(c, m, "name", jsafe(c, r->manifest_name));
	jset(c, m, "serial", juint(r->serial));
	jset(c, m, "sha256", jsafe(c, r->manifest_sha256));
	jset(c, m, "key_id", jsafe(c, r->key_id));
	return m;
}

static const char *tool_version(const struct ctx *c)
{
	return c->r->tool_version ? c->r->tool_version : HM_VERSION;
}

static void sarif_rule_id(enum hm_finding_kind k, char out[64])
{
	const char *n = hm_finding_kind_name(k);
	size_t i;

	snprintf(out, 64, "HM-DRIFT-%s", n);
	for (i = 9; out[i]; i++)
		if (out[i] >= 'a' && out[i] <= 'z')
			out[i] = (char)(out[i] - 'a' + 'A');
}

/* The writer's errors become c's, so that a pass over the findings stops
 * at the first one (a closed pipe, a full disk). */
static int jcheck(struct ctx *c)
{
	if (!c->err && c->j.err) {
		c->err = c->j.err;
		c->sys_errno = c->j.sys_errno;
	}
	return c->err;
}

/* End the document and take its outcome. */
static void jfinish(struct ctx *c)
{
	if (!c->err)
		hm_json_out_finish(&c->j);
	jcheck(c);
}

static int json_finding(void *ctx, const struct hm_finding *x,
			struct hm_error *err)
{
	struct ctx *c = ctx;
	json_t *f = json_object();

	(void)err;
	jset(c, f, "kind", json_string(hm_finding_kind_name(x->kind)));
	jset(c, f, "path", jpath(c, x));
	jset(c, f, "expected", jsafe(c, x->expected));
	jset(c, f, "actual", jsafe(c, x->actual));
	jset(c, f, "detail", jsafe(c, x->detail));
	hm_json_out_value(&c->j, f);
	return jcheck(c);
}

static void json_write(struct ctx *c)
{
	const struct hm_report *r = c->r;
	struct hm_json_out *j = &c->j;
	json_t *o, *a;
	int k;

	hm_json_out_begin_object(j);
	hm_json_out_member(j, "format", json_string("hallmark-report"));
	hm_json_out_member(j, "version", json_integer(1));
	o = json_object();
	jset(c, o, "name", json_string("hallmark"));
	jset(c, o, "version", jsafe(c, tool_version(c)));
	hm_json_out_member(j, "tool", o);
	hm_json_out_member(j, "result",
			   json_string(r->exit_code == 0 ? "pass" : "drift"));
	hm_json_out_member(j, "exit_code", json_integer(r->exit_code));
	hm_json_out_member(j, "target", jsafe(c, r->target));
	hm_json_out_member(j, "host", jsafe(c, r->host));
	hm_json_out_member(j, "manifest", jmanifest(c));
	hm_json_out_member(j, "policy", jsafe(c, r->policy_path));
	hm_json_out_member(j, "started", jtime(r->started));
	hm_json_out_member(j, "finished", jtime(r->finished));
	hm_json_out_member(j, "duration_seconds",
			   json_real(difftime(r->finished, r->started)));

	o = json_object();
	jset(c, o, "expected", juint(c->st.expected));
	jset(c, o, "actual", juint(c->st.actual));
	jset(c, o, "matched", juint(c->st.matched));
	jset(c, o, "ignored", juint(c->st.ignored));
	jset(c, o, "allowed_changes", juint(c->st.allowed_changes));
	jset(c, o, "allowed_adds", juint(c->st.allowed_adds));
	jset(c, o, "bytes_hashed", juint(c->st.bytes_hashed));
	jset(c, o, "total_findings", juint(c->st.total_findings));
	a = json_object();
	/* Every kind, in the order of the enum (stable), zeros included. */
	for (k = 0; k < HM_FINDING__COUNT; k++)
		jset(c, a, hm_finding_kind_name((enum hm_finding_kind)k),
		     juint(c->st.findings[k]));
	jset(c, o, "findings", a);
	hm_json_out_member(j, "stats", o);

	hm_json_out_key(j, "findings");
	hm_json_out_begin_array(j);
	if (!jcheck(c))
		each(c, json_finding);
	hm_json_out_end(j);
	hm_json_out_end(j);
	jfinish(c);
}

static int sarif_result(void *ctx, const struct hm_finding *x,
			struct hm_error *err)
{
	struct ctx *c = ctx;
	json_t *msg = NULL;
	char id[64];

	(void)err;
	/* The message: PATH: MEANING[: expected X, found Y (DETAIL)]. */
	hm_buf_reset(&c->b);
	put_path(c, x);
	put_raw(c, ": ");
	put_raw(c, hm_finding_kind_text(x->kind));
	if (x->expected || x->actual || x->detail) {
		put_raw(c, ": ");
		put_change(c, x, false);
	}
	if (c->err)
		return c->err;
	msg = hm_sarif_textn(c->b.data, c->b.len);
	hm_buf_reset(&c->b);
	sarif_rule_id(x->kind, id);
	/* Every kind fails a run (cmd_verify.c): each result is an error. */
	hm_json_out_value(&c->j, hm_sarif_result_new(id, (size_t)x->kind,
						     "error", msg,
						     x->path ? x->path : "",
						     x->path_len));
	return jcheck(c);
}

static void sarif_write(struct ctx *c)
{
	const struct hm_report *r = c->r;
	json_t *rules = json_array(), *inv = json_object(), *o;
	char id[64];
	int k;

	/* Rule k is at index k: ruleIndex is the kind's enum value. */
	for (k = 0; k < HM_FINDING__COUNT; k++) {
		enum hm_finding_kind kind = (enum hm_finding_kind)k;

		sarif_rule_id(kind, id);
		if (json_array_append_new(rules, hm_sarif_rule_new(
				id, hm_finding_kind_name(kind),
				hm_finding_kind_text(kind), NULL, NULL,
				"error")) < 0)
			c->err = HM_ERR_NOMEM;
	}
	jset(c, inv, "executionSuccessful", json_true());
	jset(c, inv, "exitCode", json_integer(r->exit_code));
	jset(c, inv, "startTimeUtc", jtime(r->started));
	jset(c, inv, "endTimeUtc", jtime(r->finished));
	o = jsafe(c, tool_version(c));
	hm_sarif_begin(&c->j, o ? json_string_value(o) : NULL, rules, inv);
	json_decref(o);

	if (!jcheck(c))
		each(c, sarif_result);

	/* What was verified, for people reading the log in a CI server. */
	o = json_object();
	jset(c, o, "target", jsafe(c, r->target));
	jset(c, o, "host", jsafe(c, r->host));
	jset(c, o, "manifest", jmanifest(c));
	jset(c, o, "policy", jsafe(c, r->policy_path));
	hm_sarif_end(&c->j, o);
	jfinish(c);
}

/* ---- JUnit XML --------------------------------------------------------- */

/* Append s (already free of control bytes but \t \n) with XML escapes. */
static void put_xml(struct ctx *c, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && !c->err; i++) {
		unsigned char ch = (unsigned char)s[i];
		int r;

		switch (ch) {
		case '&': r = hm_buf_adds(&c->b, "&amp;"); break;
		case '<': r = hm_buf_adds(&c->b, "&lt;"); break;
		case '>': r = hm_buf_adds(&c->b, "&gt;"); break;
		case '"': r = hm_buf_adds(&c->b, "&quot;"); break;
		case '\'': r = hm_buf_adds(&c->b, "&apos;"); break;
		default:
			/* XML 1.0 has no way to carry other C0 bytes. */
			if (ch < 0x20 && ch != '\t' && ch != '\n')
				r = add_octal(&c->b, ch);
			else
				r = hm_buf_addc(&c->b, (char)ch);
		}
		if (r < 0)
			c->err = HM_ERR_NOMEM;
	}
}

/* Safe text, then XML-escaped. */
static void put_xml_safe(struct ctx *c, const char *s)
{
	hm_buf_reset(&c->tmp);
	if (c->err || add_safe(&c->tmp, s ? s : "") < 0) {
		c->err = c->err ? c->err : HM_ERR_NOMEM;
		return;
	}
	put_xml(c, c->tmp.data ? c->tmp.data : "", c->tmp.len);
}

static void put_xml_prop(struct ctx *c, const char *name, const char *value)
{
	put_fmt(c, "      <property name=\"%s\" value=\"", name);
	put_xml_safe(c, value);
	put_raw(c, "\"/>\n");
}

/* One line of a failure's text, for the findings of c->kind. */
static int junit_line(void *ctx, const struct hm_finding *f,
		      struct hm_error *err)
{
	struct ctx *c = ctx;
	size_t start;

	(void)err;
	if (f->kind != c->kind)
		return 0;
	/* Build the plain line at the end of b, then escape it from tmp. */
	start = c->b.len;
	put_path(c, f);
	if (f->expected || f->actual || f->detail) {
		put_raw(c, "  ");
		put_change(c, f, false);
	}
	put_raw(c, "\n");
	if (c->err)
		return c->err;
	hm_buf_reset(&c->tmp);
	if (hm_buf_add(&c->tmp, c->b.data + start, c->b.len - start) < 0)
		return c->err = HM_ERR_NOMEM;
	c->b.len = start;
	put_xml(c, c->tmp.data, c->tmp.len);
	flush(c);
	return c->err;
}

static void junit_write(struct ctx *c)
{
	const struct hm_report *r = c->r;
	uint64_t failures = 0, n;
	double secs = difftime(r->finished, r->started);
	char ts[21], num[32];
	size_t k;

	for (k = 0; k < HM_FINDING__COUNT; k++)
		if (kind_total(c, kind_order[k]))
			failures++;
	put_raw(c, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	put_fmt(c, "<testsuites name=\"hallmark\" tests=\"%d\" failures=\"%"
		PRIu64 "\" errors=\"0\" time=\"%.3f\">\n", HM_FINDING__COUNT,
		failures, secs);
	hm_time_format(r->started, ts);
	ts[19] = '\0'; /* JUnit timestamps carry no zone designator */
	put_fmt(c, "  <testsuite name=\"hallmark verify\" tests=\"%d\" failures=\"%"
		PRIu64 "\" errors=\"0\" skipped=\"0\" time=\"%.3f\" timestamp=\"%s\"",
		HM_FINDING__COUNT, failures, secs, ts);
	if (r->host) {
		put_raw(c, " hostname=\"");
		put_xml_safe(c, r->host);
		put_raw(c, "\"");
	}
	put_raw(c, ">\n    <properties>\n");
	put_xml_prop(c, "target", r->target);
	put_xml_prop(c, "manifest", r->manifest_path);
	put_xml_prop(c, "manifest.name", r->manifest_name);
	snprintf(num, sizeof(num), "%llu", r->serial);
	put_xml_prop(c, "manifest.serial", num);
	put_xml_prop(c, "manifest.sha256", r->manifest_sha256);
	put_xml_prop(c, "manifest.key_id", r->key_id);
	put_xml_prop(c, "policy", r->policy_path ? r->policy_path : "");
	snprintf(num, sizeof(num), "%d", r->exit_code);
	put_xml_prop(c, "exit_code", num);
	put_raw(c, "    </properties>\n");
	flush(c);

	for (k = 0; k < HM_FINDING__COUNT && !c->err; k++) {
		enum hm_finding_kind kind = kind_order[k];
		const char *name = hm_finding_kind_name(kind);

		put_fmt(c, "    <testcase classname=\"hallmark.drift\" name=\"%s\"",
			name);
		n = kind_total(c, kind);
		if (!n) {
			put_raw(c, "/>\n");
			continue;
		}
		if (c->listed[kind])
			n = c->kind_paths[kind];
		put_fmt(c, ">\n      <failure message=\"%" PRIu64
			" %s\" type=\"%s\">", n, plural(n, "path", "paths"), name);
		c->kind = kind;
		each(c, junit_line);
		put_raw(c, "</failure>\n");
		put_raw(c, "    </testcase>\n");
		flush(c);
	}
	put_raw(c, "  </testsuite>\n</testsuites>\n");
	flush(c);
}

/* ---- entry point ------------------------------------------------------- */

int hm_report_write(const struct hm_report *r, enum hm_report_format fmt,
		    FILE *out, struct hm_error *err)
{
	struct ctx c = { .r = r, .out = out, .e = err };
	int k, x;

	hm_json_out_init(&c.j, out);
	if (!r || !out)
		return hm_error_set(err, HM_ERR_USAGE, 0, "no report to write");
	if ((unsigned)fmt > HM_REPORT_SARIF)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "unknown report format %d", (int)fmt);
	/* Totals first: every format's head needs some. */
	x = hm_report_each_finding(r, count_one, &c, err);
	hm_buf_free(&c.cur);
	if (x < 0 || c.err) {
		if (c.err == HM_ERR_NOMEM)
			return hm_error_nomem(err);
		return x;
	}
	if (r->stats) {
		c.st = *r->stats;
	} else {
		for (k = 0; k < HM_FINDING__COUNT; k++)
			c.st.findings[k] = c.listed[k];
		c.st.total_findings = c.n_listed;
	}

	switch (fmt) {
	case HM_REPORT_TEXT:
		text_write(&c);
		break;
	case HM_REPORT_JSON:
		json_write(&c);
		break;
	case HM_REPORT_JUNIT:
		junit_write(&c);
		break;
	case HM_REPORT_SARIF:
		sarif_write(&c);
		break;
	}
	hm_buf_free(&c.b);
	hm_buf_free(&c.tmp);
	hm_findings_free(&c.group);
	if (c.e_set)
		return c.err;
	if (!c.err && (fflush(out) == EOF || ferror(out))) {
		c.err = HM_ERR_IO;
		c.sys_errno = errno;
	}
	if (c.err == HM_ERR_NOMEM)
		return hm_error_nomem(err);
	if (c.err)
		return hm_error_set(err, HM_ERR_IO, c.sys_errno,
				    "cannot write report");
	return 0;
}
