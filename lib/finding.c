/*
 * Findings: the stable names of their kinds and a growable list that
 * collects them for the reports.  The kind names are ids that every
 * report format carries, so they never change once released.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/compare.h"
#include "hallmark/error.h"

static const struct {
	const char *name;
	const char *text;
} kinds[HM_FINDING__COUNT] = {
	[HM_FINDING_MISSING] = { "missing",
		"in the manifest but not in the target" },
	[HM_FINDING_ADDED] = { "added",
		"in the target but not in the manifest, and not allowed by the policy" },
	[HM_FINDING_TYPE] = { "type", "entry type differs" },
	[HM_FINDING_CONTENT] = { "content", "file content differs (sha256)" },
	[HM_FINDING_SIZE] = { "size", "file size differs" },
	[HM_FINDING_MODE] = { "mode", "permission bits differ" },
	[HM_FINDING_UID] = { "uid", "owner (uid) differs" },
	[HM_FINDING_GID] = { "gid", "group (gid) differs" },
	[HM_FINDING_TARGET] = { "target", "symlink target differs" },
	[HM_FINDING_RDEV] = { "rdev", "device numbers differ" },
	[HM_FINDING_XATTR] = { "xattr", "extended attribute differs" },
	[HM_FINDING_UNREADABLE] = { "unreadable",
		"could not be read or listed, so it was not checked" },
	[HM_FINDING_CHANGED] = { "changed-while-hashing",
		"changed while it was being hashed" },
	[HM_FINDING_MOUNTPOINT] = { "mountpoint",
		"mount point not descended (one file system)" },
};

const char *hm_finding_kind_name(enum hm_finding_kind k)
{
	if ((unsigned)k >= HM_FINDING__COUNT)
		return "unknown";
	return kinds[k].name;
}

const char *hm_finding_kind_text(enum hm_finding_kind k)
{
	if ((unsigned)k >= HM_FINDING__COUNT)
		return "unknown kind of finding";
	return kinds[k].text;
}

static int dup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : HM_ERR_NOMEM;
}

int hm_findings_add(struct hm_findings *l, const struct hm_finding *f,
		    struct hm_error *err)
{
	struct hm_finding c = { 0 };

	if ((unsigned)f->kind >= HM_FINDING__COUNT || !f->path ||
	    f->path_len == SIZE_MAX)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "invalid finding (kind %d)", (int)f->kind);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct hm_finding *p;

		if (cap > SIZE_MAX / sizeof(*p))
			return hm_error_nomem(err);
		p = realloc(l->items, cap * sizeof(*p));
		if (!p)
			return hm_error_nomem(err);
		l->items = p;
		l->cap = cap;
	}
	c.kind = f->kind;
	c.path_len = f->path_len;
	c.path = malloc(f->path_len + 1);
	if (!c.path)
		goto out;
	memcpy(c.path, f->path, f->path_len);
	c.path[f->path_len] = '\0';
	if (dup_opt(f->expected, &c.expected) < 0 ||
	    dup_opt(f->actual, &c.actual) < 0 ||
	    dup_opt(f->detail, &c.detail) < 0)
		goto out;
	l->items[l->n++] = c;
	return 0;
out:
	free(c.path);
	free(c.expected);
	free(c.actual);
	free(c.detail);
	return hm_error_nomem(err);
}

int hm_findings_collect(void *ctx, const struct hm_finding *f,
			struct hm_error *err)
{
	return hm_findings_add(ctx, f, err);
}

void hm_findings_free(struct hm_findings *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->items[i].path);
		free(l->items[i].expected);
		free(l->items[i].actual);
		free(l->items[i].detail);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}
