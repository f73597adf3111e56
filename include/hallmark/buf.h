/*
 * A growable byte buffer, for building lines and messages.
 *
 * The buffer owns its storage; data is always NUL-terminated after len
 * bytes once anything was appended.  Appends return 0 or HM_ERR_NOMEM.
 */
#ifndef HALLMARK_BUF_H
#define HALLMARK_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct hm_buf {
	char *data;
	size_t len;
	size_t cap;
};

#define HM_BUF_INIT { NULL, 0, 0 }

int hm_buf_grow(struct hm_buf *b, size_t extra);
int hm_buf_add(struct hm_buf *b, const void *data, size_t len);
int hm_buf_addc(struct hm_buf *b, char c);
int hm_buf_adds(struct hm_buf *b, const char *s);
int hm_buf_addf(struct hm_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int hm_buf_vaddf(struct hm_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Append len bytes as lowercase hex. */
int hm_buf_addhex(struct hm_buf *b, const unsigned char *data, size_t len);
/*
 * Append a raw path as a URI reference (SARIF artifact locations): RFC
 * 3986 unreserved bytes and '/' stay, everything else is %XX; a second
 * leading '/' is encoded so that "//x" cannot read as an authority.
 */
int hm_buf_add_uri_path(struct hm_buf *b, const char *path, size_t len);
void hm_buf_reset(struct hm_buf *b);          /* len = 0, storage kept */
void hm_buf_free(struct hm_buf *b);           /* storage released */
/* Hand the storage to the caller (NUL-terminated, never NULL on success). */
char *hm_buf_detach(struct hm_buf *b, size_t *ret_len);

#endif
