/*
 * Debian version comparison, as dpkg --compare-versions does it
 * (deb-version(7); dpkg's lib/dpkg/version.c and parsehelp.c).
 *
 * A version is [epoch:]upstream[-revision]: the epoch is the digits before
 * the first ':', the revision what follows the last '-'.  Epochs compare
 * as numbers; upstream and revision with dpkg's verrevcmp: alternating
 * non-digit parts (compared character by character, '~' before
 * everything, even the end, then the end, then letters, then the rest)
 * and digit parts (compared as numbers of any length).
 *
 * Nothing is allocated: both sides are compared in place.
 */
#include <limits.h>
#include <string.h>

#include "hallmark/packages.h"

/* A version split in place: upstream and revision as [p, end). */
struct debver {
	unsigned long epoch;
	const char *up, *up_end;
	const char *rev, *rev_end;
};

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Split v; 0 if it is valid by deb-version(7), -1 otherwise (the parts are
 * still filled as well as dpkg would, so that cmp stays total).
 */
static int debver_split(const char *v, struct debver *d)
{
	const char *colon, *hyphen, *end = v + strlen(v), *p;
	int bad = 0;

	d->epoch = 0;
	d->up = v;
	colon = strchr(v, ':');
	if (colon) {
		if (colon == v)
			bad = 1;
		for (p = v; p < colon; p++) {
			if (!is_digit(*p)) {
				bad = 1;
				break;
			}
			if (d->epoch <= INT_MAX)
				d->epoch = d->epoch * 10 + (unsigned long)(*p - '0');
		}
		if (d->epoch > INT_MAX)
			bad = 1;
		d->up = colon + 1;
	}
	hyphen = strrchr(d->up, '-');
	d->up_end = hyphen ? hyphen : end;
	d->rev = hyphen ? hyphen + 1 : end;
	d->rev_end = end;

	if (d->up == d->up_end || !is_digit(*d->up))
		bad = 1;
	if (hyphen && d->rev == d->rev_end)
		bad = 1;
	for (p = d->up; p < d->up_end; p++)
		if (!is_digit(*p) && !is_alpha(*p) && !strchr(".+~-:", *p))
			bad = 1;
	for (p = d->rev; p < d->rev_end; p++)
		if (!is_digit(*p) && !is_alpha(*p) && !strchr(".+~", *p))
			bad = 1;
	return bad ? -1 : 0;
}

bool hm_debver_valid(const char *v)
{
	struct debver d;

	return v && debver_split(v, &d) == 0;
}

/* dpkg's order(): the weight of a character in a non-digit part. */
static int order(int c)
{
	if (is_digit(c))
		return 0;
	if (is_alpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

/* dpkg's verrevcmp over [a, ae) and [b, be); the end reads as NUL. */
static int verrevcmp(const char *a, const char *ae, const char *b,
		     const char *be)
{
#define AT(p, e) ((p) < (e) ? (unsigned char)*(p) : 0)
	while (a < ae || b < be) {
		int first_diff = 0;

		while ((a < ae && !is_digit(AT(a, ae))) ||
		       (b < be && !is_digit(AT(b, be)))) {
			int ac = order(AT(a, ae)), bc = order(AT(b, be));

			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (AT(a, ae) == '0')
			a++;
		while (AT(b, be) == '0')
			b++;
		while (is_digit(AT(a, ae)) && is_digit(AT(b, be))) {
			if (!first_diff)
				first_diff = AT(a, ae) - AT(b, be);
			a++;
			b++;
		}
		if (is_digit(AT(a, ae)))
			return 1;
		if (is_digit(AT(b, be)))
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
#undef AT
}

int hm_debver_cmp(const char *a, const char *b)
{
	struct debver da, db;
	int r;

	debver_split(a, &da);
	debver_split(b, &db);
	if (da.epoch != db.epoch)
		return da.epoch > db.epoch ? 1 : -1;
	r = verrevcmp(da.up, da.up_end, db.up, db.up_end);
	if (r)
		return r > 0 ? 1 : -1;
	r = verrevcmp(da.rev, da.rev_end, db.rev, db.rev_end);
	return r > 0 ? 1 : r < 0 ? -1 : 0;
}
