/*
 * The runtime spec (hallmark/runtime_spec.h): its lifetime, its canonical
 * order and the checks that the manifest writer and reader share, so that
 * whatever the writer produces the reader accepts, and nothing else.
 * Parsing lives with the template (builder/template.c), the text form
 * with the manifest (lib/manifest.c).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/limits.h"
#include "hallmark/policy.h"
#include "hallmark/runtime_spec.h"

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void hm_runtime_spec_free(struct hm_runtime_spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_listen; i++) {
		free(s->listen[i].addr);
		free(s->listen[i].exe);
	}
	free(s->listen);
	strv_free(s->processes, s->n_processes);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].path);
		strv_free(s->mounts[i].options, s->mounts[i].n_options);
	}
	free(s->mounts);
	for (size_t i = 0; i < s->n_sysctl; i++) {
		free(s->sysctl[i].key);
		free(s->sysctl[i].value);
	}
	free(s->sysctl);
	free(s);
}

/* Sorted: the reader and the template parser check against this list. */
static const char *const mount_options[] = {
	"dirsync", "lazytime", "nodev", "nodiratime", "noatime", "noexec",
	"nosuid", "nosymfollow", "relatime", "ro", "rw", "strictatime", "sync",
};

bool hm_runtime_mount_option_valid(const char *opt)
{
	for (size_t i = 0; i < sizeof(mount_options) / sizeof(mount_options[0]); i++)
		if (!strcmp(opt, mount_options[i]))
			return true;
	return false;
}

int hm_runtime_addr_canonical(const char *text, char out[46])
{
	unsigned char bin[16];

	if (strchr(text, ':')) {
		if (inet_pton(AF_INET6, text, bin) != 1 ||
		    !inet_ntop(AF_INET6, bin, out, 46))
			return -1;
	} else if (inet_pton(AF_INET, text, bin) != 1 ||
		   !inet_ntop(AF_INET, bin, out, 46)) {
		return -1;
	}
	return 0;
}

bool hm_runtime_sysctl_key_valid(const char *key, size_t len)
{
	if (len == 0 || key[0] == '-' || key[0] == '.' || key[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];

		if (c < 0x21 || c > 0x7e || c == '*' || c == '?' || c == '[' ||
		    c == '=' || c == '\\' || (c == '.' && key[i + 1] == '.'))
			return false;
	}
	return true;
}

/* An absolute canonical path: no empty, "." or ".." component, no
 * trailing '/', printable or not (escaping takes care of the bytes). */
static bool path_ok(const char *p)
{
	size_t len = strlen(p), start = 1;

	if (len == 0 || p[0] != '/')
		return false;
	if (len == 1)
		return true;
	if (p[len - 1] == '/')
		return false;
	for (size_t i = 1; i <= len; i++) {
		size_t n;

		if (i < len && p[i] != '/')
			continue;
		n = i - start;
		if (n == 0 || (n == 1 && p[start] == '.') ||
		    (n == 2 && p[start] == '.' && p[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

/* NULL (absent) sorts before any string. */
static int opt_cmp(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int listen_cmp(const void *x, const void *y)
{
	const struct hm_runtime_listen *a = x, *b = y;
	int c = strcmp(a->proto, b->proto);

	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	c = opt_cmp(a->addr, b->addr);
	return c ? c : opt_cmp(a->exe, b->exe);
}

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int mount_cmp(const void *x, const void *y)
{
	return strcmp(((const struct hm_runtime_mount *)x)->path,
		      ((const struct hm_runtime_mount *)y)->path);
}

static int sysctl_cmp(const void *x, const void *y)
{
	return strcmp(((const struct hm_runtime_sysctl *)x)->key,
		      ((const struct hm_runtime_sysctl *)y)->key);
}

static void listen_text(const struct hm_runtime_listen *l, char *out, size_t n)
{
	snprintf(out, n, "%s %u %s %s", l->proto, (unsigned)l->port,
		 l->addr ? l->addr : "*", l->exe ? l->exe : "*");
}

int hm_runtime_spec_sort(struct hm_runtime_spec *s, struct hm_error *err)
{
	char text[512];
	size_t i;

	if (s->n_listen > 1)
		qsort(s->listen, s->n_listen, sizeof(*s->listen), listen_cmp);
	if (s->n_processes > 1)
		qsort(s->processes, s->n_processes, sizeof(*s->processes), str_cmp);
	if (s->n_mounts > 1)
		qsort(s->mounts, s->n_mounts, sizeof(*s->mounts), mount_cmp);
	for (i = 0; i < s->n_mounts; i++)
		if (s->mounts[i].n_options > 1)
			qsort(s->mounts[i].options, s->mounts[i].n_options,
			      sizeof(char *), str_cmp);
	if (s->n_sysctl > 1)
		qsort(s->sysctl, s->n_sysctl, sizeof(*s->sysctl), sysctl_cmp);

	for (i = 1; i < s->n_listen; i++)
		if (!listen_cmp(&s->listen[i - 1], &s->listen[i])) {
			listen_text(&s->listen[i], text, sizeof(text));
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "listener '%s' is declared twice", text);
		}
	for (i = 1; i < s->n_processes; i++)
		if (!strcmp(s->processes[i - 1], s->processes[i]))
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "process '%.200s' is declared twice",
					    s->processes[i]);
	for (i = 0; i < s->n_mounts; i++) {
		const struct hm_runtime_mount *m = &s->mounts[i];

		if (i && !strcmp(s->mounts[i - 1].path, m->path))
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "mount '%.200s' is declared twice", m->path);
		for (size_t k = 1; k < m->n_options; k++)
			if (!strcmp(m->options[k - 1], m->options[k]))
				return hm_error_set(err, HM_ERR_INPUT, 0,
						    "mount '%.200s': option '%s' is listed twice",
						    m->path, m->options[k]);
	}
	for (i = 1; i < s->n_sysctl; i++)
		if (!strcmp(s->sysctl[i - 1].key, s->sysctl[i].key))
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "sysctl key '%.200s' is set twice",
					    s->sysctl[i].key);
	return 0;
}

size_t hm_runtime_spec_lines(const struct hm_runtime_spec *s)
{
	return s->n_listen + (s->processes_listed ? 1 + s->n_processes : 0) +
	       s->n_mounts + s->n_sysctl;
}

static bool has(const struct hm_runtime_mount *m, const char *opt)
{
	for (size_t i = 0; i < m->n_options; i++)
		if (!strcmp(m->options[i], opt))
			return true;
	return false;
}

/* ro with rw, or two atime policies: a declaration no mount can meet. */
static const char *option_conflict(const struct hm_runtime_mount *m)
{
	int atime = has(m, "noatime") + has(m, "relatime") + has(m, "strictatime");

	if (has(m, "ro") && has(m, "rw"))
		return "'ro' and 'rw' together";
	if (atime > 1)
		return "more than one of 'noatime', 'relatime', 'strictatime'";
	return NULL;
}

int hm_runtime_spec_check(const struct hm_runtime_spec *s, struct hm_error *err)
{
	char canon[46], text[512];
	const char *why;
	size_t i, k;

	if (hm_runtime_spec_lines(s) > HM_LIMIT_RUNTIME_LINES)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "the runtime section has %zu lines, more than HM_LIMIT_RUNTIME_LINES (%u)",
				    hm_runtime_spec_lines(s), HM_LIMIT_RUNTIME_LINES);
	if (!s->processes_listed && s->n_processes)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "runtime processes given but not listed");
	for (i = 0; i < s->n_listen; i++) {
		const struct hm_runtime_listen *l = &s->listen[i];

		if (strcmp(l->proto, "tcp") && strcmp(l->proto, "udp"))
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "listener %zu: protocol must be tcp or udp", i + 1);
		if (l->port == 0)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "listener %zu: port 0", i + 1);
		if (l->addr && (hm_runtime_addr_canonical(l->addr, canon) < 0 ||
				strcmp(canon, l->addr)))
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "listener %zu: '%.64s' is not a numeric address in canonical form",
					    i + 1, l->addr);
		if (l->exe && !path_ok(l->exe))
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "listener %zu: executable '%.200s' is not a canonical absolute path",
					    i + 1, l->exe);
		if (i && listen_cmp(&s->listen[i - 1], l) >= 0) {
			listen_text(l, text, sizeof(text));
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "listener '%s' out of order or repeated", text);
		}
	}
	for (i = 0; i < s->n_processes; i++) {
		const char *p = s->processes[i];
		struct hm_error gerr = { 0 };

		if (p[0] != '/' || hm_glob_check(p, strlen(p), &gerr) < 0)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "process '%.200s' is not an absolute path or glob%s%s",
					    p, gerr.msg[0] ? ": " : "", gerr.msg);
		if (i && strcmp(s->processes[i - 1], p) >= 0)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "process '%.200s' out of order or repeated", p);
	}
	for (i = 0; i < s->n_mounts; i++) {
		const struct hm_runtime_mount *m = &s->mounts[i];

		if (!path_ok(m->path))
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "mount '%.200s' is not a canonical absolute path",
					    m->path);
		if (i && strcmp(s->mounts[i - 1].path, m->path) >= 0)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "mount '%.200s' out of order or repeated", m->path);
		for (k = 0; k < m->n_options; k++) {
			if (!hm_runtime_mount_option_valid(m->options[k]))
				return hm_error_set(err, HM_ERR_INPUT, 0,
						    "mount '%.200s': unknown option '%.64s'",
						    m->path, m->options[k]);
			if (k && strcmp(m->options[k - 1], m->options[k]) >= 0)
				return hm_error_set(err, HM_ERR_INPUT, 0,
						    "mount '%.200s': options out of order or repeated at '%s'",
						    m->path, m->options[k]);
		}
		if ((why = option_conflict(m)))
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "mount '%.200s': %s", m->path, why);
	}
	for (i = 0; i < s->n_sysctl; i++) {
		const struct hm_runtime_sysctl *y = &s->sysctl[i];

		if (!hm_runtime_sysctl_key_valid(y->key, strlen(y->key)))
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "'%.200s' is not a sysctl key", y->key);
		if (i && strcmp(s->sysctl[i - 1].key, y->key) >= 0)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "sysctl key '%.200s' out of order or repeated",
					    y->key);
	}
	return 0;
}

static int dup_str(const char *s, char **ret)
{
	if (!s) {
		*ret = NULL;
		return 0;
	}
	*ret = strdup(s);
	return *ret ? 0 : -1;
}

static int dup_strv(char *const *v, size_t n, char ***ret)
{
	*ret = NULL;
	if (!n)
		return 0;
	if (!(*ret = calloc(n, sizeof(char *))))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (dup_str(v[i], &(*ret)[i]) < 0)
			return -1;
	return 0;
}

int hm_runtime_spec_dup(const struct hm_runtime_spec *s,
			struct hm_runtime_spec **ret, struct hm_error *err)
{
	struct hm_runtime_spec *d = calloc(1, sizeof(*d));
	size_t i;

	if (!d)
		return hm_error_nomem(err);
	d->processes_listed = s->processes_listed;
	if (s->n_listen && !(d->listen = calloc(s->n_listen, sizeof(*d->listen))))
		goto nomem;
	for (i = 0; i < s->n_listen; i++, d->n_listen++) {
		memcpy(d->listen[i].proto, s->listen[i].proto, sizeof(d->listen[i].proto));
		d->listen[i].port = s->listen[i].port;
		if (dup_str(s->listen[i].addr, &d->listen[i].addr) < 0 ||
		    dup_str(s->listen[i].exe, &d->listen[i].exe) < 0) {
			d->n_listen++;
			goto nomem;
		}
	}
	if (dup_strv(s->processes, s->n_processes, &d->processes) < 0) {
		d->n_processes = d->processes ? s->n_processes : 0;
		goto nomem;
	}
	d->n_processes = s->n_processes;
	if (s->n_mounts && !(d->mounts = calloc(s->n_mounts, sizeof(*d->mounts))))
		goto nomem;
	for (i = 0; i < s->n_mounts; i++) {
		struct hm_runtime_mount *m = &d->mounts[d->n_mounts++];

		if (dup_str(s->mounts[i].path, &m->path) < 0)
			goto nomem;
		if (dup_strv(s->mounts[i].options, s->mounts[i].n_options, &m->options) < 0) {
			m->n_options = m->options ? s->mounts[i].n_options : 0;
			goto nomem;
		}
		m->n_options = s->mounts[i].n_options;
	}
	if (s->n_sysctl && !(d->sysctl = calloc(s->n_sysctl, sizeof(*d->sysctl))))
		goto nomem;
	for (i = 0; i < s->n_sysctl; i++) {
		struct hm_runtime_sysctl *y = &d->sysctl[d->n_sysctl++];

		if (dup_str(s->sysctl[i].key, &y->key) < 0 ||
		    dup_str(s->sysctl[i].value, &y->value) < 0)
			goto nomem;
	}
	*ret = d;
	return 0;
nomem:
	hm_runtime_spec_free(d);
	return hm_error_nomem(err);
}
