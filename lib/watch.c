/*
 * `hallmark watch`'s core: a fanotify filesystem mark on the file system
 * of the watched root, events resolved to image paths, coalesced by path
 * in a bounded table, and checked after a short settle by the same
 * compare, policy and directory walk as verify, on those paths only.
 *
 * The model is fanotify(7)'s example and fatrace: one read() of many
 * events, directory handles resolved with open_by_handle_at on a mount
 * fd, FAN_Q_OVERFLOW always handled (here: a full verify).  Who made a
 * change is read from /proc at the moment the event is read, before a
 * short-lived writer is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/limits.h"
#include "hallmark/manifest.h"
#include "hallmark/watch.h"

#define WATCH_MASK (FAN_CREATE | FAN_DELETE | FAN_MODIFY | FAN_ATTRIB | \
		    FAN_MOVED_FROM | FAN_MOVED_TO | FAN_CLOSE_WRITE | \
		    FAN_ONDIR | FAN_DELETE_SELF | FAN_MOVE_SELF)

/* Who made a change; shared by the pending paths it touched. */
struct cause {
	unsigned refs;
	struct hm_watch_cause pub;
	char *user, *exe, *cmdline, *text;
};

/* A changed path waiting for its check. */
struct pend {
	char *path;                 /* image path, "/..." */
	size_t len;
	bool subtree;               /* check everything below it too */
	struct cause *who;
};

struct hm_watch {
	int fan_fd, mount_fd;
	char *root;                 /* realpath of the root */
	size_t root_len;
	fsid_t fsid;
	const struct hm_policy *policy;
	unsigned threads, settle_ms;
	size_t max_pending;
	pid_t self;

	struct hm_entry *ents;      /* the manifest, canonical order */
	size_t n_ents, cap_ents;

	struct pend *pend;          /* the pending table */
	size_t n_pend;
	size_t *slots;              /* open addressing: index + 1, 0 empty */
	size_t n_slots;
	struct timespec first;      /* when the oldest pending change came */
	struct cause *last_cause;   /* the cause of the last event read */
	/* The last directory handle resolved, and its path: a burst in one
	 * directory costs one open_by_handle_at per read(), not per event.
	 * Valid for one read() only (a rename later in the same read has its
	 * own events, which cover both places). */
	unsigned char last_fh[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	size_t last_fh_len;
	char *last_dir;
};

const char *hm_watch_scan_reason_text(enum hm_watch_scan_reason r)
{
	switch (r) {
	case HM_WATCH_SCAN_START: return "start";
	case HM_WATCH_SCAN_OVERFLOW: return "event queue overflowed";
	case HM_WATCH_SCAN_BURST: return "too many paths changed at once";
	}
	return "?";
}

/* ---- causes ------------------------------------------------------------ */

static void cause_unref(struct cause *c)
{
	if (!c || --c->refs)
		return;
	free(c->user);
	free(c->exe);
	free(c->cmdline);
	free(c->text);
	free(c);
}

static struct cause *cause_ref(struct cause *c)
{
	if (c)
		c->refs++;
	return c;
}

static char *escaped(const char *s, size_t len)
{
	struct hm_buf b = HM_BUF_INIT;

	if (hm_escape(&b, s, len, 0) < 0 || hm_buf_addc(&b, '\0') < 0) {
		hm_buf_free(&b);
		return NULL;
	}
	return hm_buf_detach(&b, NULL);
}

/*
 * Read /proc/PID now: the writer may be gone a millisecond later.  Relative
 * to one directory fd, so the fields all come from the same process (a
 * reused pid would need the directory reopened).  NULL only when out of
 * memory; a process that is gone gives an "exited" cause.
 */
/* Is the process behind pidfd still pid (not exited, so not reused)? */
static bool pidfd_alive(int pidfd, pid_t pid)
{
	char p[64], line[128];
	bool alive = false;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", pidfd);
	if (!(f = fopen(p, "re")))
		return false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Pid:", 4) == 0) {
			alive = atoi(line + 4) == (int)pid;
			break;
		}
	fclose(f);
	return alive;
}

/* Read /proc/PID/NAME (relative to its directory fd) into buf. */
static ssize_t proc_read(int dfd, const char *name, char *buf, size_t size)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size);
	close(fd);
	return n;
}

static struct cause *cause_read(pid_t pid, int pidfd)
{
	struct cause *c = calloc(1, sizeof(*c));
	char p[64], status[4096], exe[4096], args[4096], *uid;
	ssize_t n_status = -1, n_exe = -1, n_args = -1;
	struct hm_buf b = HM_BUF_INIT;
	struct passwd pw, *pwp = NULL;
	unsigned long ruid, euid = 0;
	char pwbuf[1024];
	int dfd;

	if (!c)
		return NULL;
	c->refs = 1;
	c->pub.pid = pid;
	snprintf(p, sizeof(p), "/proc/%d", (int)pid);
	/* FAN_NOPIDFD: gone before the event was read. */
	dfd = pidfd == FAN_NOPIDFD ? -1 : open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		n_status = proc_read(dfd, "status", status, sizeof(status) - 1);
		n_exe = readlinkat(dfd, "exe", exe, sizeof(exe) - 1);
		n_args = proc_read(dfd, "cmdline", args, sizeof(args));
		close(dfd);
	}
	/* All of it read while the writer lived, so none of it is of a
	 * later process that got the pid. */
	if (n_status <= 0 || (pidfd >= 0 && !pidfd_alive(pidfd, pid)))
		c->pub.exited = true;
	if (!c->pub.exited) {
		status[n_status] = '\0';
		/* The effective uid is the one the kernel checked the write
		 * against. */
		if ((uid = strstr(status, "\nUid:")) &&
		    sscanf(uid + 5, "%lu %lu", &ruid, &euid) != 2)
			euid = 0;
		c->pub.uid = (uint32_t)euid;
		c->exe = n_exe >= 0 ? escaped(exe, (size_t)n_exe) : strdup("?");
		/* Each argument escaped (a space inside one shows as \040),
		 * the arguments joined by spaces. */
		for (ssize_t i = 0, start = 0; i <= n_args && n_args > 0; i++) {
			if (i == n_args || args[i] == '\0') {
				if (i > start || i < n_args) {
					if (b.len)
						hm_buf_addc(&b, ' ');
					hm_escape(&b, args + start,
						  (size_t)(i - start), 0);
				}
				start = i + 1;
			}
		}
		hm_buf_addc(&b, '\0');
		c->cmdline = hm_buf_detach(&b, NULL);
		getpwuid_r(c->pub.uid, &pw, pwbuf, sizeof(pwbuf), &pwp);
		c->user = escaped(pwp ? pwp->pw_name : "?",
				  strlen(pwp ? pwp->pw_name : "?"));
		if (c->exe && c->cmdline && c->user &&
		    asprintf(&c->text, "pid %d uid %u (%s) exe %s cmdline %s",
			     (int)pid, (unsigned)c->pub.uid, c->user, c->exe,
			     c->cmdline) < 0)
			c->text = NULL;
	} else if (asprintf(&c->text, "pid %d exited", (int)pid) < 0) {
		c->text = NULL;
	}
	hm_buf_free(&b);
	if (!c->text) {
		cause_unref(c);
		return NULL;
	}
	c->pub.user = c->user;
	c->pub.exe = c->exe;
	c->pub.cmdline = c->cmdline;
	c->pub.text = c->text;
	return c;
}

/* ---- the pending table ------------------------------------------------- */

static size_t path_hash(const char *s, size_t len)
{
	size_t h = 1469598103934665603ull;

	while (len--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static void pend_clear(struct hm_watch *w)
{
	for (size_t i = 0; i < w->n_pend; i++) {
		free(w->pend[i].path);
		cause_unref(w->pend[i].who);
	}
	w->n_pend = 0;
	if (w->slots)
		memset(w->slots, 0, w->n_slots * sizeof(*w->slots));
}

/*
 * Note a change of path.  1: the table is full (the caller falls back to
 * a full scan); 0: noted; HM_ERR_NOMEM.
 */
static int pend_add(struct hm_watch *w, const char *path, size_t len,
		    bool subtree, struct cause *who, struct hm_error *err)
{
	size_t h, mask = w->n_slots - 1;
	struct pend *p;

	for (h = path_hash(path, len) & mask; w->slots[h]; h = (h + 1) & mask) {
		p = &w->pend[w->slots[h] - 1];
		if (p->len == len && memcmp(p->path, path, len) == 0) {
			p->subtree |= subtree;
			cause_unref(p->who);
			p->who = cause_ref(who);
			return 0;
		}
	}
	if (w->n_pend == w->max_pending)
		return 1;
	p = &w->pend[w->n_pend];
	if (!(p->path = malloc(len + 1)))
		return hm_error_nomem(err);
	memcpy(p->path, path, len);
	p->path[len] = '\0';
	p->len = len;
	p->subtree = subtree;
	p->who = cause_ref(who);
	if (w->n_pend++ == 0)
		clock_gettime(CLOCK_MONOTONIC, &w->first);
	w->slots[h] = w->n_pend;
	return 0;
}

/* ---- setup --------------------------------------------------------------- */

int hm_watch_new(const char *root, const struct hm_policy *policy,
		 const struct hm_watch_options *opt, struct hm_watch **ret,
		 struct hm_error *err)
{
	struct hm_watch *w = calloc(1, sizeof(*w));
	struct statfs sfs;
	int r;

	if (!w)
		return hm_error_nomem(err);
	w->fan_fd = w->mount_fd = -1;
	w->policy = policy;
	w->self = getpid();
	w->threads = opt ? opt->threads : 0;
	w->settle_ms = opt && opt->settle_ms ? opt->settle_ms : HM_WATCH_SETTLE_MS;
	w->max_pending = opt && opt->max_pending ? opt->max_pending :
			 HM_LIMIT_WATCH_PENDING;
	if (!(w->root = realpath(root, NULL))) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", root);
		goto fail;
	}
	w->root_len = strcmp(w->root, "/") == 0 ? 0 : strlen(w->root);
	w->mount_fd = open(w->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->mount_fd < 0 || fstatfs(w->mount_fd, &sfs) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", root);
		goto fail;
	}
	w->fsid = sfs.f_fsid;
	/* A pidfd per event (Linux 5.15) tells whether what /proc said was
	 * the writer's or a later process's with a reused pid. */
	w->fan_fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME |
				  FAN_REPORT_FID | FAN_REPORT_PIDFD |
				  FAN_CLOEXEC | FAN_NONBLOCK,
				  O_RDONLY | O_LARGEFILE);
	if (w->fan_fd < 0 && errno == EINVAL)
		w->fan_fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME |
					  FAN_REPORT_FID | FAN_CLOEXEC | FAN_NONBLOCK,
					  O_RDONLY | O_LARGEFILE);
	if (w->fan_fd < 0) {
		if (errno == EPERM)
			r = hm_error_set(err, HM_ERR_USAGE, 0,
					 "fanotify needs CAP_SYS_ADMIN: run as root");
		else if (errno == EINVAL)
			r = hm_error_set(err, HM_ERR_USAGE, 0,
					 "this kernel has no fanotify FAN_REPORT_DFID_NAME (Linux 5.9 or later)");
		else if (errno == ENOSYS)
			r = hm_error_set(err, HM_ERR_USAGE, 0,
					 "this kernel has no fanotify");
		else
			r = hm_error_set(err, HM_ERR_IO, errno, "fanotify_init");
		goto fail;
	}
	/* One mark for the whole file system: no watch per directory.  Mount
	 * points below the root are not crossed, as verify does not cross
	 * them (its scan reports them), so only this file system matters. */
	if (fanotify_mark(w->fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
			  WATCH_MASK, w->mount_fd, NULL) < 0) {
		if (errno == EINVAL)
			r = hm_error_set(err, HM_ERR_USAGE, 0,
					 "this kernel has no fanotify filesystem marks (FAN_MARK_FILESYSTEM with directory events)");
		else if (errno == EOPNOTSUPP || errno == ENODEV || errno == EXDEV)
			r = hm_error_set(err, HM_ERR_USAGE, 0,
					 "the file system of '%s' (type 0x%lx) cannot report file handles to fanotify",
					 w->root, (unsigned long)sfs.f_type);
		else if (errno == EPERM)
			r = hm_error_set(err, HM_ERR_USAGE, 0,
					 "fanotify filesystem marks need CAP_SYS_ADMIN (in the initial user namespace): run as root");
		else
			r = hm_error_set(err, HM_ERR_IO, errno,
					 "cannot watch '%s'", w->root);
		goto fail;
	}
	w->n_slots = 1;
	while (w->n_slots < w->max_pending * 2)
		w->n_slots <<= 1;
	w->slots = calloc(w->n_slots, sizeof(*w->slots));
	w->pend = calloc(w->max_pending, sizeof(*w->pend));
	w->last_dir = malloc(PATH_MAX);
	if (!w->slots || !w->pend || !w->last_dir) {
		r = hm_error_nomem(err);
		goto fail;
	}
	*ret = w;
	return 0;
fail:
	hm_watch_free(w);
	return r;
}

void hm_watch_free(struct hm_watch *w)
{
	if (!w)
		return;
	if (w->pend)
		pend_clear(w);
	free(w->pend);
	free(w->slots);
	free(w->last_dir);
	cause_unref(w->last_cause);
	for (size_t i = 0; i < w->n_ents; i++)
		hm_entry_clear(&w->ents[i]);
	free(w->ents);
	if (w->fan_fd >= 0)
		close(w->fan_fd);
	if (w->mount_fd >= 0)
		close(w->mount_fd);
	free(w->root);
	free(w);
}

int hm_watch_load_manifest(struct hm_watch *w, struct hm_source *src,
			   struct hm_error *err)
{
	const struct hm_entry *e;
	int r;

	while ((r = hm_source_next(src, &e, err)) > 0) {
		if (w->n_ents == w->cap_ents) {
			size_t cap = w->cap_ents ? w->cap_ents * 2 : 1024;
			struct hm_entry *n = realloc(w->ents, cap * sizeof(*n));

			if (!n)
				return hm_error_nomem(err);
			w->ents = n;
			w->cap_ents = cap;
		}
		memset(&w->ents[w->n_ents], 0, sizeof(*w->ents));
		if (hm_entry_copy(&w->ents[w->n_ents], e) < 0)
			return hm_error_nomem(err);
		w->n_ents++;
	}
	return r;
}

size_t hm_watch_manifest_entries(const struct hm_watch *w)
{
	return w->n_ents;
}

/* ---- the manifest as a source: all of it, or chosen entries ------------ */

struct ents_source {
	struct hm_source base;
	const struct hm_watch *w;
	const size_t *idx;          /* NULL: every entry */
	size_t n, pos;
};

static int ents_next(struct hm_source *src, const struct hm_entry **ret,
		     struct hm_error *err)
{
	struct ents_source *s = (struct ents_source *)src;

	(void)err;
	if (s->pos == s->n)
		return 0;
	*ret = &s->w->ents[s->idx ? s->idx[s->pos] : s->pos];
	s->pos++;
	return 1;
}

static void ents_free(struct hm_source *src)
{
	(void)src;                  /* on the caller's stack */
}

static const struct hm_source_ops ents_ops = { "manifest", ents_next, ents_free, NULL };

/* ---- checks ------------------------------------------------------------ */

struct check {
	struct hm_watch *w;
	const struct hm_watch_callbacks *cb;
	struct pend **sorted;       /* the pending paths, canonical order */
	size_t n;
	struct hm_source_filter policy;
	struct hm_buf detail;
};

static int pend_cmp(const void *a, const void *b)
{
	const struct pend *x = *(struct pend *const *)a, *y = *(struct pend *const *)b;

	return hm_path_cmp(x->path, x->len, y->path, y->len);
}

static size_t lower_bound(const struct check *c, const char *path, size_t len)
{
	size_t lo = 0, hi = c->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (hm_path_cmp(c->sorted[mid]->path, c->sorted[mid]->len,
				path, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The pending path that path is, or lies in the subtree of; or NULL. */
static const struct pend *covering(const struct check *c, const char *path,
				   size_t len)
{
	size_t i = lower_bound(c, path, len);
	const struct pend *p;

	if (i < c->n && hm_path_cmp(c->sorted[i]->path, c->sorted[i]->len,
				    path, len) == 0)
		return c->sorted[i];
	/* A subtree is contiguous right after its root in canonical order,
	 * and nothing pending lies inside a pending subtree (pruned), so
	 * the only candidate is the one just before. */
	if (i > 0 && (p = c->sorted[i - 1])->subtree &&
	    hm_path_is_below(path, len, p->path, p->len))
		return p;
	return NULL;
}

/* Does a pending path lie strictly below dir? */
static bool has_below(const struct check *c, const char *dir, size_t len)
{
	size_t i = lower_bound(c, dir, len);

	if (i < c->n && hm_path_cmp(c->sorted[i]->path, c->sorted[i]->len,
				    dir, len) == 0)
		i++;
	return i < c->n && hm_path_is_below(c->sorted[i]->path,
					    c->sorted[i]->len, dir, len);
}

static bool check_skip_entry(void *ctx, const char *path, size_t len)
{
	const struct check *c = ctx;
	const struct pend *p;

	if (c->policy.skip_entry && c->policy.skip_entry(c->policy.ctx, path, len))
		return true;
	/* The walk reaches a changed path through its ancestors, so they
	 * are read (and compared, their findings not reported) too. */
	p = covering(c, path, len);
	return !p && !has_below(c, path, len);
}

static bool check_skip_subtree(void *ctx, const char *path, size_t len)
{
	const struct check *c = ctx;
	const struct pend *p;

	if (c->policy.skip_subtree &&
	    c->policy.skip_subtree(c->policy.ctx, path, len))
		return true;
	p = covering(c, path, len);
	return !(p && p->subtree) && !has_below(c, path, len);
}

static int check_finding(void *ctx, const struct hm_finding *f,
			 struct hm_error *err)
{
	struct check *c = ctx;
	const struct pend *p = covering(c, f->path, f->path_len);
	struct hm_finding g = *f;

	if (!p)
		return 0;           /* an ancestor on the way, not a change */
	hm_buf_reset(&c->detail);
	if ((f->detail && (hm_buf_adds(&c->detail, f->detail) < 0 ||
			   hm_buf_adds(&c->detail, "; ") < 0)) ||
	    hm_buf_adds(&c->detail, p->who ? p->who->text : "pid ? unknown") < 0 ||
	    hm_buf_addc(&c->detail, '\0') < 0)
		return hm_error_nomem(err);
	g.detail = c->detail.data;
	return c->cb->finding(c->cb->ctx, &g, p->who ? &p->who->pub : NULL, err);
}

static ssize_t ents_find(const struct hm_watch *w, const char *path, size_t len,
			 bool lower)
{
	size_t lo = 0, hi = w->n_ents, mid;
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = hm_path_cmp(w->ents[mid].path, w->ents[mid].path_len, path, len);
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lower)
		return (ssize_t)lo;
	return lo < w->n_ents && hm_path_cmp(w->ents[lo].path, w->ents[lo].path_len,
					     path, len) == 0 ? (ssize_t)lo : -1;
}

static int idx_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

struct idx_list {
	size_t *v, n, cap;
};

static int idx_add(struct idx_list *l, size_t i)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256, *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = i;
	return 0;
}

/* Check the pending paths now, then forget them. */
static int check_pending(struct hm_watch *w, const struct hm_watch_callbacks *cb,
			 struct hm_error *err)
{
	struct check c = { .w = w, .cb = cb, .detail = HM_BUF_INIT };
	struct idx_list want = { 0 };
	struct ents_source exp = { { &ents_ops }, w, NULL, 0, 0 };
	struct hm_scan_options scan = { 0 };
	struct hm_source *act = NULL;
	struct hm_compare_stats st;
	size_t i, k, u;
	ssize_t j;
	int r;

	if (!w->n_pend)
		return 0;
	if (!(c.sorted = malloc(w->n_pend * sizeof(*c.sorted)))) {
		r = hm_error_nomem(err);
		goto out;
	}
	for (i = 0; i < w->n_pend; i++)
		c.sorted[i] = &w->pend[i];
	qsort(c.sorted, w->n_pend, sizeof(*c.sorted), pend_cmp);
	/* What lies in a pending subtree is checked with it. */
	for (i = 0, k = 0; i < w->n_pend; i++) {
		struct pend *p = c.sorted[i];

		if (k && c.sorted[k - 1]->subtree &&
		    hm_path_is_below(p->path, p->len, c.sorted[k - 1]->path,
				     c.sorted[k - 1]->len))
			continue;
		c.sorted[k++] = p;
	}
	c.n = k;
	/* The manifest's side: each changed path, its subtree when it is
	 * one, and its ancestors (the walk yields them on its way). */
	for (i = 0; i < c.n; i++) {
		const struct pend *p = c.sorted[i];

		for (size_t l = 1; l < p->len; l++) {
			if (p->path[l] != '/')
				continue;
			if ((j = ents_find(w, p->path, l, false)) >= 0 &&
			    idx_add(&want, (size_t)j) < 0)
				goto nomem;
		}
		if (p->len > 1 && (j = ents_find(w, "/", 1, false)) >= 0 &&
		    idx_add(&want, (size_t)j) < 0)
			goto nomem;
		if (!p->subtree) {
			if ((j = ents_find(w, p->path, p->len, false)) >= 0 &&
			    idx_add(&want, (size_t)j) < 0)
				goto nomem;
			continue;
		}
		for (u = (size_t)ents_find(w, p->path, p->len, true);
		     u < w->n_ents && (hm_path_cmp(w->ents[u].path, w->ents[u].path_len,
						   p->path, p->len) == 0 ||
				       hm_path_is_below(w->ents[u].path,
							w->ents[u].path_len,
							p->path, p->len)); u++)
			if (idx_add(&want, u) < 0)
				goto nomem;
	}
	if (want.n)
		qsort(want.v, want.n, sizeof(*want.v), idx_cmp);
	for (i = 0, k = 0; i < want.n; i++)
		if (!k || want.v[k - 1] != want.v[i])
			want.v[k++] = want.v[i];
	exp.idx = want.v;
	exp.n = k;

	hm_policy_source_filter(w->policy, &c.policy);
	scan.threads = w->threads;
	scan.filter.skip_entry = check_skip_entry;
	scan.filter.skip_subtree = check_skip_subtree;
	scan.filter.ctx = &c;
	if ((r = hm_source_dir_open(w->root, &scan, &act, err)) < 0)
		goto out;
	if ((r = hm_compare(&exp.base, act, w->policy, check_finding, &c, &st,
			    err)) < 0)
		goto out;
	r = cb->checked ? cb->checked(cb->ctx, -1, &st, err) : 0;
	goto out;
nomem:
	r = hm_error_nomem(err);
out:
	hm_source_free(act);
	free(want.v);
	free(c.sorted);
	hm_buf_free(&c.detail);
	pend_clear(w);
	return r;
}

static int scan_finding(void *ctx, const struct hm_finding *f,
			struct hm_error *err)
{
	const struct hm_watch_callbacks *cb = ctx;

	return cb->finding(cb->ctx, f, NULL, err);
}

int hm_watch_full_scan(struct hm_watch *w, enum hm_watch_scan_reason why,
		       const struct hm_watch_callbacks *cb,
		       struct hm_error *err)
{
	struct ents_source exp = { { &ents_ops }, w, NULL, w->n_ents, 0 };
	struct hm_scan_options scan = { 0 };
	struct hm_source *act = NULL;
	struct hm_compare_stats st;
	int r;

	/* What was pending is part of the whole. */
	pend_clear(w);
	if (cb->scan_begin && (r = cb->scan_begin(cb->ctx, why, err)) < 0)
		return r;
	scan.threads = w->threads;
	hm_policy_source_filter(w->policy, &scan.filter);
	if ((r = hm_source_dir_open(w->root, &scan, &act, err)) < 0)
		return r;
	r = hm_compare(&exp.base, act, w->policy, scan_finding, (void *)cb,
		       &st, err);
	hm_source_free(act);
	if (r < 0)
		return r;
	return cb->checked ? cb->checked(cb->ctx, (int)why, &st, err) : 0;
}

/* ---- events -------------------------------------------------------------- */

/*
 * The path of a file handle on the watched file system, or -1 when it
 * cannot be had any more (the directory is gone: its own event covers it).
 */
static int handle_path(struct hm_watch *w, struct file_handle *fh,
		       char *out, size_t size)
{
	char link[64];
	struct stat st;
	ssize_t n;
	int fd = open_by_handle_at(w->mount_fd, fh, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (fstat(fd, &st) < 0 || st.st_nlink == 0 ||
	    (n = readlink(link, out, size - 1)) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	out[n] = '\0';
	return 0;
}

/* The image path of an absolute host path, or NULL outside the root. */
static const char *image_path(const struct hm_watch *w, const char *host)
{
	if (w->root_len == 0)
		return host;
	if (strncmp(host, w->root, w->root_len) != 0)
		return NULL;
	if (host[w->root_len] == '\0')
		return "/";
	return host[w->root_len] == '/' ? host + w->root_len : NULL;
}

/* The event's pidfd record: an fd the caller closes, FAN_NOPIDFD (the
 * process was gone), FAN_EPIDFD, or -3 when there is no such record. */
static int event_pidfd(const struct fanotify_event_metadata *m, const char *ev)
{
	const char *p = ev + m->metadata_len, *end = ev + m->event_len;
	struct fanotify_event_info_pidfd rec;

	while (p + sizeof(struct fanotify_event_info_header) <= end) {
		const struct fanotify_event_info_header *h = (const void *)p;

		if (h->len < sizeof(*h) || p + h->len > end)
			break;
		if (h->info_type == FAN_EVENT_INFO_TYPE_PIDFD && h->len >= sizeof(rec)) {
			memcpy(&rec, p, sizeof(rec));
			return rec.pidfd;
		}
		p += h->len;
	}
	return -3;
}

/*
 * One event: 0 noted or ignored, 1 the table is full, <0 error.  host is a
 * scratch buffer of PATH_MAX * 2.
 */
static int take_event(struct hm_watch *w, const struct fanotify_event_metadata *m,
		      const char *ev, int pidfd, char *host, struct hm_error *err)
{
	const char *p = ev + m->metadata_len;
	const char *end = ev + m->event_len;
	const struct fanotify_event_info_fid *dfid = NULL, *fid = NULL;
	const char *name = NULL, *img;
	struct file_handle *fh;
	bool subtree;
	size_t len, hlen;

	while (p + sizeof(struct fanotify_event_info_header) <= end) {
		const struct fanotify_event_info_header *h = (const void *)p;

		if (h->len < sizeof(*h) || p + h->len > end)
			break;
		if (h->info_type == FAN_EVENT_INFO_TYPE_DFID_NAME) {
			dfid = (const void *)p;
			fh = (struct file_handle *)dfid->handle;
			name = (const char *)fh->f_handle + fh->handle_bytes;
		} else if (h->info_type == FAN_EVENT_INFO_TYPE_FID ||
			   h->info_type == FAN_EVENT_INFO_TYPE_DFID) {
			fid = (const void *)p;
		}
		p += h->len;
	}
	if (!dfid && !fid)
		return 0;
	if (memcmp(&(dfid ? dfid : fid)->fsid, &w->fsid, sizeof(w->fsid)) != 0)
		return 0;
	fh = (struct file_handle *)(dfid ? dfid : fid)->handle;
	hlen = sizeof(*fh) + fh->handle_bytes;
	if (hlen <= sizeof(w->last_fh) && hlen == w->last_fh_len &&
	    memcmp(w->last_fh, fh, hlen) == 0) {
		strcpy(host, w->last_dir);
	} else {
		w->last_fh_len = 0;
		if (handle_path(w, fh, host, PATH_MAX) < 0)
			return 0;
		if (hlen <= sizeof(w->last_fh)) {
			memcpy(w->last_fh, fh, hlen);
			w->last_fh_len = hlen;
			strcpy(w->last_dir, host);
		}
	}
	len = strlen(host);
	if (dfid && name && *name && strcmp(name, ".") != 0) {
		if (len + 1 + strlen(name) >= (size_t)PATH_MAX * 2)
			return 0;
		if (!(len == 1 && host[0] == '/'))
			host[len++] = '/';
		strcpy(host + len, name);
	}
	if (!(img = image_path(w, host)))
		return 0;
	/* A directory made, moved or removed: all below it moved with it. */
	subtree = (m->mask & FAN_ONDIR) &&
		  (m->mask & (FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM |
			      FAN_MOVED_TO | FAN_MOVE_SELF | FAN_DELETE_SELF));
	/* What the policy ignores costs nothing more: a host's logs and
	 * spools change all the time. */
	len = strlen(img);
	if (hm_policy_ignored(w->policy, img, len) &&
	    (!subtree || hm_policy_ignores_below(w->policy, img, len)))
		return 0;
	if (!w->last_cause || w->last_cause->pub.pid != m->pid) {
		cause_unref(w->last_cause);
		if (!(w->last_cause = cause_read(m->pid, pidfd)))
			return hm_error_nomem(err);
	}
	return pend_add(w, img, len, subtree, w->last_cause, err);
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

int hm_watch_run(struct hm_watch *w, int stop_fd,
		 const struct hm_watch_callbacks *cb, struct hm_error *err)
{
	/* Aligned for struct fanotify_event_metadata, as fanotify(7) does. */
	static char buf[256 * 1024] __attribute__((aligned(8)));
	char *host = malloc((size_t)PATH_MAX * 2);
	struct pollfd pfd[2];
	int r = 0;

	if (!host)
		return hm_error_nomem(err);
	pfd[0] = (struct pollfd){ .fd = w->fan_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
	for (;;) {
		bool overflow = false, full = false;
		int timeout = -1, pidfd;
		ssize_t n;

		if (w->n_pend) {
			long left = (long)w->settle_ms - ms_since(&w->first);

			timeout = left > 0 ? (int)left : 0;
		}
		if (poll(pfd, stop_fd >= 0 ? 2 : 1, timeout) < 0) {
			if (errno == EINTR)
				continue;
			r = hm_error_set(err, HM_ERR_IO, errno, "poll");
			break;
		}
		if (stop_fd >= 0 && (pfd[1].revents & POLLIN))
			break;
		/* Drain what is queued, so a burst is seen whole. */
		while ((n = read(w->fan_fd, buf, sizeof(buf))) > 0) {
			struct fanotify_event_metadata mbuf, *m = &mbuf;
			size_t left = (size_t)n, off = 0;

			w->last_fh_len = 0;

			/* Records are packed to 4 bytes, the metadata wants 8
			 * (its mask is a u64): each is copied out before use. */
			for (; left >= sizeof(mbuf); off += m->event_len, left -= m->event_len) {
				memcpy(&mbuf, buf + off, sizeof(mbuf));
				if (m->event_len < sizeof(mbuf) || m->event_len > left)
					break;
				if (m->vers != FANOTIFY_METADATA_VERSION) {
					r = hm_error_set(err, HM_ERR_IO, 0,
							 "fanotify metadata version %u, expected %u",
							 m->vers, FANOTIFY_METADATA_VERSION);
					goto out;
				}
				if (m->mask & FAN_Q_OVERFLOW) {
					overflow = true;
					continue;
				}
				pidfd = event_pidfd(m, buf + off);
				/* Our own reads make no events (no access
				 * events in this class); anything else of
				 * ours is not the host's drift. */
				if (m->pid != w->self && !overflow && !full)
					r = take_event(w, m, buf + off, pidfd, host, err);
				if (pidfd >= 0)
					close(pidfd);
				if (r < 0)
					goto out;
				if (r == 1)
					full = true;
				r = 0;
			}
			if (overflow || full)
				continue;   /* keep draining; the scan covers it */
			if (w->n_pend && ms_since(&w->first) >= (long)w->settle_ms)
				break;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			r = hm_error_set(err, HM_ERR_IO, errno, "cannot read fanotify events");
			break;
		}
		cause_unref(w->last_cause);
		w->last_cause = NULL;
		if (overflow || full) {
			if ((r = hm_watch_full_scan(w, overflow ? HM_WATCH_SCAN_OVERFLOW :
						    HM_WATCH_SCAN_BURST, cb, err)) < 0)
				break;
			continue;
		}
		if (w->n_pend && ms_since(&w->first) >= (long)w->settle_ms &&
		    (r = check_pending(w, cb, err)) < 0)
			break;
	}
out:
	free(host);
	return r;
}
