/*
 * Unit tests: the streaming JSON writer.  Every document written through
 * it must be byte for byte what json_dumps(JSON_INDENT(2) |
 * JSON_PRESERVE_ORDER) gives for the same document built whole, plus the
 * final newline, however the document is cut into pieces (each scalar on
 * its own, or whole subtrees handed over as one value).
 */
#include "harness.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>

#include "hallmark/error.h"
#include "hallmark/json_out.h"

#define DUMP_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER)

/* Which containers are written piece by piece; the rest go as values. */
enum cut { CUT_ALL, CUT_TOP, CUT_ALTERNATE };

static void put_tree(struct hm_json_out *j, json_t *v, enum cut cut, int depth)
{
	bool stream = json_is_object(v) || json_is_array(v);

	if (cut == CUT_TOP && depth > 0)
		stream = false;
	if (cut == CUT_ALTERNATE && depth % 2)
		stream = false;
	if (!stream) {
		hm_json_out_value(j, json_incref(v));
	} else if (json_is_object(v)) {
		const char *key;
		json_t *m;

		hm_json_out_begin_object(j);
		json_object_foreach(v, key, m) {
			hm_json_out_key(j, key);
			put_tree(j, m, cut, depth + 1);
		}
		hm_json_out_end(j);
	} else {
		size_t i;
		json_t *m;

		hm_json_out_begin_array(j);
		json_array_foreach(v, i, m)
			put_tree(j, m, cut, depth + 1);
		hm_json_out_end(j);
	}
}

/* The writer's text of doc (cut as asked); NULL if it reported an error. */
static char *stream(json_t *doc, enum cut cut)
{
	struct hm_json_out j;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r;

	if (!f)
		abort();
	hm_json_out_init(&j, f);
	put_tree(&j, doc, cut, 0);
	r = hm_json_out_finish(&j);
	fclose(f);
	if (r < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* jansson's text of the whole document, and the final newline. */
static char *whole(json_t *doc)
{
	char *s = json_dumps(doc, DUMP_FLAGS), *t;

	if (!s)
		abort();
	t = malloc(strlen(s) + 2);
	if (!t)
		abort();
	strcpy(t, s);
	strcat(t, "\n");
	free(s);
	return t;
}

/* 0 when every way of cutting doc gives jansson's text. */
static int same_as_jansson(json_t *doc)
{
	static const enum cut cuts[] = { CUT_ALL, CUT_TOP, CUT_ALTERNATE };
	char *want = whole(doc);
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		char *got = stream(doc, cuts[i]);

		if (!got) {
			printf("# cut %zu: the writer reported an error\n", i);
			bad = 1;
		} else if (strcmp(got, want) != 0) {
			size_t at = 0;

			while (got[at] == want[at])
				at++;
			printf("# cut %zu: differs at byte %zu of %zu\n", i, at,
			       strlen(want));
			bad = 1;
		}
		free(got);
	}
	free(want);
	return bad;
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

	if (!v) {
		printf("# bad test JSON: %s\n", e.text);
		abort();
	}
	return v;
}

static int check_text(const char *text)
{
	json_t *v = parse(text);
	int r = same_as_jansson(v);

	json_decref(v);
	return r;
}

TEST(nested_documents)
{
	CHECK(!check_text("{\"a\": 1, \"b\": {\"c\": [1, 2, {\"d\": null}],"
			  " \"e\": true}, \"f\": [[[]], [{}], [[1]]]}"));
	CHECK(!check_text("[{\"x\": [1, [2, [3, [4, {\"y\": \"z\"}]]]]}, 5]"));
	CHECK(!check_text("{\"runs\": [{\"tool\": {\"driver\": {\"rules\": "
			  "[{\"id\": \"A\"}, {\"id\": \"B\"}]}}, "
			  "\"results\": [], \"properties\": {}}]}"));
}

TEST(empty_containers)
{
	CHECK(!check_text("{}"));
	CHECK(!check_text("[]"));
	CHECK(!check_text("{\"a\": {}, \"b\": [], \"c\": [{}, []], \"d\": {\"e\": {}}}"));
	CHECK(!check_text("[[], {}, [[]], [{}]]"));
}

TEST(strings_unicode_and_control_characters)
{
	json_t *doc = json_object(), *a = json_array();
	static const char *const strs[] = {
		"", "plain", "quote \" backslash \\ slash /",
		"\x01\x02\x1b[31m\x7f tab\t cr\r nl\n ff\f bs\b",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd",
		"\xe2\x80\xa8 line and paragraph \xe2\x80\xa9 separators",
		"<script>&amp;</script>",
	};
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		CHECK(json_array_append_new(a, json_string(strs[i])) == 0);
		/* The same strings as keys, which jansson escapes alike. */
		CHECK(json_object_set_new(doc, strs[i], json_integer((json_int_t)i)) == 0);
	}
	/* A NUL inside a string (json_stringn) is \u0000 in both. */
	CHECK(json_array_append_new(a, json_stringn("a\0b", 3)) == 0);
	CHECK(json_object_set_new(doc, "strings", a) == 0);
	CHECK(!same_as_jansson(doc));
	json_decref(doc);
}

TEST(big_and_odd_numbers)
{
	json_t *a = json_array();

	CHECK(json_array_append_new(a, json_integer(INT64_MAX)) == 0);
	CHECK(json_array_append_new(a, json_integer(INT64_MIN)) == 0);
	CHECK(json_array_append_new(a, json_integer(0)) == 0);
	CHECK(json_array_append_new(a, json_integer(-1)) == 0);
	CHECK(json_array_append_new(a, json_real(1e300)) == 0);
	CHECK(json_array_append_new(a, json_real(-2.5e-300)) == 0);
	CHECK(json_array_append_new(a, json_real(0.1)) == 0);
	CHECK(json_array_append_new(a, json_real(3.0)) == 0);
	CHECK(json_array_append_new(a, json_real(-0.0)) == 0);
	CHECK(json_array_append_new(a, json_real(123456789012345678.0)) == 0);
	CHECK(json_array_append_new(a, json_true()) == 0);
	CHECK(json_array_append_new(a, json_false()) == 0);
	CHECK(json_array_append_new(a, json_null()) == 0);
	CHECK(!same_as_jansson(a));
	json_decref(a);
}

/* A small deterministic generator, so that shapes nobody thought of are
 * tried too: nesting, empties and odd strings in every position. */
static uint32_t rng = 12345;

static uint32_t next(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

static json_t *gen(int depth)
{
	static const char *const words[] = {
		"", "a", "k\n", "\xc3\xa9t\xc3\xa9", "\x1f", "q\"", "b\\s",
	};
	unsigned pick = next() % (depth > 5 ? 4 : 7);
	json_t *v;
	unsigned i, n;
	char key[32];

	switch (pick) {
	case 0: return json_integer((json_int_t)next() * (next() % 2 ? -977 : 1));
	case 1: return json_string(words[next() % 7]);
	case 2: return next() % 2 ? json_null() : json_real((double)next() / 7.0);
	case 3: return json_boolean(next() % 2);
	case 4:
	case 5:
		v = json_array();
		n = next() % 4;
		for (i = 0; i < n; i++)
			json_array_append_new(v, gen(depth + 1));
		return v;
	default:
		v = json_object();
		n = next() % 4;
		for (i = 0; i < n; i++) {
			snprintf(key, sizeof(key), "%s%u", words[next() % 7], i);
			json_object_set_new(v, key, gen(depth + 1));
		}
		return v;
	}
}

TEST(generated_documents)
{
	int i;

	for (i = 0; i < 500; i++) {
		json_t *doc = json_object();

		json_object_set_new(doc, "doc", gen(0));
		json_object_set_new(doc, "more", gen(0));
		if (same_as_jansson(doc)) {
			json_decref(doc);
			FAIL("generated document %d differs", i);
		}
		json_decref(doc);
	}
}

static int misuse(void (*steps)(struct hm_json_out *))
{
	struct hm_json_out j;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r;

	if (!f)
		abort();
	hm_json_out_init(&j, f);
	steps(&j);
	r = hm_json_out_finish(&j);
	fclose(f);
	free(buf);
	return r;
}

static void unclosed(struct hm_json_out *j)
{
	hm_json_out_begin_object(j);
}

static void closed_twice(struct hm_json_out *j)
{
	hm_json_out_begin_array(j);
	hm_json_out_end(j);
	hm_json_out_end(j);
}

static void value_without_key(struct hm_json_out *j)
{
	hm_json_out_begin_object(j);
	hm_json_out_value(j, json_integer(1));
	hm_json_out_end(j);
}

static void key_in_array(struct hm_json_out *j)
{
	hm_json_out_begin_array(j);
	hm_json_out_key(j, "k");
	hm_json_out_value(j, json_integer(1));
	hm_json_out_end(j);
}

static void key_without_value(struct hm_json_out *j)
{
	hm_json_out_begin_object(j);
	hm_json_out_key(j, "k");
	hm_json_out_end(j);
}

static void too_deep(struct hm_json_out *j)
{
	int i;

	for (i = 0; i <= HM_JSON_OUT_MAX_DEPTH; i++)
		hm_json_out_begin_array(j);
	for (i = 0; i <= HM_JSON_OUT_MAX_DEPTH; i++)
		hm_json_out_end(j);
}

static void failed_allocation(struct hm_json_out *j)
{
	hm_json_out_begin_array(j);
	hm_json_out_value(j, NULL);
	hm_json_out_end(j);
}

static void invalid_utf8_key(struct hm_json_out *j)
{
	hm_json_out_begin_object(j);
	hm_json_out_member(j, "\xff", json_integer(1));
	hm_json_out_end(j);
}

TEST(misuse_is_an_error)
{
	CHECK_EQ_INT(misuse(unclosed), HM_ERR_USAGE);
	CHECK_EQ_INT(misuse(closed_twice), HM_ERR_USAGE);
	CHECK_EQ_INT(misuse(value_without_key), HM_ERR_USAGE);
	CHECK_EQ_INT(misuse(key_in_array), HM_ERR_USAGE);
	CHECK_EQ_INT(misuse(key_without_value), HM_ERR_USAGE);
	CHECK_EQ_INT(misuse(too_deep), HM_ERR_USAGE);
	CHECK_EQ_INT(misuse(failed_allocation), HM_ERR_NOMEM);
	CHECK_EQ_INT(misuse(invalid_utf8_key), HM_ERR_NOMEM);
}

TEST(write_errors_are_sticky_and_keep_errno)
{
	struct hm_json_out j;
	FILE *f = fopen("/dev/full", "w");
	int i;

	if (!f) {
		printf("# no /dev/full: skipped\n");
		return;
	}
	setvbuf(f, NULL, _IONBF, 0);
	hm_json_out_init(&j, f);
	hm_json_out_begin_array(&j);
	CHECK_EQ_INT(j.err, HM_ERR_IO);
	CHECK_EQ_INT(j.sys_errno, ENOSPC);
	/* Everything after the first error does nothing. */
	for (i = 0; i < 3; i++)
		hm_json_out_value(&j, json_string("x"));
	hm_json_out_end(&j);
	CHECK_EQ_INT(hm_json_out_finish(&j), HM_ERR_IO);
	CHECK_EQ_INT(j.sys_errno, ENOSPC);
	fclose(f);
}
