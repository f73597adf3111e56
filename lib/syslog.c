/*
 * Verify runs and findings to syslog(3), one JSON object per line with
 * Elastic Common Schema field names (@timestamp, event.*, host.name,
 * file.path, error.message), hallmark's own under "hallmark.*" as ECS
 * asks for custom fields.  The JSON is built by jansson; every string
 * from a target or a command line is made ASCII first (paths with the
 * manifest escaping, other strings with \ooo), so a hostile file name
 * can neither break the line nor forge a field.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "hallmark/buf.h"
#include "hallmark/history.h"
#include "hallmark/manifest.h"
#include "hallmark/syslog.h"

void hm_syslog_open(void)
{
	openlog("hallmark", LOG_PID, LOG_DAEMON);
}

void hm_syslog_close(void)
{
	closelog();
}

/* Control, non-ASCII bytes and '\' as \ooo. */
static json_t *ascii(const char *s)
{
	struct hm_buf b = HM_BUF_INIT;
	const unsigned char *p;
	json_t *j = NULL;

	if (!s)
		return json_null();
	for (p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 || *p > 0x7e || *p == '\\' ?
		     hm_buf_addf(&b, "\\%03o", *p) : hm_buf_addc(&b, (char)*p)) < 0)
			goto out;
	if (hm_buf_adds(&b, "") == 0)
		j = json_string(b.data);
out:
	hm_buf_free(&b);
	return j;
}

static json_t *ts(time_t t)
{
	char s[32];

	hm_history_format_time(t, s);
	return json_string(s);
}

/* hallmark.* : the target and the manifest. */
static json_t *ours(const struct hm_syslog_run *run)
{
	json_t *o = json_object(), *m = json_object();

	json_object_set_new(o, "target", ascii(run->target));
	json_object_set_new(m, "name", ascii(run->manifest_name));
	json_object_set_new(m, "serial", json_integer(
		run->serial > INT64_MAX ? INT64_MAX : (json_int_t)run->serial));
	json_object_set_new(o, "manifest", m);
	return o;
}

static json_t *host(const struct hm_syslog_run *run)
{
	json_t *h = json_object();

	json_object_set_new(h, "name", ascii(run->host ? run->host : ""));
	return h;
}

static json_t *list1(const char *s)
{
	json_t *a = json_array();

	json_array_append_new(a, json_string(s));
	return a;
}

static int send_line(int prio, json_t *o, struct hm_error *err)
{
	char *line = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII |
					 JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	if (!line)
		return hm_error_nomem(err);
	syslog(prio, "%s", line);
	free(line);
	return 0;
}

int hm_syslog_finding(const struct hm_syslog_run *run,
		      const struct hm_finding *f, struct hm_error *err)
{
	const char *kind = hm_finding_kind_name(f->kind);
	struct hm_buf path = HM_BUF_INIT, msg = HM_BUF_INIT;
	json_t *o = json_object(), *ev = json_object(), *file = json_object();
	int r;

	if (hm_escape(&path, f->path, f->path_len, 0) < 0 ||
	    hm_buf_adds(&path, "") < 0 ||
	    hm_buf_addf(&msg, "drift: %s %s", kind, path.data) < 0 ||
	    hm_buf_adds(&msg, "") < 0) {
		r = hm_error_nomem(err);
		json_decref(o);
		json_decref(ev);
		json_decref(file);
		goto out;
	}
	json_object_set_new(o, "@timestamp", ts(run->finished));
	json_object_set_new(o, "message", ascii(msg.data));
	json_object_set_new(ev, "kind", json_string("alert"));
	json_object_set_new(ev, "category", list1("file"));
	json_object_set_new(ev, "type", list1("change"));
	json_object_set_new(ev, "module", json_string("hallmark"));
	json_object_set_new(ev, "dataset", json_string("hallmark.finding"));
	json_object_set_new(ev, "action", json_string(kind));
	json_object_set_new(o, "event", ev);
	json_object_set_new(o, "host", host(run));
	json_object_set_new(file, "path", json_string(path.data));
	json_object_set_new(o, "file", file);
	json_object_set_new(o, "hallmark", ours(run));
	r = send_line(LOG_WARNING, o, err);
out:
	hm_buf_free(&path);
	hm_buf_free(&msg);
	return r;
}

int hm_syslog_run(const struct hm_syslog_run *run, struct hm_error *err)
{
	static const char *const results[] = { "pass", "drift", "error", "trust" };
	const char *result = run->exit_code >= 0 && run->exit_code <= 3 ?
			     results[run->exit_code] : "error";
	json_t *o = json_object(), *ev = json_object(), *h = ours(run), *e;
	struct hm_buf msg = HM_BUF_INIT;
	int prio = run->exit_code == 0 ? LOG_INFO :
		   run->exit_code == 1 ? LOG_WARNING : LOG_ERR;

	if (hm_buf_addf(&msg, "verify %s: %s, %llu findings",
			run->target ? run->target : "", result,
			(unsigned long long)run->findings) < 0 ||
	    hm_buf_adds(&msg, "") < 0) {
		hm_buf_free(&msg);
		json_decref(o);
		json_decref(ev);
		json_decref(h);
		return hm_error_nomem(err);
	}
	json_object_set_new(o, "@timestamp", ts(run->finished));
	json_object_set_new(o, "message", ascii(msg.data));
	hm_buf_free(&msg);
	json_object_set_new(ev, "kind", json_string("event"));
	json_object_set_new(ev, "category", list1("host"));
	json_object_set_new(ev, "type", list1("info"));
	json_object_set_new(ev, "module", json_string("hallmark"));
	json_object_set_new(ev, "dataset", json_string("hallmark.run"));
	json_object_set_new(ev, "action", json_string("verify"));
	json_object_set_new(ev, "outcome", json_string(run->exit_code == 0 ?
						       "success" : "failure"));
	json_object_set_new(ev, "start", ts(run->started));
	json_object_set_new(ev, "end", ts(run->finished));
	/* ECS: event.duration in nanoseconds. */
	json_object_set_new(ev, "duration", json_integer(
		(json_int_t)(run->duration * 1e9)));
	json_object_set_new(o, "event", ev);
	json_object_set_new(o, "host", host(run));
	json_object_set_new(h, "result", json_string(result));
	json_object_set_new(h, "exit_code", json_integer(run->exit_code));
	json_object_set_new(h, "findings", json_integer(
		run->findings > INT64_MAX ? INT64_MAX : (json_int_t)run->findings));
	json_object_set_new(o, "hallmark", h);
	if (run->error) {
		e = json_object();
		json_object_set_new(e, "message", ascii(run->error));
		json_object_set_new(o, "error", e);
	}
	return send_line(prio, o, err);
}
