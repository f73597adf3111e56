/*
 * The checks of a disk image's header made on the host, before qemu or
 * qemu-img sees the file (disk_header.h).  They run on hostile bytes
 * outside any appliance, so they have their own fuzz target
 * (tests/fuzz/fuzz_disk_header.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk_header.h"
#include "hallmark/buf.h"
#include "hallmark/fsutil.h"
#include "hallmark/manifest.h"

/* The qcow2 header fields read here (docs/interop/qcow2.txt in qemu). */
#define QCOW2_MAGIC              0x514649fbu      /* "QFI\xfb" */
#define QCOW2_V2_HEADER_BYTES    72u
#define QCOW2_V3_HEADER_BYTES    104u
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
/* Incompatible feature bits qemu 7.2 knows: dirty, corrupt, external
 * data file, compression type, extended L2 entries. */
#define QCOW2_INCOMPAT_KNOWN     0x1full
#define QCOW2_EXT_END            0x00000000u
#define QCOW2_EXT_DATA_FILE      0x44415441u      /* "DATA" */
/* qemu's own bounds: cluster sizes 512 B..2 MiB, a backing file name of
 * at most 1023 bytes, an L1 table of at most 32 MiB. */
#define QCOW2_MIN_CLUSTER_BITS   9u
#define QCOW2_MAX_CLUSTER_BITS   21u
#define QCOW2_MAX_BACKING_NAME   1023u
#define QCOW2_MAX_L1_BYTES       (32u * 1024 * 1024)
#define QCOW2_L2_OFFSET_MASK     0x00fffffffffffe00ull

/* Longest excerpt of an image-supplied name quoted in a message. */
#define QUOTE_MAX 256

#define SECTOR HM_DISK_SECTOR

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Read exactly len bytes at off; a short read is truncation. */
static int read_at(int fd, const char *file, void *buf, size_t len, uint64_t off,
		   const char *what, struct hm_error *err)
{
	ssize_t n = hm_pread_full(fd, buf, len, off);

	if (n < 0)
		return hm_error_set(err, HM_ERR_IO, (int)-n, "cannot read '%s'", file);
	if ((size_t)n < len)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' is truncated: its qcow2 %s lies past "
				    "the end of the file", file, what);
	return 0;
}

/* An escaped, shortened copy of an image-supplied name, for messages. */
static const char *quote(struct hm_buf *b, const char *s, size_t len)
{
	bool cut = len > QUOTE_MAX;

	hm_buf_reset(b);
	if (hm_escape(b, s, cut ? QUOTE_MAX : len, 0) < 0 ||
	    (cut && hm_buf_adds(b, "...") < 0) || hm_buf_grow(b, 0) < 0)
		return "(out of memory)";
	return b->data ? b->data : "";
}

/* Refuse a qcow2 header that names another file. */
static int refuse_named_file(int fd, const char *file, const char *what,
			     uint64_t off, uint32_t len, uint64_t size,
			     struct hm_error *err)
{
	struct hm_buf q = HM_BUF_INIT;
	char name[QCOW2_MAX_BACKING_NAME];
	int rc;

	if (len > 0 && len <= sizeof(name) && off + len <= size &&
	    read_at(fd, file, name, len, off, what, NULL) == 0)
		rc = hm_error_set(err, HM_ERR_INPUT, 0,
				  "'%s' has %s '%s': refused (qemu would open and "
				  "read that host file)", file, what,
				  quote(&q, name, len));
	else
		rc = hm_error_set(err, HM_ERR_INPUT, 0,
				  "'%s' has %s (its name is unreadable): refused",
				  file, what);
	hm_buf_free(&q);
	return rc;
}

/*
 * The checks qemu's qcow2 driver would need to be trusted with: no
 * backing file, no external data file, no feature this check does not
 * know, and the tables that locate data inside the file (so a truncated
 * image is an input error here, not a failed launch later).
 */
static int check_qcow2(int fd, const char *file, uint64_t size,
		       struct hm_error *err)
{
	unsigned char h[QCOW2_V3_HEADER_BYTES], ext[8];
	unsigned char *l1 = NULL;
	uint64_t backing_off, l1_off, rt_off, cluster, incompat = 0, off, end, i;
	uint32_t version, backing_len, cluster_bits, l1_size, rt_clusters, hlen;
	int rc;

	if (size < QCOW2_V2_HEADER_BYTES)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' is not a qcow2 image: %" PRIu64 " bytes, "
				    "shorter than a qcow2 header", file, size);
	if ((rc = read_at(fd, file, h, QCOW2_V2_HEADER_BYTES, 0, "header", err)) < 0)
		return rc;
	if (be32(h) != QCOW2_MAGIC)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' is not a qcow2 image (no qcow2 magic; "
				    "use format=raw for a raw disk)", file);
	version = be32(h + 4);
	if (version != 2 && version != 3)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s': unsupported qcow2 version %" PRIu32, file, version);
	backing_off = be64(h + 8);
	backing_len = be32(h + 16);
	if (backing_off != 0)
		return refuse_named_file(fd, file, "a backing file", backing_off,
					 backing_len, size, err);
	cluster_bits = be32(h + 20);
	if (cluster_bits < QCOW2_MIN_CLUSTER_BITS || cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s': bad qcow2 cluster size 2^%" PRIu32, file,
				    cluster_bits);
	cluster = 1ull << cluster_bits;
	l1_size = be32(h + 36);
	l1_off = be64(h + 40);
	rt_off = be64(h + 48);
	rt_clusters = be32(h + 56);
	hlen = QCOW2_V2_HEADER_BYTES;
	if (version == 3) {
		if ((rc = read_at(fd, file, h, QCOW2_V3_HEADER_BYTES, 0, "header", err)) < 0)
			return rc;
		incompat = be64(h + 72);
		hlen = be32(h + 100);
		if (hlen < QCOW2_V3_HEADER_BYTES || hlen > cluster)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "'%s': bad qcow2 header length %" PRIu32,
					    file, hlen);
	}
	/* Header extensions fill the rest of the first cluster; the data
	 * file's name is in one (looked for first, to quote it). */
	for (off = hlen; off + sizeof(ext) <= cluster && off + sizeof(ext) <= size; ) {
		uint32_t type, len;

		if ((rc = read_at(fd, file, ext, sizeof(ext), off, "header", err)) < 0)
			return rc;
		type = be32(ext);
		len = be32(ext + 4);
		if (type == QCOW2_EXT_END)
			break;
		if (type == QCOW2_EXT_DATA_FILE)
			return refuse_named_file(fd, file, "an external data file",
						 off + sizeof(ext), len, size, err);
		off += sizeof(ext) + (((uint64_t)len + 7) & ~7ull);
	}
	if (incompat & QCOW2_INCOMPAT_DATA_FILE)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' has an external data file (its name is unreadable): refused (qemu "
				    "would open and read that host file)", file);
	if (incompat & ~QCOW2_INCOMPAT_KNOWN)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s': unknown qcow2 incompatible features 0x%" PRIx64,
				    file, (uint64_t)(incompat & ~QCOW2_INCOMPAT_KNOWN));
	/* The tables that locate the data: where a truncated file shows. */
	if (rt_off == 0 || rt_off % cluster || rt_clusters == 0 ||
	    rt_off + (uint64_t)rt_clusters * cluster > size)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' is truncated or corrupt: its qcow2 refcount "
				    "table lies outside the file", file);
	if ((uint64_t)l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s': qcow2 L1 table of %" PRIu32 " entries is "
				    "too large", file, l1_size);
	if (l1_size == 0)
		return 0;
	if (l1_off == 0 || l1_off % cluster || l1_off + (uint64_t)l1_size * 8 > size)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' is truncated or corrupt: its qcow2 L1 table "
				    "lies outside the file", file);
	l1 = malloc((size_t)l1_size * 8);
	if (!l1)
		return hm_error_nomem(err);
	if ((rc = read_at(fd, file, l1, (size_t)l1_size * 8, l1_off, "L1 table", err)) < 0)
		goto out;
	for (i = 0; i < l1_size; i++) {
		uint64_t l2 = be64(l1 + i * 8) & QCOW2_L2_OFFSET_MASK;

		end = l2 + cluster;
		if (l2 != 0 && (end < l2 || end > size)) {
			rc = hm_error_set(err, HM_ERR_INPUT, 0,
					  "'%s' is truncated or corrupt: qcow2 L2 table "
					  "%" PRIu64 " at offset %" PRIu64 " lies past the "
					  "end of the file (%" PRIu64 " bytes)",
					  file, i, l2, size);
			goto out;
		}
	}
	rc = 0;
out:
	free(l1);
	return rc;
}

int hm_disk_header_check(int fd, const char *file, const char *format,
			 uint64_t size, struct hm_error *err)
{
	if (size == 0)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' is empty, not a disk image", file);
	if (strcmp(format, "qcow2") == 0)
		return check_qcow2(fd, file, size, err);
	if (size % SECTOR)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s' is not a raw disk image: its size (%" PRIu64
				    " bytes) is not a multiple of %u", file, size, SECTOR);
	return 0;
}

/*
 * Open the image once and check it through that descriptor.  O_NONBLOCK
 * so that a FIFO named as a disk cannot hang the open; it is refused
 * right after, like anything that is neither a file nor a block device.
 */
int hm_disk_image_open(const char *file, const char *format, int *ret_fd,
		       struct hm_error *err)
{
	struct stat st;
	off_t end;
	uint64_t size;
	int fd, rc;

	fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "'%s' is a symlink: name the disk image itself",
					    file);
		return hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", file);
	}
	if (fstat(fd, &st) < 0) {
		rc = hm_error_set(err, HM_ERR_IO, errno, "cannot stat '%s'", file);
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		rc = hm_error_set(err, HM_ERR_INPUT, 0,
				  "'%s' is not a disk image (not a regular file or "
				  "a block device)", file);
		goto fail;
	}
	if (fcntl(fd, F_SETFL, 0) < 0 || (end = lseek(fd, 0, SEEK_END)) < 0) {
		rc = hm_error_set(err, HM_ERR_IO, errno, "cannot read '%s'", file);
		goto fail;
	}
	size = (uint64_t)end;
	if ((rc = hm_disk_header_check(fd, file, format, size, err)) < 0)
		goto fail;
	*ret_fd = fd;
	return 0;
fail:
	close(fd);
	return rc;
}
