/*
 * A client of OCI distribution-spec v2 registries (lib/registry*.c), on
 * libcurl and jansson: manifests, blobs checked by digest and size while
 * they stream, tags, the catalog, the 1.1 referrers API with its fallback
 * tag, and the uploads `hallmark push` builds on.  docs/registry.md is the
 * user's side: the media types, the redirect and TLS rules, the limits.
 *
 * Trust rules the client keeps whatever the caller does:
 *  - TLS is verified (system CAs, or the --ca-file); plain HTTP only to a
 *    loopback host or one named in insecure_hosts.
 *  - A redirect is followed only to the same scheme, host and port, except
 *    for a blob GET, which may go to another host (registries keep blobs
 *    on a CDN or object store) over HTTPS, without credentials: the
 *    digest is what makes those bytes trusted.  A manifest, tag list,
 *    catalog or referrers redirect to another host is refused.
 *  - A blob's bytes reach the caller's sink as they stream, but the call
 *    returns 0 only once its size and sha256 match the descriptor; the
 *    caller keeps nothing under a digest-derived name before that.
 *  - Credentials come from a containers-auth.json file, never argv.
 */
#ifndef HALLMARK_REGISTRY_H
#define HALLMARK_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hallmark/buf.h"
#include "hallmark/error.h"
#include "hallmark/options.h"

/* Media and artifact types (docs/registry.md). */
#define HM_MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define HM_MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define HM_MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define HM_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define HM_MT_OCI_EMPTY       "application/vnd.oci.empty.v1+json"
/* The artifact a signed hallmark manifest travels in, and its two layers. */
#define HM_ARTIFACT_MANIFEST  "application/vnd.hallmark.manifest.v1"
#define HM_MT_MANIFEST_LAYER  "application/vnd.hallmark.manifest.v1+text"
#define HM_MT_SIGNATURE_LAYER "application/vnd.hallmark.signature.v1+text"

/* "sha256:" and 64 hex digits, NUL-terminated. */
#define HM_REGISTRY_DIGEST_LEN 71

/* Connection settings: the CLI's --authfile, --ca-file,
 * --insecure-registry.  Borrowed by what is opened with them. */
struct hm_registry_options {
	const char *authfile;          /* NULL: $REGISTRY_AUTH_FILE, then
					* $XDG_RUNTIME_DIR/containers/auth.json,
					* then ~/.docker/config.json */
	const char *ca_file;           /* NULL: the system's CAs */
	const char *const *insecure_hosts;   /* HOST[:PORT] allowed over HTTP */
	size_t n_insecure;
};

/*
 * The settings registry: targets are opened with.  A TARGET is opened
 * through the table of targets (target.h), whose rows take scan options
 * only; the commands set these once, after parsing their options.  o is
 * borrowed (NULL: the defaults) and must outlive every open.
 */
void hm_registry_set_options(const struct hm_registry_options *o);
const struct hm_registry_options *hm_registry_get_options(void);

/*
 * What a command keeps of HM_OPT_REGISTRY (options.h):
 *	struct hm_registry_cli rcli = HM_REGISTRY_CLI_INIT(rcli);
 * then, after parsing, hm_registry_cli_apply(&rcli) makes them the
 * settings of every registry: target this process opens.
 */
#define HM_REGISTRY_MAX_INSECURE 16
struct hm_registry_cli {
	const char *authfile, *ca_file;
	const char *insecure_v[HM_REGISTRY_MAX_INSECURE];
	struct hm_option_list insecure;
	struct hm_registry_options opt;
};
#define HM_REGISTRY_CLI_INIT(name) \
	{ .insecure = { (name).insecure_v, HM_REGISTRY_MAX_INSECURE, 0 } }
void hm_registry_cli_apply(struct hm_registry_cli *cli);

/* A reference: HOST[:PORT]/REPO[:TAG|@sha256:HEX]. */
struct hm_registry_ref {
	char *host;        /* "127.0.0.1:5000", "registry.example" */
	char *repo;        /* "base/debian" */
	char *tag;         /* NULL if by digest; "latest" if neither given */
	char digest[HM_REGISTRY_DIGEST_LEN + 1];   /* "" if by tag */
};

/* Parse spec (what follows "registry:").  HM_ERR_USAGE when malformed.
 * With allow_bare, "HOST" alone is accepted (repo NULL: a whole registry). */
int hm_registry_ref_parse(const char *spec, bool allow_bare,
			  struct hm_registry_ref *ret, struct hm_error *err);
void hm_registry_ref_clear(struct hm_registry_ref *ref);   /* accepts NULL */

/* One registry host; one libcurl handle, reused (keep-alive). */
struct hm_registry;

int hm_registry_new(const char *host, const struct hm_registry_options *o,
		    struct hm_registry **ret, struct hm_error *err);
void hm_registry_free(struct hm_registry *reg);         /* accepts NULL */

/*
 * GET a manifest by tag or digest, accepting the OCI and Docker image
 * manifest and index types (accept NULL) or the given Accept value.  The
 * body (at most HM_LIMIT_REGISTRY_MANIFEST_BYTES) goes to body, its media
 * type (allocated) to *ret_mt and its sha256 to ret_digest; by digest, a
 * body whose sha256 differs is HM_ERR_INPUT.  404: HM_ERR_INPUT
 * "manifest unknown"; use hm_registry_head_manifest to ask.
 */
int hm_registry_get_manifest(struct hm_registry *reg, const char *repo,
			     const char *reference, const char *accept,
			     struct hm_buf *body, char **ret_mt,
			     char ret_digest[HM_REGISTRY_DIGEST_LEN + 1],
			     struct hm_error *err);
/* HEAD: 1 if present (ret_digest from Docker-Content-Digest, "" if the
 * registry sent none), 0 if 404. */
int hm_registry_head_manifest(struct hm_registry *reg, const char *repo,
			      const char *reference,
			      char ret_digest[HM_REGISTRY_DIGEST_LEN + 1],
			      struct hm_error *err);

/* Where a blob's bytes go as they stream; 0 or a negative error. */
typedef int (*hm_registry_sink_fn)(void *ctx, const void *buf, size_t len,
				   struct hm_error *err);

/*
 * GET the blob digest ("sha256:HEX") of exactly size bytes (from its
 * descriptor, never from Content-Length) into sink.  More bytes than size
 * stop the transfer at once (HM_ERR_INPUT); fewer or a different sha256
 * is HM_ERR_INPUT after the last byte; in both cases the caller must drop
 * what the sink received.  *total, if not NULL, counts the bytes of every
 * blob of one image against HM_LIMIT_REGISTRY_TOTAL_BYTES.
 */
int hm_registry_get_blob(struct hm_registry *reg, const char *repo,
			 const char *digest, uint64_t size,
			 hm_registry_sink_fn sink, void *ctx, uint64_t *total,
			 struct hm_error *err);

/* A small blob (at most max bytes) into body, checked the same way. */
int hm_registry_get_blob_buf(struct hm_registry *reg, const char *repo,
			     const char *digest, uint64_t size, size_t max,
			     struct hm_buf *body, struct hm_error *err);

/* A list of names (tags, repositories); free with hm_registry_names_free. */
struct hm_registry_names {
	char **v;
	size_t n;
};
void hm_registry_names_free(struct hm_registry_names *names);

/* Every tag of repo, every repository of the catalog, following the Link
 * header's rel="next" (same host only), at most HM_LIMIT_REGISTRY_NAMES. */
int hm_registry_tags(struct hm_registry *reg, const char *repo,
		     struct hm_registry_names *ret, struct hm_error *err);
int hm_registry_catalog(struct hm_registry *reg,
			struct hm_registry_names *ret, struct hm_error *err);

/* One descriptor of a referrers index. */
struct hm_registry_desc {
	char *media_type, *artifact_type;     /* artifact_type may be NULL */
	char digest[HM_REGISTRY_DIGEST_LEN + 1];
	uint64_t size;
};
struct hm_registry_descs {
	struct hm_registry_desc *v;
	size_t n;
};
void hm_registry_descs_free(struct hm_registry_descs *d);

/*
 * The manifests that name subject (a digest) as their subject, of
 * artifact_type only if not NULL: the referrers API, or, where the
 * registry answers 404 there, the fallback tag "sha256-HEX".  None is an
 * empty list.  The entries are only what the index claims: callers fetch
 * each and check its subject (hm_registry_get_manifest + the subject).
 */
int hm_registry_referrers(struct hm_registry *reg, const char *repo,
			  const char *subject, const char *artifact_type,
			  struct hm_registry_descs *ret, struct hm_error *err);

/*
 * Uploads (for `hallmark push`).  hm_registry_blob_exists: HEAD, 1 or 0.
 * hm_registry_put_blob: a monolithic upload (POST, then PUT ?digest=) of
 * len bytes whose digest the caller computed; the registry checks it.
 * hm_registry_put_manifest: PUT data of media type mt under reference (a
 * tag or its digest); ret_digest (may be NULL) is its sha256.
 */
int hm_registry_blob_exists(struct hm_registry *reg, const char *repo,
			    const char *digest, struct hm_error *err);
int hm_registry_put_blob(struct hm_registry *reg, const char *repo,
			 const char *digest, const void *data, size_t len,
			 struct hm_error *err);
int hm_registry_put_manifest(struct hm_registry *reg, const char *repo,
			     const char *reference, const char *mt,
			     const void *data, size_t len,
			     char ret_digest[HM_REGISTRY_DIGEST_LEN + 1],
			     struct hm_error *err);

/*
 * Parsing helpers, exported for the unit tests.
 * hm_registry_challenge: from a WWW-Authenticate value, the scheme
 * ("basic" / "bearer", lowercased) and for bearer realm, service, scope
 * (each allocated, NULL if absent).  hm_registry_link_next: the target of
 * rel="next" of a Link value, allocated, or NULL.
 */
struct hm_registry_challenge {
	char *scheme, *realm, *service, *scope;
};
int hm_registry_challenge_parse(const char *value,
				struct hm_registry_challenge *ret,
				struct hm_error *err);
void hm_registry_challenge_clear(struct hm_registry_challenge *c);
char *hm_registry_link_next(const char *value);
/* The "user:password" of host in the auth file's JSON text (allocated,
 * secret), NULL if none; HM_ERR_INPUT for a malformed file. */
int hm_registry_auth_lookup(const char *json_text, size_t len,
			    const char *host, char **ret, struct hm_error *err);

/*
 * Registry targets (lib/source_registry.c).  hm_registry_trusted_manifest
 * finds, among the referrers of the image spec names, the hallmark
 * manifests (HM_ARTIFACT_MANIFEST) whose subject is that image, and opens
 * the first whose signature a key of keys verifies (hm_trust_open).  None
 * attached, or none signed by a pinned key: HM_ERR_TRUST "unsigned image".
 * *ret_target is "registry:HOST/REPO@sha256:HEX", the image that manifest
 * is attached to, to be verified instead of a tag that may move.
 */
struct hm_pubkey;
struct hm_trusted_manifest;
int hm_registry_trusted_manifest(const char *spec,
				 struct hm_pubkey *const *keys, size_t n_keys,
				 time_t now, struct hm_trusted_manifest **ret_tm,
				 char **ret_target, char **ret_desc,
				 struct hm_error *err);

/*
 * Audits of registries (lib/audit_registry.c).  hm_registry_audit: every
 * tag of every repository of host's catalog whose name repo_glob (NULL:
 * all) matches, audited into res (paths "REPO:TAG:/path"); with keys, an
 * image without an attached manifest signed by one of them is HM-REG-001;
 * an image that cannot be read or audited is HM-REG-002 and the run goes
 * on.  Errors: the catalog itself, memory.  hm_registry_audit_image: the
 * signature check alone, for one image (spec as for registry:).
 */
struct hm_audit_options;
struct hm_audit_result;
int hm_registry_audit(const char *host, const char *repo_glob,
		      struct hm_pubkey *const *keys, size_t n_keys,
		      const struct hm_audit_options *opt,
		      struct hm_audit_result *res, struct hm_error *err);
int hm_registry_audit_image(const char *spec, struct hm_pubkey *const *keys,
			    size_t n_keys, struct hm_audit_result *res,
			    struct hm_error *err);

#endif
