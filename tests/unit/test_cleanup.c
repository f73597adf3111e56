/*
 * Unit tests for lib/cleanup.c: what is registered goes away on
 * SIGINT/SIGTERM/SIGHUP, the process still dies of the signal, what is
 * forgotten stays, and an ignored signal stays ignored.  Each case runs in
 * a child so that the signal is real.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hallmark/cleanup.h"

#include "harness.h"

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0)
		close(fd);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Run fn in a child; its wait status. */
static int in_child(void (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		fn();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return status;
}

static void child_term(void)
{
	int i;

	hm_cleanup_install();
	mkdir("stage", 0700);
	mkdir("stage/sub", 0700);
	mkdir("stage/sub/deeper", 0700);
	for (i = 0; i < 300; i++) {          /* more than one getdents64 buffer */
		char p[64];

		snprintf(p, sizeof(p), "stage/file-with-a-long-name-%03d", i);
		touch(p);
	}
	touch("stage/sub/deeper/x");
	symlink("/etc/passwd", "stage/link");   /* removed, never followed */
	touch("tmpfile");
	touch("kept");
	hm_cleanup_add("stage", true);
	hm_cleanup_add("tmpfile", false);
	hm_cleanup_forget(hm_cleanup_add("kept", false));
	raise(SIGTERM);
	_exit(0);                     /* not reached */
}

TEST(signal_removes_registered_paths)
{
	int status = in_child(child_term);

	CHECK(WIFSIGNALED(status));
	CHECK_EQ_INT(WTERMSIG(status), SIGTERM);
	CHECK(!exists("stage"));
	CHECK(!exists("tmpfile"));
	CHECK(exists("kept"));
	CHECK(exists("/etc/passwd"));
}

static void child_ignored(void)
{
	signal(SIGHUP, SIG_IGN);
	hm_cleanup_install();
	touch("tmpfile");
	hm_cleanup_add("tmpfile", false);
	raise(SIGHUP);
	_exit(7);
}

TEST(ignored_signal_stays_ignored)
{
	int status = in_child(child_ignored);

	CHECK(WIFEXITED(status));
	CHECK_EQ_INT(WEXITSTATUS(status), 7);
	CHECK(exists("tmpfile"));
}

static void child_blocked(void)
{
	sigset_t old;

	hm_cleanup_install();
	touch("tmpfile");
	hm_cleanup_block(&old);
	hm_cleanup_add("tmpfile", false);
	raise(SIGINT);
	/* Still here: the signal waits.  The path changes owner. */
	hm_cleanup_forget(0);
	hm_cleanup_unblock(&old);
	_exit(0);
}

TEST(blocked_signal_waits)
{
	int status = in_child(child_blocked);

	CHECK(WIFSIGNALED(status));
	CHECK_EQ_INT(WTERMSIG(status), SIGINT);
	CHECK(exists("tmpfile"));
}

TEST(slots_are_bounded)
{
	char longpath[5000];
	int slots[HM_CLEANUP_SLOTS], i;

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK_EQ_INT(hm_cleanup_add(longpath, false), -1);
	for (i = 0; i < HM_CLEANUP_SLOTS; i++) {
		slots[i] = hm_cleanup_add("x", false);
		CHECK(slots[i] >= 0);
	}
	CHECK_EQ_INT(hm_cleanup_add("x", false), -1);
	hm_cleanup_forget(slots[3]);
	CHECK_EQ_INT(hm_cleanup_add("x", false), slots[3]);
	for (i = 0; i < HM_CLEANUP_SLOTS; i++)
		hm_cleanup_forget(slots[i]);
	hm_cleanup_forget(-1);
}
