/*
 * Progress of long steps (a Debian bootstrap, a disk build, the verify
 * of a big tree), reported to a front-end that renders it.
 *
 * The library never prints: the code doing the work says which step it
 * is in, how far it got (entries or bytes done, of how many when known)
 * and what the tools it runs say; hm_progress turns that into reports
 * (rate, time left, elapsed seconds) and hands them to the callback the
 * front-end gave (lib/cli.c draws them on a terminal, or one line per
 * step off one).  Updates are rate-limited to a few per second; when
 * asked, a heartbeat thread reports a step that has been silent for a
 * second, so a step blocked in a library call (libguestfs) still shows
 * its elapsed time.  The callback runs under the handle's lock, from the
 * working thread or the heartbeat's, never from two at once.
 *
 * Every function accepts a NULL handle and then does nothing: code that
 * reports progress does not test whether anyone listens.
 */
#ifndef HALLMARK_PROGRESS_H
#define HALLMARK_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "hallmark/error.h"

struct hm_progress;
struct hm_source;

enum hm_progress_event {
	HM_PROGRESS_BEGIN,    /* a step started */
	HM_PROGRESS_UPDATE,   /* counts moved, or the heartbeat */
	HM_PROGRESS_MESSAGE,  /* a line from a tool (in message) */
	HM_PROGRESS_END,      /* the step finished (elapsed: its time) */
};

struct hm_progress_report {
	enum hm_progress_event event;
	const char *step;      /* "base", "disk", "verify"... */
	const char *unit;      /* "entries", "bytes"; NULL: no counts */
	uint64_t done, total;  /* total 0: not known */
	double elapsed;        /* seconds since the step began */
	double rate;           /* units per second; 0: not known yet */
	double eta;            /* seconds left; < 0: not known */
	/* MESSAGE: the line (control bytes replaced); else the step's
	 * latest detail ("I: downloading packages with apt..."), or NULL. */
	const char *message;
};

typedef void (*hm_progress_fn)(void *ctx, const struct hm_progress_report *r);

/*
 * A handle reporting to fn(ctx, ...); heartbeat: a thread reports each
 * step silent for a second (for a terminal's live line).  Returns NULL
 * without memory or thread (progress is then not shown, nothing fails).
 * Free with hm_progress_free().
 */
struct hm_progress *hm_progress_new(hm_progress_fn fn, void *ctx, bool heartbeat);
void hm_progress_free(struct hm_progress *p);      /* accepts NULL */

/* A step begins (the one before, if any, ends first); unit NULL: no
 * counts; total 0: not known.  step is copied. */
void hm_progress_begin(struct hm_progress *p, const char *step,
		       const char *unit, uint64_t total);
/* Counts: done so far of total (set; total 0: not known; a done lower
 * than before starts the rate afresh), or n more (add). */
void hm_progress_set(struct hm_progress *p, uint64_t done, uint64_t total);
void hm_progress_add(struct hm_progress *p, uint64_t n);
/* The step's detail for the live line, copied; NULL clears it. */
void hm_progress_detail(struct hm_progress *p, const char *detail);
/* A line a tool printed (len bytes, no newline): reported at once as a
 * MESSAGE (the front-end shows it with --verbose), and it becomes the
 * step's detail. */
void hm_progress_message(struct hm_progress *p, const char *line, size_t len);
/* The current step ends; ret_seconds (may be NULL): its time.  No step:
 * nothing happens. */
void hm_progress_end(struct hm_progress *p, double *ret_seconds);

/*
 * A source that yields inner's entries unchanged and counts them, one
 * per entry, on p's current step.  Takes inner (freed with
 * the wrapper, or at once on error, *ret then NULL).  p NULL: *ret is
 * inner itself.
 */
int hm_progress_source_take(struct hm_progress *p, struct hm_source *inner,
			    struct hm_source **ret, struct hm_error *err);

/*
 * The last lines a tool printed, kept in bounded memory for the message
 * of its failure: at most HM_TOOL_LOG_LINES lines of HM_TOOL_LOG_WIDTH
 * bytes, the oldest dropped first, plus the first lines that report an
 * error ("E: ...", "error: ...") even when later lines push them out.
 */
#define HM_TOOL_LOG_LINES 16
#define HM_TOOL_LOG_WIDTH 240
struct hm_tool_log {
	char lines[HM_TOOL_LOG_LINES][HM_TOOL_LOG_WIDTH];
	unsigned next, n;
	char errors[4][HM_TOOL_LOG_WIDTH];
	unsigned n_errors;
	char partial[HM_TOOL_LOG_WIDTH];  /* a line not ended yet */
	size_t partial_len;
	bool partial_cut;
};

/*
 * Feed len bytes a tool wrote; each complete line is kept and, when p is
 * not NULL, reported with hm_progress_message.  Call with len 0 at the
 * end of the stream to flush a last line without newline.
 */
void hm_tool_log_feed(struct hm_tool_log *l, struct hm_progress *p,
		      const char *buf, size_t len);
/*
 * The relevant lines for a failure message, into out (size bytes): the
 * error lines when there are any, else the last few lines; each on its
 * own line, indented by two spaces.  "" when the tool said nothing.
 */
void hm_tool_log_summary(const struct hm_tool_log *l, char *out, size_t size);

#endif
