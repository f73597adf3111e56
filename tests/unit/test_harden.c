/*
 * Unit tests: the hardening fixes (builder/harden.c).  Each fix is run on
 * a small Debian-like tree and the result read back from the tree and the
 * blob store: what it changes, what it leaves alone, that it is idempotent
 * where it can be, and that a rule without a fix is refused.
 *
 * A unity build, like test_template.c: builder/ is not in libhallmark.a.
 */
#include "../../builder/blobstore.h"
#include "../../builder/harden.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hallmark/digest.h"
#include "hallmark/fsutil.h"

#include "harness.h"
#include "tree_fixture.h"

/* The drop-in the sshd fixes write (docs/audit-rules.md). */
#define SSHD_DROPIN "/etc/ssh/sshd_config.d/00-hallmark-harden.conf"

struct fx {
	struct hm_tree *tree;
	struct hm_blobstore *store;
	struct hm_error err;
};

static void add(struct fx *f, const char *path, enum hm_type type, unsigned mode,
		const char *content)
{
	fixture_put(f->tree, f->store, path, type, mode, content);
}

static int fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	if (hm_tree_new(&f->tree, &f->err) < 0 ||
	    hm_blobstore_open("blobs", &f->store, &f->err) < 0)
		return -1;
	add(f, "/etc", HM_TYPE_DIR, 0755, NULL);
	add(f, "/etc/passwd", HM_TYPE_FILE, 0644,
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "daemon:x:1:1:daemon:/usr/sbin:/bin/sh\n"
	    "sync:x:4:65534:sync:/bin:/bin/sync\n"
	    "alice:x:1000:1000::/home/alice:/bin/bash\n");
	add(f, "/etc/shadow", HM_TYPE_FILE, 0640,
	    "root:$y$j9T$abc$def:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n");
	add(f, "/etc/login.defs", HM_TYPE_FILE, 0644,
	    "# UMASK 022 in a comment stays\nUMASK\t\t022\nPASS_MAX_DAYS 99999\n");
	add(f, "/etc/machine-id", HM_TYPE_FILE, 0444, "0123456789abcdef0123456789abcdef\n");
	add(f, "/etc/ssh", HM_TYPE_DIR, 0755, NULL);
	add(f, "/etc/ssh/sshd_config.d", HM_TYPE_DIR, 0755, NULL);
	add(f, "/etc/ssh/ssh_host_ed25519_key", HM_TYPE_FILE, 0600, "key\n");
	add(f, "/etc/ssh/ssh_host_ed25519_key.pub", HM_TYPE_FILE, 0644, "pub\n");
	add(f, "/etc/ssh/ssh_config", HM_TYPE_FILE, 0644, "Host *\n");
	add(f, "/etc/sysctl.d", HM_TYPE_DIR, 0755, NULL);
	add(f, "/tmp", HM_TYPE_DIR, 0777, NULL);
	add(f, "/srv", HM_TYPE_DIR, 0755, NULL);
	add(f, "/srv/open", HM_TYPE_FILE, 0666, "x\n");
	add(f, "/usr", HM_TYPE_DIR, 0755, NULL);
	add(f, "/usr/share", HM_TYPE_DIR, 0755, NULL);
	add(f, "/usr/share/doc", HM_TYPE_DIR, 0755, NULL);
	add(f, "/usr/share/doc/bash", HM_TYPE_DIR, 0755, NULL);
	add(f, "/usr/share/doc/bash/copyright", HM_TYPE_FILE, 0644, "GPL\n");
	add(f, "/usr/share/doc/bash/README", HM_TYPE_FILE, 0644, "read me\n");
	add(f, "/usr/share/doc/bash/changelog.Debian.gz", HM_TYPE_FILE, 0644, "gz\n");
	add(f, "/usr/share/man", HM_TYPE_DIR, 0755, NULL);
	add(f, "/usr/share/man/man1", HM_TYPE_DIR, 0755, NULL);
	add(f, "/usr/share/man/man1/bash.1.gz", HM_TYPE_FILE, 0644, "gz\n");
	add(f, "/var", HM_TYPE_DIR, 0755, NULL);
	add(f, "/var/cache", HM_TYPE_DIR, 0755, NULL);
	add(f, "/var/cache/apt", HM_TYPE_DIR, 0755, NULL);
	add(f, "/var/cache/apt/pkgcache.bin", HM_TYPE_FILE, 0644, "cache\n");
	return 0;
}

static void fx_free(struct fx *f)
{
	hm_tree_free(f->tree);
	hm_blobstore_free(f->store);
}

static const struct hm_entry *get(struct fx *f, const char *path)
{
	return hm_tree_get(f->tree, path, strlen(path));
}

/* The content of path, NUL-terminated (free it), or NULL. */
static char *content(struct fx *f, const char *path)
{
	const struct hm_entry *e = get(f, path);
	char *data = NULL;
	size_t len;

	if (!e || e->type != HM_TYPE_FILE ||
	    hm_blob_read(f->store, e->sha256, 1 << 20, &data, &len, &f->err) < 0)
		return NULL;
	return data;
}

static int apply1(struct fx *f, const char *id, uint64_t *changed)
{
	char *copy = strdup(id);
	int r;

	if (!copy)
		abort();
	r = hm_harden_apply(f->tree, f->store, &copy, 1, changed, &f->err);
	free(copy);
	return r;
}

TEST(supported_rules)
{
	CHECK(hm_harden_supported("HM-SSH-004"));
	CHECK(hm_harden_supported("HM-SYS-005"));
	CHECK(!hm_harden_supported("HM-ACCT-002"));   /* a second root: no safe fix */
	CHECK(!hm_harden_supported("HM-NOPE-001"));
	CHECK(!hm_harden_supported(""));
}

TEST(unknown_rule_is_refused)
{
	struct fx f;
	uint64_t changed = 0;

	CHECK(fx_init(&f) == 0);
	CHECK_EQ_INT(apply1(&f, "HM-ACCT-002", &changed), HM_ERR_USAGE);
	CHECK(strstr(f.err.msg, "HM-ACCT-002") != NULL);
	fx_free(&f);
}

TEST(ssh_host_keys_are_removed)
{
	struct fx f;
	uint64_t changed = 0;

	CHECK(fx_init(&f) == 0);
	CHECK_OK(apply1(&f, "HM-SSH-004", &changed), &f.err);
	CHECK(get(&f, "/etc/ssh/ssh_host_ed25519_key") == NULL);
	CHECK(get(&f, "/etc/ssh/ssh_host_ed25519_key.pub") == NULL);
	CHECK(get(&f, "/etc/ssh/ssh_config") != NULL);
	CHECK_EQ_INT(changed, 2);
	fx_free(&f);
}

TEST(sshd_drop_in_collects_the_settings)
{
	struct fx f;
	uint64_t changed = 0;
	char id0[] = "HM-SSH-001", id1[] = "HM-SSH-002", id2[] = "HM-SSH-003";
	char *ids[] = { id0, id1, id2 };
	char *text;

	CHECK(fx_init(&f) == 0);
	CHECK_OK(hm_harden_apply(f.tree, f.store, ids, 3, &changed, &f.err), &f.err);
	text = content(&f, SSHD_DROPIN);
	CHECK(text != NULL);
	CHECK(strstr(text, "PermitRootLogin no\n") != NULL);
	CHECK(strstr(text, "PasswordAuthentication no\n") != NULL);
	CHECK(strstr(text, "PermitEmptyPasswords no\n") != NULL);
	/* One header line, written once. */
	CHECK(strstr(text, "# Written by hallmark") == text);
	CHECK(strstr(text + 1, "# Written by hallmark") == NULL);
	free(text);
	fx_free(&f);
}

TEST(sshd_fix_without_an_ssh_server_does_nothing)
{
	struct fx f;
	uint64_t changed = 0;
	struct hm_tree *t;

	CHECK(fx_init(&f) == 0);
	t = f.tree;
	CHECK(hm_tree_remove(t, "/etc/ssh/sshd_config.d", 22, NULL) >= 0);
	CHECK_OK(apply1(&f, "HM-SSH-001", &changed), &f.err);
	CHECK(get(&f, SSHD_DROPIN) == NULL);
	CHECK_EQ_INT(changed, 0);
	fx_free(&f);
}

TEST(root_is_locked_and_system_accounts_get_nologin)
{
	struct fx f;
	uint64_t changed = 0;
	char id0[] = "HM-ACCT-003", id1[] = "HM-ACCT-005";
	char *ids[] = { id0, id1 };
	char *shadow, *passwd;

	CHECK(fx_init(&f) == 0);
	CHECK_OK(hm_harden_apply(f.tree, f.store, ids, 2, &changed, &f.err), &f.err);
	shadow = content(&f, "/etc/shadow");
	passwd = content(&f, "/etc/passwd");
	CHECK(shadow && passwd);
	CHECK(strncmp(shadow, "root:!$y$j9T$abc$def:", 21) == 0);
	CHECK(strstr(shadow, "\ndaemon:*:") != NULL);   /* already unusable */
	CHECK(strstr(passwd, "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n") != NULL);
	CHECK(strstr(passwd, "sync:x:4:65534:sync:/bin:/bin/sync\n") != NULL);
	CHECK(strstr(passwd, "root:x:0:0:root:/root:/bin/bash\n") != NULL);
	CHECK(strstr(passwd, "alice:x:1000:1000::/home/alice:/bin/bash\n") != NULL);
	/* Modes are kept. */
	CHECK_EQ_INT(get(&f, "/etc/shadow")->mode, 0640);
	free(shadow);
	free(passwd);
	/* A second run changes nothing: root is already locked. */
	changed = 0;
	CHECK_OK(hm_harden_apply(f.tree, f.store, ids, 2, &changed, &f.err), &f.err);
	shadow = content(&f, "/etc/shadow");
	CHECK(shadow && strncmp(shadow, "root:!$y$", 9) == 0);
	free(shadow);
	fx_free(&f);
}

TEST(umask_and_machine_id)
{
	struct fx f;
	uint64_t changed = 0;
	char id0[] = "HM-SYS-003", id1[] = "HM-SYS-001";
	char *ids[] = { id0, id1 };
	char *defs, *mid;

	CHECK(fx_init(&f) == 0);
	CHECK_OK(hm_harden_apply(f.tree, f.store, ids, 2, &changed, &f.err), &f.err);
	defs = content(&f, "/etc/login.defs");
	mid = content(&f, "/etc/machine-id");
	CHECK(defs && mid);
	CHECK_EQ_STR(defs, "# UMASK 022 in a comment stays\nUMASK\t\t027\nPASS_MAX_DAYS 99999\n");
	CHECK_EQ_STR(mid, "");
	CHECK_EQ_INT(get(&f, "/etc/machine-id")->mode, 0444);
	free(defs);
	free(mid);
	fx_free(&f);
}

TEST(sysctl_drop_in)
{
	struct fx f;
	uint64_t changed = 0;
	char *text;

	CHECK(fx_init(&f) == 0);
	CHECK_OK(apply1(&f, "HM-SYS-002", &changed), &f.err);
	text = content(&f, "/etc/sysctl.d/90-hallmark-harden.conf");
	CHECK(text && strstr(text, "kernel.kptr_restrict = 2\n") != NULL);
	free(text);
	fx_free(&f);
}

TEST(caches_and_documentation_go_copyright_stays)
{
	struct fx f;
	uint64_t changed = 0;
	char id0[] = "HM-SYS-004", id1[] = "HM-SYS-005";
	char *ids[] = { id0, id1 };

	CHECK(fx_init(&f) == 0);
	CHECK_OK(hm_harden_apply(f.tree, f.store, ids, 2, &changed, &f.err), &f.err);
	CHECK(get(&f, "/var/cache/apt/pkgcache.bin") == NULL);
	CHECK(get(&f, "/usr/share/doc/bash/copyright") != NULL);
	CHECK(get(&f, "/usr/share/doc/bash/README") == NULL);
	CHECK(get(&f, "/usr/share/doc/bash/changelog.Debian.gz") == NULL);
	CHECK(get(&f, "/usr/share/man/man1/bash.1.gz") == NULL);
	CHECK(get(&f, "/usr/share/man") != NULL);   /* the folder itself stays */
	fx_free(&f);
}

TEST(world_writable_modes)
{
	struct fx f;
	uint64_t changed = 0;
	char id0[] = "HM-FILE-001", id1[] = "HM-FILE-002";
	char *ids[] = { id0, id1 };

	CHECK(fx_init(&f) == 0);
	CHECK_OK(hm_harden_apply(f.tree, f.store, ids, 2, &changed, &f.err), &f.err);
	CHECK_EQ_INT(get(&f, "/srv/open")->mode, 0664);
	CHECK_EQ_INT(get(&f, "/tmp")->mode, 01777);
	CHECK_EQ_INT(get(&f, "/srv")->mode, 0755);
	CHECK_EQ_INT(changed, 2);
	fx_free(&f);
}
