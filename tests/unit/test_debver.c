/*
 * Debian version comparison: a table of tricky cases, and thousands of
 * generated pairs checked against dpkg --compare-versions itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hallmark/packages.h"

static int sign(int v)
{
	return v < 0 ? -1 : v > 0;
}

TEST(fixed_table)
{
	static const struct {
		const char *a, *b;
		int want;
	} t[] = {
		{ "1.0", "1.0", 0 },
		{ "1.0", "1.0-0", 0 },          /* an absent revision is "0" */
		{ "0:1.0", "1.0", 0 },
		{ "00:1.0", "0:1.0", 0 },
		{ "1.0", "1.00", 0 },           /* digit parts are numbers */
		{ "1.01", "1.1", 0 },
		{ "1.0~rc1", "1.0", -1 },       /* ~ sorts before the end */
		{ "1.0~~", "1.0~~a", -1 },
		{ "1.0~~a", "1.0~", -1 },
		{ "1.0~", "1.0", -1 },
		{ "1.0", "1.0a", -1 },          /* the end before letters */
		{ "1.0a", "1.0+", -1 },         /* letters before non-letters */
		{ "1.0+", "1.0.", -1 },         /* '+' (43) before '.' (46) */
		{ "1.0-1", "1.0-1~bpo1", 1 },
		{ "1:0.1", "2.0", 1 },          /* the epoch wins */
		{ "2:1.0", "10:0.1", -1 },
		{ "1.2.3", "1.2.10", -1 },
		{ "1.2-3", "1.2-10", -1 },
		{ "1.2-3a", "1.2-3+", -1 },
		{ "2.36-9+deb12u4", "2.36-9+deb12u10", -1 },
		{ "3.0.11-1~deb12u2", "3.0.11-1", -1 },
		{ "1:2.38.1-5+b1", "1:2.38.1-5", 1 },
		{ "1.0-a-1", "1.0-1", 1 },      /* upstream "1.0-a" > "1.0" */
		{ "1:1:1", "1:1.1", 1 },        /* ':' (58+256) after '.' */
		{ "12345678901234567890", "12345678901234567891", -1 },
		{ "000000000000000000000001", "1", 0 },
		{ "99999999999999999999999", "100000000000000000000000", -1 },
		{ "1a", "1A", 1 },              /* ASCII order among letters */
		{ "1.0-0", "1.0-00", 0 },
		{ "0.0", "0", 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK(hm_debver_valid(t[i].a));
		CHECK(hm_debver_valid(t[i].b));
		if (sign(hm_debver_cmp(t[i].a, t[i].b)) != t[i].want)
			FAIL("'%s' vs '%s': got %d, expected %d", t[i].a,
			     t[i].b, hm_debver_cmp(t[i].a, t[i].b), t[i].want);
		if (sign(hm_debver_cmp(t[i].b, t[i].a)) != -t[i].want)
			FAIL("'%s' vs '%s' is not antisymmetric", t[i].b, t[i].a);
	}
}

TEST(validity)
{
	static const char *const good[] = {
		"0", "1.0", "1:0", "1.0-1", "1.0-1-1", "1:1:1-1", "1.0+dfsg~rc1-2+b1",
		"2147483647:1", "1.0-a", "1A.b~C+d-e.F~",
	};
	static const char *const bad[] = {
		"", "a1", "1.0-", ":1.0", "1:", "-1", "1 0", "1_0", "a:1", "-1:0",
		"1.0-1:2", "1.0-1_2", "2147483648:1", "1:-1", "~1", "1.0/1",
		" 1.0", "1.0\n", "1:a",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!hm_debver_valid(good[i]))
			FAIL("'%s' should be valid", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (hm_debver_valid(bad[i]))
			FAIL("'%s' should be invalid", bad[i]);
	CHECK(!hm_debver_valid(NULL));
}

/* xorshift64*: a fixed seed keeps failures reproducible. */
static uint64_t rng_state;

static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

static void add(char *s, size_t max, const char *what)
{
	size_t n = strlen(s);

	snprintf(s + n, max - n, "%s", what);
}

static void add_number(char *s, size_t max)
{
	char num[40];
	unsigned i, len, zeros = rnd(4) == 0 ? 1 + rnd(3) : 0;

	len = rnd(10) == 0 ? 12 + rnd(20) : 1 + rnd(3);    /* some very long */
	for (i = 0; i < zeros; i++)
		num[i] = '0';
	for (; i < zeros + len && i < sizeof(num) - 1; i++)
		num[i] = (char)('0' + rnd(rnd(3) ? 3 : 10));  /* small digits collide more */
	num[i] = '\0';
	add(s, max, num);
}

/* A part from the alphabet of the upstream version or the revision. */
static void add_part(char *s, size_t max, bool upstream, bool has_epoch,
		     bool has_rev)
{
	static const char letters[] = "abAzZ";
	unsigned i, n = 1 + rnd(4);
	char c[2] = { 0, 0 };

	for (i = 0; i < n; i++) {
		switch (rnd(9)) {
		case 0: case 1: case 2:
			add_number(s, max);
			break;
		case 3:
			c[0] = letters[rnd(sizeof(letters) - 1)];
			add(s, max, c);
			break;
		case 4: add(s, max, "."); break;
		case 5: add(s, max, rnd(2) ? "~" : "~~"); break;
		case 6: add(s, max, "+"); break;
		case 7:
			if (upstream && has_rev)
				add(s, max, "-");
			else if (upstream && has_epoch)
				add(s, max, ":");
			else
				add(s, max, "+deb");
			break;
		default:
			add(s, max, rnd(2) ? "dfsg" : "rc");
		}
	}
}

static void gen_version(char *s, size_t max)
{
	bool epoch = rnd(4) == 0, rev = rnd(3) != 0;

	s[0] = '\0';
	if (epoch) {
		char e[16];

		snprintf(e, sizeof(e), "%s%u:", rnd(5) ? "" : "0", rnd(3));
		add(s, max, e);
	}
	add_number(s, max);                 /* upstream starts with a digit */
	if (rnd(4))
		add_part(s, max, true, epoch, rev);
	if (rev) {
		add(s, max, "-");
		if (rnd(2))
			add_number(s, max);
		else
			add(s, max, "0");
		if (rnd(2))
			add_part(s, max, false, false, false);
	}
}

/* b: a small change to a, so that most pairs are close or equal. */
static void mutate(const char *a, char *b, size_t max)
{
	size_t n = strlen(a);
	unsigned at = n ? rnd((unsigned)n) : 0;

	switch (rnd(8)) {
	case 0:
		snprintf(b, max, "%s", a);                       /* equal */
		break;
	case 1:
		snprintf(b, max, "%s~%u", a, rnd(3));            /* pre-release */
		break;
	case 2:
		snprintf(b, max, "%s+%c", a, rnd(2) ? 'b' : '1');
		break;
	case 3:
		snprintf(b, max, "%.*s0%s", (int)at, a, a + at); /* a zero */
		break;
	case 4:
		snprintf(b, max, "%s%s", strchr(a, ':') ? "" : "0:", a);
		break;
	case 5:
		snprintf(b, max, "%s.0", a);
		break;
	default:
		gen_version(b, max);
	}
}

static const char *dpkg_path(void)
{
	static const char *const paths[] = { "/usr/bin/dpkg", "/bin/dpkg" };
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

#define N_PAIRS 3000

TEST(agrees_with_dpkg)
{
	static char a[N_PAIRS][512], b[N_PAIRS][512];
	const char *dpkg = dpkg_path(), *seed_env = getenv("HM_TEST_SEED");
	unsigned long long seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x5eed1234ULL;
	char cmd[1024], line[32];
	int i, n_eq = 0, n_lt = 0, n_gt = 0;
	FILE *f;

	if (!dpkg) {
		printf("# skip agrees_with_dpkg: dpkg is not installed\n");
		return;
	}
	rng_state = seed ? seed : 1;
	f = fopen("pairs", "w");
	CHECK(f != NULL);
	for (i = 0; i < N_PAIRS; i++) {
		gen_version(a[i], sizeof(a[i]));
		mutate(a[i], b[i], sizeof(b[i]));
		if (!hm_debver_valid(a[i]) || !hm_debver_valid(b[i]))
			FAIL("generated an invalid version: '%s' or '%s'", a[i], b[i]);
		fprintf(f, "%s %s\n", a[i], b[i]);
	}
	CHECK(fclose(f) == 0);
	/* One shell loop over four chunks at once (dpkg is one process per
	 * comparison); it complains on stderr about any bad syntax. */
	snprintf(cmd, sizeof(cmd),
		 "split -n l/4 -d pairs part. && "
		 "for p in part.0*; do "
		 "while read a b; do "
		 "if %s --compare-versions \"$a\" lt \"$b\"; then echo -1; "
		 "elif %s --compare-versions \"$a\" eq \"$b\"; then echo 0; "
		 "else echo 1; fi; done < $p > $p.res 2> $p.err & done; wait; "
		 "cat part.0*.res > results && cat part.0*.err > dpkg-stderr",
		 dpkg, dpkg);
	CHECK_EQ_INT(system(cmd), 0);
	f = fopen("results", "r");
	CHECK(f != NULL);
	for (i = 0; i < N_PAIRS; i++) {
		int want, got;

		if (!fgets(line, sizeof(line), f)) {
			fclose(f);
			FAIL("dpkg gave only %d results", i);
		}
		want = atoi(line);
		got = sign(hm_debver_cmp(a[i], b[i]));
		if (got != want) {
			fclose(f);
			FAIL("seed %#llx pair %d: '%s' vs '%s': hallmark says %d, dpkg %d",
			     seed, i, a[i], b[i], got, want);
		}
		if (sign(hm_debver_cmp(b[i], a[i])) != -want) {
			fclose(f);
			FAIL("'%s' vs '%s' is not antisymmetric", b[i], a[i]);
		}
		n_lt += want < 0;
		n_eq += want == 0;
		n_gt += want > 0;
	}
	fclose(f);
	f = fopen("dpkg-stderr", "r");
	CHECK(f != NULL);
	if (fgets(line, sizeof(line), f)) {
		fclose(f);
		FAIL("dpkg complained about a generated version: %s", line);
	}
	fclose(f);
	/* The generator must exercise all three outcomes, in quantity. */
	CHECK(n_lt > N_PAIRS / 10);
	CHECK(n_eq > N_PAIRS / 20);
	CHECK(n_gt > N_PAIRS / 10);
}

/* Versions hallmark calls invalid are ones dpkg warns or fails about. */
TEST(invalid_agrees_with_dpkg)
{
	static const char *const bad[] = {
		"a1", "1.0-", ":1.0", "1:", "1_0", "a:1", "-1:0", "1.0-1_2",
		"1:-1", "~1", "1.0/1", "1:a",
	};
	const char *dpkg = dpkg_path();
	char cmd[256];
	size_t i;

	if (!dpkg) {
		printf("# skip invalid_agrees_with_dpkg: dpkg is not installed\n");
		return;
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!hm_debver_valid(bad[i]));
		/* Exit 0 with an empty stderr would mean dpkg accepts it. */
		snprintf(cmd, sizeof(cmd),
			 "%s --compare-versions '%s' eq 1 2>err; r=$?; "
			 "[ $r -gt 1 ] || [ -s err ]", dpkg, bad[i]);
		if (system(cmd) != 0)
			FAIL("dpkg accepts '%s' silently", bad[i]);
	}
}
