/*
 * `hallmark runtime capture`: today's footprint of a running system (the
 * executables its processes run, its listeners with their owners, its
 * mounts and their options), as a template `runtime:` section for a
 * person to review before it is built into a signed image.  It reads what
 * the check reads, through the same passes, with an empty baseline; the
 * YAML is written by libyaml's emitter.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "hallmark/buf.h"
#include "hallmark/runtime.h"
#include "runtime_private.h"

/* The passes report against an empty baseline; capture keeps no finding. */
static int ignore(void *ctx, const struct hm_finding *f, struct hm_error *err)
{
	(void)ctx;
	(void)f;
	(void)err;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_listen(const void *a, const void *b)
{
	const struct hm_runtime_listen *x = a, *y = b;
	int c = strcmp(x->proto, y->proto);

	if (c)
		return c;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return strcmp(x->addr ? x->addr : "", y->addr ? y->addr : "");
}

static int add_str(char ***v, size_t *n, const char *s)
{
	size_t i;
	char **q;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return 0;
	q = realloc(*v, (*n + 1) * sizeof(*q));
	if (!q)
		return -1;
	*v = q;
	if (!(q[*n] = strdup(s)))
		return -1;
	(*n)++;
	return 0;
}

/* The listeners of the scope, with their owners (c->procs is filled). */
static int capture_listeners(struct rt_ctx *c, struct hm_runtime_spec *s)
{
	static const struct { const char *file, *proto; bool v6; } files[] = {
		{ "tcp", "tcp", false }, { "tcp6", "tcp", true },
		{ "udp", "udp", false }, { "udp6", "udp", true },
	};
	size_t f, i, k;

	for (f = 0; f < 4; f++) {
		char name[64], *data, *line, *save = NULL;

		snprintf(name, sizeof(name), "%s/net/%s", c->scope, files[f].file);
		if (rt_read_at(c->proc_fd, name, 64u << 20, &data, NULL) < 0)
			continue;
		line = strtok_r(data, "\n", &save);
		while ((line = strtok_r(NULL, "\n", &save))) {
			struct hm_proc_socket ps;
			struct hm_runtime_listen l = { 0 }, *q;
			char sname[96], *a, *end;
			const struct rt_proc *o = NULL;
			bool dup = false;

			if (hm_proc_parse_socket(line, files[f].proto, files[f].v6, &ps) != 1)
				continue;
			for (i = 0; i < c->n_procs && !o; i++)
				for (k = 0; k < c->procs[i].n_sockets && !o; k++)
					if (c->procs[i].sockets[k] == ps.inode)
						o = &c->procs[i];
			/* "tcp/ADDR:PORT" -> the address alone, or none for "any". */
			hm_proc_socket_name(&ps, sname, sizeof(sname));
			a = strchr(sname, '/') + 1;
			end = strrchr(a, ':');
			*end = '\0';
			if (*a == '[') {
				a++;
				a[strlen(a) - 1] = '\0';
			}
			snprintf(l.proto, sizeof(l.proto), "%s", ps.proto);
			l.port = ps.port;
			for (i = 0; i < s->n_listen && !dup; i++)
				dup = strcmp(s->listen[i].proto, l.proto) == 0 &&
				      s->listen[i].port == l.port &&
				      strcmp(s->listen[i].addr ? s->listen[i].addr : "",
					     strcmp(a, "0.0.0.0") && strcmp(a, "::") ? a : "") == 0;
			if (dup)
				continue;
			q = realloc(s->listen, (s->n_listen + 1) * sizeof(*q));
			if (!q)
				goto nomem;
			s->listen = q;
			if ((strcmp(a, "0.0.0.0") && strcmp(a, "::") && !(l.addr = strdup(a))) ||
			    (o && o->exe && !(l.exe = strdup(o->exe)))) {
				free(l.addr);
				goto nomem;
			}
			s->listen[s->n_listen++] = l;
			continue;
nomem:
			free(data);
			return -1;
		}
		free(data);
	}
	if (s->n_listen)
		qsort(s->listen, s->n_listen, sizeof(*s->listen), cmp_listen);
	return 0;
}

static int capture_mounts(struct rt_ctx *c, struct hm_runtime_spec *s)
{
	static const char *const kept[] = { "ro", "nosuid", "nodev", "noexec" };
	char name[48], *data, *line, *save = NULL;

	snprintf(name, sizeof(name), "%s/mountinfo", c->scope);
	if (rt_read_at(c->proc_fd, name, 64u << 20, &data, NULL) < 0)
		return 0;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct hm_proc_mount m;
		struct hm_runtime_mount d = { 0 }, *q;
		size_t i, j;
		int bad = 0;

		if (hm_proc_parse_mountinfo(line, &m) < 0)
			continue;
		/* The per-mount flags that matter; the last mount at a point wins. */
		for (i = 0; i < sizeof(kept) / sizeof(kept[0]) && !bad; i++) {
			char *p = m.options;
			size_t n = strlen(kept[i]);
			bool has = false;

			while ((p = strstr(p, kept[i])) && !has) {
				has = (p == m.options || p[-1] == ',') && (p[n] == ',' || !p[n]);
				p += n;
			}
			if (has)
				bad = add_str(&d.options, &d.n_options, kept[i]);
		}
		for (j = 0; j < s->n_mounts; j++)
			if (strcmp(s->mounts[j].path, m.point) == 0)
				break;
		if (j < s->n_mounts) {
			for (i = 0; i < s->mounts[j].n_options; i++)
				free(s->mounts[j].options[i]);
			free(s->mounts[j].options);
			free(s->mounts[j].path);
			s->mounts[j] = s->mounts[--s->n_mounts];
		}
		q = bad ? NULL : realloc(s->mounts, (s->n_mounts + 1) * sizeof(*q));
		d.path = q ? m.point : NULL;
		m.point = NULL;
		hm_proc_mount_clear(&m);
		if (!q || !d.path) {
			for (i = 0; i < d.n_options; i++)
				free(d.options[i]);
			free(d.options);
			free(d.path);
			free(data);
			return -1;
		}
		if (d.n_options)
			qsort(d.options, d.n_options, sizeof(char *), cmp_str);
		s->mounts = q;
		s->mounts[s->n_mounts++] = d;
	}
	free(data);
	return 0;
}

static int cmp_mount(const void *a, const void *b)
{
	const struct hm_runtime_mount *x = a, *y = b;

	return strcmp(x->path, y->path);
}

int hm_runtime_capture(const struct hm_runtime_options *opt,
		       struct hm_runtime_spec **ret, struct hm_error *err)
{
	struct hm_runtime_spec empty = { 0 }, *s = calloc(1, sizeof(*s));
	struct hm_runtime_image *img = NULL;
	struct hm_runtime_stats rs;
	struct hm_compare_stats st = { 0 };
	struct rt_ctx c = {
		.spec = &empty, .fn = ignore, .rstats = &rs, .stats = &st, .proc_fd = -1,
	};
	size_t i;
	int r;

	memset(&rs, 0, sizeof(rs));
	if (!s)
		return hm_error_nomem(err);
	if ((r = hm_runtime_image_new(&img, err)) < 0)
		goto fail;
	c.img = img;
	if ((r = rt_ctx_open(&c, opt, err)) < 0 ||
	    (r = rt_check_processes(&c, err)) < 0)
		goto fail;
	s->processes_listed = true;
	for (i = 0; i < c.n_procs; i++)
		if (c.procs[i].exe_is_file &&
		    add_str(&s->processes, &s->n_processes, c.procs[i].exe) < 0)
			goto nomem;
	if (capture_listeners(&c, s) < 0 || capture_mounts(&c, s) < 0)
		goto nomem;
	if (s->n_processes)
		qsort(s->processes, s->n_processes, sizeof(char *), cmp_str);
	if (s->n_mounts)
		qsort(s->mounts, s->n_mounts, sizeof(*s->mounts), cmp_mount);
	rt_ctx_close(&c);
	hm_runtime_image_free(img);
	*ret = s;
	return 0;
nomem:
	r = hm_error_nomem(err);
fail:
	rt_ctx_close(&c);
	hm_runtime_image_free(img);
	hm_runtime_spec_free(s);
	return r;
}

/* ---- YAML ------------------------------------------------------------ */

static int out_cb(void *ctx, unsigned char *buf, size_t len)
{
	return hm_buf_add(ctx, buf, len) == 0;
}

#define EMIT(init) \
	do { yaml_event_t ev_; if (!(init) || !yaml_emitter_emit(&em, &ev_)) goto fail; } while (0)
#define SCALAR(s) \
	EMIT(yaml_scalar_event_initialize(&ev_, NULL, NULL, (yaml_char_t *)(s), -1, 1, 1, \
					  YAML_ANY_SCALAR_STYLE))
#define MAP(flow) \
	EMIT(yaml_mapping_start_event_initialize(&ev_, NULL, NULL, 1, \
		(flow) ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE))
#define MAP_END() EMIT(yaml_mapping_end_event_initialize(&ev_))
#define SEQ(flow) \
	EMIT(yaml_sequence_start_event_initialize(&ev_, NULL, NULL, 1, \
		(flow) ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE))
#define SEQ_END() EMIT(yaml_sequence_end_event_initialize(&ev_))

int hm_runtime_spec_yaml(const struct hm_runtime_spec *s, struct hm_buf *out,
			 struct hm_error *err)
{
	yaml_emitter_t em;
	char port[8];
	size_t i, k;
	int r;

	if (!yaml_emitter_initialize(&em))
		return hm_error_nomem(err);
	yaml_emitter_set_output(&em, out_cb, out);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, 100);
	EMIT(yaml_stream_start_event_initialize(&ev_, YAML_UTF8_ENCODING));
	EMIT(yaml_document_start_event_initialize(&ev_, NULL, NULL, NULL, 1));
	MAP(false);
	SCALAR("runtime");
	MAP(false);
	SCALAR("listen");
	SEQ(false);
	for (i = 0; i < s->n_listen; i++) {
		const struct hm_runtime_listen *l = &s->listen[i];

		MAP(true);
		SCALAR("proto");
		SCALAR(l->proto);
		SCALAR("port");
		snprintf(port, sizeof(port), "%u", l->port);
		EMIT(yaml_scalar_event_initialize(&ev_, NULL, NULL, (yaml_char_t *)port, -1,
						  1, 1, YAML_PLAIN_SCALAR_STYLE));
		if (l->addr) {
			SCALAR("addr");
			SCALAR(l->addr);
		}
		if (l->exe) {
			SCALAR("exe");
			SCALAR(l->exe);
		}
		MAP_END();
	}
	SEQ_END();
	SCALAR("processes");
	SEQ(false);
	for (i = 0; i < s->n_processes; i++)
		SCALAR(s->processes[i]);
	SEQ_END();
	SCALAR("mounts");
	SEQ(false);
	for (i = 0; i < s->n_mounts; i++) {
		MAP(true);
		SCALAR("path");
		SCALAR(s->mounts[i].path);
		SCALAR("options");
		SEQ(true);
		for (k = 0; k < s->mounts[i].n_options; k++)
			SCALAR(s->mounts[i].options[k]);
		SEQ_END();
		MAP_END();
	}
	SEQ_END();
	MAP_END();
	MAP_END();
	EMIT(yaml_document_end_event_initialize(&ev_, 1));
	EMIT(yaml_stream_end_event_initialize(&ev_));
	yaml_emitter_delete(&em);
	return 0;
fail:
	r = hm_error_set(err, HM_ERR_INPUT, 0, "cannot write the runtime section "
			 "as YAML: %s", em.problem ? em.problem : "out of memory");
	yaml_emitter_delete(&em);
	return r;
}
