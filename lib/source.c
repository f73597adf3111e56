/*
 * Source dispatch: the generic calls and the TARGET syntax of the CLI.
 */
#include <string.h>
#include <sys/stat.h>

#include "hallmark/source.h"
#include "hallmark/source_tar.h"

int hm_source_next(struct hm_source *src, const struct hm_entry **ret,
		   struct hm_error *err)
{
	return src->ops->next(src, ret, err);
}

void hm_source_free(struct hm_source *src)
{
	if (src)
		src->ops->free(src);
}

static hm_disk_opener disk_opener;

void hm_source_register_disk(hm_disk_opener open)
{
	disk_opener = open;
}

int hm_source_open_target(const char *target,
			  const struct hm_scan_options *opt,
			  struct hm_source **ret, struct hm_error *err)
{
	const char *colon = strchr(target, ':');
	struct stat st;

	if (strncmp(target, "dir:", 4) == 0)
		return hm_source_dir_open(target + 4, opt, ret, err);
	if (strncmp(target, "tar:", 4) == 0)
		return hm_source_tar_open(target + 4, opt, ret, err);
	if (strncmp(target, "oci:", 4) == 0)
		return hm_source_oci_open(target + 4, false, opt, ret, err);
	if (strncmp(target, "oci-dir:", 8) == 0)
		return hm_source_oci_open(target + 8, true, opt, ret, err);
	if (colon && strncmp(target, "disk:", 5) == 0) {
		if (disk_opener)
			return disk_opener(target + 5, opt, ret, err);
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "this program does not read disk images ('%s'): "
				    "use 'hallmark verify', which links libguestfs",
				    target);
	}
	if (stat(target, &st) == 0 && S_ISDIR(st.st_mode))
		return hm_source_dir_open(target, opt, ret, err);
	return hm_error_set(err, HM_ERR_USAGE, 0,
			    "cannot tell the kind of target '%s': use dir:, tar:, oci:, oci-dir: or disk:",
			    target);
}
