/*
 * A small, strict YAML reader for policies and templates: one document
 * parsed into a tree of scalars, sequences and mappings, each node with
 * its 1-based line and column so that every later error can name
 * FILE:LINE:COL.  libyaml is called from lib/yaml.c only.
 *
 * Refused (HM_ERR_INPUT, "NAME:LINE:COL: what"): anchors, aliases, tag
 * directives, explicit tags other than the default one of the node's kind
 * ("!!str", "!!seq", "!!map"), non-scalar mapping keys, duplicate mapping
 * keys, more than one document, a stream without a document, bytes that
 * are not UTF-8.  Limits (HM_ERR_LIMIT): HM_LIMIT_YAML_BYTES of input,
 * HM_LIMIT_YAML_DEPTH of nested collections, HM_LIMIT_YAML_NODES nodes.
 */
#ifndef HALLMARK_YAML_H
#define HALLMARK_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hallmark/error.h"

/* Nodes in one document (keys, values and items all count). */
#define HM_LIMIT_YAML_NODES (256u * 1024)

enum hm_yaml_kind {
	HM_YAML_SCALAR = 1,
	HM_YAML_SEQUENCE,
	HM_YAML_MAPPING,
};

struct hm_yaml_node {
	enum hm_yaml_kind kind;
	unsigned long line, col;     /* 1-based; col counts characters */
	/* Scalars: the value, NUL-terminated after len bytes (it may hold
	 * NULs from "\0" escapes).  plain: written without quotes or tag,
	 * so "null", "~", "" and "1" mean what YAML says, not strings. */
	char *str;
	size_t len;
	bool plain;
	/* Sequences: n items.  Mappings: n pairs keys[i] -> items[i], in
	 * document order; keys are scalars and unique. */
	size_t n;
	struct hm_yaml_node **items;
	struct hm_yaml_node **keys;
};

struct hm_yaml_doc {
	char *name;                  /* for messages, as given */
	struct hm_yaml_node *root;   /* never NULL */
};

/* Parse len bytes (name is used in messages).  The caller owns *ret and
 * frees it with hm_yaml_free. */
int hm_yaml_parse(const char *data, size_t len, const char *name,
		  struct hm_yaml_doc **ret, struct hm_error *err);
/* Read the file at path (at most HM_LIMIT_YAML_BYTES) and parse it. */
int hm_yaml_load(const char *path, struct hm_yaml_doc **ret,
		 struct hm_error *err);
void hm_yaml_free(struct hm_yaml_doc *doc);       /* accepts NULL */

/* A plain null scalar: empty, "~", "null", "Null" or "NULL". */
bool hm_yaml_is_null(const struct hm_yaml_node *n);
/* "a scalar", "a null", "a sequence", "a mapping": for messages. */
const char *hm_yaml_what(const struct hm_yaml_node *n);
/* The value of key in mapping map, or NULL (also if map is no mapping). */
const struct hm_yaml_node *hm_yaml_get(const struct hm_yaml_node *map,
				       const char *key);

/* Set err to "NAME:LINE:COL: MESSAGE" at node n; returns code. */
int hm_yaml_error(struct hm_error *err, int code, const struct hm_yaml_doc *doc,
		  const struct hm_yaml_node *n, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Typed accessors; each fails with a positioned HM_ERR_INPUT message
 * that names what (e.g. "'version'").
 *   hm_yaml_string: a non-null scalar without NUL bytes; *ret is borrowed.
 *   hm_yaml_uint:   a plain decimal integer 0..max.
 *   hm_yaml_bool:   a plain true/false (also True/TRUE/False/FALSE).
 *   hm_yaml_check_keys: every key of the mapping n is in allowed
 *                   (NULL-terminated); also fails if n is no mapping.
 */
int hm_yaml_string(const struct hm_yaml_doc *doc, const struct hm_yaml_node *n,
		   const char *what, const char **ret, struct hm_error *err);
int hm_yaml_uint(const struct hm_yaml_doc *doc, const struct hm_yaml_node *n,
		 const char *what, uint64_t max, uint64_t *ret,
		 struct hm_error *err);
int hm_yaml_bool(const struct hm_yaml_doc *doc, const struct hm_yaml_node *n,
		 const char *what, bool *ret, struct hm_error *err);
int hm_yaml_check_keys(const struct hm_yaml_doc *doc,
		       const struct hm_yaml_node *n, const char *what,
		       const char *const *allowed, struct hm_error *err);

#endif
