/*
 * Signal-time cleanup: a small registry of paths (temporary files, and
 * staging folders removed with their contents) that a SIGINT, SIGTERM or
 * SIGHUP removes before the process dies of that signal.  The handler
 * uses only async-signal-safe calls on fixed-size buffers, then re-raises
 * the signal with its default action so that the exit status still says
 * which signal ended the process.  SIGKILL cannot be caught: what it
 * leaves, the next build reclaims (see builder/cmd_build.c).
 */
#ifndef HALLMARK_CLEANUP_H
#define HALLMARK_CLEANUP_H

#include <signal.h>
#include <stdbool.h>

/* At most this many paths are registered at once; more are not tracked. */
#define HM_CLEANUP_SLOTS 32

/*
 * Install the handlers, once, at the start of main().  A signal that was
 * ignored when the program started (nohup, a background job of a
 * non-interactive shell) stays ignored.  0 or -errno.
 */
int hm_cleanup_install(void);

/*
 * Remove path when a signal ends the process: the file, or with tree the
 * folder and everything in it (without following symlinks).  A relative
 * path is made absolute now.  Returns a slot number for
 * hm_cleanup_forget(), or -1 when the path is too long or every slot is
 * taken (the path is then simply not removed on a signal).
 */
int hm_cleanup_add(const char *path, bool tree);

/* Stop tracking a slot (the path was committed or removed); -1 is a no-op. */
void hm_cleanup_forget(int slot);

/* Hold the signals back while a path changes owner (e.g. a staging folder
 * becomes the published build): between block and unblock the handler
 * cannot run. */
void hm_cleanup_block(sigset_t *ret_old);
void hm_cleanup_unblock(const sigset_t *old);

#endif
