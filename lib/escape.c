/*
 * The small text codecs of the manifest: path escaping, RFC 3339 UTC
 * times and image names.  They are strict in both directions so that one
 * tree has exactly one manifest text, which is what gets signed.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "hallmark/manifest.h"

/* Bytes that stand for themselves: printable ASCII except space and '\'. */
static bool byte_is_plain(unsigned char c, char extra)
{
	return c >= 0x21 && c <= 0x7e && c != '\\' &&
	       !(extra && c == (unsigned char)extra);
}

int hm_escape(struct hm_buf *out, const char *s, size_t len, char extra)
{
	size_t i;
	char *p;

	if (len > SIZE_MAX / 8 || hm_buf_grow(out, len * 4) < 0)
		return HM_ERR_NOMEM;
	p = out->data + out->len;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (byte_is_plain(c, extra)) {
			*p++ = (char)c;
		} else {
			*p++ = '\\';
			*p++ = (char)('0' + (c >> 6));
			*p++ = (char)('0' + ((c >> 3) & 7));
			*p++ = (char)('0' + (c & 7));
		}
	}
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
	return 0;
}

/*
 * Strict: every escape is '\' and three octal digits, never NUL, and only
 * for a byte that hm_escape() escapes (with or without extra '='), so the
 * encoding stays canonical.  Raw bytes must be plain.
 */
int hm_unescape(struct hm_buf *out, const char *s, size_t len)
{
	size_t i;
	char *p;

	if (len == SIZE_MAX || hm_buf_grow(out, len) < 0)
		return -1;
	p = out->data + out->len;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		unsigned v;

		if (c != '\\') {
			if (!byte_is_plain(c, 0))
				goto bad;
			*p++ = (char)c;
			continue;
		}
		if (len - i < 4 || s[i + 1] < '0' || s[i + 1] > '3' ||
		    s[i + 2] < '0' || s[i + 2] > '7' ||
		    s[i + 3] < '0' || s[i + 3] > '7')
			goto bad;
		v = (unsigned)(s[i + 1] - '0') << 6 |
		    (unsigned)(s[i + 2] - '0') << 3 | (unsigned)(s[i + 3] - '0');
		if (v == 0 || (byte_is_plain((unsigned char)v, 0) && v != '='))
			goto bad;
		*p++ = (char)v;
		i += 3;
	}
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
	return 0;
bad:
	/* Leave out as it was. */
	if (out->data)
		out->data[out->len] = '\0';
	return -1;
}

bool hm_manifest_name_valid(const char *name)
{
	size_t i, len;

	if (!name)
		return false;
	len = strnlen(name, HM_LIMIT_NAME_BYTES + 1);
	if (len == 0 || len > HM_LIMIT_NAME_BYTES || name[0] == '.' ||
	    name[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '+' || c == '-'))
			return false;
	}
	return true;
}

static void put_digits(char *out, int v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void hm_time_format(time_t t, char out[21])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 ||
	    tm.tm_year + 1900 > 9999) {
		/* Out of the representable range: a value parse rejects. */
		memcpy(out, "0000-00-00T00:00:00Z", 21);
		return;
	}
	put_digits(out, tm.tm_year + 1900, 4);
	out[4] = '-';
	put_digits(out + 5, tm.tm_mon + 1, 2);
	out[7] = '-';
	put_digits(out + 8, tm.tm_mday, 2);
	out[10] = 'T';
	put_digits(out + 11, tm.tm_hour, 2);
	out[13] = ':';
	put_digits(out + 14, tm.tm_min, 2);
	out[16] = ':';
	put_digits(out + 17, tm.tm_sec, 2);
	out[19] = 'Z';
	out[20] = '\0';
}

static int digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Years 1970..9999, no leap seconds, no offsets other than 'Z'. */
int hm_time_parse(const char *s, size_t len, time_t *ret)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30,
				       31, 31, 30, 31, 30, 31 };
	int year, mon, day, hour, min, sec, dim;
	struct tm tm;
	time_t t;

	if (!s || len != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return -1;
	year = digits(s, 4);
	mon = digits(s + 5, 2);
	day = digits(s + 8, 2);
	hour = digits(s + 11, 2);
	min = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 || hour < 0 ||
	    hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 59)
		return -1;
	dim = mdays[mon - 1];
	if (mon == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
		dim = 29;
	if (day > dim)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*ret = t;
	return 0;
}
