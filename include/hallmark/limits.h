/*
 * Named limits on every size that comes from untrusted input.
 *
 * A limit exceeded is an HM_ERR_LIMIT error naming the limit, never a
 * truncation.  They are generous for real systems and small enough that a
 * hostile input cannot exhaust memory.
 */
#ifndef HALLMARK_LIMITS_H
#define HALLMARK_LIMITS_H

/* Raw bytes of one path inside an image (deeper than PATH_MAX is fine). */
#define HM_LIMIT_PATH_BYTES        (64u * 1024)
/* Directory depth of a tree. */
#define HM_LIMIT_DEPTH             4096u
/* Raw bytes of a symlink target. */
#define HM_LIMIT_TARGET_BYTES      (64u * 1024)
/* xattrs on one entry, the bytes of one name, of one value, of all values. */
#define HM_LIMIT_XATTRS            256u
#define HM_LIMIT_XATTR_NAME_BYTES  255u
#define HM_LIMIT_XATTR_VALUE_BYTES (64u * 1024)
#define HM_LIMIT_XATTR_TOTAL_BYTES (256u * 1024)
/* One manifest line (escaping can quadruple a path), the whole file. */
#define HM_LIMIT_MANIFEST_LINE     (1024u * 1024)
#define HM_LIMIT_MANIFEST_BYTES    (8ull * 1024 * 1024 * 1024)
#define HM_LIMIT_MANIFEST_ENTRIES  (100ull * 1000 * 1000)
/* Image name in a manifest header. */
#define HM_LIMIT_NAME_BYTES        128u
/* Small text files: signatures, public keys, private keys, passphrases. */
#define HM_LIMIT_SIGFILE_BYTES     4096u
#define HM_LIMIT_KEYFILE_BYTES     (16u * 1024)
#define HM_LIMIT_PASSPHRASE_BYTES  1024u
/* Policy and template YAML files, and their nesting. */
#define HM_LIMIT_YAML_BYTES        (4u * 1024 * 1024)
#define HM_LIMIT_YAML_DEPTH        32u
#define HM_LIMIT_POLICY_GLOBS      10000u
#define HM_LIMIT_GLOB_BYTES        4096u
/* Build templates: items in one list (operations, packages, keys,
 * env...), bytes of one file's inline content and of one source file,
 * bytes of one short string (a package, a suite, a shell, a key line). */
#define HM_LIMIT_TPL_ITEMS         10000u
#define HM_LIMIT_TPL_CONTENT       (1024u * 1024)
#define HM_LIMIT_TPL_SOURCE        (64ull * 1024 * 1024)
#define HM_LIMIT_TPL_STRING        (16u * 1024)
/* Lines of a manifest's runtime extension ("runtime N": listeners,
 * processes, mounts and sysctl keys together); at build, the bytes of one
 * sysctl configuration file of the built tree and the assignments of all
 * of them (a key set again counts again). */
#define HM_LIMIT_RUNTIME_LINES     65536u
#define HM_LIMIT_RUNTIME_SYSCTL_FILE_BYTES (1u * 1024 * 1024)
#define HM_LIMIT_RUNTIME_ASSIGNMENTS (4u * HM_LIMIT_RUNTIME_LINES)
/* A template's expires_days: 100 years; more is a typo, and days * 86400
 * stays far from overflow. */
#define HM_TPL_MAX_EXPIRES_DAYS    36500u
/* Exceptions in one audit exception list (a template's, a rules file's),
 * and the bytes of a rule id (or family) and of a reason. */
#define HM_LIMIT_AUDIT_EXCEPTIONS  10000u
#define HM_LIMIT_AUDIT_RULE_BYTES  64u
#define HM_LIMIT_AUDIT_REASON_BYTES 1024u
/* Names in one directory that a scan holds at once. */
#define HM_LIMIT_DIR_ENTRIES       (10u * 1000 * 1000)

/* OCI images (lib/source_oci.c and its parts): what an image may make
 * us hold or do. */
/* One JSON document: oci-layout, index.json, manifest.json, a manifest,
 * an index, a config. */
#define HM_LIMIT_OCI_JSON_BYTES     (4u * 1024 * 1024)
/* Layers of one image. */
#define HM_LIMIT_OCI_LAYERS         256u
/* Nested image indexes followed from index.json. */
#define HM_LIMIT_OCI_INDEX_DEPTH    4u
/* Members of the outer archive. */
#define HM_LIMIT_OCI_MEMBERS        (1000u * 1000)
/* Members of one layer. */
#define HM_LIMIT_OCI_LAYER_MEMBERS  (10u * 1000 * 1000)
/* Uncompressed tar stream of one layer, and the sum of the logical sizes
 * of its files (sparse members count with their logical size). */
#define HM_LIMIT_OCI_LAYER_BYTES    (64ull * 1024 * 1024 * 1024)
/* Logical size of one file in a layer. */
#define HM_LIMIT_OCI_FILE_BYTES     (64ull * 1024 * 1024 * 1024)

/* Attestations (hallmark attest): the build record and the SBOM are read
 * whole to be signed; an SBOM lists every package, a few MiB at most for
 * a full Debian system. */
#define HM_LIMIT_BUILD_RECORD_BYTES (1u * 1024 * 1024)
#define HM_LIMIT_SBOM_BYTES         (64u * 1024 * 1024)
/* Changed paths `hallmark watch` holds between two checks; a burst of
 * more is checked by a full verify instead (memory stays bounded). */
#define HM_LIMIT_WATCH_PENDING      (64u * 1024)

/* Registries (lib/registry*.c): what a registry may make us hold or do. */
/* One manifest, index, referrers index or error body (distribution's own
 * limit for manifests is 4 MiB). */
#define HM_LIMIT_REGISTRY_MANIFEST_BYTES (4u * 1024 * 1024)
/* Redirects followed for one request. */
#define HM_LIMIT_REGISTRY_REDIRECTS      5u
/* Authentication rounds (401 then credentials) for one request. */
#define HM_LIMIT_REGISTRY_AUTH_ROUNDS    2u
/* Bytes of every blob of one image, summed. */
#define HM_LIMIT_REGISTRY_TOTAL_BYTES    (256ull * 1024 * 1024 * 1024)
/* Names in a tag list or a catalog, all pages together, and the pages. */
#define HM_LIMIT_REGISTRY_NAMES          (1000u * 1000)
#define HM_LIMIT_REGISTRY_PAGES          10000u
/* Descriptors in one referrers index. */
#define HM_LIMIT_REGISTRY_REFERRERS      1000u
/* An auth file, a token response, one response header line. */
#define HM_LIMIT_REGISTRY_AUTHFILE_BYTES (1024u * 1024)
#define HM_LIMIT_REGISTRY_TOKEN_BYTES    (256u * 1024)
#define HM_LIMIT_REGISTRY_HEADER_BYTES   (16u * 1024)
/* Seconds a transfer may stall below 1 KiB/s before it is dropped, and
 * to connect. */
#define HM_LIMIT_REGISTRY_STALL_SECONDS  30u
#define HM_LIMIT_REGISTRY_CONNECT_SECONDS 30u

#endif
