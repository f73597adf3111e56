/*
 * Source dispatch: the generic calls; TARGETs are parsed in target.c.
 */
#include "hallmark/source.h"
#include "hallmark/target.h"

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

/* Through the running program's table (hallmark/target.h). */
int hm_source_open_target(const char *target,
			  const struct hm_scan_options *opt,
			  struct hm_source **ret, struct hm_error *err)
{
	return hm_target_open(hm_program_targets, target, opt, ret, err);
}
