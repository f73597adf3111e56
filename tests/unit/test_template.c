/*
 * Unit tests of the template loader (builder/template.c), linked from
 * libhallmark-builder.a; it uses lib/ for YAML, globs, names, digests and
 * files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/template.h"
#include "hallmark/fsutil.h"
#include "hallmark/limits.h"

#include "harness.h"

/* Where the tests were started: the shipped templates are found from it
 * (or from HM_TOP, which tests/run-tests.sh exports). */
static char start_cwd[4096];

__attribute__((constructor)) static void remember_cwd(void)
{
	if (!getcwd(start_cwd, sizeof(start_cwd)))
		start_cwd[0] = '\0';
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int load_text(const char *text, struct hm_template **t,
		     struct hm_error *err)
{
	if (write_text("t.yaml", text) < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot write t.yaml");
	*t = NULL;
	return hm_template_load("t.yaml", t, err);
}

/* A valid start: lines 1-4. */
#define HEAD "hallmark: 1\nname: t\nserial: 1\nbase: {debian: {suite: bookworm}}\n"

/* Load text; expect failure with code and a message starting with want. */
#define EXPECT_ERR(text, want_code, want)                                      \
	do {                                                                   \
		struct hm_template *_t = NULL;                                 \
		struct hm_error _e = { 0 };                                    \
		int _r = load_text((text), &_t, &_e);                          \
		hm_template_free(_t);                                          \
		if (_r >= 0)                                                   \
			FAIL("loaded, expected error '%s'", (want));           \
		CHECK_EQ_INT(_r, (want_code));                                 \
		if (strncmp(_e.msg, (want), strlen(want)) != 0)                \
			FAIL("message '%s', expected it to start with '%s'",  \
			     _e.msg, (want));                                  \
	} while (0)

#define FULL                                                                   \
	"hallmark: 1\n"                                                        \
	"name: demo-1.0\n"                                                     \
	"serial: 42\n"                                                         \
	"expires_days: 90\n"                                                   \
	"description: a demo image\n"                                          \
	"base:\n"                                                              \
	"  debian:\n"                                                          \
	"    suite: bookworm\n"                                                \
	"    variant: apt\n"                                                   \
	"    packages: [openssh-server, ca-certificates, openssh-server, libc6]\n" \
	"    mirror: http://deb.debian.org/debian\n"                           \
	"remove: [/usr/share/doc/**, /var/lib/apt/lists/*]\n"                  \
	"directories:\n"                                                       \
	"  - {path: /opt/app, mode: \"0750\", uid: 1000, gid: 1000}\n"         \
	"  - {path: /srv}\n"                                                   \
	"files:\n"                                                             \
	"  - {path: /etc/motd, content: \"hi\\n\", mode: \"0600\", uid: 1, gid: 2}\n" \
	"  - {path: /etc/issue.net, source: files/issue.net}\n"                \
	"  - {path: /etc/empty, content: \"\", mode: 0444}\n"                  \
	"symlinks:\n"                                                          \
	"  - {path: /usr/local/bin/py, target: /usr/bin/python3, uid: 3, gid: 4}\n" \
	"groups:\n"                                                            \
	"  - {name: app, gid: 1000}\n"                                         \
	"  - {name: ops, gid: 1001}\n"                                         \
	"users:\n"                                                             \
	"  - name: app\n"                                                      \
	"    uid: 1000\n"                                                      \
	"    gid: 1000\n"                                                      \
	"  - name: ops\n"                                                      \
	"    uid: 1001\n"                                                      \
	"    gid: 1001\n"                                                      \
	"    home: /var/lib/ops\n"                                             \
	"    shell: /bin/bash\n"                                               \
	"    gecos: Operations\n"                                              \
	"    groups: [adm, app]\n"                                             \
	"    authorized_keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE9pcw== ops@example\"]\n" \
	"    create_home: true\n"                                             \
	"permissions:\n"                                                       \
	"  - {path: /usr/bin/ch*, mode: \"0755\"}\n"                           \
	"  - {path: /usr/bin/wall, mode: \"755\", gid: 0}\n"                   \
	"config:\n"                                                            \
	"  entrypoint: [/usr/bin/tini, --]\n"                                  \
	"  cmd: [/bin/bash, -l]\n"                                             \
	"  env: [\"PATH=/usr/bin:/bin\", LANG=C.UTF-8]\n"                      \
	"  user: \"1000:1000\"\n"                                              \
	"  workdir: /opt/app\n"                                                \
	"  labels: {org.opencontainers.image.title: demo, a.first: \"1\"}\n"   \
	"outputs: [tar]\n"

TEST(full_template)
{
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };
	char want_dir[4096], want_src[4200];

	CHECK(mkdir("files", 0755) == 0);
	CHECK(write_text("files/issue.net", "authorised use only\n") == 0);
	CHECK_OK(load_text(FULL, &t, &err), &err);
	CHECK(getcwd(want_dir, sizeof(want_dir)) != NULL);

	CHECK_EQ_STR(t->path, "t.yaml");
	CHECK_EQ_STR(t->dir, want_dir);
	CHECK_EQ_INT(strlen(t->sha256), 64);
	CHECK_EQ_STR(t->name, "demo-1.0");
	CHECK_EQ_INT(t->serial, 42);
	CHECK_EQ_INT(t->expires_days, 90);
	CHECK_EQ_STR(t->description, "a demo image");

	CHECK_EQ_INT(t->base.kind, HM_BASE_DEBIAN);
	CHECK_EQ_STR(t->base.suite, "bookworm");
	CHECK_EQ_STR(t->base.variant, "apt");
	CHECK_EQ_INT(t->base.n_packages, 3);        /* sorted, unique */
	CHECK_EQ_STR(t->base.packages[0], "ca-certificates");
	CHECK_EQ_STR(t->base.packages[1], "libc6");
	CHECK_EQ_STR(t->base.packages[2], "openssh-server");
	CHECK_EQ_STR(t->base.mirror, "http://deb.debian.org/debian");
	CHECK(t->base.path == NULL);
	CHECK_EQ_STR(t->base.sha256, "");

	CHECK_EQ_INT(t->n_remove, 2);
	CHECK_EQ_STR(t->remove[0], "/usr/share/doc/**");
	CHECK_EQ_STR(t->remove[1], "/var/lib/apt/lists/*");

	CHECK_EQ_INT(t->n_dirs, 2);
	CHECK_EQ_STR(t->dirs[0].path, "/opt/app");
	CHECK_EQ_INT(t->dirs[0].mode, 0750);
	CHECK_EQ_INT(t->dirs[0].uid, 1000);
	CHECK_EQ_INT(t->dirs[0].gid, 1000);
	CHECK_EQ_STR(t->dirs[1].path, "/srv");
	CHECK_EQ_INT(t->dirs[1].mode, 0755);
	CHECK_EQ_INT(t->dirs[1].uid, 0);
	CHECK_EQ_INT(t->dirs[1].gid, 0);

	CHECK_EQ_INT(t->n_files, 3);
	CHECK_EQ_STR(t->files[0].path, "/etc/motd");
	CHECK_EQ_STR(t->files[0].content, "hi\n");
	CHECK_EQ_INT(t->files[0].content_len, 3);
	CHECK(t->files[0].source == NULL);
	CHECK_EQ_INT(t->files[0].mode, 0600);
	CHECK_EQ_INT(t->files[0].uid, 1);
	CHECK_EQ_INT(t->files[0].gid, 2);
	CHECK_EQ_STR(t->files[1].path, "/etc/issue.net");
	CHECK(t->files[1].content == NULL);
	snprintf(want_src, sizeof(want_src), "%s/files/issue.net", want_dir);
	CHECK_EQ_STR(t->files[1].source, want_src);
	CHECK_EQ_INT(t->files[1].mode, 0644);
	CHECK_EQ_STR(t->files[2].content, "");
	CHECK_EQ_INT(t->files[2].content_len, 0);
	CHECK_EQ_INT(t->files[2].mode, 0444);

	CHECK_EQ_INT(t->n_symlinks, 1);
	CHECK_EQ_STR(t->symlinks[0].path, "/usr/local/bin/py");
	CHECK_EQ_STR(t->symlinks[0].target, "/usr/bin/python3");
	CHECK_EQ_INT(t->symlinks[0].uid, 3);
	CHECK_EQ_INT(t->symlinks[0].gid, 4);

	CHECK_EQ_INT(t->n_groups, 2);
	CHECK_EQ_STR(t->groups[0].name, "app");
	CHECK_EQ_INT(t->groups[0].gid, 1000);
	CHECK_EQ_STR(t->groups[1].name, "ops");
	CHECK_EQ_INT(t->groups[1].gid, 1001);

	CHECK_EQ_INT(t->n_users, 2);
	CHECK_EQ_STR(t->users[0].name, "app");
	CHECK_EQ_INT(t->users[0].uid, 1000);
	CHECK_EQ_INT(t->users[0].gid, 1000);
	CHECK_EQ_STR(t->users[0].home, "/home/app");
	CHECK_EQ_STR(t->users[0].shell, "/usr/sbin/nologin");
	CHECK_EQ_STR(t->users[0].gecos, "");
	CHECK_EQ_INT(t->users[0].n_groups, 0);
	CHECK_EQ_INT(t->users[0].n_authorized_keys, 0);
	CHECK(t->users[0].create_home);
	CHECK_EQ_STR(t->users[1].name, "ops");
	CHECK_EQ_STR(t->users[1].home, "/var/lib/ops");
	CHECK_EQ_STR(t->users[1].shell, "/bin/bash");
	CHECK_EQ_STR(t->users[1].gecos, "Operations");
	CHECK_EQ_INT(t->users[1].n_groups, 2);
	CHECK_EQ_STR(t->users[1].groups[0], "adm");
	CHECK_EQ_STR(t->users[1].groups[1], "app");
	CHECK_EQ_INT(t->users[1].n_authorized_keys, 1);
	CHECK_EQ_STR(t->users[1].authorized_keys[0],
		     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE9pcw== ops@example");
	CHECK(t->users[1].create_home);

	CHECK_EQ_INT(t->n_perms, 2);
	CHECK_EQ_STR(t->perms[0].glob, "/usr/bin/ch*");
	CHECK_EQ_INT(t->perms[0].mode, 0755);
	CHECK(!t->perms[0].has_uid && !t->perms[0].has_gid);
	CHECK_EQ_STR(t->perms[1].glob, "/usr/bin/wall");
	CHECK_EQ_INT(t->perms[1].mode, 0755);
	CHECK(!t->perms[1].has_uid && t->perms[1].has_gid);
	CHECK_EQ_INT(t->perms[1].gid, 0);

	CHECK_EQ_INT(t->config.n_entrypoint, 2);
	CHECK_EQ_STR(t->config.entrypoint[0], "/usr/bin/tini");
	CHECK_EQ_STR(t->config.entrypoint[1], "--");
	CHECK_EQ_INT(t->config.n_cmd, 2);
	CHECK_EQ_STR(t->config.cmd[0], "/bin/bash");
	CHECK_EQ_STR(t->config.cmd[1], "-l");
	CHECK_EQ_INT(t->config.n_env, 2);
	CHECK_EQ_STR(t->config.env[0], "PATH=/usr/bin:/bin");
	CHECK_EQ_STR(t->config.env[1], "LANG=C.UTF-8");
	CHECK_EQ_STR(t->config.user, "1000:1000");
	CHECK_EQ_STR(t->config.workdir, "/opt/app");
	CHECK_EQ_INT(t->config.n_labels, 2);         /* sorted by key */
	CHECK_EQ_STR(t->config.label_keys[0], "a.first");
	CHECK_EQ_STR(t->config.label_values[0], "1");
	CHECK_EQ_STR(t->config.label_keys[1], "org.opencontainers.image.title");
	CHECK_EQ_STR(t->config.label_values[1], "demo");

	CHECK_EQ_INT(t->outputs, HM_OUTPUT_TAR);
	hm_template_free(t);
}

TEST(defaults)
{
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };

	CHECK_OK(load_text(HEAD "users: [{name: app, uid: 7, gid: 7}]\n", &t, &err), &err);
	CHECK_EQ_INT(t->expires_days, 0);
	CHECK(t->description == NULL);
	CHECK_EQ_STR(t->base.variant, "minbase");
	CHECK_EQ_INT(t->base.n_packages, 0);
	CHECK(t->base.mirror == NULL);
	CHECK_EQ_INT(t->n_remove + t->n_dirs + t->n_files + t->n_symlinks +
		     t->n_groups + t->n_perms, 0);
	CHECK_EQ_STR(t->users[0].home, "/home/app");
	CHECK_EQ_STR(t->users[0].shell, "/usr/sbin/nologin");
	CHECK_EQ_STR(t->users[0].gecos, "");
	CHECK(t->users[0].create_home);
	CHECK_EQ_INT(t->config.n_entrypoint + t->config.n_cmd +
		     t->config.n_env + t->config.n_labels, 0);
	CHECK_EQ_STR(t->config.user, "");
	CHECK_EQ_STR(t->config.workdir, "");
	CHECK_EQ_INT(t->outputs, HM_OUTPUT_OCI | HM_OUTPUT_TAR);
	hm_template_free(t);
}

TEST(digest_and_folder)
{
	/* printf 'hallmark: 1\nname: t\nserial: 1\nbase: {debian: {suite: bookworm}}\n' | sha256sum */
	static const char want[] =
		"5599bfcc82ba81f5b3ff0134bec29b409d3a1e6edf0123f5f8edde2b604093b8";
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };
	char cwd[4096], want_dir[4200];

	CHECK(mkdir("sub", 0755) == 0);
	CHECK(write_text("sub/x.yaml", HEAD) == 0);
	CHECK_OK(hm_template_load("sub/x.yaml", &t, &err), &err);
	CHECK_EQ_STR(t->sha256, want);
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	snprintf(want_dir, sizeof(want_dir), "%s/sub", cwd);
	CHECK_EQ_STR(t->dir, want_dir);
	hm_template_free(t);

	/* One byte more: another digest. */
	CHECK(write_text("sub/x.yaml", HEAD "\n") == 0);
	CHECK_OK(hm_template_load("sub/x.yaml", &t, &err), &err);
	CHECK(strcmp(t->sha256, want) != 0);
	CHECK_EQ_INT(strlen(t->sha256), 64);
	hm_template_free(t);
}

TEST(yaml_errors)
{
	EXPECT_ERR(HEAD "colour: blue\n", HM_ERR_INPUT,
		   "t.yaml:5:1: unknown key 'colour' in a template");
	EXPECT_ERR(HEAD "serial: 2\n", HM_ERR_INPUT,
		   "t.yaml:5:1: duplicate key 'serial'");
	EXPECT_ERR(HEAD "remove: &a [/x]\n", HM_ERR_INPUT, "t.yaml:5:9: anchors are not allowed");
	EXPECT_ERR(HEAD "remove: [/x]\nfiles: *a\n", HM_ERR_INPUT, "t.yaml:6:8: aliases are not allowed");
	EXPECT_ERR(HEAD "directories: [{path: /a, colour: blue}]\n",
		   HM_ERR_INPUT, "t.yaml:5:26: unknown key 'colour' in 'directories'");
	EXPECT_ERR(HEAD "directories: [{path: /a, path: /b}]\n", HM_ERR_INPUT,
		   "t.yaml:5:26: duplicate key 'path'");
}

TEST(header_errors)
{
	EXPECT_ERR("name: t\nserial: 1\n", HM_ERR_INPUT,
		   "t.yaml:1:1: a template must start with 'hallmark: 1'");
	EXPECT_ERR("hallmark: 2\nname: t\nnew_key: 1\n", HM_ERR_INPUT,
		   "t.yaml:1:11: unsupported template format 2");
	EXPECT_ERR("- a\n", HM_ERR_INPUT, "t.yaml:1:1: a template must be a mapping");
	EXPECT_ERR("hallmark: 1\nname: .bad\nserial: 1\n", HM_ERR_INPUT,
		   "t.yaml:2:7: 'name' '.bad' is not a valid image name");
	EXPECT_ERR("hallmark: 1\nname: t\nserial: -1\n", HM_ERR_INPUT,
		   "t.yaml:3:9: 'serial' must be an unquoted decimal integer");
	EXPECT_ERR("hallmark: 1\nname: t\n", HM_ERR_INPUT,
		   "t.yaml:1:1: 'serial' is required");
	EXPECT_ERR(HEAD "expires_days: 99999\n", HM_ERR_INPUT,
		   "t.yaml:5:15: 'expires_days' must be at most 36500");
}

TEST(wrong_types)
{
	EXPECT_ERR(HEAD "remove: /usr/share/doc\n", HM_ERR_INPUT,
		   "t.yaml:5:9: 'remove' must be a sequence, not a scalar");
	EXPECT_ERR(HEAD "files: [/etc/motd]\n", HM_ERR_INPUT,
		   "t.yaml:5:9: 'files' items must be mappings, not a scalar");
	EXPECT_ERR(HEAD "groups: [{name: app, gid: \"10\"}]\n", HM_ERR_INPUT,
		   "t.yaml:5:27: 'gid' must be an unquoted decimal integer");
	EXPECT_ERR(HEAD "users: [{name: a, uid: 1, gid: 1, create_home: yes}]\n",
		   HM_ERR_INPUT, "t.yaml:5:48: 'create_home' must be true or false");
	EXPECT_ERR(HEAD "files: [{path: /a, content: [x]}]\n", HM_ERR_INPUT,
		   "t.yaml:5:29: 'content' must be a string, not a sequence");
	EXPECT_ERR(HEAD "files: [{path: /a, content: }]\n", HM_ERR_INPUT,
		   "t.yaml:5:29: 'content' must be a string, not a null");
	EXPECT_ERR(HEAD "groups: [{name: a, gid: 4294967295}]\n", HM_ERR_INPUT,
		   "t.yaml:5:25: 'gid' must be at most 4294967294");
	EXPECT_ERR(HEAD "config: {labels: [a]}\n", HM_ERR_INPUT,
		   "t.yaml:5:18: 'labels' must be a mapping, not a sequence");
}

TEST(modes)
{
	EXPECT_ERR(HEAD "directories: [{path: /a, mode: 755}]\n", HM_ERR_INPUT,
		   "t.yaml:5:32: 'mode' 755 must be quoted (\"0755\")");
	EXPECT_ERR(HEAD "directories: [{path: /a, mode: 4755}]\n", HM_ERR_INPUT,
		   "t.yaml:5:32: 'mode' 4755 must be quoted (\"4755\")");
	EXPECT_ERR(HEAD "directories: [{path: /a, mode: \"0855\"}]\n", HM_ERR_INPUT,
		   "t.yaml:5:32: 'mode' must be 3 or 4 octal digits");
	EXPECT_ERR(HEAD "directories: [{path: /a, mode: \"07555\"}]\n", HM_ERR_INPUT,
		   "t.yaml:5:32: 'mode' must be 3 or 4 octal digits");
	EXPECT_ERR(HEAD "permissions: [{path: /a, mode: 0o755}]\n", HM_ERR_INPUT,
		   "t.yaml:5:32: 'mode' must be 3 or 4 octal digits");
	EXPECT_ERR(HEAD "permissions: [{path: /a}]\n", HM_ERR_INPUT,
		   "t.yaml:5:15: 'mode' is required in a permission fix");
}

TEST(mode_values)
{
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };

	CHECK_OK(load_text(HEAD "permissions:\n"
			   "  - {path: /a, mode: 0755}\n"
			   "  - {path: /b, mode: \"4755\"}\n"
			   "  - {path: /c, mode: '640'}\n"
			   "  - {path: /d, mode: \"0000\"}\n", &t, &err), &err);
	CHECK_EQ_INT(t->perms[0].mode, 0755);
	CHECK_EQ_INT(t->perms[1].mode, 04755);
	CHECK_EQ_INT(t->perms[2].mode, 0640);
	CHECK_EQ_INT(t->perms[3].mode, 0);
	hm_template_free(t);
}

TEST(paths)
{
	EXPECT_ERR(HEAD "files: [{path: etc/motd, content: x}]\n", HM_ERR_INPUT,
		   "t.yaml:5:16: 'path' 'etc/motd' must be an absolute path");
	EXPECT_ERR(HEAD "files: [{path: /etc/../motd, content: x}]\n", HM_ERR_INPUT,
		   "t.yaml:5:16: 'path' '/etc/../motd' has a '..' component");
	EXPECT_ERR(HEAD "files: [{path: /etc/./motd, content: x}]\n", HM_ERR_INPUT,
		   "t.yaml:5:16: 'path' '/etc/./motd' has a '.' component");
	EXPECT_ERR(HEAD "directories: [{path: /opt/}]\n", HM_ERR_INPUT,
		   "t.yaml:5:22: 'path' '/opt/' has an empty component or a trailing '/'");
	EXPECT_ERR(HEAD "symlinks: [{path: //x, target: y}]\n", HM_ERR_INPUT,
		   "t.yaml:5:19: 'path' '//x' has an empty component");
	EXPECT_ERR(HEAD "files: [{path: /etc/.wh.shadow, content: x}]\n", HM_ERR_INPUT,
		   "t.yaml:5:16: 'path' '/etc/.wh.shadow': a name starting with '.wh.' reads as a whiteout in an OCI layer");
	EXPECT_ERR(HEAD "directories: [{path: /.wh..wh..opq/x}]\n", HM_ERR_INPUT,
		   "t.yaml:5:22: 'path' '/.wh..wh..opq/x': a name starting with '.wh.' reads as a whiteout in an OCI layer");
	EXPECT_ERR(HEAD "files: [{path: /, content: x}]\n", HM_ERR_INPUT,
		   "t.yaml:5:16: 'path' cannot be '/'");
	EXPECT_ERR(HEAD "files: [{path: \"/a\\0b\", content: x}]\n", HM_ERR_INPUT,
		   "t.yaml:5:16: 'path' contains a NUL byte");
	EXPECT_ERR(HEAD "remove: [\"/a/../b\"]\n", HM_ERR_INPUT, "t.yaml:5:10: 'remove'");
	EXPECT_ERR(HEAD "symlinks: [{path: /x, target: \"\"}]\n", HM_ERR_INPUT,
		   "t.yaml:5:31: 'target' is empty");
	EXPECT_ERR(HEAD "config: {workdir: app}\n", HM_ERR_INPUT,
		   "t.yaml:5:19: 'workdir' 'app' must be an absolute path");
}

TEST(duplicate_paths)
{
	EXPECT_ERR(HEAD "directories: [{path: /etc/x}]\n"
		   "files:\n"
		   "  - {path: /etc/y, content: a}\n"
		   "  - {path: /etc/x, content: b}\n", HM_ERR_INPUT,
		   "t.yaml:8:12: '/etc/x' in 'files' is already declared in 'directories' at line 5 col 22");
	/* The repeat reported is the first in the file, not the first in
	 * path order. */
	EXPECT_ERR(HEAD "symlinks:\n"
		   "  - {path: /b, target: x}\n"
		   "  - {path: /a, target: x}\n"
		   "  - {path: /b, target: y}\n"
		   "  - {path: /a, target: y}\n", HM_ERR_INPUT,
		   "t.yaml:8:12: '/b' in 'symlinks' is already declared in 'symlinks' at line 6 col 12");
}

TEST(names_and_ids)
{
	EXPECT_ERR(HEAD "groups: [{name: Admins, gid: 5}]\n", HM_ERR_INPUT,
		   "t.yaml:5:17: group name 'Admins' is not a valid name");
	EXPECT_ERR(HEAD "users: [{name: 9lives, uid: 5, gid: 5}]\n", HM_ERR_INPUT,
		   "t.yaml:5:16: user name '9lives' is not a valid name");
	EXPECT_ERR(HEAD "users: [{name: abcdefghijabcdefghijabcdefghijabc, uid: 5, gid: 5}]\n",
		   HM_ERR_INPUT, "t.yaml:5:16: user name 'abcdefghijabcdefghijabcdefghijabc' is not a valid name");
	EXPECT_ERR(HEAD "groups:\n  - {name: a, gid: 5}\n  - {name: a, gid: 6}\n",
		   HM_ERR_INPUT, "t.yaml:7:12: group 'a' is already declared at line 6");
	EXPECT_ERR(HEAD "groups:\n  - {name: a, gid: 5}\n  - {name: b, gid: 5}\n",
		   HM_ERR_INPUT, "t.yaml:7:20: gid 5 is already used by group 'a' at line 6");
	EXPECT_ERR(HEAD "users:\n  - {name: a, uid: 5, gid: 5}\n  - {name: a, uid: 6, gid: 5}\n",
		   HM_ERR_INPUT, "t.yaml:7:12: user 'a' is already declared at line 6");
	EXPECT_ERR(HEAD "users:\n  - {name: a, uid: 5, gid: 5}\n  - {name: b, uid: 5, gid: 5}\n",
		   HM_ERR_INPUT, "t.yaml:7:20: uid 5 is already used by user 'a' at line 6");
	EXPECT_ERR(HEAD "users: [{name: a, uid: 5, gid: 5, groups: [adm, adm]}]\n",
		   HM_ERR_INPUT, "t.yaml:5:49: group 'adm' is listed twice");
	EXPECT_ERR(HEAD "users: [{name: a, uid: 5}]\n", HM_ERR_INPUT,
		   "t.yaml:5:9: 'gid' is required in a user");
	EXPECT_ERR(HEAD "users: [{name: a, uid: 5, gid: 5, gecos: \"a:b\"}]\n",
		   HM_ERR_INPUT, "t.yaml:5:42: 'gecos' must not contain ':'");
	EXPECT_ERR(HEAD "users: [{name: a, uid: 5, gid: 5, shell: bash}]\n",
		   HM_ERR_INPUT, "t.yaml:5:42: 'shell' 'bash' must be an absolute path");
}

TEST(keys_need_a_home)
{
	EXPECT_ERR(HEAD "users:\n  - name: a\n    uid: 5\n    gid: 5\n"
		   "    create_home: false\n"
		   "    authorized_keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE9pcw==\"]\n",
		   HM_ERR_INPUT, "t.yaml:10:22: 'authorized_keys' needs a home");
}

TEST(password_refused)
{
	EXPECT_ERR(HEAD "users:\n  - name: a\n    uid: 5\n    gid: 5\n    password: secret\n",
		   HM_ERR_INPUT, "t.yaml:9:5: 'password' is not supported: passwords are always locked");
	EXPECT_ERR(HEAD "users: [{name: a, uid: 5, gid: 5, password_hash: x}]\n",
		   HM_ERR_INPUT, "t.yaml:5:35: unknown key 'password_hash'");
}

TEST(authorized_keys)
{
	EXPECT_ERR(HEAD "users: [{name: a, uid: 5, gid: 5, authorized_keys: [\"ssh-ed25519\"]}]\n",
		   HM_ERR_INPUT, "t.yaml:5:53: 'authorized_keys': expected 'TYPE BASE64 [COMMENT]'");
	EXPECT_ERR(HEAD "users: [{name: a, uid: 5, gid: 5, authorized_keys: [\"ssh-ed25519 not*base64!!! x\"]}]\n",
		   HM_ERR_INPUT, "t.yaml:5:53: 'authorized_keys': the key after 'ssh-ed25519' is not base64");
	EXPECT_ERR(HEAD "users: [{name: a, uid: 5, gid: 5, authorized_keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE9pcw==\\nssh-rsa AAAA\"]}]\n",
		   HM_ERR_INPUT, "t.yaml:5:53: 'authorized_keys': a key must be one line");
	EXPECT_ERR(HEAD "users: [{name: a, uid: 5, gid: 5, authorized_keys: [\"from=\\\"x\\\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE9pcw==\"]}]\n",
		   HM_ERR_INPUT, "t.yaml:5:53: 'authorized_keys': expected");
}

TEST(sources)
{
	CHECK(mkdir("tpl", 0755) == 0);
	CHECK(mkdir("tpl/files", 0755) == 0);
	CHECK(write_text("secret", "outside\n") == 0);
	CHECK(write_text("tpl/files/ok", "inside\n") == 0);
	CHECK(symlink("../../secret", "tpl/files/link") == 0);
	CHECK(symlink("ok", "tpl/files/inlink") == 0);
	CHECK(chdir("tpl") == 0);

	EXPECT_ERR(HEAD "files: [{path: /a, source: ../secret}]\n", HM_ERR_INPUT,
		   "t.yaml:5:28: 'source' '../secret' must not leave the template's folder ('..')");
	EXPECT_ERR(HEAD "files: [{path: /a, source: files/../../secret}]\n", HM_ERR_INPUT,
		   "t.yaml:5:28: 'source' 'files/../../secret' must not leave");
	EXPECT_ERR(HEAD "files: [{path: /a, source: files/link}]\n", HM_ERR_INPUT,
		   "t.yaml:5:28: 'source' 'files/link' resolves to '");
	EXPECT_ERR(HEAD "files: [{path: /a, source: /etc/passwd}]\n", HM_ERR_INPUT,
		   "t.yaml:5:28: 'source' '/etc/passwd' must be relative to the template's folder");
	EXPECT_ERR(HEAD "files: [{path: /a, source: files/nope}]\n", HM_ERR_INPUT,
		   "t.yaml:5:28: 'source' 'files/nope': cannot resolve");
	EXPECT_ERR(HEAD "files: [{path: /a, source: files}]\n", HM_ERR_INPUT,
		   "t.yaml:5:28: 'source' 'files' is not a regular file");
	EXPECT_ERR(HEAD "files: [{path: /a, source: files/ok, content: x}]\n", HM_ERR_INPUT,
		   "t.yaml:5:28: a file has either 'content' or 'source', not both");
	EXPECT_ERR(HEAD "files: [{path: /a}]\n", HM_ERR_INPUT,
		   "t.yaml:5:9: a file needs 'content'");

	{
		/* A symlink that stays inside is fine; the resolved path is kept. */
		struct hm_template *t = NULL;
		struct hm_error err = { 0 };

		CHECK_OK(load_text(HEAD "files: [{path: /a, source: ./files/inlink}]\n", &t, &err), &err);
		CHECK(strstr(t->files[0].source, "/tpl/files/ok") != NULL);
		CHECK_EQ_INT(strlen(strstr(t->files[0].source, "/tpl/files/ok")),
			     strlen("/tpl/files/ok"));
		hm_template_free(t);
	}
}

/* The path the loader kept is opened again with no symlink followed, with
 * openat2 and with the per-component fallback alike (item 13). */
TEST(source_reopen)
{
	int pass;

	CHECK(mkdir("tpl", 0755) == 0);
	CHECK(mkdir("tpl/files", 0755) == 0);
	CHECK(mkdir("tpl/files/sub", 0755) == 0);
	CHECK(write_text("secret", "outside\n") == 0);
	CHECK(write_text("tpl/files/sub/ok", "inside\n") == 0);
	CHECK(chdir("tpl") == 0);
	for (pass = 0; pass < 2; pass++) {
		struct hm_template *t = NULL;
		struct hm_error err = { 0 };
		char buf[16] = { 0 };
		int fd;

		hm_template_no_openat2 = pass == 1;
		CHECK_OK(load_text(HEAD "files: [{path: /a, source: files/sub/ok}]\n", &t, &err), &err);
		CHECK(strcmp(t->files[0].source_rel, "files/sub/ok") == 0);
		fd = hm_template_open_source(t, t->files[0].source_rel);
		CHECK(fd >= 0);
		CHECK(read(fd, buf, sizeof(buf) - 1) == 7);
		CHECK(strcmp(buf, "inside\n") == 0);
		close(fd);
		/* The file, then a folder on the way, swapped for symlinks. */
		CHECK(rename("files/sub/ok", "files/sub/ok.real") == 0);
		CHECK(symlink("../../../secret", "files/sub/ok") == 0);
		CHECK_EQ_INT(hm_template_open_source(t, t->files[0].source_rel), -ELOOP);
		CHECK(unlink("files/sub/ok") == 0);
		CHECK(symlink("ok.real", "files/sub/ok") == 0);
		CHECK_EQ_INT(hm_template_open_source(t, t->files[0].source_rel), -ELOOP);
		CHECK(unlink("files/sub/ok") == 0);
		CHECK(rename("files/sub/ok.real", "files/sub/ok") == 0);
		CHECK(rename("files/sub", "files/sub.real") == 0);
		CHECK(symlink("sub.real", "files/sub") == 0);
		fd = hm_template_open_source(t, t->files[0].source_rel);
		CHECK_EQ_INT(fd, -ELOOP);
		CHECK(unlink("files/sub") == 0);
		CHECK(rename("files/sub.real", "files/sub") == 0);
		hm_template_free(t);
	}
	hm_template_no_openat2 = false;
}

TEST(bases)
{
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };

	EXPECT_ERR("hallmark: 1\nname: t\nserial: 1\n", HM_ERR_INPUT,
		   "t.yaml:1:1: 'base' is required");
	EXPECT_ERR("hallmark: 1\nname: t\nserial: 1\nbase: {}\n", HM_ERR_INPUT,
		   "t.yaml:4:7: 'base' must have one of debian, tarball or oci");
	EXPECT_ERR("hallmark: 1\nname: t\nserial: 1\nbase:\n  debian: {suite: bookworm}\n"
		   "  tarball: {path: b.tar}\n", HM_ERR_INPUT,
		   "t.yaml:6:3: 'base' has both 'debian' and 'tarball': a template has exactly one base");
	EXPECT_ERR("hallmark: 1\nname: t\nserial: 1\nbase: {docker: {}}\n", HM_ERR_INPUT,
		   "t.yaml:4:8: unknown key 'docker' in 'base'");
	EXPECT_ERR("hallmark: 1\nname: t\nserial: 1\nbase: {debian: {suite: bookworm, variant: tiny}}\n",
		   HM_ERR_INPUT, "t.yaml:4:43: unknown variant 'tiny'");
	EXPECT_ERR("hallmark: 1\nname: t\nserial: 1\nbase: {debian: {suite: bookworm, packages: [Bad_Pkg]}}\n",
		   HM_ERR_INPUT, "t.yaml:4:45: 'Bad_Pkg' is not a Debian package name");
	EXPECT_ERR("hallmark: 1\nname: t\nserial: 1\nbase: {debian: {variant: apt}}\n",
		   HM_ERR_INPUT, "t.yaml:4:16: 'suite' is required in 'base: debian'");
	EXPECT_ERR("hallmark: 1\nname: t\nserial: 1\nbase: {debian: {suite: bookworm, mirror: ftp://x}}\n",
		   HM_ERR_INPUT, "t.yaml:4:42: 'mirror' must be an http:// or https:// URL");
	EXPECT_ERR("hallmark: 1\nname: t\nserial: 1\nbase: {tarball: {path: b.tar}}\n",
		   HM_ERR_INPUT, "t.yaml:4:24: base 'path' 'b.tar': cannot resolve");

	CHECK(write_text("b.tar", "x") == 0);
	EXPECT_ERR("hallmark: 1\nname: t\nserial: 1\nbase: {oci: {path: b.tar, sha256: ABC}}\n",
		   HM_ERR_INPUT, "t.yaml:4:35: 'sha256' must be 64 lowercase hex digits");
	CHECK_OK(load_text("hallmark: 1\nname: t\nserial: 1\nbase: {oci: {path: b.tar, sha256: "
			   "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881}}\n",
			   &t, &err), &err);
	CHECK_EQ_INT(t->base.kind, HM_BASE_OCI);
	CHECK(t->base.path[0] == '/');
	CHECK_EQ_STR(strrchr(t->base.path, '/'), "/b.tar");
	CHECK_EQ_STR(t->base.sha256,
		     "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
	CHECK(t->base.suite == NULL && t->base.variant == NULL);
	hm_template_free(t);
}

TEST(outputs)
{
	EXPECT_ERR(HEAD "outputs: [zip]\n", HM_ERR_INPUT,
		   "t.yaml:5:11: unknown output 'zip' (oci, tar, raw, qcow2)");
	EXPECT_ERR(HEAD "outputs: [oci, oci]\n", HM_ERR_INPUT,
		   "t.yaml:5:16: output 'oci' is listed twice");
	EXPECT_ERR(HEAD "outputs: [qcow2, raw, qcow2]\n" "disk: {size: 1G}\n", HM_ERR_INPUT,
		   "t.yaml:5:23: output 'qcow2' is listed twice");
	EXPECT_ERR(HEAD "outputs: []\n", HM_ERR_INPUT,
		   "t.yaml:5:10: 'outputs' must name at least one output");
	/* A disk output needs its section, pointed at on the output. */
	EXPECT_ERR(HEAD "outputs: [oci, raw]\n", HM_ERR_INPUT,
		   "t.yaml:5:16: output 'raw' needs a 'disk' section (at least 'size', e.g. size: 2G)");
	EXPECT_ERR(HEAD "outputs: [qcow2]\n", HM_ERR_INPUT,
		   "t.yaml:5:11: output 'qcow2' needs a 'disk' section");
	/* And a disk section without a disk output is a mistake. */
	EXPECT_ERR(HEAD "disk: {size: 1G}\n", HM_ERR_INPUT,
		   "t.yaml:5:7: 'disk' is given but 'outputs' lists no disk output (raw, qcow2)");
	EXPECT_ERR(HEAD "outputs: [oci]\ndisk: {size: 1G}\n", HM_ERR_INPUT,
		   "t.yaml:6:7: 'disk' is given but 'outputs' lists no disk output");
}

/* The OCI layer's compression: gzip unless zstd is asked, strictly. */
TEST(layer_compression)
{
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };

	CHECK_OK(load_text(HEAD, &t, &err), &err);
	CHECK_EQ_INT(t->layer_compression, HM_PGZIP_GZIP);
	hm_template_free(t);
	t = NULL;
	CHECK_OK(load_text(HEAD "layer_compression: zstd\n", &t, &err), &err);
	CHECK_EQ_INT(t->layer_compression, HM_PGZIP_ZSTD);
	hm_template_free(t);
	t = NULL;
	CHECK_OK(load_text(HEAD "outputs: [oci]\nlayer_compression: gzip\n", &t, &err), &err);
	CHECK_EQ_INT(t->layer_compression, HM_PGZIP_GZIP);
	hm_template_free(t);
	EXPECT_ERR(HEAD "layer_compression: xz\n", HM_ERR_INPUT,
		   "t.yaml:5:20: unknown layer compression 'xz' (gzip or zstd)");
	EXPECT_ERR(HEAD "layer_compression: ZSTD\n", HM_ERR_INPUT,
		   "t.yaml:5:20: unknown layer compression 'ZSTD'");
	EXPECT_ERR(HEAD "layer_compression: [zstd]\n", HM_ERR_INPUT,
		   "t.yaml:5:20: ");
	EXPECT_ERR(HEAD "outputs: [tar]\nlayer_compression: zstd\n", HM_ERR_INPUT,
		   "t.yaml:6:20: 'layer_compression' needs the 'oci' output");
	EXPECT_ERR(HEAD "layer-compression: zstd\n", HM_ERR_INPUT, "t.yaml:5:1: ");
}

/* The disk section: every key, and the defaults. */
TEST(disk_full)
{
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };

	CHECK_OK(load_text(HEAD "outputs: [oci, tar, raw, qcow2]\n"
			   "disk:\n"
			   "  size: 2G\n"
			   "  partition_table: gpt\n"
			   "  filesystem: ext4\n"
			   "  label: gold-root\n"
			   "  kernel: /boot/vmlinuz-6.1\n"
			   "  initrd: /boot/initrd.img-6.1\n"
			   "  cmdline: console=ttyS0,115200 quiet\n"
			   "  vm_only: [/boot/**, /usr/lib/modules/**, /vmlinuz*]\n",
			   &t, &err), &err);
	CHECK_EQ_INT(t->outputs, HM_OUTPUT_OCI | HM_OUTPUT_TAR | HM_OUTPUT_RAW | HM_OUTPUT_QCOW2);
	CHECK_EQ_INT(t->disk.size, 2ull << 30);
	CHECK_EQ_INT(t->disk.partition_table, HM_PT_GPT);
	CHECK_EQ_STR(t->disk.filesystem, "ext4");
	CHECK_EQ_STR(t->disk.label, "gold-root");
	CHECK_EQ_STR(t->disk.kernel, "/boot/vmlinuz-6.1");
	CHECK_EQ_STR(t->disk.initrd, "/boot/initrd.img-6.1");
	CHECK_EQ_STR(t->disk.cmdline, "console=ttyS0,115200 quiet");
	CHECK_EQ_INT(t->disk.n_vm_only, 3);
	CHECK_EQ_STR(t->disk.vm_only[2], "/vmlinuz*");
	hm_template_free(t);
}

TEST(disk_defaults)
{
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };

	CHECK_OK(load_text("hallmark: 1\nname: a-very-long-image-name\nserial: 1\n"
			   "base: {debian: {suite: bookworm}}\n"
			   "outputs: [qcow2]\ndisk: {size: 512M}\n", &t, &err), &err);
	CHECK_EQ_INT(t->outputs, HM_OUTPUT_QCOW2);
	CHECK_EQ_INT(t->disk.size, 512ull << 20);
	CHECK_EQ_INT(t->disk.partition_table, HM_PT_MBR);
	CHECK_EQ_STR(t->disk.filesystem, "ext4");
	CHECK_EQ_STR(t->disk.label, "a-very-long-imag");   /* the name, 16 bytes */
	CHECK_EQ_STR(t->disk.kernel, "/vmlinuz");
	CHECK_EQ_STR(t->disk.initrd, "/initrd.img");
	CHECK_EQ_STR(t->disk.cmdline, "console=ttyS0");
	CHECK_EQ_INT(t->disk.n_vm_only, 0);
	hm_template_free(t);

	/* Sizes: bytes, every suffix, the IEC spelling; cmdline off. */
	CHECK_OK(load_text(HEAD "outputs: [raw]\ndisk: {size: 67108864, cmdline: ~}\n",
			   &t, &err), &err);
	CHECK_EQ_INT(t->disk.size, 64ull << 20);
	CHECK_EQ_STR(t->disk.cmdline, "");
	hm_template_free(t);
	CHECK_OK(load_text(HEAD "outputs: [raw]\ndisk: {size: \"2TiB\"}\n", &t, &err), &err);
	CHECK_EQ_INT(t->disk.size, 2ull << 40);
	hm_template_free(t);
	CHECK_OK(load_text(HEAD "outputs: [raw]\ndisk: {size: 65536K}\n", &t, &err), &err);
	CHECK_EQ_INT(t->disk.size, 64ull << 20);
	hm_template_free(t);
}

#define DISK_HEAD HEAD "outputs: [raw]\n"

TEST(disk_errors)
{
	EXPECT_ERR(DISK_HEAD "disk: [1G]\n", HM_ERR_INPUT,
		   "t.yaml:6:7: 'disk' must be a mapping, not a sequence");
	EXPECT_ERR(DISK_HEAD "disk: {label: x}\n", HM_ERR_INPUT,
		   "t.yaml:6:7: 'size' is required in 'disk'");
	EXPECT_ERR(DISK_HEAD "disk: {size: 1G, colour: red}\n", HM_ERR_INPUT,
		   "t.yaml:6:18: unknown key 'colour' in 'disk'");
	EXPECT_ERR(DISK_HEAD "disk: {size: 2X}\n", HM_ERR_INPUT,
		   "t.yaml:6:14: 'size' must be a size such as \"2G\" or \"512M\"");
	EXPECT_ERR(DISK_HEAD "disk: {size: G}\n", HM_ERR_INPUT,
		   "t.yaml:6:14: 'size' must be a size such as");
	EXPECT_ERR(DISK_HEAD "disk: {size: 2GB}\n", HM_ERR_INPUT,
		   "t.yaml:6:14: 'size' must be a size such as");
	EXPECT_ERR(DISK_HEAD "disk: {size: -1G}\n", HM_ERR_INPUT,
		   "t.yaml:6:14: 'size' must be a size such as");
	EXPECT_ERR(DISK_HEAD "disk: {size: [1G]}\n", HM_ERR_INPUT,
		   "t.yaml:6:14: 'size' must be a size such as \"2G\" or \"512M\", not a sequence");
	EXPECT_ERR(DISK_HEAD "disk: {size: 10M}\n", HM_ERR_LIMIT,
		   "t.yaml:6:14: 'size' '10M' is smaller than the minimum of 64 MiB");
	EXPECT_ERR(DISK_HEAD "disk: {size: 3T}\n", HM_ERR_LIMIT,
		   "t.yaml:6:14: 'size' '3T' is larger than the maximum of 2 TiB");
	EXPECT_ERR(DISK_HEAD "disk: {size: 99999999999999999999999}\n", HM_ERR_LIMIT,
		   "t.yaml:6:14: 'size' '99999999999999999999999' is larger than the maximum of 2 TiB");
	EXPECT_ERR(DISK_HEAD "disk: {size: 67109376}\n", HM_ERR_INPUT,
		   "t.yaml:6:14: 'size' '67109376' must be a whole number of MiB");
	EXPECT_ERR(DISK_HEAD "disk: {size: 1G, partition_table: dos}\n", HM_ERR_INPUT,
		   "t.yaml:6:35: 'partition_table' must be mbr or gpt, not 'dos'");
	EXPECT_ERR(DISK_HEAD "disk: {size: 1G, filesystem: xfs}\n", HM_ERR_INPUT,
		   "t.yaml:6:30: 'filesystem' must be ext4, not 'xfs'");
	EXPECT_ERR(DISK_HEAD "disk: {size: 1G, label: this-label-is-too-long}\n", HM_ERR_INPUT,
		   "t.yaml:6:25: 'label' 'this-label-is-too-long' must be 1..16 bytes");
	EXPECT_ERR(DISK_HEAD "disk: {size: 1G, label: \"my root\"}\n", HM_ERR_INPUT,
		   "t.yaml:6:25: 'label' 'my root' must be 1..16 bytes");
	EXPECT_ERR(DISK_HEAD "disk: {size: 1G, kernel: boot/vmlinuz}\n", HM_ERR_INPUT,
		   "t.yaml:6:26: disk 'kernel' 'boot/vmlinuz' must be an absolute path");
	EXPECT_ERR(DISK_HEAD "disk: {size: 1G, initrd: /boot/../initrd}\n", HM_ERR_INPUT,
		   "t.yaml:6:26: disk 'initrd' '/boot/../initrd' has a '..' component");
	EXPECT_ERR(DISK_HEAD "disk: {size: 1G, kernel: \"/boot/my kernel\"}\n", HM_ERR_INPUT,
		   "t.yaml:6:26: disk 'kernel' must not contain spaces or control characters");
	EXPECT_ERR(DISK_HEAD "disk: {size: 1G, cmdline: \"quiet root=/dev/sda1\"}\n", HM_ERR_INPUT,
		   "t.yaml:6:27: 'cmdline' must not set root=");
	EXPECT_ERR(DISK_HEAD "disk: {size: 1G, cmdline: \"quiet\\nsingle\"}\n", HM_ERR_INPUT,
		   "t.yaml:6:27: 'cmdline' must be printable ASCII on one line");
	EXPECT_ERR(DISK_HEAD "disk: {size: 1G, vm_only: /boot}\n", HM_ERR_INPUT,
		   "t.yaml:6:27: 'vm_only' must be a sequence, not a scalar");
	EXPECT_ERR(DISK_HEAD "disk: {size: 1G, vm_only: [\"/boot/[x\"]}\n", HM_ERR_INPUT,
		   "t.yaml:6:28: 'vm_only'");
}

TEST(config_errors)
{
	EXPECT_ERR(HEAD "config: {env: [PATH]}\n", HM_ERR_INPUT,
		   "t.yaml:5:16: 'env' items must be KEY=VALUE");
	EXPECT_ERR(HEAD "config: {env: [\"1X=a\"]}\n", HM_ERR_INPUT,
		   "t.yaml:5:16: 'env': '1X' is not a variable name");
	EXPECT_ERR(HEAD "config: {env: [A=1, B=2, A=3]}\n", HM_ERR_INPUT,
		   "t.yaml:5:26: 'env': 'A' is set twice");
	EXPECT_ERR(HEAD "config: {user: \"root:wheel:x\"}\n", HM_ERR_INPUT,
		   "t.yaml:5:16: 'user' must be USER or USER:GROUP");
	EXPECT_ERR(HEAD "config: {shell: [x]}\n", HM_ERR_INPUT,
		   "t.yaml:5:10: unknown key 'shell' in 'config'");
	EXPECT_ERR(HEAD "permissions: [{path: \"/a/[b\", mode: \"0644\"}]\n", HM_ERR_INPUT,
		   "t.yaml:5:22: 'path'");
}

TEST(limits)
{
	char *text, *p;
	size_t i, big = HM_LIMIT_TPL_CONTENT + 1;
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };

	text = malloc(strlen(HEAD) + big + 64);
	CHECK(text != NULL);
	p = text + sprintf(text, HEAD "files: [{path: /a, content: \"");
	memset(p, 'x', big);
	strcpy(p + big, "\"}]\n");
	CHECK(write_text("t.yaml", text) == 0);
	free(text);
	CHECK(hm_template_load("t.yaml", &t, &err) == HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "t.yaml:5:29: 'content' is longer than 1048576 bytes") == err.msg);

	/* HM_LIMIT_TPL_ITEMS + 1 removals. */
	text = malloc(strlen(HEAD) + 16 + 4 * (HM_LIMIT_TPL_ITEMS + 1));
	CHECK(text != NULL);
	p = text + sprintf(text, HEAD "remove: [");
	for (i = 0; i <= HM_LIMIT_TPL_ITEMS; i++)
		p += sprintf(p, "/a,");
	strcpy(p - 1, "]\n");
	CHECK(write_text("t.yaml", text) == 0);
	free(text);
	CHECK(hm_template_load("t.yaml", &t, &err) == HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "t.yaml:5:9: 'remove' has more than 10000 items") == err.msg);
}

static const char *top_dir(void)
{
	const char *top = getenv("HM_TOP");

	return top ? top : start_cwd;
}

/* The full example of docs/template-format.md (its first yaml block)
 * must load: the spec and the loader cannot drift apart. */
TEST(doc_example)
{
	char path[8192], *doc = NULL, *begin, *end;
	size_t len;
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };

	snprintf(path, sizeof(path), "%s/docs/template-format.md", top_dir());
	CHECK_OK(hm_read_file(path, 1 << 20, &doc, &len, &err), &err);
	begin = strstr(doc, "```yaml\n");
	CHECK(begin != NULL);
	begin += strlen("```yaml\n");
	end = strstr(begin, "```\n");
	CHECK(end != NULL);
	*end = '\0';
	CHECK(write_text("t.yaml", begin) == 0);
	free(doc);
	CHECK(mkdir("files", 0755) == 0);
	CHECK(write_text("files/nginx-default.conf", "server {}\n") == 0);
	CHECK_OK(hm_template_load("t.yaml", &t, &err), &err);
	CHECK_EQ_STR(t->name, "web-frontend");
	CHECK_EQ_INT(t->n_users, 2);
	CHECK_EQ_INT(t->users[1].n_authorized_keys, 1);
	CHECK_EQ_INT(t->config.n_entrypoint, 3);
	CHECK_EQ_INT(t->config.n_cmd, 0);
	hm_template_free(t);
}

static void load_shipped(const char *name)
{
	char path[8192];
	const char *top = top_dir();
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };

	snprintf(path, sizeof(path), "%s/templates/%s", top, name);
	CHECK_OK(hm_template_load(path, &t, &err), &err);
	CHECK_EQ_INT(t->base.kind, HM_BASE_DEBIAN);
	CHECK_EQ_STR(t->base.suite, "bookworm");
	CHECK_EQ_STR(t->base.variant, "minbase");
	/* Every shipped template has the container outputs; one with a disk
	 * has a disk section that boots Debian's kernel. */
	CHECK_EQ_INT(t->outputs & (HM_OUTPUT_OCI | HM_OUTPUT_TAR),
		     HM_OUTPUT_OCI | HM_OUTPUT_TAR);
	if (t->outputs & HM_OUTPUT_DISK) {
		CHECK(t->disk.size >= HM_TPL_DISK_MIN_BYTES);
		CHECK_EQ_STR(t->disk.kernel, "/vmlinuz");
		CHECK_EQ_STR(t->disk.initrd, "/initrd.img");
		CHECK(t->disk.n_vm_only > 0);
	} else {
		CHECK_EQ_INT(t->disk.size, 0);
	}
	CHECK(t->n_remove > 0);
	hm_template_free(t);
}

TEST(shipped_minimal)
{
	load_shipped("debian-12-minimal.yaml");
}

TEST(shipped_hardened)
{
	char path[8192];
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };

	load_shipped("debian-12-hardened.yaml");
	/* Its runtime section: sshd on tcp 22, systemd and dbus running. */
	snprintf(path, sizeof(path), "%s/templates/debian-12-hardened.yaml", top_dir());
	CHECK_OK(hm_template_load(path, &t, &err), &err);
	if (!t)
		return;
	CHECK(t->runtime != NULL);
	if (t->runtime) {
		const struct hm_runtime_spec *s = t->runtime;
		bool systemd = false, dbus = false;

		CHECK_EQ_INT(s->n_listen, 1);
		CHECK_EQ_STR(s->listen[0].proto, "tcp");
		CHECK_EQ_INT(s->listen[0].port, 22);
		CHECK_EQ_STR(s->listen[0].exe, "/usr/sbin/sshd");
		for (size_t i = 0; i < s->n_processes; i++) {
			systemd |= !strcmp(s->processes[i], "/usr/lib/systemd/**");
			dbus |= !strcmp(s->processes[i], "/usr/bin/dbus-daemon");
		}
		CHECK(systemd && dbus);
	}
	hm_template_free(t);
}

/* Exceptions go through lib/audit_exceptions.c, as `audit --rules` does:
 * a rule family ("HM-SYS-*") is accepted, and the list is what the
 * audit engine takes. */
TEST(audit_exception_family)
{
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };

	CHECK_EQ_INT(load_text(HEAD "audit:\n  exceptions:\n"
			       "    - {rule: HM-SYS-*, reason: host business}\n"
			       "    - {rule: HM-SSH-004, path: /etc/ssh/ssh_host_*, reason: cloud-init}\n",
			       &t, &err), 0);
	if (!t)
		return;
	CHECK_EQ_INT((int)t->audit.exceptions.n, 2);
	CHECK_EQ_STR(t->audit.exceptions.items[0].rule_id, "HM-SYS-*");
	CHECK(t->audit.exceptions.items[0].path_glob == NULL);
	CHECK_EQ_STR(t->audit.exceptions.items[1].path_glob, "/etc/ssh/ssh_host_*");
	CHECK_EQ_STR(t->audit.exceptions.items[1].reason, "cloud-init");
	hm_template_free(t);
	EXPECT_ERR(HEAD "audit:\n  exceptions:\n    - {rule: HM-NOPE-001, reason: x}\n",
		   HM_ERR_INPUT, "t.yaml:7:14: unknown rule 'HM-NOPE-001'");
	EXPECT_ERR(HEAD "audit:\n  exceptions:\n    - {rule: HM-SYS-*, reason: \"\"}\n",
		   HM_ERR_INPUT, "t.yaml:7:");
	EXPECT_ERR(HEAD "audit:\n  exceptions:\n    - {rule: HM-SYS-*, path: \"a[\", reason: x}\n",
		   HM_ERR_INPUT, "t.yaml:7:");
}

/* The runtime section: parsed, canonicalised (sorted, addresses in
 * inet_ntop's form), sysctl left to the build. */
TEST(runtime_section)
{
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };
	const struct hm_runtime_spec *s;

	CHECK_EQ_INT(load_text(HEAD "runtime:\n"
			       "  listen:\n"
			       "    - {proto: udp, port: 53}\n"
			       "    - {proto: tcp, port: 22, exe: /usr/sbin/sshd}\n"
			       "    - {proto: tcp, port: 22, addr: \"0:0::1\"}\n"
			       "  processes: [/usr/sbin/sshd, /usr/lib/systemd/**, /usr/bin/dbus-daemon]\n"
			       "  mounts:\n"
			       "    - {path: /tmp, options: [noexec, nosuid, nodev]}\n"
			       "    - {path: /, options: [ro]}\n"
			       "    - {path: /srv}\n",
			       &t, &err), 0);
	if (!t)
		return;
	s = t->runtime;
	CHECK(s != NULL);
	CHECK_EQ_INT(s->n_listen, 3);
	CHECK_EQ_STR(s->listen[0].proto, "tcp");
	CHECK(s->listen[0].addr == NULL);
	CHECK_EQ_STR(s->listen[0].exe, "/usr/sbin/sshd");
	CHECK_EQ_STR(s->listen[1].addr, "::1");
	CHECK(s->listen[1].exe == NULL);
	CHECK_EQ_STR(s->listen[2].proto, "udp");
	CHECK_EQ_INT(s->listen[2].port, 53);
	CHECK(s->processes_listed);
	CHECK_EQ_INT(s->n_processes, 3);
	CHECK_EQ_STR(s->processes[0], "/usr/bin/dbus-daemon");
	CHECK_EQ_STR(s->processes[2], "/usr/sbin/sshd");
	CHECK_EQ_INT(s->n_mounts, 3);
	CHECK_EQ_STR(s->mounts[0].path, "/");
	CHECK_EQ_STR(s->mounts[1].path, "/srv");
	CHECK_EQ_INT(s->mounts[1].n_options, 0);
	CHECK_EQ_INT(s->mounts[2].n_options, 3);
	CHECK_EQ_STR(s->mounts[2].options[0], "nodev");
	CHECK_EQ_STR(s->mounts[2].options[2], "nosuid");
	CHECK_EQ_INT(s->n_sysctl, 0);
	CHECK_OK(hm_runtime_spec_check(s, &err), &err);
	hm_template_free(t);

	/* No section: no spec.  An empty one: a spec that allows nothing. */
	CHECK_EQ_INT(load_text(HEAD, &t, &err), 0);
	CHECK(t && t->runtime == NULL);
	hm_template_free(t);
	CHECK_EQ_INT(load_text(HEAD "runtime:\n", &t, &err), 0);
	CHECK(t && t->runtime && !t->runtime->processes_listed &&
	      t->runtime->n_listen == 0);
	hm_template_free(t);
	CHECK_EQ_INT(load_text(HEAD "runtime: {processes: []}\n", &t, &err), 0);
	CHECK(t && t->runtime && t->runtime->processes_listed &&
	      t->runtime->n_processes == 0);
	hm_template_free(t);
}

TEST(runtime_errors)
{
	EXPECT_ERR(HEAD "runtime: [a]\n", HM_ERR_INPUT,
		   "t.yaml:5:10: 'runtime' must be a mapping");
	EXPECT_ERR(HEAD "runtime:\n  listening: []\n", HM_ERR_INPUT,
		   "t.yaml:6:3: unknown key 'listening' in 'runtime'");
	EXPECT_ERR(HEAD "runtime:\n  listen:\n    - {proto: tcp, port: 22, user: root}\n",
		   HM_ERR_INPUT, "t.yaml:7:30: unknown key 'user'");
	EXPECT_ERR(HEAD "runtime:\n  listen:\n    - {port: 22}\n", HM_ERR_INPUT,
		   "t.yaml:7:7: 'proto' is required in a listener");
	EXPECT_ERR(HEAD "runtime:\n  listen:\n    - {proto: sctp, port: 22}\n",
		   HM_ERR_INPUT, "t.yaml:7:15: 'proto' must be tcp or udp, not 'sctp'");
	EXPECT_ERR(HEAD "runtime:\n  listen:\n    - {proto: tcp}\n", HM_ERR_INPUT,
		   "t.yaml:7:7: 'port' is required in a listener");
	EXPECT_ERR(HEAD "runtime:\n  listen:\n    - {proto: tcp, port: 0}\n",
		   HM_ERR_INPUT, "t.yaml:7:26: 'port' must be a number from 1 to 65535, not '0'");
	EXPECT_ERR(HEAD "runtime:\n  listen:\n    - {proto: tcp, port: 65536}\n",
		   HM_ERR_INPUT, "t.yaml:7:26: 'port' must be a number from 1 to 65535, not '65536'");
	EXPECT_ERR(HEAD "runtime:\n  listen:\n    - {proto: tcp, port: -1}\n",
		   HM_ERR_INPUT, "t.yaml:7:26: 'port' must be a number");
	EXPECT_ERR(HEAD "runtime:\n  listen:\n    - {proto: tcp, port: \"22\"}\n",
		   HM_ERR_INPUT, "t.yaml:7:26: 'port' must be a number");
	EXPECT_ERR(HEAD "runtime:\n  listen:\n    - {proto: tcp, port: 22, addr: localhost}\n",
		   HM_ERR_INPUT, "t.yaml:7:36: 'addr' must be a numeric IPv4 or IPv6 address, not 'localhost'");
	EXPECT_ERR(HEAD "runtime:\n  listen:\n    - {proto: tcp, port: 22, addr: 1.2.3}\n",
		   HM_ERR_INPUT, "t.yaml:7:36: 'addr' must be a numeric");
	EXPECT_ERR(HEAD "runtime:\n  listen:\n    - {proto: tcp, port: 22, exe: sshd}\n",
		   HM_ERR_INPUT, "t.yaml:7:35: 'exe' 'sshd' must be an absolute path");
	EXPECT_ERR(HEAD "runtime:\n  listen:\n"
		   "    - {proto: tcp, port: 22, addr: 127.0.0.1}\n"
		   "    - {proto: tcp, port: 22, addr: 127.0.0.1, exe: /usr/sbin/sshd}\n",
		   HM_ERR_INPUT, "t.yaml:8:7: listener tcp port 22 addr 127.0.0.1 is already declared at line 7 col 7");
	EXPECT_ERR(HEAD "runtime:\n  processes: [/usr/sbin/sshd, sshd]\n",
		   HM_ERR_INPUT, "t.yaml:6:31: 'runtime.processes' 'sshd' must be an absolute path or glob");
	EXPECT_ERR(HEAD "runtime:\n  processes: [\"/usr/[bin\"]\n",
		   HM_ERR_INPUT, "t.yaml:6:15: 'runtime.processes'");
	EXPECT_ERR(HEAD "runtime:\n  processes:\n    - /usr/sbin/sshd\n    - /bin/sh\n    - /usr/sbin/sshd\n",
		   HM_ERR_INPUT, "t.yaml:9:7: process '/usr/sbin/sshd' is already declared at line 7 col 7");
	EXPECT_ERR(HEAD "runtime:\n  mounts:\n    - {path: tmp}\n",
		   HM_ERR_INPUT, "t.yaml:7:14: 'path' 'tmp' must be an absolute path");
	EXPECT_ERR(HEAD "runtime:\n  mounts:\n    - {options: [ro]}\n",
		   HM_ERR_INPUT, "t.yaml:7:7: 'path' is required in a mount");
	EXPECT_ERR(HEAD "runtime:\n  mounts:\n    - {path: /, options: [ro, fast]}\n",
		   HM_ERR_INPUT, "t.yaml:7:31: unknown mount option 'fast' (one of ro, rw,");
	EXPECT_ERR(HEAD "runtime:\n  mounts:\n    - {path: /, options: [ro, rw]}\n",
		   HM_ERR_INPUT, "t.yaml:7:31: mount option 'rw' contradicts 'ro'");
	EXPECT_ERR(HEAD "runtime:\n  mounts:\n    - {path: /, options: [noatime, nodev, relatime]}\n",
		   HM_ERR_INPUT, "t.yaml:7:43: mount option 'relatime' contradicts 'noatime'");
	EXPECT_ERR(HEAD "runtime:\n  mounts:\n    - {path: /, options: [ro, ro]}\n",
		   HM_ERR_INPUT, "t.yaml:7:31: mount option 'ro' is listed twice");
	EXPECT_ERR(HEAD "runtime:\n  mounts:\n    - {path: /, options: ro}\n",
		   HM_ERR_INPUT, "t.yaml:7:26: 'options' must be a sequence");
	EXPECT_ERR(HEAD "runtime:\n  mounts:\n    - {path: /tmp}\n    - {path: /tmp, options: [ro]}\n",
		   HM_ERR_INPUT, "t.yaml:8:14: mount '/tmp' is already declared at line 7 col 7");
	EXPECT_ERR(HEAD "runtime:\n  mounts:\n    - {path: /tmp, mode: \"0755\"}\n",
		   HM_ERR_INPUT, "t.yaml:7:20: unknown key 'mode' in 'runtime.mounts'");
}

/* The runtime example of docs/template-format.md loads. */
TEST(runtime_doc_example)
{
	char path[8192], *doc = NULL, *begin, *end, *text = NULL;
	size_t len;
	struct hm_template *t = NULL;
	struct hm_error err = { 0 };

	snprintf(path, sizeof(path), "%s/docs/template-format.md", top_dir());
	CHECK_OK(hm_read_file(path, 1 << 20, &doc, &len, &err), &err);
	if (!doc)
		return;
	begin = strstr(doc, "### `runtime`");
	begin = begin ? strstr(begin, "```yaml\n") : NULL;
	CHECK(begin != NULL);
	if (begin) {
		begin += strlen("```yaml\n");
		end = strstr(begin, "```\n");
		CHECK(end != NULL);
		if (end && asprintf(&text, "%s%.*s", HEAD, (int)(end - begin), begin) > 0) {
			CHECK_EQ_INT(load_text(text, &t, &err), 0);
			CHECK(t && t->runtime && t->runtime->n_listen == 2 &&
			      t->runtime->n_mounts == 3);
			hm_template_free(t);
			free(text);
		}
	}
	free(doc);
}
