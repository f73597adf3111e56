/*
 * Growable byte buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/buf.h"
#include "hallmark/error.h"

int hm_buf_grow(struct hm_buf *b, size_t extra)
{
	size_t want, cap;
	char *p;

	if (extra > SIZE_MAX / 2 - b->len - 1)
		return HM_ERR_NOMEM;
	want = b->len + extra + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return HM_ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int hm_buf_add(struct hm_buf *b, const void *data, size_t len)
{
	if (hm_buf_grow(b, len) < 0)
		return HM_ERR_NOMEM;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int hm_buf_addc(struct hm_buf *b, char c)
{
	return hm_buf_add(b, &c, 1);
}

int hm_buf_adds(struct hm_buf *b, const char *s)
{
	return hm_buf_add(b, s, strlen(s));
}

int hm_buf_vaddf(struct hm_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return HM_ERR_NOMEM;
	if (hm_buf_grow(b, (size_t)n) < 0)
		return HM_ERR_NOMEM;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int hm_buf_addf(struct hm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = hm_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

int hm_buf_addhex(struct hm_buf *b, const unsigned char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (len > SIZE_MAX / 4 || hm_buf_grow(b, len * 2) < 0)
		return HM_ERR_NOMEM;
	for (i = 0; i < len; i++) {
		b->data[b->len++] = hex[data[i] >> 4];
		b->data[b->len++] = hex[data[i] & 15];
	}
	b->data[b->len] = '\0';
	return 0;
}

int hm_buf_add_uri_path(struct hm_buf *b, const char *path, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)path[i];
		int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
			    ch == '_' || ch == '~' || (ch == '/' && i != 1);
		char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };

		if (plain ? hm_buf_addc(b, (char)ch) < 0 : hm_buf_add(b, e, 3) < 0)
			return HM_ERR_NOMEM;
	}
	return 0;
}

void hm_buf_reset(struct hm_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void hm_buf_free(struct hm_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *hm_buf_detach(struct hm_buf *b, size_t *ret_len)
{
	char *p;

	if (!b->data && hm_buf_grow(b, 0) < 0)
		return NULL;
	b->data[b->len] = '\0';
	p = b->data;
	if (ret_len)
		*ret_len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
