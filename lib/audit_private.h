/*
 * What the audit rule families (lib/audit_*.c) share with the engine in
 * lib/audit_rules.c; internal to lib/.  A family file holds its rules'
 * rows (hm_audit_rules_FAMILY) next to the checks that raise them; the
 * engine merges the rows into one table and runs the checks in turn.
 */
#ifndef HALLMARK_AUDIT_PRIVATE_H
#define HALLMARK_AUDIT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hallmark/audit.h"
#include "hallmark/buf.h"
#include "hallmark/entry.h"
#include "hallmark/error.h"
#include "hallmark/image.h"
#include "hallmark/tree.h"

#define CIS "CIS Debian Linux 12 Benchmark: "

struct user {
	const char *name, *pw, *shell;
	uint32_t uid, gid;
};

struct shadow {
	const char *name, *hash;
};

struct actx {
	const struct hm_image *img;
	const struct hm_tree *tree;
	const struct hm_audit_options *opt;
	struct hm_audit_result *res;
	struct hm_error *err;
	struct hm_buf tmp;
	/* Accounts, pointing into the file buffers below. */
	char *passwd_data, *shadow_data, *group_data;
	size_t shadow_len;
	struct user *users;
	size_t n_users;
	struct shadow *shadows;
	size_t n_shadows;
	uint32_t *uids, *gids;          /* sorted, for unowned files */
	size_t n_uids, n_gids;
	bool have_passwd, have_group;
};

/* Each family's rows, in any order (the engine sorts the merged table). */
extern const struct hm_audit_rule hm_audit_rules_accounts[];
extern const size_t hm_audit_n_rules_accounts;
extern const struct hm_audit_rule hm_audit_rules_contents[];
extern const size_t hm_audit_n_rules_contents;
extern const struct hm_audit_rule hm_audit_rules_files[];
extern const size_t hm_audit_n_rules_files;
extern const struct hm_audit_rule hm_audit_rules_ssh[];
extern const size_t hm_audit_n_rules_ssh;
extern const struct hm_audit_rule hm_audit_rules_system[];
extern const size_t hm_audit_n_rules_system;
extern const struct hm_audit_rule hm_audit_rules_vulns[];
extern const size_t hm_audit_n_rules_vulns;
extern const struct hm_audit_rule hm_audit_rules_registry[];   /* audit_registry.c */
extern const size_t hm_audit_n_rules_registry;

/* The checks, in the order hm_audit_run calls them: 0 or a negative error;
 * findings and skipped notes go into a->res. */
int hm_audit_load_accounts(struct actx *a);
int hm_audit_check_accounts(struct actx *a);
int hm_audit_check_ssh(struct actx *a);
int hm_audit_check_machine_id(struct actx *a);
int hm_audit_check_sysctl(struct actx *a);
int hm_audit_check_umask(struct actx *a);
int hm_audit_check_files(struct actx *a);
int hm_audit_check_contents(struct actx *a);
int hm_audit_check_vulns(struct actx *a);

/* Shared helpers (lib/audit_rules.c). */
int hm_audit_nomem(struct actx *a);
/* path made printable (\ooo escapes) in a->tmp: valid until the next call. */
const char *hm_audit_qpath(struct actx *a, const char *path, size_t len);
/* A note in res->skipped: something left unaudited that is no finding. */
__attribute__((format(printf, 2, 3)))
int hm_audit_skipped(struct actx *a, const char *fmt, ...);
/* A finding of rule id at path (NULL: the image), unless an exception
 * covers it (then counted as excepted). */
__attribute__((format(printf, 5, 6)))
int hm_audit_finding(struct actx *a, const char *id, const char *path,
		     size_t path_len, const char *fmt, ...);
/* The entry at path in the image's tree, or NULL. */
const struct hm_entry *hm_audit_get(const struct actx *a, const char *path);
int hm_audit_read_file(struct actx *a, const char *path, char **ret, size_t *ret_len);
int hm_audit_not_a_file(struct actx *a, const char *id, const struct hm_entry *e);
/* A file a verdict of rule family id rests on: 1 and its contents, 0 if
 * it is not there, or a finding of id when it is there but unreadable. */
int hm_audit_read_audited(struct actx *a, const char *id, const char *path,
			  char **ret, size_t *ret_len);
char *hm_audit_next_line(char **pos, char *end, size_t *ret_len);
bool hm_audit_has_id(const uint32_t *ids, size_t n, uint32_t id);
bool hm_audit_is_space(char c);

#endif
