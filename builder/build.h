/*
 * The build pipeline as a library call (`hallmark build` is a thin
 * front-end over it; tests call it directly): template -> base -> tree ->
 * operations -> hardening -> audit gate -> outputs (rootfs tar, OCI
 * archive, audit report, SBOM) -> manifest -> signature -> VM disks and
 * their manifest -> build.json -> publish.
 *
 * Every output is written into a private staging folder inside the
 * output folder and published in one step when all of them exist: a
 * failed build leaves nothing at a final name.  The pipeline never
 * prints: progress goes to the caller's callbacks, errors to err.
 */
#ifndef HALLMARK_BUILD_H
#define HALLMARK_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hallmark/audit.h"
#include "hallmark/error.h"
#include "hallmark/progress.h"

/* Progress, for a front-end to show; every member may be NULL. */
struct hm_build_progress {
	/* A phase ("base", "operations", "audit", "rootfs", "oci",
	 * "manifest", "disk") finished after seconds. */
	void (*phase_done)(void *ctx, const char *phase, double seconds);
	/* The disk appliance stopped answering (why); it is started again,
	 * once. */
	void (*retrying)(void *ctx, const char *why);
	void *ctx;
	/* Each phase as a step of this progress handle (NULL: none), with
	 * what it can count (the disk's bytes, mmdebstrap's lines). */
	struct hm_progress *steps;
};

struct hm_build_options {
	const char *template_path;
	const char *out_dir;               /* the published outputs */
	const char *cache_dir;             /* bases and blobs; created if needed */
	const char *key_path;              /* NULL: no signatures */
	const char *passphrase_file;       /* for key_path; NULL: as hm_passphrase_get */
	bool have_serial;                  /* else the template's serial */
	uint64_t serial;
	/* The source date (SOURCE_DATE_EPOCH): every timestamp in the
	 * outputs.  The caller also exports it for mmdebstrap (Debian
	 * bases). */
	time_t sde;
	const struct hm_build_progress *progress;   /* NULL: none */
};

/* What a build made.  Filled also when the audit gate failed (then only
 * the gate's members and name are meaningful). */
struct hm_build_result {
	char *name;                        /* the template's image name */
	uint64_t serial, entries;          /* of the (container) manifest */
	double seconds;                    /* from start to publish */
	char **published;                  /* final paths, in output order */
	size_t n_published;
	/* The audit gate: failed means a finding at or above fail_on that
	 * no exception covers; nothing was written. */
	bool gate_failed;
	enum hm_severity fail_on;
	struct hm_audit_result audit;
};

/*
 * Run the build opt describes.  Returns 0 when it ran (res->gate_failed
 * says whether the audit gate stopped it before any output), or a
 * negative error code with err set: HM_ERR_INPUT for a bad template, or
 * a source date so old that the manifest would be expired when written,
 * or a package database that is there but cannot be read; HM_ERR_IO,
 * HM_ERR_LIMIT, HM_ERR_NOMEM; HM_ERR_TRUST for a key that cannot be
 * used.  res is zeroed first; free it with hm_build_result_free() in
 * every case.
 */
int hm_build_run(const struct hm_build_options *opt, struct hm_build_result *res,
		 struct hm_error *err);
void hm_build_result_free(struct hm_build_result *res);   /* accepts NULL */

#endif
