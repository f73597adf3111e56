/*
 * VM disks: the disk tree as a bootable raw or qcow2 image, written with
 * libguestfs only (no loop device, no host mount, no root needed).
 *
 * One appliance launch does everything: an MBR (or GPT) with one
 * partition from 1 MiB to the end, marked bootable; ext4 with the
 * template's label and a UUID derived from the template; the disk tree
 * unpacked from the deterministic tar hm_emit_tar wrote (xattrs kept);
 * extlinux on /boot/extlinux and syslinux's MBR code in the first 440
 * bytes; then the files extlinux wrote and /lost+found are read back
 * into the disk tree, so that the disk manifest names what is on the
 * disk and not what the builder meant to put there.  When a qcow2 is
 * asked, the disk is always made as raw first and converted into the
 * qcow2 on the host once the appliance is stopped (qemu-img, in order):
 * the qcow2's cluster order then follows the disk's bytes and not the
 * order in which the guest kernel flushed them.
 *
 * Reproducibility, as far as libguestfs lets a caller reach: the file
 * system UUID, the directory hash seed, the MBR disk signature and the
 * GPT GUIDs derive from the template's digest; mke2fs's own times come
 * from the build time (E2FSPROGS_FAKE_TIME); the inode tables are zeroed
 * at mkfs time instead of lazily by a kernel thread;
 * the file system is mounted noatime and nodelalloc (blocks allocated in
 * the tar's order, not the flusher's); and after the copy every inode
 * time, generation number and the journal are pinned with e2fsprogs in
 * the appliance (normalize_fs).  docs/benchmarks.md, "Disk
 * reproducibility", has the measurements.
 *
 * The appliance session (create, launch, budgets, shutdown, errors) is
 * appliance.c's; the tree this writes is prepared by the builder
 * (builder/emit_disk.c), which checks it against the geometry in disk.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "appliance.h"
#include "disk.h"
#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/fsutil.h"

/* Where Debian's syslinux-common keeps the boot sector code. */
#define DISK_MBR_BIN  "/usr/lib/syslinux/mbr/mbr.bin"
#define DISK_GPTMBR_BIN "/usr/lib/syslinux/mbr/gptmbr.bin"
/* The MBR's boot code area: the disk signature starts at 440. */
#define DISK_BOOT_CODE_BYTES 440u
/* The GPT partition type of a Linux file system. */
#define DISK_GPT_LINUX_FS "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
/* Bit 2 of a GPT partition's attributes: legacy BIOS bootable, which
 * gptmbr.bin looks for. */
#define DISK_GPT_LEGACY_BOOT (1ll << 2)
/* The label of the tree's tar as the appliance's drive. */
#define DISK_TAR_LABEL "hmtree"
/* Files read back from the disk: what extlinux writes is small. */
#define DISK_READBACK_MAX 4096u

void hm_disk_size_name(uint64_t bytes, char *out, size_t len)
{
	if (bytes % (1ull << 30) == 0)
		snprintf(out, len, "%lluG", (unsigned long long)(bytes >> 30));
	else
		snprintf(out, len, "%lluM", (unsigned long long)(bytes >> 20));
}

struct disk {
	struct hm_appliance a;
	const struct hm_disk_write_job *job;
	const char *build_path;       /* the raw the appliance works on */
	const char *dev;              /* its device in the appliance */
	const char *part;             /* its partition */
	struct hm_error *err;
	uint64_t *fine;               /* hm_disk_result.fine_ms */
	struct timespec tf;           /* when the current fine step began */
};

static const char *const step_names[HM_DISK_STEP__COUNT] = {
	[HM_DISK_STEP_LAUNCH] = "launch",
	[HM_DISK_STEP_PARTITION] = "partition",
	[HM_DISK_STEP_MKFS] = "mkfs",
	[HM_DISK_STEP_TAR_IN] = "tar_in",
	[HM_DISK_STEP_CHECK] = "check",
	[HM_DISK_STEP_EXTLINUX] = "extlinux",
	[HM_DISK_STEP_READ_BACK] = "read_back",
	[HM_DISK_STEP_UMOUNT] = "umount",
	[HM_DISK_STEP_PIN_BITMAPS] = "pin_bitmaps",
	[HM_DISK_STEP_PIN_SEND] = "pin_send",
	[HM_DISK_STEP_PIN_DEBUGFS] = "pin_debugfs",
	[HM_DISK_STEP_PIN_FSCK] = "pin_fsck",
	[HM_DISK_STEP_QCOW2] = "qcow2",
	[HM_DISK_STEP_SHUTDOWN] = "shutdown",
	[HM_DISK_STEP_DIGEST] = "digest",
};

const char *hm_disk_step_name(enum hm_disk_step s)
{
	return (unsigned)s < HM_DISK_STEP__COUNT ? step_names[s] : "?";
}

/* The time since the last mark goes to step s. */
static void mark(struct disk *k, enum hm_disk_step s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	k->fine[s] += (uint64_t)((now.tv_sec - k->tf.tv_sec) * 1000 +
				 (now.tv_nsec - k->tf.tv_nsec) / 1000000);
	k->tf = now;
}

/* libguestfs's last message as a hallmark error: "cannot WHAT: MSG"; or,
 * when the watchdog stopped the appliance, which step hung. */
static int gerr(struct disk *k, const char *what)
{
	return hm_appliance_fail(&k->a, HM_ERR_IO, k->err, "cannot %s", what);
}

/*
 * Budgets of the appliance steps (watchdog.h): a base, plus the bytes a
 * step moves at a floor rate.  Measured under TCG on 2 cores: the tree
 * goes in at 6 to 10 MB/s (floor 1 MiB/s), and the whole-disk steps
 * (e2fsck, the shutdown's flush) run at 100 MB/s and more (floor
 * 16 MiB/s).
 */
#define TREE_MIB_S    1
#define DISK_MIB_S    16

static int create_disk(struct disk *k, const char *path, const char *format)
{
	if (guestfs_disk_create(k->a.g, path, format, (int64_t)k->job->size,
				GUESTFS_DISK_CREATE_PREALLOCATION, "sparse", -1) < 0) {
		char what[64 + 4096];

		snprintf(what, sizeof(what), "create '%s'", path);
		return gerr(k, what);
	}
	return 0;
}

static int add_drive(struct disk *k, const char *path, const char *format)
{
	/* cachemode unsafe: the appliance does not flush each write; the
	 * final shutdown syncs, and its result is checked. */
	if (guestfs_add_drive_opts(k->a.g, path,
				   GUESTFS_ADD_DRIVE_OPTS_FORMAT, format,
				   GUESTFS_ADD_DRIVE_OPTS_READONLY, 0,
				   GUESTFS_ADD_DRIVE_OPTS_CACHEMODE, "unsafe",
				   -1) < 0) {
		char what[64 + 4096];

		snprintf(what, sizeof(what), "add '%s' to the appliance", path);
		return gerr(k, what);
	}
	return 0;
}

static int partition(struct disk *k)
{
	const struct hm_disk_ids *ids = k->job->ids;
	bool gpt = k->job->gpt;

	if (guestfs_part_init(k->a.g, k->dev, gpt ? "gpt" : "mbr") < 0)
		return gerr(k, "write the partition table");
	if (guestfs_part_add(k->a.g, k->dev, "p", HM_DISK_PART_START_SECTOR,
			     gpt ? -(int64_t)HM_DISK_GPT_BACKUP_SECTORS : -1) < 0)
		return gerr(k, "add the partition");
	if (!gpt) {
		if (guestfs_part_set_bootable(k->a.g, k->dev, 1, 1) < 0)
			return gerr(k, "mark the partition bootable");
		return 0;
	}
	if (guestfs_part_set_gpt_type(k->a.g, k->dev, 1, DISK_GPT_LINUX_FS) < 0 ||
	    guestfs_part_set_gpt_attributes(k->a.g, k->dev, 1, DISK_GPT_LEGACY_BOOT) < 0)
		return gerr(k, "mark the GPT partition legacy-BIOS bootable");
	/* Random GUIDs by default: pin them. */
	if (guestfs_part_set_disk_guid(k->a.g, k->dev, ids->disk_guid) < 0 ||
	    guestfs_part_set_gpt_guid(k->a.g, k->dev, 1, ids->part_guid) < 0)
		return gerr(k, "set the GPT GUIDs");
	return 0;
}

/*
 * guestfs_debug's "sh" runs a shell in the appliance (not in the guest:
 * nothing of the image is executed), the only way through libguestfs to
 * what e2fsprogs can do but the API does not say: mke2fs -E hash_seed,
 * debugfs, tune2fs -O.  The appliance names devices its own way (its root
 * disk may be /dev/sda), so scripts find the partition by the UUID mke2fs
 * gave it, and fail (set -e) at the first error.  *ret gets what the
 * script printed (stdout and stderr).
 */
static int appliance_sh_out(struct disk *k, const char *script,
			    const char *what, char **ret)
{
	struct hm_buf cmd = HM_BUF_INIT;
	char *argv[2] = { NULL, NULL };
	int r = 0;

	if (hm_buf_addf(&cmd, "set -e; dev=$(blkid -U %s); test -b \"$dev\"; %s",
			k->job->ids->fs_uuid, script) < 0)
		return hm_error_nomem(k->err);
	argv[0] = cmd.data;
	*ret = guestfs_debug(k->a.g, "sh", argv);
	if (!*ret)
		r = gerr(k, what);
	hm_buf_free(&cmd);
	return r;
}

/* The same, when the output does not matter. */
static int appliance_sh(struct disk *k, const char *script, const char *what)
{
	char *out = NULL;
	int r = appliance_sh_out(k, script, what, &out);

	free(out);
	return r;
}

/*
 * The debugfs requests (9 per inode in use: megabytes for a real root)
 * are written to a host file and sent to the appliance in one upload
 * (guestfs_debug_upload, a file transfer into the appliance's /tmp).
 * They used to go as 96 KiB shell here-documents, one guestfs_debug
 * call each (a shell argument is limited to 128 KiB): 12 s of the disk
 * phase for a 16k-inode Debian root under TCG, against well under one
 * for the upload (bench/disk.sh's table).  DISK_DEBUGFS_CHUNK is only
 * how much is buffered before a write to the host file.
 */
#define DISK_DEBUGFS_CHUNK (96u * 1024)
#define DISK_DEBUGFS_FILE "/tmp/hallmark-debugfs.cmd"

struct pin {
	struct disk *k;
	struct hm_buf cmds;
	long long t;
	uint64_t inodes;
	FILE *f;                      /* the host file of the requests */
	char path[4096];
};

static int append_requests(struct pin *p)
{
	if (p->cmds.len && fwrite(p->cmds.data, 1, p->cmds.len, p->f) != p->cmds.len)
		return hm_error_set(p->k->err, HM_ERR_IO, errno, "cannot write '%s'", p->path);
	hm_buf_reset(&p->cmds);
	return 0;
}

/* A temporary host file for the requests, in $TMPDIR. */
static int open_requests(struct pin *p)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	if ((size_t)snprintf(p->path, sizeof(p->path), "%s/hallmark-debugfs.XXXXXX", dir) >=
	    sizeof(p->path))
		return hm_error_set(p->k->err, HM_ERR_INPUT, 0, "TMPDIR is too long");
	if ((fd = mkstemp(p->path)) < 0) {
		int e = errno;

		p->path[0] = '\0';
		return hm_error_set(p->k->err, HM_ERR_IO, e,
				    "cannot make a temporary file in '%s'", dir);
	}
	if (!(p->f = fdopen(fd, "w"))) {
		close(fd);
		return hm_error_nomem(p->k->err);
	}
	return 0;
}

/* Send the requests to the appliance's DISK_DEBUGFS_FILE. */
static int send_requests(struct pin *p)
{
	int r;

	if ((r = append_requests(p)) < 0)
		return r;
	r = fclose(p->f);
	p->f = NULL;
	if (r != 0)
		return hm_error_set(p->k->err, HM_ERR_IO, errno, "cannot write '%s'", p->path);
	if (guestfs_debug_upload(p->k->a.g, p->path, DISK_DEBUGFS_FILE, 0600) < 0)
		return gerr(p->k, "send requests to debugfs in the appliance");
	return 0;
}

/*
 * Run the debugfs requests of DISK_DEBUGFS_FILE (one per line) on the
 * partition.  debugfs exits 0 even when a request fails, and prints such
 * failures on stderr (where its version banner also goes): anything
 * else there fails the step.
 */
static int run_debugfs(struct disk *k, const char *what)
{
	return appliance_sh(k,
			    "debugfs -w -f " DISK_DEBUGFS_FILE " \"$dev\" 2>/tmp/hm-debugfs.err >/dev/null; "
			    "rm -f " DISK_DEBUGFS_FILE "; "
			    "if grep -v '^debugfs [0-9]' /tmp/hm-debugfs.err >/tmp/hm-debugfs.bad; then "
			    "head -3 /tmp/hm-debugfs.bad >&2; exit 1; fi", what);
}

static int pin_inodes(struct pin *p, uint64_t a, uint64_t b)
{
	uint64_t i;
	int r;

	for (i = a; i <= b; i++) {
		if (i != 2 && i < HM_DISK_RESERVED_INODES)
			continue;
		if (hm_buf_addf(&p->cmds,
				"sif <%llu> atime @%lld\nsif <%llu> atime_extra 0\n"
				"sif <%llu> mtime @%lld\nsif <%llu> mtime_extra 0\n"
				"sif <%llu> ctime @%lld\nsif <%llu> ctime_extra 0\n"
				"sif <%llu> crtime @%lld\nsif <%llu> crtime_extra 0\n"
				"sif <%llu> generation 0\n",
				(unsigned long long)i, p->t, (unsigned long long)i,
				(unsigned long long)i, p->t, (unsigned long long)i,
				(unsigned long long)i, p->t, (unsigned long long)i,
				(unsigned long long)i, p->t, (unsigned long long)i,
				(unsigned long long)i) < 0)
			return hm_error_nomem(p->k->err);
		p->inodes++;
		if (p->cmds.len >= DISK_DEBUGFS_CHUNK && (r = append_requests(p)) < 0)
			return r;
	}
	return 0;
}

static uint64_t parse_u64(const char *s, const char **end)
{
	uint64_t v = 0;

	while (*s == ' ')
		s++;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint64_t)(*s++ - '0');
	*end = s;
	return v;
}

/*
 * The inodes in use, from dumpe2fs' inode bitmaps (not from the tree:
 * nothing is missed): "Inodes per group: N", then per group "Group G:"
 * and "  Free inodes: A-B, C, ...", in increasing order.
 */
static int pin_used_inodes(struct pin *p, const char *text)
{
	uint64_t ipg = 0, group = 0, first, last, u, a, b;
	const char *line, *q;
	int r;

	for (line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!strncmp(line, "Inodes per group:", 17)) {
			ipg = parse_u64(line + 17, &q);
		} else if (!strncmp(line, "Group ", 6)) {
			group = parse_u64(line + 6, &q);
		} else if (!strncmp(line, "  Free inodes:", 14)) {
			if (!ipg)
				return hm_error_set(p->k->err, HM_ERR_IO, 0,
						    "cannot read the inode bitmaps: no inode count per group");
			first = group * ipg + 1;
			last = (group + 1) * ipg;
			u = first;
			q = line + 14;
			for (;;) {
				while (*q == ' ' || *q == ',')
					q++;
				if (*q < '0' || *q > '9')
					break;
				a = parse_u64(q, &q);
				b = a;
				if (*q == '-')
					b = parse_u64(q + 1, &q);
				if (a < u || b < a || b > last)
					return hm_error_set(p->k->err, HM_ERR_IO, 0,
							    "cannot read the inode bitmaps: bad range %llu-%llu in group %llu",
							    (unsigned long long)a, (unsigned long long)b,
							    (unsigned long long)group);
				if (a > u && (r = pin_inodes(p, u, a - 1)) < 0)
					return r;
				u = b + 1;
			}
			if (u <= last && (r = pin_inodes(p, u, last)) < 0)
				return r;
		}
	}
	return 0;
}

/*
 * After the copy, pin what the guest kernel stamped with its clock or its
 * random generator, so that two builds give the same bytes:
 *
 *  - every inode in use (the root and from inode 11 on: the reserved ones
 *    are mke2fs's, already at the build time) gets atime, mtime, ctime
 *    and crtime = the build time with zero nanoseconds, and generation 0
 *    (the kernel draws it at random);
 *  - the journal, which holds the copy's transactions (commit times,
 *    copies of inodes), is dropped and made again, zeroed;
 *  - the superblock's last mount time becomes the build time and its
 *    lifetime-writes counter 0;
 *  - e2fsck -fy then rewrites the checksums that depend on the inode
 *    generation (directory and extent blocks), and writes the superblock
 *    and its backups with the build time as write and check time;
 *  - e2fsck's exit status (0 or 1) says the file system is then clean.
 *
 * The appliance has a shell and e2fsprogs but no awk: the bitmaps are
 * read here and the requests sent to debugfs in chunks.
 */
static int normalize_fs(struct disk *k)
{
	struct pin p = { .k = k, .cmds = HM_BUF_INIT, .t = (long long)k->job->mtime };
	struct hm_buf sh = HM_BUF_INIT;
	char *bitmaps = NULL;
	int r;

	r = appliance_sh_out(k,
			     "rm -f " DISK_DEBUGFS_FILE "; "
			     "tune2fs -O ^has_journal \"$dev\" >/dev/null; "
			     "dumpe2fs \"$dev\" 2>/dev/null | "
			     "grep -e '^Inodes per group:' -e '^Group [0-9]' -e '^  Free inodes:'",
			     "read the file system's inode bitmaps", &bitmaps);
	if (r < 0)
		goto out;
	mark(k, HM_DISK_STEP_PIN_BITMAPS);
	if ((r = open_requests(&p)) < 0 || (r = pin_used_inodes(&p, bitmaps)) < 0)
		goto out;
	if (!p.inodes) {
		r = hm_error_set(k->err, HM_ERR_IO, 0,
				 "cannot read the inode bitmaps: no inode in use");
		goto out;
	}
	/* The superblock's mount time and write counter, which the kernel
	 * set: before e2fsck, which copies the superblock into its backups
	 * (debugfs writes only the primary). */
	if (hm_buf_addf(&p.cmds, "ssv mtime @%lld\nssv kbytes_written 0\n", p.t) < 0) {
		r = hm_error_nomem(k->err);
		goto out;
	}
	if ((r = send_requests(&p)) < 0)
		goto out;
	mark(k, HM_DISK_STEP_PIN_SEND);
	if ((r = run_debugfs(k, "pin the inode times")) < 0)
		goto out;
	mark(k, HM_DISK_STEP_PIN_DEBUGFS);
	/* e2fsck writes the superblock and its backups with its write and
	 * check times: E2FSPROGS_FAKE_TIME (set above) and E2FSCK_TIME. */
	r = hm_buf_addf(&sh,
		"tune2fs -O has_journal \"$dev\" >/dev/null; "
		"E2FSCK_TIME=%lld e2fsck -fy \"$dev\" >/tmp/hm-fsck.out 2>&1 || test $? -le 1 || "
		"{ tail -5 /tmp/hm-fsck.out >&2; exit 1; }",
		p.t);
	if (r < 0) {
		r = hm_error_nomem(k->err);
		goto out;
	}
	/* No second, read-only e2fsck -fn: e2fsck's exit status is the
	 * proof (e2fsck(8): 0 no errors, 1 errors corrected; 4 and more
	 * errors left uncorrected or a failure, and e2fsck restarts itself
	 * when a fix needs another pass).  The -fn pass cost 1-2 s under
	 * TCG and never found anything (bench/disk.sh; t1002 runs e2fsck
	 * -fn on the disks it builds). */
	r = appliance_sh(k, sh.data, "pin the file system's journal and superblock");
	mark(k, HM_DISK_STEP_PIN_FSCK);
out:
	if (p.f)
		fclose(p.f);
	if (p.path[0])
		unlink(p.path);
	free(bitmaps);
	hm_buf_free(&p.cmds);
	hm_buf_free(&sh);
	return r;
}

static int make_fs(struct disk *k)
{
	const struct hm_disk_write_job *job = k->job;
	char when[32], cmd[512];
	char *argv[] = { (char *)"E2FSPROGS_FAKE_TIME", when, NULL };
	char *out;

	/* mke2fs stamps the superblock, the root and lost+found with this
	 * instead of the clock. */
	snprintf(when, sizeof(when), "%lld", (long long)job->mtime);
	out = guestfs_debug(k->a.g, "setenv", argv);
	if (!out)
		return gerr(k, "set the time of mke2fs in the appliance");
	free(out);
	if (guestfs_mke2fs(k->a.g, k->part,
			   GUESTFS_MKE2FS_FSTYPE, "ext4",
			   GUESTFS_MKE2FS_BLOCKSIZE, (int64_t)HM_DISK_BLOCK,
			   GUESTFS_MKE2FS_INODESIZE, (int64_t)HM_DISK_INODE_SIZE,
			   GUESTFS_MKE2FS_BYTESPERINODE, (int64_t)HM_DISK_BYTES_PER_INODE,
			   GUESTFS_MKE2FS_LABEL, job->label,
			   GUESTFS_MKE2FS_UUID, job->ids->fs_uuid,
			   /* Zero the inode tables now: done lazily, the
			    * kernel's ext4lazyinit thread does it after the
			    * mount, when it gets to it, and marks the groups
			    * ITABLE_ZEROED or not depending on how far it got
			    * (measured).  Each of guestfs_mke2fs' extended
			    * options is its own -E, of which mke2fs keeps only
			    * the last: this must be the only one (the journal
			    * is zeroed by default, and made again anyway). */
			   GUESTFS_MKE2FS_LAZYITABLEINIT, 0,
			   GUESTFS_MKE2FS_FORCECREATE, 1,
			   -1) < 0)
		return gerr(k, "make the ext4 file system");
	/* The directory hash seed is random in mke2fs unless -E hash_seed
	 * is given, which guestfs_mke2fs cannot say: set it with debugfs
	 * before anything is written (the file system is still empty).
	 * debugfs exits 0 even when a request fails: dumpe2fs checks. */
	snprintf(cmd, sizeof(cmd),
		 "debugfs -w -R 'ssv hash_seed %s' \"$dev\" >/dev/null 2>&1; "
		 "dumpe2fs -h \"$dev\" 2>/dev/null | grep -q '^Directory Hash Seed: *%s$'",
		 job->ids->hash_seed, job->ids->hash_seed);
	return appliance_sh(k, cmd, "set the ext4 hash seed");
}

static int read_host_file(const char *path, size_t max, char **ret,
			  size_t *ret_len, struct hm_error *err)
{
	int r = hm_read_file(path, max, ret, ret_len, err);

	if (r < 0)
		return hm_error_prefix(err, "syslinux's boot code (install syslinux-common)");
	return 0;
}

static int install_boot(struct disk *k)
{
	bool gpt = k->job->gpt;
	const char *bin = gpt ? DISK_GPTMBR_BIN : DISK_MBR_BIN;
	char *code = NULL;
	size_t len = 0;
	int r;

	if (guestfs_extlinux(k->a.g, "/boot/extlinux") < 0)
		return gerr(k, "install extlinux on /boot/extlinux");
	r = read_host_file(bin, DISK_BOOT_CODE_BYTES, &code, &len, k->err);
	if (r < 0)
		return r;
	if (len != DISK_BOOT_CODE_BYTES) {
		r = hm_error_set(k->err, HM_ERR_INPUT, 0,
				 "'%s' is %zu bytes, not the %u of boot code an MBR holds",
				 bin, len, DISK_BOOT_CODE_BYTES);
		goto out;
	}
	if (guestfs_pwrite_device(k->a.g, k->dev, code, len, 0) != (int)len) {
		r = gerr(k, "write the MBR boot code");
		goto out;
	}
	/* parted picks a random MBR disk signature: pin it.  (GPT disks
	 * carry a protective MBR whose signature stays 0.) */
	if (!gpt &&
	    guestfs_pwrite_device(k->a.g, k->dev, (const char *)k->job->ids->mbr_signature,
				  4, DISK_BOOT_CODE_BYTES) != 4) {
		r = gerr(k, "write the MBR disk signature");
		goto out;
	}
	r = 0;
out:
	free(code);
	return r;
}

/* One entry of the disk, read back into the tree. */
static int read_back(struct disk *k, struct hm_tree *t, const char *path)
{
	struct guestfs_statns *st = NULL;
	struct guestfs_xattr_list *xs = NULL;
	struct hm_entry *e = NULL;
	char *sum = NULL, *link = NULL, what[128 + 256];
	size_t i;
	int r;

	snprintf(what, sizeof(what), "read back '%s' from the disk", path);
	if (!(st = guestfs_lstatns(k->a.g, path))) {
		r = gerr(k, what);
		goto out;
	}
	if (!(e = hm_entry_new()) || hm_entry_set_path(e, path, strlen(path)) < 0) {
		r = hm_error_nomem(k->err);
		goto out;
	}
	e->type = hm_type_from_st_mode((unsigned)st->st_mode);
	e->mode = (uint32_t)st->st_mode & 07777;
	e->uid = (uint32_t)st->st_uid;
	e->gid = (uint32_t)st->st_gid;
	switch (e->type) {
	case HM_TYPE_FILE:
		e->size = (uint64_t)st->st_size;
		if (!(sum = guestfs_checksum(k->a.g, "sha256", path))) {
			r = gerr(k, what);
			goto out;
		}
		if (strlen(sum) != 64 || hm_hex_decode(sum, 64, e->sha256, 32) < 0) {
			r = hm_error_set(k->err, HM_ERR_IO, 0,
					 "cannot %s: bad checksum '%.80s'", what, sum);
			goto out;
		}
		e->flags |= HM_ENTRY_HAS_DIGEST;
		break;
	case HM_TYPE_SYMLINK:
		if (!(link = guestfs_readlink(k->a.g, path))) {
			r = gerr(k, what);
			goto out;
		}
		if (hm_entry_set_target(e, link, strlen(link)) < 0) {
			r = hm_error_nomem(k->err);
			goto out;
		}
		break;
	case HM_TYPE_CHAR:
	case HM_TYPE_BLOCK:
		e->rdev_major = (uint32_t)(((uint64_t)st->st_rdev >> 8) & 0xfff);
		e->rdev_minor = (uint32_t)(((uint64_t)st->st_rdev & 0xff) |
					   (((uint64_t)st->st_rdev >> 12) & 0xfff00));
		break;
	case HM_TYPE_NONE:
		r = hm_error_set(k->err, HM_ERR_IO, 0,
				 "cannot %s: unknown file type 0%llo", what,
				 (unsigned long long)st->st_mode);
		goto out;
	default:
		break;
	}
	if (!(xs = guestfs_lgetxattrs(k->a.g, path))) {
		r = gerr(k, what);
		goto out;
	}
	for (i = 0; i < xs->len; i++)
		if (hm_entry_add_xattr(e, xs->val[i].attrname, xs->val[i].attrval,
				       xs->val[i].attrval_len) < 0) {
			r = hm_error_nomem(k->err);
			goto out;
		}
	if ((r = hm_entry_sort_xattrs(e)) < 0) {
		r = hm_error_set(k->err, HM_ERR_IO, 0, "cannot %s: duplicate xattr", what);
		goto out;
	}
	r = hm_tree_put_take(t, e, true, k->err);
	e = NULL;
out:
	hm_entry_free(e);
	if (st)
		guestfs_free_statns(st);
	if (xs)
		guestfs_free_xattr_list(xs);
	free(sum);
	free(link);
	return r;
}

/*
 * GNU tar in the appliance only warns when it cannot set an xattr (exit
 * 0): a full file system or a value ext4 refuses would leave the disk
 * without xattrs its manifest names.  So after the copy the file system
 * must not be full, and every entry with xattrs is read back and
 * compared (images have few: file capabilities, mostly).
 */
struct xattr_paths {
	char **paths;
	size_t n, cap;
};

static int collect_xattr_paths(void *ctx, const struct hm_entry *e)
{
	struct xattr_paths *x = ctx;

	if ((e->flags & HM_ENTRY_DELETED) || !e->n_xattrs)
		return 0;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		char **p = realloc(x->paths, cap * sizeof(*p));

		if (!p)
			return HM_ERR_NOMEM;
		x->paths = p;
		x->cap = cap;
	}
	if (!(x->paths[x->n] = strdup(e->path)))
		return HM_ERR_NOMEM;
	x->n++;
	return 0;
}

static bool xattrs_equal(const struct hm_entry *e,
			 const struct guestfs_xattr_list *xs)
{
	size_t i;

	if (xs->len != e->n_xattrs)
		return false;
	for (i = 0; i < xs->len; i++) {
		const struct hm_xattr *x = hm_entry_find_xattr(e, xs->val[i].attrname);

		if (!x || x->len != xs->val[i].attrval_len ||
		    memcmp(x->value, xs->val[i].attrval, x->len) != 0)
			return false;
	}
	return true;
}

static int check_copy(struct disk *k, const struct hm_tree *t)
{
	struct xattr_paths x = { NULL, 0, 0 };
	struct guestfs_statvfs *fs;
	struct guestfs_xattr_list *xs;
	char size[32];
	size_t i;
	int r = 0;

	if (!(fs = guestfs_statvfs(k->a.g, "/")))
		return gerr(k, "read the file system's free space");
	hm_disk_size_name(k->job->size, size, sizeof(size));
	if (fs->bfree <= 0 || fs->ffree <= 0)
		r = hm_error_set(k->err, HM_ERR_INPUT, 0,
				 "the image does not fit in a disk of size %s: the file system is full after the copy (no free %s); raise disk.size",
				 size, fs->bfree <= 0 ? "block" : "inode");
	guestfs_free_statvfs(fs);
	if (r < 0)
		return r;
	if (hm_tree_walk(t, collect_xattr_paths, &x) < 0) {
		r = hm_error_nomem(k->err);
		goto out;
	}
	for (i = 0; i < x.n; i++) {
		const struct hm_entry *e = hm_tree_get(t, x.paths[i], strlen(x.paths[i]));
		bool same;

		if (!(xs = guestfs_lgetxattrs(k->a.g, x.paths[i]))) {
			r = gerr(k, "read back xattrs from the disk");
			goto out;
		}
		same = xattrs_equal(e, xs);
		guestfs_free_xattr_list(xs);
		if (!same) {
			r = hm_error_set(k->err, HM_ERR_INPUT, 0,
					 "the disk did not keep the xattrs of '%s' (ext4 refused them, or the file system is full)",
					 x.paths[i]);
			goto out;
		}
	}
out:
	for (i = 0; i < x.n; i++)
		free(x.paths[i]);
	free(x.paths);
	return r;
}

/*
 * What the disk has that the tar did not bring: extlinux's files in
 * /boot/extlinux (whatever this syslinux writes) and mke2fs's
 * /lost+found, with the root, which tar set from the tree's "./".
 */
static int read_back_all(struct disk *k, struct hm_tree *t)
{
	char **names = NULL, *path = NULL;
	size_t i;
	int r;

	if ((r = read_back(k, t, "/")) < 0 ||
	    (r = read_back(k, t, "/lost+found")) < 0)
		return r;
	if (!(names = guestfs_ls(k->a.g, "/boot/extlinux")))
		return gerr(k, "list /boot/extlinux on the disk");
	for (i = 0; names[i]; i++) {
		const struct hm_entry *old;

		free(path);
		if (asprintf(&path, "/boot/extlinux/%s", names[i]) < 0) {
			path = NULL;
			r = hm_error_nomem(k->err);
			goto out;
		}
		old = hm_tree_get(t, path, strlen(path));
		if (old && !strcmp(names[i], "extlinux.conf"))
			continue;   /* ours, unchanged (extlinux only reads it) */
		if (i >= DISK_READBACK_MAX) {
			r = hm_error_set(k->err, HM_ERR_LIMIT, 0,
					 "/boot/extlinux on the disk has more than %u entries",
					 DISK_READBACK_MAX);
			goto out;
		}
		if ((r = read_back(k, t, path)) < 0)
			goto out;
	}
	r = 0;
out:
	free(path);
	hm_appliance_free_strings(names);
	return r;
}

static int file_digest(const char *path, unsigned char sha[32],
		       uint64_t *ret_bytes, struct hm_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int r;

	if (fd < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", path);
	/* Publish what is on the disk: flush before hashing and renaming. */
	if (fsync(fd) < 0 || fchmod(fd, 0644) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot sync '%s'", path);
		close(fd);
		return r;
	}
	r = hm_sha256_fd(fd, path, sha, ret_bytes, err);
	close(fd);
	return r;
}

/*
 * The qcow2 gets the finished raw disk, on the host, after the appliance
 * has shut down: qemu-img convert at the host's speed instead of a copy
 * by the emulated guest (under TCG the appliance's dd ran at 100 MB/s at
 * best; bench/disk.sh's table has both).  The qcow2 driver lays clusters
 * out in the order writes reach it, so the order must be the disk's and
 * not the guest kernel's flusher's (two builds once gave qcow2 files
 * that qemu-img compare called identical but 90 MB apart in bytes):
 * qemu-img convert writes in order unless told -W, one cluster after
 * the other, and leaves the qcow2's clusters unallocated where the raw
 * has none or only zeros (its -S 4k sparse detection, finer than the
 * 64 KiB clusters).  libguestfs's Debian package depends on qemu-utils:
 * qemu-img is there wherever the appliance runs.
 */
#define QEMU_IMG "qemu-img"
#define QEMU_IMG_ERR_MAX 4096u

static int convert_to_qcow2(const char *raw, const char *qcow2, struct hm_error *err)
{
	char *argv[] = {
		(char *)QEMU_IMG, (char *)"convert", (char *)"-q",
		(char *)"-f", (char *)"raw", (char *)"-O", (char *)"qcow2",
		(char *)"-o", (char *)"compat=1.1", (char *)raw, (char *)qcow2, NULL,
	};
	posix_spawn_file_actions_t fa;
	char msg[QEMU_IMG_ERR_MAX];
	FILE *log = tmpfile();
	size_t n = 0;
	pid_t pid;
	int r, st;

	if (!log)
		return hm_error_set(err, HM_ERR_IO, errno,
				    "cannot make a temporary file for qemu-img's messages");
	if ((r = posix_spawn_file_actions_init(&fa)) != 0) {
		fclose(log);
		return hm_error_set(err, HM_ERR_NOMEM, r, "cannot run " QEMU_IMG);
	}
	r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!r)
		r = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, fileno(log), 2);
	if (!r)
		r = posix_spawnp(&pid, QEMU_IMG, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		fclose(log);
		return hm_error_set(err, HM_ERR_IO, r,
				    "cannot run " QEMU_IMG " to write the qcow2 image '%s' (install qemu-utils)",
				    qcow2);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			r = hm_error_set(err, HM_ERR_IO, errno, "cannot wait for " QEMU_IMG);
			goto out;
		}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		r = 0;
		goto out;
	}
	rewind(log);
	n = fread(msg, 1, sizeof(msg) - 1, log);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	msg[n] = '\0';
	for (char *c = msg; *c; c++)
		if (*c == '\n')
			*c = ' ';
	r = hm_error_set(err, HM_ERR_IO, 0,
			 "cannot convert the disk into the qcow2 image '%s': %s",
			 qcow2, n ? msg : WIFEXITED(st) ? "qemu-img failed" : "qemu-img was killed");
out:
	fclose(log);
	return r;
}

/*
 * The tree onto the mounted file system: GNU tar in the appliance, with
 * the options guestfs_tar_in gives it (xattrs kept, owners kept as
 * root), reading the tar from a read-only drive instead of through
 * guestfs_tar_in's upload: that one crosses the virtio-serial channel in
 * chunks of GUESTFS_MAX_CHUNK_SIZE, each an XDR message the emulated
 * guest decodes and pipes into tar; a drive is read by the guest kernel
 * in large requests (bench/disk.sh's table has both).  The drive carries
 * a label, so its name in the appliance (/dev/disk/guestfs/LABEL) does
 * not depend on how the appliance numbers its disks.  tar stops at the
 * archive's end-of-archive blocks, whatever padding follows.
 */
static int tar_in(struct disk *k)
{
	return appliance_sh(k,
			    "tar -C /sysroot/ -xf /dev/disk/guestfs/" DISK_TAR_LABEL
			    " --xattrs --xattrs-include='*'",
			    "copy the tree onto the disk");
}

/* Milliseconds since *t, and *t = now. */
static uint64_t lap(struct timespec *t)
{
	struct timespec now;
	uint64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (uint64_t)((now.tv_sec - t->tv_sec) * 1000 +
			(now.tv_nsec - t->tv_nsec) / 1000000);
	*t = now;
	return ms;
}

/* Is this libguestfs message a full file system (blocks or inodes)? */
static bool is_enospc(const char *msg)
{
	return msg && strstr(msg, "No space left on device");
}

int hm_disk_write(const struct hm_disk_write_job *job, struct hm_tree *disk_tree,
		  struct hm_disk_result *ret, struct hm_error *err)
{
	struct disk k = { .job = job, .err = err, .fine = ret->fine_ms };
	unsigned long long tar_bytes, disk_bytes = job->size;
	struct timespec t0;
	struct stat st;
	int r;

	memset(ret, 0, sizeof(*ret));
	k.fine = ret->fine_ms;
	k.build_path = job->raw_path ? job->raw_path : job->scratch_raw;
	k.dev = "/dev/sda";
	k.part = "/dev/sda1";
	if (stat(job->content_tar, &st) < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot stat '%s'",
				    job->content_tar);
	tar_bytes = (unsigned long long)st.st_size;
	if ((r = hm_appliance_new(&k.a, err)) < 0)
		goto out;
	hm_appliance_set_progress(&k.a, job->progress);
	hm_progress_detail(job->progress, "start the appliance");
	if ((r = create_disk(&k, k.build_path, "raw")) < 0 ||
	    (r = add_drive(&k, k.build_path, "raw")) < 0)
		goto out;
	/* The tree's tar, read by the appliance as a disk (tar_in). */
	if (guestfs_add_drive_opts(k.a.g, job->content_tar,
				   GUESTFS_ADD_DRIVE_OPTS_FORMAT, "raw",
				   GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
				   GUESTFS_ADD_DRIVE_OPTS_LABEL, DISK_TAR_LABEL,
				   -1) < 0) {
		r = gerr(&k, "add the tree's tar to the appliance");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	k.tf = t0;
	if ((r = hm_appliance_launch(&k.a, err)) < 0)
		goto out;
	ret->launch_ms = lap(&t0);
	mark(&k, HM_DISK_STEP_LAUNCH);

	hm_appliance_step(&k.a, "partition and format the disk", disk_bytes, DISK_MIB_S);
	if ((r = partition(&k)) < 0)
		goto out;
	mark(&k, HM_DISK_STEP_PARTITION);
	if ((r = make_fs(&k)) < 0)
		goto out;
	mark(&k, HM_DISK_STEP_MKFS);
	hm_appliance_step(&k.a, "copy the tree onto the disk", tar_bytes, TREE_MIB_S);
	/* nodelalloc: blocks are allocated when tar writes, in the tar's
	 * order, not when the kernel's flusher gets to each inode (which
	 * depends on timing and places a tree of thousands of files
	 * differently on every run); noatime: reading back does not write. */
	if (guestfs_mount_options(k.a.g, "noatime,nodelalloc", k.part, "/") < 0) {
		r = gerr(&k, "mount the new file system");
		goto out;
	}
	if (tar_in(&k) < 0) {
		const char *msg = guestfs_last_error(k.a.g);
		char size[32];

		hm_disk_size_name(job->size, size, sizeof(size));
		if (is_enospc(msg))
			r = hm_error_set(err, HM_ERR_INPUT, 0,
					 "the image does not fit in a disk of size %s: the file system filled up while the tree was copied in (No space left on device); raise disk.size",
					 size);
		else
			r = gerr(&k, "copy the tree onto the disk");
		goto out;
	}
	mark(&k, HM_DISK_STEP_TAR_IN);
	if ((r = check_copy(&k, disk_tree)) < 0)
		goto out;
	mark(&k, HM_DISK_STEP_CHECK);
	ret->copy_ms = lap(&t0);
	hm_appliance_step(&k.a, "install the boot loader and read the disk back", tar_bytes,
	     TREE_MIB_S);
	if ((r = install_boot(&k)) < 0)
		goto out;
	mark(&k, HM_DISK_STEP_EXTLINUX);
	if ((r = read_back_all(&k, disk_tree)) < 0)
		goto out;
	mark(&k, HM_DISK_STEP_READ_BACK);
	if (guestfs_umount_all(k.a.g) < 0) {
		r = gerr(&k, "unmount the file system");
		goto out;
	}
	mark(&k, HM_DISK_STEP_UMOUNT);
	ret->boot_ms = lap(&t0);
	hm_appliance_step(&k.a, "pin the file system's metadata", disk_bytes, DISK_MIB_S);
	if ((r = normalize_fs(&k)) < 0)
		goto out;
	ret->pin_ms = lap(&t0);
	/* The shutdown flushes the drive; only a clean one means the
	 * file holds the whole disk. */
	hm_progress_detail(job->progress, "stop the appliance");
	if ((r = hm_appliance_shutdown(&k.a, disk_bytes, DISK_MIB_S, err)) < 0)
		goto out;
	mark(&k, HM_DISK_STEP_SHUTDOWN);
	if (job->qcow2_path) {
		hm_progress_detail(job->progress, "convert the disk into the qcow2 image");
		if ((r = convert_to_qcow2(k.build_path, job->qcow2_path, err)) < 0)
			goto out;
	}
	mark(&k, HM_DISK_STEP_QCOW2);
	ret->finish_ms = lap(&t0);
	if (job->raw_path &&
	    (r = file_digest(job->raw_path, ret->raw_sha256, &ret->raw_bytes, err)) < 0)
		goto out;
	if (job->qcow2_path &&
	    (r = file_digest(job->qcow2_path, ret->qcow2_sha256, &ret->qcow2_bytes, err)) < 0)
		goto out;
	mark(&k, HM_DISK_STEP_DIGEST);
	r = 0;
out:
	hm_appliance_free(&k.a, r < 0 ? &ret->hung : NULL);
	if (!job->raw_path && job->scratch_raw)
		unlink(job->scratch_raw);
	return r;
}
