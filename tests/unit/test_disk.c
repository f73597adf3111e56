/*
 * Unit tests for disk/: the header checks made on the host before qemu
 * sees an image (disk_header.c), and the appliance session's error path
 * (appliance.c) as far as it goes without launching anything.  Images are
 * built here, byte by byte (qcow2.txt in qemu's docs).
 */
#include "harness.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../disk/appliance.h"
#include "../../disk/disk_header.h"

#define CB 9
#define C (1u << CB)
#define CLUSTERS 5

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/*
 * A valid qcow2 v3 of 32 KiB: clusters 0 header, 1 refcount table,
 * 2 refcount block, 3 L1 (one entry), 4 L2.  The caller spoils it.
 */
static void qcow2(unsigned char img[CLUSTERS * C])
{
	unsigned i;

	memset(img, 0, CLUSTERS * C);
	put32(img, 0x514649fbu);
	put32(img + 4, 3);
	put32(img + 20, CB);
	put64(img + 24, 1u << 15);
	put32(img + 36, 1);             /* L1 entries */
	put64(img + 40, 3 * C);         /* L1 offset */
	put64(img + 48, C);             /* refcount table */
	put32(img + 56, 1);
	put32(img + 96, 4);             /* refcount order */
	put32(img + 100, 104);          /* header length */
	put64(img + C, 2 * C);
	for (i = 0; i < CLUSTERS; i++)
		img[2 * C + 2 * i + 1] = 1;
	put64(img + 3 * C, (4ull * C) | (1ull << 63));
}

static int check(const char *name, const void *data, size_t len,
		 const char *format, struct hm_error *err)
{
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r;

	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		return -100;
	close(fd);
	r = hm_disk_image_open(name, format, &fd, err);
	if (r == 0)
		close(fd);
	return r;
}

TEST(a_plain_qcow2_and_a_raw_disk_pass)
{
	static unsigned char img[CLUSTERS * C];
	struct hm_error err = { 0 };

	qcow2(img);
	CHECK_OK(check("a.qcow2", img, sizeof(img), "qcow2", &err), &err);
	/* The same bytes named raw stay raw bytes: never probed. */
	CHECK_OK(check("a.raw", img, sizeof(img), "raw", &err), &err);
}

TEST(a_header_naming_a_host_file_is_refused_quoting_it)
{
	static unsigned char img[CLUSTERS * C];
	struct hm_error err = { 0 };

	qcow2(img);
	put64(img + 8, 200);
	put32(img + 16, 11);
	memcpy(img + 200, "/etc/shadow", 11);
	CHECK_EQ_INT(check("b.qcow2", img, sizeof(img), "qcow2", &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'b.qcow2' has a backing file '/etc/shadow': refused "
		     "(qemu would open and read that host file)");

	qcow2(img);
	put32(img + 104, 0x44415441u);  /* "DATA" extension */
	put32(img + 108, 3);
	memcpy(img + 112, "/x\n", 3);
	put64(img + 72, 1u << 2);
	CHECK_EQ_INT(check("d.qcow2", img, sizeof(img), "qcow2", &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'d.qcow2' has an external data file '/x\\012': refused "
		     "(qemu would open and read that host file)");

	qcow2(img);
	put64(img + 72, 1u << 2);
	CHECK_EQ_INT(check("e.qcow2", img, sizeof(img), "qcow2", &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "has an external data file (its name is unreadable)"));
}

TEST(truncated_and_strange_images_are_input_errors)
{
	static unsigned char img[CLUSTERS * C];
	struct hm_error err = { 0 };

	qcow2(img);
	CHECK_EQ_INT(check("t.qcow2", img, 3 * C + 4, "qcow2", &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'t.qcow2' is truncated or corrupt: its qcow2 L1 table "
		     "lies outside the file");
	put64(img + 3 * C, 4096ull * C);
	CHECK_EQ_INT(check("l.qcow2", img, sizeof(img), "qcow2", &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "qcow2 L2 table 0 at offset 2097152 lies past the end"));
	qcow2(img);
	put64(img + 72, 1ull << 40);
	CHECK_EQ_INT(check("u.qcow2", img, sizeof(img), "qcow2", &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'u.qcow2': unknown qcow2 incompatible features 0x10000000000");
	CHECK_EQ_INT(check("s.qcow2", img, 40, "qcow2", &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'s.qcow2' is not a qcow2 image: 40 bytes, shorter than a "
		     "qcow2 header");
	CHECK_EQ_INT(check("r.raw", img, 700, "raw", &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'r.raw' is not a raw disk image: its size (700 bytes) is "
		     "not a multiple of 512");
	CHECK_EQ_INT(check("z.raw", img, 0, "raw", &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'z.raw' is empty, not a disk image");
	CHECK(symlink("r.raw", "link.raw") == 0);
	CHECK_EQ_INT(hm_disk_image_open("link.raw", "raw", &(int){ -1 }, &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'link.raw' is a symlink: name the disk image itself");
}

/* The one place libguestfs errors become hallmark errors: one line,
 * prefixed with what was being done, without libguestfs's advice. */
TEST(appliance_errors_are_one_line_with_what_was_done)
{
	struct hm_appliance a;
	struct hm_error err = { 0 };

	unsetenv("HALLMARK_APPLIANCE_TIMEOUT");
	CHECK_OK(hm_appliance_new(&a, &err), &err);
	CHECK(guestfs_add_drive_opts(a.g, "missing.img",
				     GUESTFS_ADD_DRIVE_OPTS_FORMAT, "raw", -1) < 0);
	CHECK_EQ_INT(hm_appliance_fail(&a, HM_ERR_INPUT, &err, "cannot add '%s'",
				       "missing.img"), HM_ERR_INPUT);
	CHECK(strncmp(err.msg, "cannot add 'missing.img': ", 26) == 0);
	CHECK(strlen(err.msg) > 26 && !strchr(err.msg, '\n'));
	hm_appliance_free(&a, NULL);
	CHECK(a.g == NULL);

	setenv("HALLMARK_APPLIANCE_TIMEOUT", "soon", 1);
	CHECK_EQ_INT(hm_appliance_new(&a, &err), HM_ERR_USAGE);
	CHECK(strstr(err.msg, "HALLMARK_APPLIANCE_TIMEOUT: 'soon' is not a number"));
	hm_appliance_free(&a, NULL);
	unsetenv("HALLMARK_APPLIANCE_TIMEOUT");
}
