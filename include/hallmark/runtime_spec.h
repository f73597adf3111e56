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

#include "hallmark/error.h"

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

/*
 * The mount options a spec may name (docs/template-format.md): the
 * per-mount flags /proc/PID/mountinfo shows (ro, rw, nosuid, nodev,
 * noexec, noatime, relatime, nodiratime, nosymfollow), strictatime
 * (neither noatime nor relatime) and the superblock flags sync, dirsync,
 * lazytime.  ro and rw, and two of noatime, relatime, strictatime, do not
 * go together.
 */
bool hm_runtime_mount_option_valid(const char *opt);

/*
 * Sort every list of s into the manifest's canonical order: listeners by
 * proto, port, address, executable (absent before present); processes,
 * mounts (and each mount's options) and sysctl keys by strcmp.  A repeat
 * (the same listener, process, mount path, option or key twice) is
 * HM_ERR_INPUT naming it.
 */
int hm_runtime_spec_sort(struct hm_runtime_spec *s, struct hm_error *err);

/*
 * Check what the manifest writer and reader both insist on: every field
 * valid (proto, port, numeric address in inet_ntop's form, canonical
 * absolute paths, patterns that lib/glob.c accepts, known and compatible
 * mount options, sysctl keys without globs) and every list in canonical
 * order without repeats.  HM_ERR_INPUT naming the bad item, or
 * HM_ERR_LIMIT past HM_LIMIT_RUNTIME_LINES.
 */
int hm_runtime_spec_check(const struct hm_runtime_spec *s, struct hm_error *err);

/* Lines the spec takes in a manifest (the N of "runtime N"). */
size_t hm_runtime_spec_lines(const struct hm_runtime_spec *s);

/* A deep copy; the caller frees *ret with hm_runtime_spec_free(). */
int hm_runtime_spec_dup(const struct hm_runtime_spec *s,
			struct hm_runtime_spec **ret, struct hm_error *err);

/* The numeric address text in inet_ntop's form (IPv4 or IPv6, at most
 * 46 bytes with the NUL) into out; -1 if text is not a numeric address. */
int hm_runtime_addr_canonical(const char *text, char out[46]);

/* A sysctl key as the spec holds it: dotted components of printable
 * bytes (a '/' may appear inside one), no glob characters, no leading
 * '-' or '.'. */
bool hm_runtime_sysctl_key_valid(const char *key, size_t len);

#endif
