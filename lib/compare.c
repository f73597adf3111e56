/*
 * Compare: a merge join of the manifest (expected) and the target (actual),
 * both sorted by hm_path_cmp, under a policy.
 *
 * Memory is bounded by the two current entries and the previous paths: the
 * join never looks back.  When a whole subtree is missing, added, replaced
 * by a non-directory or could not be read, the subtree is reported once at
 * its root, with the number of entries below it, instead of once per entry:
 * a deleted /usr is one finding, not twenty thousand.
 *
 * Digests.  The target is told (hm_source_set_digest_query) which file
 * contents the join will not look at, so a live tree does not read them:
 * a file the manifest does not have (added, allowed or not), one the
 * manifest has as another type, one below a subtree reported at its root,
 * and a may_change file whose size already differs (the change is allowed
 * whatever the content).  The target asks about the entry it is about to
 * yield, so the join answers from the manifest's side: it first reports the
 * manifest entries before that path as missing, as the main loop would,
 * and it may do so only when everything before the path is reported.  So
 * every step advances the target last, and an "added" finding, whose count
 * of entries below is known only when the entry after its subtree is read,
 * is flushed at that point.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/buf.h"
#include "hallmark/compare.h"
#include "hallmark/digest.h"
#include "hallmark/manifest.h"

/* One side of the join: the current entry, and the previous path for the
 * order check. */
struct side {
	struct hm_source *src;
	const struct hm_entry *cur;   /* NULL at the end */
	struct hm_buf prev;
	bool has_prev;
	const char *what;             /* "manifest" or "target" */
	uint64_t *count;
};

struct join {
	struct side exp, act;
	const struct hm_policy *policy;
	hm_finding_fn fn;
	void *ctx;
	struct hm_compare_stats *stats;
	struct hm_error *err;
	const char *origin;           /* of the target entry being reported */
	/* Target entries below hold are being skipped (hold_set). */
	struct hm_buf hold;
	bool hold_set;
	/* An "added" finding at hold, reported once its subtree is counted. */
	bool pend;
	uint64_t pend_below;
	struct hm_buf pend_origin;
	bool act_declined;            /* the digest of act.cur was declined */
	bool saw_index;               /* /index.json was added */
};

static int advance(struct join *j, struct side *s)
{
	const struct hm_entry *e;
	int r;

	for (;;) {
		if (s == &j->act)
			j->act_declined = false;
		r = hm_source_next(s->src, &e, j->err);
		if (r < 0)
			return r;
		if (r == 0) {
			s->cur = NULL;
			return 0;
		}
		if (s->has_prev &&
		    hm_path_cmp(s->prev.data, s->prev.len, e->path, e->path_len) >= 0)
			return hm_error_set(j->err, HM_ERR_INPUT, 0,
					    "%s entries out of order at '%s'",
					    s->what, e->path);
		hm_buf_reset(&s->prev);
		if (hm_buf_add(&s->prev, e->path, e->path_len) < 0)
			return hm_error_nomem(j->err);
		s->has_prev = true;
		(*s->count)++;
		if (s == &j->exp)
			hm_policy_mark_manifest(j->policy, e->path, e->path_len);
		if (hm_policy_ignored(j->policy, e->path, e->path_len)) {
			j->stats->ignored++;
			continue;
		}
		s->cur = e;
		return 1;
	}
}

/*
 * Skip every entry of s strictly below dir; *ret_n counts them.  It counts
 * as it goes: the target may ask about the entry after the subtree while
 * the last advance() reads it, and need_digest then reports a pending
 * "added" with the count so far, which must be the whole count.
 */
static int skip_below(struct join *j, struct side *s, const char *dir,
		      size_t dlen, uint64_t *ret_n)
{
	int r;

	*ret_n = 0;
	while (s->cur && hm_path_is_below(s->cur->path, s->cur->path_len, dir, dlen)) {
		(*ret_n)++;
		r = advance(j, s);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Advance the target past its entry at dir and everything below it; *ret_n
 * counts the entries below.  None of them needs a digest.
 */
static int act_skip_subtree(struct join *j, const char *dir, size_t dlen,
			    uint64_t *ret_n)
{
	int r;

	hm_buf_reset(&j->hold);
	if (hm_buf_add(&j->hold, dir, dlen) < 0)
		return hm_error_nomem(j->err);
	j->hold_set = true;
	*ret_n = 0;
	if ((r = advance(j, &j->act)) >= 0)
		r = skip_below(j, &j->act, j->hold.data, j->hold.len, ret_n);
	j->hold_set = false;
	return r;
}

static int emit(struct join *j, enum hm_finding_kind kind, const char *path,
		size_t len, const char *expected, const char *actual,
		const char *detail)
{
	struct hm_finding f = {
		.kind = kind,
		.path = (char *)path,
		.path_len = len,
		.expected = (char *)expected,
		.actual = (char *)actual,
		.detail = (char *)detail,
	};
	struct hm_buf d = HM_BUF_INIT;
	int r;

	j->stats->findings[kind]++;
	j->stats->total_findings++;
	if (!j->fn)
		return 0;
	/* Findings on the target's entries name its origin (e.g. a layer). */
	if (j->origin && kind != HM_FINDING_MISSING) {
		if ((detail && hm_buf_addf(&d, "%s; ", detail) < 0) ||
		    hm_buf_addf(&d, "from %s", j->origin) < 0) {
			hm_buf_free(&d);
			return hm_error_nomem(j->err);
		}
		f.detail = d.data;
	}
	r = j->fn(j->ctx, &f, j->err);
	hm_buf_free(&d);
	return r;
}

/* Copy the path of an entry that is about to be replaced by advance(). */
static int save_path(struct hm_buf *b, const struct hm_entry *e)
{
	hm_buf_reset(b);
	return hm_buf_add(b, e->path, e->path_len);
}

static int emit_num(struct join *j, enum hm_finding_kind kind,
		    const struct hm_entry *e, bool octal,
		    unsigned long long want, unsigned long long got)
{
	char a[32], b[32];

	snprintf(a, sizeof(a), octal ? "%04llo" : "%llu", want);
	snprintf(b, sizeof(b), octal ? "%04llo" : "%llu", got);
	return emit(j, kind, e->path, e->path_len, a, b, NULL);
}

static int escaped(struct hm_buf *b, const char *s, size_t len)
{
	hm_buf_reset(b);
	if (hm_escape(b, s, len, 0) < 0 || hm_buf_grow(b, 0) < 0)
		return HM_ERR_NOMEM;
	return 0;
}

/* Hex of an xattr value for display: long values are shortened. */
static int xattr_text(struct hm_buf *b, const struct hm_xattr *x)
{
	enum { SHOW = 32 };

	hm_buf_reset(b);
	if (!x)
		return hm_buf_adds(b, "absent");
	if (hm_buf_addhex(b, x->value, x->len < SHOW ? x->len : SHOW) < 0)
		return HM_ERR_NOMEM;
	if (x->len > SHOW)
		return hm_buf_addf(b, "... (%zu bytes)", x->len);
	return hm_buf_grow(b, 0);
}

static int compare_xattrs(struct join *j, const struct hm_entry *a,
			  const struct hm_entry *b)
{
	struct hm_buf ta = HM_BUF_INIT, tb = HM_BUF_INIT;
	size_t i = 0, k = 0;
	int r = 0;

	while (r >= 0 && (i < a->n_xattrs || k < b->n_xattrs)) {
		const struct hm_xattr *xa = i < a->n_xattrs ? &a->xattrs[i] : NULL;
		const struct hm_xattr *xb = k < b->n_xattrs ? &b->xattrs[k] : NULL;
		int c = !xa ? 1 : !xb ? -1 : strcmp(xa->name, xb->name);

		if (c < 0)
			xb = NULL, i++;
		else if (c > 0)
			xa = NULL, k++;
		else {
			i++, k++;
			if (xa->len == xb->len &&
			    memcmp(xa->value, xb->value, xa->len) == 0)
				continue;
		}
		if (xattr_text(&ta, xa) < 0 || xattr_text(&tb, xb) < 0) {
			r = hm_error_nomem(j->err);
			break;
		}
		r = emit(j, HM_FINDING_XATTR, a->path, a->path_len, ta.data,
			 tb.data, xa ? xa->name : xb->name);
	}
	hm_buf_free(&ta);
	hm_buf_free(&tb);
	return r;
}

/* Both sides have the path.  Advances both. */
static int compare_pair(struct join *j)
{
	const struct hm_entry *a = j->exp.cur, *b = j->act.cur;
	struct hm_buf p = HM_BUF_INIT, ta = HM_BUF_INIT, tb = HM_BUF_INIT;
	bool may_change;
	uint64_t below;
	char detail[96];
	int r = 0;

	if (b->flags & HM_ENTRY_DELETED) {
		/* A tombstone: the target deleted it (a layer's whiteout). */
		if ((r = save_path(&p, a)) < 0)
			goto nomem;
		if (hm_buf_adds(&ta, "deleted by ") < 0 ||
		    hm_buf_adds(&ta, b->origin_name ? b->origin_name : "the target") < 0)
			goto nomem;
		if ((r = advance(j, &j->exp)) < 0 ||
		    (r = skip_below(j, &j->exp, p.data, p.len, &below)) < 0)
			goto out;
		if (below && hm_buf_addf(&ta, ", with %" PRIu64 " entries below", below) < 0)
			goto nomem;
		if ((r = emit(j, HM_FINDING_MISSING, p.data, p.len, NULL, NULL,
			      ta.data)) < 0)
			goto out;
		r = advance(j, &j->act);
		goto out;
	}
	j->stats->matched++;
	/* Findings about what the target holds name where it came from. */
	j->origin = b->origin_name;
	if (a->type != b->type) {
		bool a_dir = a->type == HM_TYPE_DIR, b_dir = b->type == HM_TYPE_DIR;

		if ((r = save_path(&p, a)) < 0)
			goto nomem;
		r = emit(j, HM_FINDING_TYPE, a->path, a->path_len,
			 hm_type_name(a->type), hm_type_name(b->type), NULL);
		if (r < 0)
			goto out;
		/* What was below a directory is accounted to the type change. */
		if ((r = advance(j, &j->exp)) < 0 ||
		    (a_dir && (r = skip_below(j, &j->exp, p.data, p.len, &below)) < 0))
			goto out;
		j->origin = NULL;      /* b is about to go */
		if (b_dir)
			r = act_skip_subtree(j, p.data, p.len, &below);
		else
			r = advance(j, &j->act);
		goto out;
	}

	if (b->flags & HM_ENTRY_MOUNTPOINT) {
		/* The attributes seen are those of the mounted file system's
		 * root: only the type is comparable.  Entries of the manifest
		 * below it could not be checked, which is a finding. */
		bool a_dir = a->type == HM_TYPE_DIR;

		if ((r = save_path(&p, a)) < 0)
			goto nomem;
		if ((r = advance(j, &j->exp)) < 0 ||
		    (r = skip_below(j, &j->exp, p.data, p.len, &below)) < 0)
			goto out;
		j->origin = NULL;
		/* A file mounted over a file hides the one the manifest
		 * names, whatever the mounted one holds. */
		if (below || !a_dir) {
			if (a_dir)
				snprintf(detail, sizeof(detail),
					 "another file system is mounted here: %" PRIu64
					 " manifest entries below not checked", below);
			else
				snprintf(detail, sizeof(detail),
					 "another file is mounted over it: not checked");
			if ((r = emit(j, HM_FINDING_MOUNTPOINT, p.data, p.len,
				      NULL, NULL, detail)) < 0)
				goto out;
		}
		r = advance(j, &j->act);
		goto out;
	}

	if (b->flags & HM_ENTRY_UNREADABLE) {
		if ((r = save_path(&p, a)) < 0)
			goto nomem;
		r = emit(j, HM_FINDING_UNREADABLE, a->path, a->path_len, NULL,
			 NULL, b->note ? b->note : "cannot be read");
		if (r < 0)
			goto out;
		/* An unreadable directory hides its subtree on both sides. */
		if ((r = advance(j, &j->exp)) < 0 ||
		    (r = skip_below(j, &j->exp, p.data, p.len, &below)) < 0)
			goto out;
		j->origin = NULL;
		r = act_skip_subtree(j, p.data, p.len, &below);
		goto out;
	}

	may_change = hm_policy_may_change(j->policy, a->path, a->path_len);
	if (a->mode != b->mode &&
	    (r = emit_num(j, HM_FINDING_MODE, a, true, a->mode, b->mode)) < 0)
		goto out;
	if (a->uid != b->uid &&
	    (r = emit_num(j, HM_FINDING_UID, a, false, a->uid, b->uid)) < 0)
		goto out;
	if (a->gid != b->gid &&
	    (r = emit_num(j, HM_FINDING_GID, a, false, a->gid, b->gid)) < 0)
		goto out;

	switch (a->type) {
	case HM_TYPE_FILE:
		if (j->act_declined) {
			/* need_digest said no: only an allowed change of size. */
			if (!may_change || a->size == b->size) {
				r = hm_error_set(j->err, HM_ERR_INPUT, 0,
						 "'%s' was compared without its digest",
						 a->path);
				break;
			}
			j->stats->allowed_changes++;
			break;
		}
		j->stats->bytes_hashed += b->size;
		if (b->flags & HM_ENTRY_CHANGED) {
			r = emit(j, HM_FINDING_CHANGED, a->path, a->path_len, NULL,
				 NULL, b->note ? b->note : "changed while being hashed");
			break;
		}
		if (a->size == b->size &&
		    memcmp(a->sha256, b->sha256, HM_SHA256_LEN) == 0)
			break;
		if (may_change) {
			j->stats->allowed_changes++;
			break;
		}
		/*
		 * One changed file is one finding: kind "content" with the
		 * digests, and the sizes in its detail when they differ too
		 * ("size A -> B", which the text report reads back).  A size
		 * finding is left for a size that differs under one digest.
		 */
		if (memcmp(a->sha256, b->sha256, HM_SHA256_LEN) != 0) {
			char ha[2 * HM_SHA256_LEN + 1], hb[2 * HM_SHA256_LEN + 1];
			char sizes[64];

			hm_hex_encode(a->sha256, HM_SHA256_LEN, ha);
			hm_hex_encode(b->sha256, HM_SHA256_LEN, hb);
			snprintf(sizes, sizeof(sizes), "size %" PRIu64 " -> %" PRIu64,
				 a->size, b->size);
			r = emit(j, HM_FINDING_CONTENT, a->path, a->path_len,
				 ha, hb, a->size != b->size ? sizes : NULL);
		} else {
			r = emit_num(j, HM_FINDING_SIZE, a, false, a->size, b->size);
		}
		break;
	case HM_TYPE_SYMLINK:
		if (a->target_len == b->target_len &&
		    memcmp(a->target, b->target, a->target_len) == 0)
			break;
		if (may_change) {
			j->stats->allowed_changes++;
			break;
		}
		if (escaped(&ta, a->target, a->target_len) < 0 ||
		    escaped(&tb, b->target, b->target_len) < 0)
			goto nomem;
		r = emit(j, HM_FINDING_TARGET, a->path, a->path_len, ta.data,
			 tb.data, NULL);
		break;
	case HM_TYPE_CHAR:
	case HM_TYPE_BLOCK:
		if (a->rdev_major != b->rdev_major || a->rdev_minor != b->rdev_minor) {
			char da[32], db[32];

			snprintf(da, sizeof(da), "%u,%u", a->rdev_major, a->rdev_minor);
			snprintf(db, sizeof(db), "%u,%u", b->rdev_major, b->rdev_minor);
			r = emit(j, HM_FINDING_RDEV, a->path, a->path_len, da, db, NULL);
		}
		break;
	default:
		break;
	}
	if (r < 0)
		goto out;
	if ((r = compare_xattrs(j, a, b)) < 0)
		goto out;
	if ((r = advance(j, &j->exp)) < 0)
		goto out;
	r = advance(j, &j->act);
	goto out;
nomem:
	r = hm_error_nomem(j->err);
out:
	j->origin = NULL;
	hm_buf_free(&p);
	hm_buf_free(&ta);
	hm_buf_free(&tb);
	return r < 0 ? r : 0;
}

/* Will compare_pair look at the digest of a target file at a's path? */
static bool digest_needed(const struct join *j, const struct hm_entry *a,
			  uint64_t size)
{
	if (a->type != HM_TYPE_FILE)
		return false;       /* a type finding */
	/* may_change: a content change is allowed, and when the size
	 * differs there is one whatever the bytes.  With the same size the
	 * digest still says whether to count an allowed change. */
	return a->size == size ||
	       !hm_policy_may_change(j->policy, a->path, a->path_len);
}

static int missing(struct join *j)
{
	struct hm_buf p = HM_BUF_INIT;
	uint64_t below = 0;
	char detail[64];
	int r;

	j->origin = NULL;
	if (save_path(&p, j->exp.cur) < 0)
		return hm_error_nomem(j->err);
	if ((r = advance(j, &j->exp)) < 0 ||
	    (r = skip_below(j, &j->exp, p.data, p.len, &below)) < 0)
		goto out;
	snprintf(detail, sizeof(detail), "with %" PRIu64 " entries below", below);
	r = emit(j, HM_FINDING_MISSING, p.data, p.len, NULL, NULL,
		 below ? detail : NULL);
out:
	hm_buf_free(&p);
	return r;
}

/* The "added" finding at j->hold, with j->pend_below entries below. */
static int flush_added(struct join *j)
{
	char detail[64];
	int r;

	j->pend = false;
	snprintf(detail, sizeof(detail), "with %" PRIu64 " entries below",
		 j->pend_below);
	j->origin = j->pend_origin.len ? j->pend_origin.data : NULL;
	r = emit(j, HM_FINDING_ADDED, j->hold.data, j->hold.len, NULL, NULL,
		 j->pend_below ? detail : NULL);
	j->origin = NULL;
	return r;
}

static int added(struct join *j)
{
	const struct hm_entry *b = j->act.cur;
	int r;

	/* index.json sorts before oci-layout: seeing the latter added
	 * after the former says the target is an image layout. */
	if (b->path_len == 11 && memcmp(b->path, "/index.json", 11) == 0)
		j->saw_index = true;
	if (j->saw_index && b->path_len == 11 &&
	    memcmp(b->path, "/oci-layout", 11) == 0)
		j->stats->oci_layout = true;

	if (b->flags & HM_ENTRY_DELETED)     /* deleted, and never there */
		return advance(j, &j->act);
	/* "/opt/app/" "**" allows /opt/app itself to appear: its entries are
	 * still checked one by one. */
	if (hm_policy_may_add(j->policy, b->path, b->path_len) ||
	    (b->type == HM_TYPE_DIR &&
	     hm_policy_may_add_below(j->policy, b->path, b->path_len))) {
		j->stats->allowed_adds++;
		return advance(j, &j->act);
	}
	hm_buf_reset(&j->pend_origin);
	if (b->origin_name && hm_buf_adds(&j->pend_origin, b->origin_name) < 0)
		return hm_error_nomem(j->err);
	/* Reported by flush_added once the subtree is counted: by need_digest
	 * if the target asks about the entry after it, else below. */
	j->pend = true;
	j->pend_below = 0;
	if ((r = act_skip_subtree(j, b->path, b->path_len, &j->pend_below)) < 0)
		return r;
	return j->pend ? flush_added(j) : 0;
}

/*
 * The target asks, about the regular file it is about to yield, whether
 * the join will compare its digest (see the top of this file).
 */
static int need_digest(void *ctx, const char *path, size_t len, uint64_t size,
		       struct hm_error *err)
{
	struct join *j = ctx;
	int c = 1, r;

	(void)err;      /* the target was called with j->err */
	j->act_declined = true;
	if (j->hold_set && hm_path_is_below(path, len, j->hold.data, j->hold.len))
		return 0;
	if (hm_policy_ignored(j->policy, path, len))
		return 0;
	if (j->pend && (r = flush_added(j)) < 0)
		return r;
	while (j->exp.cur &&
	       (c = hm_path_cmp(j->exp.cur->path, j->exp.cur->path_len,
				path, len)) < 0)
		if ((r = missing(j)) < 0)
			return r;
	if (!j->exp.cur || c != 0 || !digest_needed(j, j->exp.cur, size))
		return 0;
	j->act_declined = false;
	return 1;
}

int hm_compare(struct hm_source *expected, struct hm_source *actual,
	       const struct hm_policy *policy, hm_finding_fn fn, void *ctx,
	       struct hm_compare_stats *stats, struct hm_error *err)
{
	struct hm_compare_stats local;
	struct join j = {
		.exp = { .src = expected, .what = "manifest" },
		.act = { .src = actual, .what = "target" },
		.policy = policy,
		.fn = fn,
		.ctx = ctx,
		.err = err,
	};
	int r;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	j.stats = stats;
	j.exp.count = &stats->expected;
	j.act.count = &stats->actual;
	hm_source_set_digest_query(actual, &(struct hm_digest_query){
		.need = need_digest, .ctx = &j });
	if ((r = advance(&j, &j.exp)) < 0 || (r = advance(&j, &j.act)) < 0)
		goto out;
	while (j.exp.cur || j.act.cur) {
		int c;

		if (!j.exp.cur)
			c = 1;
		else if (!j.act.cur)
			c = -1;
		else
			c = hm_path_cmp(j.exp.cur->path, j.exp.cur->path_len,
					j.act.cur->path, j.act.cur->path_len);
		if (c < 0)
			r = missing(&j);
		else if (c > 0)
			r = added(&j);
		else
			r = compare_pair(&j);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	/* The query points into this frame. */
	hm_source_set_digest_query(actual, NULL);
	hm_buf_free(&j.exp.prev);
	hm_buf_free(&j.act.prev);
	hm_buf_free(&j.hold);
	hm_buf_free(&j.pend_origin);
	return r;
}
