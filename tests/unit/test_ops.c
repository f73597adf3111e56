/*
 * Unit tests: the template's operations on a tree (builder/ops.c), in
 * their fixed order: remove, directories, files, symlinks, groups, users,
 * permissions.  Templates are loaded from text with the real loader, the
 * operations applied to a small base tree, and the result read back from
 * the tree and the blob store.
 *
 * A unity build, like test_template.c: builder/ is not in libhallmark.a.
 */
#include "../../builder/blobstore.h"
#include "../../builder/harden.h"
#include "../../builder/template.h"
#include "../../builder/ops.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hallmark/digest.h"
#include "hallmark/fsutil.h"

#include "harness.h"
#include "tree_fixture.h"

#define HEAD "hallmark: 1\nname: t\nserial: 1\nbase: {debian: {suite: bookworm}}\n"
#define NOW ((time_t)1700000000)   /* day 19675 */

struct fx {
	struct hm_tree *tree;
	struct hm_blobstore *store;
	struct hm_template *t;
	struct hm_ops_stats st;
	struct hm_error err;
};

static void add(struct fx *f, const char *path, enum hm_type type, unsigned mode,
		const char *content)
{
	fixture_put(f->tree, f->store, path, type, mode, content);
}

/* Load the template text (after HEAD) and apply it to the base tree. */
static int run(struct fx *f, const char *ops)
{
	FILE *out = fopen("t.yaml", "w");

	memset(f, 0, sizeof(*f));
	if (!out)
		abort();
	fputs(HEAD, out);
	fputs(ops, out);
	if (fclose(out) != 0 || hm_tree_new(&f->tree, &f->err) < 0 ||
	    hm_blobstore_open("blobs", &f->store, &f->err) < 0)
		abort();
	add(f, "/etc", HM_TYPE_DIR, 0755, NULL);
	add(f, "/etc/passwd", HM_TYPE_FILE, 0644, "root:x:0:0:root:/root:/bin/sh\n");
	add(f, "/etc/shadow", HM_TYPE_FILE, 0640, "root:*:19000:0:99999:7:::\n");
	add(f, "/etc/group", HM_TYPE_FILE, 0644, "root:x:0:\nadm:x:4:\n");
	add(f, "/etc/gshadow", HM_TYPE_FILE, 0640, "root:*::\nadm:*::\n");
	add(f, "/etc/hostname", HM_TYPE_FILE, 0644, "builder\n");
	add(f, "/home", HM_TYPE_DIR, 0755, NULL);
	add(f, "/usr", HM_TYPE_DIR, 0755, NULL);
	add(f, "/usr/bin", HM_TYPE_DIR, 0755, NULL);
	add(f, "/usr/bin/chfn", HM_TYPE_FILE, 04755, "chfn\n");
	add(f, "/usr/bin/su", HM_TYPE_FILE, 04755, "su\n");
	add(f, "/usr/share", HM_TYPE_DIR, 0755, NULL);
	add(f, "/usr/share/man", HM_TYPE_DIR, 0755, NULL);
	add(f, "/usr/share/man/man1", HM_TYPE_DIR, 0755, NULL);
	add(f, "/usr/share/man/man1/su.1.gz", HM_TYPE_FILE, 0644, "gz\n");
	if (hm_template_load("t.yaml", &f->t, &f->err) < 0)
		return f->err.code;
	return hm_ops_apply(f->t, f->tree, f->store, NOW, &f->st, &f->err);
}

static void fx_free(struct fx *f)
{
	hm_template_free(f->t);
	hm_tree_free(f->tree);
	hm_blobstore_free(f->store);
}

static const struct hm_entry *get(struct fx *f, const char *path)
{
	return hm_tree_get(f->tree, path, strlen(path));
}

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

TEST(every_operation_in_order)
{
	struct fx f;
	const struct hm_entry *e;
	char *passwd, *shadow, *group, *keys;

	CHECK_OK(run(&f,
		     "remove: [/usr/share/man/**, /etc/hostname]\n"
		     "directories:\n  - {path: /srv}\n  - {path: /srv/www, mode: \"0750\", uid: 1000, gid: 1000}\n"
		     "files:\n  - {path: /srv/www/index.html, content: \"hi\\n\", mode: \"0640\"}\n"
		     "symlinks:\n  - {path: /srv/current, target: www}\n"
		     "groups:\n  - {name: web, gid: 1000}\n"
		     "users:\n  - name: web\n    uid: 1000\n    gid: 1000\n    groups: [adm]\n"
		     "    authorized_keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1c3RyYXRpb24tb25seS1ub3QtYS1rZXk= ops\"]\n"
		     "permissions:\n  - {path: /usr/bin/chfn, mode: \"0755\"}\n"
		     "  - {path: /srv/www/**, mode: \"0644\", uid: 1000, gid: 1000}\n"), &f.err);
	/* remove: the subtree goes, the folder named by ** stays. */
	CHECK(get(&f, "/usr/share/man/man1") == NULL);
	CHECK(get(&f, "/usr/share/man") != NULL);
	CHECK(get(&f, "/etc/hostname") == NULL);
	/* directories and files. */
	e = get(&f, "/srv/www");
	CHECK(e && e->type == HM_TYPE_DIR && e->mode == 0750 && e->uid == 1000);
	CHECK(get(&f, "/srv") && get(&f, "/srv")->type == HM_TYPE_DIR);
	/* permissions come last, so they apply to the file added before. */
	e = get(&f, "/srv/www/index.html");
	CHECK(e && e->mode == 0644 && e->uid == 1000 && e->gid == 1000 && e->size == 3);
	e = get(&f, "/srv/current");
	CHECK(e && e->type == HM_TYPE_SYMLINK && strcmp(e->target, "www") == 0);
	CHECK_EQ_INT(get(&f, "/usr/bin/chfn")->mode, 0755);
	CHECK_EQ_INT(get(&f, "/usr/bin/su")->mode, 04755);
	/* accounts: appended, locked, last-changed day from the build time. */
	passwd = content(&f, "/etc/passwd");
	shadow = content(&f, "/etc/shadow");
	group = content(&f, "/etc/group");
	CHECK(passwd && shadow && group);
	CHECK_EQ_STR(passwd, "root:x:0:0:root:/root:/bin/sh\n"
			     "web:x:1000:1000::/home/web:/usr/sbin/nologin\n");
	CHECK(strstr(shadow, "\nweb:!:19675:") != NULL);
	CHECK(strstr(group, "adm:x:4:web\n") != NULL);
	CHECK(strstr(group, "web:x:1000:\n") != NULL);
	CHECK_EQ_INT(get(&f, "/etc/shadow")->mode, 0640);
	/* home and authorized_keys owned by the user. */
	e = get(&f, "/home/web");
	CHECK(e && e->type == HM_TYPE_DIR && e->mode == 0750 && e->uid == 1000);
	e = get(&f, "/home/web/.ssh/authorized_keys");
	CHECK(e && e->mode == 0600 && e->uid == 1000);
	keys = content(&f, "/home/web/.ssh/authorized_keys");
	CHECK(keys && strncmp(keys, "ssh-ed25519 AAAA", 16) == 0);
	CHECK_EQ_INT(f.st.groups, 1);
	CHECK_EQ_INT(f.st.users, 1);
	CHECK(f.st.removed >= 3);
	free(passwd);
	free(shadow);
	free(group);
	free(keys);
	fx_free(&f);
}

TEST(missing_parent_names_the_operation)
{
	struct fx f;

	CHECK_EQ_INT(run(&f, "files:\n  - {path: /opt/x/y, content: \"\"}\n"), HM_ERR_INPUT);
	CHECK(strstr(f.err.msg, "t.yaml") != NULL);
	CHECK(strstr(f.err.msg, "/opt/x/y") != NULL);
	CHECK(strstr(f.err.msg, "/opt/x") != NULL);
	fx_free(&f);
}

TEST(group_already_in_the_base_is_an_error)
{
	struct fx f;

	CHECK(run(&f, "groups:\n  - {name: adm, gid: 1004}\n") < 0);
	CHECK(strstr(f.err.msg, "adm") != NULL);
	fx_free(&f);
}

TEST(user_with_an_unknown_primary_group_is_an_error)
{
	struct fx f;

	CHECK(run(&f, "users:\n  - {name: u, uid: 1001, gid: 4242}\n") < 0);
	CHECK(strstr(f.err.msg, "4242") != NULL);
	fx_free(&f);
}

TEST(file_under_a_file_is_an_error)
{
	struct fx f;

	CHECK(run(&f, "files:\n  - {path: /etc/passwd/x, content: \"\"}\n") < 0);
	CHECK(strstr(f.err.msg, "/etc/passwd") != NULL);
	fx_free(&f);
}

TEST(symlink_replaces_and_is_never_resolved)
{
	struct fx f;
	const struct hm_entry *e;

	CHECK_OK(run(&f, "symlinks:\n  - {path: /etc/hostname, target: /etc/shadow}\n"), &f.err);
	e = get(&f, "/etc/hostname");
	CHECK(e && e->type == HM_TYPE_SYMLINK && strcmp(e->target, "/etc/shadow") == 0);
	CHECK_EQ_INT(get(&f, "/etc/shadow")->mode, 0640);
	fx_free(&f);
}

TEST(permissions_glob_matching_nothing_is_fine)
{
	struct fx f;

	CHECK_OK(run(&f, "permissions:\n  - {path: /nowhere/**, mode: \"0700\"}\n"), &f.err);
	CHECK_EQ_INT(f.st.perms, 0);
	fx_free(&f);
}
