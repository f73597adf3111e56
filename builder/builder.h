/*
 * Commands of the producing side: keys, signatures, manifests, builds.
 */
#ifndef HALLMARK_BUILDER_H
#define HALLMARK_BUILDER_H

int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_manifest(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_push(int argc, char **argv);

#include <stddef.h>

/* What `hallmark push` and `hallmark build --push` take (cmd_push.c). */
#define HM_PUSH_CHUNK_DEFAULT ((size_t)16 << 20)
struct hm_push_options {
	const char *ref;           /* HOST[:PORT]/REPO[:TAG] */
	const char *keypath;       /* NULL: no attestations */
	const char *passfile;
	const char *manifest;      /* NULL: NAME.manifest beside the image */
	const char *authfile, *ca_file, *insecure_host, *mount_from;
	size_t chunk_size;
};
/* Push image and attach its manifest and attestations: an exit code,
 * the errors printed. */
int hm_push_run(const char *image, const struct hm_push_options *po);

/* Registry secrets are never taken on the command line. */
#define HM_OPT_PUSH_NO_SECRETS() \
	{ .type = HM_OPT_TYPE_REFUSE, .long_name = "password", \
	  .what = "registry passwords are never taken on the command line: " \
		  "use --authfile (containers-auth.json)" }, \
	{ .type = HM_OPT_TYPE_REFUSE, .long_name = "creds", \
	  .what = "registry credentials are never taken on the command line: " \
		  "use --authfile (containers-auth.json)" }

#endif
