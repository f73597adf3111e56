/*
 * sshd (HM-SSH-001..003, 005, 006): sshd_config and its Include files,
 * first value wins as in sshd, Match blocks left out of the global view.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hallmark/policy.h"

#include "audit_private.h"

const struct hm_audit_rule hm_audit_rules_ssh[] = {
	{ "HM-SSH-001", "sshd allows root login with a password (PermitRootLogin yes)", HM_SEV_HIGH,
	  "Root login with a password over ssh invites brute force and leaves no trace of who logged in.",
	  CIS "Ensure sshd PermitRootLogin is disabled" },
	{ "HM-SSH-002", "sshd allows password authentication", HM_SEV_MEDIUM,
	  "Password authentication over ssh can be brute-forced; keys cannot. The default is yes.",
	  NULL },
	{ "HM-SSH-003", "sshd allows empty passwords (PermitEmptyPasswords yes)", HM_SEV_CRITICAL,
	  "Accounts without a password become reachable over the network.",
	  CIS "Ensure sshd PermitEmptyPasswords is disabled" },
	{ "HM-SSH-005", "sshd allows root login with a key (PermitRootLogin not no)", HM_SEV_MEDIUM,
	  "Direct root login, even with keys only, leaves no trace of who acted as root. The default is prohibit-password.",
	  CIS "Ensure sshd PermitRootLogin is disabled" },
	{ "HM-SSH-006", "sshd configuration cannot be audited", HM_SEV_CRITICAL,
	  "/etc/ssh/sshd_config or a file it includes is there but could not be read as text (larger than the 1 MiB limit, a symlink, unreadable, a NUL byte); sshd may read settings the sshd rules never saw.",
	  NULL },
};
const size_t hm_audit_n_rules_ssh =
	sizeof(hm_audit_rules_ssh) / sizeof(hm_audit_rules_ssh[0]);

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
		r = hm_audit_nomem(a);
		goto out;
	}
	if (hm_glob_check(pat.data, pat.len, &gerr) < 0) {
		r = hm_audit_skipped(a, "%s:%zu: Include '%s' not followed: %s", file, lineno,
			    pat.data, gerr.msg);
		goto out;
	}
	if (depth + 1 > SSH_MAX_DEPTH) {
		r = hm_audit_skipped(a, "%s:%zu: Include nested too deeply, not followed",
			    file, lineno);
		goto out;
	}
	g.pattern = pat.data;
	hm_tree_walk(a->tree, collect_match, &g);
	if (g.err) {
		r = hm_audit_nomem(a);
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

static int ssh_parse(struct actx *a, const char *path, unsigned depth,
		     struct ssh_state *st)
{
	char *data = NULL, *pos, *end, *line, *kw, *arg;
	size_t len = 0, llen, lineno = 0, kwlen, alen, k;
	bool saved_match = st->in_match;
	int r;

	if ((r = hm_audit_read_audited(a, "HM-SSH-006", path, &data, &len)) <= 0)
		return r;
	pos = data;
	end = data + len;
	while ((line = hm_audit_next_line(&pos, end, &llen))) {
		lineno++;
		while (hm_audit_is_space(*line))
			line++;
		if (!*line || *line == '#')
			continue;
		kw = line;
		while (*line && !hm_audit_is_space(*line) && *line != '=')
			line++;
		kwlen = (size_t)(line - kw);
		while (hm_audit_is_space(*line))
			line++;
		if (*line == '=')
			line++;
		while (hm_audit_is_space(*line))
			line++;
		arg = line;
		alen = strlen(arg);
		while (alen && hm_audit_is_space(arg[alen - 1]))
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

				while (*arg && !hm_audit_is_space(*arg))
					arg++;
				if ((r = ssh_include(a, path, lineno, w, (size_t)(arg - w),
						     depth, st)) < 0)
					goto out;
				while (hm_audit_is_space(*arg))
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
			while (arg[vlen] && !hm_audit_is_space(arg[vlen]) &&
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
				r = hm_audit_nomem(a);
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

int hm_audit_check_ssh(struct actx *a)
{
	static const char C[] = "/etc/ssh/sshd_config";
	struct ssh_state st = { 0 };
	const struct ssh_setting *s;
	const char *f;
	size_t k;
	int r = 0;

	if (!hm_audit_get(a, C))
		goto out;
	if ((r = ssh_parse(a, C, 0, &st)) < 0)
		goto out;
	s = &st.s[SSH_ROOT];
	f = s->file ? s->file : C;
	if (s->file && strcasecmp(s->value, "yes") == 0)
		r = hm_audit_finding(a, "HM-SSH-001", f, strlen(f),
			    "PermitRootLogin yes (line %zu)", s->line);
	else if (!s->file)
		r = hm_audit_finding(a, "HM-SSH-005", f, strlen(f),
			    "PermitRootLogin is not set (default: prohibit-password)");
	else if (strcasecmp(s->value, "no") != 0)
		r = hm_audit_finding(a, "HM-SSH-005", f, strlen(f),
			    "PermitRootLogin %s (line %zu)", s->value, s->line);
	if (r < 0)
		goto out;
	s = &st.s[SSH_PASSWORD];
	f = s->file ? s->file : C;
	if (!s->file)
		r = hm_audit_finding(a, "HM-SSH-002", f, strlen(f),
			    "PasswordAuthentication is not set (default: yes)");
	else if (strcasecmp(s->value, "no") != 0)
		r = hm_audit_finding(a, "HM-SSH-002", f, strlen(f),
			    "PasswordAuthentication %s (line %zu)", s->value, s->line);
	if (r < 0)
		goto out;
	s = &st.s[SSH_EMPTY];
	if (s->file && strcasecmp(s->value, "yes") == 0)
		r = hm_audit_finding(a, "HM-SSH-003", s->file, strlen(s->file),
			    "PermitEmptyPasswords yes (line %zu)", s->line);
out:
	for (k = 0; k < SSH_N; k++)
		free(st.s[k].file);
	return r;
}
