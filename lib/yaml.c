/*
 * The strict YAML reader (include/hallmark/yaml.h): libyaml's event
 * parser drives a small tree builder.  Nodes are attached to their parent
 * as soon as they are created, so an error at any point frees everything
 * through the document; only a mapping key waiting for its value is held
 * by the builder's stack.  This is the only file that calls libyaml.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "hallmark/buf.h"
#include "hallmark/fsutil.h"
#include "hallmark/limits.h"
#include "hallmark/yaml.h"

struct frame {
	struct hm_yaml_node *node;
	size_t cap;
	struct hm_yaml_node *key;    /* mapping: a key waiting for its value */
};

struct builder {
	struct hm_yaml_doc *doc;
	struct frame stack[HM_LIMIT_YAML_DEPTH];
	size_t depth;
	size_t nodes;
	struct hm_error *err;
};

static void node_free(struct hm_yaml_node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++) {
		node_free(n->items[i]);
		if (n->keys)
			node_free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->str);
	free(n);
}

void hm_yaml_free(struct hm_yaml_doc *doc)
{
	if (!doc)
		return;
	node_free(doc->root);
	free(doc->name);
	free(doc);
}

static int verror(struct hm_error *err, int code, const char *name,
		  unsigned long line, unsigned long col, const char *fmt,
		  va_list ap) __attribute__((format(printf, 6, 0)));
static int verror(struct hm_error *err, int code, const char *name,
		  unsigned long line, unsigned long col, const char *fmt,
		  va_list ap)
{
	struct hm_buf b = HM_BUF_INIT;
	int r;

	if (hm_buf_vaddf(&b, fmt, ap) < 0) {
		hm_buf_free(&b);
		return hm_error_nomem(err);
	}
	r = hm_error_set(err, code, 0, "%s:%lu:%lu: %s", name, line, col, b.data);
	hm_buf_free(&b);
	return r;
}

static int mark_error(struct hm_error *err, int code, const char *name,
		      yaml_mark_t mark, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int mark_error(struct hm_error *err, int code, const char *name,
		      yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = verror(err, code, name, (unsigned long)mark.line + 1,
		   (unsigned long)mark.column + 1, fmt, ap);
	va_end(ap);
	return r;
}

int hm_yaml_error(struct hm_error *err, int code, const struct hm_yaml_doc *doc,
		  const struct hm_yaml_node *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = verror(err, code, doc->name, n->line, n->col, fmt, ap);
	va_end(ap);
	return r;
}

/* Line and column (1-based, in characters) of a byte offset. */
static void offset_position(const char *data, size_t len, size_t off,
			    unsigned long *line, unsigned long *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\n') {
			++*line;
			*col = 1;
		} else if ((c & 0xc0) != 0x80) {
			++*col;
		}
	}
}

static int parser_error(yaml_parser_t *parser, const char *data, size_t len,
			const char *name, struct hm_error *err)
{
	unsigned long line, col;
	const char *problem = parser->problem ? parser->problem : "syntax error";

	switch (parser->error) {
	case YAML_MEMORY_ERROR:
		return hm_error_nomem(err);
	case YAML_READER_ERROR:
		offset_position(data, len, parser->problem_offset, &line, &col);
		if (parser->problem_value >= 0)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "%s:%lu:%lu: %s (byte 0x%02x)", name,
					    line, col, problem,
					    (unsigned)parser->problem_value & 0xff);
		return hm_error_set(err, HM_ERR_INPUT, 0, "%s:%lu:%lu: %s",
				    name, line, col, problem);
	default:
		if (parser->context)
			return mark_error(err, HM_ERR_INPUT, name,
					  parser->problem_mark, "%s (%s at %lu:%lu)",
					  problem, parser->context,
					  (unsigned long)parser->context_mark.line + 1,
					  (unsigned long)parser->context_mark.column + 1);
		return mark_error(err, HM_ERR_INPUT, name,
				  parser->problem_mark, "%s", problem);
	}
}

static int push_item(struct frame *f, struct hm_yaml_node *key,
		     struct hm_yaml_node *value)
{
	struct hm_yaml_node *parent = f->node;

	if (parent->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct hm_yaml_node **items, **keys;

		items = realloc(parent->items, cap * sizeof(*items));
		if (!items)
			return HM_ERR_NOMEM;
		parent->items = items;
		if (parent->kind == HM_YAML_MAPPING) {
			keys = realloc(parent->keys, cap * sizeof(*keys));
			if (!keys)
				return HM_ERR_NOMEM;
			parent->keys = keys;
		}
		f->cap = cap;
	}
	if (parent->kind == HM_YAML_MAPPING)
		parent->keys[parent->n] = key;
	parent->items[parent->n++] = value;
	return 0;
}

/* Create a node at mark and hand it to its parent (or make it the root). */
static int add_node(struct builder *b, enum hm_yaml_kind kind,
		    yaml_mark_t mark, struct hm_yaml_node **ret)
{
	struct hm_yaml_node *n;
	struct frame *f;

	if (++b->nodes > HM_LIMIT_YAML_NODES)
		return mark_error(b->err, HM_ERR_LIMIT, b->doc->name, mark,
				  "more than HM_LIMIT_YAML_NODES (%u) nodes",
				  HM_LIMIT_YAML_NODES);
	if (b->depth && b->stack[b->depth - 1].node->kind == HM_YAML_MAPPING &&
	    !b->stack[b->depth - 1].key && kind != HM_YAML_SCALAR)
		return mark_error(b->err, HM_ERR_INPUT, b->doc->name, mark,
				  "mapping keys must be scalars");
	n = calloc(1, sizeof(*n));
	if (!n)
		return hm_error_nomem(b->err);
	n->kind = kind;
	n->line = (unsigned long)mark.line + 1;
	n->col = (unsigned long)mark.column + 1;
	if (!b->depth) {
		b->doc->root = n;
	} else {
		f = &b->stack[b->depth - 1];
		if (f->node->kind == HM_YAML_MAPPING && !f->key) {
			f->key = n;
		} else if (push_item(f, f->key, n) < 0) {
			free(n);
			return hm_error_nomem(b->err);
		} else {
			f->key = NULL;
		}
	}
	*ret = n;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct hm_yaml_node *x = *(struct hm_yaml_node *const *)a;
	const struct hm_yaml_node *y = *(struct hm_yaml_node *const *)b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->str, y->str, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	/* Equal keys: document order, so the later one is reported. */
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

/* Sorting keeps a mapping of many keys from costing n^2 comparisons. */
static int check_duplicates(struct builder *b, const struct hm_yaml_node *map)
{
	struct hm_yaml_node **sorted, *dup = NULL;
	size_t i;

	if (map->n < 2)
		return 0;
	sorted = malloc(map->n * sizeof(*sorted));
	if (!sorted)
		return hm_error_nomem(b->err);
	memcpy(sorted, map->keys, map->n * sizeof(*sorted));
	qsort(sorted, map->n, sizeof(*sorted), key_cmp);
	for (i = 1; i < map->n; i++) {
		const struct hm_yaml_node *x = sorted[i - 1], *y = sorted[i];

		if (x->len == y->len && !memcmp(x->str, y->str, x->len) &&
		    (!dup || y->line < dup->line ||
		     (y->line == dup->line && y->col < dup->col)))
			dup = sorted[i];
	}
	free(sorted);
	if (dup)
		return hm_yaml_error(b->err, HM_ERR_INPUT, b->doc, dup,
				     "duplicate key '%.*s'",
				     dup->len > 64 ? 64 : (int)dup->len, dup->str);
	return 0;
}

static int check_props(struct builder *b, const yaml_event_t *ev,
		       const yaml_char_t *anchor, const yaml_char_t *tag,
		       const char *default_tag)
{
	if (anchor)
		return mark_error(b->err, HM_ERR_INPUT, b->doc->name,
				  ev->start_mark, "anchors are not allowed");
	if (tag && strcmp((const char *)tag, default_tag) != 0)
		return mark_error(b->err, HM_ERR_INPUT, b->doc->name,
				  ev->start_mark, "tag '%s' is not allowed",
				  (const char *)tag);
	return 0;
}

static int open_collection(struct builder *b, const yaml_event_t *ev,
			   enum hm_yaml_kind kind)
{
	struct hm_yaml_node *n;
	int r;

	if (b->depth == HM_LIMIT_YAML_DEPTH)
		return mark_error(b->err, HM_ERR_LIMIT, b->doc->name,
				  ev->start_mark,
				  "nesting deeper than HM_LIMIT_YAML_DEPTH (%u)",
				  HM_LIMIT_YAML_DEPTH);
	r = add_node(b, kind, ev->start_mark, &n);
	if (r < 0)
		return r;
	b->stack[b->depth++] = (struct frame){ .node = n };
	return 0;
}

static int on_event(struct builder *b, const yaml_event_t *ev, bool *done)
{
	struct hm_yaml_node *n;
	int r;

	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (b->doc->root)
			return mark_error(b->err, HM_ERR_INPUT, b->doc->name,
					  ev->start_mark,
					  "more than one document");
		if (ev->data.document_start.tag_directives.start !=
		    ev->data.document_start.tag_directives.end)
			return mark_error(b->err, HM_ERR_INPUT, b->doc->name,
					  ev->start_mark,
					  "tag directives are not allowed");
		return 0;
	case YAML_STREAM_END_EVENT:
		if (!b->doc->root)
			return mark_error(b->err, HM_ERR_INPUT, b->doc->name,
					  ev->start_mark, "empty document");
		*done = true;
		return 0;
	case YAML_ALIAS_EVENT:
		return mark_error(b->err, HM_ERR_INPUT, b->doc->name,
				  ev->start_mark, "aliases are not allowed");
	case YAML_SCALAR_EVENT:
		r = check_props(b, ev, ev->data.scalar.anchor, ev->data.scalar.tag,
				YAML_STR_TAG);
		if (r < 0)
			return r;
		r = add_node(b, HM_YAML_SCALAR, ev->start_mark, &n);
		if (r < 0)
			return r;
		n->str = malloc(ev->data.scalar.length + 1);
		if (!n->str)
			return hm_error_nomem(b->err);
		memcpy(n->str, ev->data.scalar.value, ev->data.scalar.length);
		n->str[ev->data.scalar.length] = '\0';
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			   !ev->data.scalar.tag;
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		r = check_props(b, ev, ev->data.sequence_start.anchor,
				ev->data.sequence_start.tag, YAML_SEQ_TAG);
		return r < 0 ? r : open_collection(b, ev, HM_YAML_SEQUENCE);
	case YAML_MAPPING_START_EVENT:
		r = check_props(b, ev, ev->data.mapping_start.anchor,
				ev->data.mapping_start.tag, YAML_MAP_TAG);
		return r < 0 ? r : open_collection(b, ev, HM_YAML_MAPPING);
	case YAML_SEQUENCE_END_EVENT:
		b->depth--;
		return 0;
	case YAML_MAPPING_END_EVENT:
		b->depth--;
		return check_duplicates(b, b->stack[b->depth].node);
	default:
		return 0;
	}
}

int hm_yaml_parse(const char *data, size_t len, const char *name,
		  struct hm_yaml_doc **ret, struct hm_error *err)
{
	struct builder b = { .err = err };
	yaml_parser_t parser;
	bool parser_ok = false, done = false;
	int r = 0;

	if (len > HM_LIMIT_YAML_BYTES)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "%s: %zu bytes exceeds HM_LIMIT_YAML_BYTES (%u)",
				    name, len, HM_LIMIT_YAML_BYTES);
	b.doc = calloc(1, sizeof(*b.doc));
	if (!b.doc || !(b.doc->name = strdup(name))) {
		r = hm_error_nomem(err);
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		r = hm_error_nomem(err);
		goto out;
	}
	parser_ok = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	while (!done) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			r = parser_error(&parser, data, len, name, err);
			goto out;
		}
		r = on_event(&b, &ev, &done);
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
	}
	*ret = b.doc;
	b.doc = NULL;
out:
	while (b.depth)
		node_free(b.stack[--b.depth].key);
	if (parser_ok)
		yaml_parser_delete(&parser);
	hm_yaml_free(b.doc);
	return r;
}

int hm_yaml_load(const char *path, struct hm_yaml_doc **ret,
		 struct hm_error *err)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	r = hm_read_file(path, HM_LIMIT_YAML_BYTES, &data, &len, err);
	if (r < 0)
		return r;
	r = hm_yaml_parse(data, len, path, ret, err);
	free(data);
	return r;
}

bool hm_yaml_is_null(const struct hm_yaml_node *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	size_t i;

	if (!n || n->kind != HM_YAML_SCALAR || !n->plain)
		return false;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strlen(nulls[i]) == n->len && !memcmp(n->str, nulls[i], n->len))
			return true;
	return false;
}

const char *hm_yaml_what(const struct hm_yaml_node *n)
{
	switch (n->kind) {
	case HM_YAML_SEQUENCE:
		return "a sequence";
	case HM_YAML_MAPPING:
		return "a mapping";
	default:
		return hm_yaml_is_null(n) ? "a null" : "a scalar";
	}
}

const struct hm_yaml_node *hm_yaml_get(const struct hm_yaml_node *map,
				       const char *key)
{
	size_t i, len = strlen(key);

	if (!map || map->kind != HM_YAML_MAPPING)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (map->keys[i]->len == len && !memcmp(map->keys[i]->str, key, len))
			return map->items[i];
	return NULL;
}

int hm_yaml_string(const struct hm_yaml_doc *doc, const struct hm_yaml_node *n,
		   const char *what, const char **ret, struct hm_error *err)
{
	if (n->kind != HM_YAML_SCALAR || hm_yaml_is_null(n))
		return hm_yaml_error(err, HM_ERR_INPUT, doc, n,
				     "%s must be a string, not %s", what,
				     hm_yaml_what(n));
	if (memchr(n->str, '\0', n->len))
		return hm_yaml_error(err, HM_ERR_INPUT, doc, n,
				     "%s contains a NUL byte", what);
	*ret = n->str;
	return 0;
}

int hm_yaml_uint(const struct hm_yaml_doc *doc, const struct hm_yaml_node *n,
		 const char *what, uint64_t max, uint64_t *ret,
		 struct hm_error *err)
{
	uint64_t v = 0;
	size_t i;

	if (n->kind != HM_YAML_SCALAR || !n->plain || n->len == 0 ||
	    (n->len > 1 && n->str[0] == '0'))
		goto bad;
	for (i = 0; i < n->len; i++) {
		unsigned d = (unsigned char)n->str[i] - '0';

		if (d > 9)
			goto bad;
		if (v > (UINT64_MAX - d) / 10)
			goto range;
		v = v * 10 + d;
	}
	if (v > max)
		goto range;
	*ret = v;
	return 0;
range:
	return hm_yaml_error(err, HM_ERR_INPUT, doc, n,
			     "%s must be at most %llu", what,
			     (unsigned long long)max);
bad:
	return hm_yaml_error(err, HM_ERR_INPUT, doc, n,
			     "%s must be an unquoted decimal integer, not %s",
			     what, hm_yaml_what(n));
}

int hm_yaml_bool(const struct hm_yaml_doc *doc, const struct hm_yaml_node *n,
		 const char *what, bool *ret, struct hm_error *err)
{
	static const char *const t[] = { "true", "True", "TRUE" };
	static const char *const f[] = { "false", "False", "FALSE" };
	size_t i;

	if (n->kind == HM_YAML_SCALAR && n->plain && n->len == strlen(n->str)) {
		for (i = 0; i < 3; i++) {
			if (!strcmp(n->str, t[i])) {
				*ret = true;
				return 0;
			}
			if (!strcmp(n->str, f[i])) {
				*ret = false;
				return 0;
			}
		}
	}
	return hm_yaml_error(err, HM_ERR_INPUT, doc, n,
			     "%s must be true or false, not %s", what,
			     hm_yaml_what(n));
}

int hm_yaml_check_keys(const struct hm_yaml_doc *doc,
		       const struct hm_yaml_node *n, const char *what,
		       const char *const *allowed, struct hm_error *err)
{
	size_t i, j;

	if (n->kind != HM_YAML_MAPPING)
		return hm_yaml_error(err, HM_ERR_INPUT, doc, n,
				     "%s must be a mapping, not %s", what,
				     hm_yaml_what(n));
	for (i = 0; i < n->n; i++) {
		const struct hm_yaml_node *k = n->keys[i];

		for (j = 0; allowed[j]; j++)
			if (strlen(allowed[j]) == k->len &&
			    !memcmp(allowed[j], k->str, k->len))
				break;
		if (!allowed[j])
			return hm_yaml_error(err, HM_ERR_INPUT, doc, k,
					     "unknown key '%.*s' in %s",
					     k->len > 64 ? 64 : (int)k->len,
					     k->str, what);
	}
	return 0;
}
