/*
 * Staging, publishing and reclaiming a build's outputs (see publish.h
 * for the layout and the guarantee).
 *
 * Why a switched symlink and not ordered renames: renaming N files one
 * by one over the previous ones leaves, after a crash or a failed rename
 * between two of them, new images beside an old manifest (or a new
 * manifest beside an old signature), and undoing needs the old files
 * that were just replaced.  One rename(2) of a symlink is the only step
 * POSIX makes atomic that can change a whole set at once; the stable
 * symlinks at the final names keep DIR/NAME.oci.tar and friends working.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/cleanup.h"
#include "publish.h"

#define STAGE_TAG ".build-"
#define BUILDS_SUFFIX ".builds"
#define CURRENT "current"

struct hm_stage {
	char *out_dir;
	char *name;
	char *path;                   /* staging folder, then NAME.builds/ID */
	char *id;                     /* XXXXXX of .NAME.build-XXXXXX */
	int lock_fd;                  /* flock()ed while this build lives */
	int cleanup;                  /* hm_cleanup slot of path, or -1 */
	bool published;
	bool moved;                   /* path is under NAME.builds */
};

/* --- removing a folder tree (not in a signal handler: stdio is fine) --- */

static void rm_tree_at(int dfd, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0 || depth > 8)
			continue;
		sub = openat(dirfd(d), de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			rm_tree_at(sub, depth + 1);
		unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

static void rm_tree(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0)
		rm_tree_at(fd, 0);
	unlinkat(parent, name, AT_REMOVEDIR);
}

/* Take the lock of folder name in parent without waiting: the fd, or -1
 * when a live process holds it (or it is gone). */
static int try_lock(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool is_current(int bfd, const char *name)
{
	char target[NAME_MAX + 1];
	ssize_t n = readlinkat(bfd, CURRENT, target, sizeof(target) - 1);

	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, name) == 0;
}

/* The published folders of one NAME.builds: all but current, unlocked. */
static int reclaim_builds(int dfd, const char *builds)
{
	int bfd = openat(dfd, builds, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	int removed = 0;
	DIR *d;

	if (bfd < 0)
		return 0;
	d = fdopendir(bfd);
	if (!d) {
		close(bfd);
		return 0;
	}
	while ((de = readdir(d))) {
		int lfd;

		if (de->d_name[0] == '.') {
			/* A switch symlink left by a build killed mid-switch. */
			if (!strncmp(de->d_name, "." CURRENT ".tmp-", strlen(CURRENT) + 6))
				unlinkat(bfd, de->d_name, 0);
			continue;
		}
		if (!strcmp(de->d_name, CURRENT) || is_current(bfd, de->d_name))
			continue;
		if ((lfd = try_lock(bfd, de->d_name)) < 0)
			continue;
		/* Read current again under the lock: a build switches to its
		 * folder while it holds that folder's lock, so a switch that
		 * happened before we got the lock is seen now. */
		if (!is_current(bfd, de->d_name)) {
			rm_tree(bfd, de->d_name);
			removed++;
		}
		close(lfd);
	}
	closedir(d);
	return removed;
}

int hm_stage_reclaim(const char *out_dir)
{
	int dfd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	int removed = 0;
	DIR *d;

	if (dfd < 0)
		return 0;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		int lfd;

		if (de->d_name[0] == '.' && strstr(de->d_name, STAGE_TAG)) {
			/* A staging folder: never published, so its owner is
			 * the only one that wants it. */
			if ((lfd = try_lock(dfd, de->d_name)) < 0)
				continue;
			rm_tree(dfd, de->d_name);
			close(lfd);
			removed++;
		} else if (len > strlen(BUILDS_SUFFIX) &&
			   !strcmp(de->d_name + len - strlen(BUILDS_SUFFIX), BUILDS_SUFFIX)) {
			removed += reclaim_builds(dfd, de->d_name);
		}
	}
	closedir(d);
	return removed;
}

/* --- the staging folder ------------------------------------------------- */

int hm_stage_open(const char *out_dir, const char *name,
		  struct hm_stage **ret, struct hm_error *err)
{
	struct hm_stage *s;
	int attempt, r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return hm_error_nomem(err);
	s->lock_fd = -1;
	s->cleanup = -1;
	s->out_dir = strdup(out_dir);
	s->name = strdup(name);
	if (!s->out_dir || !s->name) {
		r = hm_error_nomem(err);
		goto fail;
	}
	/* What builds killed earlier left behind goes first: disk space. */
	hm_stage_reclaim(out_dir);
	for (attempt = 0; ; attempt++) {
		struct stat st;

		if (asprintf(&s->path, "%s/.%s" STAGE_TAG "XXXXXX", out_dir, name) < 0) {
			s->path = NULL;
			r = hm_error_nomem(err);
			goto fail;
		}
		if (!mkdtemp(s->path)) {
			r = hm_error_set(err, HM_ERR_IO, errno,
					 "cannot create a folder in '%s'", out_dir);
			goto fail;
		}
		s->cleanup = hm_cleanup_add(s->path, true);
		s->lock_fd = open(s->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		/* Another build's reclaim may have taken the new folder for a
		 * stale one before we locked it: then it is gone (no links). */
		if (s->lock_fd >= 0 && flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0 &&
		    fstat(s->lock_fd, &st) == 0 && st.st_nlink > 0)
			break;
		if (s->lock_fd >= 0)
			close(s->lock_fd);
		s->lock_fd = -1;
		hm_cleanup_forget(s->cleanup);
		s->cleanup = -1;
		free(s->path);
		s->path = NULL;
		if (attempt == 8) {
			r = hm_error_set(err, HM_ERR_IO, EAGAIN,
					 "cannot lock a staging folder in '%s'", out_dir);
			goto fail;
		}
	}
	s->id = strdup(strrchr(s->path, '-') + 1);
	if (!s->id) {
		r = hm_error_nomem(err);
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	hm_stage_free(s);
	return r;
}

const char *hm_stage_path(const struct hm_stage *s)
{
	return s->path;
}

void hm_stage_free(struct hm_stage *s)
{
	if (!s)
		return;
	if (!s->published && s->path) {
		char *slash = strrchr(s->path, '/');
		int pfd;

		*slash = '\0';
		pfd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd >= 0) {
			rm_tree(pfd, slash + 1);
			close(pfd);
		}
		/* Moved to NAME.builds and then failed: the folder goes
		 * too if nothing else is in it. */
		if (s->moved)
			rmdir(s->path);
		*slash = '/';
	}
	hm_cleanup_forget(s->cleanup);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->out_dir);
	free(s->name);
	free(s->path);
	free(s->id);
	free(s);
}

/* --- publishing --------------------------------------------------------- */

static void fsync_path(const char *path, int flags)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | flags);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Put a symlink to target at path with one rename (replacing what is
 * there); tmp names it on the way. */
static int put_symlink(const char *target, const char *path, const char *tmp,
		       struct hm_error *err)
{
	unlink(tmp);
	if (symlink(target, tmp) < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot create '%s'", tmp);
	if (rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		return hm_error_set(err, HM_ERR_IO, e, "cannot write '%s'", path);
	}
	return 0;
}

enum final_state { FINAL_NONE, FINAL_OURS, FINAL_OTHER };

struct pub {
	struct hm_stage *s;
	const struct hm_stage_output *outs;
	size_t n;
	char *builds;                 /* DIR/NAME.builds */
	char **finals;                /* DIR/NAME+suffix */
	char **links;                 /* NAME.builds/current/NAME+suffix */
	enum final_state *state;
	bool *replaced;               /* regular finals put in place */
	bool *had_old;                /* and there was one before */
	bool *created;                /* stable symlinks this build added */
};

static char *prev_name(const struct pub *p, size_t k)
{
	char *s = NULL;

	if (asprintf(&s, "%s/.prev-%s%s", p->s->path, p->s->name, p->outs[k].suffix) < 0)
		return NULL;
	return s;
}

/* Undo the regular finals: the old file back, or nothing if none was. */
static void undo_regular(struct pub *p)
{
	size_t k;

	for (k = 0; k < p->n; k++) {
		char *prev;

		if (!p->replaced[k])
			continue;
		prev = prev_name(p, k);
		if (p->had_old[k] && prev)
			rename(prev, p->finals[k]);
		else
			unlink(p->finals[k]);
		free(prev);
		p->replaced[k] = false;
	}
}

/* A first build that fails leaves nothing: no set existed, so the
 * symlinks it added (dangling, harmless) and NAME.builds go too. */
static void undo_first(struct pub *p)
{
	char *cur = NULL;
	struct stat st;
	size_t k;

	if (asprintf(&cur, "%s/" CURRENT, p->builds) < 0)
		return;
	if (lstat(cur, &st) < 0 && errno == ENOENT)
		for (k = 0; k < p->n; k++)
			if (p->created[k])
				unlink(p->finals[k]);
	free(cur);
}

/* Final names that are regular files (an older hallmark's outputs):
 * link what readers see now into a folder of its own, make it current,
 * then replace each file by its stable symlink, which shows the very
 * same inode.  At every step the old set is what readers see. */
static int migrate(struct pub *p, struct hm_error *err)
{
	char *dir = NULL, *file = NULL, *tmp = NULL;
	int r = 0, lfd = -1;
	struct stat st;
	size_t k;

	if (asprintf(&dir, "%s/m-XXXXXX", p->builds) < 0) {
		dir = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	if (!mkdtemp(dir)) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot create a folder in '%s'",
				 p->builds);
		goto out;
	}
	chmod(dir, 0755);
	lfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* A reclaim may take a folder between mkdtemp and flock: then it
	 * has no links left, and making it current would show nothing. */
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0 || fstat(lfd, &st) < 0 ||
	    st.st_nlink == 0) {
		r = hm_error_set(err, HM_ERR_IO, errno ? errno : EAGAIN,
				 "cannot lock '%s'", dir);
		goto out;
	}
	for (k = 0; k < p->n; k++) {
		if (p->outs[k].regular || p->state[k] == FINAL_NONE)
			continue;
		free(file);
		if (asprintf(&file, "%s/%s%s", dir, p->s->name, p->outs[k].suffix) < 0) {
			file = NULL;
			r = hm_error_nomem(err);
			goto out;
		}
		/* A foreign symlink to another filesystem cannot be linked:
		 * that output is then missing from the old set, nothing more. */
		if (linkat(AT_FDCWD, p->finals[k], AT_FDCWD, file, AT_SYMLINK_FOLLOW) != 0)
			continue;
	}
	fsync(lfd);
	if (asprintf(&tmp, "%s/." CURRENT ".tmp-%s", p->builds, p->s->id) < 0) {
		tmp = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	free(file);
	if (asprintf(&file, "%s/" CURRENT, p->builds) < 0) {
		file = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	if ((r = put_symlink(strrchr(dir, '/') + 1, file, tmp, err)) < 0)
		goto out;
	for (k = 0; k < p->n; k++) {
		if (p->outs[k].regular || p->state[k] != FINAL_OTHER)
			continue;
		free(tmp);
		if (asprintf(&tmp, "%s.tmp-%s", p->finals[k], p->s->id) < 0) {
			tmp = NULL;
			r = hm_error_nomem(err);
			goto out;
		}
		if ((r = put_symlink(p->links[k], p->finals[k], tmp, err)) < 0)
			goto out;
		p->state[k] = FINAL_OURS;
	}
out:
	if (lfd >= 0)
		close(lfd);
	free(dir);
	free(file);
	free(tmp);
	return r;
}

static int pub_init(struct pub *p, struct hm_stage *s,
		    const struct hm_stage_output *outs, size_t n,
		    struct hm_error *err)
{
	size_t k;

	memset(p, 0, sizeof(*p));
	p->s = s;
	p->outs = outs;
	p->n = n;
	p->finals = calloc(n, sizeof(*p->finals));
	p->links = calloc(n, sizeof(*p->links));
	p->state = calloc(n, sizeof(*p->state));
	p->replaced = calloc(n, sizeof(*p->replaced));
	p->had_old = calloc(n, sizeof(*p->had_old));
	p->created = calloc(n, sizeof(*p->created));
	if (!p->finals || !p->links || !p->state || !p->replaced || !p->had_old ||
	    !p->created ||
	    asprintf(&p->builds, "%s/%s" BUILDS_SUFFIX, s->out_dir, s->name) < 0) {
		p->builds = NULL;
		return hm_error_nomem(err);
	}
	for (k = 0; k < n; k++) {
		char target[PATH_MAX];
		struct stat st;
		ssize_t len;

		if (asprintf(&p->finals[k], "%s/%s%s", s->out_dir, s->name, outs[k].suffix) < 0 ||
		    asprintf(&p->links[k], "%s" BUILDS_SUFFIX "/" CURRENT "/%s%s",
			     s->name, s->name, outs[k].suffix) < 0) {
			p->finals[k] = p->links[k] = NULL;
			return hm_error_nomem(err);
		}
		if (lstat(p->finals[k], &st) < 0) {
			if (errno != ENOENT)
				return hm_error_set(err, HM_ERR_IO, errno, "cannot stat '%s'",
						    p->finals[k]);
			p->state[k] = FINAL_NONE;
			continue;
		}
		/* Refused before anything changes: a folder, a device... */
		if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
			return hm_error_set(err, HM_ERR_IO, 0,
					    "cannot publish '%s': something that is not a file is in the way",
					    p->finals[k]);
		p->state[k] = FINAL_OTHER;
		if (S_ISLNK(st.st_mode) &&
		    (len = readlink(p->finals[k], target, sizeof(target) - 1)) >= 0) {
			target[len] = '\0';
			if (!strcmp(target, p->links[k]))
				p->state[k] = FINAL_OURS;
		}
	}
	return 0;
}

static void pub_free(struct pub *p)
{
	size_t k;

	for (k = 0; p->finals && k < p->n; k++) {
		free(p->finals[k]);
		free(p->links[k]);
	}
	free(p->finals);
	free(p->links);
	free(p->state);
	free(p->replaced);
	free(p->had_old);
	free(p->created);
	free(p->builds);
}

/* The staging folder becomes NAME.builds/ID; the signal cleanup follows. */
static int move_stage(struct pub *p, struct hm_error *err)
{
	struct hm_stage *s = p->s;
	char *dest = NULL;
	sigset_t old;
	int r = 0;

	if (mkdir(p->builds, 0755) < 0 && errno != EEXIST)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot create '%s'", p->builds);
	if (asprintf(&dest, "%s/%s", p->builds, s->id) < 0)
		return hm_error_nomem(err);
	chmod(s->path, 0755);
	hm_cleanup_block(&old);
	if (rename(s->path, dest) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot move '%s' to '%s'",
				 s->path, dest);
		free(dest);
		rmdir(p->builds);         /* if this build made it */
	} else {
		hm_cleanup_forget(s->cleanup);
		s->cleanup = hm_cleanup_add(dest, true);
		free(s->path);
		s->path = dest;
		s->moved = true;
	}
	hm_cleanup_unblock(&old);
	fsync_path(s->out_dir, O_DIRECTORY);
	return r;
}

int hm_stage_publish(struct hm_stage *s, const struct hm_stage_output *outs,
		     size_t n, struct hm_error *err)
{
	char *cur = NULL, *tmp = NULL, *file = NULL;
	bool legacy = false;
	struct pub p;
	sigset_t old;
	size_t k;
	int r;

	if ((r = pub_init(&p, s, outs, n, err)) < 0)
		goto out;
	/* Everything made is on disk before any name shows it. */
	for (k = 0; k < n; k++) {
		if (!outs[k].made)
			continue;
		free(file);
		if (asprintf(&file, "%s/%s%s", s->path, s->name, outs[k].suffix) < 0) {
			file = NULL;
			r = hm_error_nomem(err);
			goto out;
		}
		fsync_path(file, 0);
	}
	fsync_path(s->path, O_DIRECTORY);
	if ((r = move_stage(&p, err)) < 0)
		goto out;
	for (k = 0; k < n; k++)
		if (!outs[k].regular && p.state[k] == FINAL_OTHER)
			legacy = true;
	if (legacy && (r = migrate(&p, err)) < 0)
		goto out;
	/* Stable symlinks for kinds the old set lacked: they dangle (the
	 * output is absent) until the switch. */
	for (k = 0; k < n; k++) {
		if (outs[k].regular || !outs[k].made || p.state[k] == FINAL_OURS)
			continue;
		free(tmp);
		if (asprintf(&tmp, "%s.tmp-%s", p.finals[k], s->id) < 0) {
			tmp = NULL;
			r = hm_error_nomem(err);
			goto out;
		}
		if ((r = put_symlink(p.links[k], p.finals[k], tmp, err)) < 0)
			goto undo;
		p.state[k] = FINAL_OURS;
		p.created[k] = true;
	}
	/* Disk images: regular files, linked from the build folder, the old
	 * one kept (linked into the build folder) to be put back. */
	for (k = 0; k < n; k++) {
		char *prev;

		if (!outs[k].regular || !outs[k].made)
			continue;
		free(file);
		free(tmp);
		tmp = NULL;
		if (asprintf(&file, "%s/%s%s", s->path, s->name, outs[k].suffix) < 0 ||
		    asprintf(&tmp, "%s.tmp-%s", p.finals[k], s->id) < 0) {
			file = NULL;
			r = hm_error_nomem(err);
			goto undo;
		}
		if (!(prev = prev_name(&p, k))) {
			r = hm_error_nomem(err);
			goto undo;
		}
		p.had_old[k] = link(p.finals[k], prev) == 0;
		free(prev);
		unlink(tmp);
		if (link(file, tmp) < 0) {
			r = hm_error_set(err, HM_ERR_IO, errno, "cannot create '%s'", tmp);
			goto undo;
		}
		if (rename(tmp, p.finals[k]) < 0) {
			r = hm_error_set(err, HM_ERR_IO, errno, "cannot write '%s'", p.finals[k]);
			unlink(tmp);
			goto undo;
		}
		p.replaced[k] = true;
	}
	/* The switch.  From here the folder is the published set: the
	 * signal cleanup must not remove it, so no signal runs in between. */
	free(tmp);
	if (asprintf(&tmp, "%s/." CURRENT ".tmp-%s", p.builds, s->id) < 0 ||
	    asprintf(&cur, "%s/" CURRENT, p.builds) < 0) {
		tmp = cur = NULL;
		r = hm_error_nomem(err);
		goto undo;
	}
	hm_cleanup_block(&old);
	r = put_symlink(s->id, cur, tmp, err);
	if (r == 0) {
		s->published = true;
		hm_cleanup_forget(s->cleanup);
		s->cleanup = -1;
	}
	hm_cleanup_unblock(&old);
	if (r < 0)
		goto undo;
	fsync_path(p.builds, O_DIRECTORY);
	/* Kinds the new set lacks: their stable symlinks dangle; drop them. */
	for (k = 0; k < n; k++)
		if (!outs[k].regular && !outs[k].made && p.state[k] == FINAL_OURS)
			unlink(p.finals[k]);
	for (k = 0; k < n; k++) {
		char *prev;

		if (p.had_old[k] && (prev = prev_name(&p, k))) {
			unlink(prev);
			free(prev);
		}
	}
	fsync_path(s->out_dir, O_DIRECTORY);
	/* The previous build folder, unless a live process holds it. */
	hm_stage_reclaim(s->out_dir);
	r = 0;
	goto out;
undo:
	undo_regular(&p);
	undo_first(&p);
out:
	pub_free(&p);
	free(cur);
	free(tmp);
	free(file);
	return r;
}
