/*
 * What a running instance of an image may do: the template's `runtime:`
 * section, carried in the signed manifest (docs/manifest-format.md, "The
 * runtime extension") so that a verifier can hold a live system to it.
 *
 * The builder fills it (builder/template.c parses listen, processes and
 * mounts; builder/build.c adds the sysctl keys the built tree's sysctl
 * configuration sets), lib/manifest.c writes and reads it, and the runtime
 * engine compares a running system against it.  Every string is owned by
 * the spec; hm_runtime_spec_free() releases all of it.
 */
#ifndef HALLMARK_RUNTIME_SPEC_H
#define HALLMARK_RUNTIME_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A socket the instance may listen on. */
struct hm_runtime_listen {
	char proto[4];      /* "tcp" or "udp" */
	uint16_t port;      /* 1..65535 */
	char *addr;         /* NULL: any address; else numeric IPv4/IPv6 text */
	char *exe;          /* NULL: any process; else an absolute path */
};

/* Options a mount point must have. */
struct hm_runtime_mount {
	char *path;         /* absolute */
	char **options;     /* "ro", "nosuid", ...: sorted, unique */
	size_t n_options;
};

/* A kernel setting the image's sysctl configuration applies at boot. */
struct hm_runtime_sysctl {
	char *key;          /* dotted: "net.ipv4.ip_forward" */
	char *value;        /* as the image's config sets it, runs of blanks made one space */
};

struct hm_runtime_spec {
	struct hm_runtime_listen *listen; size_t n_listen;
	bool processes_listed;                 /* the template has `processes:` */
	char **processes; size_t n_processes;  /* absolute paths or lib/glob.c globs */
	struct hm_runtime_mount *mounts; size_t n_mounts;
	struct hm_runtime_sysctl *sysctl; size_t n_sysctl;
};

/* Free the spec and everything it owns.  NULL is a no-op. */
void hm_runtime_spec_free(struct hm_runtime_spec *s);

#endif
