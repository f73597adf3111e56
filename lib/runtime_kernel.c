/*
 * The kernel's side of the running instance: loaded modules (and the
 * taint flags), the effective kernel settings the image's sysctl
 * configuration sets, and the mounts of the scope.
 *
 * /proc/sys/net shows the network namespace of the process that opens
 * it, so for runtime:PID the settings are read by a forked child that
 * first enters PID's network namespace (setns), and hands the values
 * back through a pipe: hallmark itself never changes namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hallmark/fsutil.h"
#include "runtime_private.h"

#define MODULES_MAX (16u << 20)
#define MOUNTINFO_MAX (64u << 20)
#define SYSCTL_VALUE_MAX 4096

/* ---- modules ---------------------------------------------------------- */

int hm_module_name(const char *base, char *out, size_t n)
{
	static const char *const sfx[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
	size_t len = strlen(base), i, k;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t sl = strlen(sfx[i]);

		if (len > sl && strcmp(base + len - sl, sfx[i]) == 0 && len - sl < n) {
			for (k = 0; k < len - sl; k++)
				out[k] = base[k] == '-' ? '_' : base[k];
			out[k] = '\0';
			return 0;
		}
	}
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool under_modules(const char *path)
{
	return strncmp(path, "/lib/modules/", 13) == 0 ||
	       strncmp(path, "/usr/lib/modules/", 17) == 0;
}

/* "P O E" for the bits of /proc/sys/kernel/tainted (kernel/panic.c). */
static void taint_letters(unsigned long long v, char *out, size_t n)
{
	static const char letters[] = "PFSRMBUDAWCIOELKXTN";
	size_t i, k = 0;

	for (i = 0; i < sizeof(letters) - 1 && k + 3 < n; i++)
		if (v & (1ULL << i)) {
			if (k)
				out[k++] = ' ';
			out[k++] = letters[i];
		}
	out[k] = '\0';
}

int rt_check_modules(struct rt_ctx *c, struct hm_error *err)
{
	char **names = NULL, *data = NULL, *line, *save = NULL, buf[256];
	size_t n = 0, cap = 0, i, count = rt_image_count(c->img);
	unsigned long long taint = 0;
	int r = 0;

	for (i = 0; i < count; i++) {
		const struct hm_entry *e = rt_image_at(c->img, i);
		const char *base = strrchr(e->path, '/') + 1;

		if (e->type != HM_TYPE_FILE || !under_modules(e->path) ||
		    hm_module_name(base, buf, sizeof(buf)) < 0)
			continue;
		if (n == cap) {
			char **q = realloc(names, (cap = cap ? cap * 2 : 256) * sizeof(*q));

			if (!q)
				goto nomem;
			names = q;
		}
		if (!(names[n] = strdup(buf)))
			goto nomem;
		n++;
	}
	/* A container's image ships no modules: those loaded are the host's,
	 * not the image's to answer for.  Said in the report, not flagged. */
	if (n == 0 && c->opt->pid) {
		c->rstats->modules_skipped = true;
		goto out;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	r = rt_read_at(c->proc_fd, "modules", MODULES_MAX, &data, NULL);
	if (r < 0) {
		r = r == -ENOENT ? 0 :        /* a kernel without modules */
		    rt_finding(c, HM_FINDING_NOT_INSPECTED, "modules", NULL, NULL,
			       "kernel modules not inspected: cannot read /proc/modules", err);
		goto taint;
	}
	for (line = strtok_r(data, "\n", &save); line && r >= 0;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[128], path[160], *key = name, *flags;

		if (sscanf(line, "%127s", name) != 1)
			continue;
		c->rstats->modules++;
		if (n && bsearch(&key, names, n, sizeof(*names), cmp_str))
			continue;
		flags = strchr(line, '(');
		snprintf(path, sizeof(path), "module:%s", name);
		r = rt_finding(c, HM_FINDING_MODULE_UNKNOWN, path, "a module file in the "
			       "manifest", "loaded", flags ? flags : NULL, err);
	}
taint:
	free(data);
	data = NULL;
	if (r >= 0 && rt_read_at(c->proc_fd, "sys/kernel/tainted", 64, &data, NULL) == 0 &&
	    sscanf(data, "%llu", &taint) == 1 && taint) {
		char letters[64], actual[96];

		taint_letters(taint, letters, sizeof(letters));
		snprintf(actual, sizeof(actual), "%llu (%s)", taint, letters);
		r = rt_finding(c, HM_FINDING_KERNEL_TAINTED, "kernel", "0", actual,
			       "taint flags of /proc/sys/kernel/tainted", err);
	}
	goto out;
nomem:
	r = hm_error_nomem(err);
out:
	free(data);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r < 0 ? r : 0;
}

/* ---- kernel settings -------------------------------------------------- */

/* "net.ipv4.ip_forward" -> "sys/net/ipv4/ip_forward" (dots and slashes
 * swap, as sysctl(8) does, so "net.ipv4.conf.eth0/1.rp_filter" works). */
static void sysctl_file(const char *key, char *out, size_t n)
{
	size_t k = (size_t)snprintf(out, n, "sys/"), i;

	for (i = 0; key[i] && k + 1 < n; i++)
		out[k++] = key[i] == '.' ? '/' : key[i] == '/' ? '.' : key[i];
	out[k] = '\0';
}

/* Blanks made one space, none at either end: as the spec records values. */
static void squeeze(char *s)
{
	char *w = s, *r;
	bool blank = false;

	for (r = s; *r; r++) {
		if (*r == ' ' || *r == '\t' || *r == '\n') {
			blank = w != s;
			continue;
		}
		if (blank)
			*w++ = ' ';
		blank = false;
		*w++ = *r;
	}
	*w = '\0';
}

/* One value per key, "=VALUE\n" or "!ERRNO\n", appended to out. */
static int read_settings(int proc_fd, const struct hm_runtime_spec *spec,
			 struct hm_buf *out)
{
	size_t i;

	for (i = 0; i < spec->n_sysctl; i++) {
		char file[512], *v = NULL;
		int r;

		sysctl_file(spec->sysctl[i].key, file, sizeof(file));
		r = rt_read_at(proc_fd, file, SYSCTL_VALUE_MAX, &v, NULL);
		if (r < 0) {
			r = hm_buf_addf(out, "!%d\n", -r);
		} else {
			squeeze(v);     /* a value holds no newline once squeezed */
			r = hm_buf_addf(out, "=%s\n", v);
		}
		free(v);
		if (r < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * The values, read in the scope's network namespace: "=V\n"/"!E\n" lines,
 * or "#ERRNO\n" if it could not be entered.  This host's are read here;
 * another namespace's by a child that enters it, so hallmark itself never
 * changes namespace.
 */
static int settings_of(struct rt_ctx *c, struct hm_buf *b, struct hm_error *err)
{
	char ns[64];
	int p[2], nsfd, status, e = 0;
	pid_t child;

	if (!c->opt->pid)
		return read_settings(c->proc_fd, c->spec, b) < 0 ? hm_error_nomem(err) : 0;
	snprintf(ns, sizeof(ns), "%s/ns/net", c->scope);
	nsfd = openat(c->proc_fd, ns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return hm_buf_addf(b, "#%d\n", errno) < 0 ? hm_error_nomem(err) : 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		e = errno;
		close(nsfd);
		return hm_error_set(err, HM_ERR_IO, e, "cannot make a pipe");
	}
	child = fork();
	if (child == 0) {
		struct hm_buf out = HM_BUF_INIT;

		close(p[0]);
		if (setns(nsfd, CLONE_NEWNET) < 0)
			hm_buf_addf(&out, "#%d\n", errno);
		else
			read_settings(c->proc_fd, c->spec, &out);
		_exit(out.len && hm_write_all(p[1], out.data, out.len) < 0);
	}
	e = errno;
	close(nsfd);
	close(p[1]);
	if (child < 0) {
		close(p[0]);
		return hm_error_set(err, HM_ERR_IO, e, "cannot fork");
	}
	for (e = 0;;) {
		ssize_t n;

		if (hm_buf_grow(b, 4096) < 0) {
			e = ENOMEM;
			break;
		}
		n = read(p[0], b->data + b->len, 4096);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		b->len += (size_t)n;
	}
	close(p[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return e ? hm_error_nomem(err) : 0;
}

int rt_check_sysctl(struct rt_ctx *c, struct hm_error *err)
{
	struct hm_buf b = HM_BUF_INIT;
	char *data, *line, *save = NULL;
	size_t i;
	int r;

	if (!c->spec->n_sysctl)
		return 0;
	if ((r = settings_of(c, &b, err)) < 0 || (r = hm_buf_addc(&b, '\0')) < 0) {
		hm_buf_free(&b);
		return r < 0 && err->code ? r : hm_error_nomem(err);
	}
	data = b.data;
	if (data[0] == '#') {
		int e = atoi(data + 1);
		char detail[200];

		snprintf(detail, sizeof(detail), "kernel settings not inspected: cannot "
			 "enter the network namespace of pid %ld: %s", (long)c->opt->pid,
			 strerror(e));
		hm_buf_free(&b);
		return rt_finding(c, HM_FINDING_NOT_INSPECTED, "/proc/sys", NULL, NULL,
				  detail, err);
	}
	line = strtok_r(data, "\n", &save);
	for (i = 0, r = 0; i < c->spec->n_sysctl && r >= 0; i++) {
		const struct hm_runtime_sysctl *s = &c->spec->sysctl[i];
		char file[512], path[520], actual[80];
		const char *got = actual;

		sysctl_file(s->key, file, sizeof(file));
		snprintf(path, sizeof(path), "/proc/%s", file);
		if (!line) {
			snprintf(actual, sizeof(actual), "not read");
		} else if (line[0] == '=') {
			got = line + 1;
		} else {
			int e = atoi(line + 1);

			snprintf(actual, sizeof(actual), "%s", e == ENOENT ?
				 "no such setting in this kernel" : strerror(e));
			if (e == EACCES || e == EPERM) {
				r = rt_finding(c, HM_FINDING_NOT_INSPECTED, path, s->value,
					       NULL, actual, err);
				line = strtok_r(NULL, "\n", &save);
				continue;
			}
		}
		c->rstats->sysctls++;
		if (got != actual && strcmp(got, s->value) == 0) {
			line = strtok_r(NULL, "\n", &save);
			continue;
		}
		r = rt_finding(c, HM_FINDING_SYSCTL, path, s->value, got, s->key, err);
		line = strtok_r(NULL, "\n", &save);
	}
	free(data);
	return r < 0 ? r : 0;
}

/* ---- mounts ----------------------------------------------------------- */

/* mountinfo escapes space, tab, newline and '\' as \ooo. */
static char *unescape_octal(const char *s, size_t len)
{
	char *out = malloc(len + 1), *w = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 3 < len + 1 && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			*w++ = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			*w++ = s[i];
		}
	}
	*w = '\0';
	return out;
}

void hm_proc_mount_clear(struct hm_proc_mount *m)
{
	free(m->point);
	free(m->options);
	free(m->fstype);
	memset(m, 0, sizeof(*m));
}

int hm_proc_parse_mountinfo(const char *line, struct hm_proc_mount *ret)
{
	const char *f[6], *p = line, *sep, *fs, *src, *super;
	size_t lens[6];
	int i;

	memset(ret, 0, sizeof(*ret));
	/* id parent maj:min root point options [optional...] - fstype src super */
	for (i = 0; i < 6; i++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -1;
		f[i] = p;
		while (*p && *p != ' ')
			p++;
		lens[i] = (size_t)(p - f[i]);
	}
	sep = strstr(p, " - ");
	if (!sep)
		return -1;
	fs = sep + 3;
	src = strchr(fs, ' ');
	if (!src)
		return -1;
	super = strchr(src + 1, ' ');
	if (!super)
		return -1;
	super++;
	ret->point = unescape_octal(f[4], lens[4]);
	ret->fstype = strndup(fs, (size_t)(src - fs));
	ret->options = malloc(lens[5] + strlen(super) + 2);
	if (!ret->point || !ret->fstype || !ret->options) {
		hm_proc_mount_clear(ret);
		return -1;
	}
	sprintf(ret->options, "%.*s,%s", (int)lens[5], f[5], super);
	return 0;
}

static bool has_option(const char *opts, const char *o)
{
	size_t n = strlen(o);
	const char *p = opts;

	/* The per-mount options come first: their "ro"/"rw" is the one that
	 * holds for the mount (a read-only bind of a rw file system). */
	if (strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0)
		return strncmp(opts, o, 2) == 0 && (opts[2] == ',' || !opts[2]);
	while ((p = strstr(p, o))) {
		if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

int rt_check_mounts(struct rt_ctx *c, struct hm_error *err)
{
	struct hm_proc_mount *m = NULL;
	char name[48], *data, *line, *save = NULL;
	size_t n = 0, i, k;
	int r;

	snprintf(name, sizeof(name), "%s/mountinfo", c->scope);
	r = rt_read_at(c->proc_fd, name, MOUNTINFO_MAX, &data, NULL);
	if (r < 0)
		return rt_finding(c, HM_FINDING_NOT_INSPECTED, "mounts", NULL, NULL,
				  "mounts not inspected: cannot read mountinfo", err);
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct hm_proc_mount *q = realloc(m, (n + 1) * sizeof(*m));

		if (!q) {
			r = hm_error_nomem(err);
			goto out;
		}
		m = q;
		if (hm_proc_parse_mountinfo(line, &m[n]) == 0)
			n++;
	}
	c->rstats->mounts = n;
	r = 0;
	for (i = 0; i < c->spec->n_mounts && r >= 0; i++) {
		const struct hm_runtime_mount *d = &c->spec->mounts[i];
		const struct hm_proc_mount *top = NULL;
		struct hm_buf miss = HM_BUF_INIT;

		/* The last mount at a point is the one on top. */
		for (k = 0; k < n; k++)
			if (strcmp(m[k].point, d->path) == 0)
				top = &m[k];
		if (!top) {
			r = rt_finding(c, HM_FINDING_MOUNT_OPTIONS, d->path, "a mount point",
				       "not a mount point", NULL, err);
			continue;
		}
		for (k = 0; k < d->n_options; k++)
			if (!has_option(top->options, d->options[k]) &&
			    hm_buf_addf(&miss, "%s%s", miss.len ? "," : "", d->options[k]) < 0) {
				r = hm_error_nomem(err);
				break;
			}
		if (r >= 0 && miss.len)
			r = rt_finding(c, HM_FINDING_MOUNT_OPTIONS, d->path, miss.data,
				       top->options, top->fstype, err);
		hm_buf_free(&miss);
	}
	/* A mount over a path of the image hides what the manifest has there. */
	for (i = 0; i < n && r >= 0; i++) {
		bool declared = false, later = false;

		if (strcmp(m[i].point, "/") == 0 ||
		    !hm_runtime_image_find(c->img, m[i].point, strlen(m[i].point)))
			continue;
		for (k = i + 1; k < n && !later; k++)
			later = strcmp(m[k].point, m[i].point) == 0;
		for (k = 0; k < c->spec->n_mounts && !declared; k++)
			declared = strcmp(c->spec->mounts[k].path, m[i].point) == 0;
		if (later || declared)
			continue;
		r = rt_finding(c, HM_FINDING_MOUNT_UNDECLARED, m[i].point, NULL,
			       m[i].fstype, m[i].options, err);
	}
out:
	for (i = 0; i < n; i++)
		hm_proc_mount_clear(&m[i]);
	free(m);
	free(data);
	return r < 0 ? r : 0;
}
