/*
 * Front-end error reporting (see include/hallmark/cli.h).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/cli.h"
#include "hallmark/progress.h"

const char *hm_cli_prog = "hallmark";

/*
 * What the last hm_cli_parse found, for hm_cli_usage: one command runs
 * per process, and the commands call hm_cli_usage with no more than the
 * command.  said: the command has already told what is wrong
 * (hm_cli_fail), so hm_cli_usage only points at --help.
 */
static char *const *parsed_args;
static int parsed_nargs = -1;
static bool said;

static void on_sigpipe(int sig)
{
	(void)sig;
}

/*
 * A reader that goes away (`| head`) must not kill the process: writes
 * then fail with EPIPE, the command finishes its work (verify records its
 * run) and says that its output was cut.  A handler rather than SIG_IGN,
 * so that programs run by hallmark get the default disposition at exec.
 */
void hm_cli_init(void)
{
	struct sigaction sa = { 0 };

	sa.sa_handler = on_sigpipe;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGPIPE, &sa, NULL);
}

/* stdout is a pipe whose reader is gone (poll says POLLERR then). */
static bool stdout_cut(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };
	struct stat st;

	return fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode) &&
	       poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

int hm_cli_error(const struct hm_error *err)
{
	/* Some writers lose errno; a failed stdout with no reader says it. */
	bool cut = err->sys_errno == EPIPE ||
		   (err->code == HM_ERR_IO && ferror(stdout) && stdout_cut());

	hm_cli_progress_done();   /* the live line gives way to the error */
	fprintf(stderr, "%s: %s%s\n", hm_cli_prog, cut ? "output cut: " : "",
		err->msg[0] ? err->msg : "unknown error");
	return hm_error_exit_code(err->code);
}

int hm_cli_exit(int rc)
{
	/* A command that failed has said why; one that did not may not have
	 * checked all its writes to stdout. */
	if ((fflush(stdout) == EOF || ferror(stdout)) && rc < HM_EXIT_ERROR) {
		if (stdout_cut())
			fprintf(stderr, "%s: output cut: standard output was "
				"closed by its reader\n", hm_cli_prog);
		else
			fprintf(stderr, "%s: cannot write to standard output\n",
				hm_cli_prog);
		rc = HM_EXIT_ERROR;
	}
	return rc;
}

int hm_cli_fail(const char *fmt, ...)
{
	va_list ap;

	hm_cli_progress_done();
	fprintf(stderr, "%s: ", hm_cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	said = true;
	return HM_EXIT_ERROR;
}

/* "hallmark verify" or "hallmark-verify": how the user runs cmd. */
static void full_name(const struct hm_cli_command *cmd, char *buf, size_t size)
{
	if (strcmp(hm_cli_prog, "hallmark") == 0)
		snprintf(buf, size, "%s %s", hm_cli_prog, cmd->name);
	else
		snprintf(buf, size, "%s", hm_cli_prog);
}

/*
 * The operands the usage line names: the upper-case words after the
 * program and command, up to the first option ("usage: hallmark diff
 * MANIFEST_A MANIFEST_B" gives two).  Returns how many, at most max.
 */
static size_t usage_operands(const char *usage, char names[][32], size_t max)
{
	const char *p = strchr(usage, ' '), *end;
	size_t n = 0, len;
	bool upper;

	while (p && n < max) {
		while (*p == ' ')
			p++;
		end = p + strcspn(p, " \n");
		len = (size_t)(end - p);
		if (len == 0 || *p == '-' || *p == '[' || *p == '\n')
			break;
		upper = *p >= 'A' && *p <= 'Z';
		if (upper && len < 32) {
			memcpy(names[n], p, len);
			names[n++][len] = '\0';
		} else if (n > 0 || upper) {
			break;
		}
		if (*end != ' ')
			break;
		p = end;
	}
	return n;
}

int hm_cli_usage(const struct hm_cli_command *cmd)
{
	char names[4][32], prog[128], list[160] = "", what[64] = "";
	size_t n, i;

	full_name(cmd, prog, sizeof(prog));
	/* hallmark-verify is the command: its name says which. */
	if (strcmp(hm_cli_prog, "hallmark") == 0)
		snprintf(what, sizeof(what), "%s: ", cmd->name);
	n = usage_operands(cmd->usage, names, 4);
	if (!said && parsed_nargs >= 0 && (size_t)parsed_nargs < n) {
		for (i = (size_t)parsed_nargs; i < n; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 "%s%s", i == (size_t)parsed_nargs ? "" :
				 i + 1 == n ? " and " : ", ", names[i]);
		hm_cli_fail("%smissing %s", what, list);
	} else if (!said && parsed_nargs >= 0 && (size_t)parsed_nargs > n) {
		hm_cli_fail("%sunexpected argument '%s'", what,
			    parsed_args[n]);
	}
	fprintf(stderr, "Try '%s --help'.\n", prog);
	return HM_EXIT_ERROR;
}

int hm_cli_parse(const struct hm_cli_command *cmd, int argc, char **argv,
		 int *ret_nargs)
{
	struct hm_error err = { 0 };
	/* Positionals move over argv[0] as they are read. */
	const char *argv0 = argc > 0 ? argv[0] : "";
	int r;

	r = hm_options_parse(cmd->name, cmd->options, cmd->flags, argc, argv,
			     ret_nargs, &err);
	if (r == 0) {
		parsed_args = argv;
		parsed_nargs = *ret_nargs;
		said = false;
		return -1;
	}
	if (r > 0) {
		fputs(cmd->usage, stdout);
		if (cmd->help)
			fputs(cmd->help, stdout);
		return HM_EXIT_OK;
	}
	if (err.code != HM_ERR_USAGE)
		return hm_cli_error(&err);
	/*
	 * getopt's texts name argv[0]: the program for hallmark-verify, the
	 * command ("verify: unrecognized option") for hallmark's, which then
	 * get the "hallmark: " every other message has.
	 */
	if ((cmd->flags & HM_OPTIONS_CMD_TEXT) || strcmp(argv0, hm_cli_prog) != 0)
		hm_cli_error(&err);
	else
		fprintf(stderr, "%s\n", err.msg);
	said = true;
	return hm_cli_usage(cmd);
}

int hm_cli_check_output(const char *out, const struct hm_cli_input *in,
			size_t n)
{
	struct stat ost, ist;
	size_t i;

	if (!out || strcmp(out, "-") == 0 || stat(out, &ost) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (!in[i].path || stat(in[i].path, &ist) < 0)
			continue;
		if (ist.st_dev == ost.st_dev && ist.st_ino == ost.st_ino)
			return hm_cli_fail("the output '%s' is %s '%s': not overwriting an input",
					   out, in[i].what, in[i].path);
	}
	return 0;
}

const char *hm_cli_target_file(const char *target, char *buf, size_t size)
{
	const char *file = NULL;
	size_t len;

	if (strncmp(target, "tar:", 4) == 0 || strncmp(target, "oci:", 4) == 0)
		file = target + 4;
	else if (strncmp(target, "disk:", 5) == 0)
		file = target + 5;
	if (!file || strcmp(file, "-") == 0)
		return NULL;
	len = strlen(file);
	/* disk:FILE,format=qcow2 (verifier/source_disk.c splits the same). */
	if (target[0] == 'd' && strchr(file, ','))
		len = (size_t)(strchr(file, ',') - file);
	if (len == 0 || len >= size)
		return NULL;
	memcpy(buf, file, len);
	buf[len] = '\0';
	return buf;
}

/* ---- progress on stderr ------------------------------------------------ */

/*
 * One renderer per process (a command runs one long job at a time).  On
 * a terminal, a live line redrawn in place ("\r" and erase to the end),
 * cut to the terminal's width; off one, no live line: at most a line per
 * step.  The callback runs under the progress handle's lock, so two
 * reports never interleave.
 */
static struct cli_progress {
	struct hm_progress *p;
	const char *prog;
	bool tty, verbose, step_lines;
	bool drawn;        /* a live line is on the terminal */
} progress;

static void live_clear(void)
{
	if (progress.drawn) {
		fputs("\r\033[K", stderr);
		progress.drawn = false;
	}
}

/* 1234567 bytes: "1.2 MiB"; entries: "1234567". */
static void fmt_count(char *buf, size_t size, double v, bool bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	if (!bytes) {
		snprintf(buf, size, "%.0f", v);
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void live_draw(const struct hm_progress_report *r)
{
	char line[512], a[32], b[32], c[32];
	struct winsize ws;
	size_t width = 80, len;
	bool bytes = r->unit && !strcmp(r->unit, "bytes");

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		width = ws.ws_col;
	len = (size_t)snprintf(line, sizeof(line), "%s: %s", progress.prog, r->step);
	if (r->unit && (r->done || r->total)) {
		fmt_count(a, sizeof(a), (double)r->done, bytes);
		if (r->total) {
			fmt_count(b, sizeof(b), (double)r->total, bytes);
			len += (size_t)snprintf(line + len, sizeof(line) - len,
						" %s of %s%s%s (%.0f%%)", a, b,
						bytes ? "" : " ", bytes ? "" : r->unit,
						r->done <= r->total ?
						100.0 * (double)r->done / (double)r->total : 100.0);
		} else {
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s%s%s",
						a, bytes ? "" : " ", bytes ? "" : r->unit);
		}
		if (len < sizeof(line) && r->rate > 0) {
			fmt_count(c, sizeof(c), r->rate, bytes);
			len += (size_t)snprintf(line + len, sizeof(line) - len, ", %s/s", c);
		}
		if (len < sizeof(line) && r->eta >= 0)
			len += (size_t)snprintf(line + len, sizeof(line) - len,
						", %.0f s left", r->eta);
		if (len < sizeof(line))
			len += (size_t)snprintf(line + len, sizeof(line) - len,
						" [%.0f s]%s%s", r->elapsed,
						r->message ? ": " : "",
						r->message ? r->message : "");
	} else {
		/* No counts: the heartbeat, with what the step last said. */
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %.0f s%s%s",
					r->elapsed, r->message ? ": " : "",
					r->message ? r->message : "");
	}
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	if (len > width - 1)
		len = width - 1;
	fprintf(stderr, "\r\033[K%.*s", (int)len, line);
	fflush(stderr);
	progress.drawn = true;
}

static void render(void *ctx, const struct hm_progress_report *r)
{
	(void)ctx;
	switch (r->event) {
	case HM_PROGRESS_MESSAGE:
		if (!progress.verbose)
			break;
		live_clear();
		fprintf(stderr, "%s\n", r->message);
		break;
	case HM_PROGRESS_END:
		live_clear();
		if (progress.step_lines || progress.verbose)
			fprintf(stderr, "%s: %s done (%.1f s)\n", progress.prog,
				r->step, r->elapsed);
		break;
	case HM_PROGRESS_BEGIN:
	case HM_PROGRESS_UPDATE:
		if (progress.tty)
			live_draw(r);
		break;
	}
	fflush(stderr);
}

struct hm_progress *hm_cli_progress_new(const char *prog, bool quiet,
					bool verbose, bool step_lines)
{
	hm_cli_progress_done();
	if (quiet)
		return NULL;
	progress.prog = prog;
	progress.tty = isatty(STDERR_FILENO) && getenv("TERM") &&
		       strcmp(getenv("TERM"), "dumb") != 0;
	progress.verbose = verbose;
	progress.step_lines = step_lines;
	progress.drawn = false;
	progress.p = hm_progress_new(render, NULL, progress.tty);
	return progress.p;
}

void hm_cli_progress_done(void)
{
	struct hm_progress *p = progress.p;

	if (!p)
		return;
	progress.p = NULL;
	hm_progress_free(p);   /* the heartbeat stops: nothing draws after */
	live_clear();
	fflush(stderr);
}
