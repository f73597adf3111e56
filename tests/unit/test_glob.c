/* Unit tests: glob syntax checks and matching. */
#include "harness.h"

#include "hallmark/error.h"
#include "hallmark/limits.h"
#include "hallmark/policy.h"

struct row {
	const char *pattern;
	const char *path;
	int match;
};

static const struct row rows[] = {
	/* literals */
	{ "/", "/", 1 },
	{ "/", "/a", 0 },
	{ "/etc/hostname", "/etc/hostname", 1 },
	{ "/etc/hostname", "/etc/hostnam", 0 },
	{ "/etc/hostname", "/etc/hostname2", 0 },
	{ "/etc", "/etc/hostname", 0 },
	/* '*' stays inside one component */
	{ "/etc/*", "/etc/passwd", 1 },
	{ "/etc/*", "/etc/ssh/sshd_config", 0 },
	{ "/etc/*", "/etc", 0 },
	{ "/etc/ssh/ssh_host_*_key", "/etc/ssh/ssh_host_ed25519_key", 1 },
	{ "/etc/ssh/ssh_host_*_key", "/etc/ssh/ssh_host_ed25519_key.pub", 0 },
	{ "/etc/ssh/ssh_host_*_key", "/etc/ssh/ssh_host__key", 1 },
	{ "/a/*b*c", "/a/xbyc", 1 },
	{ "/a/*b*c", "/a/bc", 1 },
	{ "/a/*b*c", "/a/xbycx", 0 },
	{ "/*", "/", 0 },
	{ "/a*", "/a", 1 },
	/* '?' is one byte, never '/' */
	{ "/a?c", "/abc", 1 },
	{ "/a?c", "/ac", 0 },
	{ "/a?c", "/a/c", 0 },
	{ "/a?c", "/a.c", 1 },
	{ "/a?c", "/abbc", 0 },
	{ "/dev/tty[0-9]", "/dev/tty10", 0 },
	{ "/a/**/b", "/a/x/b/c", 0 },
	{ "/?", "/\xff", 1 },
	/* classes */
	{ "/dev/tty[0-9]", "/dev/tty7", 1 },
	{ "/dev/tty[0-9]", "/dev/ttyS", 0 },
	{ "/dev/tty[!0-9]", "/dev/ttyS", 1 },
	{ "/dev/tty[^0-9]", "/dev/tty1", 0 },
	{ "/x[]]", "/x]", 1 },
	{ "/x[!]]", "/x]", 0 },
	{ "/x[!]]", "/xa", 1 },
	{ "/x[a-]", "/x-", 1 },
	{ "/x[\\]a]", "/x]", 1 },
	{ "/a[!b]c", "/a/c", 0 },
	{ "/x[\x80-\xff]", "/x\xe9", 1 },
	{ "/x[\x80-\xff]", "/xe", 0 },
	{ "/x[!\x01-\x7f]", "/x\x80", 1 },
	{ "/caf\xc3\xa9", "/caf\xc3\xa9", 1 },
	{ "/caf\xc3\xa9", "/caf\xc3\xa8", 0 },
	{ "/caf*", "/caf\xc3\xa9", 1 },
	/* escapes */
	{ "/a\\*", "/a*", 1 },
	{ "/a\\*", "/ab", 0 },
	{ "/a\\?", "/a?", 1 },
	{ "/\\[x]", "/[x]", 1 },
	{ "/\\[x]", "/x", 0 },
	{ "/a\\\\b", "/a\\b", 1 },
	{ "/\\a", "/a", 1 },
	/* "**" */
	{ "/**", "/", 0 },
	{ "/**", "/a", 1 },
	{ "/**", "/a/b/c", 1 },
	{ "/tmp/**", "/tmp", 0 },
	{ "/tmp/**", "/tmp/x", 1 },
	{ "/tmp/**", "/tmp/x/y/z", 1 },
	{ "/tmp/**", "/tmpx/y", 0 },
	{ "/**/x", "/x", 1 },
	{ "/**/x", "/a/b/x", 1 },
	{ "/**/x", "/a/b/xy", 0 },
	{ "/**/x", "/", 0 },
	{ "/a/**/b", "/a/b", 1 },
	{ "/a/**/b", "/a/x/y/b", 1 },
	{ "/a/**/b", "/a/x/y/b/c", 0 },
	{ "/a/**/b", "/ab", 0 },
	{ "/a/**/b/**", "/a/b", 0 },
	{ "/a/**/b/**", "/a/q/b/c", 1 },
	{ "/**/*.conf", "/etc/a/b.conf", 1 },
	{ "/**/*.conf", "/etc/a/b.confx", 0 },
	{ "/a/**/**", "/a", 0 },
	{ "/a/**/**", "/a/b", 1 },
	{ "/a/**/x/**/y", "/a/x/x/x/y", 1 },
	{ "/a/**/x/**/y", "/a/x/y/z", 0 },
	{ "/home/*/**", "/home/u", 0 },
	{ "/home/*/**", "/home/u/.cache/x", 1 },
};

TEST(glob_table)
{
	struct hm_error err = { 0 };
	size_t i;

	CHECK(sizeof(rows) / sizeof(rows[0]) >= 40);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		int got;

		if (hm_glob_check(r->pattern, strlen(r->pattern), &err) < 0)
			FAIL("row %zu: '%s' rejected: %s", i, r->pattern, err.msg);
		got = hm_glob_match(r->pattern, r->path, strlen(r->path));
		if (got != r->match)
			FAIL("row %zu: '%s' vs '%s': got %d, expected %d", i,
			     r->pattern, r->path, got, r->match);
	}
}

TEST(glob_match_uses_len_not_nul)
{
	/* The path is len bytes: neither a shorter len nor bytes after it
	 * may change the answer. */
	CHECK(hm_glob_match("/ab", "/abc", 3));
	CHECK(!hm_glob_match("/abc", "/abc", 3));
	CHECK(hm_glob_match("/a?c", "/a\0c", 4) == 1);
	CHECK(!hm_glob_match("/a", "", 0));
	CHECK(!hm_glob_match("/a", "a", 1));
}

TEST(glob_check_rejects)
{
	static const char *const bad[] = {
		"", "a", "etc/*", "//", "/a//b", "/a/", "/.", "/a/./b", "/a/..",
		"/a/\\.", "/a**b", "/a/**b", "/***", "/a[b", "/a[!]", "/a[]",
		"/a\\", "/a\\/b", "/a[/]", "/a[b-/]", "/a[z-a]",
	};
	struct hm_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hm_error_clear(&err);
		if (hm_glob_check(bad[i], strlen(bad[i]), &err) != HM_ERR_INPUT)
			FAIL("'%s' accepted", bad[i]);
		CHECK(err.msg[0] != '\0');
	}
	/* a NUL inside the given length */
	CHECK_EQ_INT(hm_glob_check("/a\0b", 4, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "NUL") != NULL);
	CHECK_EQ_INT(hm_glob_check("/a[b", 4, &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "bad glob '/a[b': unterminated '['");
	CHECK_EQ_INT(hm_glob_check("/a/**b", 6, &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "bad glob '/a/**b': '**' must be a whole component");
	CHECK_EQ_INT(hm_glob_check("x", 1, &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "bad glob 'x': must start with '/'");
}

TEST(glob_check_accepts)
{
	static const char *const good[] = {
		"/", "/**", "/a/**", "/**/a", "/a/**/b", "/...", "/.a", "/a.",
		"/a\\*\\*b", "/[.]", "/x[]]", "/x[!]]", "/\xff\x80", "/a[\\]]",
		"/a[-z]", "/a*b*c?[xyz]",
	};
	struct hm_error err;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (hm_glob_check(good[i], strlen(good[i]), &err) != 0)
			FAIL("'%s' rejected: %s", good[i], err.msg);
}

TEST(glob_check_length_limit)
{
	struct hm_error err;
	size_t n = HM_LIMIT_GLOB_BYTES + 1;
	char *p = malloc(n + 1);

	CHECK(p);
	memset(p, 'a', n);
	p[0] = '/';
	p[n] = '\0';
	CHECK_EQ_INT(hm_glob_check(p, n, &err), HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "HM_LIMIT_GLOB_BYTES") != NULL);
	CHECK_EQ_INT(hm_glob_check(p, n - 1, &err), 0);
	free(p);
}

/* Patterns that make a naive recursive matcher take exponential time must
 * finish at once; the test has no timer, it just must not hang. */
TEST(glob_no_exponential_blowup)
{
	struct hm_error err;
	char path[8192], comp[512], pat[600];
	size_t n = 0;
	int i;

	/* 2000 components of "a" with no "x" at the end. */
	for (i = 0; i < 2000; i++) {
		path[n++] = '/';
		path[n++] = 'a';
	}
	path[n] = '\0';
	CHECK_EQ_INT(hm_glob_check("/**/**/**/**/**/**/**/**/x", 26, &err), 0);
	CHECK(!hm_glob_match("/**/**/**/**/**/**/**/**/x", path, n));
	CHECK(hm_glob_match("/**/**/**/**/**/**/**/**/a", path, n));
	CHECK(!hm_glob_match("/**/a/**/a/**/a/**/a/**/a/**/b", path, n));
	/* one long component against many stars */
	memset(comp, 'a', 400);
	comp[0] = '/';
	comp[400] = '\0';
	strcpy(pat, "/");
	for (i = 0; i < 30; i++)
		strcat(pat, "*a");
	strcat(pat, "*b");
	CHECK_EQ_INT(hm_glob_check(pat, strlen(pat), &err), 0);
	CHECK(!hm_glob_match(pat, comp, 400));
	pat[strlen(pat) - 1] = 'a';
	CHECK(hm_glob_match(pat, comp, 400));
}
