/*
 * Fuzz target: the path escaping of manifests, both ways.
 *
 *   unescape(escape(x)) == x for any bytes x without NUL (with and
 *   without '=' as the extra byte, as the xattr writer uses it);
 *   escape(unescape(y)) == y whenever unescape accepts y, up to "\075":
 *   '=' may be written either way, so it compares as '='.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/buf.h"
#include "hallmark/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* y with every "\075" written as '=' (the spelling escape(., 0) gives). */
static void fold_equals(struct hm_buf *out, const char *y, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (len - i >= 4 && memcmp(y + i, "\\075", 4) == 0) {
			if (hm_buf_addc(out, '=') < 0)
				abort();
			i += 3;
		} else if (hm_buf_addc(out, y[i]) < 0) {
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_buf esc = HM_BUF_INIT, back = HM_BUF_INIT;
	struct hm_buf plain = HM_BUF_INIT, want = HM_BUF_INIT;
	const char *s = (const char *)data;
	int pass;

	if (size > 64 * 1024)
		return 0;

	/* x -> escape -> unescape gives x (x without NUL). */
	if (!memchr(data, '\0', size)) {
		for (pass = 0; pass < 2; pass++) {
			hm_buf_reset(&esc);
			hm_buf_reset(&back);
			if (hm_escape(&esc, s, size, pass ? '=' : '\0') < 0)
				abort();
			if (esc.len < size || memchr(esc.data, '\0', esc.len))
				abort();
			if (hm_unescape(&back, esc.data, esc.len) < 0)
				abort();   /* escape's output must be accepted */
			if (back.len != size || memcmp(back.data, s, size) != 0)
				abort();
		}
	}

	/* y accepted by unescape -> escape gives y back (modulo "\075"). */
	if (hm_unescape(&plain, s, size) == 0) {
		if (memchr(plain.data ? plain.data : "", '\0', plain.len))
			abort();   /* unescape never yields NUL */
		hm_buf_reset(&esc);
		if (hm_escape(&esc, plain.data ? plain.data : "", plain.len, '\0') < 0)
			abort();
		fold_equals(&want, s, size);
		if (esc.len != want.len ||
		    (want.len && memcmp(esc.data, want.data, want.len) != 0))
			abort();
	}

	hm_buf_free(&esc);
	hm_buf_free(&back);
	hm_buf_free(&plain);
	hm_buf_free(&want);
	return 0;
}
