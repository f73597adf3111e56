/*
 * A watchdog for a helper process that can stop answering.
 *
 * libguestfs has no timeout on its calls: when the appliance (a qemu
 * under emulation) stops answering, the call waits for ever, and so do a
 * build and a CI run.  The caller arms the watchdog with a budget before
 * each step and disarms it after; a thread kills the process (SIGKILL)
 * when a budget runs out, so the pending call fails and the caller can
 * say which step hung.  Knows nothing of libguestfs: it gets a pid.
 */
#ifndef HALLMARK_DISK_WATCHDOG_H
#define HALLMARK_DISK_WATCHDOG_H

#include <stdbool.h>
#include <sys/types.h>

#include "hallmark/error.h"

struct hm_watchdog;

/* The longest budget: a day. */
#define HM_WATCHDOG_MAX 86400u

/*
 * Start the watchdog thread (disarmed, no process yet).  Fails (usage)
 * when HALLMARK_APPLIANCE_TIMEOUT is set but not a number in range.
 */
int hm_watchdog_start(struct hm_watchdog **ret, struct hm_error *err);

/* The process to kill when a budget runs out (0: none yet). */
void hm_watchdog_set_pid(struct hm_watchdog *w, pid_t pid);

/*
 * Give the step WHAT (a static string, "copy the tree onto the disk")
 * SECONDS from now.  Re-arming replaces the budget.
 */
void hm_watchdog_arm(struct hm_watchdog *w, unsigned seconds, const char *what);
void hm_watchdog_disarm(struct hm_watchdog *w);

/*
 * Did a budget run out?  Then *ret_what and *ret_seconds (either may be
 * NULL) say which step and what it had.
 */
bool hm_watchdog_fired(struct hm_watchdog *w, const char **ret_what,
		       unsigned *ret_seconds);

/* Stop the thread and free.  NULL is a no-op. */
void hm_watchdog_stop(struct hm_watchdog *w);

/* The base budget of a step, before the bytes it moves. */
#define HM_WATCHDOG_STEP_SECONDS 300u

/*
 * The budget of a step that moves BYTES: HM_WATCHDOG_STEP_SECONDS plus one
 * second per MIB_PER_S MiB, at most HM_WATCHDOG_MAX.  The rate is the
 * floor below which the step has stopped, well under what it does under
 * emulation.  HALLMARK_APPLIANCE_TIMEOUT (seconds), when set, is every
 * step's budget instead.
 */
unsigned hm_watchdog_budget(const struct hm_watchdog *w, unsigned long long bytes,
			    unsigned mib_per_s);

/*
 * When a budget ran out: an HM_ERR_IO error "WHO stopped answering: 'STEP'
 * took more than N s, so it was stopped (...)" and its code; else 0.
 */
int hm_watchdog_error(struct hm_watchdog *w, const char *who, struct hm_error *err);

#endif
