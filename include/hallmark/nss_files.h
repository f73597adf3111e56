/*
 * Account files (/etc/passwd, /etc/group, /etc/shadow) read the way
 * glibc's nss_files reads them, since that is what decides who logs in
 * as whom: the same numbers, the same rejected lines.  The details of
 * each rule are in lib/nss_files.c.
 */
#ifndef HALLMARK_NSS_FILES_H
#define HALLMARK_NSS_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hallmark/buf.h"
#include "hallmark/error.h"

struct hm_nss_passwd {
	const char *name, *pw, *gecos, *home, *shell;
	uint32_t uid, gid;
};

/* C's isspace in the C locale. */
bool hm_nss_is_space(char c);
/* glibc's STRING_FIELD: up to the next ':' (cut there) or the end. */
char *hm_nss_str_field(char **line);
/* glibc's INT_FIELD (maybe_null false) and INT_FIELD_MAYBE_NULL (true). */
bool hm_nss_int_field(char **line, bool maybe_null, bool colon_ends, uint32_t *ret);

/* One passwd line (leading blanks, comments and blank lines already
 * skipped; cut in place): false when glibc rejects it. */
bool hm_nss_passwd_line(char *line, struct hm_nss_passwd *e);
/* Every entry glibc would return, in file order (data cut in place);
 * fn returns < 0 to stop, which is returned. */
int hm_nss_passwd_each(char *data, size_t len,
		       int (*fn)(void *ctx, const struct hm_nss_passwd *e),
		       void *ctx);
/* The uid-0 accounts other than root, as "'a', 'b'" appended to names. */
int hm_nss_passwd_uid0(const char *data, size_t len, struct hm_buf *names,
		       size_t *ret_n, struct hm_error *err);

#endif
