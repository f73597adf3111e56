/*
 * VM disks, the builder's side: the disk tree and what it needs before
 * the appliance writer (disk/writer.c) puts it on a disk.  The tree is
 * the final tree plus /etc/fstab and extlinux.conf naming the file
 * system by a UUID derived from the template, checked first against the
 * disk's geometry (disk/disk.h: the kernel and initrd are there, the
 * content and its xattrs fit), so that a build that cannot work fails
 * before any appliance starts.  hm_emit_disk hands the job to the writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "emit.h"
#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/fsutil.h"

/* Symlink targets shorter than this live in the inode. */
#define DISK_FAST_SYMLINK 60u
/* Symlink hops when resolving the kernel (the kernel's own limit). */
#define DISK_MAX_LINKS 40

/* ---- identities --------------------------------------------------------- */

static void derive(const char *what, const char *template_hex,
		   unsigned char out[32])
{
	struct hm_hash *h = hm_hash_new(HM_HASH_SHA256);
	static const char prefix[] = "hallmark/disk/v1/";

	/* A NULL context means no memory: the zero digest still gives a
	 * valid (if shared) identity, and the build fails soon anyway. */
	memset(out, 0, 32);
	if (!h)
		return;
	hm_hash_update(h, prefix, sizeof(prefix) - 1);
	hm_hash_update(h, what, strlen(what) + 1);
	hm_hash_update(h, template_hex, strlen(template_hex));
	hm_hash_final(h, out);
	hm_hash_free(h);
}

/* 16 bytes as an RFC 4122 UUID: variant 10, version 4 (the form every
 * tool accepts; the bytes are a digest, not chance). */
static void derive_uuid(const char *what, const char *template_hex,
			char out[37])
{
	unsigned char md[32];

	derive(what, template_hex, md);
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x40);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8],
		 md[9], md[10], md[11], md[12], md[13], md[14], md[15]);
}

void hm_disk_ids_derive(const char *template_sha256_hex,
			struct hm_disk_ids *ret)
{
	unsigned char md[32];

	memset(ret, 0, sizeof(*ret));
	derive_uuid("fs-uuid", template_sha256_hex, ret->fs_uuid);
	derive_uuid("hash-seed", template_sha256_hex, ret->hash_seed);
	derive_uuid("gpt-disk-guid", template_sha256_hex, ret->disk_guid);
	derive_uuid("gpt-partition-guid", template_sha256_hex, ret->part_guid);
	derive("mbr-signature", template_sha256_hex, md);
	/* A zero signature means "none" to some tools. */
	if (!md[0] && !md[1] && !md[2] && !md[3])
		md[0] = 1;
	memcpy(ret->mbr_signature, md, 4);
}

/* ---- the tree ----------------------------------------------------------- */

/*
 * Resolve path inside the image as its kernel would: every component,
 * symlinks followed (absolute targets from the image's root, relative
 * ones from the link's folder, ".." going up).  *ret is the entry
 * reached, or NULL if the path leads nowhere in the image.
 */
static int tree_resolve(const struct hm_tree *t, const char *path,
			const struct hm_entry **ret, struct hm_error *err)
{
	struct hm_buf cur = { 0 }, rest = { 0 }, next = { 0 };
	const struct hm_entry *e = hm_tree_get(t, "/", 1);
	size_t pos = 0;
	int links = 0, r = 0;

	*ret = NULL;
	if (hm_buf_adds(&rest, path) < 0)
		goto nomem;
	for (;;) {
		const char *s = rest.data ? rest.data : "";
		const char *comp, *end;
		size_t len;

		while (pos < rest.len && s[pos] == '/')
			pos++;
		if (pos >= rest.len)
			break;
		comp = s + pos;
		end = memchr(comp, '/', rest.len - pos);
		len = end ? (size_t)(end - comp) : rest.len - pos;
		pos += len;
		if (len == 1 && comp[0] == '.')
			continue;
		if (!e || e->type != HM_TYPE_DIR)
			goto out;   /* a component below a non-directory */
		if (len == 2 && comp[0] == '.' && comp[1] == '.') {
			while (cur.len && cur.data[cur.len - 1] != '/')
				cur.len--;
			if (cur.len)
				cur.len--;
			e = cur.len ? hm_tree_get(t, cur.data, cur.len) :
				      hm_tree_get(t, "/", 1);
			continue;
		}
		hm_buf_reset(&next);
		if (hm_buf_add(&next, cur.data ? cur.data : "", cur.len) < 0 ||
		    hm_buf_addc(&next, '/') < 0 || hm_buf_add(&next, comp, len) < 0)
			goto nomem;
		e = hm_tree_get(t, next.data, next.len);
		if (!e)
			goto out;
		if (e->type == HM_TYPE_SYMLINK) {
			struct hm_buf nr = { 0 };

			if (++links > DISK_MAX_LINKS) {
				e = NULL;
				goto out;
			}
			/* New rest: the target, then what was left. */
			if (hm_buf_add(&nr, e->target, e->target_len) < 0 ||
			    hm_buf_addc(&nr, '/') < 0 ||
			    hm_buf_add(&nr, s + pos, rest.len - pos) < 0) {
				hm_buf_free(&nr);
				goto nomem;
			}
			hm_buf_free(&rest);
			rest = nr;
			pos = 0;
			if (e->target_len && e->target[0] == '/')
				cur.len = 0;
			e = cur.len ? hm_tree_get(t, cur.data, cur.len) :
				      hm_tree_get(t, "/", 1);
			continue;
		}
		hm_buf_reset(&cur);
		if (hm_buf_add(&cur, next.data, next.len) < 0)
			goto nomem;
	}
	*ret = e;
	goto out;
nomem:
	r = hm_error_nomem(err);
out:
	hm_buf_free(&cur);
	hm_buf_free(&rest);
	hm_buf_free(&next);
	return r;
}

static int check_boot_file(const struct hm_tree *t, const char *what,
			   const char *path, struct hm_error *err)
{
	const struct hm_entry *e = hm_tree_get(t, path, strlen(path));
	const struct hm_entry *f;
	int r;

	if (!e)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "disk %s '%s' is not in the image: add linux-image-amd64 to the base packages (or set disk.%s)",
				    what, path, what);
	r = tree_resolve(t, path, &f, err);
	if (r < 0)
		return r;
	if (!f)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "disk %s '%s' is a symlink that leads nowhere in the image (to '%.*s')",
				    what, path, (int)(e->target_len > 256 ? 256 : e->target_len),
				    e->target ? e->target : "");
	if (f->type != HM_TYPE_FILE)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "disk %s '%s' is a %s in the image, not a file",
				    what, path, hm_type_name(f->type));
	return 0;
}

struct usage {
	uint64_t blocks;          /* data blocks of files, directories, long symlinks */
	uint64_t inodes;
	const struct hm_entry *xattr_too_big;   /* first entry whose xattrs cannot fit */
};

/* What ext4 (256-byte inodes, 4 KiB blocks, no ea_inode) can hold of one
 * inode's xattrs: a value never spans blocks, and all of them together
 * fit in the inode's spare bytes and one xattr block.  Each entry costs
 * 16 bytes, its name (without the namespace prefix; the full name is a
 * bound) and value, each rounded up to 4. */
#define DISK_XATTR_ENTRY_MAX (HM_DISK_BLOCK - 32u - 4u)
#define DISK_XATTR_TOTAL_MAX (DISK_XATTR_ENTRY_MAX + HM_DISK_INODE_SIZE - 128u - 32u - 4u)

static size_t xattr_cost(const struct hm_xattr *x)
{
	return 16 + ((strlen(x->name) + 3) & ~(size_t)3) + ((x->len + 3) & ~(size_t)3);
}

static int usage_add(void *ctx, const struct hm_entry *e)
{
	struct usage *u = ctx;
	size_t i, total = 0;

	if (e->flags & HM_ENTRY_DELETED)
		return 0;
	for (i = 0; i < e->n_xattrs; i++) {
		size_t c = xattr_cost(&e->xattrs[i]);

		total += c > DISK_XATTR_ENTRY_MAX ? DISK_XATTR_TOTAL_MAX + 1 : c;
	}
	if (total > DISK_XATTR_TOTAL_MAX && !u->xattr_too_big)
		u->xattr_too_big = e;
	u->inodes++;
	if (e->type == HM_TYPE_FILE)
		u->blocks += (e->size + HM_DISK_BLOCK - 1) / HM_DISK_BLOCK;
	else if (e->type == HM_TYPE_DIR)
		u->blocks++;
	else if (e->type == HM_TYPE_SYMLINK && e->target_len >= DISK_FAST_SYMLINK)
		u->blocks++;
	return 0;
}

/* Bytes of the partition (and so of the file system). */
static uint64_t part_bytes(const struct hm_tpl_disk *d)
{
	uint64_t end = d->size;

	if (d->partition_table == HM_PT_GPT)
		end -= HM_DISK_GPT_BACKUP_SECTORS * HM_DISK_SECTOR;
	return end - (uint64_t)HM_DISK_PART_START_SECTOR * HM_DISK_SECTOR;
}

/* The journal mke2fs 1.47 makes for a file system of this many blocks
 * (ext2fs_default_journal_size). */
static uint64_t journal_blocks(uint64_t blocks)
{
	if (blocks < 32768)
		return 1024;
	if (blocks < 256 * 1024)
		return 4096;
	if (blocks < 512 * 1024)
		return 8192;
	if (blocks < 4096 * 1024)
		return 16384;
	if (blocks < 8192 * 1024)
		return 32768;
	if (blocks < 16384 * 1024)
		return 65536;
	if (blocks < 32768 * 1024)
		return 131072;
	return 262144;
}

int hm_disk_check(const struct hm_tree *t, const struct hm_tpl_disk *d,
		  struct hm_error *err)
{
	struct usage u = { 0 };
	uint64_t fs_blocks, inodes, overhead;
	char size[32];
	int r;

	if ((r = check_boot_file(t, "kernel", d->kernel, err)) < 0 ||
	    (r = check_boot_file(t, "initrd", d->initrd, err)) < 0)
		return r;
	hm_tree_walk(t, usage_add, &u);
	/* The builder's own files: fstab, extlinux.conf, its folder,
	 * ldlinux.sys and ldlinux.c32 (about 120 KiB), lost+found. */
	u.blocks += 40;
	u.inodes += 6;
	fs_blocks = part_bytes(d) / HM_DISK_BLOCK;
	inodes = part_bytes(d) / HM_DISK_BYTES_PER_INODE;
	overhead = journal_blocks(fs_blocks) +
		   inodes * HM_DISK_INODE_SIZE / HM_DISK_BLOCK;
	hm_disk_size_name(d->size, size, sizeof(size));
	if (u.blocks + overhead > fs_blocks)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "the image does not fit in a disk of size %s: its content needs at least %llu MiB and ext4 takes %llu MiB (journal and inode tables) of the %llu MiB partition; raise disk.size",
				    size,
				    (unsigned long long)((u.blocks * HM_DISK_BLOCK + (1 << 20) - 1) >> 20),
				    (unsigned long long)((overhead * HM_DISK_BLOCK + (1 << 20) - 1) >> 20),
				    (unsigned long long)(part_bytes(d) >> 20));
	if (u.xattr_too_big)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' has more xattr data than an ext4 inode with 4 KiB blocks holds (one value at most about %u bytes, all of them about %u)",
				    u.xattr_too_big->path, DISK_XATTR_ENTRY_MAX - 16,
				    DISK_XATTR_TOTAL_MAX);
	if (u.inodes + HM_DISK_RESERVED_INODES > inodes)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "the image does not fit in a disk of size %s: it has %llu entries and the file system has %llu inodes (one per 16 KiB); raise disk.size",
				    size, (unsigned long long)u.inodes,
				    (unsigned long long)inodes);
	return 0;
}

struct dup_ctx {
	struct hm_tree *dst;
	struct hm_error *err;
	int r;
};

static int dup_one(void *ctx, const struct hm_entry *e)
{
	struct dup_ctx *c = ctx;
	struct hm_entry *copy;

	if (e->flags & HM_ENTRY_DELETED)
		return 0;
	copy = hm_entry_new();
	if (!copy || hm_entry_copy(copy, e) < 0) {
		hm_entry_free(copy);
		c->r = hm_error_nomem(c->err);
		return c->r;
	}
	/* Canonical order: every parent is in place before its children,
	 * and the root replaces the new tree's implicit one. */
	c->r = hm_tree_put_take(c->dst, copy, true, c->err);
	return c->r;
}

int hm_disk_tree_dup(const struct hm_tree *t, struct hm_tree **ret,
		     struct hm_error *err)
{
	struct dup_ctx c = { NULL, err, 0 };
	int r;

	r = hm_tree_new(&c.dst, err);
	if (r < 0)
		return r;
	r = hm_tree_walk(t, dup_one, &c);
	if (r < 0) {
		hm_tree_free(c.dst);
		return c.r < 0 ? c.r : hm_error_nomem(err);
	}
	*ret = c.dst;
	return 0;
}

static struct hm_entry *new_entry(const char *path, enum hm_type type,
				  uint32_t mode)
{
	struct hm_entry *e = hm_entry_new();

	if (!e || hm_entry_set_path(e, path, strlen(path)) < 0) {
		hm_entry_free(e);
		return NULL;
	}
	e->type = type;
	e->mode = mode;
	return e;
}

/* A directory the builder needs: made if missing, left as it is if the
 * image has it (a non-directory there is an error). */
static int ensure_dir(struct hm_tree *t, const char *path, struct hm_error *err)
{
	const struct hm_entry *old = hm_tree_get(t, path, strlen(path));
	struct hm_entry *e;

	if (old && old->type == HM_TYPE_DIR && !(old->flags & HM_ENTRY_IMPLICIT))
		return 0;
	if (old && old->type != HM_TYPE_DIR)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "disk: '%s' is a %s in the image; the disk needs a folder there",
				    path, hm_type_name(old->type));
	if (!(e = new_entry(path, HM_TYPE_DIR, 0755)))
		return hm_error_nomem(err);
	return hm_tree_put_take(t, e, true, err);
}

static int put_text(struct hm_tree *t, struct hm_blobstore *store,
		    const char *path, const char *text, struct hm_error *err)
{
	const struct hm_entry *old = hm_tree_get(t, path, strlen(path));
	struct hm_entry *e;
	int r;

	if (old && old->type == HM_TYPE_DIR)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "disk: '%s' is a folder in the image; the disk needs a file there",
				    path);
	if (!(e = new_entry(path, HM_TYPE_FILE, 0644)))
		return hm_error_nomem(err);
	e->size = strlen(text);
	r = hm_blob_put(store, text, e->size, e->sha256, err);
	if (r < 0) {
		hm_entry_free(e);
		return r;
	}
	e->flags |= HM_ENTRY_HAS_DIGEST;
	return hm_tree_put_take(t, e, true, err);
}

int hm_disk_prepare_tree(struct hm_tree *t, struct hm_blobstore *store,
			 const struct hm_tpl_disk *d,
			 const struct hm_disk_ids *ids, struct hm_error *err)
{
	char *fstab = NULL, *conf = NULL;
	int r;

	if (asprintf(&fstab,
		     "# written by hallmark build: the root file system, by UUID\n"
		     "UUID=%s / ext4 errors=remount-ro 0 1\n", ids->fs_uuid) < 0) {
		fstab = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	/* SERIAL must come first; no prompt, so the default boots at once. */
	if (asprintf(&conf,
		     "SERIAL 0 115200\n"
		     "# written by hallmark build\n"
		     "DEFAULT linux\n"
		     "PROMPT 0\n"
		     "TIMEOUT 0\n"
		     "LABEL linux\n"
		     "  LINUX %s\n"
		     "  INITRD %s\n"
		     "  APPEND root=UUID=%s ro%s%s\n",
		     d->kernel, d->initrd, ids->fs_uuid,
		     d->cmdline[0] ? " " : "", d->cmdline) < 0) {
		conf = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	if ((r = ensure_dir(t, "/etc", err)) < 0 ||
	    (r = put_text(t, store, "/etc/fstab", fstab, err)) < 0 ||
	    (r = ensure_dir(t, "/boot", err)) < 0 ||
	    (r = ensure_dir(t, "/boot/extlinux", err)) < 0 ||
	    (r = put_text(t, store, "/boot/extlinux/extlinux.conf", conf, err)) < 0)
		goto out;
	r = 0;
out:
	free(fstab);
	free(conf);
	return r;
}

int hm_emit_disk(const struct hm_disk_job *job, struct hm_tree *disk_tree,
		 struct hm_disk_result *ret, struct hm_error *err)
{
	const struct hm_disk_write_job w = {
		.size = job->disk->size,
		.gpt = job->disk->partition_table == HM_PT_GPT,
		.label = job->disk->label,
		.ids = job->ids,
		.content_tar = job->content_tar,
		.raw_path = job->raw_path,
		.qcow2_path = job->qcow2_path,
		.scratch_raw = job->scratch_raw,
		.mtime = job->mtime,
		.progress = job->progress,
	};

	return hm_disk_write(&w, disk_tree, ret, err);
}
