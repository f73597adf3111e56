/*
 * Fuzz target: the checks of a disk image's header (disk/disk_header.c),
 * which run on hostile bytes on the host, before qemu sees them.  The
 * first byte picks the format the caller names (even: qcow2, odd: raw);
 * the rest is the image, handed over as a file descriptor (a memfd) as
 * the disk source does.  Any outcome but a crash is fine; an error must
 * carry a message.  Seeds: tests/fuzz/corpus/disk_header, made by
 * tests/fuzz/disk_header_seeds.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../disk/disk_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_error err = { 0 };
	const char *format;
	size_t done = 0;
	int fd;

	if (size < 1 || size > (1u << 20))
		return 0;
	format = data[0] % 2 ? "raw" : "qcow2";
	data++, size--;
	fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	if (hm_disk_header_check(fd, "fuzz.img", format, size, &err) < 0 &&
	    (err.code == 0 || err.msg[0] == '\0'))
		abort();
	close(fd);
	return 0;
}
