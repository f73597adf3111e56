/*
 * Progress of long steps (include/hallmark/progress.h): counts turned
 * into rate and time left, rate-limited reports, the heartbeat thread,
 * a counting source for verify, and the bounded log of a tool's lines.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hallmark/entry.h"
#include "hallmark/progress.h"
#include "hallmark/source.h"

/* At most this many UPDATE reports a second: a terminal line redrawn
 * more often only costs time. */
#define UPDATE_INTERVAL 0.2
#define HEARTBEAT_INTERVAL 1.0
/* The rate is measured over a sliding window, so that a slow start
 * (launching an appliance) does not make the time left wrong for ever. */
#define RATE_WINDOW 5.0

struct hm_progress {
	hm_progress_fn fn;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool have_thread, stopping;

	char *step, *detail;
	const char *unit;
	uint64_t done, total;
	double t_begin, t_report;
	/* Two samples of (time, done) for the windowed rate. */
	double w_time;
	uint64_t w_done;
	double rate;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Called with the lock held. */
static void report(struct hm_progress *p, enum hm_progress_event ev,
		   const char *message, double t)
{
	struct hm_progress_report r = { 0 };

	if (!p->step)
		return;
	r.event = ev;
	r.step = p->step;
	r.unit = p->unit;
	r.done = p->done;
	r.total = p->total;
	r.elapsed = t - p->t_begin;
	r.rate = p->rate;
	r.eta = -1;
	if (p->unit && p->total && p->rate > 0 && p->done <= p->total)
		r.eta = (double)(p->total - p->done) / p->rate;
	r.message = message ? message : p->detail;
	p->t_report = t;
	p->fn(p->ctx, &r);
}

static void *heartbeat(void *arg)
{
	struct hm_progress *p = arg;
	struct timespec until;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->wake, &p->lock, &until);
		if (!p->stopping && p->step) {
			double t = now_s();

			if (t - p->t_report >= HEARTBEAT_INTERVAL)
				report(p, HM_PROGRESS_UPDATE, NULL, t);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct hm_progress *hm_progress_new(hm_progress_fn fn, void *ctx, bool heartbeat_thread)
{
	struct hm_progress *p;

	if (!fn || !(p = calloc(1, sizeof(*p))))
		return NULL;
	p->fn = fn;
	p->ctx = ctx;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (heartbeat_thread) {
		if (pthread_create(&p->thread, NULL, heartbeat, p) != 0) {
			hm_progress_free(p);
			return NULL;
		}
		p->have_thread = true;
	}
	return p;
}

void hm_progress_free(struct hm_progress *p)
{
	if (!p)
		return;
	if (p->have_thread) {
		pthread_mutex_lock(&p->lock);
		p->stopping = true;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p->step);
	free(p->detail);
	free(p);
}

static void end_locked(struct hm_progress *p, double *ret_seconds)
{
	double t = now_s();

	if (ret_seconds)
		*ret_seconds = p->step ? t - p->t_begin : 0;
	if (!p->step)
		return;
	report(p, HM_PROGRESS_END, NULL, t);
	free(p->step);
	free(p->detail);
	p->step = p->detail = NULL;
}

void hm_progress_begin(struct hm_progress *p, const char *step,
		       const char *unit, uint64_t total)
{
	double t;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	end_locked(p, NULL);
	t = now_s();
	p->step = strdup(step);
	p->unit = unit;
	p->done = 0;
	p->total = total;
	p->rate = 0;
	p->t_begin = p->w_time = t;
	p->w_done = 0;
	if (p->step)
		report(p, HM_PROGRESS_BEGIN, NULL, t);
	pthread_mutex_unlock(&p->lock);
}

/* Called with the lock held, after done moved. */
static void moved(struct hm_progress *p)
{
	double t = now_s();

	if (t - p->w_time >= 1.0) {
		double r = (double)(p->done - p->w_done) / (t - p->w_time);

		/* Smooth over the window: the newest second weighs 1/RATE_WINDOW. */
		p->rate = p->rate > 0 ? p->rate + (r - p->rate) / RATE_WINDOW : r;
		p->w_time = t;
		p->w_done = p->done;
	}
	if (t - p->t_report >= UPDATE_INTERVAL)
		report(p, HM_PROGRESS_UPDATE, NULL, t);
}

void hm_progress_set(struct hm_progress *p, uint64_t done, uint64_t total)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->total = total;
	if (done < p->done) {     /* a count that restarted (the next sub-step) */
		p->w_done = done;
		p->w_time = now_s();
		p->rate = 0;
	}
	p->done = done;
	moved(p);
	pthread_mutex_unlock(&p->lock);
}

void hm_progress_add(struct hm_progress *p, uint64_t n)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->done += n;
	moved(p);
	pthread_mutex_unlock(&p->lock);
}

void hm_progress_detail(struct hm_progress *p, const char *detail)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	free(p->detail);
	p->detail = detail ? strdup(detail) : NULL;
	pthread_mutex_unlock(&p->lock);
}

void hm_progress_message(struct hm_progress *p, const char *line, size_t len)
{
	char *s;
	size_t i;

	if (!p || !(s = malloc(len + 1)))
		return;
	/* A tool's bytes must not drive the terminal (escape sequences). */
	for (i = 0; i < len; i++)
		s[i] = ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) ? '?' : line[i];
	s[len] = '\0';
	pthread_mutex_lock(&p->lock);
	report(p, HM_PROGRESS_MESSAGE, s, now_s());
	free(p->detail);
	p->detail = s;
	pthread_mutex_unlock(&p->lock);
}

void hm_progress_end(struct hm_progress *p, double *ret_seconds)
{
	if (!p) {
		if (ret_seconds)
			*ret_seconds = 0;
		return;
	}
	pthread_mutex_lock(&p->lock);
	end_locked(p, ret_seconds);
	pthread_mutex_unlock(&p->lock);
}

/* ---- a counting source ------------------------------------------------ */

struct counting_source {
	struct hm_source base;
	struct hm_source *inner;
	struct hm_progress *p;
};

static int counting_next(struct hm_source *src, const struct hm_entry **ret,
			 struct hm_error *err)
{
	struct counting_source *c = (struct counting_source *)src;
	int r = hm_source_next(c->inner, ret, err);

	if (r > 0)
		hm_progress_add(c->p, 1);
	return r;
}

static void counting_free(struct hm_source *src)
{
	struct counting_source *c = (struct counting_source *)src;

	hm_source_free(c->inner);
	free(c);
}

static void counting_query(struct hm_source *src, const struct hm_digest_query *q)
{
	struct counting_source *c = (struct counting_source *)src;

	hm_source_set_digest_query(c->inner, q);
}

static const struct hm_source_ops counting_ops = {
	.kind = "progress",
	.next = counting_next,
	.free = counting_free,
	.set_digest_query = counting_query,
};

int hm_progress_source_take(struct hm_progress *p, struct hm_source *inner,
			    struct hm_source **ret, struct hm_error *err)
{
	struct counting_source *c;

	if (!p) {
		*ret = inner;
		return 0;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		hm_source_free(inner);
		*ret = NULL;
		return hm_error_nomem(err);
	}
	c->base.ops = &counting_ops;
	c->inner = inner;
	c->p = p;
	*ret = &c->base;
	return 0;
}

/* ---- the bounded log of a tool ----------------------------------------- */

/* apt and mmdebstrap start errors with "E: "; most others say "error". */
static bool is_error_line(const char *s)
{
	return !strncmp(s, "E: ", 3) || !strncmp(s, "error: ", 7) ||
	       !strncmp(s, "Error: ", 7) || !strncmp(s, "fatal: ", 7);
}

static void keep_line(struct hm_tool_log *l, struct hm_progress *p)
{
	char *s = l->partial;
	size_t n = l->partial_len, i;

	while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	s[n] = '\0';
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = '?';
	if (n) {
		hm_progress_message(p, s, n);
		memcpy(l->lines[l->next], s, n + 1);
		l->next = (l->next + 1) % HM_TOOL_LOG_LINES;
		if (l->n < HM_TOOL_LOG_LINES)
			l->n++;
		if (is_error_line(s) && l->n_errors < sizeof(l->errors) / sizeof(l->errors[0]))
			memcpy(l->errors[l->n_errors++], s, n + 1);
	}
	l->partial_len = 0;
	l->partial_cut = false;
}

void hm_tool_log_feed(struct hm_tool_log *l, struct hm_progress *p,
		      const char *buf, size_t len)
{
	size_t i;

	if (!len) {
		if (l->partial_len)
			keep_line(l, p);
		return;
	}
	for (i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			keep_line(l, p);
			continue;
		}
		/* A longer line keeps its start: that is where tools say
		 * what went wrong. */
		if (l->partial_len < sizeof(l->partial) - 1)
			l->partial[l->partial_len++] = buf[i];
		else
			l->partial_cut = true;
	}
}

void hm_tool_log_summary(const struct hm_tool_log *l, char *out, size_t size)
{
	size_t len = 0;
	unsigned i, first, count;

	if (!size)
		return;
	out[0] = '\0';
	if (l->n_errors) {
		for (i = 0; i < l->n_errors && len < size; i++)
			len += (size_t)snprintf(out + len, size - len, "%s  %s",
						i ? "\n" : "", l->errors[i]);
		return;
	}
	count = l->n < 5 ? l->n : 5;
	first = (l->next + HM_TOOL_LOG_LINES - count) % HM_TOOL_LOG_LINES;
	for (i = 0; i < count && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s  %s", i ? "\n" : "",
					l->lines[(first + i) % HM_TOOL_LOG_LINES]);
}
