/*
 * The table of targets: the core's rows and the one parser of a TARGET.
 * hm_source_open_target() (source.c) and hm_image_open() (image.c) both
 * come through here, so a new row is read by every command at once.
 */
#include <string.h>
#include <sys/stat.h>

#include "hallmark/buf.h"
#include "hallmark/source_tar.h"
#include "hallmark/target.h"

static int open_dir(const char *spec, const struct hm_scan_options *opt,
		    struct hm_source **ret, struct hm_error *err)
{
	return hm_source_dir_open(spec, opt, ret, err);
}

static int open_oci(const char *spec, const struct hm_scan_options *opt,
		    struct hm_source **ret, struct hm_error *err)
{
	return hm_source_oci_open(spec, false, opt, ret, err);
}

static int open_oci_dir(const char *spec, const struct hm_scan_options *opt,
			struct hm_source **ret, struct hm_error *err)
{
	return hm_source_oci_open(spec, true, opt, ret, err);
}

const struct hm_target hm_target_dir = {
	.prefix = "dir:", .syntax = "dir:PATH",
	.summary = "a live directory tree (a bare path to a directory too)",
	.open = open_dir, .names_dir = true, .live = true,
};

const struct hm_target hm_target_tar = {
	.prefix = "tar:", .syntax = "tar:FILE",
	.summary = "a tar stream, possibly compressed; tar:- is standard input",
	.open = hm_source_tar_open,
};

const struct hm_target hm_target_oci = {
	.prefix = "oci:", .syntax = "oci:FILE",
	.summary = "an OCI image archive or a docker-archive",
	.open = open_oci,
};

const struct hm_target hm_target_oci_dir = {
	.prefix = "oci-dir:", .syntax = "oci-dir:PATH",
	.summary = "an OCI image layout folder",
	.open = open_oci_dir, .names_dir = true,
};

/* "dir:, tar:, oci: or disk:" */
static const char *prefixes(const struct hm_target *const *table,
			    struct hm_buf *b)
{
	size_t i, n = 0;

	while (table[n])
		n++;
	for (i = 0; i < n; i++)
		if (hm_buf_addf(b, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
				table[i]->prefix) < 0)
			return "a kind prefix";
	return b->data ? b->data : "a kind prefix";
}

int hm_target_parse(const struct hm_target *const *table, const char *target,
		    const struct hm_target **ret_row, const char **ret_spec,
		    struct hm_error *err)
{
	struct hm_buf list = HM_BUF_INIT;
	const struct hm_target *dir = NULL;
	struct stat st;
	size_t i;
	int r;

	for (i = 0; table[i]; i++) {
		size_t len = strlen(table[i]->prefix);

		if (table[i]->live)
			dir = table[i];
		if (strncmp(target, table[i]->prefix, len) == 0) {
			*ret_row = table[i];
			*ret_spec = target + len;
			return 0;
		}
	}
	/* A running system is no tree: verify reads it before the table. */
	if (strncmp(target, "runtime:", 8) == 0)
		return hm_error_set(err, HM_ERR_USAGE, 0, "'%s' is a running system, "
				    "not a file tree: only verify and 'runtime "
				    "capture' read it", target);
	if (dir && stat(target, &st) == 0 && S_ISDIR(st.st_mode)) {
		*ret_row = dir;
		*ret_spec = target;
		return 0;
	}
	r = hm_error_set(err, HM_ERR_USAGE, 0,
			 "cannot tell the kind of target '%s': use %s",
			 target, prefixes(table, &list));
	hm_buf_free(&list);
	return r;
}

int hm_target_open_row(const struct hm_target *row, const char *target,
		       const char *spec, const struct hm_scan_options *opt,
		       struct hm_source **ret, struct hm_error *err)
{
	if (!row->open)
		return hm_error_set(err, HM_ERR_USAGE, 0, "%s ('%s')%s%s",
				    row->absent ? row->absent : "this program cannot read it",
				    target, row->absent_hint ? ": " : "",
				    row->absent_hint ? row->absent_hint : "");
	return row->open(spec, opt, ret, err);
}

int hm_target_open(const struct hm_target *const *table, const char *target,
		   const struct hm_scan_options *opt, struct hm_source **ret,
		   struct hm_error *err)
{
	const struct hm_target *row;
	const char *spec;
	int r;

	if ((r = hm_target_parse(table, target, &row, &spec, err)) < 0)
		return r;
	return hm_target_open_row(row, target, spec, opt, ret, err);
}
