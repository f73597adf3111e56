/*
 * Unit tests: the audit rules (lib/audit_rules.c), the gate (lib/audit.c)
 * and the reports (lib/audit_report.c), over small trees built in memory
 * with canned file contents.
 */
#include "harness.h"

#include <crypt.h>
#include <jansson.h>

#include "hallmark/audit.h"
#include "hallmark/report.h"

/* ---- fixtures --------------------------------------------------------- */

#define FX_MAX 64

struct fx {
	struct hm_tree *t;
	const char *paths[FX_MAX];
	char *data[FX_MAX];
	size_t len[FX_MAX];
	size_t n;
	struct hm_image *img;
	struct hm_audit_result res;
};

static int fx_read(void *ctx, const struct hm_entry *e, size_t max, char **ret,
		   size_t *ret_len, struct hm_error *err)
{
	struct fx *fx = ctx;
	size_t i;

	for (i = 0; i < fx->n; i++) {
		if (strcmp(fx->paths[i], e->path) != 0)
			continue;
		if (fx->len[i] > max)
			return hm_error_set(err, HM_ERR_LIMIT, 0, "too large");
		if (!(*ret = malloc(fx->len[i] + 1)))
			return HM_ERR_NOMEM;
		memcpy(*ret, fx->data[i], fx->len[i]);
		(*ret)[fx->len[i]] = '\0';
		*ret_len = fx->len[i];
		return 0;
	}
	return hm_error_set(err, HM_ERR_INPUT, 0, "'%s' was not captured", e->path);
}

static struct hm_entry *mk(const char *path, enum hm_type type, unsigned mode,
			   unsigned uid, unsigned gid)
{
	struct hm_entry *e = hm_entry_new();

	if (!e || hm_entry_set_path(e, path, strlen(path)) < 0)
		abort();
	e->type = type;
	e->mode = mode;
	e->uid = uid;
	e->gid = gid;
	return e;
}

static void fx_put(struct fx *fx, struct hm_entry *e)
{
	struct hm_error err = { 0 };

	if (!fx->t && hm_tree_new(&fx->t, &err) < 0)
		abort();
	if (hm_tree_put_take(fx->t, e, true, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
}

static void fx_filen(struct fx *fx, const char *path, unsigned mode,
		     const char *data, size_t len)
{
	struct hm_entry *e = mk(path, HM_TYPE_FILE, mode, 0, 0);

	e->size = len;
	fx_put(fx, e);
	if (fx->n == FX_MAX)
		abort();
	fx->paths[fx->n] = path;
	fx->data[fx->n] = malloc(len + 1);
	memcpy(fx->data[fx->n], data, len);
	fx->len[fx->n++] = len;
}

static void fx_file(struct fx *fx, const char *path, const char *data)
{
	fx_filen(fx, path, 0644, data, strlen(data));
}

/* A root that passes most rules; tests add what they check. */
static void fx_base(struct fx *fx)
{
	fx_file(fx, "/etc/passwd",
		"root:x:0:0:root:/root:/bin/bash\n"
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	fx_file(fx, "/etc/shadow", "root:*:19000:0:99999:7:::\n"
		"daemon:*:19000:0:99999:7:::\n");
	fx_file(fx, "/etc/group", "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n");
}

static int fx_run(struct fx *fx, const struct hm_audit_options *opt,
		  struct hm_error *err)
{
	if (!fx->t && hm_tree_new(&fx->t, err) < 0)
		return -1;
	if (hm_image_from_tree(fx->t, fx_read, fx, &fx->img, err) < 0)
		return -1;
	return hm_audit_run(fx->img, opt, &fx->res, err);
}

static void fx_free(struct fx *fx)
{
	size_t i;

	hm_audit_result_free(&fx->res);
	hm_image_free(fx->img);
	hm_tree_free(fx->t);
	for (i = 0; i < fx->n; i++)
		free(fx->data[i]);
	memset(fx, 0, sizeof(*fx));
}

/* Findings of rule id (with message containing needle, if given). */
static size_t count(const struct fx *fx, const char *id, const char *needle)
{
	size_t i, n = 0;

	for (i = 0; i < fx->res.n_findings; i++) {
		const struct hm_audit_finding *f = &fx->res.findings[i];

		if (strcmp(f->rule->id, id) == 0 &&
		    (!needle || strstr(f->message, needle)))
			n++;
	}
	return n;
}

static const struct hm_audit_finding *first(const struct fx *fx, const char *id)
{
	size_t i;

	for (i = 0; i < fx->res.n_findings; i++)
		if (strcmp(fx->res.findings[i].rule->id, id) == 0)
			return &fx->res.findings[i];
	return NULL;
}

/* The path of the first finding of rule id, "(none)" without one. */
static const char *first_path(const struct fx *fx, const char *id)
{
	const struct hm_audit_finding *f = first(fx, id);

	return f && f->path ? f->path : "(none)";
}

static bool has_skipped(const struct fx *fx, const char *needle)
{
	size_t i;

	for (i = 0; i < fx->res.n_skipped; i++)
		if (strstr(fx->res.skipped[i], needle))
			return true;
	return false;
}

/* ---- the table -------------------------------------------------------- */

TEST(rule_table_is_sorted_and_complete)
{
	size_t n, i;
	const struct hm_audit_rule *r = hm_audit_rules(&n);

	CHECK(n >= 25);
	for (i = 0; i < n; i++) {
		CHECK(r[i].id && r[i].title && r[i].rationale);
		if (i)
			CHECK(strcmp(r[i - 1].id, r[i].id) < 0);
		CHECK(hm_audit_rule_find(r[i].id) == &r[i]);
		CHECK(r[i].severity <= HM_SEV_CRITICAL);
	}
	CHECK(hm_audit_rule_find("HM-NOPE-001") == NULL);
	CHECK_EQ_INT(hm_audit_rule_find("HM-ACCT-001")->severity, HM_SEV_CRITICAL);
	CHECK_EQ_STR(hm_severity_name(HM_SEV_MEDIUM), "medium");
	CHECK_EQ_INT(hm_severity_from_name("critical"), HM_SEV_CRITICAL);
	CHECK_EQ_INT(hm_severity_from_name("severe"), -1);
}

/* ---- accounts --------------------------------------------------------- */

TEST(clean_base_has_no_account_findings)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	fx_base(&fx);
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-001", NULL) + count(&fx, "HM-ACCT-002", NULL) +
		     count(&fx, "HM-ACCT-003", NULL) + count(&fx, "HM-ACCT-004", NULL) +
		     count(&fx, "HM-ACCT-005", NULL) + count(&fx, "HM-FILE-005", NULL), 0);
	CHECK_EQ_INT(fx.res.n_skipped, 0);
	fx_free(&fx);
}

TEST(empty_password_uid0_and_unlocked_root)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	fx_file(&fx, "/etc/passwd",
		"root:x:0:0:root:/root:/bin/bash\n"
		"toor:x:0:0::/root:/bin/bash\n"
		"bob:x:1000:1000::/home/bob:/bin/bash\n"
		"daemon:x:1:1::/usr/sbin:/bin/bash\n"
		"sync:x:4:65534:sync:/bin:/bin/sync\n");
	fx_file(&fx, "/etc/shadow",
		"root:$6$abcdefgh$Jm2ltqkdq4s2n6vj0i1m6Qy7I2xN1a8jQwN6hKj1o5F0m5QxW1YzAa.bcdEFGhijKLmnopQRstuVWXyz0123456789:19000:0:99999:7:::\n"
		"bob::19000:0:99999:7:::\n"
		"toor:!:19000:0:99999:7:::\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-001", "'bob'"), 1);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-001", "'toor'"), 0);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-002", "'toor'"), 1);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-002", "'root'"), 0);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-003", NULL), 1);
	CHECK_EQ_STR(first(&fx, "HM-ACCT-003")->path, "/etc/shadow");
	/* daemon has bash, sync has /bin/sync (allowed). */
	CHECK_EQ_INT(count(&fx, "HM-ACCT-005", "'daemon'"), 1);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-005", NULL), 1);
	fx_free(&fx);
}

TEST(default_passwords_found_with_crypt)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	struct crypt_data cd;
	char shadow[1024], setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *h1, *h2;
	char *c1, *c2;

	memset(&cd, 0, sizeof(cd));
	h1 = crypt_r("changeme", "$6$Qx7aZ0pL$", &cd);
	CHECK(h1 && h1[0] == '$');
	c1 = strdup(h1);
	memset(&cd, 0, sizeof(cd));
	CHECK(crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) != NULL);
	h2 = crypt_r("k7#Vq-unguessable-9Zt", setting, &cd);
	CHECK(h2 && h2[0] == '$');
	c2 = strdup(h2);
	snprintf(shadow, sizeof(shadow),
		 "root:*:19000:0:99999:7:::\n"
		 "alice:%s:19000:0:99999:7:::\n"
		 "carol:%s:19000:0:99999:7:::\n"
		 "dave:!%s:19000:0:99999:7:::\n", c1, c2, c1);
	fx_file(&fx, "/etc/shadow", shadow);
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-004", "'alice'"), 1);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-004", "'carol'"), 0);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-004", "'dave'"), 0);   /* locked */
	/* The password itself is never named. */
	CHECK(strstr(first(&fx, "HM-ACCT-004")->message, "changeme") == NULL);
	free(c1);
	free(c2);
	fx_free(&fx);
}

TEST(undeclared_accounts_only_with_a_declared_list)
{
	static const char *const declared[] = { "alice", NULL };
	struct hm_audit_options opt = { .declared_users = declared };
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	fx_file(&fx, "/etc/passwd",
		"root:x:0:0:root:/root:/bin/bash\n"
		"alice:x:1000:1000::/home/alice:/bin/bash\n"
		"mallory:x:1001:1001::/home/mallory:/bin/bash\n"
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	CHECK_OK(fx_run(&fx, &opt, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-006", NULL), 1);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-006", "'mallory'"), 1);
	fx_free(&fx);

	fx_file(&fx, "/etc/passwd", "mallory:x:1001:1001::/home/mallory:/bin/bash\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-006", NULL), 0);
	fx_free(&fx);
}

TEST(malformed_shadow_lines_are_skipped_and_the_rest_audited)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	fx_file(&fx, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
		"broken:x:notanumber:0::/:/bin/sh\n");
	fx_file(&fx, "/etc/shadow",
		"root:*:19000:0:99999:7:::\n"
		"\n"
		"garbage-without-colons\n"
		"bob::19000:0:99999:7:::\n"
		"a:b:c\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK(has_skipped(&fx, "/etc/shadow:3: malformed line"));
	CHECK(has_skipped(&fx, "/etc/shadow:5: malformed line"));
	CHECK(has_skipped(&fx, "/etc/passwd:2: malformed line"));
	CHECK(!has_skipped(&fx, "/etc/shadow:4:"));
	CHECK_EQ_INT(count(&fx, "HM-ACCT-001", "'bob'"), 1);
	fx_free(&fx);
}

/*
 * Account lines are read as glibc's nss_files reads them: what getent
 * resolves to uid 0 (measured on Debian 12 against a bind-mounted
 * /etc/passwd) is HM-ACCT-002, never a skipped note.
 */
static size_t uid0_of(const char *line, bool *ret_skipped)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	char passwd[256];
	size_t n;

	snprintf(passwd, sizeof(passwd), "root:x:0:0:root:/root:/bin/bash\n%s\n", line);
	fx_file(&fx, "/etc/passwd", passwd);
	if (fx_run(&fx, NULL, &err) < 0)
		abort();
	n = count(&fx, "HM-ACCT-002", "'evil'");
	*ret_skipped = has_skipped(&fx, "/etc/passwd:2:");
	fx_free(&fx);
	return n;
}

#define UID0(line) do {                                                    \
		bool sk_;                                                  \
		CHECK_EQ_INT(uid0_of(line, &sk_), 1);                      \
		CHECK(!sk_);                                               \
	} while (0)
#define NOT_UID0(line) do {                                                \
		bool sk_;                                                  \
		CHECK_EQ_INT(uid0_of(line, &sk_), 0);                      \
		CHECK(sk_);                                                \
	} while (0)

/* A sign is strtoul's; a value above UINT32_MAX rejects the line. */
TEST(uid_signs_are_read_as_strtoul_reads_them)
{
	UID0("evil:x:+0:0::/:/bin/sh");
	UID0("evil:x:-0:0::/:/bin/sh");
	UID0("evil:x:000:0::/:/bin/sh");
	NOT_UID0("evil:x:-1:0::/:/bin/sh");
	NOT_UID0("evil:x:+-0:0::/:/bin/sh");
	NOT_UID0("evil:x:4294967296:0::/:/bin/sh");
	NOT_UID0("evil:x:18446744073709551616:0::/:/bin/sh");
}

/* White space before a number is skipped; anything after it but ':'
 * rejects the line. */
TEST(uid_with_leading_white_space_is_uid0)
{
	UID0("evil:x: 0:0::/:/bin/sh");
	UID0("evil:x:\t+0:0::/:/bin/sh");
	NOT_UID0("evil:x:0 :0::/:/bin/sh");
	NOT_UID0("evil:x:0x:0::/:/bin/sh");
	NOT_UID0("evil:x::0::/:/bin/sh");
}

TEST(extra_fields_belong_to_the_shell)
{
	UID0("evil:x:0:0::/:/bin/sh:extra");
	UID0("evil:x:0:0:a:b:c:d:e");
}

/* gecos, home and shell may be missing; uid and gid may not. */
TEST(missing_trailing_fields_are_empty)
{
	UID0("evil:x:0:0");
	UID0("evil:x:0:0:gecos");
	NOT_UID0("evil:x:0:");
	NOT_UID0("evil:x:0");
}

TEST(leading_white_space_of_a_line_is_dropped)
{
	UID0("  evil:x:0:0::/:/bin/sh");
}

TEST(nss_compat_lines_are_checked_and_comments_are_not_accounts)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	/* nss_files skips "+evil", but nss_compat may bring it in: report. */
	fx_file(&fx, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
		"+evil:x:0:0::/:/bin/sh\n"
		"  # evil:x:0:0::/:/bin/sh\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-002", NULL), 1);
	CHECK(!has_skipped(&fx, "/etc/passwd:2:"));
	CHECK(!has_skipped(&fx, "/etc/passwd:3:"));
	fx_free(&fx);
}

TEST(system_account_shell_keeps_its_colons)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	fx_file(&fx, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
		"daemon:x:1:1::/:/bin/sh:x\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-005", "'daemon' (uid 1) has the login shell '/bin/sh:x'"), 1);
	fx_free(&fx);
}

TEST(short_shadow_lines_glibc_accepts_are_audited)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	fx_file(&fx, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
		"bob:x:1000:1000::/home/bob:/bin/bash\n");
	fx_file(&fx, "/etc/shadow",
		"root:::::\n"                   /* old form, empty max */
		"bob:: 1: +2:3\n"
		"carol::::\n"                   /* glibc: max may not end the line */
		"dave:::::::::extra\n"          /* nothing may follow the flag */
		"erin::::::::x\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-001", "'root'"), 1);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-003", NULL), 1);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-001", "'bob'"), 1);
	CHECK(!has_skipped(&fx, "/etc/shadow:1:"));
	CHECK(!has_skipped(&fx, "/etc/shadow:2:"));
	CHECK(has_skipped(&fx, "/etc/shadow:3: malformed line"));
	CHECK(has_skipped(&fx, "/etc/shadow:4: malformed line"));
	CHECK(has_skipped(&fx, "/etc/shadow:5: malformed line"));
	fx_free(&fx);
}

TEST(group_lines_glibc_accepts_own_their_gids)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	fx_file(&fx, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
	fx_file(&fx, "/etc/group", "root:x:0:\nwheel:x: +5:a:b\nstaff:x:50\n");
	fx_put(&fx, mk("/srv/a", HM_TYPE_DIR, 0755, 0, 5));
	fx_put(&fx, mk("/srv/b", HM_TYPE_DIR, 0755, 0, 50));
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-FILE-005", NULL), 0);
	CHECK_EQ_INT(fx.res.n_skipped, 0);
	fx_free(&fx);
}

/* ---- ssh -------------------------------------------------------------- */

TEST(sshd_include_order_and_first_value_wins)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	fx_base(&fx);
	fx_file(&fx, "/etc/ssh/sshd_config",
		"# comment\n"
		"Include /etc/ssh/sshd_config.d/*.conf\n"
		"PermitRootLogin yes\n"
		"PasswordAuthentication yes\n");
	/* Lexical order: 10-a before 20-b, whatever the tree order is. */
	fx_file(&fx, "/etc/ssh/sshd_config.d/20-b.conf",
		"PasswordAuthentication yes\npermitemptypasswords yes\n");
	fx_file(&fx, "/etc/ssh/sshd_config.d/10-a.conf",
		"permitrootlogin=no\n  PASSWORDAUTHENTICATION   no\n");
	fx_file(&fx, "/etc/ssh/sshd_config.d/README", "PermitRootLogin yes\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SSH-001", NULL), 0);
	CHECK_EQ_INT(count(&fx, "HM-SSH-005", NULL), 0);
	CHECK_EQ_INT(count(&fx, "HM-SSH-002", NULL), 0);
	CHECK_EQ_INT(count(&fx, "HM-SSH-003", NULL), 1);
	CHECK_EQ_STR(first(&fx, "HM-SSH-003")->path, "/etc/ssh/sshd_config.d/20-b.conf");
	fx_free(&fx);
}

TEST(sshd_defaults_values_and_match_blocks)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	fx_file(&fx, "/etc/ssh/sshd_config",
		"Match User backup\n"
		"  PermitRootLogin yes\n"
		"  PasswordAuthentication no\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	/* Settings inside Match do not count: the defaults apply. */
	CHECK_EQ_INT(count(&fx, "HM-SSH-001", NULL), 0);
	CHECK_EQ_INT(count(&fx, "HM-SSH-005", "not set"), 1);
	CHECK_EQ_INT(count(&fx, "HM-SSH-002", "default: yes"), 1);
	fx_free(&fx);

	fx_file(&fx, "/etc/ssh/sshd_config", "PermitRootLogin yes\nPermitRootLogin no\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SSH-001", "line 1"), 1);
	fx_free(&fx);

	fx_file(&fx, "/etc/ssh/sshd_config", "PermitRootLogin prohibit-password\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SSH-005", "prohibit-password"), 1);
	CHECK_EQ_INT(count(&fx, "HM-SSH-001", NULL), 0);
	fx_free(&fx);

	/* No sshd_config: no sshd rules. */
	fx_base(&fx);
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SSH-002", NULL) + count(&fx, "HM-SSH-005", NULL), 0);
	fx_free(&fx);
}

TEST(host_keys_machine_id_and_private_keys)
{
	static const char key[] =
		"-----BEGIN OPENSSH PRIVATE KEY-----\n"
		"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
		"QyNTUxOQAAACBzcGVjaWFsLXRlc3Qta2V5LW5vdC1yZWFsLWF0LWFsbAAAAJgAAAAAAAAA\n"
		"-----END OPENSSH PRIVATE KEY-----\n";
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	fx_base(&fx);
	fx_filen(&fx, "/etc/ssh/ssh_host_ed25519_key", 0600, key, sizeof(key) - 1);
	fx_file(&fx, "/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA x\n");
	fx_filen(&fx, "/root/.ssh/id_ed25519", 0600, key, sizeof(key) - 1);
	fx_file(&fx, "/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SSH-004", NULL), 1);
	CHECK_EQ_STR(first(&fx, "HM-SSH-004")->path, "/etc/ssh/ssh_host_ed25519_key");
	CHECK_EQ_INT(count(&fx, "HM-FILE-006", NULL), 1);
	CHECK_EQ_STR(first(&fx, "HM-FILE-006")->path, "/root/.ssh/id_ed25519");
	CHECK(strstr(first(&fx, "HM-FILE-006")->message, "b3BlbnNzaC1rZXkt") == NULL);
	CHECK_EQ_INT(count(&fx, "HM-SYS-001", NULL), 1);
	fx_free(&fx);

	fx_base(&fx);
	fx_file(&fx, "/etc/machine-id", "");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SYS-001", NULL) + count(&fx, "HM-SSH-004", NULL) +
		     count(&fx, "HM-FILE-006", NULL), 0);
	fx_free(&fx);
}

/* ---- files ------------------------------------------------------------ */

TEST(modes_setid_caps_and_owners)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	struct hm_entry *e;

	fx_base(&fx);
	fx_put(&fx, mk("/tmp", HM_TYPE_DIR, 01777, 0, 0));
	fx_put(&fx, mk("/srv/drop", HM_TYPE_DIR, 0777, 0, 0));
	fx_put(&fx, mk("/srv/notes", HM_TYPE_FILE, 0666, 0, 0));
	fx_put(&fx, mk("/srv/link", HM_TYPE_SYMLINK, 0777, 0, 0));
	fx_put(&fx, mk("/usr/bin/passwd", HM_TYPE_FILE, 04755, 0, 0));
	fx_put(&fx, mk("/usr/local/bin/helper", HM_TYPE_FILE, 04755, 0, 0));
	fx_put(&fx, mk("/usr/local/bin/grouper", HM_TYPE_FILE, 02755, 0, 0));
	e = mk("/usr/bin/ping", HM_TYPE_FILE, 0755, 0, 0);
	CHECK(hm_entry_add_xattr(e, "security.capability", "\1\0\0\2", 4) == 0);
	fx_put(&fx, e);
	e = mk("/usr/local/bin/raw", HM_TYPE_FILE, 0755, 0, 0);
	CHECK(hm_entry_add_xattr(e, "security.capability", "\1\0\0\2", 4) == 0);
	fx_put(&fx, e);
	fx_put(&fx, mk("/srv/orphan", HM_TYPE_FILE, 0644, 4242, 0));
	fx_put(&fx, mk("/srv/orphan-group", HM_TYPE_FILE, 0644, 0, 4343));
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-FILE-001", NULL), 1);
	CHECK_EQ_STR(first(&fx, "HM-FILE-001")->path, "/srv/notes");
	CHECK_EQ_INT(count(&fx, "HM-FILE-002", NULL), 1);
	CHECK_EQ_STR(first(&fx, "HM-FILE-002")->path, "/srv/drop");
	CHECK_EQ_INT(count(&fx, "HM-FILE-003", NULL), 2);
	CHECK_EQ_INT(count(&fx, "HM-FILE-003", "setgid"), 1);
	CHECK_EQ_INT(count(&fx, "HM-FILE-004", NULL), 1);
	CHECK_EQ_STR(first(&fx, "HM-FILE-004")->path, "/usr/local/bin/raw");
	CHECK_EQ_INT(count(&fx, "HM-FILE-005", "uid 4242"), 1);
	CHECK_EQ_INT(count(&fx, "HM-FILE-005", "gid 4343"), 1);
	CHECK_EQ_INT(count(&fx, "HM-FILE-005", NULL), 2);
	fx_free(&fx);
}

/* ---- secrets and logs ------------------------------------------------- */

TEST(secrets_and_pii_are_masked)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	size_t i;

	fx_base(&fx);
	fx_file(&fx, "/etc/app/app.conf",
		"# app\nlisten = 8080\ndatabase_url = postgres://app:Sup3rS3cretPw@db.internal/app\n");
	fx_file(&fx, "/var/log/app.log",
		"2024-01-01 login ok for jane.doe@example.com from 10.0.0.1\n");
	fx_file(&fx, "/usr/share/app/example.conf",   /* not captured: not scanned */
		"password = Sup3rS3cretPw\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SECRET-001", NULL), 1);
	CHECK_EQ_STR(first(&fx, "HM-SECRET-001")->path, "/etc/app/app.conf");
	CHECK(strstr(first(&fx, "HM-SECRET-001")->message, "line 3") != NULL);
	CHECK_EQ_INT(count(&fx, "HM-PII-001", NULL), 1);
	for (i = 0; i < fx.res.n_findings; i++) {
		CHECK(strstr(fx.res.findings[i].message, "Sup3rS3cretPw") == NULL);
		CHECK(strstr(fx.res.findings[i].message, "jane.doe@example.com") == NULL);
	}
	fx_free(&fx);
}

TEST(huge_and_binary_files_are_listed_as_skipped)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	size_t big = 2u << 20;
	char *data = malloc(big);

	CHECK(data != NULL);
	memset(data, 'x', big);
	fx_base(&fx);
	fx_filen(&fx, "/etc/big.conf", 0644, data, big);
	fx_filen(&fx, "/etc/blob.conf", 0644, "password = \0\1\2binary", 20);
	fx_filen(&fx, "/var/log/huge.log", 0644, data, big);
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK(has_skipped(&fx, "'/etc/big.conf': larger than 1 MiB, not scanned"));
	CHECK(has_skipped(&fx, "'/var/log/huge.log': larger than 1 MiB, not scanned"));
	CHECK(has_skipped(&fx, "'/etc/blob.conf': binary, not scanned"));
	CHECK_EQ_INT(count(&fx, "HM-SECRET-001", NULL), 0);
	free(data);
	fx_free(&fx);
}

/* ---- kernel and system ------------------------------------------------ */

static const char good_sysctl[] =
	"kernel.kptr_restrict = 2\nkernel.dmesg_restrict = 1\n"
	"kernel.randomize_va_space = 2\nfs.protected_symlinks = 1\n"
	"fs.protected_hardlinks = 1\nnet.ipv4.conf.all.rp_filter = 1\n"
	"net/ipv4/conf/all/accept_redirects = 0\nnet.ipv4.conf.all.send_redirects = 0\n"
	"-net.ipv4.conf.all.accept_source_route = 0\n";

TEST(sysctl_effective_values)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	fx_base(&fx);
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SYS-002", "not set"), 9);
	fx_free(&fx);

	fx_base(&fx);
	fx_file(&fx, "/usr/lib/sysctl.d/50-hard.conf", good_sysctl);
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SYS-002", NULL), 0);
	fx_free(&fx);

	/* A later file overrides; /etc shadows the same name in /usr/lib;
	 * /etc/sysctl.conf comes last. */
	fx_base(&fx);
	fx_file(&fx, "/usr/lib/sysctl.d/50-hard.conf", good_sysctl);
	fx_file(&fx, "/usr/lib/sysctl.d/60-weak.conf", "kernel.dmesg_restrict = 0\n");
	fx_file(&fx, "/etc/sysctl.d/60-weak.conf", "# masked\n");
	fx_file(&fx, "/etc/sysctl.d/70-local.conf", "kernel.kptr_restrict=0\n");
	fx_file(&fx, "/etc/sysctl.conf", "fs.protected_symlinks = 0\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SYS-002", NULL), 2);
	CHECK_EQ_INT(count(&fx, "HM-SYS-002", "kernel.kptr_restrict = 0"), 1);
	CHECK_EQ_INT(count(&fx, "HM-SYS-002", "fs.protected_symlinks = 0"), 1);
	fx_free(&fx);
}

TEST(umask_caches_and_docs)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	fx_base(&fx);
	fx_file(&fx, "/etc/login.defs", "MAIL_DIR /var/mail\nUMASK\t\t022\n");
	fx_file(&fx, "/var/cache/apt/pkgcache.bin", "cache");
	fx_file(&fx, "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4", "x");
	fx_file(&fx, "/usr/share/doc/bash/copyright", "GPL");
	fx_file(&fx, "/usr/share/doc/bash/README", "readme");
	fx_file(&fx, "/usr/share/man/man1/bash.1.gz", "man");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SYS-003", "022"), 1);
	CHECK_EQ_INT(count(&fx, "HM-SYS-004", NULL), 2);
	CHECK_EQ_INT(count(&fx, "HM-SYS-005", "1 files other"), 1);
	CHECK_EQ_INT(count(&fx, "HM-SYS-005", "1 manual"), 1);
	fx_free(&fx);

	fx_base(&fx);
	fx_file(&fx, "/etc/login.defs", "UMASK 027\n");
	fx_file(&fx, "/usr/share/doc/bash/copyright", "GPL");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SYS-003", NULL) + count(&fx, "HM-SYS-004", NULL) +
		     count(&fx, "HM-SYS-005", NULL), 0);
	fx_free(&fx);
}

/* ---- vulnerabilities -------------------------------------------------- */

TEST(vulnerable_packages_from_an_osv_feed)
{
	struct hm_audit_options opt = { .osv_path = "osv.json" };
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	FILE *f = fopen("osv.json", "w");

	CHECK(f != NULL);
	fputs("[{\"id\": \"DSA-9999-1\", \"summary\": \"openssl bug\",\n"
	      " \"database_specific\": {\"severity\": \"critical\"},\n"
	      " \"affected\": [{\"package\": {\"ecosystem\": \"Debian:12\", \"name\": \"openssl\"},\n"
	      "   \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": [{\"introduced\": \"0\"}, {\"fixed\": \"3.0.15-1~deb12u1\"}]}]}]}]\n", f);
	fclose(f);
	fx_base(&fx);
	fx_file(&fx, "/var/lib/dpkg/status",
		"Package: openssl\nStatus: install ok installed\nArchitecture: amd64\n"
		"Version: 3.0.11-1~deb12u2\n\n"
		"Package: bash\nStatus: install ok installed\nArchitecture: amd64\n"
		"Version: 5.2.15-2+b2\n\n");
	CHECK_OK(fx_run(&fx, &opt, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-VULN-001", "DSA-9999-1") +
		     count(&fx, "HM-VULN-002", "DSA-9999-1"), 1);
	CHECK(strstr((first(&fx, "HM-VULN-002") ? first(&fx, "HM-VULN-002") :
		      first(&fx, "HM-VULN-001"))->message, "3.0.15-1~deb12u1") != NULL);
	fx_free(&fx);

	/* A feed that cannot be read is an error, not a pass. */
	opt.osv_path = "missing.json";
	fx_base(&fx);
	CHECK(fx_run(&fx, &opt, &err) < 0);
	fx_free(&fx);
}

/* ---- files the rules cannot read ---------------------------------------- */

static void fx_link(struct fx *fx, const char *path, const char *target)
{
	struct hm_entry *e = mk(path, HM_TYPE_SYMLINK, 0777, 0, 0);

	if (hm_entry_set_target(e, target, strlen(target)) < 0)
		abort();
	fx_put(fx, e);
}

/* "root" then pad bytes of blank lines, then a second uid 0 account:
 * the file a padding attack leaves. */
static char *padded_passwd(size_t pad, size_t *ret_len)
{
	static const char head[] = "root:x:0:0:root:/root:/bin/bash\n";
	static const char tail[] = "toor:x:0:0::/root:/bin/bash\n";
	size_t len = sizeof(head) - 1 + pad + sizeof(tail) - 1;
	char *p = malloc(len);

	if (!p)
		abort();
	memcpy(p, head, sizeof(head) - 1);
	memset(p + sizeof(head) - 1, '\n', pad);
	memcpy(p + sizeof(head) - 1 + pad, tail, sizeof(tail) - 1);
	*ret_len = len;
	return p;
}

TEST(padded_passwd_is_a_critical_finding_not_a_skip)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	const struct hm_audit_finding *f;
	size_t len;
	char *data;

	/* Below the limit the second root is seen... */
	data = padded_passwd(1000, &len);
	fx_filen(&fx, "/etc/passwd", 0644, data, len);
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-002", "'toor'"), 1);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-007", NULL), 0);
	free(data);
	fx_free(&fx);

	/* ...and padding it past 1 MiB must not hide it behind a note. */
	data = padded_passwd(HM_LIMIT_AUDIT_FILE_BYTES, &len);
	fx_filen(&fx, "/etc/passwd", 0644, data, len);
	fx_file(&fx, "/etc/shadow", "root:*:19000:0:99999:7:::\n");
	fx_file(&fx, "/etc/group", "root:x:0:\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-007", NULL), 1);
	f = first(&fx, "HM-ACCT-007");
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ_STR(f->path, "/etc/passwd");
		CHECK(strstr(f->message, "cannot be audited: larger than 1 MiB") != NULL);
		CHECK_EQ_INT(f->rule->severity, HM_SEV_CRITICAL);
	}
	CHECK(hm_audit_fails(&fx.res, HM_SEV_HIGH));
	CHECK(hm_audit_fails(&fx.res, HM_SEV_CRITICAL));
	CHECK_EQ_INT(count(&fx, "HM-ACCT-002", NULL), 0);
	free(data);
	fx_free(&fx);
}

TEST(symlinked_shadow_is_a_finding_and_not_followed)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	const struct hm_audit_finding *f;

	fx_file(&fx, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
		"bob:x:1000:1000::/home/bob:/bin/bash\n");
	fx_link(&fx, "/etc/shadow", "/srv/shadow");
	/* What a system that follows the link would read: bob has no
	 * password.  The audit reads neither and says so. */
	fx_file(&fx, "/srv/shadow", "root:*:19000:0:99999:7:::\nbob::19000:0:99999:7:::\n");
	fx_file(&fx, "/etc/group", "root:x:0:\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-007", NULL), 1);
	f = first(&fx, "HM-ACCT-007");
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ_STR(f->path, "/etc/shadow");
		CHECK(strstr(f->message, "a symlink to '/srv/shadow', not followed") != NULL);
	}
	CHECK_EQ_INT(count(&fx, "HM-ACCT-001", NULL), 0);
	CHECK(hm_audit_fails(&fx.res, HM_SEV_CRITICAL));
	CHECK(!has_skipped(&fx, "symlink"));
	fx_free(&fx);
}

TEST(account_files_unreadable_binary_or_not_files)
{
	static const char nul_passwd[] =
		"root:x:0:0:root:/root:/bin/bash\nevil:x:0:0::/:/bin/sh\0 junk\n";
	struct fx fx = { 0 };
	struct hm_error err = { 0 };

	/* glibc reads up to the NUL: evil is a second root.  The parser
	 * here would drop the line as malformed, so the file is refused. */
	fx_filen(&fx, "/etc/passwd", 0644, nul_passwd, sizeof(nul_passwd) - 1);
	/* In the tree but its contents cannot be read. */
	fx_put(&fx, mk("/etc/shadow", HM_TYPE_FILE, 0640, 0, 42));
	fx_put(&fx, mk("/etc/group", HM_TYPE_DIR, 0755, 0, 0));
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-007", NULL), 3);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-007", "a NUL byte at offset 53 where text is expected"), 1);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-007", "'/etc/shadow' was not captured"), 1);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-007", "a dir, not a regular file"), 1);
	CHECK(!has_skipped(&fx, "/etc/passwd:"));
	fx_free(&fx);

	/* Absent files are not findings (a distroless image has none). */
	fx_file(&fx, "/etc/hostname", "box\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-ACCT-007", NULL), 0);
	fx_free(&fx);
}

TEST(sshd_config_and_includes_that_cannot_be_audited)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	size_t big = HM_LIMIT_AUDIT_FILE_BYTES + 1;
	char *data = malloc(big);

	CHECK(data != NULL);
	memset(data, '#', big);
	data[big - 1] = '\n';
	fx_base(&fx);
	fx_filen(&fx, "/etc/ssh/sshd_config", 0644, data, big);
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SSH-006", "larger than 1 MiB"), 1);
	CHECK_EQ_STR(first_path(&fx, "HM-SSH-006"), "/etc/ssh/sshd_config");
	CHECK(hm_audit_fails(&fx.res, HM_SEV_CRITICAL));
	fx_free(&fx);

	/* sshd follows a symlinked drop-in; the audit cannot see it. */
	fx_base(&fx);
	fx_file(&fx, "/etc/ssh/sshd_config",
		"Include /etc/ssh/sshd_config.d/*.conf\n"
		"PermitRootLogin no\nPasswordAuthentication no\n");
	fx_file(&fx, "/etc/ssh/sshd_config.d/10-ok.conf", "X11Forwarding no\n");
	fx_link(&fx, "/etc/ssh/sshd_config.d/20-x.conf", "/srv/x.conf");
	fx_file(&fx, "/srv/x.conf", "PermitEmptyPasswords yes\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SSH-006", NULL), 1);
	CHECK_EQ_STR(first_path(&fx, "HM-SSH-006"), "/etc/ssh/sshd_config.d/20-x.conf");
	CHECK_EQ_INT(count(&fx, "HM-SSH-006", "a symlink to '/srv/x.conf'"), 1);
	CHECK(hm_audit_fails(&fx.res, HM_SEV_CRITICAL));
	fx_free(&fx);

	/* The same configuration with regular files passes the gate. */
	fx_base(&fx);
	fx_file(&fx, "/etc/ssh/sshd_config",
		"Include /etc/ssh/sshd_config.d/*.conf\n"
		"PermitRootLogin no\nPasswordAuthentication no\n");
	fx_file(&fx, "/etc/ssh/sshd_config.d/10-ok.conf", "X11Forwarding no\n");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SSH-006", NULL), 0);
	CHECK(!hm_audit_fails(&fx.res, HM_SEV_HIGH));
	free(data);
	fx_free(&fx);
}

TEST(system_setting_files_that_cannot_be_audited)
{
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	size_t big = HM_LIMIT_AUDIT_FILE_BYTES + 1;
	char *data = malloc(big);

	CHECK(data != NULL);
	memset(data, '\n', big);
	fx_base(&fx);
	fx_filen(&fx, "/etc/login.defs", 0644, data, big);
	fx_link(&fx, "/etc/machine-id", "/var/lib/dbus/machine-id");
	fx_filen(&fx, "/usr/lib/sysctl.d/50-hard.conf", 0644, good_sysctl, sizeof(good_sysctl) - 1);
	fx_filen(&fx, "/usr/lib/sysctl.d/99-big.conf", 0644, data, big);
	/* Masks and aliases are symlinks by design: not findings. */
	fx_link(&fx, "/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf");
	fx_link(&fx, "/etc/sysctl.d/60-masked.conf", "/dev/null");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-SYS-006", NULL), 3);
	CHECK_EQ_INT(count(&fx, "HM-SYS-006", "larger than 1 MiB"), 2);
	CHECK_EQ_INT(count(&fx, "HM-SYS-006", "a symlink to '/var/lib/dbus/machine-id'"), 1);
	CHECK(hm_audit_rule_find("HM-SYS-006") &&
	      hm_audit_rule_find("HM-SYS-006")->severity == HM_SEV_MEDIUM);
	CHECK(hm_audit_fails(&fx.res, HM_SEV_MEDIUM));
	free(data);
	fx_free(&fx);
}

TEST(package_database_that_cannot_be_audited)
{
	struct hm_audit_options opt = { .osv_path = "osv-empty.json" };
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	struct hm_entry *e;
	FILE *f = fopen("osv-empty.json", "w");

	CHECK(f != NULL);
	fputs("[]\n", f);
	fclose(f);
	/* Larger than the 64 MiB a status file may be: not read at all. */
	fx_base(&fx);
	e = mk("/var/lib/dpkg/status", HM_TYPE_FILE, 0644, 0, 0);
	e->size = 65ull << 20;
	fx_put(&fx, e);
	CHECK_OK(fx_run(&fx, &opt, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-VULN-005", "cannot be audited"), 1);
	CHECK(hm_audit_fails(&fx.res, HM_SEV_CRITICAL));
	fx_free(&fx);

	fx_base(&fx);
	fx_link(&fx, "/var/lib/dpkg/status", "/srv/status");
	CHECK_OK(fx_run(&fx, &opt, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-VULN-005", "a symlink to '/srv/status'"), 1);
	fx_free(&fx);

	/* Without a feed the database is not needed; without a database
	 * (distroless) nothing is a finding, only a note. */
	fx_base(&fx);
	fx_link(&fx, "/var/lib/dpkg/status", "/srv/status");
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-VULN-005", NULL), 0);
	fx_free(&fx);
	fx_base(&fx);
	CHECK_OK(fx_run(&fx, &opt, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-VULN-005", NULL), 0);
	CHECK(has_skipped(&fx, "packages not checked"));
	fx_free(&fx);
}

/* ---- exceptions, gate, reports ---------------------------------------- */

/* Fake stanzas past the dpkg parser's limit once pushed the real
 * packages into a skipped note: a limit of the database is a finding. */
TEST(padded_package_database_is_a_finding)
{
	struct hm_audit_options opt = { .osv_path = "osv-empty.json" };
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	static const char stanza[] = "Package: pad\nStatus: purge ok not-installed\n\n";
	size_t n = 200001, off = 0, i;
	char *buf = malloc(n * (sizeof(stanza) - 1));
	FILE *f = fopen("osv-empty.json", "w");

	CHECK(buf != NULL && f != NULL);
	fputs("[]\n", f);
	fclose(f);
	for (i = 0; i < n; i++) {
		memcpy(buf + off, stanza, sizeof(stanza) - 1);
		off += sizeof(stanza) - 1;
	}
	fx_base(&fx);
	fx_filen(&fx, "/var/lib/dpkg/status", 0644, buf, off);
	free(buf);
	CHECK_OK(fx_run(&fx, &opt, &err), &err);
	CHECK_EQ_INT(count(&fx, "HM-VULN-005",
			   "cannot be audited: /var/lib/dpkg/status:600001: more than 200000 stanzas"), 1);
	CHECK(hm_audit_fails(&fx.res, HM_SEV_CRITICAL));
	fx_free(&fx);
}

static void fx_insecure(struct fx *fx)
{
	fx_base(fx);
	fx_file(fx, "/etc/ssh/sshd_config", "PermitRootLogin no\nPasswordAuthentication no\n");
	fx_filen(fx, "/etc/ssh/ssh_host_rsa_key", 0600, "k", 1);
	fx_put(fx, mk("/srv/my dir", HM_TYPE_DIR, 0777, 0, 0));
	fx_file(fx, "/etc/login.defs", "UMASK 027\n");
	fx_file(fx, "/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
	fx_file(fx, "/usr/lib/sysctl.d/50-hard.conf", good_sysctl);
}

TEST(exceptions_and_the_gate)
{
	const struct hm_audit_exception ex[] = {
		{ "HM-SSH-004", "/etc/ssh/ssh_host_*", "regenerated at first boot" },
		{ "HM-FILE-002", "/nowhere/**", "does not match" },
	};
	struct hm_audit_options opt = { .exceptions = ex, .n_exceptions = 2 };
	const struct hm_audit_exception bad[] = { { "HM-SSH-004", NULL, "" } };
	const struct hm_audit_exception badglob[] = { { "HM-SSH-004", "relative/*", "x" } };
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	const struct hm_audit_finding *f;

	fx_insecure(&fx);
	CHECK_OK(fx_run(&fx, NULL, &err), &err);
	CHECK(hm_audit_fails(&fx.res, HM_SEV_HIGH));
	CHECK(!hm_audit_fails(&fx.res, HM_SEV_CRITICAL));
	fx_free(&fx);

	fx_insecure(&fx);
	CHECK_OK(fx_run(&fx, &opt, &err), &err);
	f = first(&fx, "HM-SSH-004");
	CHECK(f && f->excepted);
	CHECK_EQ_STR(f->exception_reason, "regenerated at first boot");
	f = first(&fx, "HM-FILE-002");
	CHECK(f && !f->excepted);
	CHECK(hm_audit_fails(&fx.res, HM_SEV_HIGH));
	fx_free(&fx);

	/* A family wildcard excepts the rest. */
	{
		const struct hm_audit_exception ex2[] = {
			{ "HM-SSH-004", NULL, "first boot" },
			{ "HM-FILE-*", NULL, "shared drop folder" },
		};
		struct hm_audit_options opt2 = { .exceptions = ex2, .n_exceptions = 2 };

		fx_insecure(&fx);
		CHECK_OK(fx_run(&fx, &opt2, &err), &err);
		CHECK(!hm_audit_fails(&fx.res, HM_SEV_HIGH));
		CHECK(count(&fx, "HM-SYS-001", NULL) == 1);
		CHECK(hm_audit_fails(&fx.res, HM_SEV_MEDIUM));
		fx_free(&fx);
	}

	opt.exceptions = bad;
	opt.n_exceptions = 1;
	fx_insecure(&fx);
	CHECK_EQ_INT(fx_run(&fx, &opt, &err), HM_ERR_USAGE);
	fx_free(&fx);
	opt.exceptions = badglob;
	fx_insecure(&fx);
	CHECK(fx_run(&fx, &opt, &err) < 0);
	CHECK(strstr(err.msg, "relative/*") != NULL);
	fx_free(&fx);
}

static char *report(const struct hm_audit_result *res, enum hm_severity fail_on,
		    int fmt, int *ret)
{
	struct hm_error err = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	*ret = hm_audit_report_write(res, "dir:/x", fail_on, fmt, f, &err);
	fclose(f);
	return buf;
}

TEST(reports_text_json_sarif)
{
	const struct hm_audit_exception ex[] = {
		{ "HM-SSH-004", NULL, "regenerated at first boot" },
	};
	struct hm_audit_options opt = { .exceptions = ex, .n_exceptions = 1 };
	struct fx fx = { 0 };
	struct hm_error err = { 0 };
	json_error_t jerr;
	json_t *j, *runs, *res, *x;
	size_t i, n_rules, high = 0;
	char *s, line[256];
	int r;

	fx_insecure(&fx);
	CHECK_OK(fx_run(&fx, &opt, &err), &err);
	for (i = 0; i < fx.res.n_findings; i++)
		if (!fx.res.findings[i].excepted &&
		    fx.res.findings[i].rule->severity >= HM_SEV_HIGH)
			high++;
	CHECK(high >= 1);

	s = report(&fx.res, HM_SEV_HIGH, HM_REPORT_TEXT, &r);
	CHECK_EQ_INT(r, 0);
	snprintf(line, sizeof(line), "FAIL: %zu finding%s at or above high (%zu in all, 1 excepted) - dir:/x\n",
		 high, high == 1 ? "" : "s", fx.res.n_findings);
	CHECK(strncmp(s, line, strlen(line)) == 0);
	CHECK(strstr(s, "HM-FILE-002 /srv/my\\040dir: ") != NULL);
	CHECK(strstr(s, "[excepted: regenerated at first boot]") != NULL);
	CHECK(strstr(s, "\nhigh (") && strstr(s, "\nmedium (") &&
	      strstr(s, "\nhigh (") < strstr(s, "\nmedium ("));
	free(s);
	s = report(&fx.res, HM_SEV_CRITICAL, HM_REPORT_TEXT, &r);
	CHECK(strncmp(s, "PASS: 0 findings at or above critical", 37) == 0);
	free(s);

	s = report(&fx.res, HM_SEV_HIGH, HM_REPORT_JSON, &r);
	CHECK_EQ_INT(r, 0);
	j = json_loads(s, 0, &jerr);
	CHECK(j != NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "result")), "fail");
	CHECK_EQ_STR(json_string_value(json_object_get(j, "format")), "hallmark-audit");
	CHECK_EQ_INT(json_array_size(json_object_get(j, "findings")), fx.res.n_findings);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "counts"), "failing")),
		     high);
	x = json_array_get(json_object_get(j, "findings"), 0);
	CHECK(json_is_string(json_object_get(x, "rule")));
	CHECK(json_is_boolean(json_object_get(x, "excepted")));
	json_decref(j);
	free(s);

	s = report(&fx.res, HM_SEV_HIGH, HM_REPORT_SARIF, &r);
	CHECK_EQ_INT(r, 0);
	j = json_loads(s, 0, &jerr);
	CHECK(j != NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "version")), "2.1.0");
	runs = json_object_get(j, "runs");
	hm_audit_rules(&n_rules);
	x = json_object_get(json_object_get(json_object_get(json_array_get(runs, 0),
							     "tool"), "driver"), "rules");
	CHECK_EQ_INT(json_array_size(x), n_rules);
	res = json_object_get(json_array_get(runs, 0), "results");
	CHECK_EQ_INT(json_array_size(res), fx.res.n_findings);
	for (i = 0; i < json_array_size(res); i++) {
		const char *rid;

		x = json_array_get(res, i);
		rid = json_string_value(json_object_get(x, "ruleId"));
		CHECK(rid && hm_audit_rule_find(rid));
		if (strcmp(rid, "HM-FILE-002") == 0) {
			json_t *loc = json_array_get(json_object_get(x, "locations"), 0);
			const char *uri = json_string_value(json_object_get(json_object_get(
				json_object_get(loc, "physicalLocation"), "artifactLocation"), "uri"));

			CHECK_EQ_STR(uri, "/srv/my%20dir");
			CHECK_EQ_STR(json_string_value(json_object_get(x, "level")), "error");
		}
		if (strcmp(rid, "HM-SSH-004") == 0)
			CHECK(json_array_size(json_object_get(x, "suppressions")) == 1);
	}
	json_decref(j);
	free(s);

	/* JUnit is an audit format too (issue 14): one suite, a case per rule. */
	s = report(&fx.res, HM_SEV_HIGH, HM_REPORT_JUNIT, &r);
	CHECK_EQ_INT(r, 0);
	CHECK(s && strstr(s, "<testsuite") && strstr(s, "hallmark.audit"));
	free(s);
	fx_free(&fx);
}
