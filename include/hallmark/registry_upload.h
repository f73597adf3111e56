/*
 * What `hallmark push` adds to the registry client (registry.h), on its
 * handle, transport and authentication (lib/registry_upload.c): chunked
 * uploads (PATCH with Content-Range), cross-repository mounts, and the
 * question the client's hm_registry_referrers hides, whether the registry
 * has the referrers API at all (without it the pusher keeps the
 * sha256-HEX tag up to date).
 */
#ifndef HALLMARK_REGISTRY_UPLOAD_H
#define HALLMARK_REGISTRY_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "hallmark/error.h"
#include "hallmark/registry.h"

/* POST ?mount=DIGEST&from=FROM: 1 when mounted, 0 when the registry
 * opened an upload instead (it is cancelled: the caller uploads). */
int hm_registry_mount_blob(struct hm_registry *reg, const char *repo,
			   const char *digest, const char *from,
			   struct hm_error *err);

/* A chunked upload: start (POST), chunks in order (PATCH, Content-Range),
 * finish with the digest (PUT ?digest=, no body), or free to abandon it
 * (DELETE).  The upload locations must stay on the registry's host. */
struct hm_registry_upload;
int hm_registry_upload_start(struct hm_registry *reg, const char *repo,
			     struct hm_registry_upload **ret,
			     struct hm_error *err);
int hm_registry_upload_chunk(struct hm_registry_upload *u, const void *data,
			     size_t len, struct hm_error *err);
int hm_registry_upload_finish(struct hm_registry_upload *u,
			      const char *digest, struct hm_error *err);
void hm_registry_upload_free(struct hm_registry_upload *u); /* accepts NULL */

/* *has: GET /v2/REPO/referrers/DIGEST answers 200 with an image index
 * (distribution-spec 1.1); anything else but an auth failure: no API. */
int hm_registry_referrers_api(struct hm_registry *reg, const char *repo,
			      const char *digest, bool *has,
			      struct hm_error *err);

#endif
