/*
 * Hardening fixes (see harden.h).  Each fix is a small, deterministic edit
 * of the tree: a drop-in file written, a mode bit cleared, a file removed,
 * an account line amended.  They never run anything inside the image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/buf.h"
#include "hallmark/policy.h"
#include "harden.h"

/* Account files are small; larger ones are not edited. */
#define HARDEN_FILE_MAX (16u * 1024 * 1024)

struct hctx {
	struct hm_tree *tree;
	struct hm_blobstore *store;
	uint64_t changed;
	struct hm_error *err;
};

static bool is_dir(struct hctx *h, const char *path)
{
	const struct hm_entry *e = hm_tree_get(h->tree, path, strlen(path));

	return e && e->type == HM_TYPE_DIR;
}

/* Write a regular file (0644 root:root unless it exists: then its mode and
 * owner are kept). */
static int put_file(struct hctx *h, const char *path, const char *text,
		    uint32_t mode)
{
	const struct hm_entry *old = hm_tree_get(h->tree, path, strlen(path));
	struct hm_entry *e = hm_entry_new();
	unsigned char sha[32];
	int r;

	if (!e || hm_entry_set_path(e, path, strlen(path)) < 0) {
		hm_entry_free(e);
		return hm_error_nomem(h->err);
	}
	if ((r = hm_blob_put(h->store, text, strlen(text), sha, h->err)) < 0) {
		hm_entry_free(e);
		return r;
	}
	e->type = HM_TYPE_FILE;
	e->mode = old && old->type == HM_TYPE_FILE ? old->mode : mode;
	e->uid = old ? old->uid : 0;
	e->gid = old ? old->gid : 0;
	e->size = strlen(text);
	memcpy(e->sha256, sha, sizeof(sha));
	e->flags = HM_ENTRY_HAS_DIGEST;
	h->changed++;
	return hm_tree_put_take(h->tree, e, true, h->err);
}

struct match {
	const char *glob;
	char **paths;
	size_t n, cap;
	bool (*want)(const struct hm_entry *e);
};

static int collect(void *ctx, const struct hm_entry *e)
{
	struct match *m = ctx;
	char **p;

	if (e->flags & HM_ENTRY_DELETED)
		return 0;
	if (m->glob && !hm_glob_match(m->glob, e->path, e->path_len))
		return 0;
	if (m->want && !m->want(e))
		return 0;
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 32;
		if (!(p = realloc(m->paths, m->cap * sizeof(*p))))
			return HM_ERR_NOMEM;
		m->paths = p;
	}
	if (!(m->paths[m->n] = strdup(e->path)))
		return HM_ERR_NOMEM;
	m->n++;
	return 0;
}

static void match_free(struct match *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->paths[i]);
	free(m->paths);
}

static int find(struct hctx *h, struct match *m)
{
	if (hm_tree_walk(h->tree, collect, m) < 0)
		return hm_error_nomem(h->err);
	return 0;
}

static int remove_glob(struct hctx *h, const char *glob)
{
	uint64_t n;
	int r = hm_tree_remove_glob(h->tree, glob, &n, h->err);

	if (r == 0)
		h->changed += n;
	return r;
}

/* --- sshd ------------------------------------------------------------------ */

/* Debian 12's sshd_config starts with "Include /etc/ssh/sshd_config.d/ *.conf"
 * and sshd keeps the first value of a keyword: a drop-in named 00-... wins
 * over every other file. */
#define SSHD_DROPIN "/etc/ssh/sshd_config.d/00-hallmark-harden.conf"

static int fix_sshd(struct hctx *h, const char *line)
{
	const struct hm_entry *e = hm_tree_get(h->tree, SSHD_DROPIN, strlen(SSHD_DROPIN));
	struct hm_buf text = HM_BUF_INIT;
	char *old = NULL;
	size_t len = 0;
	int r;

	if (!is_dir(h, "/etc/ssh/sshd_config.d"))
		return 0;   /* no OpenSSH server in this image: nothing to fix */
	if (e && e->type == HM_TYPE_FILE &&
	    (r = hm_blob_read(h->store, e->sha256, HARDEN_FILE_MAX, &old, &len, h->err)) < 0)
		return r;
	if (!old && hm_buf_adds(&text, "# Written by hallmark build (harden:). sshd keeps the first value.\n") < 0)
		r = hm_error_nomem(h->err);
	else if ((old && hm_buf_add(&text, old, len) < 0) || hm_buf_adds(&text, line) < 0)
		r = hm_error_nomem(h->err);
	else
		r = put_file(h, SSHD_DROPIN, text.data, 0644);
	free(old);
	hm_buf_free(&text);
	return r;
}

/* --- accounts -------------------------------------------------------------- */

/* Rewrite an account file line by line: edit(line, len, out) appends the
 * new line (with its LF) to out. */
static int edit_lines(struct hctx *h, const char *path,
		      int (*edit)(const char *line, size_t len, struct hm_buf *out))
{
	const struct hm_entry *e = hm_tree_get(h->tree, path, strlen(path));
	struct hm_buf out = HM_BUF_INIT;
	char *data = NULL;
	size_t len = 0, pos = 0;
	int r;

	if (!e || e->type != HM_TYPE_FILE)
		return 0;
	if ((r = hm_blob_read(h->store, e->sha256, HARDEN_FILE_MAX, &data, &len, h->err)) < 0)
		return r;
	while (pos < len) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;

		if (edit(line, n, &out) < 0) {
			r = hm_error_nomem(h->err);
			goto out;
		}
		pos += n + 1;
	}
	if (out.len != len || memcmp(out.data, data, len) != 0)
		r = put_file(h, path, out.data ? out.data : "", 0644);
out:
	free(data);
	hm_buf_free(&out);
	return r;
}

/* root's password field: locked ("!" prefix) unless already unusable. */
static int lock_root(const char *line, size_t len, struct hm_buf *out)
{
	if (len > 5 && memcmp(line, "root:", 5) == 0 && line[5] != '!' &&
	    line[5] != '*') {
		if (hm_buf_add(out, line, 5) < 0 || hm_buf_addc(out, '!') < 0 ||
		    hm_buf_add(out, line + 5, len - 5) < 0)
			return -1;
		return hm_buf_addc(out, '\n');
	}
	if (hm_buf_add(out, line, len) < 0)
		return -1;
	return hm_buf_addc(out, '\n');
}

static bool login_shell(const char *s, size_t n)
{
	static const char *const no[] = {
		"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false",
		"/bin/sync", "/sbin/shutdown", "/sbin/halt", "",
	};
	size_t i;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strlen(no[i]) == n && memcmp(no[i], s, n) == 0)
			return false;
	return true;
}

/* System accounts (uid 1..999) get /usr/sbin/nologin as their shell. */
static int nologin_system(const char *line, size_t len, struct hm_buf *out)
{
	const char *f[7];
	size_t k = 0, i;
	unsigned long uid;
	char *end;

	f[k++] = line;
	for (i = 0; i < len && k < 7; i++)
		if (line[i] == ':')
			f[k++] = line + i + 1;
	if (k == 7 && memchr(f[6], ':', len - (size_t)(f[6] - line)) == NULL) {
		uid = strtoul(f[2], &end, 10);
		if (end != f[2] && *end == ':' && uid >= 1 && uid < 1000 &&
		    login_shell(f[6], len - (size_t)(f[6] - line))) {
			if (hm_buf_add(out, line, (size_t)(f[6] - line)) < 0 ||
			    hm_buf_adds(out, "/usr/sbin/nologin\n") < 0)
				return -1;
			return 0;
		}
	}
	if (hm_buf_add(out, line, len) < 0)
		return -1;
	return hm_buf_addc(out, '\n');
}

/* login.defs: the UMASK line (not a commented one) becomes 027. */
static int umask_027(const char *line, size_t len, struct hm_buf *out)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (len - i > 5 && memcmp(line + i, "UMASK", 5) == 0 &&
	    (line[i + 5] == ' ' || line[i + 5] == '\t'))
		return hm_buf_adds(out, "UMASK\t\t027\n");
	if (hm_buf_add(out, line, len) < 0)
		return -1;
	return hm_buf_addc(out, '\n');
}

/* --- file modes ------------------------------------------------------------ */

static bool ww_file(const struct hm_entry *e)
{
	return e->type == HM_TYPE_FILE && (e->mode & 0002);
}

static bool ww_dir_nosticky(const struct hm_entry *e)
{
	return e->type == HM_TYPE_DIR && (e->mode & 0002) && !(e->mode & 01000);
}

static int fix_modes(struct hctx *h, bool (*want)(const struct hm_entry *),
		     unsigned clear, unsigned set)
{
	struct match m = { .want = want };
	size_t i;
	int r = find(h, &m);

	for (i = 0; r == 0 && i < m.n; i++) {
		struct hm_entry *e = hm_tree_get_mut(h->tree, m.paths[i], strlen(m.paths[i]));

		if (!e)
			continue;
		e->mode = (e->mode & ~clear) | set;
		h->changed++;
	}
	match_free(&m);
	return r;
}

/* --- the table ------------------------------------------------------------- */

static const char sysctl_text[] =
	"# Written by hallmark build (harden: HM-SYS-002).\n"
	"kernel.kptr_restrict = 2\n"
	"kernel.dmesg_restrict = 1\n"
	"kernel.randomize_va_space = 2\n"
	"kernel.yama.ptrace_scope = 1\n"
	"fs.protected_symlinks = 1\n"
	"fs.protected_hardlinks = 1\n"
	"fs.protected_fifos = 2\n"
	"fs.protected_regular = 2\n"
	"fs.suid_dumpable = 0\n"
	"net.ipv4.conf.all.rp_filter = 1\n"
	"net.ipv4.conf.default.rp_filter = 1\n"
	"net.ipv4.conf.all.accept_redirects = 0\n"
	"net.ipv4.conf.default.accept_redirects = 0\n"
	"net.ipv4.conf.all.send_redirects = 0\n"
	"net.ipv4.conf.default.send_redirects = 0\n"
	"net.ipv4.conf.all.accept_source_route = 0\n"
	"net.ipv4.conf.default.accept_source_route = 0\n"
	"net.ipv4.conf.all.log_martians = 1\n"
	"net.ipv4.tcp_syncookies = 1\n"
	"net.ipv6.conf.all.accept_redirects = 0\n"
	"net.ipv6.conf.default.accept_redirects = 0\n"
	"net.ipv6.conf.all.accept_source_route = 0\n";

static int fix(struct hctx *h, const char *id)
{
	if (!strcmp(id, "HM-ACCT-003"))
		return edit_lines(h, "/etc/shadow", lock_root);
	if (!strcmp(id, "HM-ACCT-005"))
		return edit_lines(h, "/etc/passwd", nologin_system);
	if (!strcmp(id, "HM-SSH-001"))
		return fix_sshd(h, "PermitRootLogin no\n");
	if (!strcmp(id, "HM-SSH-002"))
		return fix_sshd(h, "PasswordAuthentication no\nKbdInteractiveAuthentication no\n");
	if (!strcmp(id, "HM-SSH-003"))
		return fix_sshd(h, "PermitEmptyPasswords no\n");
	if (!strcmp(id, "HM-SSH-004"))
		return remove_glob(h, "/etc/ssh/ssh_host_*");
	if (!strcmp(id, "HM-SYS-001"))
		return is_dir(h, "/etc") ? put_file(h, "/etc/machine-id", "", 0444) : 0;
	if (!strcmp(id, "HM-SYS-002"))
		return is_dir(h, "/etc/sysctl.d") ?
		       put_file(h, "/etc/sysctl.d/90-hallmark-harden.conf", sysctl_text, 0644) : 0;
	if (!strcmp(id, "HM-SYS-003"))
		return edit_lines(h, "/etc/login.defs", umask_027);
	if (!strcmp(id, "HM-SYS-004")) {
		int r = remove_glob(h, "/var/cache/apt/*.bin");

		return r < 0 ? r : remove_glob(h, "/var/lib/apt/lists/*_*");
	}
	if (!strcmp(id, "HM-SYS-005")) {
		int r = remove_glob(h, "/usr/share/doc/*/[!c]*");

		if (r == 0)
			r = remove_glob(h, "/usr/share/doc/*/changelog*");
		return r < 0 ? r : remove_glob(h, "/usr/share/man/**");
	}
	if (!strcmp(id, "HM-FILE-001"))
		return fix_modes(h, ww_file, 0002, 0);
	if (!strcmp(id, "HM-FILE-002"))
		return fix_modes(h, ww_dir_nosticky, 0, 01000);
	return hm_error_set(h->err, HM_ERR_USAGE, 0, "rule '%s' has no fix", id);
}

static const char *const fixable[] = {
	"HM-ACCT-003", "HM-ACCT-005", "HM-FILE-001", "HM-FILE-002",
	"HM-SSH-001", "HM-SSH-002", "HM-SSH-003", "HM-SSH-004",
	"HM-SYS-001", "HM-SYS-002", "HM-SYS-003", "HM-SYS-004", "HM-SYS-005",
};

bool hm_harden_supported(const char *id)
{
	size_t i;

	for (i = 0; i < sizeof(fixable) / sizeof(fixable[0]); i++)
		if (!strcmp(fixable[i], id))
			return true;
	return false;
}

int hm_harden_apply(struct hm_tree *tree, struct hm_blobstore *store,
		    char *const *ids, size_t n, uint64_t *ret_changed,
		    struct hm_error *err)
{
	struct hctx h = { .tree = tree, .store = store, .err = err };
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		if ((r = fix(&h, ids[i])) < 0)
			return r;
	if (ret_changed)
		*ret_changed = h.changed;
	return 0;
}
