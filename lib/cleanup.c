/*
 * Signal-time cleanup of temporary files and staging folders.
 *
 * The registry is a fixed array of slots, each a path in a fixed buffer
 * and an atomic state; a slot is filled, then published by storing its
 * state, so the handler never sees half a path.  The handler removes
 * what is registered with unlink, unlinkat, openat, getdents64 and close
 * only (all async-signal-safe, no allocation), then restores the default
 * action and raises the signal again: the process still dies of it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hallmark/cleanup.h"

enum { SLOT_FREE, SLOT_BUSY, SLOT_FILE, SLOT_TREE };

/* Staging folders are flat; a little depth covers what may appear. */
#define TREE_MAX_DEPTH 8

static struct {
	_Atomic int state;
	char path[PATH_MAX];
} slots[HM_CLEANUP_SLOTS];

static const int cleanup_signals[] = { SIGINT, SIGTERM, SIGHUP };

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Remove what is in the folder dfd (closed here), not following symlinks. */
static void rm_contents(int dfd, int depth)
{
	char buf[2048] __attribute__((aligned(8)));
	int removed;

	/* Entries removed while the folder is read could make getdents64
	 * skip others: read it again from its start until a pass removes
	 * nothing. */
	do {
		long n;

		removed = 0;
		lseek(dfd, 0, SEEK_SET);
		while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
			long off;

			for (off = 0; off < n;) {
				struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
				const char *name = d->d_name;
				int sub;

				off += d->d_reclen;
				if (name[0] == '.' &&
				    (!name[1] || (name[1] == '.' && !name[2])))
					continue;
				if (unlinkat(dfd, name, 0) == 0) {
					removed = 1;
					continue;
				}
				if (depth >= TREE_MAX_DEPTH)
					continue;
				sub = openat(dfd, name, O_RDONLY | O_DIRECTORY |
					     O_NOFOLLOW | O_CLOEXEC);
				if (sub >= 0)
					rm_contents(sub, depth + 1);
				if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
					removed = 1;
			}
		}
	} while (removed);
	close(dfd);
}

static void remove_slot(int i)
{
	int st = atomic_load(&slots[i].state);

	if (st == SLOT_FILE) {
		unlink(slots[i].path);
	} else if (st == SLOT_TREE) {
		int dfd = open(slots[i].path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			       O_CLOEXEC);

		if (dfd >= 0)
			rm_contents(dfd, 0);
		rmdir(slots[i].path);
	}
}

static void on_signal(int sig)
{
	int saved = errno, i;
	struct sigaction dfl;

	for (i = 0; i < HM_CLEANUP_SLOTS; i++)
		remove_slot(i);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	errno = saved;
	/* Pending until the handler returns and the mask is restored; then
	 * the default action ends the process with the right status. */
	raise(sig);
}

int hm_cleanup_install(void)
{
	size_t i;

	for (i = 0; i < sizeof(cleanup_signals) / sizeof(cleanup_signals[0]); i++) {
		struct sigaction sa, old;

		if (sigaction(cleanup_signals[i], NULL, &old) < 0)
			return -errno;
		if (old.sa_handler == SIG_IGN)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		/* One handler at a time: a second signal waits for the first
		 * to finish removing. */
		sigaddset(&sa.sa_mask, SIGINT);
		sigaddset(&sa.sa_mask, SIGTERM);
		sigaddset(&sa.sa_mask, SIGHUP);
		if (sigaction(cleanup_signals[i], &sa, NULL) < 0)
			return -errno;
	}
	return 0;
}

int hm_cleanup_add(const char *path, bool tree)
{
	char cwd[PATH_MAX];
	size_t plen = strlen(path), clen = 0;
	int i;

	if (path[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			return -1;
		clen = strlen(cwd);
	}
	if (clen + 1 + plen + 1 > PATH_MAX)
		return -1;
	for (i = 0; i < HM_CLEANUP_SLOTS; i++) {
		int expect = SLOT_FREE;

		if (!atomic_compare_exchange_strong(&slots[i].state, &expect, SLOT_BUSY))
			continue;
		if (clen) {
			memcpy(slots[i].path, cwd, clen);
			slots[i].path[clen] = '/';
			memcpy(slots[i].path + clen + 1, path, plen + 1);
		} else {
			memcpy(slots[i].path, path, plen + 1);
		}
		atomic_store(&slots[i].state, tree ? SLOT_TREE : SLOT_FILE);
		return i;
	}
	return -1;
}

void hm_cleanup_forget(int slot)
{
	if (slot < 0 || slot >= HM_CLEANUP_SLOTS)
		return;
	atomic_store(&slots[slot].state, SLOT_FREE);
}

void hm_cleanup_block(sigset_t *ret_old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, ret_old);
}

void hm_cleanup_unblock(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}
