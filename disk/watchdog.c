/*
 * The watchdog thread: sleeps until the armed deadline (CLOCK_MONOTONIC),
 * and kills the process if the step is still armed then.  One mutex
 * guards the state; arming signals the thread so it recomputes its wait.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "watchdog.h"

struct hm_watchdog {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pid_t pid;
	bool armed, stop, fired;
	struct timespec deadline;     /* CLOCK_MONOTONIC */
	unsigned seconds;             /* the armed budget */
	const char *what;             /* the armed step */
	unsigned fixed;               /* HALLMARK_APPLIANCE_TIMEOUT, or 0 */
};

static bool passed(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

static void *run(void *arg)
{
	struct hm_watchdog *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		if (!w->armed) {
			pthread_cond_wait(&w->cond, &w->lock);
			continue;
		}
		if (!passed(&w->deadline)) {
			pthread_cond_timedwait(&w->cond, &w->lock, &w->deadline);
			continue;
		}
		/* The step is still armed at its deadline: it hung. */
		w->armed = false;
		if (w->pid > 0) {
			w->fired = true;
			kill(w->pid, SIGKILL);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* HALLMARK_APPLIANCE_TIMEOUT: unset, or whole seconds in range. */
static int fixed_budget(unsigned *ret, struct hm_error *err)
{
	const char *v = getenv("HALLMARK_APPLIANCE_TIMEOUT");
	unsigned long n;
	char *end;

	*ret = 0;
	if (!v)
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || *v == '-' || n < 1 || n > HM_WATCHDOG_MAX)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "HALLMARK_APPLIANCE_TIMEOUT: '%.40s' is not a number of seconds from 1 to %u",
				    v, HM_WATCHDOG_MAX);
	*ret = (unsigned)n;
	return 0;
}

int hm_watchdog_start(struct hm_watchdog **ret, struct hm_error *err)
{
	struct hm_watchdog *w;
	pthread_condattr_t ca;
	int e;

	*ret = NULL;
	if (!(w = calloc(1, sizeof(*w))))
		return hm_error_nomem(err);
	if ((e = fixed_budget(&w->fixed, err)) < 0) {
		free(w);
		return e;
	}
	pthread_mutex_init(&w->lock, NULL);
	/* Deadlines on the monotonic clock: a clock step must not fire it. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((e = pthread_create(&w->thread, NULL, run, w)) != 0) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return hm_error_set(err, HM_ERR_IO, e, "cannot start the appliance watchdog");
	}
	*ret = w;
	return 0;
}

void hm_watchdog_set_pid(struct hm_watchdog *w, pid_t pid)
{
	pthread_mutex_lock(&w->lock);
	w->pid = pid;
	pthread_mutex_unlock(&w->lock);
}

void hm_watchdog_arm(struct hm_watchdog *w, unsigned seconds, const char *what)
{
	pthread_mutex_lock(&w->lock);
	clock_gettime(CLOCK_MONOTONIC, &w->deadline);
	w->deadline.tv_sec += seconds;
	w->seconds = seconds;
	w->what = what;
	w->armed = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void hm_watchdog_disarm(struct hm_watchdog *w)
{
	pthread_mutex_lock(&w->lock);
	w->armed = false;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

bool hm_watchdog_fired(struct hm_watchdog *w, const char **ret_what,
		       unsigned *ret_seconds)
{
	bool fired;

	pthread_mutex_lock(&w->lock);
	fired = w->fired;
	if (ret_what)
		*ret_what = w->what;
	if (ret_seconds)
		*ret_seconds = w->seconds;
	pthread_mutex_unlock(&w->lock);
	return fired;
}

void hm_watchdog_stop(struct hm_watchdog *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

unsigned hm_watchdog_budget(const struct hm_watchdog *w, unsigned long long bytes,
			    unsigned mib_per_s)
{
	unsigned long long s = HM_WATCHDOG_STEP_SECONDS +
			       (bytes >> 20) / (mib_per_s ? mib_per_s : 1);

	if (w->fixed)
		return w->fixed;
	return s > HM_WATCHDOG_MAX ? HM_WATCHDOG_MAX : (unsigned)s;
}

int hm_watchdog_error(struct hm_watchdog *w, const char *who, struct hm_error *err)
{
	const char *what;
	unsigned seconds;

	if (!hm_watchdog_fired(w, &what, &seconds))
		return 0;
	return hm_error_set(err, HM_ERR_IO, 0,
			    "%s stopped answering: '%s' took more than %u s, so it was stopped (HALLMARK_APPLIANCE_TIMEOUT sets every step's budget)",
			    who, what, seconds);
}
