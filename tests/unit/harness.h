/*
 * A small unit-test harness: each tests/unit/test_MODULE.c defines
 * TEST(name) functions; main() runs each in a fresh temporary folder and
 * prints "ok NAME" or "not ok NAME: FILE:LINE: what".  The last line is
 * "N passed, N failed", which tests/run-tests.sh adds up.
 */
#ifndef HM_TEST_HARNESS_H
#define HM_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hm_test {
	const char *name;
	void (*fn)(void);
};

#define HM_MAX_TESTS 512
static struct hm_test hm_tests[HM_MAX_TESTS];
static int hm_ntests;
static int hm_failed_now;

#define TEST(name)                                                        \
	static void test_##name(void);                                    \
	__attribute__((constructor)) static void reg_##name(void)         \
	{                                                                 \
		if (hm_ntests < HM_MAX_TESTS)                             \
			hm_tests[hm_ntests++] =                           \
				(struct hm_test){ #name, test_##name };   \
	}                                                                 \
	static void test_##name(void)

#define FAIL(...)                                                         \
	do {                                                              \
		printf("not ok %s: %s:%d: ", hm_current, __FILE__, __LINE__); \
		printf(__VA_ARGS__);                                      \
		printf("\n");                                             \
		hm_failed_now = 1;                                        \
		return;                                                   \
	} while (0)

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond))                                              \
			FAIL("check failed: %s", #cond);                  \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                \
	do {                                                              \
		long long _a = (long long)(a), _b = (long long)(b);       \
		if (_a != _b)                                             \
			FAIL("%s == %lld, expected %s == %lld", #a, _a, #b, _b); \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                \
	do {                                                              \
		const char *_a = (a), *_b = (b);                          \
		if (!_a || !_b || strcmp(_a, _b) != 0)                    \
			FAIL("%s == \"%s\", expected \"%s\"", #a,         \
			     _a ? _a : "(null)", _b ? _b : "(null)");     \
	} while (0)

/* Check that an hm_* call returned >= 0; print its error otherwise. */
#define CHECK_OK(call, errp)                                              \
	do {                                                              \
		int _r = (call);                                          \
		if (_r < 0)                                               \
			FAIL("%s returned %d: %s", #call, _r, (errp)->msg); \
	} while (0)

static const char *hm_current = "";

int main(int argc, char **argv)
{
	int i, passed = 0, failed = 0;
	char cwd[4096];

	if (!getcwd(cwd, sizeof(cwd)))
		return 2;
	for (i = 0; i < hm_ntests; i++) {
		char dir[] = "/tmp/hm-unit-XXXXXX";
		char cmd[64];

		if (argc > 1 && strcmp(argv[1], hm_tests[i].name) != 0)
			continue;
		if (!mkdtemp(dir) || chdir(dir) != 0) {
			perror("mkdtemp");
			return 2;
		}
		hm_current = hm_tests[i].name;
		hm_failed_now = 0;
		hm_tests[i].fn();
		if (hm_failed_now) {
			failed++;
		} else {
			passed++;
			printf("ok %s\n", hm_tests[i].name);
		}
		if (chdir(cwd) != 0)
			return 2;
		snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s", dir, dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif
