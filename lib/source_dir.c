/*
 * The live-directory source: a race-safe, parallel, streaming scanner.
 *
 * Order and memory.  One walker thread goes depth-first through the tree,
 * reading each directory's names whole and sorting them with strcmp (for
 * the children of one directory that is the canonical order, names having
 * no '/'), so its pre-order walk produces paths in hm_path_cmp order.  Each
 * entry takes the next slot of a fixed ring; regular files become tasks
 * that open, hash and re-check them, everything else is complete when the
 * walker publishes it.  The consumer takes slots strictly in ring order, so
 * files are hashed in parallel while the stream stays sorted.  With
 * opt->threads = N there are N-1 worker threads, and the consumer's own
 * thread is the N-th hasher: when its head slot is not ready it runs the
 * oldest pending task instead of sleeping, because on a 2-core machine a
 * wake-up per small file costs more than hashing it.  Memory is bounded by
 * the ring and by the name lists of the directories on the current path,
 * never by the number of files (hard-linked inodes are the one table that
 * grows, and an inode leaves it once all its links were seen).
 *
 * Safety.  Nothing is looked up through a path string: the walker holds one
 * fd per directory level and opens everything relative to it with
 * O_NOFOLLOW, so paths longer than PATH_MAX work and a symlink swapped in
 * mid-scan is never followed.  Only regular files and directories are ever
 * opened (O_NONBLOCK too, so even a FIFO swapped in cannot block us), never
 * FIFOs, sockets or devices.  After each open the fd is fstat()ed and
 * compared with the fstatat() that decided the type: an object replaced in
 * between is reported as it was first seen, flagged HM_ENTRY_CHANGED with
 * "replaced during the scan", and neither hashed nor descended (a replaced
 * directory is also HM_ENTRY_UNREADABLE: its children are unknown).  Files
 * are checked again after hashing (size, mtime, ctime, ino, bytes read), so
 * content that moved under us is flagged, never trusted.
 *
 * Mount points.  st_dev alone does not see a bind mount of the same file
 * system, and a bind mount over /etc would hide what lies beneath it, so
 * every entry is asked with statx whether it is the root of a mount
 * (STATX_ATTR_MOUNT_ROOT, Linux 5.8), else its mount id is compared with
 * its directory's (statx, or name_to_handle_at on older kernels), and a
 * directory on another st_dev counts too, as before.  Mount roots, files
 * mounted over files included, are yielded flagged and never opened.
 *
 * Contents nobody uses.  With a digest query (hm_source_set_digest_query)
 * the consumer is asked, when it reaches a file whose hash is not done,
 * whether it will use the digest; if not, the file is not read, or no
 * further if a worker had started.  Files larger than DEFER_BYTES are not
 * even hashed ahead: they wait for that answer, so a huge file added under
 * /home is never opened, while small files keep being hashed in parallel
 * ahead of the consumer (reading one that turns out unneeded costs little).
 *
 * The filter callbacks run on the walker thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/limits.h"
#include "hallmark/source.h"

/* Slots between the walker and the consumer: a power of two. */
#define RING_SLOTS 4096u
#define RING_MASK (RING_SLOTS - 1)
/* Per-worker read size: large enough to amortise syscalls. */
#define HASH_CHUNK (256u * 1024)
#define DENTS_BYTES (64u * 1024)
/* The kernel's own cap on one listxattr answer (XATTR_LIST_MAX). */
#define XATTR_LIST_BYTES (64u * 1024)
/* Descriptors left to the rest of the process. */
#define FD_RESERVE 64u
#define MAX_THREADS 256u
/* Returned inside the walker when free() asked it to stop. */
#define WALK_STOPPED 1
/* With a digest query, larger files are hashed only once the consumer
 * said it needs them. */
#define DEFER_BYTES (32ull << 20)

/* An open directory, shared by the walker's level and the file tasks in it. */
struct dnode {
	int fd;
	unsigned refs;          /* under dir_source.lock */
	uint64_t mnt_id;        /* the mount it is on, if mnt_known */
	bool mnt_known;
};

/* A hard-linked inode: hashed once, the result shared by its other links. */
struct hlink {
	struct hlink *next;
	dev_t dev;
	ino_t ino;
	nlink_t expected;       /* st_nlink when first seen */
	nlink_t seen;           /* links the walker found */
	unsigned refs;          /* slots not yet consumed that point here */
	bool resolved;          /* the first link's outcome is below */
	bool declined;          /* ... and it was not hashed: not needed */
	unsigned flags;
	unsigned char sha256[HM_SHA256_LEN];
	char *note;
};

enum slot_state { SLOT_FREE, SLOT_PENDING, SLOT_DONE };

struct slot {
	struct hm_entry e;
	enum slot_state state;  /* under dir_source.lock */
	struct dnode *dn;       /* file tasks and later links: where the name is */
	struct stat st;         /* what fstatat saw */
	struct hlink *link;
	bool link_first;
	bool deferred;          /* a task not queued until the consumer asks */
	bool asked;             /* the consumer's digest query was asked */
	atomic_bool cancel;     /* ... and said no: do not read the content */
	int err;                /* HM_ERR_NOMEM from a worker */
};

/* Scratch space for xattrs, one per thread that reads them. */
struct xbuf {
	char list[XATTR_LIST_BYTES];
	unsigned char val[HM_LIMIT_XATTR_VALUE_BYTES];
	char proc[64 + 256];
};

struct worker {
	struct dir_source *src;
	pthread_t tid;
	struct hm_hash *hash;
	unsigned char *buf;
	struct xbuf *xb;
};

/* A directory on the walker's current path and its sorted names. */
struct level {
	struct dnode *dn;
	char *names;            /* records: d_type byte, name, NUL */
	size_t names_len, names_cap;
	size_t *offs;
	size_t n, offs_cap, i;
	size_t path_len;        /* its path in walker path ("" for the root) */
};

struct dir_source {
	struct hm_source base;
	struct hm_source_filter filter;
	struct hm_digest_query query;   /* under lock; set by the consumer */
	bool no_statx;          /* walker: the kernel has no statx */
	char *root_name;        /* for messages */
	dev_t root_dev;
	struct stat root_st;
	uid_t euid;
	unsigned nthreads;

	pthread_mutex_t lock;
	pthread_cond_t cond_walker, cond_worker, cond_cons;
	struct slot *slots;
	uint64_t head, tail;    /* released by the consumer / published */
	uint32_t *work;         /* slot indices of file tasks, in order */
	uint64_t work_head, work_tail;
	atomic_bool stop;
	bool walk_done, walker_waiting, cons_waiting;
	unsigned idle_workers;
	uint32_t cons_wait_slot;
	unsigned open_dirs, dir_budget;
	int walk_code;
	struct hm_error walk_err;

	/* Consumer side. */
	uint64_t cons_pos, ready_end;
	bool have_current, finished;
	int final_code;
	struct hm_error final_err;

	/* Walker side. */
	pthread_t walker;
	bool walker_started;
	struct level *levels;
	size_t depth, levels_cap;
	struct hm_buf path;
	unsigned known_free;    /* slots surely free, without asking */
	char *dents;
	char *target;
	struct xbuf *xb;

	/* Hard links, under link_lock (walker and consumer). */
	pthread_mutex_t link_lock;
	struct hlink **lbuckets;
	size_t lcap, lcount;

	/* workers[0] is used by the consumer thread, 1..nworkers by threads. */
	struct worker *workers;
	unsigned nworkers;
};

static const char *errstr(int e, char *buf, size_t len)
{
	return strerror_r(e, buf, len);
}

/* Flag a per-entry problem; the first note wins (it names the cause). */
static int flag_note(struct hm_entry *e, unsigned f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int flag_note(struct hm_entry *e, unsigned f, const char *fmt, ...)
{
	char note[512];
	va_list ap;

	e->flags |= f;
	if (e->note)
		return 0;
	va_start(ap, fmt);
	vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
	return hm_entry_set_note(e, note);
}

static int flag_errno(struct hm_entry *e, unsigned f, const char *what, int e_no)
{
	char eb[128];

	if (e_no == ENOMEM)
		return HM_ERR_NOMEM;
	if (what)
		return flag_note(e, f, "%s: %s", what, errstr(e_no, eb, sizeof(eb)));
	return flag_note(e, f, "%s", errstr(e_no, eb, sizeof(eb)));
}

static void fill_stat(struct hm_entry *e, const struct stat *st)
{
	e->type = hm_type_from_st_mode(st->st_mode);
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	if (e->type == HM_TYPE_FILE)
		e->size = (uint64_t)st->st_size;
	if (e->type == HM_TYPE_CHAR || e->type == HM_TYPE_BLOCK) {
		e->rdev_major = major(st->st_rdev);
		e->rdev_minor = minor(st->st_rdev);
	}
}

static bool same_object(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT);
}

/* --- mount points -------------------------------------------------------- */

static void statx_to_stat(const struct statx *x, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(x->stx_dev_major, x->stx_dev_minor);
	st->st_ino = (ino_t)x->stx_ino;
	st->st_mode = x->stx_mode;
	st->st_nlink = x->stx_nlink;
	st->st_uid = x->stx_uid;
	st->st_gid = x->stx_gid;
	st->st_rdev = makedev(x->stx_rdev_major, x->stx_rdev_minor);
	st->st_size = (off_t)x->stx_size;
	st->st_blksize = (blksize_t)x->stx_blksize;
	st->st_blocks = (blkcnt_t)x->stx_blocks;
	st->st_atim.tv_sec = x->stx_atime.tv_sec;
	st->st_atim.tv_nsec = x->stx_atime.tv_nsec;
	st->st_mtim.tv_sec = x->stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = x->stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = x->stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = x->stx_ctime.tv_nsec;
}

/* The mount id of name in dfd ("" with AT_EMPTY_PATH: dfd itself) for
 * kernels without statx's: 0, or -1 if the file system cannot say. */
static int handle_mnt_id(int dfd, const char *name, int flags, uint64_t *ret)
{
	union {
		struct file_handle fh;
		char space[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	int id;

	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(dfd, name, &h.fh, &id, flags) < 0)
		return -1;
	*ret = (uint64_t)id;
	return 0;
}

/*
 * fstatat, and whether the object is the root of a mount that is not the
 * one of the directory dn (on = dn's mount).  The kernel's own answer
 * first: STATX_ATTR_MOUNT_ROOT where it reports it; else the mount id
 * (statx's, or name_to_handle_at's).  Callers add the st_dev test for
 * directories.  -1 with errno as fstatat.
 */
static int stat_mount(struct dir_source *s, const struct dnode *on, int dfd,
		      const char *name, int flags, struct stat *st,
		      bool *ret_mount, uint64_t *ret_mnt_id, bool *ret_known)
{
	struct statx sx;
	uint64_t id;

	*ret_mount = *ret_known = false;
	if (!s->no_statx) {
		if (statx(dfd, name, flags | AT_NO_AUTOMOUNT,
			  STATX_BASIC_STATS | STATX_MNT_ID, &sx) == 0) {
			statx_to_stat(&sx, st);
			if (sx.stx_mask & STATX_MNT_ID) {
				*ret_known = true;
				*ret_mnt_id = sx.stx_mnt_id;
			}
			if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
				*ret_mount = sx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
			else if (*ret_known && on && on->mnt_known)
				*ret_mount = sx.stx_mnt_id != on->mnt_id;
			else if (!*ret_known)
				goto by_handle;  /* glibc's emulation (old kernel) */
			return 0;
		}
		if (errno != ENOSYS)
			return -1;
		s->no_statx = true;
	}
	if ((flags & AT_EMPTY_PATH ? fstat(dfd, st) :
	     fstatat(dfd, name, st, flags)) < 0)
		return -1;
by_handle:
	if (handle_mnt_id(dfd, name, flags & AT_EMPTY_PATH, &id) == 0) {
		*ret_known = true;
		*ret_mnt_id = id;
		if (on && on->mnt_known)
			*ret_mount = id != on->mnt_id;
	}
	return 0;
}

static void drop_xattrs(struct hm_entry *e)
{
	size_t i;

	for (i = 0; i < e->n_xattrs; i++) {
		free(e->xattrs[i].name);
		free(e->xattrs[i].value);
	}
	free(e->xattrs);
	e->xattrs = NULL;
	e->n_xattrs = 0;
}

/*
 * The kernel allocates as much as it is offered for one listxattr or
 * getxattr answer (and zeroes it for getxattr): 64 KiB of pages for every
 * file, though nearly all have no xattrs or a few short ones.  So each is
 * asked with a small buffer first, and again with the whole one only on
 * ERANGE; the second answer is the one that counts, as before.
 */
#define XATTR_TRY_BYTES 1024u

static ssize_t list_names(int fd, const char *lpath, char *buf, size_t len)
{
	return fd >= 0 ? flistxattr(fd, buf, len) : llistxattr(lpath, buf, len);
}

static ssize_t get_value(int fd, const char *lpath, const char *name,
			 void *buf, size_t len)
{
	return fd >= 0 ? fgetxattr(fd, name, buf, len) :
			 lgetxattr(lpath, name, buf, len);
}

/*
 * All xattrs of an object, through fd when it is open, else through lpath
 * (a /proc/self/fd/DIRFD/NAME path) without following a final symlink.
 * Too many or too large is a flag with a note, and then none are kept, so a
 * partial list is never mistaken for the whole.
 */
static int read_xattrs(struct hm_entry *e, int fd, const char *lpath,
		       struct xbuf *xb)
{
	size_t count = 0, total = 0;
	const char *name, *end;
	ssize_t n;
	int r = 0;

	n = list_names(fd, lpath, xb->list, XATTR_TRY_BYTES);
	if (n < 0 && errno == ERANGE)
		n = list_names(fd, lpath, xb->list, sizeof(xb->list));
	if (n < 0) {
		if (errno == ENOTSUP)  /* == EOPNOTSUPP: no xattrs here */
			return 0;
		if (errno == ERANGE)
			return flag_note(e, HM_ENTRY_UNREADABLE,
					 "xattr names exceed %u bytes",
					 XATTR_LIST_BYTES);
		return flag_errno(e, HM_ENTRY_UNREADABLE, "cannot list xattrs",
				  errno);
	}
	for (name = xb->list, end = xb->list + n; name < end;
	     name += strlen(name) + 1) {
		size_t len = strnlen(name, (size_t)(end - name));
		ssize_t v;

		if (len == (size_t)(end - name))
			break;  /* not NUL-terminated: the kernel never does that */
		if (len == 0)
			continue;
		if (++count > HM_LIMIT_XATTRS) {
			r = flag_note(e, HM_ENTRY_UNREADABLE,
				      "more than %u xattrs", HM_LIMIT_XATTRS);
			goto drop;
		}
		if (len > HM_LIMIT_XATTR_NAME_BYTES) {
			r = flag_note(e, HM_ENTRY_UNREADABLE,
				      "xattr name longer than %u bytes",
				      HM_LIMIT_XATTR_NAME_BYTES);
			goto drop;
		}
		v = get_value(fd, lpath, name, xb->val, XATTR_TRY_BYTES);
		if (v < 0 && errno == ERANGE)
			v = get_value(fd, lpath, name, xb->val, sizeof(xb->val));
		if (v < 0) {
			if (errno == ENODATA)
				continue;  /* removed since listed: not there now */
			if (errno == ERANGE || errno == E2BIG)
				r = flag_note(e, HM_ENTRY_UNREADABLE,
					      "xattr '%s' is larger than %u bytes",
					      name, HM_LIMIT_XATTR_VALUE_BYTES);
			else
				r = flag_errno(e, HM_ENTRY_UNREADABLE,
					       "cannot read xattrs", errno);
			goto drop;
		}
		total += (size_t)v;
		if (total > HM_LIMIT_XATTR_TOTAL_BYTES) {
			r = flag_note(e, HM_ENTRY_UNREADABLE,
				      "xattr values exceed %u bytes",
				      HM_LIMIT_XATTR_TOTAL_BYTES);
			goto drop;
		}
		if (hm_entry_add_xattr(e, name, xb->val, (size_t)v) < 0)
			return HM_ERR_NOMEM;
	}
	if (hm_entry_sort_xattrs(e) < 0) {
		r = flag_note(e, HM_ENTRY_UNREADABLE, "duplicate xattr names");
		goto drop;
	}
	return 0;
drop:
	drop_xattrs(e);
	return r;
}

static int read_xattrs_at(struct hm_entry *e, int dfd, const char *name,
			  struct xbuf *xb)
{
	snprintf(xb->proc, sizeof(xb->proc), "/proc/self/fd/%d/%s", dfd, name);
	return read_xattrs(e, -1, xb->proc, xb);
}

/* --- directory nodes ----------------------------------------------------- */

static struct dnode *dnode_new(struct dir_source *s, int fd)
{
	struct dnode *dn = malloc(sizeof(*dn));

	if (!dn)
		return NULL;
	dn->fd = fd;
	dn->refs = 1;
	dn->mnt_known = false;
	dn->mnt_id = 0;
	pthread_mutex_lock(&s->lock);
	s->open_dirs++;
	pthread_mutex_unlock(&s->lock);
	return dn;
}

/* Drop a reference with s->lock held; returns the node to close, if last. */
static struct dnode *dnode_unref_locked(struct dir_source *s, struct dnode *dn)
{
	if (--dn->refs > 0)
		return NULL;
	s->open_dirs--;
	if (s->walker_waiting)
		pthread_cond_signal(&s->cond_walker);
	return dn;
}

static void dnode_close(struct dnode *dn)
{
	if (!dn)
		return;
	close(dn->fd);
	free(dn);
}

static void dnode_put(struct dir_source *s, struct dnode *dn)
{
	pthread_mutex_lock(&s->lock);
	dn = dnode_unref_locked(s, dn);
	pthread_mutex_unlock(&s->lock);
	dnode_close(dn);
}

/* --- hard links ---------------------------------------------------------- */

static size_t link_hash(dev_t dev, ino_t ino, size_t cap)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ino;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (size_t)h & (cap - 1);
}

static int link_grow(struct dir_source *s)
{
	size_t ncap = s->lcap ? 2 * s->lcap : 256, i;
	struct hlink **nb = calloc(ncap, sizeof(*nb));

	if (!nb)
		return HM_ERR_NOMEM;
	for (i = 0; i < s->lcap; i++) {
		struct hlink *l = s->lbuckets[i], *next;

		for (; l; l = next) {
			size_t h = link_hash(l->dev, l->ino, ncap);

			next = l->next;
			l->next = nb[h];
			nb[h] = l;
		}
	}
	free(s->lbuckets);
	s->lbuckets = nb;
	s->lcap = ncap;
	return 0;
}

/* The walker met a file with st_nlink > 1: is it the first of its links? */
static int link_lookup(struct dir_source *s, const struct stat *st,
		       struct hlink **ret, bool *ret_first)
{
	struct hlink *l;
	int r = 0;

	pthread_mutex_lock(&s->link_lock);
	if (s->lcap) {
		for (l = s->lbuckets[link_hash(st->st_dev, st->st_ino, s->lcap)];
		     l; l = l->next)
			if (l->dev == st->st_dev && l->ino == st->st_ino) {
				l->seen++;
				l->refs++;
				*ret = l;
				*ret_first = false;
				goto out;
			}
	}
	if (s->lcount >= s->lcap && (r = link_grow(s)) < 0)
		goto out;
	l = calloc(1, sizeof(*l));
	if (!l) {
		r = HM_ERR_NOMEM;
		goto out;
	}
	l->dev = st->st_dev;
	l->ino = st->st_ino;
	l->expected = st->st_nlink;
	l->seen = 1;
	l->refs = 1;
	l->next = s->lbuckets[link_hash(l->dev, l->ino, s->lcap)];
	s->lbuckets[link_hash(l->dev, l->ino, s->lcap)] = l;
	s->lcount++;
	*ret = l;
	*ret_first = true;
out:
	pthread_mutex_unlock(&s->link_lock);
	return r;
}

static void link_remove_locked(struct dir_source *s, struct hlink *l)
{
	struct hlink **pp = &s->lbuckets[link_hash(l->dev, l->ino, s->lcap)];

	while (*pp != l)
		pp = &(*pp)->next;
	*pp = l->next;
	s->lcount--;
	free(l->note);
	free(l);
}

static int hash_file(struct dir_source *s, struct worker *w, struct slot *sl);

static int link_record(struct hlink *l, const struct slot *sl)
{
	const unsigned keep = HM_ENTRY_HAS_DIGEST | HM_ENTRY_UNREADABLE |
			      HM_ENTRY_CHANGED;
	const struct hm_entry *e = &sl->e;

	l->resolved = true;
	l->declined = atomic_load(&sl->cancel) &&
		      !(e->flags & HM_ENTRY_HAS_DIGEST);
	l->flags = e->flags & keep;
	memcpy(l->sha256, e->sha256, HM_SHA256_LEN);
	free(l->note);
	l->note = NULL;
	if (e->note && !(l->note = strdup(e->note)))
		return HM_ERR_NOMEM;
	return 0;
}

/*
 * A later link of a file whose first link the consumer did not need: ask
 * again for this path, and hash it here if it is needed now (rare: hard
 * links across an added and a compared path).
 */
static int link_rehash(struct dir_source *s, struct slot *sl,
		       struct hm_error *err)
{
	struct hm_digest_query q;
	int r;

	pthread_mutex_lock(&s->lock);
	q = s->query;
	pthread_mutex_unlock(&s->lock);
	r = q.need ? q.need(q.ctx, sl->e.path, sl->e.path_len, sl->e.size,
			    err) : 1;
	if (r <= 0) {
		if (r == 0)
			atomic_store(&sl->cancel, true);
		return r;
	}
	/* hash_file reads the xattrs again, through the file. */
	drop_xattrs(&sl->e);
	if (hash_file(s, &s->workers[0], sl) < 0)
		return hm_error_nomem(err);
	return 1;
}

/*
 * On the consumer side, in stream order: the first link records its
 * outcome, later links (always after it in the stream) take it over.
 */
static int link_resolve(struct dir_source *s, struct slot *sl,
			struct hm_error *err)
{
	struct hlink *l = sl->link;
	struct hm_entry *e = &sl->e;
	bool redo;
	int r = 0;

	pthread_mutex_lock(&s->link_lock);
	redo = !sl->link_first && l->resolved && l->declined;
	pthread_mutex_unlock(&s->link_lock);
	if (redo && (r = link_rehash(s, sl, err)) < 0)
		return r;

	pthread_mutex_lock(&s->link_lock);
	if (sl->link_first || (redo && r == 1)) {
		r = link_record(l, sl);
	} else if (redo) {
		r = 0;       /* not hashed either: nothing to take over */
	} else if (l->resolved) {
		e->flags |= l->flags;
		memcpy(e->sha256, l->sha256, HM_SHA256_LEN);
		if (l->note && hm_entry_set_note(e, l->note) < 0)
			r = HM_ERR_NOMEM;
	}
	sl->link = NULL;
	if (--l->refs == 0 && l->seen >= l->expected)
		link_remove_locked(s, l);
	pthread_mutex_unlock(&s->link_lock);
	return r < 0 ? hm_error_nomem(err) : 0;
}

/* --- the ring, walker side ----------------------------------------------- */

/* A free slot at the tail; NULL when free() asked us to stop. */
static struct slot *slot_get(struct dir_source *s)
{
	struct slot *sl;

	if (s->known_free == 0) {
		pthread_mutex_lock(&s->lock);
		while (!s->stop && s->tail - s->head >= RING_SLOTS) {
			s->walker_waiting = true;
			pthread_cond_wait(&s->cond_walker, &s->lock);
			s->walker_waiting = false;
		}
		s->known_free = RING_SLOTS - (unsigned)(s->tail - s->head);
		pthread_mutex_unlock(&s->lock);
	}
	if (s->stop)
		return NULL;
	sl = &s->slots[s->tail & RING_MASK];
	/* The consumer cleared the entry; the rest is from the last lap. */
	sl->dn = NULL;
	sl->link = NULL;
	sl->link_first = false;
	sl->deferred = false;
	sl->asked = false;
	atomic_store_explicit(&sl->cancel, false, memory_order_relaxed);
	sl->err = 0;
	return sl;
}

enum publish {
	PUB_DONE,       /* complete as it is */
	PUB_TASK,       /* a file to hash: sl->dn is where its name is */
	PUB_HOLD,       /* complete, but keeps sl->dn (a later hard link) */
};

/* Hand the tail slot on: to the workers (a file task) or to the consumer. */
static int slot_publish(struct dir_source *s, struct slot *sl, enum publish how)
{
	uint64_t idx;
	bool stop;

	pthread_mutex_lock(&s->lock);
	idx = s->tail++;
	if (how == PUB_TASK && s->query.need &&
	    (uint64_t)sl->st.st_size > DEFER_BYTES) {
		/* Hashed only if the consumer says it needs the digest. */
		sl->state = SLOT_PENDING;
		sl->deferred = true;
		sl->dn->refs++;
		if (s->cons_waiting && s->cons_wait_slot == (idx & RING_MASK))
			pthread_cond_signal(&s->cond_cons);
	} else if (how == PUB_TASK) {
		sl->state = SLOT_PENDING;
		sl->dn->refs++;
		s->work[s->work_tail++ & RING_MASK] = (uint32_t)(idx & RING_MASK);
		/* A waiting consumer hashes too: it may be the only hasher. */
		if (s->cons_waiting)
			pthread_cond_signal(&s->cond_cons);
		else if (s->idle_workers)
			pthread_cond_signal(&s->cond_worker);
	} else {
		if (how == PUB_HOLD)
			sl->dn->refs++;
		sl->state = SLOT_DONE;
		if (s->cons_waiting && s->cons_wait_slot == (idx & RING_MASK))
			pthread_cond_signal(&s->cond_cons);
	}
	s->known_free = RING_SLOTS - (unsigned)(s->tail - s->head);
	stop = s->stop;
	pthread_mutex_unlock(&s->lock);
	return stop ? WALK_STOPPED : 0;
}

/* --- the walker ---------------------------------------------------------- */

static int name_cmp(const void *a, const void *b, void *base)
{
	return strcmp((const char *)base + *(const size_t *)a + 1,
		      (const char *)base + *(const size_t *)b + 1);
}

static const char *shown_path(const struct dir_source *s)
{
	return s->path.len ? s->path.data : "/";
}

/*
 * Read all names of the directory open at fd into L, sorted.  A failing
 * getdents is a per-entry problem (*ret_errno); too many names or no
 * memory is an error.
 */
static int read_names(struct dir_source *s, int fd, struct level *L,
		      int *ret_errno, struct hm_error *err)
{
	*ret_errno = 0;
	L->n = L->i = L->names_len = 0;
	for (;;) {
		ssize_t n = getdents64(fd, s->dents, DENTS_BYTES), pos;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOMEM)
				return hm_error_nomem(err);
			*ret_errno = errno;
			return 0;
		}
		if (n == 0)
			break;
		for (pos = 0; pos < n;) {
			struct dirent64 *d = (struct dirent64 *)(s->dents + pos);
			size_t len = strlen(d->d_name);

			pos += d->d_reclen;
			if (d->d_name[0] == '.' && (len == 1 ||
			    (len == 2 && d->d_name[1] == '.')))
				continue;
			if (L->n >= HM_LIMIT_DIR_ENTRIES)
				return hm_error_set(err, HM_ERR_LIMIT, 0,
						    "directory '%s%s' has more than %u entries",
						    s->root_name, shown_path(s),
						    HM_LIMIT_DIR_ENTRIES);
			if (L->names_len + len + 2 > L->names_cap) {
				size_t ncap = L->names_cap ? 2 * L->names_cap : 4096;
				char *nn;

				while (ncap < L->names_len + len + 2)
					ncap *= 2;
				if (!(nn = realloc(L->names, ncap)))
					return hm_error_nomem(err);
				L->names = nn;
				L->names_cap = ncap;
			}
			if (L->n == L->offs_cap) {
				size_t ncap = L->offs_cap ? 2 * L->offs_cap : 256;
				size_t *no = realloc(L->offs, ncap * sizeof(*no));

				if (!no)
					return hm_error_nomem(err);
				L->offs = no;
				L->offs_cap = ncap;
			}
			L->offs[L->n++] = L->names_len;
			L->names[L->names_len] = (char)d->d_type;
			memcpy(L->names + L->names_len + 1, d->d_name, len + 1);
			L->names_len += len + 2;
		}
	}
	if (L->n > 1)
		qsort_r(L->offs, L->n, sizeof(*L->offs), name_cmp, L->names);
	return 0;
}

/* Make room for one more level; its buffers are kept for reuse. */
static struct level *level_push(struct dir_source *s, struct hm_error *err)
{
	if (s->depth == s->levels_cap) {
		size_t ncap = s->levels_cap ? 2 * s->levels_cap : 16;
		struct level *nl = realloc(s->levels, ncap * sizeof(*nl));

		if (!nl) {
			hm_error_nomem(err);
			return NULL;
		}
		memset(nl + s->levels_cap, 0,
		       (ncap - s->levels_cap) * sizeof(*nl));
		s->levels = nl;
		s->levels_cap = ncap;
	}
	return &s->levels[s->depth];
}

static void level_pop(struct dir_source *s)
{
	struct level *L = &s->levels[--s->depth];

	if (L->dn)
		dnode_put(s, L->dn);
	L->dn = NULL;
	/* Do not let one huge directory pin its name list for the rest of
	 * the scan. */
	if (L->names_cap > (1u << 20)) {
		free(L->names);
		free(L->offs);
		L->names = NULL;
		L->offs = NULL;
		L->names_cap = L->offs_cap = 0;
	}
}

/*
 * Open a directory fd into *ret_fd (-1 with errno on a per-entry failure),
 * first waiting while file tasks hold too many directory fds.
 */
static int open_dir(struct dir_source *s, int dfd, const char *name,
		    int *ret_fd, struct hm_error *err)
{
	*ret_fd = -1;
	pthread_mutex_lock(&s->lock);
	while (!s->stop && s->open_dirs >= s->dir_budget &&
	       s->open_dirs > s->depth) {
		s->walker_waiting = true;
		pthread_cond_wait(&s->cond_walker, &s->lock);
		s->walker_waiting = false;
	}
	if (s->open_dirs >= s->dir_budget && !s->stop) {
		pthread_mutex_unlock(&s->lock);
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "'%s%s' is too deep for the open file limit",
				    s->root_name, shown_path(s));
	}
	pthread_mutex_unlock(&s->lock);
	if (s->stop)
		return WALK_STOPPED;
	*ret_fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			 O_CLOEXEC | O_NONBLOCK);
	return 0;
}

/*
 * Everything about a directory before it is published: identity check,
 * xattrs, and its names unless its subtree is skipped.  On success with a
 * level to descend into, *ret_fd is its fd.
 */
static int dir_prepare(struct dir_source *s, struct slot *sl, int dfd,
		       const char *name, bool skip, int *ret_fd,
		       struct hm_error *err)
{
	struct hm_entry *e = &sl->e;
	struct level *L;
	struct stat st;
	bool mount, mnt_known;
	uint64_t mnt_id;
	int fd, r, e_no;

	*ret_fd = -1;
	if ((r = open_dir(s, dfd, name, &fd, err)) != 0)
		return r;
	if (fd < 0) {
		if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
			return flag_note(e, HM_ENTRY_CHANGED | HM_ENTRY_UNREADABLE,
					 "replaced during the scan");
		if (errno == EMFILE || errno == ENFILE)
			return hm_error_set(err, HM_ERR_IO, errno,
					    "cannot open directory '%s%s'",
					    s->root_name, shown_path(s));
		return flag_errno(e, HM_ENTRY_UNREADABLE, NULL, errno);
	}
	/* Mounted on since it was looked at: opened is the mount's root. */
	if (stat_mount(s, s->levels[s->depth - 1].dn, fd, "", AT_EMPTY_PATH,
		       &st, &mount, &mnt_id, &mnt_known) < 0) {
		r = flag_errno(e, HM_ENTRY_UNREADABLE, NULL, errno);
		goto fail;
	}
	if (!same_object(&st, &sl->st) || mount) {
		r = flag_note(e, HM_ENTRY_CHANGED | HM_ENTRY_UNREADABLE,
			      "replaced during the scan");
		goto fail;
	}
	fill_stat(e, &st);
	if ((r = read_xattrs(e, fd, NULL, s->xb)) < 0 || skip)
		goto fail;
	if (!(L = level_push(s, err))) {
		r = err->code;
		goto fail;
	}
	if ((r = read_names(s, fd, L, &e_no, err)) < 0)
		goto fail;
	if (e_no) {
		r = flag_errno(e, HM_ENTRY_UNREADABLE, NULL, e_no);
		goto fail;
	}
	*ret_fd = fd;
	return 0;
fail:
	close(fd);
	return r;
}

static int push_level(struct dir_source *s, int fd, struct hm_error *err)
{
	struct level *L = &s->levels[s->depth];

	if (!(L->dn = dnode_new(s, fd))) {
		close(fd);
		return hm_error_nomem(err);
	}
	/* Not a mount root: on its parent's mount.  The root's is set by
	 * hm_source_dir_open. */
	if (s->depth > 0) {
		L->dn->mnt_known = s->levels[s->depth - 1].dn->mnt_known;
		L->dn->mnt_id = s->levels[s->depth - 1].dn->mnt_id;
	}
	L->path_len = s->path.len;
	s->depth++;
	return 0;
}

static bool skip_subtree(struct dir_source *s)
{
	return s->filter.skip_subtree &&
	       s->filter.skip_subtree(s->filter.ctx, shown_path(s),
				      s->path.len ? s->path.len : 1);
}

static enum hm_type dtype_to_type(unsigned char t)
{
	switch (t) {
	case DT_REG: return HM_TYPE_FILE;
	case DT_DIR: return HM_TYPE_DIR;
	case DT_LNK: return HM_TYPE_SYMLINK;
	case DT_CHR: return HM_TYPE_CHAR;
	case DT_BLK: return HM_TYPE_BLOCK;
	case DT_FIFO: return HM_TYPE_FIFO;
	case DT_SOCK: return HM_TYPE_SOCKET;
	default: return HM_TYPE_NONE;
	}
}

static int walk_symlink(struct dir_source *s, struct hm_entry *e, int dfd,
			const char *name)
{
	/* By name: a symlink cannot be opened without O_PATH tricks, and a
	 * target read here is only ever reported, never followed. */
	ssize_t n = readlinkat(dfd, name, s->target, HM_LIMIT_TARGET_BYTES + 1);

	if (n < 0) {
		if (errno == ENOENT || errno == EINVAL)
			return flag_note(e, HM_ENTRY_CHANGED,
					 "replaced during the scan");
		return flag_errno(e, HM_ENTRY_UNREADABLE, NULL, errno);
	}
	if ((size_t)n > HM_LIMIT_TARGET_BYTES)
		return flag_note(e, HM_ENTRY_UNREADABLE,
				 "symlink target longer than %u bytes",
				 HM_LIMIT_TARGET_BYTES);
	return hm_entry_set_target(e, s->target, (size_t)n);
}

/* One name of the directory at the top of the walker's stack. */
static int walk_child(struct dir_source *s, const char *rec,
		      struct hm_error *err)
{
	struct level *L = &s->levels[s->depth - 1];
	int dfd = L->dn->fd, r, fd;
	const char *name = rec + 1;
	size_t nlen = strlen(name);
	struct hm_entry *e;
	struct slot *sl;
	bool first, mount, mnt_known;
	uint64_t mnt_id;

	s->path.len = L->path_len;
	if (s->path.len + 1 + nlen > HM_LIMIT_PATH_BYTES)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "path '%s%.256s...' is longer than %u bytes",
				    s->root_name, s->path.data,
				    HM_LIMIT_PATH_BYTES);
	if (hm_buf_addc(&s->path, '/') < 0 ||
	    hm_buf_add(&s->path, name, nlen) < 0)
		return hm_error_nomem(err);
	if (s->filter.skip_entry &&
	    s->filter.skip_entry(s->filter.ctx, s->path.data, s->path.len))
		return 0;
	if (!(sl = slot_get(s)))
		return WALK_STOPPED;
	e = &sl->e;
	if (hm_entry_set_path(e, s->path.data, s->path.len) < 0)
		return hm_error_nomem(err);
	if (stat_mount(s, L->dn, dfd, name, AT_SYMLINK_NOFOLLOW, &sl->st,
		       &mount, &mnt_id, &mnt_known) < 0) {
		/* Gone since readdir: not part of the tree any more. */
		if (errno == ENOENT) {
			hm_entry_clear(e);
			return 0;
		}
		e->type = dtype_to_type((unsigned char)rec[0]);
		if ((r = flag_errno(e, HM_ENTRY_UNREADABLE, NULL, errno)) < 0)
			return hm_error_nomem(err);
		return slot_publish(s, sl, PUB_DONE);
	}
	fill_stat(e, &sl->st);
	if (mount || (S_ISDIR(sl->st.st_mode) && sl->st.st_dev != s->root_dev)) {
		/* Attributes are the mounted root's (a directory, or a file
		 * mounted over a file); we do not look in, nor open it. */
		e->flags |= HM_ENTRY_MOUNTPOINT;
		return slot_publish(s, sl, PUB_DONE);
	}
	switch (sl->st.st_mode & S_IFMT) {
	case S_IFREG:
		sl->dn = L->dn;
		if (sl->st.st_nlink > 1) {
			if (link_lookup(s, &sl->st, &sl->link, &first) < 0)
				return hm_error_nomem(err);
			sl->link_first = first;
			/* xattrs belong to the inode, but each link is its own
			 * entry: read them here, the digest comes from the first
			 * (or from this one, if the first was not hashed). */
			if (!first) {
				if (read_xattrs_at(e, dfd, name, s->xb) < 0)
					return hm_error_nomem(err);
				return slot_publish(s, sl, PUB_HOLD);
			}
		}
		return slot_publish(s, sl, PUB_TASK);
	case S_IFDIR:
		if (s->depth > HM_LIMIT_DEPTH)
			return hm_error_set(err, HM_ERR_LIMIT, 0,
					    "'%s%.256s...' is deeper than %u directories",
					    s->root_name, s->path.data,
					    HM_LIMIT_DEPTH);
		r = dir_prepare(s, sl, dfd, name, skip_subtree(s), &fd, err);
		if (r)
			return r < 0 && !err->code ? hm_error_nomem(err) : r;
		if ((r = slot_publish(s, sl, PUB_DONE))) {
			if (fd >= 0)
				close(fd);
			return r;
		}
		return fd >= 0 ? push_level(s, fd, err) : 0;
	case S_IFLNK:
		if ((r = walk_symlink(s, e, dfd, name)) < 0)
			return hm_error_nomem(err);
		break;
	default:
		break;
	}
	/* Symlinks, devices, FIFOs, sockets: never opened, xattrs by path. */
	if (read_xattrs_at(e, dfd, name, s->xb) < 0)
		return hm_error_nomem(err);
	return slot_publish(s, sl, PUB_DONE);
}

static int walk_root(struct dir_source *s, struct hm_error *err)
{
	struct level *L = &s->levels[0];
	struct hm_entry *e;
	struct slot *sl;
	int r, e_no;

	s->path.len = 0;
	if (s->filter.skip_entry && s->filter.skip_entry(s->filter.ctx, "/", 1))
		return 0;
	if (!(sl = slot_get(s)))
		return WALK_STOPPED;
	e = &sl->e;
	if (hm_entry_set_path(e, "/", 1) < 0)
		return hm_error_nomem(err);
	fill_stat(e, &s->root_st);
	if (read_xattrs(e, L->dn->fd, NULL, s->xb) < 0)
		return hm_error_nomem(err);
	if (skip_subtree(s)) {
		L->n = 0;
		return slot_publish(s, sl, PUB_DONE);
	}
	if ((r = read_names(s, L->dn->fd, L, &e_no, err)) < 0)
		return r;
	if (e_no)
		return hm_error_set(err, HM_ERR_IO, e_no,
				    "cannot read directory '%s'", s->root_name);
	return slot_publish(s, sl, PUB_DONE);
}

static int walk(struct dir_source *s, struct hm_error *err)
{
	int r = walk_root(s, err);

	while (r == 0 && s->depth > 0) {
		struct level *L = &s->levels[s->depth - 1];

		if (L->i == L->n) {
			level_pop(s);
			continue;
		}
		r = walk_child(s, L->names + L->offs[L->i++], err);
	}
	return r;
}

static void *walker_main(void *arg)
{
	struct dir_source *s = arg;
	struct hm_error err;
	int r;

	hm_error_clear(&err);
	r = walk(s, &err);
	pthread_mutex_lock(&s->lock);
	s->walk_done = true;
	s->walk_code = r < 0 ? r : 0;
	s->walk_err = err;
	if (s->cons_waiting)
		pthread_cond_signal(&s->cond_cons);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* --- the workers --------------------------------------------------------- */

static int open_failed(struct hm_entry *e, int e_no)
{
	/* ENOENT: removed; ELOOP: now a symlink (O_NOFOLLOW). */
	if (e_no == ENOENT || e_no == ELOOP)
		return flag_note(e, HM_ENTRY_CHANGED, "replaced during the scan");
	return flag_errno(e, HM_ENTRY_UNREADABLE, NULL, e_no);
}

static bool stat_changed(const struct stat *a, const struct stat *b)
{
	return a->st_size != b->st_size || a->st_ino != b->st_ino ||
	       a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	       a->st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
	       a->st_ctim.tv_sec != b->st_ctim.tv_sec ||
	       a->st_ctim.tv_nsec != b->st_ctim.tv_nsec;
}

static const unsigned char zero_block[HASH_CHUNK];

/*
 * At *pos, at or past the known data: hash the hole up to the next data as
 * zeros, and set *data_end to the end of that data.  0, 1 if stopped or
 * cancelled, or HM_ERR_NOMEM.  Where SEEK_DATA fails (a file system
 * without it), everything left is data.
 */
static int hash_hole(struct dir_source *s, struct slot *sl, struct worker *w,
		     int fd, uint64_t *pos, uint64_t size, uint64_t *data_end)
{
	off_t d = lseek(fd, (off_t)*pos, SEEK_DATA), h;
	uint64_t hole_end;

	if (d < 0) {
		/* ENXIO: no data after pos, the rest is a hole. */
		hole_end = errno == ENXIO ? size : *pos;
	} else {
		hole_end = (uint64_t)d < size ? (uint64_t)d : size;
	}
	while (*pos < hole_end) {
		size_t n = hole_end - *pos < HASH_CHUNK ?
			   (size_t)(hole_end - *pos) : HASH_CHUNK;

		if (hm_hash_update(w->hash, zero_block, n) < 0)
			return HM_ERR_NOMEM;
		*pos += n;
		if (atomic_load_explicit(&s->stop, memory_order_relaxed) ||
		    atomic_load_explicit(&sl->cancel, memory_order_relaxed))
			return 1;
	}
	if (*pos >= size) {
		*data_end = size;
		return 0;
	}
	h = d < 0 ? -1 : lseek(fd, (off_t)*pos, SEEK_HOLE);
	*data_end = h < 0 || (uint64_t)h > size ? size : (uint64_t)h;
	if (*data_end <= *pos)
		*data_end = size;  /* no progress: read the rest */
	return 0;
}

/* Open, check, hash and re-check one regular file. 0 or HM_ERR_NOMEM. */
static int hash_file(struct dir_source *s, struct worker *w, struct slot *sl)
{
	struct hm_entry *e = &sl->e;
	const char *name = strrchr(e->path, '/') + 1;
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct stat a, b;
	uint64_t total = 0, size, data_end;
	int fd, r = 0;

	/* Not needed: everything but the content, and the file not opened. */
	if (atomic_load(&sl->cancel))
		return read_xattrs_at(e, sl->dn->fd, name, w->xb);
	/* Reading must not write: no atime update where we may ask. */
	if (s->euid == 0 || sl->st.st_uid == s->euid)
		flags |= O_NOATIME;
	fd = openat(sl->dn->fd, name, flags);
	if (fd < 0 && errno == EPERM && (flags & O_NOATIME))
		fd = openat(sl->dn->fd, name, flags & ~O_NOATIME);
	if (fd < 0)
		return open_failed(e, errno);
	/* No fstat here: the walker's fstatat is the "before", and the fstat
	 * after hashing proves the fd is that same object, unchanged.  One
	 * system call less per file, the same guarantee. */
	a = sl->st;
	if ((r = read_xattrs(e, fd, NULL, w->xb)) < 0)
		goto out;
	size = (uint64_t)a.st_size;
	if (size > 4 * HASH_CHUNK)
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((r = hm_hash_reset(w->hash)) < 0)
		goto out;
	/* A file with far fewer blocks than bytes: its holes are hashed
	 * from a zero block, not read (SEEK_DATA).  Every byte still goes
	 * through SHA-256; only the kernel's copying of zeros is saved.  Data
	 * written into a hole meanwhile changes mtime: flagged below. */
	data_end = (uint64_t)a.st_blocks * 512 < size / 2 &&
		   size > 4 * HASH_CHUNK ? 0 : size;
	/* Read st_size bytes, not to EOF: growth shows in the second fstat,
	 * and small files then cost one read instead of two. */
	while (total < size) {
		size_t want;
		ssize_t n;

		if (total >= data_end) {
			if ((r = hash_hole(s, sl, w, fd, &total, size,
					   &data_end)) < 0)
				goto out;
			if (r > 0) {
				r = 0;
				goto out;       /* stopped or cancelled */
			}
			continue;
		}
		want = data_end - total < HASH_CHUNK ?
		       (size_t)(data_end - total) : HASH_CHUNK;
		n = pread(fd, w->buf, want, (off_t)total);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = flag_errno(e, HM_ENTRY_UNREADABLE, NULL, errno);
			goto out;
		}
		if (n == 0)
			break;
		if ((r = hm_hash_update(w->hash, w->buf, (size_t)n)) < 0)
			goto out;
		total += (uint64_t)n;
		/* Stopped, or no longer needed: no digest, no flag. */
		if (atomic_load_explicit(&s->stop, memory_order_relaxed) ||
		    atomic_load_explicit(&sl->cancel, memory_order_relaxed))
			goto out;
	}
	if ((r = hm_hash_final(w->hash, e->sha256)) < 0)
		goto out;
	if (fstat(fd, &b) < 0) {
		r = flag_errno(e, HM_ENTRY_UNREADABLE, NULL, errno);
		goto out;
	}
	if (!same_object(&b, &a))
		r = flag_note(e, HM_ENTRY_CHANGED, "replaced during the scan");
	else if (total != size || stat_changed(&a, &b))
		r = flag_note(e, HM_ENTRY_CHANGED, "changed while being hashed");
	else
		e->flags |= HM_ENTRY_HAS_DIGEST;
out:
	close(fd);
	return r;
}

/*
 * Hash the oldest pending file task; called and returns with s->lock held.
 * Workers loop on it, and the consumer calls it instead of sleeping when
 * its head slot is not ready yet.
 */
static void run_task(struct dir_source *s, struct worker *w)
{
	struct dnode *dn;
	struct slot *sl;
	uint32_t i;
	int r;

	i = s->work[s->work_head++ & RING_MASK];
	pthread_mutex_unlock(&s->lock);

	sl = &s->slots[i];
	r = hash_file(s, w, sl);

	pthread_mutex_lock(&s->lock);
	sl->err = r;
	sl->state = SLOT_DONE;
	dn = dnode_unref_locked(s, sl->dn);
	sl->dn = NULL;
	if (s->cons_waiting && s->cons_wait_slot == i)
		pthread_cond_signal(&s->cond_cons);
	if (dn) {
		pthread_mutex_unlock(&s->lock);
		dnode_close(dn);
		pthread_mutex_lock(&s->lock);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct dir_source *s = w->src;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stop && s->work_head == s->work_tail) {
			s->idle_workers++;
			pthread_cond_wait(&s->cond_worker, &s->lock);
			s->idle_workers--;
		}
		if (s->stop)
			break;
		run_task(s, w);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* --- the consumer -------------------------------------------------------- */

/*
 * The head slot is a file not hashed yet: does the consumer need its
 * digest?  Called and returns with s->lock held, which is dropped while
 * the consumer answers (it may read its own input meanwhile).  A deferred
 * file goes to the front of the queue either way, where this thread takes
 * it next: to hash it, or, declined, only to read its xattrs.
 */
static int ask_need(struct dir_source *s, struct slot *sl, struct hm_error *err)
{
	struct hm_digest_query q = s->query;
	int r = 1;

	sl->asked = true;
	if (q.need) {
		/* Only path and size are read here; a worker hashing this
		 * file writes other fields of the entry. */
		pthread_mutex_unlock(&s->lock);
		r = q.need(q.ctx, sl->e.path, sl->e.path_len, sl->e.size, err);
		pthread_mutex_lock(&s->lock);
		if (r < 0)
			return r;
	}
	if (r == 0)
		atomic_store(&sl->cancel, true);
	if (sl->deferred) {
		sl->deferred = false;
		s->work[--s->work_head & RING_MASK] = (uint32_t)(sl - s->slots);
	}
	return 0;
}

/*
 * Release what was consumed and wait until the head slot is done; returns
 * 1 with ready_end past it, or the walk's result at the end.
 */
static int refill(struct dir_source *s, struct hm_error *err)
{
	struct slot *sl;
	uint64_t end;
	int r = 1;

	pthread_mutex_lock(&s->lock);
	s->head = s->cons_pos;
	/* Wake the walker only once a quarter of the ring is free, so it
	 * runs in batches rather than once per slot. */
	if (s->walker_waiting &&
	    s->tail - s->head <= RING_SLOTS - RING_SLOTS / 4)
		pthread_cond_signal(&s->cond_walker);
	for (;;) {
		end = s->cons_pos;
		while (end < s->tail && s->slots[end & RING_MASK].state == SLOT_DONE)
			end++;
		if (end > s->cons_pos)
			break;
		if (s->walk_done && s->cons_pos == s->tail) {
			r = s->walk_code;
			if (r < 0 && err)
				*err = s->walk_err;
			break;
		}
		sl = &s->slots[s->cons_pos & RING_MASK];
		if (sl->state == SLOT_PENDING && !sl->asked &&
		    (s->query.need || sl->deferred)) {
			if ((r = ask_need(s, sl, err)) < 0)
				break;
			r = 1;
			continue;
		}
		/* Hash rather than sleep: on few cores a wake-up per entry
		 * costs more than the small files it waits for. */
		if (s->work_head != s->work_tail) {
			run_task(s, &s->workers[0]);
			continue;
		}
		s->cons_waiting = true;
		s->cons_wait_slot = (uint32_t)(s->cons_pos & RING_MASK);
		pthread_cond_wait(&s->cond_cons, &s->lock);
		s->cons_waiting = false;
	}
	s->ready_end = end;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int finish(struct dir_source *s, int code, struct hm_error *err)
{
	s->finished = true;
	s->final_code = code;
	if (code < 0 && err)
		s->final_err = *err;
	return code;
}

static int dir_next(struct hm_source *src, const struct hm_entry **ret,
		    struct hm_error *err)
{
	struct dir_source *s = (struct dir_source *)src;
	struct slot *sl;
	int r;

	if (s->finished) {
		if (s->final_code < 0 && err)
			*err = s->final_err;
		return s->final_code;
	}
	if (s->have_current) {
		sl = &s->slots[s->cons_pos & RING_MASK];
		hm_entry_clear(&sl->e);
		sl->state = SLOT_FREE;
		s->cons_pos++;
		s->have_current = false;
	}
	if (s->cons_pos == s->ready_end && (r = refill(s, err)) <= 0)
		return finish(s, r, err);
	sl = &s->slots[s->cons_pos & RING_MASK];
	if (sl->err < 0)
		return finish(s, hm_error_nomem(err), err);
	if (sl->link && (r = link_resolve(s, sl, err)) < 0)
		return finish(s, r, err);
	/* A later link kept its directory for link_rehash; done with it. */
	if (sl->dn) {
		dnode_put(s, sl->dn);
		sl->dn = NULL;
	}
	s->have_current = true;
	*ret = &sl->e;
	return 1;
}

static void dir_free(struct hm_source *src)
{
	struct dir_source *s = (struct dir_source *)src;
	unsigned i;
	size_t j;

	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond_walker);
	pthread_cond_broadcast(&s->cond_worker);
	pthread_cond_broadcast(&s->cond_cons);
	pthread_mutex_unlock(&s->lock);
	if (s->walker_started)
		pthread_join(s->walker, NULL);
	for (i = 1; i <= s->nworkers; i++)
		pthread_join(s->workers[i].tid, NULL);

	/* Single-threaded from here on. */
	for (i = 0; s->slots && i < RING_SLOTS; i++) {
		hm_entry_clear(&s->slots[i].e);
		if (s->slots[i].dn)
			dnode_put(s, s->slots[i].dn);
	}
	while (s->depth > 0)
		level_pop(s);
	for (j = 0; j < s->levels_cap; j++) {
		free(s->levels[j].names);
		free(s->levels[j].offs);
	}
	free(s->levels);
	for (j = 0; j < s->lcap; j++) {
		struct hlink *l = s->lbuckets[j], *next;

		for (; l; l = next) {
			next = l->next;
			free(l->note);
			free(l);
		}
	}
	free(s->lbuckets);
	for (i = 0; s->workers && i < s->nthreads; i++) {
		hm_hash_free(s->workers[i].hash);
		free(s->workers[i].buf);
		free(s->workers[i].xb);
	}
	free(s->workers);
	free(s->slots);
	free(s->work);
	free(s->dents);
	free(s->target);
	free(s->xb);
	free(s->root_name);
	hm_buf_free(&s->path);
	pthread_cond_destroy(&s->cond_walker);
	pthread_cond_destroy(&s->cond_worker);
	pthread_cond_destroy(&s->cond_cons);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->link_lock);
	free(s);
}

static void dir_set_digest_query(struct hm_source *src,
				 const struct hm_digest_query *q)
{
	struct dir_source *s = (struct dir_source *)src;

	pthread_mutex_lock(&s->lock);
	if (q)
		s->query = *q;
	else
		memset(&s->query, 0, sizeof(s->query));
	pthread_mutex_unlock(&s->lock);
}

static const struct hm_source_ops dir_ops = {
	.kind = "dir",
	.next = dir_next,
	.free = dir_free,
	.set_digest_query = dir_set_digest_query,
};

/* Directory fds are one per level plus those file tasks hold: make room. */
static unsigned raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max;

		if (want == RLIM_INFINITY || want > (1u << 20))
			want = 1u << 20;
		if (want > rl.rlim_cur) {
			rl.rlim_cur = want;
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				getrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	return rl.rlim_cur > (1u << 20) ? (1u << 20) : (unsigned)rl.rlim_cur;
}

int hm_source_dir_open(const char *path, const struct hm_scan_options *opt,
		       struct hm_source **ret, struct hm_error *err)
{
	struct dir_source *s;
	size_t rlen = strlen(path);
	unsigned i, nofile;
	bool mount, mnt_known;
	uint64_t mnt_id = 0;
	long ncpu;
	int fd, r;

	/* The root may be a symlink to a directory: followed, for it only. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return hm_error_set(err, HM_ERR_IO, errno,
				    "cannot open directory '%s'", path);
	if (!(s = calloc(1, sizeof(*s)))) {
		close(fd);
		return hm_error_nomem(err);
	}
	s->base.ops = &dir_ops;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->link_lock, NULL);
	pthread_cond_init(&s->cond_walker, NULL);
	pthread_cond_init(&s->cond_worker, NULL);
	pthread_cond_init(&s->cond_cons, NULL);
	if (opt)
		s->filter = opt->filter;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	s->nthreads = opt && opt->threads ? opt->threads :
		      (ncpu > 0 ? (unsigned)ncpu : 1);
	if (s->nthreads > MAX_THREADS)
		s->nthreads = MAX_THREADS;
	s->euid = geteuid();
	nofile = raise_nofile();
	s->dir_budget = nofile > FD_RESERVE + s->nthreads + 16 ?
			nofile - FD_RESERVE - s->nthreads : 16;

	/* Messages join root_name and the entry path: no doubled '/'. */
	while (rlen > 1 && path[rlen - 1] == '/')
		rlen--;
	s->root_name = strndup(path, rlen == 1 && path[0] == '/' ? 0 : rlen);
	s->slots = calloc(RING_SLOTS, sizeof(*s->slots));
	s->work = calloc(RING_SLOTS, sizeof(*s->work));
	s->dents = malloc(DENTS_BYTES);
	s->target = malloc(HM_LIMIT_TARGET_BYTES + 1);
	s->xb = malloc(sizeof(*s->xb));
	s->workers = calloc(s->nthreads, sizeof(*s->workers));
	if (!s->root_name || !s->slots || !s->work || !s->dents ||
	    !s->target || !s->xb || !s->workers || !level_push(s, err))
		goto nomem;
	if (stat_mount(s, NULL, fd, "", AT_EMPTY_PATH, &s->root_st, &mount,
		       &mnt_id, &mnt_known) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot stat '%s'", path);
		close(fd);
		goto fail;
	}
	s->root_dev = s->root_st.st_dev;
	if ((r = push_level(s, fd, err)) < 0)
		goto fail;
	s->levels[0].path_len = 0;
	s->levels[0].dn->mnt_known = mnt_known;
	s->levels[0].dn->mnt_id = mnt_id;
	for (i = 0; i < s->nthreads; i++) {
		struct worker *w = &s->workers[i];

		w->src = s;
		w->hash = hm_hash_new(HM_HASH_SHA256);
		w->buf = malloc(HASH_CHUNK);
		w->xb = malloc(sizeof(*w->xb));
		if (!w->hash || !w->buf || !w->xb)
			goto nomem;
	}
	/* workers[0] is the consumer's own: it hashes inside next(). */
	for (i = 1; i < s->nthreads; i++) {
		if ((r = pthread_create(&s->workers[i].tid, NULL, worker_main,
					&s->workers[i])) != 0) {
			r = hm_error_set(err, HM_ERR_IO, r, "cannot start a thread");
			goto fail;
		}
		s->nworkers++;
	}
	if ((r = pthread_create(&s->walker, NULL, walker_main, s)) != 0) {
		r = hm_error_set(err, HM_ERR_IO, r, "cannot start a thread");
		goto fail;
	}
	s->walker_started = true;
	*ret = &s->base;
	return 0;
nomem:
	if (fd >= 0 && s->depth == 0)
		close(fd);
	r = hm_error_nomem(err);
fail:
	dir_free(&s->base);
	return r;
}
