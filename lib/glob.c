/*
 * Globs over image paths (docs/policy-format.md).
 *
 * A pattern is matched component by component.  Within a component, '*'
 * is the only variable-length token and every other token ('?', a class,
 * a literal or escaped byte) consumes exactly one byte; across components,
 * a "**" component is the only variable-length token and every other
 * component consumes exactly one path component.  Both levels therefore
 * use the classic iterative matcher that remembers only the last star:
 * O(pattern * path) in the worst case, never exponential, no allocation.
 *
 * A trailing "**" matches one or more components, so "/a/" "**" matches
 * everything strictly below /a but not /a itself (like gitignore's "a/" "**");
 * anywhere else "**" matches zero or more components.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "hallmark/error.h"
#include "hallmark/limits.h"
#include "hallmark/policy.h"

typedef unsigned char uchar;

/* The ']' closing the class that opens at p (a '['), or NULL. */
static const uchar *class_end(const uchar *p, const uchar *pe)
{
	p++;
	if (p < pe && (*p == '!' || *p == '^'))
		p++;
	if (p < pe && *p == ']')        /* a leading ']' is a member */
		p++;
	while (p < pe && *p != ']') {
		if (*p == '\\' && ++p == pe)
			return NULL;
		p++;
	}
	return p < pe ? p : NULL;
}

/* Does byte c belong to the class p (the '[') .. end (the ']')? */
static bool class_match(const uchar *p, const uchar *end, uchar c)
{
	bool neg = false, hit = false;
	const uchar *q = p + 1;

	if (*q == '!' || *q == '^') {
		neg = true;
		q++;
	}
	while (q < end) {
		uchar lo, hi;

		if (*q == '\\')
			q++;
		lo = hi = *q++;
		if (q + 1 < end && *q == '-') {
			q++;
			if (*q == '\\')
				q++;
			hi = *q++;
		}
		if (lo <= c && c <= hi)
			hit = true;
	}
	return c != '/' && hit != neg;
}

/* Match one single-byte token at *pp against c and step over it. */
static bool token_match(const uchar **pp, const uchar *pe, uchar c)
{
	const uchar *p = *pp, *end;

	switch (*p) {
	case '?':
		*pp = p + 1;
		return c != '/';
	case '[':
		end = class_end(p, pe);
		if (end) {
			*pp = end + 1;
			return class_match(p, end, c);
		}
		*pp = p + 1;            /* unchecked pattern: a literal '[' */
		return c == '[';
	case '\\':
		if (p + 1 < pe) {
			*pp = p + 2;
			return c == p[1];
		}
		*pp = p + 1;
		return c == '\\';
	default:
		*pp = p + 1;
		return c == *p;
	}
}

/* One pattern component [p, pe) against one path component [s, se). */
static bool comp_match(const uchar *p, const uchar *pe, const uchar *s,
		       const uchar *se)
{
	const uchar *star_p = NULL, *star_s = NULL;

	while (s < se) {
		if (p < pe && *p == '*') {
			while (p < pe && *p == '*')
				p++;
			star_p = p;
			star_s = s;
			continue;
		}
		if (p < pe) {
			const uchar *np = p;

			if (token_match(&np, pe, *s)) {
				p = np;
				s++;
				continue;
			}
		}
		if (!star_p)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (p < pe && *p == '*')
		p++;
	return p == pe;
}

/* End of the pattern component starting at p (its '/' or NUL). */
static const uchar *pat_comp_end(const uchar *p)
{
	while (*p && *p != '/') {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	return p;
}

/* Start of the path component after the one ending at e, or NULL. */
static const uchar *path_next(const uchar *e, const uchar *se)
{
	return e < se ? e + 1 : NULL;
}

static const uchar *path_comp_end(const uchar *s, const uchar *se)
{
	const uchar *e = memchr(s, '/', (size_t)(se - s));

	return e ? e : se;
}

bool hm_glob_match(const char *pattern, const char *path, size_t len)
{
	const uchar *p = (const uchar *)pattern;
	const uchar *s = (const uchar *)path, *se = s + len;
	const uchar *star_p = NULL, *star_s = NULL;

	if (!p || p[0] != '/' || len == 0 || s[0] != '/')
		return false;
	/* p and s point at the start of the next component, NULL when
	 * there is none ("/" has no components). */
	p = p[1] ? p + 1 : NULL;
	s = len > 1 ? s + 1 : NULL;
	while (s) {
		if (p) {
			const uchar *pce = pat_comp_end(p);
			const uchar *pnext = *pce == '/' ? pce + 1 : NULL;
			const uchar *sce;

			if (pce - p == 2 && p[0] == '*' && p[1] == '*') {
				if (!pnext)
					return true;    /* trailing: one or more */
				star_p = pnext;
				star_s = s;
				p = pnext;
				continue;
			}
			sce = path_comp_end(s, se);
			if (comp_match(p, pce, s, sce)) {
				p = pnext;
				s = path_next(sce, se);
				continue;
			}
		}
		if (!star_p)
			return false;
		/* Let the last "**" absorb one more component. */
		p = star_p;
		star_s = path_next(path_comp_end(star_s, se), se);
		s = star_s;
	}
	return p == NULL;
}

static int bad(struct hm_error *err, const char *pattern, size_t len,
	       const char *why)
{
	return hm_error_set(err, HM_ERR_INPUT, 0, "bad glob '%.*s': %s",
			    (int)len, pattern, why);
}

/* Check the class at pattern[i] (a '['); return the index after it or
 * a negative error. */
static long check_class(const char *pattern, size_t len, size_t i,
			struct hm_error *err)
{
	size_t j = i + 1;
	bool first = true;

	if (j < len && (pattern[j] == '!' || pattern[j] == '^'))
		j++;
	while (j < len && (pattern[j] != ']' || first)) {
		uchar lo, hi;

		first = false;
		if (pattern[j] == '/')
			return bad(err, pattern, len, "'/' inside '[...]'");
		if (pattern[j] == '\\') {
			if (++j == len)
				break;
			if (pattern[j] == '/')
				return bad(err, pattern, len, "'/' inside '[...]'");
		}
		lo = hi = (uchar)pattern[j++];
		if (j + 1 < len && pattern[j] == '-' && pattern[j + 1] != ']') {
			j++;
			if (pattern[j] == '/')
				return bad(err, pattern, len, "'/' inside '[...]'");
			if (pattern[j] == '\\') {
				if (++j == len)
					break;
				if (pattern[j] == '/')
					return bad(err, pattern, len,
						   "'/' inside '[...]'");
			}
			hi = (uchar)pattern[j++];
			if (lo > hi)
				return bad(err, pattern, len,
					   "reversed range in '[...]'");
		}
	}
	if (j >= len)
		return bad(err, pattern, len, "unterminated '['");
	return (long)(j + 1);
}

int hm_glob_check(const char *pattern, size_t len, struct hm_error *err)
{
	size_t i;

	if (len > HM_LIMIT_GLOB_BYTES)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "glob of %zu bytes exceeds HM_LIMIT_GLOB_BYTES (%u)",
				    len, HM_LIMIT_GLOB_BYTES);
	if (len == 0)
		return hm_error_set(err, HM_ERR_INPUT, 0, "empty glob");
	if (memchr(pattern, '\0', len))
		return bad(err, pattern, len, "NUL byte");
	if (pattern[0] != '/')
		return bad(err, pattern, len, "must start with '/'");
	if (len == 1)
		return 0;
	i = 1;
	for (;;) {
		size_t start = i, lit = 0, dots = 0;
		bool meta = false, prev_star = false, double_star = false;

		while (i < len && pattern[i] != '/') {
			char c = pattern[i];

			if (c == '\\') {
				if (i + 1 == len)
					return bad(err, pattern, len, "trailing '\\'");
				if (pattern[i + 1] == '/')
					return bad(err, pattern, len, "escaped '/'");
				lit++;
				dots += pattern[i + 1] == '.';
				prev_star = false;
				i += 2;
			} else if (c == '[') {
				long r = check_class(pattern, len, i, err);

				if (r < 0)
					return (int)r;
				meta = true;
				prev_star = false;
				i = (size_t)r;
			} else if (c == '*') {
				if (prev_star)
					double_star = true;
				meta = true;
				prev_star = true;
				i++;
			} else {
				meta |= c == '?';
				lit++;
				dots += c == '.';
				prev_star = false;
				i++;
			}
		}
		if (i == start)
			return bad(err, pattern, len, "empty component");
		if (double_star && i - start != 2)
			return bad(err, pattern, len,
				   "'**' must be a whole component");
		if (!meta && dots == lit && lit <= 2)
			return bad(err, pattern, len, "'.' or '..' component");
		if (i == len)
			return 0;
		i++;                    /* the '/' */
		if (i == len)
			return bad(err, pattern, len, "empty component");
	}
}
