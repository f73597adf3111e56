/*
 * The streaming JSON writer (include/hallmark/json_out.h): the reports of
 * verify and audit and the history write their documents through it, so
 * that a run with millions of findings is never a json_t in memory.
 *
 * jansson with JSON_INDENT(2) puts each member or element of a non-empty
 * container on its own line, indented two spaces per level, separated by
 * ",", keys followed by ": ", and writes an empty container as {} or [].
 * A value dumped on its own is laid out as if at depth 0, so every
 * newline jansson writes gets the current depth's indentation after it;
 * no newline occurs inside a dumped string (jansson escapes them), which
 * makes that exact.
 */
#include <errno.h>
#include <string.h>

#include "hallmark/error.h"
#include "hallmark/json_out.h"

/* JSON_ENCODE_ANY: a value on its own may be a string or a number. */
#define HM_JSON_OUT_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

void hm_json_out_init(struct hm_json_out *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void put(struct hm_json_out *j, const char *s, size_t n)
{
	if (j->err || !n)
		return;
	if (fwrite(s, 1, n, j->f) != n) {
		j->err = HM_ERR_IO;
		j->sys_errno = errno;
	}
}

static void indent(struct hm_json_out *j, int depth)
{
	static const char spaces[] = "                                ";
	size_t n = (size_t)depth * 2;

	while (n && !j->err) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		put(j, spaces, k);
		n -= k;
	}
}

static int dump_cb(const char *buf, size_t size, void *data)
{
	struct hm_json_out *j = data;
	const char *nl;

	while (size && (nl = memchr(buf, '\n', size))) {
		size_t n = (size_t)(nl - buf) + 1;

		put(j, buf, n);
		indent(j, j->depth);
		buf += n;
		size -= n;
	}
	put(j, buf, size);
	return j->err ? -1 : 0;
}

/* Before a value or container: the comma, newline and indentation that
 * separate it from the previous item, unless it follows its key. */
static void item(struct hm_json_out *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	if (j->closer[j->depth - 1] == '}') {
		/* A value in an object needs its key first. */
		j->err = j->err ? j->err : HM_ERR_USAGE;
		return;
	}
	put(j, j->empty[j->depth - 1] ? "\n" : ",\n", j->empty[j->depth - 1] ? 1 : 2);
	indent(j, j->depth);
	j->empty[j->depth - 1] = false;
}

static void begin(struct hm_json_out *j, char opener, char closer)
{
	if (j->err)
		return;
	if (j->depth == HM_JSON_OUT_MAX_DEPTH) {
		j->err = HM_ERR_USAGE;
		return;
	}
	item(j);
	put(j, &opener, 1);
	j->closer[j->depth] = closer;
	j->empty[j->depth] = true;
	j->depth++;
}

void hm_json_out_begin_object(struct hm_json_out *j)
{
	begin(j, '{', '}');
}

void hm_json_out_begin_array(struct hm_json_out *j)
{
	begin(j, '[', ']');
}

void hm_json_out_end(struct hm_json_out *j)
{
	if (j->err)
		return;
	if (j->depth == 0 || j->after_key) {
		j->err = HM_ERR_USAGE;
		return;
	}
	j->depth--;
	if (!j->empty[j->depth]) {
		put(j, "\n", 1);
		indent(j, j->depth);
	}
	put(j, &j->closer[j->depth], 1);
}

void hm_json_out_value(struct hm_json_out *j, json_t *v)
{
	if (!v && !j->err)
		j->err = HM_ERR_NOMEM;
	item(j);
	if (!j->err && json_dump_callback(v, dump_cb, j, HM_JSON_OUT_FLAGS) < 0 &&
	    !j->err)
		j->err = HM_ERR_NOMEM;    /* jansson's own allocation failed */
	json_decref(v);
}

void hm_json_out_key(struct hm_json_out *j, const char *key)
{
	json_t *k;

	if (j->err)
		return;
	if (j->depth == 0 || j->closer[j->depth - 1] != '}' || j->after_key) {
		j->err = HM_ERR_USAGE;
		return;
	}
	put(j, j->empty[j->depth - 1] ? "\n" : ",\n", j->empty[j->depth - 1] ? 1 : 2);
	indent(j, j->depth);
	j->empty[j->depth - 1] = false;
	/* jansson escapes the key as it would inside the document. */
	k = json_string(key);
	if (!k) {
		j->err = HM_ERR_NOMEM;
		return;
	}
	if (json_dump_callback(k, dump_cb, j, HM_JSON_OUT_FLAGS) < 0 && !j->err)
		j->err = HM_ERR_NOMEM;
	json_decref(k);
	put(j, ": ", 2);
	j->after_key = true;
}

void hm_json_out_member(struct hm_json_out *j, const char *key, json_t *v)
{
	hm_json_out_key(j, key);
	hm_json_out_value(j, v);
}

int hm_json_out_finish(struct hm_json_out *j)
{
	if (!j->err && (j->depth != 0 || j->after_key))
		j->err = HM_ERR_USAGE;
	put(j, "\n", 1);
	if (!j->err && fflush(j->f) == EOF) {
		j->err = HM_ERR_IO;
		j->sys_errno = errno;
	}
	return j->err;
}
