/*
 * Build templates (docs/template-format.md): read one YAML file with the
 * strict reader of lib/yaml.c, check every value and turn it into a
 * struct hm_template that the bases, the operations and the emitters
 * trust without checking again.  Everything that can be wrong with a
 * template is found here, with FILE:LINE:COL, before a build downloads or
 * writes anything: unknown keys, wrong types, bad modes, paths and names,
 * duplicates, and source files that are missing or lie outside the
 * template's folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/limits.h"
#include "hallmark/manifest.h"
#include "hallmark/policy.h"
#include "hallmark/yaml.h"
#include "harden.h"
#include "hallmark/audit.h"
#include "template.h"

/* uid/gid 2^32-1 is (uid_t)-1, "no change" to chown(2). */
#define HM_TPL_MAX_ID            4294967294u

struct ctx {
	const struct hm_yaml_doc *doc;
	struct hm_template *t;
	struct hm_error *err;
};

/* A path claimed by a directory, file or symlink, for the duplicate check. */
struct claim {
	const char *path;
	const struct hm_yaml_node *node;
	const char *list;
};

#define ERR(c, node, ...) hm_yaml_error((c)->err, HM_ERR_INPUT, (c)->doc, (node), __VA_ARGS__)
#define LIMIT(c, node, ...) hm_yaml_error((c)->err, HM_ERR_LIMIT, (c)->doc, (node), __VA_ARGS__)

static void strv_free(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void hm_template_free(struct hm_template *t)
{
	size_t i;

	if (!t)
		return;
	free(t->path);
	free(t->dir);
	free(t->name);
	free(t->description);
	free(t->base.suite);
	free(t->base.variant);
	strv_free(t->base.packages, t->base.n_packages);
	free(t->base.mirror);
	free(t->base.path);
	strv_free(t->remove, t->n_remove);
	for (i = 0; i < t->n_dirs; i++)
		free(t->dirs[i].path);
	free(t->dirs);
	for (i = 0; i < t->n_files; i++) {
		free(t->files[i].path);
		free(t->files[i].content);
		free(t->files[i].source);
		free(t->files[i].source_rel);
	}
	free(t->files);
	for (i = 0; i < t->n_symlinks; i++) {
		free(t->symlinks[i].path);
		free(t->symlinks[i].target);
	}
	free(t->symlinks);
	for (i = 0; i < t->n_groups; i++)
		free(t->groups[i].name);
	free(t->groups);
	for (i = 0; i < t->n_users; i++) {
		struct hm_tpl_user *u = &t->users[i];

		free(u->name);
		free(u->home);
		free(u->shell);
		free(u->gecos);
		strv_free(u->groups, u->n_groups);
		strv_free(u->authorized_keys, u->n_authorized_keys);
	}
	free(t->users);
	for (i = 0; i < t->n_perms; i++)
		free(t->perms[i].glob);
	free(t->perms);
	strv_free(t->config.entrypoint, t->config.n_entrypoint);
	strv_free(t->config.cmd, t->config.n_cmd);
	strv_free(t->config.env, t->config.n_env);
	free(t->config.user);
	free(t->config.workdir);
	strv_free(t->config.label_keys, t->config.n_labels);
	strv_free(t->config.label_values, t->config.n_labels);
	strv_free(t->harden, t->n_harden);
	free(t->disk.filesystem);
	free(t->disk.label);
	free(t->disk.kernel);
	free(t->disk.initrd);
	free(t->disk.cmdline);
	strv_free(t->disk.vm_only, t->disk.n_vm_only);
	free(t->audit.fail_on);
	hm_audit_exceptions_free(&t->audit.exceptions);
	hm_runtime_spec_free(t->runtime);
	free(t);
}

/* Scalars and strings */

static int dup_into(struct ctx *c, const char *s, char **ret)
{
	char *d = strdup(s);

	if (!d)
		return hm_error_nomem(c->err);
	free(*ret);
	*ret = d;
	return 0;
}

/* A non-null scalar without NUL bytes, at most max bytes. */
static int get_string(struct ctx *c, const struct hm_yaml_node *n,
		      const char *what, size_t max, const char **ret)
{
	int r = hm_yaml_string(c->doc, n, what, ret, c->err);

	if (r < 0)
		return r;
	if (n->len > max)
		return LIMIT(c, n, "%s is longer than %zu bytes", what, max);
	return 0;
}

static int dup_string(struct ctx *c, const struct hm_yaml_node *n,
		      const char *what, size_t max, char **ret)
{
	const char *s;
	int r = get_string(c, n, what, max, &s);

	return r < 0 ? r : dup_into(c, s, ret);
}

static int get_id(struct ctx *c, const struct hm_yaml_node *n,
		  const char *what, uint32_t *ret)
{
	uint64_t v;
	int r = hm_yaml_uint(c->doc, n, what, HM_TPL_MAX_ID, &v, c->err);

	if (r < 0)
		return r;
	*ret = (uint32_t)v;
	return 0;
}

static bool all_octal(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '7')
			return false;
	return true;
}

/*
 * Modes are octal digits written as a string: "0644", "644", "4755".
 * A plain 644 is refused: YAML (and every tool that reads it as YAML)
 * takes it for the decimal number 644, which is mode 01204.  A plain
 * 0644 is accepted, as the leading zero says "octal" to everyone.
 */
static int get_mode(struct ctx *c, const struct hm_yaml_node *n,
		    const char *what, uint32_t *ret)
{
	uint32_t mode = 0;
	size_t i;
	bool ok;

	if (n->kind != HM_YAML_SCALAR || hm_yaml_is_null(n))
		return ERR(c, n, "%s must be an octal mode such as \"0644\", not %s",
			   what, hm_yaml_what(n));
	if (n->plain)
		ok = n->len == 4 && n->str[0] == '0' && all_octal(n->str, 4);
	else
		ok = (n->len == 3 || n->len == 4) && all_octal(n->str, n->len);
	if (!ok) {
		if (n->plain && (n->len == 3 || n->len == 4) &&
		    all_octal(n->str, n->len))
			return ERR(c, n, "%s %s must be quoted (\"%s%s\"): unquoted, YAML reads it as a decimal number",
				   what, n->str, n->len == 3 ? "0" : "", n->str);
		return ERR(c, n, "%s must be 3 or 4 octal digits such as \"0644\", not '%.*s'",
			   what, n->len > 32 ? 32 : (int)n->len, n->str);
	}
	for (i = 0; i < n->len; i++)
		mode = mode * 8 + (uint32_t)(n->str[i] - '0');
	*ret = mode;
	return 0;
}

/*
 * An absolute canonical image path: no empty, "." or ".." components, no
 * trailing slash, not "/" itself (unless allow_root).
 */
static int get_path(struct ctx *c, const struct hm_yaml_node *n,
		    const char *what, bool allow_root, char **ret)
{
	const char *s, *p;
	int r = hm_yaml_string(c->doc, n, what, &s, c->err);

	if (r < 0)
		return r;
	if (n->len > HM_LIMIT_PATH_BYTES)
		return LIMIT(c, n, "%s is longer than HM_LIMIT_PATH_BYTES (%u)",
			     what, HM_LIMIT_PATH_BYTES);
	if (s[0] != '/')
		return ERR(c, n, "%s '%s' must be an absolute path", what, s);
	if (!s[1]) {
		if (!allow_root)
			return ERR(c, n, "%s cannot be '/'", what);
		return dup_into(c, s, ret);
	}
	for (p = s; *p; ) {
		const char *comp = p + 1, *end = strchr(comp, '/');
		size_t len = end ? (size_t)(end - comp) : strlen(comp);

		if (len == 0)
			return ERR(c, n, "%s '%s' has an empty component or a trailing '/'",
				   what, s);
		if ((len == 1 && comp[0] == '.') ||
		    (len == 2 && comp[0] == '.' && comp[1] == '.'))
			return ERR(c, n, "%s '%s' has a '%.*s' component", what,
				   s, (int)len, comp);
		/* The OCI layer made from the tree would read it as a
		 * whiteout, and the image would not match its manifest. */
		if (len >= 4 && !memcmp(comp, ".wh.", 4))
			return ERR(c, n, "%s '%s': a name starting with '.wh.' reads as a whiteout in an OCI layer",
				   what, s);
		p = comp + len;
	}
	return dup_into(c, s, ret);
}

/* Users and groups: what useradd accepts by default, at most 32 bytes. */
static bool unix_name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 32 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (i = 1; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static int get_unix_name(struct ctx *c, const struct hm_yaml_node *n,
			 const char *what, char **ret)
{
	const char *s;
	int r = hm_yaml_string(c->doc, n, what, &s, c->err);

	if (r < 0)
		return r;
	if (!unix_name_valid(s, n->len))
		return ERR(c, n, "%s '%.*s' is not a valid name (a-z, 0-9, '_', '-', at most 32, starting with a letter or '_')",
			   what, n->len > 64 ? 64 : (int)n->len, s);
	return dup_into(c, s, ret);
}

/* Debian package and suite names: [a-z0-9][a-z0-9+.-]+ (Policy 5.6.1). */
static bool debian_name_valid(const char *s, size_t len)
{
	size_t i;

	if (len < 2 || len > 256)
		return false;
	for (i = 0; i < len; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || (ch != '+' && ch != '.' && ch != '-')))
			return false;
	}
	return true;
}

static bool has_ctl(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static int get_bool(struct ctx *c, const struct hm_yaml_node *n,
		    const char *what, bool *ret)
{
	return hm_yaml_bool(c->doc, n, what, ret, c->err);
}

/* Lists */

/* A sequence (or null: empty); its length within the item limit. */
static int get_seq(struct ctx *c, const struct hm_yaml_node *n,
		   const char *what, size_t *ret_n)
{
	if (hm_yaml_is_null(n)) {
		*ret_n = 0;
		return 0;
	}
	if (n->kind != HM_YAML_SEQUENCE)
		return ERR(c, n, "%s must be a sequence, not %s", what,
			   hm_yaml_what(n));
	if (n->n > HM_LIMIT_TPL_ITEMS)
		return LIMIT(c, n, "%s has more than %u items", what,
			     HM_LIMIT_TPL_ITEMS);
	*ret_n = n->n;
	return 0;
}

typedef int (*item_check_fn)(struct ctx *c, const struct hm_yaml_node *n,
			     const char *what);

/* A sequence of strings, each checked by check (may be NULL). */
static int get_strv(struct ctx *c, const struct hm_yaml_node *n,
		    const char *what, item_check_fn check, char ***ret,
		    size_t *ret_n)
{
	char **v = NULL;
	size_t i, count;
	int r;

	r = get_seq(c, n, what, &count);
	if (r < 0)
		return r;
	if (count) {
		v = calloc(count, sizeof(*v));
		if (!v)
			return hm_error_nomem(c->err);
	}
	for (i = 0; i < count; i++) {
		r = dup_string(c, n->items[i], what, HM_LIMIT_TPL_STRING, &v[i]);
		if (r >= 0 && check)
			r = check(c, n->items[i], what);
		if (r < 0) {
			strv_free(v, count);
			return r;
		}
	}
	strv_free(*ret, *ret_n);
	*ret = v;
	*ret_n = count;
	return 0;
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Top-level scalars */

static int parse_header(struct ctx *c, const struct hm_yaml_node *root)
{
	const struct hm_yaml_node *v;
	uint64_t u;
	const char *s;
	int r;

	v = hm_yaml_get(root, "name");
	if (!v)
		return ERR(c, root, "'name' is required");
	r = get_string(c, v, "'name'", HM_LIMIT_TPL_STRING, &s);
	if (r < 0)
		return r;
	if (!hm_manifest_name_valid(s))
		return ERR(c, v, "'name' '%.64s' is not a valid image name (1..%u bytes of A-Z a-z 0-9 . _ + -, not starting with '.' or '-')",
			   s, HM_LIMIT_NAME_BYTES);
	r = dup_into(c, s, &c->t->name);
	if (r < 0)
		return r;

	v = hm_yaml_get(root, "serial");
	if (!v)
		return ERR(c, root, "'serial' is required (an unsigned integer that only goes up per name)");
	r = hm_yaml_uint(c->doc, v, "'serial'", UINT64_MAX, &c->t->serial, c->err);
	if (r < 0)
		return r;

	v = hm_yaml_get(root, "expires_days");
	if (v && !hm_yaml_is_null(v)) {
		r = hm_yaml_uint(c->doc, v, "'expires_days'",
				 HM_TPL_MAX_EXPIRES_DAYS, &u, c->err);
		if (r < 0)
			return r;
		c->t->expires_days = (uint32_t)u;
	}

	v = hm_yaml_get(root, "description");
	if (v && !hm_yaml_is_null(v)) {
		r = dup_string(c, v, "'description'", HM_LIMIT_TPL_CONTENT,
			       &c->t->description);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Base */

static int check_package(struct ctx *c, const struct hm_yaml_node *n,
			 const char *what)
{
	(void)what;
	if (!debian_name_valid(n->str, n->len))
		return ERR(c, n, "'%.64s' is not a Debian package name ([a-z0-9][a-z0-9+.-]+)",
			   n->str);
	return 0;
}

/*
 * A file the template names: relative to its folder, no ".." and no
 * absolute path, and after resolving symlinks still inside the folder.
 * *ret gets the resolved path (the builder opens that, not the name).
 */
bool hm_template_no_openat2;

/* One component at a time, none a symlink (kernels without openat2). */
static int open_by_components(int dfd, const char *rel)
{
	char comp[NAME_MAX + 1];
	const char *p = rel;
	int cur = dfd, fd;

	for (;;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > NAME_MAX) {
			fd = -ENAMETOOLONG;
			break;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (len == 2 && comp[0] == '.' && comp[1] == '.') {
			fd = -EXDEV;
			break;
		}
		if (!end) {
			fd = openat(cur, len ? comp : ".", O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
				    O_NOCTTY | O_NONBLOCK);
			if (fd < 0)
				fd = -errno;
			break;
		}
		if (len && !(len == 1 && comp[0] == '.')) {
			fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				/* A symlink opened with O_PATH|O_NOFOLLOW is not a
				 * directory: say ELOOP as openat2 would. */
				fd = errno == ENOTDIR ? -ELOOP : -errno;
				break;
			}
			if (cur != dfd)
				close(cur);
			cur = fd;
		}
		p = end + 1;
	}
	if (cur != dfd)
		close(cur);
	return fd;
}

int hm_template_open_source(const struct hm_template *t, const char *rel)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int dfd, fd;

	dfd = open(t->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = -ENOSYS;
	if (!hm_template_no_openat2) {
		fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
		if (fd < 0)
			fd = -errno;
	}
	/* ENOSYS: an older kernel; EPERM: a seccomp filter that predates
	 * openat2.  Either way the fallback gives the same guarantee. */
	if (fd == -ENOSYS || fd == -EPERM)
		fd = open_by_components(dfd, rel);
	close(dfd);
	return fd;
}

static int resolve_local(struct ctx *c, const struct hm_yaml_node *n,
			 const char *what, uint64_t max_size, char **ret,
			 char **ret_rel)
{
	const char *s, *p, *rel;
	char *joined = NULL, *real = NULL;
	size_t dlen = strlen(c->t->dir);
	struct stat st;
	int r, fd = -1;

	r = get_string(c, n, what, HM_LIMIT_PATH_BYTES, &s);
	if (r < 0)
		return r;
	if (!s[0])
		return ERR(c, n, "%s is empty", what);
	if (s[0] == '/')
		return ERR(c, n, "%s '%s' must be relative to the template's folder, not absolute",
			   what, s);
	for (p = s; ; ) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return ERR(c, n, "%s '%s' must not leave the template's folder ('..')",
				   what, s);
		if (!end)
			break;
		p = end + 1;
	}
	if (asprintf(&joined, "%s/%s", c->t->dir, s) < 0)
		return hm_error_nomem(c->err);
	real = realpath(joined, NULL);
	if (!real) {
		int e = errno;

		r = ERR(c, n, "%s '%s': cannot resolve '%s': %s", what, s,
			joined, strerror(e));
		goto out;
	}
	/* Symlinks inside the folder may point anywhere: judge the target. */
	if (strncmp(real, c->t->dir, dlen) != 0 ||
	    (real[dlen] != '/' && !(dlen == 1 && c->t->dir[0] == '/'))) {
		r = ERR(c, n, "%s '%s' resolves to '%s', outside the template's folder '%s'",
			what, s, real, c->t->dir);
		goto out;
	}
	/* Check what opening it gives, beneath the folder and without a
	 * symlink: the path kept is the one the build opens again. */
	rel = real + dlen + (dlen == 1 ? 0 : 1);
	fd = hm_template_open_source(c->t, rel);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = fd < 0 ? -fd : errno;

		r = ERR(c, n, "%s '%s': cannot open '%s': %s", what, s, real,
			strerror(e));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = ERR(c, n, "%s '%s' is not a regular file", what, s);
		goto out;
	}
	if (max_size && (uint64_t)st.st_size > max_size) {
		r = LIMIT(c, n, "%s '%s' is larger than %llu bytes", what, s,
			  (unsigned long long)max_size);
		goto out;
	}
	if (ret_rel) {
		char *dup = strdup(rel);

		if (!dup) {
			r = hm_error_nomem(c->err);
			goto out;
		}
		free(*ret_rel);
		*ret_rel = dup;
	}
	free(*ret);
	*ret = real;
	real = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(joined);
	free(real);
	return r;
}

static int parse_debian(struct ctx *c, const struct hm_yaml_node *m)
{
	static const char *const keys[] = {
		"suite", "variant", "packages", "mirror", NULL
	};
	static const char *const variants[] = {
		"extract", "custom", "essential", "apt", "required", "minbase",
		"buildd", "important", "debootstrap", "standard", NULL
	};
	struct hm_tpl_base *b = &c->t->base;
	const struct hm_yaml_node *v;
	const char *s;
	size_t i, j;
	int r;

	r = hm_yaml_check_keys(c->doc, m, "'base: debian'", keys, c->err);
	if (r < 0)
		return r;
	b->kind = HM_BASE_DEBIAN;

	v = hm_yaml_get(m, "suite");
	if (!v)
		return ERR(c, m, "'suite' is required in 'base: debian' (e.g. bookworm)");
	r = get_string(c, v, "'suite'", HM_LIMIT_TPL_STRING, &s);
	if (r < 0)
		return r;
	if (!debian_name_valid(s, v->len))
		return ERR(c, v, "'suite' '%.64s' is not a suite name such as 'bookworm'", s);
	r = dup_into(c, s, &b->suite);
	if (r < 0)
		return r;

	s = "minbase";
	v = hm_yaml_get(m, "variant");
	if (v) {
		r = get_string(c, v, "'variant'", HM_LIMIT_TPL_STRING, &s);
		if (r < 0)
			return r;
		for (i = 0; variants[i]; i++)
			if (!strcmp(s, variants[i]))
				break;
		if (!variants[i])
			return ERR(c, v, "unknown variant '%.64s' (one of extract, custom, essential, apt, required, minbase, buildd, important, debootstrap, standard)",
				   s);
	}
	r = dup_into(c, s, &b->variant);
	if (r < 0)
		return r;

	v = hm_yaml_get(m, "packages");
	if (v) {
		r = get_strv(c, v, "'packages'", check_package, &b->packages,
			     &b->n_packages);
		if (r < 0)
			return r;
		/* The cache key and mmdebstrap's command line must not
		 * depend on how the list was written. */
		if (b->n_packages)
			qsort(b->packages, b->n_packages, sizeof(char *), strp_cmp);
		for (i = j = 0; i < b->n_packages; i++) {
			if (j && !strcmp(b->packages[j - 1], b->packages[i]))
				free(b->packages[i]);
			else
				b->packages[j++] = b->packages[i];
		}
		b->n_packages = j;
	}

	v = hm_yaml_get(m, "mirror");
	if (v && !hm_yaml_is_null(v)) {
		r = get_string(c, v, "'mirror'", HM_LIMIT_TPL_STRING, &s);
		if (r < 0)
			return r;
		if ((strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) ||
		    strpbrk(s, " \t") || has_ctl(s, v->len))
			return ERR(c, v, "'mirror' must be an http:// or https:// URL without spaces");
		r = dup_into(c, s, &b->mirror);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool is_sha256_hex(const char *s, size_t len)
{
	size_t i;

	if (len != 64)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int parse_file_base(struct ctx *c, const struct hm_yaml_node *m,
			   enum hm_base_kind kind, const char *what)
{
	static const char *const keys[] = { "path", "sha256", NULL };
	struct hm_tpl_base *b = &c->t->base;
	const struct hm_yaml_node *v;
	const char *s;
	int r;

	r = hm_yaml_check_keys(c->doc, m, what, keys, c->err);
	if (r < 0)
		return r;
	b->kind = kind;
	v = hm_yaml_get(m, "path");
	if (!v)
		return ERR(c, m, "'path' is required in %s", what);
	r = resolve_local(c, v, "base 'path'", 0, &b->path, NULL);
	if (r < 0)
		return r;
	v = hm_yaml_get(m, "sha256");
	if (v && !hm_yaml_is_null(v)) {
		r = get_string(c, v, "'sha256'", 64, &s);
		if (r < 0)
			return r;
		if (!is_sha256_hex(s, v->len))
			return ERR(c, v, "'sha256' must be 64 lowercase hex digits");
		memcpy(b->sha256, s, 65);
	}
	return 0;
}

static int parse_base(struct ctx *c, const struct hm_yaml_node *root)
{
	static const char *const keys[] = { "debian", "tarball", "oci", NULL };
	const struct hm_yaml_node *m = hm_yaml_get(root, "base");
	const struct hm_yaml_node *k, *v;
	int r;

	if (!m)
		return ERR(c, root, "'base' is required (one of debian, tarball or oci)");
	r = hm_yaml_check_keys(c->doc, m, "'base'", keys, c->err);
	if (r < 0)
		return r;
	if (m->n == 0)
		return ERR(c, m, "'base' must have one of debian, tarball or oci");
	if (m->n > 1)
		return ERR(c, m->keys[1], "'base' has both '%s' and '%s': a template has exactly one base",
			   m->keys[0]->str, m->keys[1]->str);
	k = m->keys[0];
	v = m->items[0];
	if (!strcmp(k->str, "debian"))
		return parse_debian(c, v);
	if (!strcmp(k->str, "tarball"))
		return parse_file_base(c, v, HM_BASE_TARBALL, "'base: tarball'");
	return parse_file_base(c, v, HM_BASE_OCI, "'base: oci'");
}

/* Operations */

static int check_glob(struct ctx *c, const struct hm_yaml_node *n,
		      const char *what)
{
	int r;

	if (n->len > HM_LIMIT_GLOB_BYTES)
		return LIMIT(c, n, "%s glob is longer than HM_LIMIT_GLOB_BYTES (%u)",
			     what, HM_LIMIT_GLOB_BYTES);
	r = hm_glob_check(n->str, n->len, c->err);
	if (r < 0)
		return hm_error_prefix(c->err, "%s:%lu:%lu: %s", c->doc->name,
				       n->line, n->col, what);
	return 0;
}

/* The mapping item i of list `what`, its keys checked. */
static int get_item(struct ctx *c, const struct hm_yaml_node *n,
		    const char *what, const char *const *keys)
{
	if (n->kind != HM_YAML_MAPPING)
		return ERR(c, n, "%s items must be mappings, not %s", what,
			   hm_yaml_what(n));
	return hm_yaml_check_keys(c->doc, n, what, keys, c->err);
}

static int require(struct ctx *c, const struct hm_yaml_node *m,
		   const char *key, const char *what,
		   const struct hm_yaml_node **ret)
{
	*ret = hm_yaml_get(m, key);
	if (!*ret)
		return ERR(c, m, "'%s' is required in %s", key, what);
	return 0;
}

/* Optional uid and gid of an item; left alone when absent. */
static int get_owner(struct ctx *c, const struct hm_yaml_node *m,
		     uint32_t *uid, uint32_t *gid, bool *has_uid, bool *has_gid)
{
	const struct hm_yaml_node *v;
	int r;

	v = hm_yaml_get(m, "uid");
	if (v) {
		r = get_id(c, v, "'uid'", uid);
		if (r < 0)
			return r;
		if (has_uid)
			*has_uid = true;
	}
	v = hm_yaml_get(m, "gid");
	if (v) {
		r = get_id(c, v, "'gid'", gid);
		if (r < 0)
			return r;
		if (has_gid)
			*has_gid = true;
	}
	return 0;
}

static int add_claim(struct ctx *c, struct claim **v, size_t *n, size_t *cap,
		     const char *path, const struct hm_yaml_node *node,
		     const char *list)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct claim *nv = realloc(*v, ncap * sizeof(*nv));

		if (!nv)
			return hm_error_nomem(c->err);
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = (struct claim){ path, node, list };
	return 0;
}

static int claim_cmp(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;
	int r = strcmp(x->path, y->path);

	if (r)
		return r;
	if (x->node->line != y->node->line)
		return x->node->line < y->node->line ? -1 : 1;
	return x->node->col < y->node->col ? -1 : x->node->col > y->node->col;
}

static bool node_before(const struct hm_yaml_node *a,
			const struct hm_yaml_node *b)
{
	return a->line < b->line || (a->line == b->line && a->col < b->col);
}

/*
 * Two operations on one path would make the result depend on the order
 * of application: refuse it, reporting the repeat that comes first in
 * the file, with the line of the path it repeats.
 */
static int check_claims(struct ctx *c, struct claim *v, size_t n)
{
	const struct claim *bad = NULL, *first = NULL;
	size_t i, start = 0;

	if (n < 2)
		return 0;
	qsort(v, n, sizeof(*v), claim_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(v[i].path, v[start].path)) {
			start = i;
			continue;
		}
		/* v[start] is the earliest of the group; v[start + 1] its
		 * first repeat. */
		if (i == start + 1 && (!bad || node_before(v[i].node, bad->node))) {
			bad = &v[i];
			first = &v[start];
		}
	}
	if (!bad)
		return 0;
	return ERR(c, bad->node, "'%s' in %s is already declared in %s at line %lu col %lu",
		   bad->path, bad->list, first->list, first->node->line,
		   first->node->col);
}

static int parse_remove(struct ctx *c, const struct hm_yaml_node *root)
{
	const struct hm_yaml_node *v = hm_yaml_get(root, "remove");

	if (!v)
		return 0;
	return get_strv(c, v, "'remove'", check_glob, &c->t->remove,
			&c->t->n_remove);
}

static int parse_dirs(struct ctx *c, const struct hm_yaml_node *root,
		      struct claim **claims, size_t *n_claims, size_t *cap)
{
	static const char *const keys[] = { "path", "mode", "uid", "gid", NULL };
	const struct hm_yaml_node *l = hm_yaml_get(root, "directories");
	size_t i, n;
	int r;

	if (!l)
		return 0;
	r = get_seq(c, l, "'directories'", &n);
	if (r < 0 || !n)
		return r;
	c->t->dirs = calloc(n, sizeof(*c->t->dirs));
	if (!c->t->dirs)
		return hm_error_nomem(c->err);
	for (i = 0; i < n; i++) {
		const struct hm_yaml_node *m = l->items[i], *v;
		struct hm_tpl_dir *d = &c->t->dirs[c->t->n_dirs++];

		d->mode = 0755;
		r = get_item(c, m, "'directories'", keys);
		if (r >= 0)
			r = require(c, m, "path", "a directory", &v);
		if (r >= 0)
			r = get_path(c, v, "'path'", false, &d->path);
		if (r >= 0)
			r = add_claim(c, claims, n_claims, cap, d->path, v,
				      "'directories'");
		if (r >= 0 && (v = hm_yaml_get(m, "mode")))
			r = get_mode(c, v, "'mode'", &d->mode);
		if (r >= 0)
			r = get_owner(c, m, &d->uid, &d->gid, NULL, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_files(struct ctx *c, const struct hm_yaml_node *root,
		       struct claim **claims, size_t *n_claims, size_t *cap)
{
	static const char *const keys[] = {
		"path", "content", "source", "mode", "uid", "gid", NULL
	};
	const struct hm_yaml_node *l = hm_yaml_get(root, "files");
	size_t i, n;
	int r;

	if (!l)
		return 0;
	r = get_seq(c, l, "'files'", &n);
	if (r < 0 || !n)
		return r;
	c->t->files = calloc(n, sizeof(*c->t->files));
	if (!c->t->files)
		return hm_error_nomem(c->err);
	for (i = 0; i < n; i++) {
		const struct hm_yaml_node *m = l->items[i], *v, *content, *source;
		struct hm_tpl_file *f = &c->t->files[c->t->n_files++];

		f->mode = 0644;
		r = get_item(c, m, "'files'", keys);
		if (r >= 0)
			r = require(c, m, "path", "a file", &v);
		if (r >= 0)
			r = get_path(c, v, "'path'", false, &f->path);
		if (r >= 0)
			r = add_claim(c, claims, n_claims, cap, f->path, v,
				      "'files'");
		if (r < 0)
			return r;
		content = hm_yaml_get(m, "content");
		source = hm_yaml_get(m, "source");
		if (content && source)
			return ERR(c, source, "a file has either 'content' or 'source', not both");
		if (!content && !source)
			return ERR(c, m, "a file needs 'content' (inline text) or 'source' (a file next to the template)");
		if (content) {
			/* Any scalar but null; NUL bytes ("\0") are content. */
			if (content->kind != HM_YAML_SCALAR || hm_yaml_is_null(content))
				return ERR(c, content, "'content' must be a string, not %s (write \"\" for an empty file)",
					   hm_yaml_what(content));
			if (content->len > HM_LIMIT_TPL_CONTENT)
				return LIMIT(c, content, "'content' is longer than %u bytes (use 'source')",
					     HM_LIMIT_TPL_CONTENT);
			f->content = malloc(content->len + 1);
			if (!f->content)
				return hm_error_nomem(c->err);
			memcpy(f->content, content->str, content->len);
			f->content[content->len] = '\0';
			f->content_len = content->len;
		} else {
			r = resolve_local(c, source, "'source'",
					  HM_LIMIT_TPL_SOURCE, &f->source,
					  &f->source_rel);
			if (r < 0)
				return r;
		}
		if ((v = hm_yaml_get(m, "mode"))) {
			r = get_mode(c, v, "'mode'", &f->mode);
			if (r < 0)
				return r;
		}
		r = get_owner(c, m, &f->uid, &f->gid, NULL, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_symlinks(struct ctx *c, const struct hm_yaml_node *root,
			  struct claim **claims, size_t *n_claims, size_t *cap)
{
	static const char *const keys[] = { "path", "target", "uid", "gid", NULL };
	const struct hm_yaml_node *l = hm_yaml_get(root, "symlinks");
	size_t i, n;
	int r;

	if (!l)
		return 0;
	r = get_seq(c, l, "'symlinks'", &n);
	if (r < 0 || !n)
		return r;
	c->t->symlinks = calloc(n, sizeof(*c->t->symlinks));
	if (!c->t->symlinks)
		return hm_error_nomem(c->err);
	for (i = 0; i < n; i++) {
		const struct hm_yaml_node *m = l->items[i], *v;
		struct hm_tpl_symlink *s = &c->t->symlinks[c->t->n_symlinks++];

		r = get_item(c, m, "'symlinks'", keys);
		if (r >= 0)
			r = require(c, m, "path", "a symlink", &v);
		if (r >= 0)
			r = get_path(c, v, "'path'", false, &s->path);
		if (r >= 0)
			r = add_claim(c, claims, n_claims, cap, s->path, v,
				      "'symlinks'");
		if (r >= 0)
			r = require(c, m, "target", "a symlink", &v);
		if (r >= 0)
			r = dup_string(c, v, "'target'", HM_LIMIT_TARGET_BYTES,
				       &s->target);
		if (r >= 0 && !s->target[0])
			r = ERR(c, v, "'target' is empty");
		if (r >= 0)
			r = get_owner(c, m, &s->uid, &s->gid, NULL, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_groups(struct ctx *c, const struct hm_yaml_node *root)
{
	static const char *const keys[] = { "name", "gid", NULL };
	const struct hm_yaml_node *l = hm_yaml_get(root, "groups");
	size_t i, j, n;
	int r;

	if (!l)
		return 0;
	r = get_seq(c, l, "'groups'", &n);
	if (r < 0 || !n)
		return r;
	c->t->groups = calloc(n, sizeof(*c->t->groups));
	if (!c->t->groups)
		return hm_error_nomem(c->err);
	for (i = 0; i < n; i++) {
		const struct hm_yaml_node *m = l->items[i], *name, *gid;
		struct hm_tpl_group *g = &c->t->groups[c->t->n_groups++];

		r = get_item(c, m, "'groups'", keys);
		if (r >= 0)
			r = require(c, m, "name", "a group", &name);
		if (r >= 0)
			r = get_unix_name(c, name, "group name", &g->name);
		if (r >= 0)
			r = require(c, m, "gid", "a group", &gid);
		if (r >= 0)
			r = get_id(c, gid, "'gid'", &g->gid);
		if (r < 0)
			return r;
		/* Quadratic, but over at most HM_LIMIT_TPL_ITEMS of a
		 * hand-written list. */
		for (j = 0; j < i; j++) {
			const struct hm_yaml_node *pm = l->items[j];

			if (!strcmp(c->t->groups[j].name, g->name))
				return ERR(c, name, "group '%s' is already declared at line %lu",
					   g->name, hm_yaml_get(pm, "name")->line);
			if (c->t->groups[j].gid == g->gid)
				return ERR(c, gid, "gid %u is already used by group '%s' at line %lu",
					   g->gid, c->t->groups[j].name,
					   hm_yaml_get(pm, "gid")->line);
		}
	}
	return 0;
}

static int check_group_name(struct ctx *c, const struct hm_yaml_node *n,
			    const char *what)
{
	if (!unix_name_valid(n->str, n->len))
		return ERR(c, n, "%s: '%.64s' is not a valid group name", what,
			   n->str);
	return 0;
}

static bool is_base64(const char *s, size_t len)
{
	size_t i = 0, pad = 0;

	if (len < 16 || len % 4)
		return false;
	for (; i < len; i++) {
		char ch = s[i];

		if (ch == '=') {
			pad++;
			continue;
		}
		if (pad)
			return false;       /* '=' only at the end */
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
			return false;
	}
	return pad <= 2;
}

/*
 * "TYPE BASE64 [COMMENT]": a rough check that catches pasted private
 * keys, wrapped lines and options (which belong in sshd_config, where the
 * manifest shows them, not hidden in a key line).
 */
static int check_ssh_key(struct ctx *c, const struct hm_yaml_node *n,
			 const char *what)
{
	static const char *const types[] = {
		"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256",
		"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
		"sk-ssh-ed25519@openssh.com",
		"sk-ecdsa-sha2-nistp256@openssh.com", NULL
	};
	const char *s = n->str, *sp, *b64, *end;
	size_t i;

	if (has_ctl(s, n->len))
		return ERR(c, n, "%s: a key must be one line without control characters",
			   what);
	sp = strchr(s, ' ');
	for (i = 0; sp && types[i]; i++)
		if (strlen(types[i]) == (size_t)(sp - s) &&
		    !memcmp(types[i], s, (size_t)(sp - s)))
			break;
	if (!sp || !types[i])
		return ERR(c, n, "%s: expected 'TYPE BASE64 [COMMENT]' with TYPE one of ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521, sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com",
			   what);
	b64 = sp + 1;
	end = strchr(b64, ' ');
	if (!end)
		end = s + n->len;
	if (!is_base64(b64, (size_t)(end - b64)))
		return ERR(c, n, "%s: the key after '%s' is not base64", what,
			   types[i]);
	return 0;
}

static int parse_users(struct ctx *c, const struct hm_yaml_node *root)
{
	static const char *const keys[] = {
		"name", "uid", "gid", "home", "shell", "gecos", "groups",
		"authorized_keys", "create_home", "password", NULL
	};
	const struct hm_yaml_node *l = hm_yaml_get(root, "users");
	size_t i, j, k, n;
	int r;

	if (!l)
		return 0;
	r = get_seq(c, l, "'users'", &n);
	if (r < 0 || !n)
		return r;
	c->t->users = calloc(n, sizeof(*c->t->users));
	if (!c->t->users)
		return hm_error_nomem(c->err);
	for (i = 0; i < n; i++) {
		const struct hm_yaml_node *m = l->items[i], *name, *uid, *v;
		struct hm_tpl_user *u = &c->t->users[c->t->n_users++];
		const char *s;

		u->create_home = true;
		r = get_item(c, m, "'users'", keys);
		if (r < 0)
			return r;
		/* Known, so that the message says why rather than "unknown". */
		for (k = 0; k < m->n; k++)
			if (!strcmp(m->keys[k]->str, "password"))
				return ERR(c, m->keys[k], "'password' is not supported: passwords are always locked in a gold image; log in with 'authorized_keys'");
		r = require(c, m, "name", "a user", &name);
		if (r >= 0)
			r = get_unix_name(c, name, "user name", &u->name);
		if (r >= 0)
			r = require(c, m, "uid", "a user", &uid);
		if (r >= 0)
			r = get_id(c, uid, "'uid'", &u->uid);
		if (r >= 0)
			r = require(c, m, "gid", "a user (the primary group)", &v);
		if (r >= 0)
			r = get_id(c, v, "'gid'", &u->gid);
		if (r < 0)
			return r;
		for (j = 0; j < i; j++) {
			const struct hm_yaml_node *pm = l->items[j];

			if (!strcmp(c->t->users[j].name, u->name))
				return ERR(c, name, "user '%s' is already declared at line %lu",
					   u->name, hm_yaml_get(pm, "name")->line);
			if (c->t->users[j].uid == u->uid)
				return ERR(c, uid, "uid %u is already used by user '%s' at line %lu",
					   u->uid, c->t->users[j].name,
					   hm_yaml_get(pm, "uid")->line);
		}

		if ((v = hm_yaml_get(m, "home")))
			r = get_path(c, v, "'home'", true, &u->home);
		else if (asprintf(&u->home, "/home/%s", u->name) < 0)
			r = hm_error_nomem(c->err);
		if (r >= 0 && (v = hm_yaml_get(m, "shell")))
			r = get_path(c, v, "'shell'", false, &u->shell);
		else if (r >= 0)
			r = dup_into(c, "/usr/sbin/nologin", &u->shell);
		if (r < 0)
			return r;
		/* passwd(5) fields: no ':' and no newline in any of them. */
		if (strchr(u->home, ':') || has_ctl(u->home, strlen(u->home)))
			return ERR(c, hm_yaml_get(m, "home"), "'home' must not contain ':' or control characters");
		if (strchr(u->shell, ':') || has_ctl(u->shell, strlen(u->shell)))
			return ERR(c, hm_yaml_get(m, "shell"), "'shell' must not contain ':' or control characters");
		s = "";
		v = hm_yaml_get(m, "gecos");
		if (v && !hm_yaml_is_null(v)) {
			r = get_string(c, v, "'gecos'", 256, &s);
			if (r < 0)
				return r;
			if (strchr(s, ':') || has_ctl(s, v->len))
				return ERR(c, v, "'gecos' must not contain ':' or control characters");
		}
		r = dup_into(c, s, &u->gecos);
		if (r < 0)
			return r;

		if ((v = hm_yaml_get(m, "groups"))) {
			r = get_strv(c, v, "'groups'", check_group_name,
				     &u->groups, &u->n_groups);
			if (r < 0)
				return r;
			for (j = 1; j < u->n_groups; j++)
				for (k = 0; k < j; k++)
					if (!strcmp(u->groups[j], u->groups[k]))
						return ERR(c, v->items[j], "group '%s' is listed twice",
							   u->groups[j]);
		}
		if ((v = hm_yaml_get(m, "authorized_keys"))) {
			r = get_strv(c, v, "'authorized_keys'", check_ssh_key,
				     &u->authorized_keys,
				     &u->n_authorized_keys);
			if (r < 0)
				return r;
		}
		if ((v = hm_yaml_get(m, "create_home"))) {
			r = get_bool(c, v, "'create_home'", &u->create_home);
			if (r < 0)
				return r;
		}
		if (u->n_authorized_keys && !u->create_home)
			return ERR(c, hm_yaml_get(m, "authorized_keys"),
				   "'authorized_keys' needs a home: remove 'create_home: false'");
	}
	return 0;
}

static int parse_perms(struct ctx *c, const struct hm_yaml_node *root)
{
	static const char *const keys[] = { "path", "mode", "uid", "gid", NULL };
	const struct hm_yaml_node *l = hm_yaml_get(root, "permissions");
	size_t i, n;
	int r;

	if (!l)
		return 0;
	r = get_seq(c, l, "'permissions'", &n);
	if (r < 0 || !n)
		return r;
	c->t->perms = calloc(n, sizeof(*c->t->perms));
	if (!c->t->perms)
		return hm_error_nomem(c->err);
	for (i = 0; i < n; i++) {
		const struct hm_yaml_node *m = l->items[i], *v;
		struct hm_tpl_perm *p = &c->t->perms[c->t->n_perms++];

		r = get_item(c, m, "'permissions'", keys);
		if (r >= 0)
			r = require(c, m, "path", "a permission fix", &v);
		if (r >= 0)
			r = dup_string(c, v, "'path'", HM_LIMIT_GLOB_BYTES, &p->glob);
		if (r >= 0)
			r = check_glob(c, v, "'path'");
		if (r >= 0)
			r = require(c, m, "mode", "a permission fix", &v);
		if (r >= 0)
			r = get_mode(c, v, "'mode'", &p->mode);
		if (r >= 0)
			r = get_owner(c, m, &p->uid, &p->gid, &p->has_uid,
				      &p->has_gid);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Config */

static int check_env(struct ctx *c, const struct hm_yaml_node *n,
		     const char *what)
{
	const char *s = n->str, *eq = strchr(s, '=');
	size_t i;

	if (!eq || eq == s)
		return ERR(c, n, "%s items must be KEY=VALUE, not '%.64s'", what, s);
	for (i = 0; s + i < eq; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      ch == '_' || (i && ch >= '0' && ch <= '9')))
			return ERR(c, n, "%s: '%.*s' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)",
				   what, (int)(eq - s), s);
	}
	return 0;
}

static bool user_part_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	if (unix_name_valid(s, len))
		return true;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return len <= 10;
}

static int parse_config(struct ctx *c, const struct hm_yaml_node *root)
{
	static const char *const keys[] = {
		"entrypoint", "cmd", "env", "user", "workdir", "labels", NULL
	};
	struct hm_tpl_config *cf = &c->t->config;
	const struct hm_yaml_node *m = hm_yaml_get(root, "config"), *v;
	const char *s, *colon;
	size_t i, j;
	int r;

	r = dup_into(c, "", &cf->user);
	if (r >= 0)
		r = dup_into(c, "", &cf->workdir);
	if (r < 0 || !m || hm_yaml_is_null(m))
		return r;
	r = hm_yaml_check_keys(c->doc, m, "'config'", keys, c->err);
	if (r < 0)
		return r;
	if ((v = hm_yaml_get(m, "entrypoint"))) {
		r = get_strv(c, v, "'entrypoint'", NULL, &cf->entrypoint,
			     &cf->n_entrypoint);
		if (r < 0)
			return r;
	}
	if ((v = hm_yaml_get(m, "cmd"))) {
		r = get_strv(c, v, "'cmd'", NULL, &cf->cmd, &cf->n_cmd);
		if (r < 0)
			return r;
	}
	if ((v = hm_yaml_get(m, "env"))) {
		r = get_strv(c, v, "'env'", check_env, &cf->env, &cf->n_env);
		if (r < 0)
			return r;
		for (i = 1; i < cf->n_env; i++) {
			size_t klen = (size_t)(strchr(cf->env[i], '=') - cf->env[i]);

			for (j = 0; j < i; j++)
				if (!strncmp(cf->env[i], cf->env[j], klen + 1))
					return ERR(c, v->items[i], "'env': '%.*s' is set twice",
						   (int)klen, cf->env[i]);
		}
	}
	if ((v = hm_yaml_get(m, "user")) && !hm_yaml_is_null(v)) {
		r = get_string(c, v, "'user'", 80, &s);
		if (r < 0)
			return r;
		colon = strchr(s, ':');
		if (!user_part_valid(s, colon ? (size_t)(colon - s) : v->len) ||
		    (colon && !user_part_valid(colon + 1, strlen(colon + 1))))
			return ERR(c, v, "'user' must be USER or USER:GROUP, each a name or a number, not '%.64s'",
				   s);
		r = dup_into(c, s, &cf->user);
		if (r < 0)
			return r;
	}
	if ((v = hm_yaml_get(m, "workdir")) && !hm_yaml_is_null(v)) {
		r = get_path(c, v, "'workdir'", true, &cf->workdir);
		if (r < 0)
			return r;
	}
	if ((v = hm_yaml_get(m, "labels")) && !hm_yaml_is_null(v)) {
		if (v->kind != HM_YAML_MAPPING)
			return ERR(c, v, "'labels' must be a mapping, not %s",
				   hm_yaml_what(v));
		if (v->n > HM_LIMIT_TPL_ITEMS)
			return LIMIT(c, v, "'labels' has more than %u items",
				     HM_LIMIT_TPL_ITEMS);
		if (!v->n)
			return 0;
		cf->label_keys = calloc(v->n, sizeof(char *));
		cf->label_values = calloc(v->n, sizeof(char *));
		if (!cf->label_keys || !cf->label_values)
			return hm_error_nomem(c->err);
		cf->n_labels = v->n;
		for (i = 0; i < v->n; i++) {
			if (v->keys[i]->len == 0)
				return ERR(c, v->keys[i], "a label key is empty");
			r = dup_string(c, v->keys[i], "a label key",
				       HM_LIMIT_TPL_STRING, &cf->label_keys[i]);
			if (r >= 0)
				r = dup_string(c, v->items[i], "a label value",
					       HM_LIMIT_TPL_CONTENT,
					       &cf->label_values[i]);
			if (r < 0)
				return r;
		}
		/* Sort keys and values together (keys are unique); an
		 * insertion sort, as label lists are short. */
		for (i = 0; i < v->n; i++) {
			char *k = cf->label_keys[i], *val = cf->label_values[i];

			for (j = i; j > 0 && strcmp(cf->label_keys[j - 1], k) > 0; j--) {
				cf->label_keys[j] = cf->label_keys[j - 1];
				cf->label_values[j] = cf->label_values[j - 1];
			}
			cf->label_keys[j] = k;
			cf->label_values[j] = val;
		}
	}
	return 0;
}

static int parse_outputs(struct ctx *c, const struct hm_yaml_node *root)
{
	const struct hm_yaml_node *l = hm_yaml_get(root, "outputs");
	size_t i, n;
	unsigned bit;
	int r;

	c->t->outputs = HM_OUTPUT_OCI | HM_OUTPUT_TAR;
	if (!l)
		return 0;
	r = get_seq(c, l, "'outputs'", &n);
	if (r < 0)
		return r;
	if (!n)
		return ERR(c, l, "'outputs' must name at least one output (oci, tar, raw, qcow2)");
	c->t->outputs = 0;
	for (i = 0; i < n; i++) {
		const struct hm_yaml_node *v = l->items[i];
		const char *s;

		r = get_string(c, v, "an output", 64, &s);
		if (r < 0)
			return r;
		if (!strcmp(s, "oci")) {
			bit = HM_OUTPUT_OCI;
		} else if (!strcmp(s, "tar")) {
			bit = HM_OUTPUT_TAR;
		} else if (!strcmp(s, "raw")) {
			bit = HM_OUTPUT_RAW;
		} else if (!strcmp(s, "qcow2")) {
			bit = HM_OUTPUT_QCOW2;
		} else {
			return ERR(c, v, "unknown output '%.64s' (oci, tar, raw, qcow2)", s);
		}
		if (c->t->outputs & bit)
			return ERR(c, v, "output '%s' is listed twice", s);
		c->t->outputs |= bit;
	}
	return 0;
}

/* The OCI layer's compression: only with an `oci` output, where it
 * means something. */
static int parse_layer_compression(struct ctx *c, const struct hm_yaml_node *root)
{
	const struct hm_yaml_node *v = hm_yaml_get(root, "layer_compression");
	const char *s;
	int r;

	c->t->layer_compression = HM_PGZIP_GZIP;
	if (!v)
		return 0;
	r = get_string(c, v, "'layer_compression'", 64, &s);
	if (r < 0)
		return r;
	if (!strcmp(s, "gzip"))
		c->t->layer_compression = HM_PGZIP_GZIP;
	else if (!strcmp(s, "zstd"))
		c->t->layer_compression = HM_PGZIP_ZSTD;
	else
		return ERR(c, v, "unknown layer compression '%.64s' (gzip or zstd)", s);
	if (!(c->t->outputs & HM_OUTPUT_OCI))
		return ERR(c, v, "'layer_compression' needs the 'oci' output");
	return 0;
}

/* Disk */

/*
 * A size: a plain integer of bytes, or a string of digits with one of
 * the binary suffixes K, M, G, T (optionally KiB, MiB, GiB, TiB):
 * "2G", "512M".  Whole MiB, within the disk limits.
 */
static int get_disk_size(struct ctx *c, const struct hm_yaml_node *n,
			 uint64_t *ret)
{
	static const char units[] = "KMGT";
	uint64_t v = 0, mul = 1;
	const char *s, *u;
	size_t i = 0;

	if (n->kind != HM_YAML_SCALAR || hm_yaml_is_null(n))
		return ERR(c, n, "'size' must be a size such as \"2G\" or \"512M\", not %s",
			   hm_yaml_what(n));
	s = n->str;
	while (i < n->len && s[i] >= '0' && s[i] <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return LIMIT(c, n, "'size' '%.32s' is larger than the maximum of 2 TiB",
				     s);
		v = v * 10 + (uint64_t)(s[i] - '0');
		i++;
	}
	if (i == 0)
		goto bad;
	if (i < n->len) {
		u = strchr(units, s[i]);
		if (!u || !*u)
			goto bad;
		mul = 1024ull << (10 * (u - units));
		i++;
		if (i < n->len && !(n->len - i == 2 && s[i] == 'i' && s[i + 1] == 'B'))
			goto bad;
	}
	if (v > HM_TPL_DISK_MAX_BYTES / mul)
		return LIMIT(c, n, "'size' '%.32s' is larger than the maximum of 2 TiB", s);
	v *= mul;
	if (v < HM_TPL_DISK_MIN_BYTES)
		return LIMIT(c, n, "'size' '%.32s' is smaller than the minimum of 64 MiB", s);
	if (v > HM_TPL_DISK_MAX_BYTES)
		return LIMIT(c, n, "'size' '%.32s' is larger than the maximum of 2 TiB", s);
	if (v % HM_TPL_DISK_ALIGN_BYTES)
		return ERR(c, n, "'size' '%.32s' must be a whole number of MiB", s);
	*ret = v;
	return 0;
bad:
	return ERR(c, n, "'size' must be a size such as \"2G\" or \"512M\" (K, M, G, T: powers of 1024) or a number of bytes, not '%.32s'",
		   s);
}

/* Labels go into fstab-like places and messages: the name's characters. */
static bool label_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > HM_TPL_DISK_LABEL_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '+' || ch == '-'))
			return false;
	}
	return true;
}

static int check_cmdline(struct ctx *c, const struct hm_yaml_node *n)
{
	const char *s = n->str, *p;
	size_t i;

	for (i = 0; i < n->len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return ERR(c, n, "'cmdline' must be printable ASCII on one line");
	/* The builder says where the root is; a second root= would win or
	 * lose depending on the kernel, so it is refused. */
	for (p = s; (p = strstr(p, "root=")) != NULL; p++)
		if (p == s || p[-1] == ' ')
			return ERR(c, n, "'cmdline' must not set root=: the builder adds root=UUID=<uuid> ro");
	return 0;
}

static int parse_disk(struct ctx *c, const struct hm_yaml_node *root)
{
	static const char *const keys[] = {
		"size", "partition_table", "filesystem", "label", "kernel",
		"initrd", "cmdline", "vm_only", NULL
	};
	const struct hm_yaml_node *m = hm_yaml_get(root, "disk");
	const struct hm_yaml_node *v, *outs = hm_yaml_get(root, "outputs");
	struct hm_tpl_disk *d = &c->t->disk;
	const char *s;
	size_t len;
	int r;

	if (!(c->t->outputs & HM_OUTPUT_DISK)) {
		if (m)
			return ERR(c, m, "'disk' is given but 'outputs' lists no disk output (raw, qcow2)");
		return 0;
	}
	if (!m) {
		size_t i;

		/* Point at the disk output that needs it. */
		for (i = 0; i < outs->n; i++)
			if (!strcmp(outs->items[i]->str, "raw") ||
			    !strcmp(outs->items[i]->str, "qcow2"))
				break;
		return ERR(c, outs->items[i], "output '%s' needs a 'disk' section (at least 'size', e.g. size: 2G)",
			   outs->items[i]->str);
	}
	if (m->kind != HM_YAML_MAPPING)
		return ERR(c, m, "'disk' must be a mapping, not %s", hm_yaml_what(m));
	r = hm_yaml_check_keys(c->doc, m, "'disk'", keys, c->err);
	if (r < 0)
		return r;

	v = hm_yaml_get(m, "size");
	if (!v)
		return ERR(c, m, "'size' is required in 'disk' (e.g. size: 2G)");
	r = get_disk_size(c, v, &d->size);
	if (r < 0)
		return r;

	d->partition_table = HM_PT_MBR;
	if ((v = hm_yaml_get(m, "partition_table"))) {
		if ((r = get_string(c, v, "'partition_table'", 16, &s)) < 0)
			return r;
		if (!strcmp(s, "mbr"))
			d->partition_table = HM_PT_MBR;
		else if (!strcmp(s, "gpt"))
			d->partition_table = HM_PT_GPT;
		else
			return ERR(c, v, "'partition_table' must be mbr or gpt, not '%.16s'", s);
	}

	s = "ext4";
	if ((v = hm_yaml_get(m, "filesystem"))) {
		if ((r = get_string(c, v, "'filesystem'", 16, &s)) < 0)
			return r;
		if (strcmp(s, "ext4"))
			return ERR(c, v, "'filesystem' must be ext4, not '%.16s'", s);
	}
	if ((r = dup_into(c, s, &d->filesystem)) < 0)
		return r;

	if ((v = hm_yaml_get(m, "label"))) {
		if ((r = get_string(c, v, "'label'", HM_LIMIT_TPL_STRING, &s)) < 0)
			return r;
		if (!label_valid(s, v->len))
			return ERR(c, v, "'label' '%.32s' must be 1..%u bytes of A-Z a-z 0-9 . _ + -",
				   s, HM_TPL_DISK_LABEL_MAX);
		if ((r = dup_into(c, s, &d->label)) < 0)
			return r;
	} else {
		/* Image names are label characters; ext4 keeps 16 bytes. */
		len = strlen(c->t->name);
		if (len > HM_TPL_DISK_LABEL_MAX)
			len = HM_TPL_DISK_LABEL_MAX;
		d->label = strndup(c->t->name, len);
		if (!d->label)
			return hm_error_nomem(c->err);
	}

	if ((v = hm_yaml_get(m, "kernel")))
		r = get_path(c, v, "disk 'kernel'", false, &d->kernel);
	else
		r = dup_into(c, "/vmlinuz", &d->kernel);
	if (r < 0)
		return r;
	if ((v = hm_yaml_get(m, "initrd")))
		r = get_path(c, v, "disk 'initrd'", false, &d->initrd);
	else
		r = dup_into(c, "/initrd.img", &d->initrd);
	if (r < 0)
		return r;
	/* extlinux.conf is line-based: a path with a space or a control
	 * character cannot be written there. */
	if (strpbrk(d->kernel, " \t") || has_ctl(d->kernel, strlen(d->kernel)))
		return ERR(c, hm_yaml_get(m, "kernel"), "disk 'kernel' must not contain spaces or control characters");
	if (strpbrk(d->initrd, " \t") || has_ctl(d->initrd, strlen(d->initrd)))
		return ERR(c, hm_yaml_get(m, "initrd"), "disk 'initrd' must not contain spaces or control characters");

	if ((v = hm_yaml_get(m, "cmdline")) && !hm_yaml_is_null(v)) {
		if ((r = get_string(c, v, "'cmdline'", HM_TPL_DISK_CMDLINE_MAX, &s)) < 0 ||
		    (r = check_cmdline(c, v)) < 0 ||
		    (r = dup_into(c, s, &d->cmdline)) < 0)
			return r;
	} else if ((r = dup_into(c, v ? "" : "console=ttyS0", &d->cmdline)) < 0) {
		return r;
	}

	if ((v = hm_yaml_get(m, "vm_only"))) {
		r = get_strv(c, v, "'vm_only'", check_glob, &d->vm_only,
			     &d->n_vm_only);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Harden and audit */

static int parse_harden(struct ctx *c, const struct hm_yaml_node *root)
{
	const struct hm_yaml_node *l = hm_yaml_get(root, "harden");
	size_t i, k, n;
	int r;

	if (!l)
		return 0;
	r = get_seq(c, l, "'harden'", &n);
	if (r < 0 || !n)
		return r;
	c->t->harden = calloc(n, sizeof(*c->t->harden));
	if (!c->t->harden)
		return hm_error_nomem(c->err);
	for (i = 0; i < n; i++) {
		const struct hm_yaml_node *v = l->items[i];
		const char *s;

		r = get_string(c, v, "a rule id", 64, &s);
		if (r < 0)
			return r;
		if (!hm_harden_supported(s))
			return ERR(c, v, "rule '%.64s' has no fix the builder can apply (docs/audit-rules.md lists the fixable rules)", s);
		for (k = 0; k < c->t->n_harden; k++)
			if (!strcmp(c->t->harden[k], s))
				return ERR(c, v, "rule '%s' is listed twice", s);
		c->t->harden[c->t->n_harden] = strdup(s);
		if (!c->t->harden[c->t->n_harden])
			return hm_error_nomem(c->err);
		c->t->n_harden++;
	}
	return 0;
}

static int parse_audit(struct ctx *c, const struct hm_yaml_node *root)
{
	static const char *const keys[] = { "fail_on", "exceptions", NULL };
	const struct hm_yaml_node *m = hm_yaml_get(root, "audit"), *v;
	struct hm_tpl_audit *a = &c->t->audit;
	const char *s;
	int r;

	if (!m) {
		a->fail_on = strdup("high");
		return a->fail_on ? 0 : hm_error_nomem(c->err);
	}
	r = hm_yaml_check_keys(c->doc, m, "'audit'", keys, c->err);
	if (r < 0)
		return r;
	v = hm_yaml_get(m, "fail_on");
	if (v) {
		if ((r = get_string(c, v, "'fail_on'", 16, &s)) < 0)
			return r;
		if (hm_severity_from_name(s) < 0)
			return ERR(c, v, "'fail_on' must be info, low, medium, high or critical, not '%.16s'", s);
	} else {
		s = "high";
	}
	if (!(a->fail_on = strdup(s)))
		return hm_error_nomem(c->err);
	return hm_audit_exceptions_parse(c->doc, hm_yaml_get(m, "exceptions"),
					 &a->exceptions, c->err);
}

/* Runtime: what a running instance may do */

static const char *const runtime_option_list =
	"ro, rw, nosuid, nodev, noexec, noatime, relatime, strictatime, nodiratime, nosymfollow, sync, dirsync, lazytime";

static bool same_opt(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* A listener is one socket address: proto, port and address. */
static int parse_listen(struct ctx *c, const struct hm_yaml_node *l,
			struct hm_runtime_spec *s)
{
	static const char *const keys[] = { "proto", "port", "addr", "exe", NULL };
	static const char *const what = "'runtime.listen'";
	size_t i, k, n;
	int r;

	r = get_seq(c, l, what, &n);
	if (r < 0 || !n)
		return r;
	if (!(s->listen = calloc(n, sizeof(*s->listen))))
		return hm_error_nomem(c->err);
	for (i = 0; i < n; i++) {
		const struct hm_yaml_node *m = l->items[i], *v;
		struct hm_runtime_listen *x = &s->listen[s->n_listen++];
		char canon[46];
		const char *str;
		uint64_t port;

		if ((r = get_item(c, m, what, keys)) < 0 ||
		    (r = require(c, m, "proto", "a listener", &v)) < 0 ||
		    (r = get_string(c, v, "'proto'", 8, &str)) < 0)
			return r;
		if (strcmp(str, "tcp") && strcmp(str, "udp"))
			return ERR(c, v, "'proto' must be tcp or udp, not '%s'", str);
		memcpy(x->proto, str, 4);
		if ((r = require(c, m, "port", "a listener", &v)) < 0)
			return r;
		if (v->kind != HM_YAML_SCALAR || !v->plain ||
		    hm_yaml_uint(c->doc, v, "'port'", 65535, &port, c->err) < 0 ||
		    port == 0)
			return ERR(c, v, "'port' must be a number from 1 to 65535, not '%.32s'",
				   v->kind == HM_YAML_SCALAR ? v->str : hm_yaml_what(v));
		x->port = (uint16_t)port;
		if ((v = hm_yaml_get(m, "addr"))) {
			if ((r = get_string(c, v, "'addr'", 64, &str)) < 0)
				return r;
			if (hm_runtime_addr_canonical(str, canon) < 0)
				return ERR(c, v, "'addr' must be a numeric IPv4 or IPv6 address, not '%s'",
					   str);
			if ((r = dup_into(c, canon, &x->addr)) < 0)
				return r;
		}
		if ((v = hm_yaml_get(m, "exe")) &&
		    (r = get_path(c, v, "'exe'", false, &x->exe)) < 0)
			return r;
		for (k = 0; k < i; k++) {
			const struct hm_runtime_listen *y = &s->listen[k];

			if (!strcmp(y->proto, x->proto) && y->port == x->port &&
			    same_opt(y->addr, x->addr))
				return ERR(c, m, "listener %s port %u%s%s is already declared at line %lu col %lu",
					   x->proto, (unsigned)x->port,
					   x->addr ? " addr " : "", x->addr ? x->addr : "",
					   l->items[k]->line, l->items[k]->col);
		}
	}
	return 0;
}

static int check_process(struct ctx *c, const struct hm_yaml_node *n,
			 const char *what)
{
	if (n->str[0] != '/')
		return ERR(c, n, "%s '%.200s' must be an absolute path or glob", what,
			   n->str);
	return check_glob(c, n, what);
}

static int parse_processes(struct ctx *c, const struct hm_yaml_node *l,
			   struct hm_runtime_spec *s)
{
	size_t i, k;
	int r;

	r = get_strv(c, l, "'runtime.processes'", check_process, &s->processes,
		     &s->n_processes);
	if (r < 0)
		return r;
	s->processes_listed = true;
	for (i = 1; i < s->n_processes; i++)
		for (k = 0; k < i; k++)
			if (!strcmp(s->processes[i], s->processes[k]))
				return ERR(c, l->items[i], "process '%.200s' is already declared at line %lu col %lu",
					   s->processes[i], l->items[k]->line,
					   l->items[k]->col);
	return 0;
}

static int parse_mount_options(struct ctx *c, const struct hm_yaml_node *l,
			       struct hm_runtime_mount *x)
{
	static const char *const groups[][4] = {
		{ "ro", "rw", NULL }, { "noatime", "relatime", "strictatime", NULL },
	};
	size_t i, k, g, n;
	int r;

	r = get_seq(c, l, "'options'", &n);
	if (r < 0 || !n)
		return r;
	if (!(x->options = calloc(n, sizeof(*x->options))))
		return hm_error_nomem(c->err);
	for (i = 0; i < n; i++) {
		const struct hm_yaml_node *v = l->items[i];
		const char *str;

		if ((r = get_string(c, v, "a mount option", 32, &str)) < 0)
			return r;
		if (!hm_runtime_mount_option_valid(str))
			return ERR(c, v, "unknown mount option '%s' (one of %s)", str,
				   runtime_option_list);
		for (k = 0; k < x->n_options; k++) {
			if (!strcmp(x->options[k], str))
				return ERR(c, v, "mount option '%s' is listed twice", str);
			/* Options of one group exclude each other. */
			for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
				bool a = false, b = false;

				for (const char *const *o = groups[g]; *o; o++) {
					a |= !strcmp(*o, str);
					b |= !strcmp(*o, x->options[k]);
				}
				if (a && b)
					return ERR(c, v, "mount option '%s' contradicts '%s'",
						   str, x->options[k]);
			}
		}
		if ((r = dup_into(c, str, &x->options[x->n_options])) < 0)
			return r;
		x->n_options++;
	}
	return 0;
}

static int parse_mounts(struct ctx *c, const struct hm_yaml_node *l,
			struct hm_runtime_spec *s)
{
	static const char *const keys[] = { "path", "options", NULL };
	static const char *const what = "'runtime.mounts'";
	size_t i, k, n;
	int r;

	r = get_seq(c, l, what, &n);
	if (r < 0 || !n)
		return r;
	if (!(s->mounts = calloc(n, sizeof(*s->mounts))))
		return hm_error_nomem(c->err);
	for (i = 0; i < n; i++) {
		const struct hm_yaml_node *m = l->items[i], *v;
		struct hm_runtime_mount *x = &s->mounts[s->n_mounts++];

		if ((r = get_item(c, m, what, keys)) < 0 ||
		    (r = require(c, m, "path", "a mount", &v)) < 0 ||
		    (r = get_path(c, v, "'path'", true, &x->path)) < 0)
			return r;
		for (k = 0; k < i; k++)
			if (!strcmp(s->mounts[k].path, x->path))
				return ERR(c, v, "mount '%s' is already declared at line %lu col %lu",
					   x->path, l->items[k]->line, l->items[k]->col);
		if ((v = hm_yaml_get(m, "options")) &&
		    (r = parse_mount_options(c, v, x)) < 0)
			return r;
	}
	return 0;
}

static int parse_runtime(struct ctx *c, const struct hm_yaml_node *root)
{
	static const char *const keys[] = { "listen", "processes", "mounts", NULL };
	const struct hm_yaml_node *m = hm_yaml_get(root, "runtime"), *v;
	struct hm_runtime_spec *s;
	int r;

	if (!m)
		return 0;
	if (!(s = c->t->runtime = calloc(1, sizeof(*s))))
		return hm_error_nomem(c->err);
	/* "runtime:" alone: a baseline that allows no listener and no
	 * mount, with the image's sysctl settings. */
	if (hm_yaml_is_null(m))
		return 0;
	if (m->kind != HM_YAML_MAPPING)
		return ERR(c, m, "'runtime' must be a mapping, not %s", hm_yaml_what(m));
	if ((r = hm_yaml_check_keys(c->doc, m, "'runtime'", keys, c->err)) < 0)
		return r;
	if ((v = hm_yaml_get(m, "listen")) && (r = parse_listen(c, v, s)) < 0)
		return r;
	if ((v = hm_yaml_get(m, "processes")) && (r = parse_processes(c, v, s)) < 0)
		return r;
	if ((v = hm_yaml_get(m, "mounts")) && (r = parse_mounts(c, v, s)) < 0)
		return r;
	/* Repeats were refused above with their line; this only sorts. */
	return hm_runtime_spec_sort(s, c->err);
}

static int parse_root(struct ctx *c)
{
	static const char *const keys[] = {
		"hallmark", "name", "serial", "expires_days", "description",
		"base", "remove", "directories", "files", "symlinks", "groups",
		"users", "permissions", "config", "outputs", "layer_compression",
		"disk", "harden", "audit", "runtime", NULL
	};
	const struct hm_yaml_node *root = c->doc->root;
	struct claim *claims = NULL;
	size_t n_claims = 0, cap = 0;
	int r;

	const struct hm_yaml_node *v;
	uint64_t u;

	if (root->kind != HM_YAML_MAPPING)
		return ERR(c, root, "a template must be a mapping, not %s",
			   hm_yaml_what(root));
	/* The version first: a newer format's keys are not "unknown". */
	v = hm_yaml_get(root, "hallmark");
	if (!v)
		return ERR(c, root, "a template must start with 'hallmark: 1' (the template format version)");
	r = hm_yaml_uint(c->doc, v, "'hallmark'", UINT64_MAX, &u, c->err);
	if (r < 0)
		return r;
	if (u != 1)
		return ERR(c, v, "unsupported template format %llu (this hallmark reads 'hallmark: 1')",
			   (unsigned long long)u);
	r = hm_yaml_check_keys(c->doc, root, "a template", keys, c->err);
	if (r >= 0)
		r = parse_header(c, root);
	if (r >= 0)
		r = parse_base(c, root);
	if (r >= 0)
		r = parse_remove(c, root);
	if (r >= 0)
		r = parse_dirs(c, root, &claims, &n_claims, &cap);
	if (r >= 0)
		r = parse_files(c, root, &claims, &n_claims, &cap);
	if (r >= 0)
		r = parse_symlinks(c, root, &claims, &n_claims, &cap);
	if (r >= 0)
		r = check_claims(c, claims, n_claims);
	if (r >= 0)
		r = parse_groups(c, root);
	if (r >= 0)
		r = parse_users(c, root);
	if (r >= 0)
		r = parse_perms(c, root);
	if (r >= 0)
		r = parse_config(c, root);
	if (r >= 0)
		r = parse_outputs(c, root);
	if (r >= 0)
		r = parse_layer_compression(c, root);
	if (r >= 0)
		r = parse_disk(c, root);
	if (r >= 0)
		r = parse_harden(c, root);
	if (r >= 0)
		r = parse_audit(c, root);
	if (r >= 0)
		r = parse_runtime(c, root);
	free(claims);
	return r;
}

int hm_template_load(const char *path, struct hm_template **ret,
		     struct hm_error *err)
{
	struct hm_template *t = NULL;
	struct hm_yaml_doc *doc = NULL;
	unsigned char md[32];
	char *data = NULL, *copy = NULL, *slash;
	size_t len = 0;
	struct ctx c;
	int r;

	if (!path || !ret)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "hm_template_load: bad arguments");
	/* One read: the digest is of exactly the bytes that were parsed. */
	r = hm_read_file(path, HM_LIMIT_YAML_BYTES, &data, &len, err);
	if (r < 0)
		goto out;
	t = calloc(1, sizeof(*t));
	/* Room for "." when path has no '/'. */
	copy = malloc(strlen(path) + 2);
	if (!t || !copy || !(t->path = strdup(path))) {
		r = hm_error_nomem(err);
		goto out;
	}
	r = hm_hash_buf(HM_HASH_SHA256, data, len, md);
	if (r < 0) {
		r = hm_error_set(err, HM_ERR_IO, 0, "cannot hash '%s'", path);
		goto out;
	}
	hm_hex_encode(md, sizeof(md), t->sha256);
	memcpy(copy, path, strlen(path) + 1);
	slash = strrchr(copy, '/');
	if (!slash)
		memcpy(copy, ".", 2);
	else if (slash == copy)
		copy[1] = '\0';
	else
		*slash = '\0';
	t->dir = realpath(copy, NULL);
	if (!t->dir) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot resolve '%s'", copy);
		goto out;
	}
	r = hm_yaml_parse(data, len, path, &doc, err);
	if (r < 0)
		goto out;
	c = (struct ctx){ doc, t, err };
	r = parse_root(&c);
	if (r < 0)
		goto out;
	*ret = t;
	t = NULL;
	r = 0;
out:
	hm_yaml_free(doc);
	hm_template_free(t);
	free(copy);
	free(data);
	return r;
}
