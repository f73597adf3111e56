/*
 * Accounts (HM-ACCT-*): passwd, shadow and group read as glibc reads them;
 * uid 0 besides root, empty, unlocked or well-known passwords, system
 * accounts with a shell, accounts the template did not declare.  The
 * account lists it loads are also what the files rules check owners
 * against.
 */
#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/nss_files.h"
#include "audit_private.h"
#include "hallmark/buf.h"

const struct hm_audit_rule hm_audit_rules_accounts[] = {
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
};
const size_t hm_audit_n_rules_accounts =
	sizeof(hm_audit_rules_accounts) / sizeof(hm_audit_rules_accounts[0]);

/* isspace() in the C locale. */
static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

bool hm_audit_has_id(const uint32_t *ids, size_t n, uint32_t id)
{
	return n && bsearch(&id, ids, n, sizeof(id), cmp_u32) != NULL;
}


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
	if ((r = hm_audit_read_audited(a, "HM-ACCT-007", path, &data, &len)) <= 0)
		return r;
	*ret_data = data;
	if (ret_len)
		*ret_len = len;
	*ret_present = true;
	pos = data;
	end = data + len;
	while ((line = hm_audit_next_line(&pos, end, &llen))) {
		lineno++;
		/* read_audited refuses NUL bytes; this keeps fn's view safe. */
		if (strlen(line) != llen)
			r = 1;
		else {
			while (hm_nss_is_space(*line))
				line++;
			if (*line == '\0' || *line == '#')
				continue;
			r = *line == ':' ? 1 : fn(a, line);
		}
		if (r < 0)
			return r;
		if (r == 1 && (r = hm_audit_skipped(a, "%s:%zu: malformed line", path, lineno)) < 0)
			return r;
	}
	return 0;
}

/* files-pwd.c: name:passwd:uid:gid[:gecos[:dir[:shell...]]] */
static int add_user(struct actx *a, char *line)
{
	struct hm_nss_passwd e;
	struct user *p;

	if (!hm_nss_passwd_line(line, &e))
		return 1;
	if (!(p = realloc(a->users, (a->n_users + 1) * sizeof(*p))))
		return hm_audit_nomem(a);
	a->users = p;
	a->users[a->n_users++] = (struct user){ .name = e.name, .pw = e.pw,
		.shell = e.shell, .uid = e.uid, .gid = e.gid };
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

	s.name = hm_nss_str_field(&line);
	s.hash = hm_nss_str_field(&line);
	for (i = 0; i < 3; i++)
		if (!hm_nss_int_field(&line, true, true, &v))
			return 1;
	while (hm_nss_is_space(*line))
		line++;
	if (*line) {
		for (i = 0; i < 3; i++)
			if (!hm_nss_int_field(&line, true, true, &v))
				return 1;
		if (*line && !hm_nss_int_field(&line, true, false, &v))
			return 1;
	}
	if (!(p = realloc(a->shadows, (a->n_shadows + 1) * sizeof(*p))))
		return hm_audit_nomem(a);
	a->shadows = p;
	a->shadows[a->n_shadows++] = s;
	return 0;
}

/* files-grp.c: name:passwd:gid[:members...] */
static int add_group(struct actx *a, char *line)
{
	uint32_t gid, *p;

	(void)hm_nss_str_field(&line);
	(void)hm_nss_str_field(&line);
	if (!hm_nss_int_field(&line, false, true, &gid))
		return 1;
	if (!(p = realloc(a->gids, (a->n_gids + 1) * sizeof(*p))))
		return hm_audit_nomem(a);
	a->gids = p;
	a->gids[a->n_gids++] = gid;
	return 0;
}

int hm_audit_load_accounts(struct actx *a)
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
		return hm_audit_nomem(a);
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

int hm_audit_check_accounts(struct actx *a)
{
	static const char P[] = "/etc/passwd", S[] = "/etc/shadow";
	struct crypt_data *cd = NULL;
	size_t i, k;
	int r = 0;

	for (i = 0; i < a->n_users; i++) {
		const struct user *u = &a->users[i];

		if (u->pw[0] == '\0' &&
		    (r = hm_audit_finding(a, "HM-ACCT-001", P, sizeof(P) - 1,
				 "account '%s' has an empty password field in /etc/passwd",
				 u->name)) < 0)
			goto out;
		if (u->uid == 0 && strcmp(u->name, "root") != 0 &&
		    (r = hm_audit_finding(a, "HM-ACCT-002", P, sizeof(P) - 1,
				 "account '%s' has uid 0", u->name)) < 0)
			goto out;
		/* uid 0 accounts are HM-ACCT-002's. */
		if (!is_regular_uid(u->uid) && u->uid != 0 &&
		    !is_nologin_shell(u->shell) &&
		    (r = hm_audit_finding(a, "HM-ACCT-005", P, sizeof(P) - 1,
				 "system account '%s' (uid %u) has the login shell '%s'",
				 u->name, u->uid, u->shell[0] ? u->shell : "/bin/sh")) < 0)
			goto out;
		if (a->opt && a->opt->declared_users && is_regular_uid(u->uid)) {
			for (k = 0; a->opt->declared_users[k]; k++)
				if (strcmp(a->opt->declared_users[k], u->name) == 0)
					break;
			if (!a->opt->declared_users[k] &&
			    (r = hm_audit_finding(a, "HM-ACCT-006", P, sizeof(P) - 1,
					 "account '%s' (uid %u) is not declared by the template",
					 u->name, u->uid)) < 0)
				goto out;
		}
	}
	for (i = 0; i < a->n_shadows; i++) {
		const struct shadow *s = &a->shadows[i];

		if (s->hash[0] == '\0' &&
		    (r = hm_audit_finding(a, "HM-ACCT-001", S, sizeof(S) - 1,
				 "account '%s' has an empty password field", s->name)) < 0)
			goto out;
		if (strcmp(s->name, "root") == 0 && !is_locked(s->hash) &&
		    (r = hm_audit_finding(a, "HM-ACCT-003", S, sizeof(S) - 1,
				 "the root password is not locked (no '!' or '*' prefix)")) < 0)
			goto out;
		if (is_locked(s->hash) || strlen(s->hash) < 13)
			continue;
		if (!cd && !(cd = calloc(1, sizeof(*cd)))) {
			r = hm_audit_nomem(a);
			goto out;
		}
		if (has_default_password(s, cd) && (r = hm_audit_finding(a, "HM-ACCT-004", S, sizeof(S) - 1,
					"account '%s' has a well-known default password",
					s->name)) < 0)
			goto out;
	}
out:
	free(cd);
	return r;
}
