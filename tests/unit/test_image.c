/*
 * Unit tests: images to audit (lib/image.c): live folders read below the
 * root without following symlinks, tar archives captured by glob and
 * size, and builder trees read through a callback.
 */
#include "harness.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "hallmark/audit.h"
#include "hallmark/image.h"

static int write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	if (len && fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static const char *const all_etc[] = { "/etc/**", "/var/log/**", NULL };

TEST(dir_reads_below_the_root)
{
	struct hm_image *img = NULL;
	struct hm_error err = { 0 };
	char *data = NULL;
	size_t len = 0;

	CHECK(mkdir("root", 0755) == 0 && mkdir("root/etc", 0755) == 0);
	CHECK(write_file("root/etc/hostname", "web1\n", 5) == 0);
	CHECK(mkdir("root/srv", 0755) == 0);
	CHECK(write_file("root/srv/data", "x", 1) == 0);
	CHECK_OK(hm_image_open("dir:root", all_etc, &img, &err), &err);
	CHECK_EQ_STR(hm_image_name(img), "dir:root");
	CHECK(hm_tree_get(hm_image_tree(img), "/etc/hostname", 13) != NULL);
	CHECK_OK(hm_image_read(img, "/etc/hostname", 100, &data, &len, &err), &err);
	CHECK_EQ_INT(len, 5);
	CHECK_EQ_STR(data, "web1\n");
	free(data);
	data = NULL;
	/* dir: targets read every file, captured or not. */
	CHECK_OK(hm_image_read(img, "/srv/data", 100, &data, &len, &err), &err);
	CHECK_EQ_STR(data, "x");
	free(data);
	data = NULL;
	/* Too large: a limit error, so callers can say it was skipped. */
	CHECK_EQ_INT(hm_image_read(img, "/etc/hostname", 4, &data, &len, &err),
		     HM_ERR_LIMIT);
	CHECK(data == NULL);
	CHECK_EQ_INT(hm_image_read(img, "/etc", 100, &data, &len, &err), HM_ERR_INPUT);
	CHECK_EQ_INT(hm_image_read(img, "/etc/nope", 100, &data, &len, &err),
		     HM_ERR_INPUT);
	hm_image_free(img);
}

TEST(dir_never_follows_symlinks)
{
	struct hm_image *img = NULL;
	struct hm_error err = { 0 };
	char *data = NULL;
	size_t len = 0;

	CHECK(mkdir("outside", 0755) == 0);
	CHECK(write_file("outside/secret", "host secret", 11) == 0);
	CHECK(mkdir("root", 0755) == 0 && mkdir("root/etc", 0755) == 0);
	CHECK(write_file("root/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 26) == 0);
	CHECK(symlink("../../outside/secret", "root/etc/shadow") == 0);
	CHECK(mkfifo("root/etc/fifo", 0644) == 0);
	CHECK_OK(hm_image_open("root", all_etc, &img, &err), &err);
	/* The tree says /etc/shadow is a symlink: not readable as a file. */
	CHECK_EQ_INT(hm_image_read(img, "/etc/shadow", 100, &data, &len, &err),
		     HM_ERR_INPUT);
	/* A FIFO is never opened (that would block). */
	CHECK_EQ_INT(hm_image_read(img, "/etc/fifo", 100, &data, &len, &err),
		     HM_ERR_INPUT);
	/* Swapped for a symlink after the walk: O_NOFOLLOW refuses it, in
	 * the last component and in a parent. */
	CHECK(unlink("root/etc/passwd") == 0);
	CHECK(symlink("../../outside/secret", "root/etc/passwd") == 0);
	CHECK(hm_image_read(img, "/etc/passwd", 100, &data, &len, &err) < 0);
	CHECK(data == NULL);
	CHECK(rename("root/etc", "root/etc.real") == 0);
	CHECK(symlink("../outside", "root/etc") == 0);
	CHECK(write_file("outside/passwd", "evil", 4) == 0);
	CHECK(hm_image_read(img, "/etc/passwd", 100, &data, &len, &err) < 0);
	CHECK(data == NULL);
	hm_image_free(img);
}

/* ---- tar targets ------------------------------------------------------ */

static struct archive_entry *ent(const char *name, unsigned type, unsigned perm)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	return e;
}

static int tw_add(struct archive *a, struct archive_entry *e, const void *data,
		  size_t len)
{
	int r = 0;

	if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e))
		archive_entry_set_size(e, (la_int64_t)len);
	if (archive_write_header(a, e) < ARCHIVE_WARN)
		r = -1;
	else if (len && archive_write_data(a, data, len) != (la_ssize_t)len)
		r = -1;
	archive_entry_free(e);
	return r;
}

TEST(tar_captures_by_glob_and_size)
{
	struct archive *a = archive_write_new();
	struct archive_entry *hl;
	struct hm_image *img = NULL;
	struct hm_error err = { 0 };
	size_t big = HM_LIMIT_AUDIT_FILE_BYTES + 1, len = 0;
	char *bigdata = malloc(big), *data = NULL;

	CHECK(bigdata != NULL);
	memset(bigdata, 'a', big);
	archive_write_set_format_pax_restricted(a);
	CHECK(archive_write_open_filename(a, "img.tar") == ARCHIVE_OK);
	CHECK(tw_add(a, ent("etc/", AE_IFDIR, 0755), NULL, 0) == 0);
	CHECK(tw_add(a, ent("etc/shadow", AE_IFREG, 0640), "root:!:1::::::\n", 15) == 0);
	CHECK(tw_add(a, ent("etc/empty", AE_IFREG, 0644), NULL, 0) == 0);
	CHECK(tw_add(a, ent("etc/big.conf", AE_IFREG, 0644), bigdata, big) == 0);
	CHECK(tw_add(a, ent("usr/bin/tool", AE_IFREG, 0755), "ELF", 3) == 0);
	hl = ent("etc/shadow.link", AE_IFREG, 0640);
	archive_entry_set_hardlink(hl, "etc/shadow");
	CHECK(tw_add(a, hl, NULL, 0) == 0);
	CHECK(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
	free(bigdata);

	CHECK_OK(hm_image_open("tar:img.tar", all_etc, &img, &err), &err);
	CHECK_OK(hm_image_read(img, "/etc/shadow", 1 << 20, &data, &len, &err), &err);
	CHECK_EQ_STR(data, "root:!:1::::::\n");
	free(data);
	data = NULL;
	CHECK_OK(hm_image_read(img, "/etc/empty", 1 << 20, &data, &len, &err), &err);
	CHECK_EQ_INT(len, 0);
	free(data);
	data = NULL;
	/* A hard link reads as its target's contents. */
	CHECK_OK(hm_image_read(img, "/etc/shadow.link", 1 << 20, &data, &len, &err), &err);
	CHECK_EQ_INT(len, 15);
	free(data);
	data = NULL;
	/* Over the capture limit: a limit error, whatever max says. */
	CHECK_EQ_INT(hm_image_read(img, "/etc/big.conf", HM_LIMIT_AUDIT_FILE_BYTES,
				   &data, &len, &err), HM_ERR_LIMIT);
	CHECK_EQ_INT(hm_image_read(img, "/etc/big.conf", 4u << 20, &data, &len, &err),
		     HM_ERR_INPUT);
	CHECK(strstr(err.msg, "was not captured") != NULL);
	/* Outside the globs: in the tree, but its contents were not kept. */
	CHECK(hm_tree_get(hm_image_tree(img), "/usr/bin/tool", 13) != NULL);
	CHECK_EQ_INT(hm_image_read(img, "/usr/bin/tool", 100, &data, &len, &err),
		     HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'/usr/bin/tool' was not captured");
	hm_image_free(img);
}

/* Scanned files that spend the whole total come first: the account
 * database after them is still captured, and audited. */
TEST(tar_rule_files_are_not_starved_by_the_total)
{
	static const char *const globs[] = { "/etc/**", "/var/log/**", NULL };
	static const char pw[] = "root:x:0:0:root:/root:/bin/sh\n"
				 "toor:x:0:0::/root:/bin/sh\n";
	const struct hm_image_options opt = { .capture = globs, .total_bytes = 4096 };
	struct archive *a = archive_write_new();
	struct hm_audit_options aopt = { 0 };
	struct hm_audit_result res = { 0 };
	struct hm_image *img = NULL;
	struct hm_error err = { 0 };
	char fill[2048], *data = NULL;
	bool acct2 = false, acct7 = false;
	size_t len = 0, i;

	memset(fill, 'a', sizeof(fill));
	archive_write_set_format_pax_restricted(a);
	CHECK(archive_write_open_filename(a, "img.tar") == ARCHIVE_OK);
	CHECK(tw_add(a, ent("etc/app.conf", AE_IFREG, 0644), fill, sizeof(fill)) == 0);
	CHECK(tw_add(a, ent("var/log/app.log", AE_IFREG, 0644), fill, sizeof(fill)) == 0);
	CHECK(tw_add(a, ent("etc/later.conf", AE_IFREG, 0644), "x\n", 2) == 0);
	CHECK(tw_add(a, ent("etc/passwd", AE_IFREG, 0644), pw, sizeof(pw) - 1) == 0);
	CHECK(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);

	CHECK_OK(hm_image_open_opt("tar:img.tar", &opt, &img, &err), &err);
	CHECK_OK(hm_image_read(img, "/var/log/app.log", 1 << 20, &data, &len, &err), &err);
	free(data);
	data = NULL;
	/* The total is spent: other scanned files are not kept. */
	CHECK_EQ_INT(hm_image_read(img, "/etc/later.conf", 100, &data, &len, &err),
		     HM_ERR_INPUT);
	CHECK_OK(hm_image_read(img, "/etc/passwd", 1 << 20, &data, &len, &err), &err);
	CHECK_EQ_STR(data, pw);
	free(data);
	CHECK_OK(hm_audit_run(img, &aopt, &res, &err), &err);
	for (i = 0; i < res.n_findings; i++) {
		acct2 |= strcmp(res.findings[i].rule->id, "HM-ACCT-002") == 0;
		acct7 |= strcmp(res.findings[i].rule->id, "HM-ACCT-007") == 0;
	}
	CHECK(acct2);
	CHECK(!acct7);
	hm_audit_result_free(&res);
	hm_image_free(img);
}

/* Files in a rule folder (sysctl.d) are exempt up to a count; past it
 * they are charged to the total like any other file. */
TEST(tar_rule_folder_exemption_is_bounded)
{
	static const char *const globs[] = { "/etc/**", NULL };
	const struct hm_image_options opt = { .capture = globs, .total_bytes = 1 };
	struct archive *a = archive_write_new();
	struct hm_image *img = NULL;
	struct hm_error err = { 0 };
	char name[64], body[16], *data = NULL;
	size_t len = 0, i;

	/* Distinct contents: a capture with the same digest would serve. */
	archive_write_set_format_pax_restricted(a);
	CHECK(archive_write_open_filename(a, "img.tar") == ARCHIVE_OK);
	for (i = 0; i <= HM_LIMIT_AUDIT_RULE_DIR_FILES; i++) {
		snprintf(name, sizeof(name), "etc/sysctl.d/%03zu.conf", i);
		snprintf(body, sizeof(body), "a=%03zu\n", i);
		CHECK(tw_add(a, ent(name, AE_IFREG, 0644), body, 6) == 0);
	}
	CHECK(tw_add(a, ent("etc/machine-id", AE_IFREG, 0444), "0123\n", 5) == 0);
	CHECK(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);

	CHECK_OK(hm_image_open_opt("tar:img.tar", &opt, &img, &err), &err);
	for (i = 0; i < HM_LIMIT_AUDIT_RULE_DIR_FILES; i++) {
		snprintf(name, sizeof(name), "/etc/sysctl.d/%03zu.conf", i);
		snprintf(body, sizeof(body), "a=%03zu\n", i);
		CHECK_OK(hm_image_read(img, name, 100, &data, &len, &err), &err);
		CHECK_EQ_STR(data, body);
		free(data);
		data = NULL;
	}
	snprintf(name, sizeof(name), "/etc/sysctl.d/%03zu.conf", i);
	CHECK_EQ_INT(hm_image_read(img, name, 100, &data, &len, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "was not captured") != NULL);
	/* Fixed names are never counted out. */
	CHECK_OK(hm_image_read(img, "/etc/machine-id", 100, &data, &len, &err), &err);
	CHECK_EQ_STR(data, "0123\n");
	free(data);
	hm_image_free(img);
}

TEST(bad_targets_are_errors)
{
	struct hm_image *img = NULL;
	struct hm_error err = { 0 };

	CHECK(hm_image_open("tar:missing.tar", all_etc, &img, &err) < 0);
	CHECK(img == NULL);
	CHECK(hm_image_open("nonsense", all_etc, &img, &err) == HM_ERR_USAGE);
	CHECK(img == NULL);
	hm_image_free(NULL);
}

/* ---- builder trees ---------------------------------------------------- */

static int canned(void *ctx, const struct hm_entry *e, size_t max, char **ret,
		  size_t *ret_len, struct hm_error *err)
{
	const char *s = ctx;

	(void)max;
	(void)err;
	if (strcmp(e->path, "/etc/motd") != 0)
		return hm_error_set(err, HM_ERR_INPUT, 0, "no blob");
	*ret = strdup(s);
	*ret_len = strlen(s);
	return *ret ? 0 : HM_ERR_NOMEM;
}

TEST(tree_reads_through_the_callback)
{
	struct hm_tree *t = NULL;
	struct hm_entry *e = hm_entry_new();
	struct hm_image *img = NULL;
	struct hm_error err = { 0 };
	char *data = NULL;
	size_t len = 0;

	CHECK_OK(hm_tree_new(&t, &err), &err);
	CHECK(e && hm_entry_set_path(e, "/etc/motd", 9) == 0);
	e->type = HM_TYPE_FILE;
	e->mode = 0644;
	e->size = 6;
	CHECK_OK(hm_tree_put_take(t, e, false, &err), &err);
	CHECK_OK(hm_image_from_tree(t, canned, (void *)"hello\n", &img, &err), &err);
	CHECK(hm_image_tree(img) == t);
	CHECK_OK(hm_image_read(img, "/etc/motd", 100, &data, &len, &err), &err);
	CHECK_EQ_STR(data, "hello\n");
	free(data);
	data = NULL;
	/* The tree's size decides the limit before the callback runs. */
	CHECK_EQ_INT(hm_image_read(img, "/etc/motd", 5, &data, &len, &err), HM_ERR_LIMIT);
	CHECK_EQ_INT(hm_image_read(img, "/etc", 100, &data, &len, &err), HM_ERR_INPUT);
	hm_image_free(img);
	hm_tree_free(t);
}
