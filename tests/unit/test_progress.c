/*
 * Unit tests: progress of long steps (lib/progress.c): the reports a
 * front-end gets, the heartbeat of a silent step, the counting source and
 * the bounded log of a tool's lines.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hallmark/entry.h"
#include "hallmark/progress.h"
#include "hallmark/source.h"
#include "hallmark/tree.h"

#define MAX_SEEN 4096

struct seen {
	enum hm_progress_event ev[MAX_SEEN];
	uint64_t done[MAX_SEEN], total[MAX_SEEN];
	double elapsed[MAX_SEEN], eta[MAX_SEEN];
	char msg[MAX_SEEN][64];
	char step[32];
	size_t n;
};

static void collect(void *ctx, const struct hm_progress_report *r)
{
	struct seen *s = ctx;

	if (s->n >= MAX_SEEN)
		return;
	s->ev[s->n] = r->event;
	s->done[s->n] = r->done;
	s->total[s->n] = r->total;
	s->elapsed[s->n] = r->elapsed;
	s->eta[s->n] = r->eta;
	snprintf(s->msg[s->n], sizeof(s->msg[0]), "%s", r->message ? r->message : "");
	snprintf(s->step, sizeof(s->step), "%s", r->step);
	s->n++;
}

static size_t count_ev(const struct seen *s, enum hm_progress_event ev)
{
	size_t i, n = 0;

	for (i = 0; i < s->n; i++)
		n += s->ev[i] == ev;
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

TEST(null_handle_is_a_no_op)
{
	double t = -1;

	CHECK(hm_progress_new(NULL, NULL, false) == NULL);
	hm_progress_begin(NULL, "x", "entries", 3);
	hm_progress_add(NULL, 1);
	hm_progress_set(NULL, 1, 2);
	hm_progress_detail(NULL, "d");
	hm_progress_message(NULL, "m", 1);
	hm_progress_end(NULL, &t);
	CHECK(t == 0);
	hm_progress_free(NULL);
}

TEST(counts_are_rate_limited_and_the_step_ends)
{
	struct seen *s = calloc(1, sizeof(*s));
	struct hm_progress *p;
	double secs = -1;
	int i;

	CHECK(s != NULL);
	p = hm_progress_new(collect, s, false);
	CHECK(p != NULL);
	hm_progress_begin(p, "verify", "entries", 100000);
	for (i = 0; i < 100000; i++)
		hm_progress_add(p, 1);
	hm_progress_end(p, &secs);
	CHECK(secs >= 0);
	CHECK_EQ_STR(s->step, "verify");
	CHECK_EQ_INT(s->ev[0], HM_PROGRESS_BEGIN);
	CHECK_EQ_INT(s->ev[s->n - 1], HM_PROGRESS_END);
	CHECK_EQ_INT(s->done[s->n - 1], 100000);
	CHECK_EQ_INT(s->total[s->n - 1], 100000);
	/* 100000 adds in well under a second or two: a handful of reports,
	 * not one per entry. */
	CHECK(count_ev(s, HM_PROGRESS_UPDATE) < 50);
	/* A step that ended is not reported again. */
	hm_progress_add(p, 1);
	hm_progress_end(p, NULL);
	CHECK_EQ_INT(s->ev[s->n - 1], HM_PROGRESS_END);
	hm_progress_free(p);
	free(s);
}

TEST(rate_and_time_left)
{
	struct seen *s = calloc(1, sizeof(*s));
	struct hm_progress *p;
	int i;

	CHECK(s != NULL);
	p = hm_progress_new(collect, s, false);
	hm_progress_begin(p, "disk", "bytes", 1000);
	/* 100 units every 250 ms: 400/s, so about 1.5 s left at 400. */
	for (i = 1; i <= 6; i++) {
		sleep_ms(250);
		hm_progress_set(p, (uint64_t)i * 100, 1000);
	}
	CHECK(s->n >= 2);
	CHECK_EQ_INT(s->ev[s->n - 1], HM_PROGRESS_UPDATE);
	CHECK(s->eta[s->n - 1] > 0.5 && s->eta[s->n - 1] < 4);
	hm_progress_free(p);
	free(s);
}

TEST(heartbeat_reports_a_silent_step)
{
	struct seen *s = calloc(1, sizeof(*s));
	struct hm_progress *p;

	CHECK(s != NULL);
	p = hm_progress_new(collect, s, true);
	CHECK(p != NULL);
	hm_progress_begin(p, "base", NULL, 0);
	hm_progress_detail(p, "I: downloading packages with apt...");
	sleep_ms(3300);
	hm_progress_end(p, NULL);
	hm_progress_free(p);
	/* Two beats at least, each with the elapsed time and the detail. */
	CHECK(count_ev(s, HM_PROGRESS_UPDATE) >= 2);
	CHECK(s->ev[1] == HM_PROGRESS_UPDATE && s->elapsed[1] >= 1.0);
	CHECK_EQ_STR(s->msg[1], "I: downloading packages with apt...");
	free(s);
}

TEST(messages_lose_control_bytes)
{
	struct seen *s = calloc(1, sizeof(*s));
	struct hm_progress *p = hm_progress_new(collect, s, false);

	CHECK(p != NULL);
	hm_progress_begin(p, "base", NULL, 0);
	hm_progress_message(p, "E: \033[2Jgone", 11);
	CHECK_EQ_INT(s->ev[1], HM_PROGRESS_MESSAGE);
	CHECK_EQ_STR(s->msg[1], "E: ?[2Jgone");
	hm_progress_free(p);
	free(s);
}

TEST(counting_source)
{
	struct seen *s = calloc(1, sizeof(*s));
	struct hm_progress *p = hm_progress_new(collect, s, false);
	struct hm_tree *t = NULL;
	struct hm_source *src = NULL;
	const struct hm_entry *e;
	struct hm_error err = { 0 };
	const char *paths[] = { "/", "/a", "/b", "/c" };
	int i, n = 0, r;

	CHECK(p != NULL);
	CHECK_OK(hm_tree_new(&t, &err), &err);
	for (i = 0; i < 4; i++) {
		struct hm_entry *x = hm_entry_new();

		CHECK(x != NULL);
		CHECK(hm_entry_set_path(x, paths[i], strlen(paths[i])) == 0);
		x->type = i ? HM_TYPE_FILE : HM_TYPE_DIR;
		CHECK_OK(hm_tree_put_take(t, x, false, &err), &err);
	}
	CHECK_OK(hm_tree_source(t, true, &src, &err), &err);
	hm_progress_begin(p, "verify", "entries", 4);
	CHECK_OK(hm_progress_source_take(p, src, &src, &err), &err);
	while ((r = hm_source_next(src, &e, &err)) > 0)
		n++;
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(n, 4);
	hm_progress_end(p, NULL);
	CHECK_EQ_INT(s->done[s->n - 1], 4);
	hm_source_free(src);
	hm_progress_free(p);
	free(s);
}

TEST(tool_log_keeps_errors_and_last_lines)
{
	struct hm_tool_log *l = calloc(1, sizeof(*l));
	char out[1024], line[64], big[600];
	int i;

	CHECK(l != NULL);
	/* Lines split across writes, a carriage return, an error early. */
	hm_tool_log_feed(l, NULL, "I: start\nE: Unable to loc", 25);
	hm_tool_log_feed(l, NULL, "ate package ca-certificats\r\n", 28);
	for (i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "I: line %d\n", i);
		hm_tool_log_feed(l, NULL, line, strlen(line));
	}
	hm_tool_log_summary(l, out, sizeof(out));
	CHECK_EQ_STR(out, "  E: Unable to locate package ca-certificats");

	/* No error line: the last five. */
	memset(l, 0, sizeof(*l));
	for (i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "I: line %d\n", i);
		hm_tool_log_feed(l, NULL, line, strlen(line));
	}
	hm_tool_log_feed(l, NULL, "no newline", 10);
	hm_tool_log_feed(l, NULL, NULL, 0);
	hm_tool_log_summary(l, out, sizeof(out));
	CHECK_EQ_STR(out, "  I: line 36\n  I: line 37\n  I: line 38\n  I: line 39\n  no newline");

	/* A long line keeps its start, cut to the width. */
	memset(l, 0, sizeof(*l));
	memset(big, 'x', sizeof(big));
	big[0] = 'E';
	big[1] = ':';
	big[2] = ' ';
	hm_tool_log_feed(l, NULL, big, sizeof(big));
	hm_tool_log_feed(l, NULL, "\n", 1);
	hm_tool_log_summary(l, out, sizeof(out));
	CHECK_EQ_INT(strlen(out), 2 + HM_TOOL_LOG_WIDTH - 1);

	/* Nothing said: empty. */
	memset(l, 0, sizeof(*l));
	hm_tool_log_summary(l, out, sizeof(out));
	CHECK_EQ_STR(out, "");
	free(l);
}
