/*
 * The "disk:" target: a VM disk image (raw or qcow2) read offline and
 * read-only through libguestfs, yielding exactly the entries a tar: target
 * of the same tree gives.
 *
 * What runs where matters here.  The appliance (a small Linux VM under
 * qemu) mounts the guest's filesystems, so a hostile filesystem only ever
 * meets the appliance's kernel.  But the image *format* is parsed on the
 * host, by qemu-img and qemu: a qcow2 header can name other host files
 * (a backing file, an external data file) that qemu would open and read
 * into the guest's disk.  So the format is never probed (a raw image whose
 * first bytes happen to be a qcow2 header stays raw bytes), and a qcow2
 * header naming another file is refused before anything is started
 * (disk_header.c).
 *
 * The image is opened once, with O_NOFOLLOW, and checked through that
 * descriptor.  qemu gets it through our own throwaway qcow2 overlay whose
 * backing file is /proc/PID/fd/N with the format spelled out, so what
 * qemu opens is the file that was checked even if its name is swapped
 * meanwhile.  (The direct backend closes inherited descriptors in the
 * qemu child, so the path names this process, not "self"; and libguestfs's
 * own read-only overlay is not used, see make_overlay and the drive.)
 * Writes from the appliance (a replayed journal) land in the overlay;
 * qemu opens backing files read-only, so the image is never written.
 *
 * Filesystems: the one operating system inspection finds (its fstab
 * mounted read-only, shortest mount point first), or else exactly one.  The
 * tree comes out as a tar stream (tar-out with numeric owners and xattrs,
 * from the root of the mounts, in 256 KiB records: set_tar_options)
 * written by a thread into a pipe that the tar source reads in the same
 * pass: nothing from the image is written to the host's disk under its
 * own name.
 */
#include <errno.h>
#include <fcntl.h>
#include <guestfs.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance.h"
#include "disk.h"
#include "disk_header.h"
#include "hallmark/buf.h"
#include "hallmark/source_tar.h"
#include "watchdog.h"

struct disk_spec {
	char *file;                 /* owned */
	const char *format;         /* "raw" or "qcow2" (static) */
};

/*
 * Bytes drained after the end of the tar archive: GNU tar pads the stream
 * to its 10 KiB record, which the reader does not consume.  More than this
 * is not padding, and an appliance gone rogue could send it forever.
 */
#define TRAILER_MAX (1024u * 1024)

/*
 * GNU tar's record in the appliance, in 512-byte blocks: 256 KiB instead
 * of its default 10 KiB.  Under emulation (no KVM) every write into the
 * pipe to guestfsd costs a context switch whose TLB refill is emulated
 * too: with 10 KiB records tar spends more time switching than reading.
 * The archive then ends padded to this record, well under TRAILER_MAX.
 */
#define TAR_BLOCKING "512"

/* Appliance console output kept to explain a failed tar-out. */
#define LOG_KEEP (16u * 1024)

/* The tar-out thread: writes the tree into the pipe's write end. */
struct tar_job {
	guestfs_h *g;
	int wfd;                    /* closed by the thread when done */
	char path[64];              /* /proc/self/fd/N of wfd */
	int rc;
	char msg[HM_ERROR_MSG_MAX];
	struct hm_buf console;      /* the appliance's last output */
	atomic_bool done;           /* tar-out returned (set before the close) */
};

/* Parse "FILE[,format=raw|qcow2]". */
static int parse_spec(const char *spec, struct disk_spec *ret,
		      struct hm_error *err)
{
	const char *comma = strchr(spec, ',');
	size_t flen = comma ? (size_t)(comma - spec) : strlen(spec);
	const char *format = NULL, *opt;

	if (flen == 0)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "no file name in 'disk:%s' (disk:FILE[,format=raw|qcow2])",
				    spec);
	for (opt = comma; opt; opt = strchr(opt + 1, ',')) {
		const char *o = opt + 1, *end = strchr(o, ',');
		size_t olen = end ? (size_t)(end - o) : strlen(o);

		if (olen == 10 && memcmp(o, "format=raw", 10) == 0)
			format = "raw";
		else if (olen == 12 && memcmp(o, "format=qcow2", 12) == 0)
			format = "qcow2";
		else
			return hm_error_set(err, HM_ERR_USAGE, 0,
					    "unknown option '%.*s' in 'disk:%s' "
					    "(disk:FILE[,format=raw|qcow2])",
					    (int)olen, o, spec);
	}
	ret->file = strndup(spec, flen);
	if (!ret->file)
		return hm_error_nomem(err);
	/* Never from the file's bytes: the name, or what the caller says. */
	if (!format)
		format = flen >= 6 && memcmp(spec + flen - 6, ".qcow2", 6) == 0 ?
			 "qcow2" : "raw";
	ret->format = format;
	return 0;
}

static int by_length(const void *a, const void *b)
{
	/* Pairs (mount point, device): a parent is shorter than its child. */
	const char *const *x = a, *const *y = b;
	size_t lx = strlen(x[0]), ly = strlen(y[0]);

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x[0], y[0]);
}

/* Mount what the one operating system's fstab says, read-only. */
static int mount_os(struct hm_appliance *a, const char *file, const char *root,
		    struct hm_error *err)
{
	char **mp = guestfs_inspect_get_mountpoints(a->g, root);
	size_t n = 0, i;
	int rc = 0;

	if (!mp)
		return hm_appliance_fail(a, HM_ERR_INPUT, err,
					 "cannot read the mount points of '%s' (%s)",
					 file, root);
	while (mp[n])
		n++;
	qsort(mp, n / 2, 2 * sizeof(*mp), by_length);
	for (i = 0; i + 1 < n; i += 2) {
		if (guestfs_mount_ro(a->g, mp[i + 1], mp[i]) < 0) {
			rc = hm_appliance_fail(a, HM_ERR_INPUT, err,
					       "cannot mount a filesystem of '%s' (%s on %s)",
					       file, mp[i + 1], mp[i]);
			break;
		}
	}
	hm_appliance_free_strings(mp);
	return rc;
}

/* Filesystems that could hold files: not swap, not unrecognised. */
static bool mountable(const char *type)
{
	return strcmp(type, "swap") != 0 && strcmp(type, "unknown") != 0 &&
	       strcmp(type, "") != 0 && strcmp(type, "crypto_LUKS") != 0;
}

/*
 * Mount the tree: the one operating system inspection finds (its fstab
 * says what goes where), else the one filesystem there is.  Inspection
 * first, since VM disks usually hold an OS and it lists the filesystems
 * itself; listing them again only happens when it finds none.
 */
static int mount_tree(struct hm_appliance *a, const char *file,
		      struct hm_error *err)
{
	struct hm_buf list = HM_BUF_INIT;
	char **roots = NULL, **fs = NULL;
	const char *only = NULL;
	size_t n = 0, i;
	int rc;

	roots = guestfs_inspect_os(a->g);
	if (!roots) {
		rc = hm_appliance_fail(a, HM_ERR_INPUT, err, "cannot inspect '%s'", file);
		goto out;
	}
	if (roots[0] && !roots[1]) {
		rc = mount_os(a, file, roots[0], err);
		goto out;
	}
	if (roots[0]) {
		for (i = 0; roots[i]; i++)
			if (hm_buf_addf(&list, "%s%s", i ? ", " : "", roots[i]) < 0)
				goto nomem;
		rc = hm_error_set(err, HM_ERR_INPUT, 0,
				  "several operating systems on '%s' (%s): cannot "
				  "tell which tree to read", file, list.data);
		goto out;
	}
	fs = guestfs_list_filesystems(a->g);
	if (!fs) {
		rc = hm_appliance_fail(a, HM_ERR_INPUT, err,
				       "cannot list the filesystems of '%s'", file);
		goto out;
	}
	for (i = 0; fs[i] && fs[i + 1]; i += 2) {
		if (!mountable(fs[i + 1]))
			continue;
		only = fs[i];
		if (hm_buf_addf(&list, "%s%s (%s)", n ? ", " : "", fs[i], fs[i + 1]) < 0)
			goto nomem;
		n++;
	}
	if (n == 0) {
		rc = hm_error_set(err, HM_ERR_INPUT, 0, "no filesystem found on '%s'", file);
		goto out;
	}
	if (n > 1) {
		rc = hm_error_set(err, HM_ERR_INPUT, 0,
				  "several filesystems and no operating system on "
				  "'%s': %s: cannot tell which tree to read",
				  file, list.data);
		goto out;
	}
	rc = 0;
	if (guestfs_mount_ro(a->g, only, "/") < 0)
		rc = hm_appliance_fail(a, HM_ERR_INPUT, err,
				       "cannot mount the filesystem of '%s' (%s)",
				       file, only);
	goto out;
nomem:
	rc = hm_error_nomem(err);
out:
	hm_appliance_free_strings(roots);
	hm_appliance_free_strings(fs);
	hm_buf_free(&list);
	return rc;
}

/*
 * GNU tar in the appliance says why it failed on the appliance's console
 * only; libguestfs's error then just says the transfer was cancelled.
 * Keep the tail of the console (opaque: a struct hm_buf, bounded) to
 * quote tar's own words.
 */
static void log_event(guestfs_h *g, void *opaque, uint64_t event,
		      int event_handle, int flags, const char *buf,
		      size_t len, const uint64_t *array, size_t array_len)
{
	struct hm_buf *c = opaque;

	(void)g, (void)event, (void)event_handle, (void)flags;
	(void)array, (void)array_len;
	if (len > LOG_KEEP) {
		buf += len - LOG_KEEP;
		len = LOG_KEEP;
	}
	if (c->len + len > LOG_KEEP) {
		size_t drop = c->len + len - LOG_KEEP;

		memmove(c->data, c->data + drop, c->len - drop);
		c->len -= drop;
	}
	hm_buf_add(c, buf, len);    /* out of memory: the tail is only a hint */
}

/* Up to three lines of the log that start with prefix, joined by "; "
 * into out ("" if none): they say more than libguestfs's summary. */
static void log_lines(char *out, size_t size, const struct hm_buf *c,
		      const char *prefix)
{
	const char *p = c->data, *end = c->data + c->len;
	size_t used = 0, plen = strlen(prefix);
	int n = 0;

	out[0] = '\0';
	while (p && p < end && n < 3) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		while (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > plen && memcmp(p, prefix, plen) == 0 && used + 3 < size) {
			snprintf(out + used, size - used, "%s%.*s", n ? "; " : "",
				 (int)len, p);
			used = strlen(out);
			n++;
		}
		p = nl ? nl + 1 : NULL;
	}
}

static void *tar_out_thread(void *arg)
{
	struct tar_job *job = arg;
	sigset_t pipe_set;

	/* If the reader gives up, write() must fail with EPIPE here rather
	 * than kill the process. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	/* libguestfs keeps the error handler per thread, too. */
	guestfs_set_error_handler(job->g, NULL, NULL);
	job->rc = guestfs_tar_out_opts(job->g, "/", job->path,
				       GUESTFS_TAR_OUT_OPTS_NUMERICOWNER, 1,
				       GUESTFS_TAR_OUT_OPTS_XATTRS, 1,
				       -1);
	if (job->rc < 0) {
		/* libguestfs keeps the last error per thread: copy it here. */
		char why[HM_ERROR_MSG_MAX];
		size_t used;

		hm_appliance_last_error(job->g, job->msg, sizeof(job->msg));
		used = strlen(job->msg);
		log_lines(why, sizeof(why), &job->console, "tar: ");
		if (why[0])
			snprintf(job->msg + used, sizeof(job->msg) - used, " (%s)", why);
	}
	/* The reader sees the end of the stream once this last writer is gone. */
	atomic_store(&job->done, true);
	close(job->wfd);
	job->wfd = -1;
	return NULL;
}

/* The tar reader names its input; name the disk instead of the pipe. */
static void rename_pipe(struct hm_error *err, const char *pipe_path,
			const char *file)
{
	char quoted[80], *at;

	snprintf(quoted, sizeof(quoted), "'%s'", pipe_path);
	at = strstr(err->msg, quoted);
	if (at) {
		char rest[HM_ERROR_MSG_MAX];

		snprintf(rest, sizeof(rest), "%s", at + strlen(quoted));
		*at = '\0';
		snprintf(at, sizeof(err->msg) - (size_t)(at - err->msg),
			 "the files of '%s'%s", file, rest);
	} else {
		hm_error_prefix(err, "'%s'", file);
	}
}

/* Read what follows the end of the archive, so the writer can finish. */
static int drain(int fd, const char *file, struct hm_error *err)
{
	char buf[16 * 1024];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hm_error_set(err, HM_ERR_IO, errno,
					    "cannot read the files of '%s'", file);
		total += (size_t)n;
		if (total > TRAILER_MAX)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "cannot read the files of '%s': more than "
					    "%u bytes after the end of the tar stream",
					    file, TRAILER_MAX);
	}
	return 0;
}

/*
 * Give the appliance's tar larger records.  tar-out has no option for
 * it, but GNU tar reads TAR_OPTIONS from its environment, and the
 * kernel hands a command-line word NAME=VALUE that it does not know to
 * init as an environment variable, which guestfsd and the tar it starts
 * inherit.  Appended to what the user set (LIBGUESTFS_APPEND).  An
 * appliance that dropped the variable would only be slower: the archive
 * is the same but for its final padding.
 */
static int set_tar_options(struct hm_appliance *a, struct hm_error *err)
{
	const char *user = guestfs_get_append(a->g);
	char *append = NULL;
	int rc = 0;

	if (asprintf(&append, "%s%sTAR_OPTIONS=--blocking-factor=" TAR_BLOCKING,
		     user ? user : "", user && *user ? " " : "") < 0)
		return hm_error_nomem(err);
	if (guestfs_set_append(a->g, append) < 0)
		rc = hm_appliance_fail(a, HM_ERR_IO, err,
				       "cannot set the appliance's kernel command line");
	free(append);
	return rc;
}

/* Stream the mounted tree out of the appliance into the tar source. */
static int read_tree(guestfs_h *g, const char *file,
		     const struct hm_scan_options *opt, struct hm_source **ret,
		     struct hm_error *err)
{
	struct tar_job job = { .g = g, .wfd = -1 };
	struct hm_error rerr = { 0 };
	char rpath[64];
	pthread_t th;
	bool writer_done;
	int p[2], rc, ev;

	ev = guestfs_set_event_callback(g, log_event, GUESTFS_EVENT_APPLIANCE,
					0, &job.console);
	if (ev < 0)
		return hm_error_set(err, HM_ERR_IO, 0, "cannot watch the appliance");
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = hm_error_set(err, HM_ERR_IO, errno, "cannot make a pipe");
		goto out;
	}
	job.wfd = p[1];
	snprintf(job.path, sizeof(job.path), "/proc/self/fd/%d", p[1]);
	snprintf(rpath, sizeof(rpath), "/proc/self/fd/%d", p[0]);
	if ((rc = pthread_create(&th, NULL, tar_out_thread, &job)) != 0) {
		close(p[0]);
		close(p[1]);
		rc = hm_error_set(err, HM_ERR_IO, rc, "cannot start a thread");
		goto out;
	}
	rc = hm_source_tar_open(rpath, opt, ret, &rerr);
	/*
	 * Whose failure is it?  The reader can only meet the end of the
	 * stream after the writer is done, so a reader that failed while the
	 * writer was still at work failed on its own (a limit, a duplicate
	 * entry), and the writer's EPIPE that follows is only the echo.
	 */
	writer_done = atomic_load(&job.done);
	if (rc == 0 && (rc = drain(p[0], file, err)) < 0) {
		hm_source_free(*ret);
		*ret = NULL;
		close(p[0]);
		pthread_join(th, NULL);
		goto out;
	}
	/* With the reader gone, a writer still at work gets EPIPE and stops. */
	close(p[0]);
	pthread_join(th, NULL);
	if (rc < 0 && (job.rc == 0 || !writer_done)) {
		rename_pipe(&rerr, rpath, file);
		*err = rerr;
		goto out;
	}
	if (job.rc < 0) {
		if (rc == 0) {
			hm_source_free(*ret);
			*ret = NULL;
		}
		rc = hm_error_set(err, HM_ERR_INPUT, 0,
				  "cannot read the files of '%s': %s", file, job.msg);
		goto out;
	}
	rc = 0;
out:
	guestfs_delete_event_callback(g, ev);
	hm_buf_free(&job.console);
	return rc;
}

/*
 * Put our own throwaway qcow2 overlay in front of the image, naming it as
 * /proc/PID/fd/N with its format spelled out.  libguestfs's read-only
 * overlay would name the image by realpath(), that is by the name that
 * was checked, not by the open file: a swap between check and launch
 * would then be read.  qemu-img opens the image here (format given, no
 * probing), so an image qemu cannot read fails now, as input.
 */
static int make_overlay(struct hm_appliance *a, const struct disk_spec *d,
			int fd, char **ret_dir, char **ret_overlay,
			struct hm_error *err)
{
	char drive[64], m[HM_ERROR_MSG_MAX];
	char *tmp = guestfs_get_tmpdir(a->g), *dir = NULL, *overlay = NULL;
	int rc;

	if (!tmp) {
		rc = hm_appliance_fail(a, HM_ERR_IO, err,
				       "cannot find a temporary folder");
		goto out;
	}
	if (asprintf(&dir, "%s/hallmark-disk-XXXXXX", tmp) < 0) {
		dir = NULL;
		rc = hm_error_nomem(err);
		goto out;
	}
	if (!mkdtemp(dir)) {
		rc = hm_error_set(err, HM_ERR_IO, errno, "cannot make a folder in '%s'", tmp);
		free(dir);
		dir = NULL;
		goto out;
	}
	if (asprintf(&overlay, "%s/overlay.qcow2", dir) < 0) {
		overlay = NULL;
		rc = hm_error_nomem(err);
		goto out;
	}
	snprintf(drive, sizeof(drive), "/proc/%ld/fd/%d", (long)getpid(), fd);
	if (guestfs_disk_create(a->g, overlay, "qcow2", -1,
				GUESTFS_DISK_CREATE_BACKINGFILE, drive,
				GUESTFS_DISK_CREATE_BACKINGFORMAT, d->format,
				-1) < 0) {
		/* qemu-img's own words go to libguestfs's debug output only
		 * (and then straight to stderr): say how to get them. */
		rc = hm_error_set(err, HM_ERR_INPUT, 0,
				  "cannot open '%s' as a %s image: %s ('qemu-img info "
				  "-f %s' on it says why)", d->file, d->format,
				  hm_appliance_last_error(a->g, m, sizeof(m)),
				  d->format);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	*ret_dir = dir;
	*ret_overlay = overlay;
	return rc;
}

int hm_disk_source_open(const char *spec, const struct hm_scan_options *opt,
			struct hm_source **ret, struct hm_error *err)
{
	struct disk_spec d = { 0 };
	struct hm_source *src = NULL;
	struct hm_appliance a = { 0 };
	char *dir = NULL, *overlay = NULL;
	unsigned long long image_bytes = 0;
	struct stat st;
	int fd = -1, rc;

	if ((rc = parse_spec(spec, &d, err)) < 0)
		goto out;
	if ((rc = hm_disk_image_open(d.file, d.format, &fd, err)) < 0)
		goto out;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		image_bytes = (unsigned long long)st.st_size;
	if ((rc = hm_appliance_new(&a, err)) < 0)
		goto out;
	if ((rc = make_overlay(&a, &d, fd, &dir, &overlay, err)) < 0)
		goto out;
	/* Writable: the writes land in our overlay.  Not readonly=1, whose
	 * extra overlay libguestfs 1.48 hands qemu without a format for the
	 * top node, so qemu probes the guest-visible bytes: a disk whose
	 * first sector is a qcow2 header naming a host file would make qemu
	 * open that file (the t4002 test watches for exactly that). */
	if (guestfs_add_drive_opts(a.g, overlay,
				   GUESTFS_ADD_DRIVE_OPTS_READONLY, 0,
				   GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2",
				   GUESTFS_ADD_DRIVE_OPTS_CACHEMODE, "unsafe",
				   -1) < 0) {
		rc = hm_appliance_fail(&a, HM_ERR_IO, err,
				       "cannot add '%s' as a disk", d.file);
		goto out;
	}
	if ((rc = set_tar_options(&a, err)) < 0)
		goto out;
	/*
	 * Two vCPUs when the host has two cores: under emulation qemu runs
	 * each on its own thread, so the appliance's tar reading the disk
	 * and guestfsd sending what it read no longer take turns on one
	 * (tar-out of a 0.9 GB tree: 61 s on one vCPU, 39 s on two).
	 */
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2 && guestfs_set_smp(a.g, 2) < 0) {
		rc = hm_appliance_fail(&a, HM_ERR_IO, err,
				       "cannot give the appliance two CPUs");
		goto out;
	}
	if ((rc = hm_appliance_launch(&a, err)) < 0)
		goto out;
	hm_appliance_step(&a, "find and mount the file systems", 0, 1);
	if ((rc = mount_tree(&a, d.file, err)) < 0)
		goto out;
	/* A raw file's apparent size bounds what it can hold. */
	hm_appliance_step(&a, "stream the files out", image_bytes, 1);
	if ((rc = read_tree(a.g, d.file, opt, &src, err)) < 0)
		goto out;
	if ((rc = hm_appliance_shutdown(&a, 0, 1, err)) < 0)
		goto out;
	*ret = src;
	src = NULL;
	rc = 0;
out:
	if (rc < 0 && a.wd && hm_watchdog_error(a.wd, "the libguestfs appliance", err) < 0)
		rc = hm_error_prefix(err, "cannot read '%s'", d.file);
	hm_appliance_free(&a, NULL);
	if (overlay)
		unlink(overlay);
	if (dir)
		rmdir(dir);
	free(overlay);
	free(dir);
	if (fd >= 0)
		close(fd);
	hm_source_free(src);
	free(d.file);
	return rc;
}

const struct hm_target hm_target_disk = {
	.prefix = "disk:", .syntax = "disk:FILE[,format=raw|qcow2]",
	.summary = "a VM disk image, read offline and read-only through libguestfs",
	.open = hm_disk_source_open,
};
