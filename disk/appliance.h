/*
 * The libguestfs appliance session, written once for the disk source and
 * the disk writer: create the handle (libguestfs never prints: its errors
 * come back here), pick the backend, start the watchdog, launch with the
 * hints a failed launch needs, arm each step's budget, shut down within
 * a budget, and turn libguestfs's last error into a struct hm_error.
 *
 * disk/ is the only code that speaks libguestfs; hallmark-verify links
 * none of it.
 */
#ifndef HALLMARK_DISK_APPLIANCE_H
#define HALLMARK_DISK_APPLIANCE_H

#include <guestfs.h>
#include <stdbool.h>

#include "hallmark/error.h"
#include "hallmark/progress.h"

struct hm_appliance {
	guestfs_h *g;
	struct hm_watchdog *wd;       /* kills qemu when a step hangs */
	bool launched;
	struct hm_progress *progress; /* hm_appliance_set_progress */
	struct hm_tool_log *log;      /* libguestfs's and the appliance's lines */
};

/*
 * A handle, not launched yet: the watchdog started (HM_ERR_USAGE for a
 * bad HALLMARK_APPLIANCE_TIMEOUT), libguestfs's error handler removed,
 * the direct backend chosen (qemu runs here, as this user, and can open
 * /proc/PID/fd/N of this process).  Drives are added by the caller.
 * Free with hm_appliance_free() whatever happens.
 */
int hm_appliance_new(struct hm_appliance *a, struct hm_error *err);

/*
 * Report each step (hm_appliance_step's what) as p's detail, libguestfs's
 * progress events as its bytes done of how many, and libguestfs's
 * warnings and the appliance's messages as tool lines; those lines are
 * also kept (bounded) for hm_appliance_fail.  p may be NULL.
 */
void hm_appliance_set_progress(struct hm_appliance *a, struct hm_progress *p);

/*
 * Launch.  A failure is HM_ERR_IO "cannot start the libguestfs appliance:
 * MSG (it needs ...)", saying what to install and what to run.
 */
int hm_appliance_launch(struct hm_appliance *a, struct hm_error *err);

/*
 * Give the next step WHAT (a static string) the watchdog budget of a step
 * that moves BYTES at MIB_S MiB/s or more (disk/watchdog.h).
 */
void hm_appliance_step(struct hm_appliance *a, const char *what,
		       unsigned long long bytes, unsigned mib_s);

/*
 * libguestfs's last error on this thread as an hm_error of CODE:
 * "<fmt...>: MSG", MSG on one line without libguestfs's generic
 * debugging advice.  When the watchdog stopped the appliance, its own
 * message instead ("the libguestfs appliance stopped answering: ...").
 * Returns the (negative) code.
 */
int hm_appliance_fail(struct hm_appliance *a, int code, struct hm_error *err,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * libguestfs's last error on this thread, as one line in buf (for a
 * message made elsewhere, e.g. on another thread).
 */
const char *hm_appliance_last_error(guestfs_h *g, char *buf, size_t size);

/*
 * The clean shutdown that flushes the drives (the budget of a step moving
 * BYTES at MIB_S), the watchdog then disarmed.  Only its success means
 * that what the appliance wrote is on the host's disk.
 */
int hm_appliance_shutdown(struct hm_appliance *a, unsigned long long bytes,
			  unsigned mib_s, struct hm_error *err);

/*
 * Close: an appliance still running (a failure path) is shut down within
 * the base budget, then the watchdog stopped.  *ret_hung (may be NULL):
 * the watchdog stopped the appliance at some point.  Accepts a zeroed
 * struct.
 */
void hm_appliance_free(struct hm_appliance *a, bool *ret_hung);

/* Free a NULL-terminated list libguestfs returned.  NULL is a no-op. */
void hm_appliance_free_strings(char **v);

#endif
