/*
 * One way to start a host tool, for the builder (mmdebstrap) and the disk
 * writer (mke2fs, debugfs, e2fsck, qemu-img).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "hallmark/process.h"

extern char **environ;

/* The file actions for fd (one of 1, 2) from what the caller asked. */
static int add_fd(posix_spawn_file_actions_t *fa, int from, int to)
{
	if (from == HM_SPAWN_KEEP)
		return 0;
	if (from == HM_SPAWN_NULL)
		return posix_spawn_file_actions_addopen(fa, to, "/dev/null", O_WRONLY, 0);
	return posix_spawn_file_actions_adddup2(fa, from, to);
}

/* Is var (NAME=VALUE) one that add sets too?  Then it is left out: some
 * programs take the first NAME= of their environment, shells the last. */
static bool replaced(char *const *add, const char *var)
{
	size_t n = strcspn(var, "=");

	for (; *add; add++)
		if (!strncmp(*add, var, n) && (*add)[n] == '=')
			return true;
	return false;
}

int hm_spawn(const struct hm_spawn *sp, pid_t *ret_pid)
{
	posix_spawn_file_actions_t fa;
	char **envp = environ;
	size_t n_env = 0, n_add = 0, i;
	int r;

	if (sp->env_add) {
		while (environ[n_env])
			n_env++;
		while (sp->env_add[n_add])
			n_add++;
		if (!(envp = calloc(n_env + n_add + 1, sizeof(*envp))))
			return ENOMEM;
		for (i = 0; i < n_add; i++)
			envp[i] = sp->env_add[i];
		for (i = 0; i < n_env; i++)
			if (!replaced(sp->env_add, environ[i]))
				envp[n_add++] = environ[i];
	}
	if ((r = posix_spawn_file_actions_init(&fa)) != 0)
		goto out;
	r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!r)
		r = add_fd(&fa, sp->out_fd, 1);
	if (!r)
		r = add_fd(&fa, sp->err_fd, 2);
	if (!r && sp->fd3 >= 0)
		r = posix_spawn_file_actions_adddup2(&fa, sp->fd3, 3);
	if (!r)
		r = posix_spawnp(ret_pid, sp->argv[0], &fa, NULL, sp->argv, envp);
	posix_spawn_file_actions_destroy(&fa);
out:
	if (envp != environ)
		free(envp);
	return r;
}

int hm_spawn_wait(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return errno;
	return 0;
}
