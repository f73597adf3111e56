/*
 * Fuzz target: the three secret scanners over the same bytes.  Besides not
 * crashing, every hit must respect the bounds and the shape of its mask:
 * printable ASCII, short, and the fixed "****" (or "***", or "*" run) where
 * the secret was, so no input can make a report carry a secret.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/secrets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static void check_hit(const struct hm_secret_hit *h, size_t nlines)
{
	const char *m = h->masked;
	size_t n, i;

	if (!m)
		abort();
	n = strnlen(m, 4096);
	if (n == 0 || n == 4096 || h->line == 0 || h->line > nlines)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)m[i] < 0x20 || (unsigned char)m[i] > 0x7e)
			abort();
	switch (h->kind) {
	case HM_SECRET_URL_PASSWORD:
		if (!strstr(m, "://") || !strstr(m, ":****@"))
			abort();
		break;
	case HM_SECRET_AWS_KEY:
		if (!(n == 20 && memcmp(m + 4, "************", 12) == 0) &&
		    !(n > 4 && memcmp(m + n - 4, "****", 4) == 0))
			abort();
		break;
	case HM_SECRET_PASSWORD_LINE:
		if (n < 5 || memcmp(m + n - 5, " ****", 5) != 0)
			abort();
		break;
	case HM_SECRET_PRIVATE_KEY:
		if (strncmp(m, "-----BEGIN ", 11) != 0 || !strstr(m, "(key material not shown)"))
			abort();
		break;
	case HM_PII_EMAIL:
		if (n < 5 || memcmp(m + 1, "***@", 4) != 0)
			abort();
		break;
	case HM_PII_CARD:
		if (n != 19 || memcmp(m, "**** **** **** ", 15) != 0 || !all_digits(m + 15, 4))
			abort();
		break;
	case HM_PII_NATIONAL_ID:
		if (!(n == 11 && memcmp(m, "***-**-**", 9) == 0 && all_digits(m + 9, 2)) &&
		    !(n == 15 && strspn(m, "*") == 13 && all_digits(m + 13, 2)))
			abort();
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int (*const scan[])(const char *, size_t, struct hm_secret_hits *,
				   struct hm_error *) = {
		hm_secrets_scan_config, hm_secrets_scan_private_key, hm_pii_scan,
	};
	const char *d = (const char *)data;
	struct hm_secret_hits h = { 0 };
	struct hm_error err;
	size_t nlines = 1, i, k, before;

	if (size > 4 * 1024 * 1024)
		return 0;
	for (i = 0; i < size; i++)
		nlines += data[i] == '\n';
	for (k = 0; k < sizeof(scan) / sizeof(scan[0]); k++) {
		int r;

		before = h.n;
		r = scan[k](d, size, &h, &err);
		if (r < 0 || (size_t)r != h.n - before || r > 100)
			abort();
		for (i = before; i < h.n; i++) {
			check_hit(&h.items[i], nlines);
			if (i > before && h.items[i].line < h.items[i - 1].line)
				abort();   /* hits come in line order */
		}
	}
	hm_secret_hits_free(&h);
	return 0;
}
