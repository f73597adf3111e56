/*
 * Kernel and system settings (HM-SYS-001..003, 006): machine-id, sysctl
 * files in systemd-sysctl's order, the login.defs umask.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hallmark/policy.h"

#include "audit_private.h"

const struct hm_audit_rule hm_audit_rules_system[] = {
	{ "HM-SYS-001", "machine-id baked into the image", HM_SEV_MEDIUM,
	  "A non-empty /etc/machine-id gives every copy the same identity (DHCP client ids, journal, D-Bus); leave it empty so it is made at first boot.",
	  NULL },
	{ "HM-SYS-002", "kernel parameter not hardened", HM_SEV_LOW,
	  "The sysctl settings in /etc/sysctl.conf and sysctl.d should set the hardening values (ASLR, pointer and dmesg restrictions, link protections, no redirects or source routes, reverse path filtering).",
	  CIS "Ensure address space layout randomization is enabled; Network Kernel Parameters" },
	{ "HM-SYS-003", "default umask weaker than 027", HM_SEV_LOW,
	  "With a umask of 022, files users create are readable by everyone.",
	  CIS "Ensure default user umask is configured" },
	{ "HM-SYS-006", "system setting file cannot be audited", HM_SEV_MEDIUM,
	  "/etc/machine-id, /etc/login.defs or a sysctl configuration file is there but could not be read as text (larger than the 1 MiB limit, a symlink where one is not expected, unreadable, a NUL byte), so the rules that depend on it never saw it.",
	  NULL },
};
const size_t hm_audit_n_rules_system =
	sizeof(hm_audit_rules_system) / sizeof(hm_audit_rules_system[0]);

int hm_audit_check_machine_id(struct actx *a)
{
	static const char M[] = "/etc/machine-id";
	char *data = NULL;
	size_t len = 0, i = 0;
	int r;

	if ((r = hm_audit_read_audited(a, "HM-SYS-006", M, &data, &len)) <= 0)
		return r;
	while (len && (data[len - 1] == '\n' || hm_audit_is_space(data[len - 1])))
		len--;
	while (i < len && hm_audit_is_space(data[i]))
		i++;
	if (len > i && !(len - i == 13 && memcmp(data + i, "uninitialized", 13) == 0))
		r = hm_audit_finding(a, "HM-SYS-001", M, sizeof(M) - 1,
			    "/etc/machine-id is set; every copy of the image shares it");
	free(data);
	return r < 0 ? r : 0;
}

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

	e = hm_audit_get(a, path);
	/* A symlink in a sysctl.d folder masks (to /dev/null) or aliases
	 * (Debian's 99-sysctl.conf -> ../sysctl.conf) a file: not followed. */
	if (e && e->type == HM_TYPE_SYMLINK)
		return 0;
	if ((r = hm_audit_read_audited(a, "HM-SYS-006", path, &data, &len)) <= 0)
		return r;
	pos = data;
	end = data + len;
	while ((line = hm_audit_next_line(&pos, end, &llen))) {
		lineno++;
		while (hm_audit_is_space(*line))
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
		while (n && hm_audit_is_space(key[n - 1]))
			key[--n] = '\0';
		for (i = 0; i < n; i++)
			if (key[i] == '/')
				key[i] = '.';
		val = eq + 1;
		while (hm_audit_is_space(*val))
			val++;
		n = strlen(val);
		while (n && hm_audit_is_space(val[n - 1]))
			val[--n] = '\0';
		/* Later files and lines override earlier ones. */
		for (i = 0; i < N_SYSCTL; i++) {
			if (strcmp(key, sysctl_checks[i].key) != 0)
				continue;
			snprintf(v[i].value, sizeof(v[i].value), "%s", val);
			free(v[i].file);
			if (!(v[i].file = strdup(path))) {
				r = hm_audit_nomem(a);
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

int hm_audit_check_sysctl(struct actx *a)
{
	struct sysctl_value v[N_SYSCTL] = { 0 };
	struct sysctl_walk w = { 0 };
	size_t i;
	char *end;
	long val;
	int r = 0;

	hm_tree_walk(a->tree, sysctl_entry, &w);
	if (w.err) {
		r = hm_audit_nomem(a);
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
			r = hm_audit_finding(a, "HM-SYS-002", NULL, 0, "%s is not set (want %s %ld)",
				    c->key, c->at_least ? ">=" : "=", c->want);
			continue;
		}
		errno = 0;
		val = strtol(v[i].value, &end, 10);
		good = !errno && end != v[i].value && !*end &&
		       (c->at_least ? val >= c->want : val == c->want);
		if (!good)
			r = hm_audit_finding(a, "HM-SYS-002", v[i].file, strlen(v[i].file),
				    "%s = %s (line %zu; want %s %ld)", c->key, v[i].value,
				    v[i].line, c->at_least ? ">=" : "=", c->want);
	}
out:
	for (i = 0; i < N_SYSCTL; i++)
		free(v[i].file);
	free(w.paths);
	return r;
}

int hm_audit_check_umask(struct actx *a)
{
	static const char L[] = "/etc/login.defs";
	char *data = NULL, *pos, *end, *line, *val = NULL;
	size_t len = 0, llen, lineno = 0, at = 0;
	unsigned long um = 022;
	char *e;
	int r;

	if ((r = hm_audit_read_audited(a, "HM-SYS-006", L, &data, &len)) <= 0)
		return r;
	pos = data;
	end = data + len;
	while ((line = hm_audit_next_line(&pos, end, &llen))) {
		lineno++;
		while (hm_audit_is_space(*line))
			line++;
		if (strncmp(line, "UMASK", 5) != 0 || !hm_audit_is_space(line[5]))
			continue;
		line += 5;
		while (hm_audit_is_space(*line))
			line++;
		val = line;    /* the last definition wins */
		at = lineno;
	}
	if (val) {
		size_t n = strcspn(val, " \t\r#");

		val[n] = '\0';
		um = strtoul(val, &e, 8);
		if (e == val || *e || um > 0777) {
			r = hm_audit_skipped(a, "%s:%zu: UMASK '%s' is not an octal mode", L, at, val);
			goto out;
		}
	}
	if ((um & 027) != 027) {
		if (val)
			r = hm_audit_finding(a, "HM-SYS-003", L, sizeof(L) - 1,
				    "UMASK %03lo (line %zu) is weaker than 027", um, at);
		else
			r = hm_audit_finding(a, "HM-SYS-003", L, sizeof(L) - 1,
				    "UMASK is not set (default 022, weaker than 027)");
	}
out:
	free(data);
	return r < 0 ? r : 0;
}
