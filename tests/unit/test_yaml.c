/*
 * Unit tests: the YAML loader every template and policy goes through
 * (lib/yaml.c).  What it refuses (duplicate keys, anchors, tags, limits)
 * and where it says the problem is (NAME:LINE:COL) matter as much as what
 * it reads.
 */
#include "harness.h"

#include "hallmark/limits.h"
#include "hallmark/yaml.h"

static int parse(const char *text, struct hm_yaml_doc **doc, struct hm_error *err)
{
	return hm_yaml_parse(text, strlen(text), "t.yaml", doc, err);
}

TEST(mapping_sequence_scalars_with_positions)
{
	struct hm_error err = { 0 };
	struct hm_yaml_doc *doc = NULL;
	const struct hm_yaml_node *n, *seq;

	CHECK_OK(parse("name: web\nlist:\n  - a\n  - 'b c'\nempty:\n", &doc, &err), &err);
	CHECK_EQ_INT(doc->root->kind, HM_YAML_MAPPING);
	CHECK_EQ_INT(doc->root->n, 3);
	n = hm_yaml_get(doc->root, "name");
	CHECK(n && n->kind == HM_YAML_SCALAR && n->plain);
	CHECK_EQ_STR(n->str, "web");
	CHECK_EQ_INT(n->line, 1);
	CHECK_EQ_INT(n->col, 7);
	seq = hm_yaml_get(doc->root, "list");
	CHECK(seq && seq->kind == HM_YAML_SEQUENCE && seq->n == 2);
	CHECK_EQ_STR(seq->items[1]->str, "b c");
	CHECK(!seq->items[1]->plain);
	CHECK_EQ_INT(seq->items[1]->line, 4);
	CHECK(hm_yaml_is_null(hm_yaml_get(doc->root, "empty")));
	CHECK(hm_yaml_get(doc->root, "missing") == NULL);
	CHECK(hm_yaml_get(seq, "a") == NULL);   /* not a mapping */
	CHECK_EQ_STR(hm_yaml_what(seq), "a sequence");
	hm_yaml_free(doc);
}

TEST(quoted_null_is_a_string)
{
	struct hm_error err = { 0 };
	struct hm_yaml_doc *doc = NULL;
	const char *s;

	CHECK_OK(parse("a: null\nb: 'null'\nc: ~\n", &doc, &err), &err);
	CHECK(hm_yaml_is_null(hm_yaml_get(doc->root, "a")));
	CHECK(!hm_yaml_is_null(hm_yaml_get(doc->root, "b")));
	CHECK(hm_yaml_is_null(hm_yaml_get(doc->root, "c")));
	CHECK_OK(hm_yaml_string(doc, hm_yaml_get(doc->root, "b"), "'b'", &s, &err), &err);
	CHECK_EQ_STR(s, "null");
	CHECK_EQ_INT(hm_yaml_string(doc, hm_yaml_get(doc->root, "a"), "'a'", &s, &err),
		     HM_ERR_INPUT);
	hm_yaml_free(doc);
}

TEST(duplicate_key_is_refused_at_its_position)
{
	struct hm_error err = { 0 };
	struct hm_yaml_doc *doc = NULL;

	CHECK_EQ_INT(parse("a: 1\nb: 2\na: 3\n", &doc, &err), HM_ERR_INPUT);
	CHECK(doc == NULL);
	CHECK(strstr(err.msg, "t.yaml:3:1:") != NULL);
	CHECK(strstr(err.msg, "duplicate key 'a'") != NULL);
	/* Nested mappings too. */
	CHECK_EQ_INT(parse("x:\n  k: 1\n  k: 2\n", &doc, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "t.yaml:3:3:") != NULL);
}

TEST(anchors_aliases_and_tags_are_refused)
{
	struct hm_error err = { 0 };
	struct hm_yaml_doc *doc = NULL;

	CHECK_EQ_INT(parse("a: &x 1\nb: *x\n", &doc, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "anchors are not allowed") != NULL);
	CHECK_EQ_INT(parse("a: !!python/object x\n", &doc, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "tag") != NULL);
	CHECK(strstr(err.msg, "t.yaml:1:4:") != NULL);
}

TEST(syntax_errors_name_line_and_column)
{
	struct hm_error err = { 0 };
	struct hm_yaml_doc *doc = NULL;

	CHECK_EQ_INT(parse("a: [1, 2\nb: 3\n", &doc, &err), HM_ERR_INPUT);
	CHECK(strncmp(err.msg, "t.yaml:", 7) == 0);
	/* Invalid UTF-8 names the byte. */
	CHECK_EQ_INT(parse("a: \xff\n", &doc, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "0xff") != NULL);
}

TEST(limits_are_named_errors)
{
	struct hm_error err = { 0 };
	struct hm_yaml_doc *doc = NULL;
	char *deep, *many, *p;
	size_t i;

	/* Nesting past HM_LIMIT_YAML_DEPTH. */
	deep = malloc(HM_LIMIT_YAML_DEPTH * 2 + 8);
	CHECK(deep != NULL);
	for (i = 0; i < HM_LIMIT_YAML_DEPTH + 1; i++)
		deep[i] = '[';
	deep[i] = 0;
	CHECK_EQ_INT(parse(deep, &doc, &err), HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "HM_LIMIT_YAML_DEPTH") != NULL);
	free(deep);
	/* More nodes than HM_LIMIT_YAML_NODES in a flow sequence. */
	many = malloc((size_t)HM_LIMIT_YAML_NODES * 2 + 16);
	CHECK(many != NULL);
	p = many;
	*p++ = '[';
	for (i = 0; i < HM_LIMIT_YAML_NODES + 1; i++) {
		*p++ = '1';
		*p++ = ',';
	}
	p[-1] = ']';
	*p = 0;
	CHECK_EQ_INT(parse(many, &doc, &err), HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "HM_LIMIT_YAML_NODES") != NULL);
	free(many);
	/* Input past HM_LIMIT_YAML_BYTES is refused before parsing. */
	CHECK_EQ_INT(hm_yaml_parse("", (size_t)HM_LIMIT_YAML_BYTES + 1, "big.yaml",
				   &doc, &err), HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "big.yaml") != NULL);
}

TEST(typed_accessors)
{
	struct hm_error err = { 0 };
	struct hm_yaml_doc *doc = NULL;
	const struct hm_yaml_node *r;
	uint64_t u = 0;
	bool b = false;
	static const char *const allowed[] = { "n", "big", "neg", "q", "t", "f", "x", NULL };
	static const char *const fewer[] = { "n", NULL };

	CHECK_OK(parse("n: 42\nbig: 18446744073709551616\nneg: -1\nq: '7'\n"
		       "t: TRUE\nf: false\nx: yes\n", &doc, &err), &err);
	r = doc->root;
	CHECK_OK(hm_yaml_uint(doc, hm_yaml_get(r, "n"), "'n'", 100, &u, &err), &err);
	CHECK_EQ_INT(u, 42);
	CHECK_EQ_INT(hm_yaml_uint(doc, hm_yaml_get(r, "n"), "'n'", 41, &u, &err),
		     HM_ERR_INPUT);
	CHECK(strstr(err.msg, "t.yaml:1:4:") != NULL && strstr(err.msg, "'n'") != NULL);
	CHECK_EQ_INT(hm_yaml_uint(doc, hm_yaml_get(r, "big"), "'big'", UINT64_MAX, &u, &err),
		     HM_ERR_INPUT);
	CHECK_EQ_INT(hm_yaml_uint(doc, hm_yaml_get(r, "neg"), "'neg'", 10, &u, &err),
		     HM_ERR_INPUT);
	/* A quoted number is a string, not a number. */
	CHECK_EQ_INT(hm_yaml_uint(doc, hm_yaml_get(r, "q"), "'q'", 10, &u, &err),
		     HM_ERR_INPUT);
	CHECK_OK(hm_yaml_bool(doc, hm_yaml_get(r, "t"), "'t'", &b, &err), &err);
	CHECK(b);
	CHECK_OK(hm_yaml_bool(doc, hm_yaml_get(r, "f"), "'f'", &b, &err), &err);
	CHECK(!b);
	/* YAML 1.1's "yes" is not a boolean here. */
	CHECK_EQ_INT(hm_yaml_bool(doc, hm_yaml_get(r, "x"), "'x'", &b, &err), HM_ERR_INPUT);
	CHECK_OK(hm_yaml_check_keys(doc, r, "the test", allowed, &err), &err);
	CHECK_EQ_INT(hm_yaml_check_keys(doc, r, "the test", fewer, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "big") != NULL && strstr(err.msg, "t.yaml:2:1:") != NULL);
	hm_yaml_free(doc);
}

TEST(nul_in_a_scalar_is_not_a_string)
{
	struct hm_error err = { 0 };
	struct hm_yaml_doc *doc = NULL;
	const char *s;

	CHECK_OK(parse("a: \"x\\0y\"\n", &doc, &err), &err);
	CHECK_EQ_INT(hm_yaml_get(doc->root, "a")->len, 3);
	CHECK_EQ_INT(hm_yaml_string(doc, hm_yaml_get(doc->root, "a"), "'a'", &s, &err),
		     HM_ERR_INPUT);
	hm_yaml_free(doc);
}
