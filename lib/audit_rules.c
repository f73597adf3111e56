/*
 * The audit rules (docs/audit-rules.md) and the engine that runs them over
 * an image: accounts, sshd, file modes and owners, private keys, secrets
 * in configuration files, personal data in logs, kernel and system
 * settings, known-vulnerable packages.
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
#include <crypt.h>
#include <errno.h>
#include <limits.h>
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

#define CIS "CIS Debian Linux 12 Benchmark: "

/* Every rule, sorted by id (hm_audit_rule_find bisects). */
static const struct hm_audit_rule rules[] = {
	{ "HM-ACCT-001", "account with an empty password field", HM_SEV_CRITICAL,
	  "An empty password field lets anyone log in to the account without a password.",
	  CIS "Ensure /etc/shadow password fields are not empty" },
	{ "HM-ACCT-002", "account other than root with uid 0", HM_SEV_CRITICAL,
	  "Any account with uid 0 is root; a second one is a hidden superuser.",
	  CIS "Ensure root is the only UID 0 account" },
	{ "HM-ACCT-003", "root password not locked", HM_SEV_MEDIUM,
	  "An image should not carry a usable root password: every copy would share it. Lock it ('!' or '*') and log in with keys or sudo.",
	  CIS "Ensure root account access is controlled" },
	{ "HM-ACCT-004", "account with a well-known default password", HM_SEV_CRITICAL,
	  "Default passwords (root/toor, vagrant, raspberry, changeme, ...) are the first ones an attacker tries.",
	  NULL },
	{ "HM-ACCT-005", "system account with a login shell", HM_SEV_MEDIUM,
	  "System accounts run services; a login shell lets a compromised service account be used interactively.",
	  CIS "Ensure system accounts do not have a valid login shell" },
	{ "HM-ACCT-006", "pre-configured account the template did not declare", HM_SEV_HIGH,
	  "A user account nobody declared is a backdoor until proven otherwise.",
	  NULL },
	{ "HM-ACCT-007", "account database cannot be audited", HM_SEV_CRITICAL,
	  "/etc/passwd, /etc/shadow or /etc/group is there but could not be read as text (larger than the 1 MiB limit, a symlink, unreadable, a NUL byte), so the account rules never saw it: padding /etc/passwd past the limit must not hide a second root.",
	  NULL },
	{ "HM-FILE-001", "world-writable file", HM_SEV_HIGH,
	  "Any user can change a world-writable file, and so anything that reads or runs it.",
	  CIS "Ensure world writable files and directories are secured" },
	{ "HM-FILE-002", "world-writable directory without the sticky bit", HM_SEV_HIGH,
	  "Without the sticky bit, any user can delete or replace other users' files in the directory.",
	  CIS "Ensure world writable files and directories are secured" },
	{ "HM-FILE-003", "setuid or setgid file outside the allowlist", HM_SEV_HIGH,
	  "Setuid and setgid programs run with another identity; each one outside the small set a system needs is attack surface.",
	  CIS "Ensure SUID and SGID files are reviewed" },
	{ "HM-FILE-004", "file capabilities outside the allowlist", HM_SEV_HIGH,
	  "File capabilities (security.capability) grant root powers like setuid does, less visibly.",
	  NULL },
	{ "HM-FILE-005", "file owned by an unknown user or group", HM_SEV_MEDIUM,
	  "A uid or gid with no account is taken over by whichever account gets that id next.",
	  CIS "Ensure no unowned or ungrouped files or directories exist" },
	{ "HM-FILE-006", "private key in the image", HM_SEV_HIGH,
	  "A private key baked into an image is shared by every copy and by everyone who can read the image.",
	  NULL },
	{ "HM-PII-001", "personal data in a log file", HM_SEV_MEDIUM,
	  "Logs shipped in an image leak the personal data of whoever used the build host (e-mail addresses, card numbers, national ids).",
	  NULL },
	{ "HM-SECRET-001", "clear-text credential in a configuration file", HM_SEV_HIGH,
	  "Passwords and access keys in configuration files are readable by everyone who gets the image; use a secret store at run time.",
	  NULL },
	{ "HM-SSH-001", "sshd allows root login with a password (PermitRootLogin yes)", HM_SEV_HIGH,
	  "Root login with a password over ssh invites brute force and leaves no trace of who logged in.",
	  CIS "Ensure sshd PermitRootLogin is disabled" },
	{ "HM-SSH-002", "sshd allows password authentication", HM_SEV_MEDIUM,
	  "Password authentication over ssh can be brute-forced; keys cannot. The default is yes.",
	  NULL },
	{ "HM-SSH-003", "sshd allows empty passwords (PermitEmptyPasswords yes)", HM_SEV_CRITICAL,
	  "Accounts without a password become reachable over the network.",
	  CIS "Ensure sshd PermitEmptyPasswords is disabled" },
	{ "HM-SSH-004", "ssh host key baked into the image", HM_SEV_HIGH,
	  "Every machine made from the image shares its host keys, so one leak lets an attacker impersonate them all. Generate keys at first boot.",
	  NULL },
	{ "HM-SSH-005", "sshd allows root login with a key (PermitRootLogin not no)", HM_SEV_MEDIUM,
	  "Direct root login, even with keys only, leaves no trace of who acted as root. The default is prohibit-password.",
	  CIS "Ensure sshd PermitRootLogin is disabled" },
	{ "HM-SSH-006", "sshd configuration cannot be audited", HM_SEV_CRITICAL,
	  "/etc/ssh/sshd_config or a file it includes is there but could not be read as text (larger than the 1 MiB limit, a symlink, unreadable, a NUL byte); sshd may read settings the sshd rules never saw.",
	  NULL },
	{ "HM-SYS-001", "machine-id baked into the image", HM_SEV_MEDIUM,
	  "A non-empty /etc/machine-id gives every copy the same identity (DHCP client ids, journal, D-Bus); leave it empty so it is made at first boot.",
	  NULL },
	{ "HM-SYS-002", "kernel parameter not hardened", HM_SEV_LOW,
	  "The sysctl settings in /etc/sysctl.conf and sysctl.d should set the hardening values (ASLR, pointer and dmesg restrictions, link protections, no redirects or source routes, reverse path filtering).",
	  CIS "Ensure address space layout randomization is enabled; Network Kernel Parameters" },
	{ "HM-SYS-003", "default umask weaker than 027", HM_SEV_LOW,
	  "With a umask of 022, files users create are readable by everyone.",
	  CIS "Ensure default user umask is configured" },
	{ "HM-SYS-004", "package manager cache left in the image", HM_SEV_INFO,
	  "Package lists and caches make the image larger and go stale; an image should fetch fresh lists before installing.",
	  NULL },
	{ "HM-SYS-005", "documentation left in the image", HM_SEV_INFO,
	  "Documentation other than copyright notices is dead weight in an image.",
	  NULL },
	{ "HM-SYS-006", "system setting file cannot be audited", HM_SEV_MEDIUM,
	  "/etc/machine-id, /etc/login.defs or a sysctl configuration file is there but could not be read as text (larger than the 1 MiB limit, a symlink where one is not expected, unreadable, a NUL byte), so the rules that depend on it never saw it.",
	  NULL },
	{ "HM-VULN-001", "known vulnerable package (high, or severity not given)", HM_SEV_HIGH,
	  "An installed package version is affected by a published advisory; update it to the fixed version.",
	  CIS "Ensure updates, patches, and additional security software are installed" },
	{ "HM-VULN-002", "known vulnerable package (critical)", HM_SEV_CRITICAL,
	  "An installed package version is affected by a published advisory the feed rates critical.",
	  CIS "Ensure updates, patches, and additional security software are installed" },
	{ "HM-VULN-003", "known vulnerable package (medium)", HM_SEV_MEDIUM,
	  "An installed package version is affected by a published advisory the feed rates medium.",
	  CIS "Ensure updates, patches, and additional security software are installed" },
	{ "HM-VULN-004", "known vulnerable package (low)", HM_SEV_LOW,
	  "An installed package version is affected by a published advisory the feed rates low.",
	  CIS "Ensure updates, patches, and additional security software are installed" },
	{ "HM-VULN-005", "package database cannot be audited", HM_SEV_CRITICAL,
	  "/var/lib/dpkg/status is there but could not be read, so no installed package was checked against the feed.",
	  NULL },
};

#define N_RULES (sizeof(rules) / sizeof(rules[0]))

const struct hm_audit_rule *hm_audit_rules(size_t *ret_n)
{
	*ret_n = N_RULES;
	return rules;
}

const struct hm_audit_rule *hm_audit_rule_find(const char *id)
{
	size_t lo = 0, hi = N_RULES, mid;
	int c;

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

struct user {
	const char *name, *pw, *shell;
	uint32_t uid, gid;
};

struct shadow {
	const char *name, *hash;
};

struct actx {
	const struct hm_image *img;
	const struct hm_tree *tree;
	const struct hm_audit_options *opt;
	struct hm_audit_result *res;
	struct hm_error *err;
	struct hm_buf tmp;
	/* Accounts, pointing into the file buffers below. */
	char *passwd_data, *shadow_data, *group_data;
	size_t shadow_len;
	struct user *users;
	size_t n_users;
	struct shadow *shadows;
	size_t n_shadows;
	uint32_t *uids, *gids;          /* sorted, for unowned files */
	size_t n_uids, n_gids;
	bool have_passwd, have_group;
};

static int nomem(struct actx *a)
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
static const char *qpath(struct actx *a, const char *path, size_t len)
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
static int skipped(struct actx *a, const char *fmt, ...)
{
	struct hm_audit_result *res = a->res;
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vprintable(fmt, ap);
	va_end(ap);
	if (!s)
		return nomem(a);
	if (res->n_skipped == res->cap_skipped) {
		size_t cap = res->cap_skipped ? res->cap_skipped * 2 : 16;
		char **p = realloc(res->skipped, cap * sizeof(*p));

		if (!p) {
			free(s);
			return nomem(a);
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
static int finding(struct actx *a, const char *id, const char *path,
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
	return nomem(a);
}

static const struct hm_entry *get(const struct actx *a, const char *path)
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
static int read_file(struct actx *a, const char *path, char **ret, size_t *ret_len)
{
	const struct hm_entry *e = get(a, path);
	struct hm_error err = { 0 };
	int r;

	if (!e || e->type != HM_TYPE_FILE)
		return 0;
	r = hm_image_read(a->img, path, HM_LIMIT_AUDIT_FILE_BYTES, ret, ret_len, &err);
	if (r == HM_ERR_NOMEM)
		return nomem(a);
	if (r == HM_ERR_LIMIT)
		return skipped(a, "'%s': larger than 1 MiB, not scanned",
			       qpath(a, e->path, e->path_len));
	if (r < 0)
		return skipped(a, "%s", err.msg);
	return 1;
}

/* A file a rule needs is there, but not as a regular file. */
static int not_a_file(struct actx *a, const char *id, const struct hm_entry *e)
{
	if (e->type == HM_TYPE_SYMLINK)
		return finding(a, id, e->path, e->path_len,
			       "cannot be audited: a symlink to '%.*s', not followed",
			       (int)(e->target_len < 256 ? e->target_len : 256),
			       e->target ? e->target : "");
	return finding(a, id, e->path, e->path_len,
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
static int read_audited(struct actx *a, const char *id, const char *path,
			char **ret, size_t *ret_len)
{
	const struct hm_entry *e = get(a, path);
	struct hm_error err = { 0 };
	const char *nul;
	char *data = NULL;
	size_t len = 0;
	int r;

	if (!e)
		return 0;
	if (e->type != HM_TYPE_FILE)
		return not_a_file(a, id, e);
	r = hm_image_read(a->img, path, HM_LIMIT_AUDIT_FILE_BYTES, &data, &len, &err);
	if (r == HM_ERR_NOMEM)
		return nomem(a);
	if (r == HM_ERR_LIMIT && e->size > HM_LIMIT_AUDIT_FILE_BYTES)
		return finding(a, id, e->path, e->path_len,
			       "cannot be audited: larger than 1 MiB (%llu bytes)",
			       (unsigned long long)e->size);
	if (r == HM_ERR_LIMIT)   /* grew since the walk */
		return finding(a, id, e->path, e->path_len,
			       "cannot be audited: larger than 1 MiB");
	if (r < 0)
		return finding(a, id, e->path, e->path_len, "cannot be audited: %s",
			       err.msg);
	/* The parsers stop at a NUL and the system's readers may not. */
	if ((nul = memchr(data, '\0', len))) {
		r = finding(a, id, e->path, e->path_len,
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
static char *next_line(char **pos, char *end, size_t *ret_len)
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

/*
 * The account files are read the way glibc's nss_files reads them
 * (nss/nss_files/files-parse.c, files-pwd.c, files-grp.c,
 * shadow/sgetspent_r.c), since that is what decides who logs in as
 * whom: a line glibc resolves must never be a skipped note here.
 * Measured with getent on Debian 12 (glibc 2.36) against a
 * bind-mounted file: a numeric field is strtoul's (leading white
 * space, a '+' or '-' sign: " 0", "+0", "-0" and "000" are uid 0),
 * ending at ':' or the end of the line (anything else rejects the
 * line); a value above UINT32_MAX, "-1" included, rejects it too.
 * Missing trailing fields are empty and the last field takes every
 * ':' after it ("a:x:0:0" is uid 0 with an empty shell, and the shell
 * of "a:x:0:0::/:/bin/sh:x" is "/bin/sh:x").
 */

/* isspace() in the C locale. */
static bool is_c_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* glibc's STRING_FIELD: up to the next ':' (cut there) or the end. */
static char *str_field(char **line)
{
	char *s = *line, *c = strchr(s, ':');

	if (c) {
		*c = '\0';
		*line = c + 1;
	} else {
		*line = s + strlen(s);
	}
	return s;
}

/*
 * strtoul(s, &end, 10) narrowed as Debian 12's glibc does (measured: too big
 * a value rejects the line, it is not clamped), without the
 * locale: false if nothing was converted or the value (after a '-'
 * negates it modulo 2^64, as strtoul does) is above UINT32_MAX.
 */
static bool strtou32_glibc(const char *s, const char **ret_end, uint32_t *ret,
			   bool *ret_empty)
{
	const char *p = s;
	unsigned long long v = 0;
	bool neg = false, big = false;

	*ret_empty = false;
	while (is_c_space(*p))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p < '0' || *p > '9') {
		*ret_end = s;
		*ret_empty = true;
		return false;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (ULLONG_MAX - (unsigned)(*p - '0')) / 10)
			big = true;
		else
			v = v * 10 + (unsigned)(*p - '0');
	}
	*ret_end = p;
	if (neg)
		v = 0ULL - v;
	if (big || v > UINT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/*
 * glibc's INT_FIELD (maybe_null false) and INT_FIELD_MAYBE_NULL (true:
 * an empty field is allowed, but not the end of the line).  The number
 * must end at ':' (skipped; only when colon_ends) or at the end of the
 * line.  *ret is set only for a number.
 */
static bool int_field(char **line, bool maybe_null, bool colon_ends, uint32_t *ret)
{
	const char *end;
	bool empty;
	uint32_t v;

	if (maybe_null && **line == '\0')
		return false;
	if (!strtou32_glibc(*line, &end, &v, &empty) && !(empty && maybe_null))
		return false;
	if (colon_ends && *end == ':')
		end++;
	else if (*end != '\0')
		return false;
	if (!empty)
		*ret = v;
	*line = *line + (end - *line);
	return true;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

static bool has_id(const uint32_t *ids, size_t n, uint32_t id)
{
	return n && bsearch(&id, ids, n, sizeof(id), cmp_u32) != NULL;
}

/* ---- accounts --------------------------------------------------------- */

/*
 * Parse an account file line by line as glibc's files-XXX.c does:
 * leading white space dropped, blank lines and '#' comments ignored.
 * A name starting with '+' or '-' (an nss_compat entry, which nss_files
 * never returns by name or id) is checked like any other: under
 * "compat" it can still bring an account in, and a gold image has no
 * business carrying one.  fn parses the rest of a line and returns 0, 1
 * (glibc rejects the line: listed as skipped) or <0.
 */
static int parse_colon_file(struct actx *a, const char *path,
			    char **ret_data, size_t *ret_len,
			    int (*fn)(struct actx *a, char *line), bool *ret_present)
{
	char *data = NULL, *pos, *end, *line;
	size_t len = 0, llen, lineno = 0;
	int r;

	*ret_present = false;
	if ((r = read_audited(a, "HM-ACCT-007", path, &data, &len)) <= 0)
		return r;
	*ret_data = data;
	if (ret_len)
		*ret_len = len;
	*ret_present = true;
	pos = data;
	end = data + len;
	while ((line = next_line(&pos, end, &llen))) {
		lineno++;
		/* read_audited refuses NUL bytes; this keeps fn's view safe. */
		if (strlen(line) != llen)
			r = 1;
		else {
			while (is_c_space(*line))
				line++;
			if (*line == '\0' || *line == '#')
				continue;
			r = *line == ':' ? 1 : fn(a, line);
		}
		if (r < 0)
			return r;
		if (r == 1 && (r = skipped(a, "%s:%zu: malformed line", path, lineno)) < 0)
			return r;
	}
	return 0;
}

/* files-pwd.c: name:passwd:uid:gid[:gecos[:dir[:shell...]]] */
static int add_user(struct actx *a, char *line)
{
	struct user u = { 0 };
	struct user *p;

	u.name = str_field(&line);
	u.pw = str_field(&line);
	if (!int_field(&line, false, true, &u.uid) ||
	    !int_field(&line, false, true, &u.gid))
		return 1;
	(void)str_field(&line);         /* gecos */
	(void)str_field(&line);         /* home */
	u.shell = line;
	if (!(p = realloc(a->users, (a->n_users + 1) * sizeof(*p))))
		return nomem(a);
	a->users = p;
	a->users[a->n_users++] = u;
	return 0;
}

/*
 * sgetspent_r.c: name:passwd:lastchg:min:max, then optionally
 * :warn:inact:expire[:flag]; each number may be empty but only the
 * flag may end the line early, and nothing may follow the flag.
 */
static int add_shadow(struct actx *a, char *line)
{
	struct shadow s = { 0 };
	struct shadow *p;
	uint32_t v;
	int i;

	s.name = str_field(&line);
	s.hash = str_field(&line);
	for (i = 0; i < 3; i++)
		if (!int_field(&line, true, true, &v))
			return 1;
	while (is_c_space(*line))
		line++;
	if (*line) {
		for (i = 0; i < 3; i++)
			if (!int_field(&line, true, true, &v))
				return 1;
		if (*line && !int_field(&line, true, false, &v))
			return 1;
	}
	if (!(p = realloc(a->shadows, (a->n_shadows + 1) * sizeof(*p))))
		return nomem(a);
	a->shadows = p;
	a->shadows[a->n_shadows++] = s;
	return 0;
}

/* files-grp.c: name:passwd:gid[:members...] */
static int add_group(struct actx *a, char *line)
{
	uint32_t gid, *p;

	(void)str_field(&line);
	(void)str_field(&line);
	if (!int_field(&line, false, true, &gid))
		return 1;
	if (!(p = realloc(a->gids, (a->n_gids + 1) * sizeof(*p))))
		return nomem(a);
	a->gids = p;
	a->gids[a->n_gids++] = gid;
	return 0;
}

static int load_accounts(struct actx *a)
{
	bool present;
	size_t i;
	int r;

	if ((r = parse_colon_file(a, "/etc/passwd", &a->passwd_data, NULL, add_user,
				  &a->have_passwd)) < 0 ||
	    (r = parse_colon_file(a, "/etc/shadow", &a->shadow_data,
				  &a->shadow_len, add_shadow,
				  &present)) < 0 ||
	    (r = parse_colon_file(a, "/etc/group", &a->group_data, NULL, add_group,
				  &a->have_group)) < 0)
		return r;
	if (a->n_users && !(a->uids = malloc(a->n_users * sizeof(*a->uids))))
		return nomem(a);
	for (i = 0; i < a->n_users; i++)
		a->uids[i] = a->users[i].uid;
	a->n_uids = a->n_users;
	if (a->n_uids > 1)
		qsort(a->uids, a->n_uids, sizeof(*a->uids), cmp_u32);
	if (a->n_gids > 1)
		qsort(a->gids, a->n_gids, sizeof(*a->gids), cmp_u32);
	return 0;
}

/* Accounts people log in to: Debian's range for them (1000-59999). */
static bool is_regular_uid(uint32_t uid)
{
	return uid >= 1000 && uid <= 59999;
}

static bool is_nologin_shell(const char *shell)
{
	static const char *const no[] = { "nologin", "false", "sync", "shutdown",
					  "halt", NULL };
	const char *base = strrchr(shell, '/');
	size_t i;

	base = base ? base + 1 : shell;
	for (i = 0; no[i]; i++)
		if (strcmp(base, no[i]) == 0)
			return true;
	return false;
}

static bool is_locked(const char *hash)
{
	return hash[0] == '!' || hash[0] == '*';
}

/* Plain-text defaults tried against every usable hash (the account's
 * own name is tried too). */
static const char *const default_passwords[] = {
	"root", "toor", "password", "admin", "changeme", "debian", "ubuntu",
	"123456", "raspberry", "vagrant", "letmein", "default", NULL,
};

static bool crypt_matches(const char *pw, const char *hash, struct crypt_data *cd)
{
	const char *out;

	memset(cd, 0, sizeof(*cd));
	out = crypt_r(pw, hash, cd);
	/* libxcrypt fails with "*0" or "*1", never a valid hash. */
	return out && out[0] != '*' && strcmp(out, hash) == 0;
}

static bool has_default_password(const struct shadow *s, struct crypt_data *cd)
{
	bool hit = crypt_matches(s->name, s->hash, cd);
	size_t i;

	for (i = 0; !hit && default_passwords[i]; i++)
		hit = crypt_matches(default_passwords[i], s->hash, cd);
	explicit_bzero(cd, sizeof(*cd));
	return hit;
}

static int check_accounts(struct actx *a)
{
	static const char P[] = "/etc/passwd", S[] = "/etc/shadow";
	struct crypt_data *cd = NULL;
	size_t i, k;
	int r = 0;

	for (i = 0; i < a->n_users; i++) {
		const struct user *u = &a->users[i];

		if (u->pw[0] == '\0' &&
		    (r = finding(a, "HM-ACCT-001", P, sizeof(P) - 1,
				 "account '%s' has an empty password field in /etc/passwd",
				 u->name)) < 0)
			goto out;
		if (u->uid == 0 && strcmp(u->name, "root") != 0 &&
		    (r = finding(a, "HM-ACCT-002", P, sizeof(P) - 1,
				 "account '%s' has uid 0", u->name)) < 0)
			goto out;
		/* uid 0 accounts are HM-ACCT-002's. */
		if (!is_regular_uid(u->uid) && u->uid != 0 &&
		    !is_nologin_shell(u->shell) &&
		    (r = finding(a, "HM-ACCT-005", P, sizeof(P) - 1,
				 "system account '%s' (uid %u) has the login shell '%s'",
				 u->name, u->uid, u->shell[0] ? u->shell : "/bin/sh")) < 0)
			goto out;
		if (a->opt && a->opt->declared_users && is_regular_uid(u->uid)) {
			for (k = 0; a->opt->declared_users[k]; k++)
				if (strcmp(a->opt->declared_users[k], u->name) == 0)
					break;
			if (!a->opt->declared_users[k] &&
			    (r = finding(a, "HM-ACCT-006", P, sizeof(P) - 1,
					 "account '%s' (uid %u) is not declared by the template",
					 u->name, u->uid)) < 0)
				goto out;
		}
	}
	for (i = 0; i < a->n_shadows; i++) {
		const struct shadow *s = &a->shadows[i];

		if (s->hash[0] == '\0' &&
		    (r = finding(a, "HM-ACCT-001", S, sizeof(S) - 1,
				 "account '%s' has an empty password field", s->name)) < 0)
			goto out;
		if (strcmp(s->name, "root") == 0 && !is_locked(s->hash) &&
		    (r = finding(a, "HM-ACCT-003", S, sizeof(S) - 1,
				 "the root password is not locked (no '!' or '*' prefix)")) < 0)
			goto out;
		if (is_locked(s->hash) || strlen(s->hash) < 13)
			continue;
		if (!cd && !(cd = calloc(1, sizeof(*cd)))) {
			r = nomem(a);
			goto out;
		}
		if (has_default_password(s, cd) && (r = finding(a, "HM-ACCT-004", S, sizeof(S) - 1,
					"account '%s' has a well-known default password",
					s->name)) < 0)
			goto out;
	}
out:
	free(cd);
	return r;
}

/* ---- sshd ------------------------------------------------------------- */

#define SSH_MAX_DEPTH 16

enum { SSH_ROOT, SSH_PASSWORD, SSH_EMPTY, SSH_N };

struct ssh_setting {
	char value[32];
	char *file;        /* where it was set; NULL: not set */
	size_t line;
};

struct ssh_state {
	struct ssh_setting s[SSH_N];
	bool in_match;
};

static const char *const ssh_keys[SSH_N] = {
	[SSH_ROOT] = "permitrootlogin",
	[SSH_PASSWORD] = "passwordauthentication",
	[SSH_EMPTY] = "permitemptypasswords",
};

struct glob_walk {
	const char *pattern;
	const char **paths;
	size_t n;
	int err;
};

static int collect_match(void *ctx, const struct hm_entry *e)
{
	struct glob_walk *g = ctx;
	const char **p;

	if ((e->flags & HM_ENTRY_DELETED) || !hm_glob_match(g->pattern, e->path, e->path_len))
		return 0;
	if (!(p = realloc(g->paths, (g->n + 1) * sizeof(*p)))) {
		g->err = HM_ERR_NOMEM;
		return -1;
	}
	g->paths = p;
	g->paths[g->n++] = e->path;
	return 0;
}

static int cmp_str_ptr(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int ssh_parse(struct actx *a, const char *path, unsigned depth,
		     struct ssh_state *st);

static int ssh_include(struct actx *a, const char *file, size_t lineno,
		       const char *arg, size_t len, unsigned depth,
		       struct ssh_state *st)
{
	struct hm_buf pat = HM_BUF_INIT;
	struct hm_error gerr = { 0 };
	struct glob_walk g = { 0 };
	size_t i;
	int r;

	/* Relative Include paths are relative to /etc/ssh. */
	if ((arg[0] != '/' && hm_buf_adds(&pat, "/etc/ssh/") < 0) ||
	    hm_buf_add(&pat, arg, len) < 0) {
		r = nomem(a);
		goto out;
	}
	if (hm_glob_check(pat.data, pat.len, &gerr) < 0) {
		r = skipped(a, "%s:%zu: Include '%s' not followed: %s", file, lineno,
			    pat.data, gerr.msg);
		goto out;
	}
	if (depth + 1 > SSH_MAX_DEPTH) {
		r = skipped(a, "%s:%zu: Include nested too deeply, not followed",
			    file, lineno);
		goto out;
	}
	g.pattern = pat.data;
	hm_tree_walk(a->tree, collect_match, &g);
	if (g.err) {
		r = nomem(a);
		goto out;
	}
	/* glob(3) order, as sshd expands it. */
	if (g.n > 1)
		qsort(g.paths, g.n, sizeof(*g.paths), cmp_str_ptr);
	for (i = 0, r = 0; i < g.n && r >= 0; i++)
		r = ssh_parse(a, g.paths[i], depth + 1, st);
out:
	free(g.paths);
	hm_buf_free(&pat);
	return r;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int ssh_parse(struct actx *a, const char *path, unsigned depth,
		     struct ssh_state *st)
{
	char *data = NULL, *pos, *end, *line, *kw, *arg;
	size_t len = 0, llen, lineno = 0, kwlen, alen, k;
	bool saved_match = st->in_match;
	int r;

	if ((r = read_audited(a, "HM-SSH-006", path, &data, &len)) <= 0)
		return r;
	pos = data;
	end = data + len;
	while ((line = next_line(&pos, end, &llen))) {
		lineno++;
		while (is_space(*line))
			line++;
		if (!*line || *line == '#')
			continue;
		kw = line;
		while (*line && !is_space(*line) && *line != '=')
			line++;
		kwlen = (size_t)(line - kw);
		while (is_space(*line))
			line++;
		if (*line == '=')
			line++;
		while (is_space(*line))
			line++;
		arg = line;
		alen = strlen(arg);
		while (alen && is_space(arg[alen - 1]))
			alen--;
		arg[alen] = '\0';
		if (kwlen == 5 && strncasecmp(kw, "match", 5) == 0) {
			st->in_match = !(alen == 3 && strncasecmp(arg, "all", 3) == 0);
			continue;
		}
		if (st->in_match)
			continue;
		if (kwlen == 7 && strncasecmp(kw, "include", 7) == 0) {
			while (*arg) {
				char *w = arg;

				while (*arg && !is_space(*arg))
					arg++;
				if ((r = ssh_include(a, path, lineno, w, (size_t)(arg - w),
						     depth, st)) < 0)
					goto out;
				while (is_space(*arg))
					arg++;
			}
			continue;
		}
		for (k = 0; k < SSH_N; k++) {
			struct ssh_setting *s = &st->s[k];
			size_t vlen = 0;

			if (strlen(ssh_keys[k]) != kwlen ||
			    strncasecmp(kw, ssh_keys[k], kwlen) != 0 || s->file)
				continue;
			/* The first value wins. */
			while (arg[vlen] && !is_space(arg[vlen]) &&
			       vlen < sizeof(s->value) - 1) {
				s->value[vlen] = arg[vlen];
				vlen++;
			}
			s->value[vlen] = '\0';
			if (vlen >= 2 && s->value[0] == '"' && s->value[vlen - 1] == '"') {
				memmove(s->value, s->value + 1, vlen - 2);
				s->value[vlen - 2] = '\0';
			}
			if (!(s->file = strdup(path))) {
				r = nomem(a);
				goto out;
			}
			s->line = lineno;
		}
	}
	r = 0;
out:
	/* A Match block ends with the file it is in. */
	st->in_match = saved_match;
	free(data);
	return r;
}

static int check_ssh(struct actx *a)
{
	static const char C[] = "/etc/ssh/sshd_config";
	struct ssh_state st = { 0 };
	const struct ssh_setting *s;
	const char *f;
	size_t k;
	int r = 0;

	if (!get(a, C))
		goto out;
	if ((r = ssh_parse(a, C, 0, &st)) < 0)
		goto out;
	s = &st.s[SSH_ROOT];
	f = s->file ? s->file : C;
	if (s->file && strcasecmp(s->value, "yes") == 0)
		r = finding(a, "HM-SSH-001", f, strlen(f),
			    "PermitRootLogin yes (line %zu)", s->line);
	else if (!s->file)
		r = finding(a, "HM-SSH-005", f, strlen(f),
			    "PermitRootLogin is not set (default: prohibit-password)");
	else if (strcasecmp(s->value, "no") != 0)
		r = finding(a, "HM-SSH-005", f, strlen(f),
			    "PermitRootLogin %s (line %zu)", s->value, s->line);
	if (r < 0)
		goto out;
	s = &st.s[SSH_PASSWORD];
	f = s->file ? s->file : C;
	if (!s->file)
		r = finding(a, "HM-SSH-002", f, strlen(f),
			    "PasswordAuthentication is not set (default: yes)");
	else if (strcasecmp(s->value, "no") != 0)
		r = finding(a, "HM-SSH-002", f, strlen(f),
			    "PasswordAuthentication %s (line %zu)", s->value, s->line);
	if (r < 0)
		goto out;
	s = &st.s[SSH_EMPTY];
	if (s->file && strcasecmp(s->value, "yes") == 0)
		r = finding(a, "HM-SSH-003", s->file, strlen(s->file),
			    "PermitEmptyPasswords yes (line %zu)", s->line);
out:
	for (k = 0; k < SSH_N; k++)
		free(st.s[k].file);
	return r;
}

static int check_machine_id(struct actx *a)
{
	static const char M[] = "/etc/machine-id";
	char *data = NULL;
	size_t len = 0, i = 0;
	int r;

	if ((r = read_audited(a, "HM-SYS-006", M, &data, &len)) <= 0)
		return r;
	while (len && (data[len - 1] == '\n' || is_space(data[len - 1])))
		len--;
	while (i < len && is_space(data[i]))
		i++;
	if (len > i && !(len - i == 13 && memcmp(data + i, "uninitialized", 13) == 0))
		r = finding(a, "HM-SYS-001", M, sizeof(M) - 1,
			    "/etc/machine-id is set; every copy of the image shares it");
	free(data);
	return r < 0 ? r : 0;
}

/* ---- files ------------------------------------------------------------ */

/* Setuid/setgid programs a Debian system needs (docs/audit-rules.md). */
static const char *const setid_allow[] = {
	"/usr/bin/passwd", "/usr/bin/su", "/bin/su", "/usr/bin/mount", "/bin/mount",
	"/usr/bin/umount", "/bin/umount", "/usr/bin/chsh", "/usr/bin/chfn",
	"/usr/bin/gpasswd", "/usr/bin/newgrp", "/usr/bin/expiry", "/usr/bin/chage",
	"/usr/bin/sudo", "/usr/bin/crontab", "/usr/bin/wall", "/usr/bin/ssh-agent",
	"/usr/bin/write.ul", "/usr/bin/bsd-write", "/usr/bin/dotlockfile",
	"/usr/bin/fusermount", "/usr/bin/fusermount3", "/usr/bin/at",
	"/usr/sbin/unix_chkpwd", "/sbin/unix_chkpwd", "/usr/sbin/pam_extrausers_chkpwd",
	"/usr/lib/openssh/ssh-keysign", "/usr/lib/dbus-1.0/dbus-daemon-launch-helper",
	"/usr/lib/polkit-1/polkit-agent-helper-1", "/usr/libexec/polkit-agent-helper-1",
	NULL,
};

static const char *const caps_allow[] = {
	"/usr/bin/ping", "/bin/ping", "/usr/bin/arping", "/usr/bin/mtr-packet",
	"/usr/lib/*/gstreamer1.0/gstreamer-1.0/gst-ptp-helper", NULL,
};

static bool in_list(const char *const *globs, const struct hm_entry *e)
{
	size_t i;

	for (i = 0; globs[i]; i++)
		if (hm_glob_match(globs[i], e->path, e->path_len))
			return true;
	return false;
}

struct files_walk {
	struct actx *a;
	int r;
	uint64_t docs, man;
};

static int files_entry(void *ctx, const struct hm_entry *e)
{
	struct files_walk *w = ctx;
	struct actx *a = w->a;
	const char *p = e->path;
	size_t n = e->path_len;
	const char *base;
	int r = 0;

	if (e->flags & (HM_ENTRY_DELETED | HM_ENTRY_IMPLICIT))
		return 0;
	if (e->type == HM_TYPE_FILE && (e->mode & 0002))
		r = finding(a, "HM-FILE-001", p, n, "world-writable file (mode %04o)",
			    e->mode);
	if (r == 0 && e->type == HM_TYPE_DIR && (e->mode & 0002) && !(e->mode & 01000))
		r = finding(a, "HM-FILE-002", p, n,
			    "world-writable directory without the sticky bit (mode %04o)",
			    e->mode);
	if (r == 0 && e->type == HM_TYPE_FILE && (e->mode & 06000) &&
	    !in_list(setid_allow, e))
		r = finding(a, "HM-FILE-003", p, n, "%s file outside the allowlist (mode %04o, owner %u:%u)",
			    (e->mode & 06000) == 06000 ? "setuid and setgid" :
			    (e->mode & 04000) ? "setuid" : "setgid",
			    e->mode, e->uid, e->gid);
	if (r == 0 && hm_entry_find_xattr(e, "security.capability") &&
	    !in_list(caps_allow, e))
		r = finding(a, "HM-FILE-004", p, n,
			    "file capabilities (security.capability) outside the allowlist");
	if (r == 0 && a->have_passwd && !has_id(a->uids, a->n_uids, e->uid))
		r = finding(a, "HM-FILE-005", p, n, "owned by uid %u, which has no account",
			    e->uid);
	if (r == 0 && a->have_group && !has_id(a->gids, a->n_gids, e->gid))
		r = finding(a, "HM-FILE-005", p, n, "owned by gid %u, which has no group",
			    e->gid);
	if (r == 0 && e->type == HM_TYPE_FILE &&
	    hm_glob_match("/etc/ssh/ssh_host_*_key", p, n))
		r = finding(a, "HM-SSH-004", p, n,
			    "ssh host private key; generate host keys at first boot");
	if (r == 0 && e->type == HM_TYPE_FILE &&
	    (hm_glob_match("/var/cache/apt/*.bin", p, n) ||
	     hm_glob_match("/var/cache/apt/archives/*.deb", p, n) ||
	     hm_glob_match("/var/lib/apt/lists/*_Packages*", p, n)))
		r = finding(a, "HM-SYS-004", p, n, "package manager cache (%llu bytes)",
			    (unsigned long long)e->size);
	if (e->type != HM_TYPE_DIR && hm_path_is_below(p, n, "/usr/share/doc", 14)) {
		base = (const char *)memrchr(p, '/', n) + 1;
		/* Files in a package's folder other than its copyright. */
		if (memchr(p + 15, '/', n - 15) && strcmp(base, "copyright") != 0)
			w->docs++;
	}
	if (e->type != HM_TYPE_DIR && hm_path_is_below(p, n, "/usr/share/man", 14))
		w->man++;
	if (r < 0) {
		w->r = r;
		return -1;
	}
	return 0;
}

static int check_files(struct actx *a)
{
	struct files_walk w = { .a = a };
	int r;

	hm_tree_walk(a->tree, files_entry, &w);
	if (w.r < 0)
		return w.r;
	if (w.docs && (r = finding(a, "HM-SYS-005", "/usr/share/doc", 14,
				   "%llu files other than copyright notices",
				   (unsigned long long)w.docs)) < 0)
		return r;
	if (w.man && (r = finding(a, "HM-SYS-005", "/usr/share/man", 14,
				  "%llu manual pages", (unsigned long long)w.man)) < 0)
		return r;
	return 0;
}

/* ---- contents: private keys, secrets, personal data ------------------- */

struct content_walk {
	const struct hm_entry **items;
	size_t n;
	int err;
};

static int content_entry(void *ctx, const struct hm_entry *e)
{
	struct content_walk *w = ctx;
	const struct hm_entry **p;
	size_t i;

	if ((e->flags & HM_ENTRY_DELETED) || e->type != HM_TYPE_FILE)
		return 0;
	for (i = 0; capture_globs[i]; i++)
		if (hm_glob_match(capture_globs[i], e->path, e->path_len))
			break;
	if (!capture_globs[i])
		return 0;
	if (!(p = realloc(w->items, (w->n + 1) * sizeof(*p)))) {
		w->err = HM_ERR_NOMEM;
		return -1;
	}
	w->items = p;
	w->items[w->n++] = e;
	return 0;
}

static int report_hits(struct actx *a, const char *id, const struct hm_entry *e,
		       struct hm_secret_hits *h)
{
	size_t i;
	int r;

	for (i = 0; i < h->n; i++)
		if ((r = finding(a, id, e->path, e->path_len, "line %zu: %s: %s",
				 h->items[i].line, hm_secret_kind_name(h->items[i].kind),
				 h->items[i].masked ? h->items[i].masked : "")) < 0)
			return r;
	return 0;
}

/* A scanner's error: fatal if out of memory, else listed as skipped. */
static int scan_error(struct actx *a, int r, const struct hm_entry *e,
		      const struct hm_error *err)
{
	if (r == HM_ERR_NOMEM)
		return nomem(a);
	return skipped(a, "'%s': %s", qpath(a, e->path, e->path_len), err->msg);
}

static int scan_file(struct actx *a, const struct hm_entry *e)
{
	bool cfg = hm_secrets_is_config(e->path, e->path_len);
	bool log = hm_secrets_is_log(e->path, e->path_len);
	struct hm_secret_hits hits = { 0 };
	struct hm_error err = { 0 };
	char *data = NULL;
	size_t len = 0;
	bool binary;
	int r;

	if (e->size > HM_LIMIT_AUDIT_FILE_BYTES) {
		/* Keys are small: only text scans miss anything here. */
		if (cfg || log)
			return skipped(a, "'%s': larger than 1 MiB, not scanned",
				       qpath(a, e->path, e->path_len));
		return 0;
	}
	if ((r = read_file(a, e->path, &data, &len)) <= 0)
		return r;
	if (!hm_glob_match("/etc/ssh/ssh_host_*", e->path, e->path_len)) {
		r = hm_secrets_scan_private_key(data, len, &hits, &err);
		if (r < 0 && (r = scan_error(a, r, e, &err)) < 0)
			goto out;
		if ((r = report_hits(a, "HM-FILE-006", e, &hits)) < 0)
			goto out;
		hm_secret_hits_free(&hits);
		memset(&hits, 0, sizeof(hits));
	}
	binary = memchr(data, '\0', len < 8192 ? len : 8192) != NULL;
	if ((cfg || log) && binary) {
		r = skipped(a, "'%s': binary, not scanned", qpath(a, e->path, e->path_len));
		goto out;
	}
	if (cfg) {
		r = hm_secrets_scan_config(data, len, &hits, &err);
		if (r < 0 && (r = scan_error(a, r, e, &err)) < 0)
			goto out;
		if ((r = report_hits(a, "HM-SECRET-001", e, &hits)) < 0)
			goto out;
		hm_secret_hits_free(&hits);
		memset(&hits, 0, sizeof(hits));
	}
	if (log) {
		r = hm_pii_scan(data, len, &hits, &err);
		if (r < 0 && (r = scan_error(a, r, e, &err)) < 0)
			goto out;
		if ((r = report_hits(a, "HM-PII-001", e, &hits)) < 0)
			goto out;
	}
	r = 0;
out:
	hm_secret_hits_free(&hits);
	if (data)
		explicit_bzero(data, len);
	free(data);
	return r;
}

static int check_contents(struct actx *a)
{
	struct content_walk w = { 0 };
	size_t i;
	int r = 0;

	hm_tree_walk(a->tree, content_entry, &w);
	if (w.err)
		r = nomem(a);
	for (i = 0; i < w.n && r >= 0; i++)
		r = scan_file(a, w.items[i]);
	free(w.items);
	return r;
}

/* ---- kernel and system ------------------------------------------------ */

struct sysctl_check {
	const char *key;
	bool at_least;      /* value >= want, else == want */
	long want;
};

static const struct sysctl_check sysctl_checks[] = {
	{ "kernel.kptr_restrict", true, 1 },
	{ "kernel.dmesg_restrict", false, 1 },
	{ "kernel.randomize_va_space", false, 2 },
	{ "fs.protected_symlinks", false, 1 },
	{ "fs.protected_hardlinks", false, 1 },
	{ "net.ipv4.conf.all.rp_filter", false, 1 },
	{ "net.ipv4.conf.all.accept_redirects", false, 0 },
	{ "net.ipv4.conf.all.send_redirects", false, 0 },
	{ "net.ipv4.conf.all.accept_source_route", false, 0 },
};

#define N_SYSCTL (sizeof(sysctl_checks) / sizeof(sysctl_checks[0]))

struct sysctl_value {
	char value[32];
	char *file;
	size_t line;
};

static int sysctl_apply(struct actx *a, const char *path, struct sysctl_value *v)
{
	const struct hm_entry *e;
	char *data = NULL, *pos, *end, *line, *eq, *key, *val;
	size_t len = 0, llen, lineno = 0, i, n;
	int r;

	e = get(a, path);
	/* A symlink in a sysctl.d folder masks (to /dev/null) or aliases
	 * (Debian's 99-sysctl.conf -> ../sysctl.conf) a file: not followed. */
	if (e && e->type == HM_TYPE_SYMLINK)
		return 0;
	if ((r = read_audited(a, "HM-SYS-006", path, &data, &len)) <= 0)
		return r;
	pos = data;
	end = data + len;
	while ((line = next_line(&pos, end, &llen))) {
		lineno++;
		while (is_space(*line))
			line++;
		if (!*line || *line == '#' || *line == ';')
			continue;
		if (!(eq = strchr(line, '=')))
			continue;
		*eq = '\0';
		key = line;
		if (*key == '-')
			key++;
		n = strlen(key);
		while (n && is_space(key[n - 1]))
			key[--n] = '\0';
		for (i = 0; i < n; i++)
			if (key[i] == '/')
				key[i] = '.';
		val = eq + 1;
		while (is_space(*val))
			val++;
		n = strlen(val);
		while (n && is_space(val[n - 1]))
			val[--n] = '\0';
		/* Later files and lines override earlier ones. */
		for (i = 0; i < N_SYSCTL; i++) {
			if (strcmp(key, sysctl_checks[i].key) != 0)
				continue;
			snprintf(v[i].value, sizeof(v[i].value), "%s", val);
			free(v[i].file);
			if (!(v[i].file = strdup(path))) {
				r = nomem(a);
				goto out;
			}
			v[i].line = lineno;
		}
	}
	r = 0;
out:
	free(data);
	return r;
}

/* Files of the sysctl.d folders in systemd-sysctl order: by file name,
 * the first folder holding a name shadowing the others. */
struct sysctl_walk {
	const char **paths;
	size_t n;
	int err;
};

static const char *const sysctl_dirs[] = {
	"/etc/sysctl.d/*.conf", "/run/sysctl.d/*.conf",
	"/usr/local/lib/sysctl.d/*.conf", "/usr/lib/sysctl.d/*.conf",
	"/lib/sysctl.d/*.conf", NULL,
};

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int sysctl_entry(void *ctx, const struct hm_entry *e)
{
	struct sysctl_walk *w = ctx;
	const char **p;
	size_t i;

	if ((e->flags & HM_ENTRY_DELETED) ||
	    (e->type != HM_TYPE_FILE && e->type != HM_TYPE_SYMLINK))
		return 0;
	for (i = 0; sysctl_dirs[i]; i++)
		if (hm_glob_match(sysctl_dirs[i], e->path, e->path_len))
			break;
	if (!sysctl_dirs[i])
		return 0;
	if (!(p = realloc(w->paths, (w->n + 1) * sizeof(*p)))) {
		w->err = HM_ERR_NOMEM;
		return -1;
	}
	w->paths = p;
	w->paths[w->n++] = e->path;
	return 0;
}

static int dir_rank(const char *path)
{
	size_t i;

	for (i = 0; sysctl_dirs[i]; i++)
		if (hm_glob_match(sysctl_dirs[i], path, strlen(path)))
			return (int)i;
	return (int)i;
}

static int cmp_sysctl(const void *x, const void *y)
{
	const char *a = *(const char *const *)x, *b = *(const char *const *)y;
	int c = strcmp(base_name(a), base_name(b));

	return c ? c : dir_rank(a) - dir_rank(b);
}

static int check_sysctl(struct actx *a)
{
	struct sysctl_value v[N_SYSCTL] = { 0 };
	struct sysctl_walk w = { 0 };
	size_t i;
	char *end;
	long val;
	int r = 0;

	hm_tree_walk(a->tree, sysctl_entry, &w);
	if (w.err) {
		r = nomem(a);
		goto out;
	}
	if (w.n > 1)
		qsort(w.paths, w.n, sizeof(*w.paths), cmp_sysctl);
	for (i = 0; i < w.n && r >= 0; i++) {
		/* A name seen in a higher-priority folder shadows this one
		 * (a symlink there, e.g. to /dev/null, masks it). */
		if (i > 0 && strcmp(base_name(w.paths[i]), base_name(w.paths[i - 1])) == 0)
			continue;
		r = sysctl_apply(a, w.paths[i], v);
	}
	/* procps' sysctl --system reads /etc/sysctl.conf last. */
	if (r >= 0)
		r = sysctl_apply(a, "/etc/sysctl.conf", v);
	for (i = 0; i < N_SYSCTL && r >= 0; i++) {
		const struct sysctl_check *c = &sysctl_checks[i];
		bool good;

		if (!v[i].file) {
			r = finding(a, "HM-SYS-002", NULL, 0, "%s is not set (want %s %ld)",
				    c->key, c->at_least ? ">=" : "=", c->want);
			continue;
		}
		errno = 0;
		val = strtol(v[i].value, &end, 10);
		good = !errno && end != v[i].value && !*end &&
		       (c->at_least ? val >= c->want : val == c->want);
		if (!good)
			r = finding(a, "HM-SYS-002", v[i].file, strlen(v[i].file),
				    "%s = %s (line %zu; want %s %ld)", c->key, v[i].value,
				    v[i].line, c->at_least ? ">=" : "=", c->want);
	}
out:
	for (i = 0; i < N_SYSCTL; i++)
		free(v[i].file);
	free(w.paths);
	return r;
}

static int check_umask(struct actx *a)
{
	static const char L[] = "/etc/login.defs";
	char *data = NULL, *pos, *end, *line, *val = NULL;
	size_t len = 0, llen, lineno = 0, at = 0;
	unsigned long um = 022;
	char *e;
	int r;

	if ((r = read_audited(a, "HM-SYS-006", L, &data, &len)) <= 0)
		return r;
	pos = data;
	end = data + len;
	while ((line = next_line(&pos, end, &llen))) {
		lineno++;
		while (is_space(*line))
			line++;
		if (strncmp(line, "UMASK", 5) != 0 || !is_space(line[5]))
			continue;
		line += 5;
		while (is_space(*line))
			line++;
		val = line;    /* the last definition wins */
		at = lineno;
	}
	if (val) {
		size_t n = strcspn(val, " \t\r#");

		val[n] = '\0';
		um = strtoul(val, &e, 8);
		if (e == val || *e || um > 0777) {
			r = skipped(a, "%s:%zu: UMASK '%s' is not an octal mode", L, at, val);
			goto out;
		}
	}
	if ((um & 027) != 027) {
		if (val)
			r = finding(a, "HM-SYS-003", L, sizeof(L) - 1,
				    "UMASK %03lo (line %zu) is weaker than 027", um, at);
		else
			r = finding(a, "HM-SYS-003", L, sizeof(L) - 1,
				    "UMASK is not set (default 022, weaker than 027)");
	}
out:
	free(data);
	return r < 0 ? r : 0;
}

/* ---- vulnerabilities -------------------------------------------------- */

static const char *vuln_rule(const char *severity)
{
	if (!severity)
		return "HM-VULN-001";
	if (strcasecmp(severity, "critical") == 0)
		return "HM-VULN-002";
	if (strcasecmp(severity, "medium") == 0 || strcasecmp(severity, "moderate") == 0)
		return "HM-VULN-003";
	if (strcasecmp(severity, "low") == 0 || strcasecmp(severity, "negligible") == 0 ||
	    strcasecmp(severity, "unimportant") == 0)
		return "HM-VULN-004";
	return "HM-VULN-001";
}

static int check_vulns(struct actx *a)
{
	static const char D[] = "/var/lib/dpkg/status";
	const struct hm_entry *e = get(a, D);
	struct hm_packages pkgs = { 0 };
	struct hm_vulns vulns = { 0 };
	struct hm_error err = { 0 };
	size_t i;
	int r;

	if (!a->opt || !a->opt->osv_path)
		return 0;
	/* Without a package database nothing matches, but the feed is
	 * still read: a feed that cannot be is an error, never a pass.  A
	 * database that is there but cannot be read is a finding: a huge
	 * status file must not hide the vulnerable packages. */
	if (e && e->type != HM_TYPE_FILE) {
		r = not_a_file(a, "HM-VULN-005", e);
	} else {
		r = hm_packages_load(a->img, &pkgs, &err);
		if (r == HM_ERR_NOMEM)
			return nomem(a);
		if (r < 0 && e)
			r = finding(a, "HM-VULN-005", D, sizeof(D) - 1,
				    "cannot be audited: %s", err.msg);
		else if (r < 0)
			r = skipped(a, "packages not checked: %s", err.msg);
	}
	if (r < 0)
		goto out;
	for (i = 0; i < pkgs.n_skipped; i++)
		if ((r = skipped(a, "%s", pkgs.skipped[i])) < 0)
			goto out;
	if ((r = hm_osv_match(a->opt->osv_path, &pkgs, &vulns, a->err)) < 0)
		goto out;
	for (i = 0; i < vulns.n_skipped; i++)
		if ((r = skipped(a, "%s", vulns.skipped[i])) < 0)
			goto out;
	for (i = 0; i < vulns.n; i++) {
		const struct hm_vuln *v = &vulns.items[i];

		r = finding(a, vuln_rule(v->severity), D, sizeof(D) - 1,
			    "%s %s: %s%s%s%s%.200s", v->pkg->name, v->pkg->version,
			    v->id, v->fixed ? ", fixed in " : ", no fix yet",
			    v->fixed ? v->fixed : "", v->summary ? ": " : "",
			    v->summary ? v->summary : "");
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	hm_vulns_free(&vulns);
	hm_packages_free(&pkgs);
	return r;
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
	if ((r = load_accounts(&a)) < 0 ||
	    (r = check_accounts(&a)) < 0 ||
	    (r = check_ssh(&a)) < 0 ||
	    (r = check_machine_id(&a)) < 0 ||
	    (r = check_files(&a)) < 0 ||
	    (r = check_contents(&a)) < 0 ||
	    (r = check_sysctl(&a)) < 0 ||
	    (r = check_umask(&a)) < 0 ||
	    (r = check_vulns(&a)) < 0)
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
