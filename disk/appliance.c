/*
 * The appliance session (appliance.h).  Until issue 12 the disk source
 * and the disk writer each had their own copy, and the copies had drifted
 * apart (one honoured LIBGUESTFS_BACKEND, the other forced "direct"; one
 * cut the launch failure to its first line, the other quoted libguestfs's
 * debugging advice).  This is the one copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "appliance.h"
#include "watchdog.h"

/* What a failed launch needs, as Debian names it. */
static const char launch_help[] =
	"it needs a kernel in /boot from linux-image-amd64, supermin and "
	"qemu-system-x86; 'libguestfs-test-tool' says which is missing";

/*
 * libguestfs ends some messages with advice on debugging libguestfs
 * itself; ours say what to run instead.  What starts with one of these
 * is dropped.
 */
static const char *const advice[] = {
	"To see full error messages", "Do:",
};

static bool is_advice(const char *line)
{
	size_t i;

	while (*line == ' ')
		line++;
	for (i = 0; i < sizeof(advice) / sizeof(advice[0]); i++)
		if (strncmp(line, advice[i], strlen(advice[i])) == 0)
			return true;
	return false;
}

/* Length of out[0..n) without its trailing blanks and punctuation. */
static size_t trim(const char *out, size_t n)
{
	while (n && (out[n - 1] == ' ' || out[n - 1] == '.' || out[n - 1] == ';'))
		n--;
	return n;
}

/*
 * msg on one line in out: its lines joined with "; " (only the first
 * when first_only), up to the advice, without trailing punctuation.
 */
static void one_line(const char *msg, bool first_only, char *out, size_t len)
{
	const char *p = msg;
	size_t n = 0;

	while (*p && n + 3 < len) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		const char *cut = p;

		if (is_advice(p))
			break;
		/* Advice can also follow a sentence on the same line. */
		for (; cut < end; cut++)
			if (*cut == ' ' && cut > p && cut[-1] == '.' && is_advice(cut))
				break;
		if (n > 0) {
			n = trim(out, n);
			out[n++] = ';';
			out[n++] = ' ';
		}
		for (; p < cut && n + 1 < len; p++)
			out[n++] = *p == '\r' ? ' ' : *p;
		if (cut < end || !nl || first_only)
			break;
		p = nl + 1;
	}
	out[trim(out, n)] = '\0';
}

const char *hm_appliance_last_error(guestfs_h *g, char *buf, size_t size)
{
	const char *m = guestfs_last_error(g);

	one_line(m ? m : "unknown libguestfs error", false, buf, size);
	return buf;
}

/*
 * A /dev/kvm that qemu cannot use makes every launch fail at once: nested
 * virtualisation that refuses a CPU feature ("failed to set MSR 0x10a",
 * then an abort; seen on this project's build machines).  libguestfs
 * falls back to emulation (TCG) only when there is no /dev/kvm, so ask
 * qemu itself, the way libguestfs will start it (KVM, -cpu host), paused
 * before the first instruction: a qemu that can use KVM waits there and
 * is killed after a second; one that cannot exits at once.  True if KVM
 * is there but unusable.
 */
static bool kvm_unusable(guestfs_h *g)
{
	char *hv = guestfs_get_hv(g);
	static const char *const args[] = {
		"-machine", "accel=kvm", "-cpu", "host", "-nodefaults",
		"-display", "none", "-monitor", "none", "-serial", "none", "-S",
	};
	char *argv[sizeof(args) / sizeof(args[0]) + 2];
	posix_spawn_file_actions_t fa;
	bool exited = false;
	pid_t pid;
	int i, st;

	argv[0] = hv;
	for (i = 0; i < (int)(sizeof(args) / sizeof(args[0])); i++)
		argv[i + 1] = (char *)args[i];   /* posix_spawn does not write them */
	argv[i + 1] = NULL;
	if (!hv || access("/dev/kvm", R_OK | W_OK) != 0 ||
	    posix_spawn_file_actions_init(&fa) != 0) {
		free(hv);
		return false;
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, hv, &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		free(hv);
		return false;   /* no qemu: libguestfs says so at launch */
	}
	posix_spawn_file_actions_destroy(&fa);
	for (i = 0; i < 20 && !exited; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (waitpid(pid, &st, WNOHANG) == pid)
			exited = true;
		else
			nanosleep(&ts, NULL);
	}
	if (!exited) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	free(hv);
	return exited;
}

int hm_appliance_new(struct hm_appliance *a, struct hm_error *err)
{
	char *tcg;
	int r;

	memset(a, 0, sizeof(*a));
	if ((r = hm_watchdog_start(&a->wd, err)) < 0)
		return r;
	/* guestfs_create reads LIBGUESTFS_HV, _PATH, ... as users expect. */
	a->g = guestfs_create();
	if (!a->g)
		return hm_error_set(err, HM_ERR_IO, errno,
				    "cannot create a libguestfs handle");
	/* The library never prints: errors come back through err. */
	guestfs_set_error_handler(a->g, NULL, NULL);
	/*
	 * The direct backend, whatever LIBGUESTFS_BACKEND says: the disk
	 * source hands qemu /proc/PID/fd/N of this process, which only a
	 * qemu run here, as this user, can open; and the writer's outputs
	 * stay this user's files (libvirt's qemu runs as another user).
	 */
	if (guestfs_set_backend(a->g, "direct") < 0)
		return hm_appliance_fail(a, HM_ERR_IO, err,
					 "cannot choose libguestfs's direct backend");
	/* Emulation when KVM is there but unusable, unless the user chose
	 * (LIBGUESTFS_BACKEND_SETTINGS=force_tcg, read by guestfs_create). */
	tcg = guestfs_get_backend_setting(a->g, "force_tcg");
	if (!tcg && kvm_unusable(a->g) &&
	    guestfs_set_backend_setting(a->g, "force_tcg", "1") < 0)
		return hm_appliance_fail(a, HM_ERR_IO, err,
					 "cannot make libguestfs emulate the CPU");
	free(tcg);
	return 0;
}

int hm_appliance_launch(struct hm_appliance *a, struct hm_error *err)
{
	const char *m;
	char msg[HM_ERROR_MSG_MAX];

	if (guestfs_launch(a->g) < 0) {
		/* Its further lines say how to debug libguestfs: ours say
		 * what to install.  Cut so that the hint always fits. */
		m = guestfs_last_error(a->g);
		one_line(m ? m : "unknown libguestfs error", true, msg, sizeof(msg));
		return hm_error_set(err, HM_ERR_IO, 0,
				    "cannot start the libguestfs appliance: %.400s (%s)",
				    msg, launch_help);
	}
	a->launched = true;
	hm_watchdog_set_pid(a->wd, guestfs_get_pid(a->g));
	return 0;
}

/*
 * libguestfs's events, on the thread that called it.  PROGRESS: array
 * (proc_nr, serial, position, total); the others: a message in buf.
 */
static void on_event(guestfs_h *g, void *opaque, uint64_t event, int event_handle,
		     int flags, const char *buf, size_t buf_len,
		     const uint64_t *array, size_t array_len)
{
	struct hm_appliance *a = opaque;

	(void)g;
	(void)event_handle;
	(void)flags;
	if (event == GUESTFS_EVENT_PROGRESS) {
		if (array_len >= 4)
			hm_progress_set(a->progress, array[2], array[3]);
		return;
	}
	if (a->log && buf_len) {
		hm_tool_log_feed(a->log, a->progress, buf, buf_len);
		if (buf[buf_len - 1] != '\n')
			hm_tool_log_feed(a->log, a->progress, "\n", 1);
	}
}

void hm_appliance_set_progress(struct hm_appliance *a, struct hm_progress *p)
{
	a->progress = p;
	if (!a->g || a->log || !(a->log = calloc(1, sizeof(*a->log))))
		return;
	/* A failure here costs only the progress: nothing to report. */
	guestfs_set_event_callback(a->g, on_event,
				   GUESTFS_EVENT_PROGRESS | GUESTFS_EVENT_WARNING |
				   GUESTFS_EVENT_APPLIANCE | GUESTFS_EVENT_LIBRARY,
				   0, a);
}

void hm_appliance_step(struct hm_appliance *a, const char *what,
		       unsigned long long bytes, unsigned mib_s)
{
	hm_progress_detail(a->progress, what);
	hm_progress_set(a->progress, 0, 0);
	hm_watchdog_arm(a->wd, hm_watchdog_budget(a->wd, bytes, mib_s), what);
}

int hm_appliance_fail(struct hm_appliance *a, int code, struct hm_error *err,
		      const char *fmt, ...)
{
	char what[HM_ERROR_MSG_MAX], msg[HM_ERROR_MSG_MAX];
	va_list ap;
	int r;

	if ((r = hm_watchdog_error(a->wd, "the libguestfs appliance", err)) < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* The appliance's own error lines, when it printed any, say more
	 * than libguestfs's summary of them. */
	if (a->log && a->log->n_errors) {
		char said[HM_ERROR_MSG_MAX / 2];

		hm_tool_log_summary(a->log, said, sizeof(said));
		return hm_error_set(err, code, 0, "%.300s: %.300s; the appliance said:\n%s",
				    what, hm_appliance_last_error(a->g, msg, sizeof(msg)),
				    said);
	}
	return hm_error_set(err, code, 0, "%s: %s", what,
			    hm_appliance_last_error(a->g, msg, sizeof(msg)));
}

int hm_appliance_shutdown(struct hm_appliance *a, unsigned long long bytes,
			  unsigned mib_s, struct hm_error *err)
{
	int r;

	hm_appliance_step(a, "shut the appliance down", bytes, mib_s);
	/* Not launched any more, whatever the outcome: nothing to retry. */
	a->launched = false;
	r = guestfs_shutdown(a->g);
	if (r < 0)
		return hm_appliance_fail(a, HM_ERR_IO, err,
					 "cannot shut the libguestfs appliance down");
	hm_watchdog_disarm(a->wd);
	hm_watchdog_set_pid(a->wd, 0);
	return 0;
}

void hm_appliance_free(struct hm_appliance *a, bool *ret_hung)
{
	if (a->g) {
		/* Already failing: the shutdown's result adds nothing, but a
		 * hung appliance must not hang us: bounded like any step. */
		if (a->launched && guestfs_get_pid(a->g) > 0) {
			hm_appliance_step(a, "shut the appliance down", 0, 1);
			guestfs_shutdown(a->g);
		}
		guestfs_close(a->g);
	}
	free(a->log);
	if (ret_hung)
		*ret_hung = a->wd && hm_watchdog_fired(a->wd, NULL, NULL);
	hm_watchdog_stop(a->wd);
	memset(a, 0, sizeof(*a));
}

void hm_appliance_free_strings(char **v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}
