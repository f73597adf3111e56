/*
 * VM disks: the disk tree as a bootable raw or qcow2 image, with no loop
 * device, no host mount and no root needed.
 *
 * On the host, through e2fsprogs on the image file (file descriptor 3,
 * see host_run): an ext4 with the template's label and a UUID derived
 * from the template (make_fs), filled with debugfs requests in the order
 * of the deterministic tar hm_emit_tar wrote, xattrs kept (populate).
 * Then one libguestfs appliance launch: an MBR (or GPT) with one
 * partition from 1 MiB to the end, marked bootable; extlinux on
 * /boot/extlinux and syslinux's MBR code in the first 440 bytes; then the
 * files extlinux wrote and /lost+found are read back into the disk tree,
 * so that the disk manifest names what is on the disk and not what the
 * builder meant to put there.  Back on the host once the appliance is
 * stopped: every inode's times and generation and the journal are pinned
 * (normalize_fs), and when a qcow2 is asked the raw disk is converted
 * into it (qemu-img, in order): the qcow2's cluster order then follows
 * the disk's bytes and not the order in which a kernel flushed them.
 *
 * Reproducibility, as far as the tools let a caller reach: the file
 * system UUID, the directory hash seed, the MBR disk signature and the
 * GPT GUIDs derive from the template's digest; mke2fs's own times come
 * from the build time (E2FSPROGS_FAKE_TIME); the inode tables are zeroed
 * at mkfs time instead of lazily by a kernel thread; the appliance
 * mounts the file system noatime, nodelalloc and
 * no_prefetch_block_bitmaps (where extlinux's blocks go depends on what
 * the disk holds, not on the flusher's or a kernel thread's timing: see
 * hm_disk_write); and the pinning above.  docs/benchmarks.md, "Disk
 * reproducibility", has the measurements.
 *
 * The appliance session (create, launch, budgets, shutdown, errors) is
 * appliance.c's; the tree this writes is prepared by the builder
 * (builder/emit_disk.c), which checks it against the geometry in disk.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "appliance.h"
#include "disk.h"
#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/process.h"

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
	int fd;                       /* build_path, for the host's e2fsprogs */
	char tmpdir[4096];            /* the tree's files, the requests */
};

static const char *const step_names[HM_DISK_STEP__COUNT] = {
	[HM_DISK_STEP_MKFS] = "mkfs",
	[HM_DISK_STEP_UNPACK] = "unpack",
	[HM_DISK_STEP_POPULATE] = "populate",
	[HM_DISK_STEP_LAUNCH] = "launch",
	[HM_DISK_STEP_PARTITION] = "partition",
	[HM_DISK_STEP_CHECK] = "check",
	[HM_DISK_STEP_EXTLINUX] = "extlinux",
	[HM_DISK_STEP_READ_BACK] = "read_back",
	[HM_DISK_STEP_UMOUNT] = "umount",
	[HM_DISK_STEP_SHUTDOWN] = "shutdown",
	[HM_DISK_STEP_PIN_BITMAPS] = "pin_bitmaps",
	[HM_DISK_STEP_PIN_SEND] = "pin_requests",
	[HM_DISK_STEP_PIN_DEBUGFS] = "pin_debugfs",
	[HM_DISK_STEP_PIN_FSCK] = "pin_fsck",
	[HM_DISK_STEP_QCOW2] = "qcow2",
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

#define QEMU_IMG "qemu-img"

/* ---- host tools ------------------------------------------------------- */

/*
 * e2fsprogs and qemu-img run on the host, on our own freshly made image
 * (never on an input: nothing here parses a foreign file system).  The
 * disk is handed to them as file descriptor 3 (hm_spawn's fd3), and
 * e2fsprogs opens the partition inside it as "/dev/fd/3?offset=1048576"
 * (ext2fs_open's io options): no loop device, no mount, no root, and no
 * quoting of the output path.
 */
#define HOST_PART "/dev/fd/3?offset=1048576"
#define HOST_OUT_MAX (64u << 20)
#define HOST_ERR_MAX 4096u

static int read_log(FILE *f, size_t max, struct hm_buf *b)
{
	char chunk[8192];
	size_t n;

	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b->len + n > max)
			n = max - b->len;
		if (n && hm_buf_add(b, chunk, n) < 0)
			return -1;
		if (b->len >= max)
			break;
	}
	return hm_buf_addc(b, '\0') < 0 ? -1 : (b->len--, 0);
}

/*
 * Run argv on the host: env_add (NAME=VALUE, NULL-terminated) in place of
 * those names in the environment, stdin /dev/null, the disk (disk_fd >= 0)
 * as fd 3, stdout into *out (or /dev/null), stderr into *errtext.
 * *status: the exit status, or -1 when killed.
 */
static int host_run(char *const argv[], char *const env_add[], int disk_fd,
		    struct hm_buf *out, struct hm_buf *errtext, int *status,
		    struct hm_error *err)
{
	FILE *olog = NULL, *elog = tmpfile();
	struct hm_spawn sp = { .argv = argv, .env_add = env_add, .fd3 = disk_fd };
	pid_t pid;
	int r, st;

	if (!elog || (out && !(olog = tmpfile()))) {
		r = hm_error_set(err, HM_ERR_IO, errno,
				 "cannot make a temporary file for %s's messages", argv[0]);
		goto out;
	}
	sp.out_fd = olog ? fileno(olog) : HM_SPAWN_NULL;
	sp.err_fd = fileno(elog);
	if ((r = hm_spawn(&sp, &pid)) != 0) {
		r = hm_error_set(err, HM_ERR_IO, r, "cannot run %s (install %s)", argv[0],
				 strcmp(argv[0], QEMU_IMG) ? "e2fsprogs" : "qemu-utils");
		goto out;
	}
	if ((r = hm_spawn_wait(pid, &st)) != 0) {
		r = hm_error_set(err, HM_ERR_IO, r, "cannot wait for %s", argv[0]);
		goto out;
	}
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if ((out && read_log(olog, HOST_OUT_MAX, out) < 0) ||
	    read_log(elog, HOST_ERR_MAX, errtext) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	r = 0;
out:
	if (olog)
		fclose(olog);
	if (elog)
		fclose(elog);
	return r;
}

/* A tool's messages on one line, for an error. */
static const char *one_line(struct hm_buf *b)
{
	size_t n = b->len;

	if (!b->data)
		return "";
	while (n && (b->data[n - 1] == '\n' || b->data[n - 1] == ' '))
		n--;
	b->data[n] = '\0';
	for (char *c = b->data; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return b->data;
}

/* Run an e2fsprogs tool on the partition; exit status above ok_max fails. */
static int e2fs_run(struct disk *k, char *const argv[], char *const env_add[],
		    int ok_max, struct hm_buf *out, const char *what)
{
	struct hm_buf e = HM_BUF_INIT;
	int st, r;

	if ((r = host_run(argv, env_add, k->fd, out, &e, &st, k->err)) < 0)
		goto out;
	if (st < 0 || st > ok_max)
		r = hm_error_set(k->err, HM_ERR_IO, 0, "cannot %s: %s: %s", what, argv[0],
				 e.len ? one_line(&e) : st < 0 ? "killed" : "failed");
out:
	hm_buf_free(&e);
	return r;
}

/*
 * debugfs -w -f FILE on the partition.  debugfs exits 0 even when a
 * request fails, and prints such failures on stderr (where its version
 * banner also goes): anything else there fails the step.  A request
 * that found no free block or inode means the tree does not fit.
 */
static int host_debugfs(struct disk *k, const char *cmd_file, const char *what)
{
	char *argv[] = { (char *)"debugfs", (char *)"-w", (char *)"-f", (char *)cmd_file,
			 (char *)HOST_PART, NULL };
	struct hm_buf e = HM_BUF_INIT;
	const char *line, *nl;
	char size[32];
	int st, r;

	if ((r = host_run(argv, NULL, k->fd, NULL, &e, &st, k->err)) < 0)
		goto out;
	for (line = e.data ? e.data : ""; *line; line = nl ? nl + 1 : line + strlen(line)) {
		nl = strchr(line, '\n');
		if (!strncmp(line, "debugfs ", 8) && line[8] >= '0' && line[8] <= '9')
			continue;
		if (line == nl)
			continue;
		hm_disk_size_name(k->job->size, size, sizeof(size));
		if (strstr(e.data, "Could not allocate") || strstr(e.data, "No free space") ||
		    strstr(e.data, "No space left"))
			r = hm_error_set(k->err, HM_ERR_INPUT, 0,
					 "the image does not fit in a disk of size %s: the file system filled up while the tree was copied in (debugfs: %.*s); raise disk.size",
					 size, (int)(nl ? (size_t)(nl - line) : strlen(line)), line);
		else
			r = hm_error_set(k->err, HM_ERR_IO, 0, "cannot %s: debugfs: %.*s", what,
					 (int)(nl ? (size_t)(nl - line) : strlen(line)), line);
		goto out;
	}
	if (st != 0)
		r = hm_error_set(k->err, HM_ERR_IO, 0, "cannot %s: debugfs failed", what);
out:
	hm_buf_free(&e);
	return r;
}

/* ---- the file system, made on the host --------------------------------- */

/*
 * mke2fs reads /etc/mke2fs.conf, which differs between hosts and
 * releases: it gets this one instead (Debian 12's ext4 defaults, which
 * the appliance's mke2fs used until issue 18), so the features, the
 * default mount options and the journal size depend on the command line
 * only.
 */
static const char mke2fs_conf[] =
	"[defaults]\n"
	"\tbase_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr\n"
	"\tdefault_mntopts = acl,user_xattr\n"
	"\tenable_periodic_fsck = 0\n"
	"\tblocksize = 4096\n"
	"\tinode_size = 256\n"
	"\tinode_ratio = 16384\n"
	"[fs_types]\n"
	"\text4 = {\n"
	"\t\tfeatures = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize\n"
	"\t}\n";

/* TMPDIR's private folder of this build, and a name in it: "d12". */
static int tmp_path(struct disk *k, char *out, size_t len, char kind, unsigned long long n,
		    const char *name)
{
	int w = name ? snprintf(out, len, "%s/%s", k->tmpdir, name)
		     : snprintf(out, len, "%s/%c%llu", k->tmpdir, kind, n);

	if (w < 0 || (size_t)w >= len)
		return hm_error_set(k->err, HM_ERR_INPUT, 0, "TMPDIR is too long");
	return 0;
}

static int write_tmp_file(struct disk *k, const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ssize_t w = 0;

	if (fd < 0 || (len && (w = write(fd, data, len)) != (ssize_t)len) || close(fd) < 0) {
		int e = errno;

		if (fd >= 0 && w != (ssize_t)len)
			close(fd);
		return hm_error_set(k->err, HM_ERR_IO, w < 0 || fd < 0 ? e : ENOSPC,
				    "cannot write '%s'", path);
	}
	return 0;
}

/*
 * The partition's size in blocks: parted's partition from sector 2048 to
 * the last sector (MBR) or the last usable one (GPT: the backup table
 * takes the last 33 sectors).
 */
static uint64_t fs_blocks(const struct hm_disk_write_job *job)
{
	uint64_t sectors = job->size / HM_DISK_SECTOR - HM_DISK_PART_START_SECTOR;

	if (job->gpt)
		sectors -= HM_DISK_GPT_BACKUP_SECTORS - 1;
	return sectors * HM_DISK_SECTOR / HM_DISK_BLOCK;
}

static int make_fs(struct disk *k)
{
	const struct hm_disk_write_job *job = k->job;
	char conf[4096], when[64], cfg[4096 + 32], ext[256], blocks[32];
	char *env[] = { when, cfg, NULL };
	char *argv[] = {
		(char *)"mke2fs", (char *)"-q", (char *)"-F", (char *)"-t", (char *)"ext4",
		(char *)"-b", (char *)"4096", (char *)"-I", (char *)"256",
		(char *)"-i", (char *)"16384", (char *)"-L", (char *)job->label,
		(char *)"-U", (char *)job->ids->fs_uuid, (char *)"-E", ext,
		(char *)"/dev/fd/3", blocks, NULL,
	};
	int r;

	_Static_assert(HM_DISK_BLOCK == 4096 && HM_DISK_INODE_SIZE == 256 &&
		       HM_DISK_BYTES_PER_INODE == 16384 &&
		       HM_DISK_PART_START_SECTOR * HM_DISK_SECTOR == 1048576,
		       "make_fs's command line and HOST_PART say these");
	if ((r = tmp_path(k, conf, sizeof(conf), 0, 0, "mke2fs.conf")) < 0 ||
	    (r = write_tmp_file(k, conf, mke2fs_conf, sizeof(mke2fs_conf) - 1)) < 0)
		return r;
	/* mke2fs stamps the superblock, the root and lost+found with this
	 * instead of the clock. */
	snprintf(when, sizeof(when), "E2FSPROGS_FAKE_TIME=%lld", (long long)job->mtime);
	snprintf(cfg, sizeof(cfg), "MKE2FS_CONFIG=%s", conf);
	/* The inode tables zeroed now (the appliance's kernel would
	 * otherwise zero them after the mount, and flag the groups or not
	 * depending on how far it got), the directory hash seed ours. */
	snprintf(ext, sizeof(ext), "lazy_itable_init=0,hash_seed=%s,offset=%u",
		 job->ids->hash_seed, HM_DISK_PART_START_SECTOR * HM_DISK_SECTOR);
	snprintf(blocks, sizeof(blocks), "%llu", (unsigned long long)fs_blocks(job));
	r = e2fs_run(k, argv, env, 0, NULL, "make the ext4 file system");
	unlink(conf);
	return r;
}

/* A debugfs argument: in double quotes, a quote doubled (ss_parse). */
static int add_quoted(struct hm_buf *b, const char *s)
{
	if (hm_buf_addc(b, '"') < 0)
		return -1;
	for (; *s; s++)
		if ((*s == '"' && hm_buf_addc(b, '"') < 0) || hm_buf_addc(b, *s) < 0)
			return -1;
	return hm_buf_addc(b, '"');
}

struct link_count {
	char *path;
	unsigned long count;
};

struct populate {
	struct disk *k;
	struct hm_buf cmds;
	struct hm_buf cwd;            /* debugfs's current directory */
	unsigned long long files;     /* temporary files made: d0.., x0.. */
	unsigned long long xattrs;
	struct link_count *links;     /* the hard-linked files: debugfs's ln */
	size_t n_links, cap_links;    /* adds a name, not a link count */
	struct hm_buf target;         /* a hard link's target, canonical */
};

/* debugfs's mkdir, write, symlink, mknod and ln name an entry in the
 * current directory: cd to the parent first (when it changes). */
static int cd_parent(struct populate *p, const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t plen = slash == path ? 1 : (size_t)(slash - path);

	*base = slash + 1;
	if (p->cwd.len == plen && !memcmp(p->cwd.data, path, plen))
		return 0;
	hm_buf_reset(&p->cwd);
	if (hm_buf_add(&p->cwd, path, plen) < 0 || hm_buf_addc(&p->cwd, '\0') < 0)
		return -1;
	p->cwd.len--;
	return hm_buf_adds(&p->cmds, "cd ") < 0 || add_quoted(&p->cmds, p->cwd.data) < 0 ||
	       hm_buf_addc(&p->cmds, '\n') < 0 ? -1 : 0;
}

/* One more name for target (2 at its first hard link); -1 on no memory. */
static int add_link(struct populate *p, const char *target)
{
	struct link_count *n;
	size_t i;

	/* Few hard links in a root: a linear search is enough. */
	for (i = 0; i < p->n_links; i++)
		if (!strcmp(p->links[i].path, target)) {
			p->links[i].count++;
			return 0;
		}
	if (p->n_links == p->cap_links) {
		size_t cap = p->cap_links ? 2 * p->cap_links : 16;

		if (!(n = realloc(p->links, cap * sizeof(*n))))
			return -1;
		p->links = n;
		p->cap_links = cap;
	}
	if (!(p->links[p->n_links].path = strdup(target)))
		return -1;
	p->links[p->n_links++].count = 2;
	return 0;
}

/*
 * A member name (or hard link target) of the tree's tar as the canonical
 * path debugfs gets (hm_tree_normalize); a name with a newline cannot be
 * one of its requests.
 */
static int entry_path(struct disk *k, const char *name, struct hm_buf *out)
{
	int r;

	if (strchr(name, '\n'))
		return hm_error_set(k->err, HM_ERR_INPUT, 0,
				    "cannot put '%s' of '%s' on the disk: a name with a newline cannot be given to debugfs",
				    name, k->job->content_tar);
	r = hm_tree_normalize(name, strlen(name), out);
	if (r == HM_ERR_NOMEM)
		return hm_error_nomem(k->err);
	if (r < 0)
		return hm_error_set(k->err, HM_ERR_INPUT, 0,
				    "cannot put '%s' of '%s' on the disk: the path escapes the root",
				    name, k->job->content_tar);
	return 0;
}

/* One tar entry as debugfs requests.  path: absolute, normalized. */
static int populate_entry(struct populate *p, struct archive *a,
			  struct archive_entry *e, const char *path)
{
	struct disk *k = p->k;
	struct hm_buf *b = &p->cmds;
	const char *base, *hl = archive_entry_hardlink(e), *name;
	mode_t mode = archive_entry_mode(e);
	char file[4096];
	const void *val;
	size_t len;
	int fd, r;

	if (hl) {
		if ((r = entry_path(k, hl, &p->target)) < 0)
			return r;
		if (cd_parent(p, path, &base) < 0 || hm_buf_adds(b, "ln ") < 0 ||
		    add_quoted(b, p->target.data) < 0 || hm_buf_addc(b, ' ') < 0 ||
		    add_quoted(b, base) < 0 || hm_buf_addc(b, '\n') < 0 ||
		    add_link(p, p->target.data) < 0)
			return hm_error_nomem(k->err);
		return 0;
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		if (!strcmp(path, "/"))
			break;
		if (cd_parent(p, path, &base) < 0 || hm_buf_adds(b, "mkdir ") < 0 ||
		    add_quoted(b, base) < 0 || hm_buf_addc(b, '\n') < 0)
			return hm_error_nomem(k->err);
		break;
	case AE_IFREG:
		if ((r = tmp_path(k, file, sizeof(file), 'd', p->files, NULL)) < 0)
			return r;
		if ((fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
			return hm_error_set(k->err, HM_ERR_IO, errno, "cannot create '%s'", file);
		p->files++;
		r = archive_read_data_into_fd(a, fd);
		if (close(fd) < 0 || r != ARCHIVE_OK)
			return hm_error_set(k->err, HM_ERR_IO, archive_errno(a),
					    "cannot unpack '%s' of '%s': %s", path,
					    k->job->content_tar, archive_error_string(a));
		if (cd_parent(p, path, &base) < 0 || hm_buf_adds(b, "write ") < 0 ||
		    add_quoted(b, file) < 0 || hm_buf_addc(b, ' ') < 0 ||
		    add_quoted(b, base) < 0 || hm_buf_addc(b, '\n') < 0)
			return hm_error_nomem(k->err);
		break;
	case AE_IFLNK:
		if (cd_parent(p, path, &base) < 0 || hm_buf_adds(b, "symlink ") < 0 ||
		    add_quoted(b, base) < 0 || hm_buf_addc(b, ' ') < 0 ||
		    add_quoted(b, archive_entry_symlink(e) ? archive_entry_symlink(e) : "") < 0 ||
		    hm_buf_addc(b, '\n') < 0)
			return hm_error_nomem(k->err);
		break;
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		if (cd_parent(p, path, &base) < 0 || hm_buf_adds(b, "mknod ") < 0 ||
		    add_quoted(b, base) < 0)
			return hm_error_nomem(k->err);
		r = archive_entry_filetype(e) == AE_IFIFO ? hm_buf_adds(b, " p\n")
			: hm_buf_addf(b, " %c %lu %lu\n",
				      archive_entry_filetype(e) == AE_IFCHR ? 'c' : 'b',
				      (unsigned long)archive_entry_rdevmajor(e),
				      (unsigned long)archive_entry_rdevminor(e));
		if (r < 0)
			return hm_error_nomem(k->err);
		break;
	default:
		return hm_error_set(k->err, HM_ERR_INPUT, 0,
				    "cannot put '%s' of '%s' on the disk: unsupported file type 0%o",
				    path, k->job->content_tar, (unsigned)archive_entry_filetype(e));
	}
	/* The owner and the whole mode (type, setuid, setgid, sticky). */
	if (hm_buf_adds(b, "sif ") < 0 || add_quoted(b, path) < 0 ||
	    hm_buf_addf(b, " mode 0%o\nsif ", (unsigned)mode) < 0 || add_quoted(b, path) < 0 ||
	    hm_buf_addf(b, " uid %lld\nsif ", (long long)archive_entry_uid(e)) < 0 ||
	    add_quoted(b, path) < 0 ||
	    hm_buf_addf(b, " gid %lld\n", (long long)archive_entry_gid(e)) < 0)
		return hm_error_nomem(k->err);
	/* xattrs (file capabilities, ACLs: libext2fs stores the
	 * system.posix_acl_* values in ext4's on-disk form), each value
	 * from a file: values are binary. */
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK) {
		if ((r = tmp_path(k, file, sizeof(file), 'x', p->xattrs, NULL)) < 0)
			return r;
		p->xattrs++;
		if ((r = write_tmp_file(k, file, val, len)) < 0)
			return r;
		if (hm_buf_adds(b, "ea_set -f ") < 0 || add_quoted(b, file) < 0 ||
		    hm_buf_addc(b, ' ') < 0 || add_quoted(b, path) < 0 ||
		    hm_buf_addc(b, ' ') < 0 || add_quoted(b, name) < 0 ||
		    hm_buf_addc(b, '\n') < 0)
			return hm_error_nomem(k->err);
	}
	return 0;
}

/*
 * The tree onto the file system, on the host: the tar read with
 * libarchive, in its order (hm_emit_tar's, the same on every host),
 * each entry a debugfs request, its data a temporary file that
 * debugfs's write copies in.  libext2fs allocates inodes and blocks in
 * the order of the requests, with no clock (set_current_time: every
 * inode's four times are the build time, nanoseconds 0) and no random
 * generation numbers, so the file system's bytes depend on the tar
 * only, never on the host's directory order, clock or user.  Until
 * issue 18 GNU tar did this in the appliance, under TCG: 51 of the
 * 89 s of the disk phase (docs/benchmarks.md).
 */
static int populate(struct disk *k)
{
	struct populate p = { .k = k, .cmds = HM_BUF_INIT, .cwd = HM_BUF_INIT,
			      .target = HM_BUF_INIT };
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct hm_buf path = HM_BUF_INIT;
	char cmdfile[4096], file[4096];
	unsigned long long i;
	int r;

	if (!a)
		return hm_error_nomem(k->err);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, k->job->content_tar, 1 << 16) != ARCHIVE_OK) {
		r = hm_error_set(k->err, HM_ERR_IO, archive_errno(a), "cannot read '%s': %s",
				 k->job->content_tar, archive_error_string(a));
		goto out;
	}
	if (hm_buf_addf(&p.cmds, "set_current_time @%lld\n", (long long)k->job->mtime) < 0 ||
	    hm_buf_adds(&p.cwd, "/") < 0) {
		r = hm_error_nomem(k->err);
		goto out;
	}
	for (;;) {
		const char *name;

		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			r = hm_error_set(k->err, HM_ERR_IO, archive_errno(a), "cannot read '%s': %s",
					 k->job->content_tar, archive_error_string(a));
			goto out;
		}
		name = archive_entry_pathname(e);
		if ((r = entry_path(k, name ? name : "", &path)) < 0 ||
		    (r = populate_entry(&p, a, e, path.data)) < 0)
			goto out;
	}
	/* ln adds a name, not a link count. */
	for (i = 0; i < p.n_links; i++)
		if (hm_buf_adds(&p.cmds, "sif ") < 0 || add_quoted(&p.cmds, p.links[i].path) < 0 ||
		    hm_buf_addf(&p.cmds, " links_count %lu\n", p.links[i].count) < 0) {
			r = hm_error_nomem(k->err);
			goto out;
		}
	mark(k, HM_DISK_STEP_UNPACK);
	if ((r = tmp_path(k, cmdfile, sizeof(cmdfile), 0, 0, "requests")) < 0 ||
	    (r = write_tmp_file(k, cmdfile, p.cmds.data, p.cmds.len)) < 0)
		goto out;
	r = host_debugfs(k, cmdfile, "copy the tree onto the disk");
	unlink(cmdfile);
	mark(k, HM_DISK_STEP_POPULATE);
out:
	for (i = 0; i < p.files; i++)
		if (!tmp_path(k, file, sizeof(file), 'd', i, NULL))
			unlink(file);
	for (i = 0; i < p.xattrs; i++)
		if (!tmp_path(k, file, sizeof(file), 'x', i, NULL))
			unlink(file);
	archive_read_free(a);
	hm_buf_free(&p.cmds);
	hm_buf_free(&p.cwd);
	for (i = 0; i < p.n_links; i++)
		free(p.links[i].path);
	free(p.links);
	hm_buf_free(&p.target);
	hm_buf_free(&path);
	return r;
}

/* ---- pinning, on the host, after the appliance ------------------------ */

struct pin {
	struct disk *k;
	struct hm_buf cmds;           /* the debugfs requests */
	long long t;
	uint64_t inodes;
};

static int pin_inodes(struct pin *p, uint64_t a, uint64_t b)
{
	uint64_t i;

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
 * After the appliance, pin what the guest kernel stamped with its clock
 * or its random generator when it mounted the file system and extlinux
 * wrote its files, so that two builds give the same bytes.  Everything
 * runs on the host, on our own image, once the appliance has stopped:
 *
 *  - every inode in use (the root and from inode 11 on: the reserved ones
 *    are mke2fs's, already at the build time) gets atime, mtime, ctime
 *    and crtime = the build time with zero nanoseconds, and generation 0
 *    (the kernel draws it at random for the files extlinux makes);
 *  - the journal, which holds the mount's transactions (commit times,
 *    copies of inodes), is dropped and made again, zeroed;
 *  - the superblock's last mount time becomes the build time and its
 *    lifetime-writes counter 0;
 *  - e2fsck -fy then rewrites the checksums that depend on the inode
 *    generation (directory and extent blocks), and writes the superblock
 *    and its backups with the build time as write and check time;
 *  - e2fsck's exit status (0 or 1) says the file system is then clean.
 */
static int normalize_fs(struct disk *k)
{
	struct pin p = { .k = k, .cmds = HM_BUF_INIT, .t = (long long)k->job->mtime };
	struct hm_buf bitmaps = HM_BUF_INIT;
	char when[64], fsck_when[64], file[4096];
	char *env[] = { when, fsck_when, NULL };
	char *tune_off[] = { (char *)"tune2fs", (char *)"-O", (char *)"^has_journal",
			     (char *)HOST_PART, NULL };
	char *tune_on[] = { (char *)"tune2fs", (char *)"-O", (char *)"has_journal",
			    (char *)HOST_PART, NULL };
	char *dump[] = { (char *)"dumpe2fs", (char *)HOST_PART, NULL };
	char *fsck[] = { (char *)"e2fsck", (char *)"-fy", (char *)HOST_PART, NULL };
	int r;

	/* e2fsprogs' own write and check times: the build time. */
	snprintf(when, sizeof(when), "E2FSPROGS_FAKE_TIME=%lld", p.t);
	snprintf(fsck_when, sizeof(fsck_when), "E2FSCK_TIME=%lld", p.t);
	file[0] = '\0';
	if ((r = e2fs_run(k, tune_off, env, 0, NULL, "drop the journal")) < 0 ||
	    (r = e2fs_run(k, dump, env, 0, &bitmaps, "read the file system's inode bitmaps")) < 0)
		goto out;
	mark(k, HM_DISK_STEP_PIN_BITMAPS);
	if ((r = pin_used_inodes(&p, bitmaps.data ? bitmaps.data : "")) < 0)
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
	if ((r = tmp_path(k, file, sizeof(file), 0, 0, "pin")) < 0 ||
	    (r = write_tmp_file(k, file, p.cmds.data, p.cmds.len)) < 0)
		goto out;
	mark(k, HM_DISK_STEP_PIN_SEND);
	if ((r = host_debugfs(k, file, "pin the inode times")) < 0)
		goto out;
	mark(k, HM_DISK_STEP_PIN_DEBUGFS);
	/* No second, read-only e2fsck -fn: e2fsck's exit status is the
	 * proof (e2fsck(8): 0 no errors, 1 errors corrected; 4 and more
	 * errors left uncorrected or a failure).  t1002 runs e2fsck -fn on
	 * the disks it builds. */
	if ((r = e2fs_run(k, tune_on, env, 0, NULL, "make the journal again")) < 0 ||
	    (r = e2fs_run(k, fsck, env, 1, NULL, "check the file system")) < 0)
		goto out;
	mark(k, HM_DISK_STEP_PIN_FSCK);
out:
	if (file[0])
		unlink(file);
	hm_buf_free(&bitmaps);
	hm_buf_free(&p.cmds);
	return r;
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

static int convert_to_qcow2(const char *raw, const char *qcow2, struct hm_error *err)
{
	char *argv[] = {
		(char *)QEMU_IMG, (char *)"convert", (char *)"-q",
		(char *)"-f", (char *)"raw", (char *)"-O", (char *)"qcow2",
		(char *)"-o", (char *)"compat=1.1", (char *)raw, (char *)qcow2, NULL,
	};
	struct hm_buf e = HM_BUF_INIT;
	int st, r;

	if ((r = host_run(argv, NULL, -1, NULL, &e, &st, err)) < 0)
		goto out;
	if (st != 0)
		r = hm_error_set(err, HM_ERR_IO, 0,
				 "cannot convert the disk into the qcow2 image '%s': %s", qcow2,
				 e.len ? one_line(&e) : st < 0 ? "qemu-img was killed" : "qemu-img failed");
out:
	hm_buf_free(&e);
	return r;
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

/* A private folder in $TMPDIR for the tree's files and the requests. */
static int make_tmpdir(struct disk *k)
{
	const char *dir = getenv("TMPDIR");

	if (!dir || !*dir)
		dir = "/tmp";
	if ((size_t)snprintf(k->tmpdir, sizeof(k->tmpdir), "%s/hallmark-disk.XXXXXX", dir) >=
	    sizeof(k->tmpdir) - 32)
		return hm_error_set(k->err, HM_ERR_INPUT, 0, "TMPDIR is too long");
	if (!mkdtemp(k->tmpdir)) {
		int e = errno;

		k->tmpdir[0] = '\0';
		return hm_error_set(k->err, HM_ERR_IO, e,
				    "cannot make a temporary folder in '%s'", dir);
	}
	return 0;
}

int hm_disk_write(const struct hm_disk_write_job *job, struct hm_tree *disk_tree,
		  struct hm_disk_result *ret, struct hm_error *err)
{
	struct disk k = { .job = job, .err = err, .fine = ret->fine_ms, .fd = -1 };
	unsigned long long tar_bytes, disk_bytes = job->size;
	struct timespec t0;
	struct stat st;
	int r;

	memset(ret, 0, sizeof(*ret));
	k.fine = ret->fine_ms;
	k.build_path = job->raw_path ? job->raw_path : job->scratch_raw;
	k.dev = "/dev/sda";
	k.part = "/dev/sda1";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	k.tf = t0;
	if (stat(job->content_tar, &st) < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot stat '%s'",
				    job->content_tar);
	tar_bytes = (unsigned long long)st.st_size;

	/* The file system, made and filled on the host. */
	hm_progress_detail(job->progress, "make the file system and copy the tree in");
	if ((r = make_tmpdir(&k)) < 0)
		goto out;
	k.fd = open(k.build_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (k.fd < 0 || ftruncate(k.fd, (off_t)job->size) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot create '%s'", k.build_path);
		goto out;
	}
	if ((r = make_fs(&k)) < 0)
		goto out;
	mark(&k, HM_DISK_STEP_MKFS);
	if ((r = populate(&k)) < 0)
		goto out;
	ret->copy_ms = lap(&t0);

	/* The appliance, for what needs the file system mounted: extlinux
	 * (it finds ldlinux.sys's sectors through the kernel), and the
	 * partition table with the boot code. */
	if ((r = hm_appliance_new(&k.a, err)) < 0)
		goto out;
	hm_appliance_set_progress(&k.a, job->progress);
	hm_progress_detail(job->progress, "start the appliance");
	if ((r = add_drive(&k, k.build_path, "raw")) < 0)
		goto out;
	if ((r = hm_appliance_launch(&k.a, err)) < 0)
		goto out;
	ret->launch_ms = lap(&t0);
	mark(&k, HM_DISK_STEP_LAUNCH);
	/* parted writes the sectors before 1 MiB (and GPT's backup table
	 * after the partition) only: the file system is left as it is. */
	hm_appliance_step(&k.a, "partition the disk", disk_bytes, DISK_MIB_S);
	if ((r = partition(&k)) < 0)
		goto out;
	mark(&k, HM_DISK_STEP_PARTITION);
	hm_appliance_step(&k.a, "install the boot loader and read the disk back", tar_bytes,
			  TREE_MIB_S);
	/* Where extlinux's files land must depend on the disk's content
	 * only: ldlinux.sys holds the list of its own sectors.
	 * nodelalloc: their blocks are allocated in extlinux's write()
	 * calls, in its order, not when the kernel's flusher gets to them.
	 * no_prefetch_block_bitmaps: otherwise the ext4lazyinit thread
	 * reads every group's block bitmap in the background, from a
	 * random moment up to 5 s after the mount, and builds its buddy
	 * data; the allocator's first passes skip a group whose buddy data
	 * is not built yet (unless it is the first of its flex group or
	 * has no block in use), so ldlinux.sys went into one group or
	 * another depending on how far that thread had got.  With the
	 * option (Linux 5.13 and later, where that thread started
	 * prefetching by default), only the allocations themselves build
	 * buddy data.
	 * (nodelalloc's goal block has a colour taken from the writer's
	 * PID, but it stays inside the inode's group and mballoc uses the
	 * goal's exact block only to extend an extent: the PID does not
	 * move the blocks.  docs/benchmarks.md has both experiments.)
	 * noatime: reading back does not write. */
	if (guestfs_mount_options(k.a.g, "noatime,nodelalloc,no_prefetch_block_bitmaps",
				  k.part, "/") < 0) {
		r = gerr(&k, "mount the new file system");
		goto out;
	}
	if ((r = check_copy(&k, disk_tree)) < 0)
		goto out;
	mark(&k, HM_DISK_STEP_CHECK);
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
	/* The shutdown flushes the drive; only a clean one means the
	 * file holds the whole disk. */
	hm_progress_detail(job->progress, "stop the appliance");
	if ((r = hm_appliance_shutdown(&k.a, disk_bytes, DISK_MIB_S, err)) < 0)
		goto out;
	mark(&k, HM_DISK_STEP_SHUTDOWN);
	hm_progress_detail(job->progress, "pin the file system's metadata");
	if ((r = normalize_fs(&k)) < 0)
		goto out;
	ret->pin_ms = lap(&t0);
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
	if (k.a.g)
		hm_appliance_free(&k.a, r < 0 ? &ret->hung : NULL);
	if (k.fd >= 0)
		close(k.fd);
	if (k.tmpdir[0])
		rmdir(k.tmpdir);
	if (!job->raw_path && job->scratch_raw)
		unlink(job->scratch_raw);
	return r;
}
