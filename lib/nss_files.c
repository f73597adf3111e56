/*
 * Account files read as glibc's nss_files reads them
 * (include/hallmark/nss_files.h): the audit's accounts, verify's note on
 * uid-0 accounts, the runtime check's users.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/nss_files.h"

/*
 * The account files are read the way glibc's nss_files reads them
 * (nss/nss_files/files-parse.c, files-pwd.c, files-grp.c,
 * shadow/sgetspent_r.c), since that is what decides who logs in as
 * whom: a line glibc resolves must never be a skipped note here.
 * Measured with getent on Debian 12 (glibc 2.36) against a
 * bind-mounted file: a numeric field is strtoul's (leading white
 * space, a '+' or '-' sign: " 0", "+0", "-0" and "000" are uid 0),
 * ending at ':' or the end of the line (anything else rejects the
 * line); a value above UINT32_MAX, "-1" included, rejects it too.
 * Missing trailing fields are empty and the last field takes every
 * ':' after it ("a:x:0:0" is uid 0 with an empty shell, and the shell
 * of "a:x:0:0::/:/bin/sh:x" is "/bin/sh:x").
 */
bool hm_nss_is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* glibc's STRING_FIELD: up to the next ':' (cut there) or the end. */
char *hm_nss_str_field(char **line)
{
	char *s = *line, *c = strchr(s, ':');

	if (c) {
		*c = '\0';
		*line = c + 1;
	} else {
		*line = s + strlen(s);
	}
	return s;
}

/*
 * strtoul(s, &end, 10) narrowed as Debian 12's glibc does (measured: too big
 * a value rejects the line, it is not clamped), without the
 * locale: false if nothing was converted or the value (after a '-'
 * negates it modulo 2^64, as strtoul does) is above UINT32_MAX.
 */
static bool strtou32_glibc(const char *s, const char **ret_end, uint32_t *ret,
			   bool *ret_empty)
{
	const char *p = s;
	unsigned long long v = 0;
	bool neg = false, big = false;

	*ret_empty = false;
	while (hm_nss_is_space(*p))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p < '0' || *p > '9') {
		*ret_end = s;
		*ret_empty = true;
		return false;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (ULLONG_MAX - (unsigned)(*p - '0')) / 10)
			big = true;
		else
			v = v * 10 + (unsigned)(*p - '0');
	}
	*ret_end = p;
	if (neg)
		v = 0ULL - v;
	if (big || v > UINT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/*
 * glibc's INT_FIELD (maybe_null false) and INT_FIELD_MAYBE_NULL (true:
 * an empty field is allowed, but not the end of the line).  The number
 * must end at ':' (skipped; only when colon_ends) or at the end of the
 * line.  *ret is set only for a number.
 */
bool hm_nss_int_field(char **line, bool maybe_null, bool colon_ends, uint32_t *ret)
{
	const char *end;
	bool empty;
	uint32_t v;

	if (maybe_null && **line == '\0')
		return false;
	if (!strtou32_glibc(*line, &end, &v, &empty) && !(empty && maybe_null))
		return false;
	if (colon_ends && *end == ':')
		end++;
	else if (*end != '\0')
		return false;
	if (!empty)
		*ret = v;
	*line = *line + (end - *line);
	return true;
}

bool hm_nss_passwd_line(char *line, struct hm_nss_passwd *e)
{
	memset(e, 0, sizeof(*e));
	e->name = hm_nss_str_field(&line);
	e->pw = hm_nss_str_field(&line);
	if (!hm_nss_int_field(&line, false, true, &e->uid) ||
	    !hm_nss_int_field(&line, false, true, &e->gid))
		return false;
	e->gecos = hm_nss_str_field(&line);
	e->home = hm_nss_str_field(&line);
	e->shell = line;
	return true;
}

int hm_nss_passwd_each(char *data, size_t len,
		       int (*fn)(void *ctx, const struct hm_nss_passwd *e),
		       void *ctx)
{
	char *pos = data, *end = data + len;

	while (pos < end) {
		char *line = pos, *nl = memchr(pos, '\n', (size_t)(end - pos));
		struct hm_nss_passwd e;
		int r;

		if (!nl)
			nl = end;
		*nl = '\0';
		pos = nl + (nl < end);
		/* A NUL inside a line: glibc's fgets would cut it there. */
		if (strlen(line) != (size_t)(nl - line))
			continue;
		while (hm_nss_is_space(*line))
			line++;
		if (*line == '\0' || *line == '#' || *line == ':')
			continue;
		if (!hm_nss_passwd_line(line, &e))
			continue;
		if ((r = fn(ctx, &e)) < 0)
			return r;
	}
	return 0;
}

struct uid0 {
	struct hm_buf *names;
	size_t n;
};

static int add_uid0(void *ctx, const struct hm_nss_passwd *e)
{
	struct uid0 *u = ctx;

	if (e->uid != 0 || strcmp(e->name, "root") == 0)
		return 0;
	if (hm_buf_addf(u->names, "%s'%s'", u->n ? ", " : "", e->name) < 0)
		return -1;
	u->n++;
	return 0;
}

int hm_nss_passwd_uid0(const char *data, size_t len, struct hm_buf *names,
		       size_t *ret_n, struct hm_error *err)
{
	struct uid0 u = { names, 0 };
	char *copy = malloc(len + 1);
	int r;

	*ret_n = 0;
	if (!copy)
		return hm_error_nomem(err);
	memcpy(copy, data, len);
	copy[len] = '\0';
	r = hm_nss_passwd_each(copy, len, add_uid0, &u);
	free(copy);
	if (r < 0)
		return hm_error_nomem(err);
	*ret_n = u.n;
	return 0;
}
