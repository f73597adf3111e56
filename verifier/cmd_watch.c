/*
 * `hallmark watch`: check a live directory tree against a signed manifest
 * as it changes.  A full verify at start (and whenever events were lost),
 * then each change checked at once, each finding written as it happens
 * (one text line or one JSON object per line, flushed) with the process
 * that made the change, and recorded in the history with --db.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "hallmark/cli.h"
#include "hallmark/compare.h"
#include "hallmark/history.h"
#include "hallmark/limits.h"
#include "hallmark/manifest.h"
#include "hallmark/policy.h"
#include "hallmark/report.h"
#include "hallmark/sign.h"
#include "hallmark/trust.h"
#include "hallmark/watch.h"
#include "verifier.h"

#define HM_MAX_PUBKEYS 16

enum { WATCH_TEXT, WATCH_JSON };

static const char watch_usage[] =
	"usage: hallmark watch dir:PATH --manifest FILE --pubkey FILE...\n"
	"       [--signature FILE] [--policy FILE] [--db FILE] [--host NAME]\n"
	"       [--format text|json] [--threads N] [--max-pending N]\n"
	"\n"
	"Watch a live directory tree and check each change against a signed\n"
	"manifest as it happens, naming the process that made it.  A full\n"
	"verify runs at start and whenever change events were lost (the\n"
	"kernel's queue overflowed, or more paths changed at once than\n"
	"--max-pending); each says why.  Needs root (fanotify filesystem\n"
	"marks, Linux 5.9 or later).  Runs until SIGINT or SIGTERM.\n"
	"\n"
	"  -m, --manifest FILE      the manifest (required)\n"
	"  -k, --pubkey FILE        a pinned public key; repeat for several (required)\n"
	"  -s, --signature FILE     the signature (default: MANIFEST.sig)\n"
	"  -p, --policy FILE        paths ignored, allowed to change or to be added\n"
	"  -d, --db FILE            record each full scan, and each checked batch of\n"
	"                           changes that found drift, in this history\n"
	"  -H, --host NAME          host name recorded in the history\n"
	"  -f, --format FORMAT      text (default) or json (one object per line)\n"
	"  -j, --threads N          hashing threads of full scans (default: CPUs)\n"
	"      --max-pending N      changed paths held between checks before a\n"
	"                           full scan is run instead (default: 65536)\n"
	"  -h, --help               show this help\n"
	"\n"
	"exit: 0 stopped by a signal, 2 usage/input/I/O error (or fanotify is\n"
	"not available), 3 trust failure\n";

struct watch_out {
	int fmt;
	const char *target;
	char batch_target[4200];
	struct hm_history *hist;
	struct hm_report rep;       /* the fields every recorded run shares */
	struct hm_finding_spool *spool;
	time_t started;
	struct hm_buf line;
};

static void now_text(char out[21])
{
	hm_time_format(time(NULL), out);
}

/* Bytes a terminal would act on become \ooo; the rest is already
 * escaped text (paths, values, the cause). */
static void put_safe(struct hm_buf *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			hm_buf_addf(b, "\\%03o", c);
		else
			hm_buf_addc(b, (char)c);
	}
}

static int emit(struct watch_out *o, json_t *j, struct hm_error *err)
{
	int r = 0;

	if (j) {
		char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

		json_decref(j);
		if (!s)
			return hm_error_nomem(err);
		r = fputs(s, stdout) < 0 || fputc('\n', stdout) < 0;
		free(s);
	} else {
		r = fwrite(o->line.data, 1, o->line.len, stdout) != o->line.len;
	}
	if (r || fflush(stdout) != 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot write the output");
	return 0;
}

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static int on_scan_begin(void *ctx, enum hm_watch_scan_reason why,
			 struct hm_error *err)
{
	struct watch_out *o = ctx;
	char t[21];

	o->started = time(NULL);
	now_text(t);
	if (o->fmt == WATCH_JSON) {
		json_t *j = json_pack("{s:s, s:s, s:s}", "event", "scan-begin",
				      "time", t, "reason",
				      hm_watch_scan_reason_text(why));
		return emit(o, j, err);
	}
	hm_buf_reset(&o->line);
	hm_buf_addf(&o->line, "%s full scan: %s\n", t, hm_watch_scan_reason_text(why));
	return emit(o, NULL, err);
}

static int on_finding(void *ctx, const struct hm_finding *f,
		      const struct hm_watch_cause *who, struct hm_error *err)
{
	struct watch_out *o = ctx;
	struct hm_buf path = HM_BUF_INIT;
	char t[21];
	int r;

	if (o->spool && (r = hm_finding_spool_add(o->spool, f, err)) < 0)
		return r;
	now_text(t);
	if (hm_escape(&path, f->path, f->path_len, 0) < 0 ||
	    hm_buf_addc(&path, '\0') < 0) {
		hm_buf_free(&path);
		return hm_error_nomem(err);
	}
	if (o->fmt == WATCH_JSON) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}",
				      "event", "finding", "time", t,
				      "source", who ? "change" : "scan",
				      "kind", hm_finding_kind_name(f->kind),
				      "path", path.data,
				      "expected", jstr_or_null(f->expected),
				      "actual", jstr_or_null(f->actual),
				      "detail", jstr_or_null(f->detail));

		if (j && who) {
			json_t *p = who->exited ?
				json_pack("{s:i, s:b}", "pid", (int)who->pid, "exited", 1) :
				json_pack("{s:i, s:b, s:I, s:s, s:s, s:s}",
					  "pid", (int)who->pid, "exited", 0,
					  "uid", (json_int_t)who->uid, "user", who->user,
					  "exe", who->exe, "cmdline", who->cmdline);

			if (json_object_set_new(j, "process", p) < 0) {
				json_decref(j);
				j = NULL;
			}
		}
		hm_buf_free(&path);
		return j ? emit(o, j, err) : hm_error_nomem(err);
	}
	hm_buf_reset(&o->line);
	hm_buf_addf(&o->line, "%s drift: %s %s", t, hm_finding_kind_name(f->kind),
		    path.data);
	if (f->expected) {
		hm_buf_adds(&o->line, " expected ");
		put_safe(&o->line, f->expected);
	}
	if (f->actual) {
		hm_buf_adds(&o->line, f->expected ? ", found " : " found ");
		put_safe(&o->line, f->actual);
	}
	if (f->detail) {
		hm_buf_adds(&o->line, " (");
		put_safe(&o->line, f->detail);
		hm_buf_adds(&o->line, ")");
	}
	r = hm_buf_addc(&o->line, '\n');
	hm_buf_free(&path);
	return r < 0 ? hm_error_nomem(err) : emit(o, NULL, err);
}

/*
 * A full scan is recorded as a run like verify's; a batch of changes as a
 * run of its own only when it found drift (target "TARGET (watch)"), so
 * the history is not one row per quiet write.
 */
static int on_checked(void *ctx, int why, const struct hm_compare_stats *st,
		      struct hm_error *err)
{
	struct watch_out *o = ctx;
	char t[21];
	int r = 0;

	if (why >= 0) {
		now_text(t);
		if (o->fmt == WATCH_JSON) {
			json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}",
					      "event", "scan-end", "time", t, "reason",
					      hm_watch_scan_reason_text(why),
					      "entries", (json_int_t)st->expected,
					      "compared", (json_int_t)st->matched,
					      "findings", (json_int_t)st->total_findings);
			r = emit(o, j, err);
		} else {
			hm_buf_reset(&o->line);
			hm_buf_addf(&o->line, "%s full scan: done, %llu entries compared, %llu findings\n",
				    t, (unsigned long long)st->matched,
				    (unsigned long long)st->total_findings);
			r = emit(o, NULL, err);
		}
		if (r < 0)
			return r;
	}
	if (o->hist && (why >= 0 || st->total_findings)) {
		o->rep.started = why >= 0 ? o->started : time(NULL);
		o->rep.finished = time(NULL);
		o->rep.target = why >= 0 ? o->target : o->batch_target;
		o->rep.stats = st;
		o->rep.spool = o->spool;
		o->rep.exit_code = st->total_findings ? HM_EXIT_DRIFT : HM_EXIT_OK;
		r = hm_history_record(o->hist, &o->rep, NULL, err);
	}
	if (o->spool) {
		hm_finding_spool_free(o->spool);
		o->spool = NULL;
		if (r == 0)
			r = hm_finding_spool_new(NULL, &o->spool, err);
	}
	return r;
}

int cmd_watch(int argc, char **argv)
{
	static const struct hm_option_word formats[] = {
		{ "text", WATCH_TEXT }, { "json", WATCH_JSON }, { NULL, 0 },
	};
	const char *manifest = NULL, *sig = NULL, *policy_path = NULL;
	const char *host = NULL, *db_path = NULL, *target, *root;
	const char *pubkey_paths[HM_MAX_PUBKEYS];
	struct hm_option_list pubkeys = { pubkey_paths, HM_MAX_PUBKEYS, 0 };
	unsigned long long threads = 0, max_pending = HM_LIMIT_WATCH_PENDING;
	int fmt = WATCH_TEXT, nargs, rc = HM_EXIT_ERROR, r, sfd = -1;
	const struct hm_option opts[] = {
		HM_OPT_STRING('m', "manifest", &manifest),
		HM_OPT_PUBKEYS(&pubkeys),
		HM_OPT_STRING('s', "signature", &sig),
		HM_OPT_STRING('p', "policy", &policy_path),
		HM_OPT_HOST(&host),
		HM_OPT_DB(&db_path),
		HM_OPT_FORMAT(&fmt, formats, "output format"),
		HM_OPT_THREADS(&threads),
		HM_OPT_UINT(0, "max-pending", &max_pending, 1,
			    HM_LIMIT_WATCH_PENDING, NULL),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	const struct hm_cli_command cmd = {
		"watch", watch_usage, NULL, opts, HM_OPTIONS_GETOPT_TEXT,
	};
	struct hm_pubkey *keys[HM_MAX_PUBKEYS] = { NULL };
	struct hm_watch_callbacks cb = { on_scan_begin, on_finding, on_checked, NULL };
	struct hm_watch_options wopt = { 0 };
	struct watch_out o = { .line = HM_BUF_INIT };
	struct hm_trusted_manifest *tm = NULL;
	struct hm_policy *policy = NULL;
	struct hm_watch *w = NULL;
	struct hm_error err = { 0 };
	char hostname[256];
	size_t n_keys, i;
	sigset_t mask;
	struct stat st;

	if ((r = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return r;
	if (nargs != 1)
		return hm_cli_usage(&cmd);
	n_keys = pubkeys.n;
	target = argv[0];
	/* As for verify, a bare path to a directory means dir:. */
	if (strncmp(target, "dir:", 4) == 0 && target[4])
		root = target + 4;
	else if (!strchr(target, ':') && stat(target, &st) == 0 && S_ISDIR(st.st_mode))
		root = target;
	else
		return hm_cli_fail("watch: target '%s' is not a directory: only dir:PATH can be watched",
				   target);
	if (!manifest)
		return hm_cli_fail("--manifest is required");
	if (n_keys == 0)
		return hm_cli_fail("--pubkey is required: watch never skips the signature check");

	/* The watch first: a host that cannot watch is told before anything
	 * else is read. */
	wopt.threads = (unsigned)threads;
	wopt.max_pending = (size_t)max_pending;
	if (policy_path && (r = hm_policy_load(policy_path, &policy, &err)) < 0)
		goto fail;
	if ((r = hm_watch_new(root, policy, &wopt, &w, &err)) < 0)
		goto fail;
	for (i = 0; i < n_keys; i++)
		if ((r = hm_pubkey_load(pubkey_paths[i], &keys[i], &err)) < 0)
			goto fail;
	if ((r = hm_trust_open(manifest, sig, keys, n_keys, time(NULL), &tm, &err)) < 0)
		goto fail;
	if (db_path) {
		if ((r = hm_history_open(db_path, HM_HISTORY_CREATE, &o.hist, &err)) < 0 ||
		    (r = hm_history_check_serial(o.hist, tm->header->name, tm->key_id,
						 tm->header->serial, NULL, &err)) < 0)
			goto fail;
		if (!host) {
			if (gethostname(hostname, sizeof(hostname)) < 0)
				snprintf(hostname, sizeof(hostname), "localhost");
			hostname[sizeof(hostname) - 1] = '\0';
			host = hostname;
		}
		if ((r = hm_finding_spool_new(NULL, &o.spool, &err)) < 0)
			goto fail;
	}
	/* The manifest is held in memory, checked whole against its
	 * signature once, and every check after reads from it. */
	if ((r = hm_watch_load_manifest(w, hm_manifest_reader_source(tm->reader), &err)) < 0 ||
	    (r = hm_trust_finish(tm, &err)) < 0)
		goto fail;

	o.fmt = fmt;
	o.target = target;
	snprintf(o.batch_target, sizeof(o.batch_target), "%s (watch)", target);
	o.rep.tool_version = HM_VERSION;
	o.rep.host = host;
	o.rep.manifest_path = manifest;
	o.rep.manifest_name = tm->header->name;
	o.rep.serial = tm->header->serial;
	o.rep.manifest_sha256 = tm->sha256_hex;
	o.rep.key_id = tm->key_id;
	o.rep.policy_path = policy_path;
	cb.ctx = &o;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		r = hm_error_set(&err, HM_ERR_IO, errno, "signalfd");
		goto fail;
	}
	/* The mark is in place before the start scan: a change during the
	 * scan is found by one or the other, never by neither. */
	if ((r = hm_watch_full_scan(w, HM_WATCH_SCAN_START, &cb, &err)) < 0 ||
	    (r = hm_watch_run(w, sfd, &cb, &err)) < 0)
		goto fail;
	rc = HM_EXIT_OK;
	goto out;
fail:
	rc = hm_cli_error(&err);
out:
	if (sfd >= 0)
		close(sfd);
	hm_watch_free(w);
	hm_history_free(o.hist);
	hm_finding_spool_free(o.spool);
	hm_buf_free(&o.line);
	hm_trust_free(tm);
	hm_policy_free(policy);
	for (i = 0; i < n_keys; i++)
		hm_pubkey_free(keys[i]);
	return rc;
}
