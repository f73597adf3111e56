/*
 * The audit rules (docs/audit-rules.md): the table of every rule, merged
 * from the families' files (audit_accounts.c, audit_ssh.c, audit_files.c,
 * audit_contents.c, audit_system.c, audit_vulns.c; each holds its rules'
 * rows next to their checks), the helpers they share, and the engine that
 * runs them over an image.
 *
 * Rules read files through hm_image_read, so they work the same on a live
 * host, an archive and the builder's tree.  A file a rule's verdict rests
 * on (accounts, sshd, system settings, the package database) that is there
 * but cannot be read is a finding of its family's "cannot be audited" rule
 * (read_audited), so nobody passes the gate by padding /etc/passwd past
 * the size limit.  Anything else that cannot be read or parsed (a
 * malformed shadow line, a huge or binary file the secret scans skip) is
 * listed in res->skipped and the audit goes on; only running out of
 * memory, a bad option or an unreadable OSV feed stops it.
 *
 * Messages are built here and made printable here (bytes outside
 * 0x20..0x7e become \ooo), and never hold a secret: the scanners mask
 * them, and known default passwords are not named.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hallmark/audit.h"
#include "hallmark/buf.h"
#include "hallmark/manifest.h"
#include "hallmark/packages.h"
#include "hallmark/policy.h"
#include "hallmark/secrets.h"

#include "audit_private.h"

/*
 * Every rule in one array sorted by id, merged once from the families'
 * tables: hm_audit_rule_find bisects it, and findings sort by rule
 * pointer, which is id order only because the rows share one array.
 */
#define MAX_RULES 128

static struct hm_audit_rule rules[MAX_RULES];
static size_t n_rules;
static pthread_once_t rules_once = PTHREAD_ONCE_INIT;

static int cmp_rule(const void *x, const void *y)
{
	const struct hm_audit_rule *a = x, *b = y;

	return strcmp(a->id, b->id);
}

static void merge_rules(void)
{
	static const struct {
		const struct hm_audit_rule *rows;
		const size_t *n;
	} families[] = {
		{ hm_audit_rules_accounts, &hm_audit_n_rules_accounts },
		{ hm_audit_rules_contents, &hm_audit_n_rules_contents },
		{ hm_audit_rules_files, &hm_audit_n_rules_files },
		{ hm_audit_rules_ssh, &hm_audit_n_rules_ssh },
		{ hm_audit_rules_system, &hm_audit_n_rules_system },
		{ hm_audit_rules_vulns, &hm_audit_n_rules_vulns },
		{ hm_audit_rules_registry, &hm_audit_n_rules_registry },
	};
	size_t f, i;

	for (f = 0; f < sizeof(families) / sizeof(families[0]); f++)
		for (i = 0; i < *families[f].n; i++) {
			if (n_rules == MAX_RULES)
				abort();   /* a programming error: raise MAX_RULES */
			rules[n_rules++] = families[f].rows[i];
		}
	qsort(rules, n_rules, sizeof(rules[0]), cmp_rule);
}

const struct hm_audit_rule *hm_audit_rules(size_t *ret_n)
{
	pthread_once(&rules_once, merge_rules);
	*ret_n = n_rules;
	return rules;
}

const struct hm_audit_rule *hm_audit_rule_find(const char *id)
{
	size_t lo = 0, hi, mid;
	int c;

	hm_audit_rules(&hi);
	if (!id)
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(id, rules[mid].id);
		if (c == 0)
			return &rules[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const char *const capture_globs[] = {
	"/etc/**", "/root/**", "/home/**", "/opt/**", "/srv/**", "/var/www/**",
	"/var/log/**", "/var/lib/dpkg/status", "/usr/local/etc/**",
	"/run/sysctl.d/**", "/usr/local/lib/sysctl.d/**", "/usr/lib/sysctl.d/**",
	"/lib/sysctl.d/**", NULL,
};

const char *const *hm_audit_capture_globs(void)
{
	return capture_globs;
}

/* ---- the engine ------------------------------------------------------- */

int hm_audit_nomem(struct actx *a)
{
	return hm_error_nomem(a->err);
}

/* Append s as printable ASCII: other bytes become \ooo. */
static int add_printable(struct hm_buf *b, const char *s, size_t len)
{
	size_t i;
	char e[5];

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (hm_buf_addc(b, (char)c) < 0)
				return HM_ERR_NOMEM;
			continue;
		}
		snprintf(e, sizeof(e), "\\%03o", c);
		if (hm_buf_add(b, e, 4) < 0)
			return HM_ERR_NOMEM;
	}
	return 0;
}

/* A path for a message, escaped as in manifests (borrowed from a->tmp). */
const char *hm_audit_qpath(struct actx *a, const char *path, size_t len)
{
	hm_buf_reset(&a->tmp);
	if (hm_escape(&a->tmp, path, len, 0) < 0 || !a->tmp.data)
		return "?";
	return a->tmp.data;
}

/* Format, then make printable; NULL on allocation failure. */
__attribute__((format(printf, 1, 0)))
static char *vprintable(const char *fmt, va_list ap)
{
	struct hm_buf raw = HM_BUF_INIT, out = HM_BUF_INIT;
	char *s = NULL;

	if (hm_buf_vaddf(&raw, fmt, ap) == 0 &&
	    add_printable(&out, raw.data ? raw.data : "", raw.len) == 0 &&
	    hm_buf_add(&out, "", 0) == 0)
		s = hm_buf_detach(&out, NULL);
	hm_buf_free(&raw);
	hm_buf_free(&out);
	return s;
}

__attribute__((format(printf, 2, 3)))
int hm_audit_skipped(struct actx *a, const char *fmt, ...)
{
	struct hm_audit_result *res = a->res;
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vprintable(fmt, ap);
	va_end(ap);
	if (!s)
		return hm_audit_nomem(a);
	if (res->n_skipped == res->cap_skipped) {
		size_t cap = res->cap_skipped ? res->cap_skipped * 2 : 16;
		char **p = realloc(res->skipped, cap * sizeof(*p));

		if (!p) {
			free(s);
			return hm_audit_nomem(a);
		}
		res->skipped = p;
		res->cap_skipped = cap;
	}
	res->skipped[res->n_skipped++] = s;
	return 0;
}

static bool id_matches(const char *pattern, const char *id)
{
	size_t n = strlen(pattern);

	if (n && pattern[n - 1] == '*')
		return strncmp(pattern, id, n - 1) == 0;
	return strcmp(pattern, id) == 0;
}

static const struct hm_audit_exception *find_exception(
	const struct actx *a, const struct hm_audit_rule *rule,
	const char *path, size_t len)
{
	size_t i;

	for (i = 0; a->opt && i < a->opt->n_exceptions; i++) {
		const struct hm_audit_exception *x = &a->opt->exceptions[i];

		if (!id_matches(x->rule_id, rule->id))
			continue;
		if (x->path_glob && (!path || !hm_glob_match(x->path_glob, path, len)))
			continue;
		return x;
	}
	return NULL;
}

__attribute__((format(printf, 5, 6)))
int hm_audit_finding(struct actx *a, const char *id, const char *path,
		   size_t path_len, const char *fmt, ...)
{
	struct hm_audit_result *res = a->res;
	const struct hm_audit_rule *rule = hm_audit_rule_find(id);
	const struct hm_audit_exception *x;
	struct hm_audit_finding f = { 0 };
	va_list ap;

	if (!rule)   /* a typo in this file */
		return hm_error_set(a->err, HM_ERR_USAGE, 0, "unknown rule '%s'", id);
	f.rule = rule;
	va_start(ap, fmt);
	f.message = vprintable(fmt, ap);
	va_end(ap);
	if (!f.message)
		goto nomem;
	if (path) {
		if (!(f.path = malloc(path_len + 1)))
			goto nomem;
		memcpy(f.path, path, path_len);
		f.path[path_len] = '\0';
		f.path_len = path_len;
	}
	if ((x = find_exception(a, rule, path, path_len))) {
		f.excepted = true;
		if (!(f.exception_reason = strdup(x->reason)))
			goto nomem;
	}
	if (res->n_findings == res->cap_findings) {
		size_t cap = res->cap_findings ? res->cap_findings * 2 : 16;
		struct hm_audit_finding *p = realloc(res->findings, cap * sizeof(*p));

		if (!p)
			goto nomem;
		res->findings = p;
		res->cap_findings = cap;
	}
	res->findings[res->n_findings++] = f;
	return 0;
nomem:
	free(f.message);
	free(f.path);
	free(f.exception_reason);
	return hm_audit_nomem(a);
}

const struct hm_entry *hm_audit_get(const struct actx *a, const char *path)
{
	const struct hm_entry *e = hm_tree_get(a->tree, path, strlen(path));

	return e && !(e->flags & HM_ENTRY_DELETED) ? e : NULL;
}

/*
 * Read a regular file the content scans look at: 1 and *ret (free it) if
 * read, 0 if it is absent or could not be read (which is then listed as
 * skipped), <0 on a fatal error.  Files a rule's verdict rests on go
 * through read_audited instead.
 */
int hm_audit_read_file(struct actx *a, const char *path, char **ret, size_t *ret_len)
{
	const struct hm_entry *e = hm_audit_get(a, path);
	struct hm_error err = { 0 };
	int r;

	if (!e || e->type != HM_TYPE_FILE)
		return 0;
	r = hm_image_read(a->img, path, HM_LIMIT_AUDIT_FILE_BYTES, ret, ret_len, &err);
	if (r == HM_ERR_NOMEM)
		return hm_audit_nomem(a);
	if (r == HM_ERR_LIMIT)
		return hm_audit_skipped(a, "'%s': larger than 1 MiB, not scanned",
			       hm_audit_qpath(a, e->path, e->path_len));
	if (r < 0)
		return hm_audit_skipped(a, "%s", err.msg);
	return 1;
}

/* A file a rule needs is there, but not as a regular file. */
int hm_audit_not_a_file(struct actx *a, const char *id, const struct hm_entry *e)
{
	if (e->type == HM_TYPE_SYMLINK)
		return hm_audit_finding(a, id, e->path, e->path_len,
			       "cannot be audited: a symlink to '%.*s', not followed",
			       (int)(e->target_len < 256 ? e->target_len : 256),
			       e->target ? e->target : "");
	return hm_audit_finding(a, id, e->path, e->path_len,
		       "cannot be audited: a %s, not a regular file",
		       hm_type_name(e->type));
}

/*
 * Read a file a rule's verdict rests on (the account database, sshd's
 * configuration, ...).  Such a file that is there but cannot be read as
 * text is a finding of rule id (each family's "cannot be audited" rule,
 * at the family's highest severity), never just a skipped note: padding
 * /etc/passwd past the size limit must not make an audit pass without
 * looking at it.  A symlink is not followed (the image may not hold its
 * target, and dir: targets open nothing through one) and is a finding
 * too.  1 and *ret (free it) if read, 0 if absent or reported, <0 on a
 * fatal error.
 */
int hm_audit_read_audited(struct actx *a, const char *id, const char *path,
			char **ret, size_t *ret_len)
{
	const struct hm_entry *e = hm_audit_get(a, path);
	struct hm_error err = { 0 };
	const char *nul;
	char *data = NULL;
	size_t len = 0;
	int r;

	if (!e)
		return 0;
	if (e->type != HM_TYPE_FILE)
		return hm_audit_not_a_file(a, id, e);
	r = hm_image_read(a->img, path, HM_LIMIT_AUDIT_FILE_BYTES, &data, &len, &err);
	if (r == HM_ERR_NOMEM)
		return hm_audit_nomem(a);
	if (r == HM_ERR_LIMIT && e->size > HM_LIMIT_AUDIT_FILE_BYTES)
		return hm_audit_finding(a, id, e->path, e->path_len,
			       "cannot be audited: larger than 1 MiB (%llu bytes)",
			       (unsigned long long)e->size);
	if (r == HM_ERR_LIMIT)   /* grew since the walk */
		return hm_audit_finding(a, id, e->path, e->path_len,
			       "cannot be audited: larger than 1 MiB");
	if (r < 0)
		return hm_audit_finding(a, id, e->path, e->path_len, "cannot be audited: %s",
			       err.msg);
	/* The parsers stop at a NUL and the system's readers may not. */
	if ((nul = memchr(data, '\0', len))) {
		r = hm_audit_finding(a, id, e->path, e->path_len,
			    "cannot be audited: a NUL byte at offset %zu where text is expected",
			    (size_t)(nul - data));
		explicit_bzero(data, len);
		free(data);
		return r;
	}
	*ret = data;
	*ret_len = len;
	return 1;
}

/* Next line of data (NUL-terminated in place); NULL at the end. */
char *hm_audit_next_line(char **pos, char *end, size_t *ret_len)
{
	char *s = *pos, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	if (!nl)
		nl = end;
	*nl = '\0';
	*ret_len = (size_t)(nl - s);
	*pos = nl + (nl < end);
	return s;
}

bool hm_audit_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* ---- running ---------------------------------------------------------- */

static int check_options(const struct hm_audit_options *opt, struct hm_error *err)
{
	size_t i;

	for (i = 0; opt && i < opt->n_exceptions; i++) {
		const struct hm_audit_exception *x = &opt->exceptions[i];

		if (!x->rule_id || !*x->rule_id)
			return hm_error_set(err, HM_ERR_USAGE, 0,
					    "exception %zu names no rule", i + 1);
		if (!x->reason || !*x->reason)
			return hm_error_set(err, HM_ERR_USAGE, 0,
					    "exception for '%s' gives no reason", x->rule_id);
		if (x->path_glob &&
		    hm_glob_check(x->path_glob, strlen(x->path_glob), err) < 0)
			return hm_error_prefix(err, "exception for '%s': path '%s'",
					       x->rule_id, x->path_glob);
	}
	return 0;
}

static int cmp_finding(const void *x, const void *y)
{
	const struct hm_audit_finding *a = x, *b = y;
	int c;

	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	if (!a->path != !b->path)
		return a->path ? 1 : -1;
	if (a->path && (c = hm_path_cmp(a->path, a->path_len, b->path, b->path_len)))
		return c;
	return strcmp(a->message, b->message);
}

int hm_audit_run(const struct hm_image *img, const struct hm_audit_options *opt,
		 struct hm_audit_result *res, struct hm_error *err)
{
	struct actx a = {
		.img = img, .tree = hm_image_tree(img), .opt = opt, .res = res,
		.err = err, .tmp = HM_BUF_INIT,
	};
	size_t first = res->n_findings;
	int r;

	if ((r = check_options(opt, err)) < 0)
		return r;
	if ((r = hm_audit_load_accounts(&a)) < 0 ||
	    (r = hm_audit_check_accounts(&a)) < 0 ||
	    (r = hm_audit_check_ssh(&a)) < 0 ||
	    (r = hm_audit_check_machine_id(&a)) < 0 ||
	    (r = hm_audit_check_files(&a)) < 0 ||
	    (r = hm_audit_check_contents(&a)) < 0 ||
	    (r = hm_audit_check_sysctl(&a)) < 0 ||
	    (r = hm_audit_check_umask(&a)) < 0 ||
	    (r = hm_audit_check_vulns(&a)) < 0)
		goto out;
	if (res->n_findings - first > 1)
		qsort(res->findings + first, res->n_findings - first,
		      sizeof(*res->findings), cmp_finding);
out:
	if (a.shadow_data)
		explicit_bzero(a.shadow_data, a.shadow_len);
	free(a.passwd_data);
	free(a.shadow_data);
	free(a.group_data);
	free(a.users);
	free(a.shadows);
	free(a.uids);
	free(a.gids);
	hm_buf_free(&a.tmp);
	return r;
}
