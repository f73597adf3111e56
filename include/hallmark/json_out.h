/*
 * A streaming JSON writer: a document written piece by piece, in memory
 * that does not grow with its size, byte for byte as jansson's
 * json_dumpf(JSON_INDENT(2) | JSON_PRESERVE_ORDER) writes the same
 * document built whole.
 *
 * The writer only places the punctuation between values (braces,
 * brackets, commas, newlines, indentation).  Every key and value is
 * serialised by jansson, so no JSON escaping is written by hand; a value
 * may be a whole json_t tree (a finding, a run), indented at the depth it
 * lands at.
 *
 *	struct hm_json_out j;
 *
 *	hm_json_out_init(&j, stdout);
 *	hm_json_out_begin_object(&j);
 *	hm_json_out_member(&j, "version", json_integer(1));
 *	hm_json_out_key(&j, "findings");
 *	hm_json_out_begin_array(&j);
 *	... hm_json_out_value(&j, finding) ...
 *	hm_json_out_end(&j);
 *	hm_json_out_end(&j);
 *	if (hm_json_out_finish(&j) < 0) ... j.sys_errno ...
 *
 * Errors are sticky: after the first one every call does nothing, and
 * hm_json_out_finish (or j.err at any time) returns it.
 */
#ifndef HALLMARK_JSON_OUT_H
#define HALLMARK_JSON_OUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Containers open at once (SARIF, the deepest user, goes 5 deep). */
#define HM_JSON_OUT_MAX_DEPTH 16

struct hm_json_out {
	FILE *f;
	int depth;                                /* containers open */
	char closer[HM_JSON_OUT_MAX_DEPTH];       /* '}' or ']' */
	bool empty[HM_JSON_OUT_MAX_DEPTH];        /* nothing in it yet */
	bool after_key;                           /* a value must follow */
	int err;         /* 0, or HM_ERR_IO / HM_ERR_NOMEM / HM_ERR_USAGE */
	int sys_errno;   /* with HM_ERR_IO: why the write failed */
};

/* Start a document on f (borrowed; the writer never closes it). */
void hm_json_out_init(struct hm_json_out *j, FILE *f);

void hm_json_out_begin_object(struct hm_json_out *j);
void hm_json_out_begin_array(struct hm_json_out *j);
/* Close the innermost object or array. */
void hm_json_out_end(struct hm_json_out *j);

/* A key of the innermost object; the next value or container is its. */
void hm_json_out_key(struct hm_json_out *j, const char *key);
/*
 * Write v (reference taken, any json_t; NULL means an allocation failed
 * and becomes HM_ERR_NOMEM, so json_string(...) can be passed directly).
 */
void hm_json_out_value(struct hm_json_out *j, json_t *v);
/* hm_json_out_key then hm_json_out_value. */
void hm_json_out_member(struct hm_json_out *j, const char *key, json_t *v);

/*
 * End the document: every container closed, a final newline, f flushed.
 * Returns 0 or the first error (HM_ERR_USAGE for unbalanced calls).
 */
int hm_json_out_finish(struct hm_json_out *j);

#endif
