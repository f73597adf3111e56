/*
 * Pushing to an OCI registry (distribution-spec v2): blob uploads
 * (monolithic, chunked, cross-repository mount, skip when present) and
 * manifests by tag or digest, over libcurl.
 *
 * Written while the registry client (registry.h) was not there yet: the
 * handle carries only what pushing needs (one repository, its auth, its
 * scheme), so the two can be merged onto one HTTP client.
 *
 * Credentials come from a containers-auth.json file ("auths" -> HOST ->
 * "auth", base64 of USER:PASSWORD) named by the caller, or
 * $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
 * ~/.docker/config.json, in that order; never from the command line.
 * Basic and bearer-token challenges are answered.  TLS is verified
 * (against ca_file when given); plain HTTP is tried only for a loopback
 * host or the one named insecure, and only when its TLS handshake fails.
 * Redirects are not followed, and an upload Location on another host is
 * refused: credentials never go to a host they were not meant for.
 */
#ifndef HALLMARK_REGISTRY_UPLOAD_H
#define HALLMARK_REGISTRY_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "hallmark/buf.h"
#include "hallmark/error.h"

#define HM_OCI_MANIFEST_TYPE "application/vnd.oci.image.manifest.v1+json"
#define HM_OCI_INDEX_TYPE "application/vnd.oci.image.index.v1+json"
#define HM_OCI_EMPTY_TYPE "application/vnd.oci.empty.v1+json"
/* sha256 of "{}", the empty descriptor's content (image-spec 1.1). */
#define HM_OCI_EMPTY_DIGEST \
	"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

/* Largest manifest or index read back (the fallback tag index). */
#define HM_REGUP_MANIFEST_MAX (4u << 20)

struct hm_regup_options {
	const char *authfile;      /* NULL: the default places */
	const char *ca_file;       /* NULL: the system's CAs */
	const char *insecure_host; /* plain HTTP allowed for it; NULL: loopback only */
};

/* A reference split: HOST[:PORT]/REPO[:TAG|@DIGEST] (malloc'd parts). */
struct hm_regup_ref {
	char *host;
	char *repo;
	char *tag;    /* NULL when none */
	char *digest; /* NULL when none */
};

/* HM_ERR_USAGE naming ref when it is not one; ret filled on success. */
int hm_regup_ref_parse(const char *ref, struct hm_regup_ref *ret,
		       struct hm_error *err);
void hm_regup_ref_clear(struct hm_regup_ref *r);

struct hm_regup;

struct hm_regup_stats {
	unsigned long requests;
	unsigned long blobs_uploaded, blobs_present, blobs_mounted;
	unsigned long chunks;
	unsigned long long bytes_uploaded;
};

/*
 * A push handle for HOST/REPO: reads the credentials, pings /v2/ to pick
 * the scheme.  HM_ERR_IO when the registry cannot be reached, HM_ERR_INPUT
 * when the auth file is malformed.
 */
int hm_regup_open(const char *host, const char *repo,
		  const struct hm_regup_options *o, struct hm_regup **ret,
		  struct hm_error *err);
void hm_regup_free(struct hm_regup *r);
const struct hm_regup_stats *hm_regup_stats(const struct hm_regup *r);

/* *has: the repository holds the blob digest (HEAD). */
int hm_regup_blob_has(struct hm_regup *r, const char *digest, bool *has,
		      struct hm_error *err);

/* Mount digest from repository from; *mounted false when the registry
 * started an upload instead (it is cancelled). */
int hm_regup_blob_mount(struct hm_regup *r, const char *digest,
			const char *from, bool *mounted, struct hm_error *err);

/* A whole blob in one PUT (after the POST that opens the session). */
int hm_regup_blob_put(struct hm_regup *r, const char *digest,
		      const void *data, size_t len, struct hm_error *err);

/* A chunked upload: start, chunks in order (PATCH with Content-Range),
 * finish with the digest (PUT ?digest=), or free to abandon it. */
struct hm_regup_upload;
int hm_regup_upload_start(struct hm_regup *r, struct hm_regup_upload **ret,
			  struct hm_error *err);
int hm_regup_upload_chunk(struct hm_regup_upload *u, const void *data,
			  size_t len, struct hm_error *err);
int hm_regup_upload_finish(struct hm_regup_upload *u, const char *digest,
			   struct hm_error *err);
void hm_regup_upload_free(struct hm_regup_upload *u);

/* PUT a manifest under reference (a tag or its digest); the digest the
 * registry answers must be the bytes' own (HM_ERR_INPUT otherwise). */
int hm_regup_manifest_put(struct hm_regup *r, const char *reference,
			  const char *media_type, const void *data, size_t len,
			  struct hm_error *err);

/* GET a manifest (up to HM_REGUP_MANIFEST_MAX); *found false on 404. */
int hm_regup_manifest_get(struct hm_regup *r, const char *reference,
			  const char *accept, struct hm_buf *out, bool *found,
			  struct hm_error *err);

/* GET the referrers API for digest; *supported false when the registry
 * has no such API (404 or not an image index), out then left empty. */
int hm_regup_referrers(struct hm_regup *r, const char *digest,
		       struct hm_buf *out, bool *supported,
		       struct hm_error *err);

#endif
