/*
 * What the OCI source's files share; internal to lib/.  The source
 * (source_oci.c) opens an archive, a layout folder or a docker-archive
 * and resolves its documents (oci_documents.c) down to the layers, which
 * it reads one by one (oci_layer.c) from the blobs the outer archive's
 * index finds (oci_archive.c).
 */
#ifndef HALLMARK_OCI_PRIVATE_H
#define HALLMARK_OCI_PRIVATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hallmark/buf.h"
#include "hallmark/error.h"
#include "hallmark/source.h"
#include "hallmark/tree.h"

struct archive;
struct hm_hash;
struct hm_tar_guard;

#define BLOCK (256u * 1024)

#define MT_OCI_INDEX     "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST  "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG    "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LIST   "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

enum compression { COMP_NONE, COMP_GZIP, COMP_ZSTD, COMP_ANY };

/* A regular member of the outer archive. */
struct member {
	char *name;              /* normalized, without the leading '/' */
	uint64_t off, size;
};

/* Where the bytes of one blob are: a region of a file. */
struct region {
	int fd;
	bool own_fd;
	uint64_t off, size;
};

struct oci {
	const char *spec;        /* for messages */
	bool is_dir;
	int fd;                  /* the archive file, or the layout folder */
	struct member *m;
	size_t n_m;
	const struct hm_scan_options *opt;
	struct hm_tree *tree;    /* the image so far */
	struct hm_error *err;
};

/* A whiteout of a layer, applied after the layer is verified. */
struct whiteout {
	char *member;            /* the member's path, for messages and dups */
	size_t member_len;
	char *target;            /* what it deletes; for opaque, the dir */
	size_t target_len;
	bool opaque;
};

/* A hard link of a layer to a file of the layers below, checked against
 * the layer's whiteouts once they are all known. */
struct lower_link {
	char *member;            /* the link's member name, for messages */
	size_t member_len;
	char *target;            /* canonical path of what it names */
	size_t target_len;
};

struct layer {
	struct oci *o;
	unsigned idx;            /* 1-based */
	char origin[64];         /* "layer 3 sha256:ab12cd34ef56" */
	/* compressed input */
	struct region reg;
	uint64_t pos;            /* bytes of reg handed out */
	unsigned char *inbuf;
	struct hm_hash *blob_hash;   /* NULL: no blob digest (docker-archive) */
	int io_errno;
	bool truncated;
	/* uncompressed tar stream: libarchive's filters, or, for layers in
	 * hallmark's independent gzip members, inflated on every core */
	struct archive *raw;
	struct hm_pgunzip *par;
	bool par_used;
	char par_why[160];
	struct hm_tar_guard *guard;  /* the tar reader's header checks */
	struct hm_hash *diff_hash;
	uint64_t tar_bytes;
	bool raw_failed, limit_hit;
	/* the layer's contents */
	struct hm_tree *scratch;
	struct whiteout *wh;
	size_t n_wh, cap_wh;
	struct lower_link *ll;
	size_t n_ll, cap_ll;
	uint64_t members, logical;
};

enum kind { K_INDEX, K_MANIFEST, K_OTHER };

/* oci_archive.c: messages, digests, the outer archive's members and the
 * blobs they hold. */
__attribute__((format(printf, 2, 3)))
int hm_oci_input_error(struct oci *o, const char *fmt, ...);
const char *hm_oci_quote(struct hm_buf *b, const char *s, size_t len);
int hm_oci_parse_digest(struct oci *o, const char *d, const char *where,
			char hex[65]);
const struct member *hm_oci_find_member(const struct oci *o, const char *name);
int hm_oci_find_region(struct oci *o, const char *name, struct region *ret);
void hm_oci_region_close(struct region *r);
int hm_oci_load_json(struct oci *o, const char *name, const char *hex,
		     int64_t want_size, const char *what, json_t **ret);
int hm_oci_scan_archive(struct oci *o);

/* oci_documents.c: index, manifest, config and docker documents. */
enum kind hm_oci_mt_kind(const char *mt);
int hm_oci_check_doc(struct oci *o, json_t *j, enum kind want, const char *what);
int hm_oci_parse_desc(struct oci *o, json_t *d, const char *where,
		      const char **ret_mt, char hex[65], int64_t *ret_size);
int hm_oci_pick(struct oci *o, json_t *index, const char *what, json_t **ret);
enum compression hm_oci_layer_comp(const char *mt, bool *ok);
int hm_oci_config_diff_ids(struct oci *o, json_t *cfg, size_t n_layers,
			   json_t **ret);

/* oci_layer.c: one layer, read, checked and applied to o->tree. */
int hm_oci_do_layer(struct oci *o, unsigned idx, const char *name,
		    const char *blob_hex, int64_t want_size, const char *diff_hex,
		    enum compression comp);

#endif
