/*
 * Unit tests: starting host tools (lib/process.c).  Each test runs a real
 * /bin/sh and looks at what reached it: stdin, stdout and stderr where they
 * were asked to go, the disk as fd 3, the added environment ahead of ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#include "hallmark/process.h"

static int run(const struct hm_spawn *sp)
{
	pid_t pid;
	int st;

	if (hm_spawn(sp, &pid) != 0 || hm_spawn_wait(pid, &st) != 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(int fd)
{
	static char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

TEST(outputs_go_where_asked_and_stdin_is_empty)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)"cat; echo out; echo err >&2; exit 7", NULL };
	int out = open("out", O_RDWR | O_CREAT | O_TRUNC, 0600);
	int err = open("err", O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct hm_spawn sp = { .argv = argv, .out_fd = out, .err_fd = err, .fd3 = -1 };

	CHECK(out >= 0 && err >= 0);
	CHECK_EQ_INT(run(&sp), 7);
	CHECK_EQ_STR(slurp(out), "out\n");
	CHECK_EQ_STR(slurp(err), "err\n");
	/* /dev/null for stdout: nothing lands in our files. */
	sp.out_fd = HM_SPAWN_NULL;
	CHECK(ftruncate(out, 0) == 0 && ftruncate(err, 0) == 0);
	CHECK(lseek(out, 0, SEEK_SET) == 0 && lseek(err, 0, SEEK_SET) == 0);
	CHECK_EQ_INT(run(&sp), 7);
	CHECK_EQ_STR(slurp(out), "");
	CHECK_EQ_STR(slurp(err), "err\n");
	close(out);
	close(err);
}

TEST(fd3_and_added_environment_reach_the_tool)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)"printf '%s %s ' \"$HM_A\" \"$HM_B\"; cat <&3", NULL };
	char *add[] = { (char *)"HM_A=added", NULL };
	int out = open("out", O_RDWR | O_CREAT | O_TRUNC, 0600);
	int disk = open("disk", O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct hm_spawn sp = { .argv = argv, .env_add = add, .out_fd = out,
			       .err_fd = HM_SPAWN_KEEP, .fd3 = disk };

	CHECK(out >= 0 && disk >= 0);
	CHECK(write(disk, "bytes", 5) == 5 && lseek(disk, 0, SEEK_SET) == 0);
	/* The added value replaces one already in the environment (a shell
	 * takes the last of two, a C program's getenv the first). */
	CHECK(setenv("HM_A", "ours", 1) == 0 && setenv("HM_B", "kept", 1) == 0);
	CHECK_EQ_INT(run(&sp), 0);
	CHECK_EQ_STR(slurp(out), "added kept bytes");
	/* Without fd3 the tool has no fd 3 (ours is not leaked to it). */
	{
		char *argv2[] = { (char *)"sh", (char *)"-c", (char *)"exec 2>/dev/null; cat <&3 && exit 0; exit 9", NULL };
		int fd3 = dup2(disk, 3);
		struct hm_spawn sp2 = { .argv = argv2, .out_fd = HM_SPAWN_NULL,
					.err_fd = HM_SPAWN_KEEP, .fd3 = -1 };

		CHECK_EQ_INT(fd3, 3);
		CHECK(fcntl(3, F_SETFD, FD_CLOEXEC) == 0);
		CHECK_EQ_INT(run(&sp2), 9);
		close(3);
	}
	unsetenv("HM_A");
	unsetenv("HM_B");
	close(out);
	close(disk);
}

TEST(a_missing_tool_is_an_errno)
{
	char *argv[] = { (char *)"hm-no-such-tool-here", NULL };
	struct hm_spawn sp = { .argv = argv, .out_fd = HM_SPAWN_NULL,
			       .err_fd = HM_SPAWN_NULL, .fd3 = -1 };
	pid_t pid;

	CHECK_EQ_INT(hm_spawn(&sp, &pid), ENOENT);
}
