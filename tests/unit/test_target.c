/*
 * Unit tests: the table of targets (lib/target.c) and the one parser of a
 * TARGET; docs/cli.md lists every row of the tables with its syntax and
 * summary, word for word.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../../disk/disk.h"
#include "hallmark/fsutil.h"
#include "hallmark/target.h"

/* hallmark's table (hallmark.c): the core's rows and disk:. */
static const struct hm_target *const hallmark_targets[] = {
	HM_TARGETS_CORE, &hm_target_disk, NULL,
};

static const struct hm_target *parsed(const struct hm_target *const *table,
				      const char *target, const char *want_spec)
{
	const struct hm_target *row = NULL;
	const char *spec = NULL;
	struct hm_error err = { 0 };

	if (hm_target_parse(table, target, &row, &spec, &err) < 0) {
		printf("# %s: %s\n", target, err.msg);
		return NULL;
	}
	if (strcmp(spec, want_spec) != 0) {
		printf("# %s: spec '%s', not '%s'\n", target, spec, want_spec);
		return NULL;
	}
	return row;
}

TEST(each_prefix_names_its_row)
{
	CHECK(parsed(hallmark_targets, "dir:/x", "/x") == &hm_target_dir);
	CHECK(parsed(hallmark_targets, "tar:-", "-") == &hm_target_tar);
	CHECK(parsed(hallmark_targets, "tar:", "") == &hm_target_tar);
	CHECK(parsed(hallmark_targets, "oci:a:b", "a:b") == &hm_target_oci);
	CHECK(parsed(hallmark_targets, "oci-dir:l", "l") == &hm_target_oci_dir);
	CHECK(parsed(hallmark_targets, "registry:h/r:t", "h/r:t") == &hm_target_registry);
	CHECK(parsed(hallmark_targets, "disk:a.qcow2,format=raw", "a.qcow2,format=raw") ==
	      &hm_target_disk);
	/* The running program's table (libhallmark's default here). */
	CHECK(parsed(hm_program_targets, "oci:x", "x") == &hm_target_oci);
	CHECK(hm_target_dir.live && hm_target_dir.names_dir);
	CHECK(!hm_target_tar.live && !hm_target_oci_dir.live && hm_target_oci_dir.names_dir);
}

TEST(a_bare_folder_is_dir_and_anything_else_is_refused)
{
	const struct hm_target *row;
	const char *spec;
	struct hm_error err = { 0 };

	CHECK(mkdir("root", 0755) == 0);
	CHECK(parsed(hallmark_targets, "root", "root") == &hm_target_dir);
	/* A file, a missing path, an unknown prefix: usage, naming the kinds. */
	CHECK_EQ_INT(hm_target_parse(hallmark_targets, "nonsense", &row, &spec, &err),
		     HM_ERR_USAGE);
	CHECK_EQ_STR(err.msg, "cannot tell the kind of target 'nonsense': use dir:, "
		     "tar:, oci:, oci-dir:, registry: or disk:");
	CHECK_EQ_INT(hm_target_parse(hallmark_targets, "zip:a", &row, &spec, &err),
		     HM_ERR_USAGE);
	CHECK_EQ_INT(hm_target_parse(hm_program_targets, "disk:a", &row, &spec, &err),
		     HM_ERR_USAGE);
	CHECK_EQ_STR(err.msg, "cannot tell the kind of target 'disk:a': use dir:, "
		     "tar:, oci:, oci-dir: or registry:");
}

TEST(a_row_the_program_does_not_read_says_so)
{
	static const struct hm_target absent = {
		.prefix = "disk:", .syntax = "disk:FILE", .summary = "s",
		.absent = "this program does not read disk images",
		.absent_hint = "use the other one",
	};
	static const struct hm_target *const table[] = { &hm_target_dir, &absent, NULL };
	struct hm_source *src = NULL;
	struct hm_error err = { 0 };

	CHECK_EQ_INT(hm_target_open(table, "disk:x.raw", NULL, &src, &err), HM_ERR_USAGE);
	CHECK_EQ_STR(err.msg, "this program does not read disk images ('disk:x.raw'): "
		     "use the other one");
	CHECK(src == NULL);
	CHECK_EQ_INT(hm_target_open(table, "nonsense", NULL, &src, &err), HM_ERR_USAGE);
	CHECK_EQ_STR(err.msg, "cannot tell the kind of target 'nonsense': use dir: or disk:");
}

/* docs/cli.md, from HM_TOP (the runner) or the tree this was built in. */
static char *read_cli_md(void)
{
	const char *top = getenv("HM_TOP");
	struct hm_error err = { 0 };
	char path[4096], *text = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/docs/cli.md", top ? top : HM_TOP_DIR);
	if (hm_read_file(path, 1u << 20, &text, &len, &err) < 0) {
		printf("# %s\n", err.msg);
		return NULL;
	}
	return text;
}

/* s with each '|' as "\\|", as a Markdown table cell needs it. */
static const char *cell(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s && n + 2 < size; s++) {
		if (*s == '|')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n] = '\0';
	return out;
}

/*
 * Every row of hallmark's table has its line in docs/cli.md's list of
 * targets, "| `SYNTAX` | SUMMARY |", and the list has no other row: a
 * new target cannot land without its doc, nor a doc outlive its target.
 */
TEST(docs_cli_md_lists_every_target_of_the_table)
{
	char *doc = read_cli_md(), line[512], syntax[128];
	const char *p;
	size_t i, rows = 0, missing = 0;

	CHECK(doc != NULL);
	if (!doc)
		return;
	for (i = 0; hallmark_targets[i]; i++) {
		snprintf(line, sizeof(line), "\n| `%s` | %s |\n",
			 cell(hallmark_targets[i]->syntax, syntax, sizeof(syntax)),
			 hallmark_targets[i]->summary);
		if (!strstr(doc, line)) {
			printf("# docs/cli.md lacks the line%s", line);
			missing++;
		}
	}
	for (p = doc; (p = strstr(p, "\n| `")) != NULL; p++)
		rows++;
	free(doc);
	CHECK_EQ_INT(missing, 0);
	CHECK_EQ_INT(rows, i);
}
