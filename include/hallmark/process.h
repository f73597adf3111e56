/*
 * Running a host tool (mmdebstrap, e2fsprogs, qemu-img): argv through
 * posix_spawnp, never a shell, stdin from /dev/null.  Both return 0 or an
 * errno value, so that each caller names the tool, and the package to
 * install, in its own words.
 */
#ifndef HALLMARK_PROCESS_H
#define HALLMARK_PROCESS_H

#include <sys/types.h>

/* For out_fd and err_fd: keep the caller's, or /dev/null. */
#define HM_SPAWN_KEEP (-1)
#define HM_SPAWN_NULL (-2)

struct hm_spawn {
	char *const *argv;
	/* NAME=VALUE strings that replace those names in the caller's
	 * environment, NULL-terminated; NULL: the environment as it is. */
	char *const *env_add;
	int out_fd, err_fd;     /* become 1 and 2, or HM_SPAWN_KEEP/NULL */
	int fd3;                /* becomes 3 when >= 0 (a disk for e2fsprogs) */
};

int hm_spawn(const struct hm_spawn *sp, pid_t *ret_pid);
/* Wait for pid across EINTR; *status as waitpid() gives it. */
int hm_spawn_wait(pid_t pid, int *status);

#endif
