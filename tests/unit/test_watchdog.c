/* Unit tests: the watchdog kills a process whose step outlives its budget. */
#include "harness.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "hallmark/error.h"
#include "../../disk/watchdog.h"

/* A child that would sleep for a minute. */
static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* A started watchdog (no HALLMARK_APPLIANCE_TIMEOUT) watching a sleeper. */
static struct hm_watchdog *watching(pid_t *ret_pid)
{
	struct hm_watchdog *w = NULL;
	struct hm_error err = { 0 };

	unsetenv("HALLMARK_APPLIANCE_TIMEOUT");
	if (hm_watchdog_start(&w, &err) < 0)
		return NULL;
	*ret_pid = sleeper();
	hm_watchdog_set_pid(w, *ret_pid);
	return w;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

TEST(watchdog_kills_a_hung_step)
{
	struct hm_watchdog *w;
	struct hm_error err = { 0 };
	const char *what = NULL;
	unsigned secs = 0;
	double t0;
	int status = 0;
	pid_t pid = 0;

	CHECK((w = watching(&pid)) != NULL && pid > 0);
	t0 = now();
	hm_watchdog_arm(w, 1, "copy the tree onto the disk");
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(now() - t0 >= 0.9 && now() - t0 < 10);
	CHECK(hm_watchdog_fired(w, &what, &secs));
	CHECK_EQ_STR(what, "copy the tree onto the disk");
	CHECK_EQ_INT(secs, 1);
	CHECK_EQ_INT(hm_watchdog_error(w, "the appliance", &err), HM_ERR_IO);
	CHECK_EQ_STR(err.msg, "the appliance stopped answering: 'copy the tree onto the disk' took more than 1 s, so it was stopped (HALLMARK_APPLIANCE_TIMEOUT sets every step's budget)");
	hm_watchdog_stop(w);
}

TEST(watchdog_spares_a_step_done_in_time)
{
	struct hm_watchdog *w;
	int status = 0;
	pid_t pid = 0;

	CHECK((w = watching(&pid)) != NULL && pid > 0);
	/* Re-arming replaces the budget; disarming ends it. */
	hm_watchdog_arm(w, 1, "a");
	hm_watchdog_arm(w, 3, "b");
	usleep(1500 * 1000);
	hm_watchdog_disarm(w);
	usleep(2000 * 1000);
	CHECK(!hm_watchdog_fired(w, NULL, NULL));
	CHECK_EQ_INT(hm_watchdog_error(w, "the appliance", NULL), 0);
	CHECK_EQ_INT(waitpid(pid, &status, WNOHANG), 0);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* Nothing to kill yet: a budget that runs out without a pid is no hang. */
	hm_watchdog_set_pid(w, 0);
	hm_watchdog_arm(w, 1, "launch");
	usleep(1500 * 1000);
	CHECK(!hm_watchdog_fired(w, NULL, NULL));
	hm_watchdog_stop(w);
}

TEST(watchdog_budget_scales_and_is_overridden)
{
	struct hm_watchdog *w;
	struct hm_error err = { 0 };

	unsetenv("HALLMARK_APPLIANCE_TIMEOUT");
	CHECK_EQ_INT(hm_watchdog_start(&w, &err), 0);
	CHECK_EQ_INT(hm_watchdog_budget(w, 0, 1), 300);
	CHECK_EQ_INT(hm_watchdog_budget(w, 2048ull << 20, 1), 2348);
	CHECK_EQ_INT(hm_watchdog_budget(w, 2048ull << 20, 16), 428);
	CHECK_EQ_INT(hm_watchdog_budget(w, 1ull << 60, 1), HM_WATCHDOG_MAX);
	hm_watchdog_stop(w);

	setenv("HALLMARK_APPLIANCE_TIMEOUT", "7", 1);
	CHECK_EQ_INT(hm_watchdog_start(&w, &err), 0);
	CHECK_EQ_INT(hm_watchdog_budget(w, 2048ull << 20, 1), 7);
	hm_watchdog_stop(w);

	static const char *const bad[] = { "", "0", "-5", "5s", "86401", "x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("HALLMARK_APPLIANCE_TIMEOUT", bad[i], 1);
		CHECK_EQ_INT(hm_watchdog_start(&w, &err), HM_ERR_USAGE);
		CHECK(w == NULL);
		CHECK(strstr(err.msg, "HALLMARK_APPLIANCE_TIMEOUT") != NULL);
	}
	unsetenv("HALLMARK_APPLIANCE_TIMEOUT");
}
