/*
 * Unit tests: the build pipeline (builder/build.c) as a library call, on
 * a tiny tarball base made here with GNU tar: what it publishes, the
 * progress it reports (and that it prints nothing itself), the audit
 * gate, a source date too old for expires_days, and a build.json that
 * jansson cannot finish (out of memory) failing the build instead of
 * being published short.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/build.h"
#include "hallmark/fsutil.h"

#include "harness.h"

#define SDE ((time_t)1700000000)

static int sh(const char *cmd)
{
	return system(cmd) == 0 ? 0 : -1;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* base.tar (passwd, group, a file) and t.yaml over it, with extra lines. */
static int fixture(const char *extra)
{
	char text[4096];

	if (sh("mkdir -p base/etc base/usr/bin && "
	       "printf 'root:x:0:0:root:/root:/bin/sh\\n' > base/etc/passwd && "
	       "printf 'root:x:0:\\n' > base/etc/group && "
	       "printf 'hi\\n' > base/usr/bin/hello && chmod 755 base/usr/bin/hello && "
	       "tar --numeric-owner --owner=0 --group=0 -C base -cf base.tar .") < 0)
		return -1;
	snprintf(text, sizeof(text),
		 "hallmark: 1\nname: tb\nserial: 3\nbase: {tarball: {path: base.tar}}\n"
		 "files:\n  - {path: /etc/motd, content: \"gold\\n\"}\n%s", extra);
	return write_text("t.yaml", text);
}

struct seen {
	char phases[256];
	int retries;
};

static void on_phase(void *ctx, const char *phase, double seconds)
{
	struct seen *s = ctx;

	(void)seconds;
	strncat(s->phases, phase, sizeof(s->phases) - strlen(s->phases) - 2);
	strcat(s->phases, " ");
}

static void on_retry(void *ctx, const char *why)
{
	(void)why;
	((struct seen *)ctx)->retries++;
}

static void options(struct hm_build_options *o, const struct hm_build_progress *p)
{
	memset(o, 0, sizeof(*o));
	o->template_path = "t.yaml";
	o->out_dir = "out";
	o->cache_dir = "cache";
	o->sde = SDE;
	o->progress = p;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Nothing in out/ but what a build left at final names (no staging). */
static int count_names(const char *dir)
{
	char cmd[256];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A %s 2>/dev/null | wc -l", dir);
	if ((p = popen(cmd, "r"))) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

TEST(publishes_and_reports_progress)
{
	struct seen seen = { "", 0 };
	const struct hm_build_progress prog = { on_phase, on_retry, &seen, NULL };
	struct hm_build_options o;
	struct hm_build_result res;
	struct hm_error err = { 0 };
	char *text = NULL;
	size_t len, i;

	CHECK(fixture("") == 0);
	options(&o, &prog);
	CHECK_OK(hm_build_run(&o, &res, &err), &err);
	CHECK(!res.gate_failed);
	CHECK_EQ_STR(res.name, "tb");
	CHECK_EQ_INT(res.serial, 3);
	CHECK(res.entries >= 6);
	CHECK_EQ_STR(seen.phases, "base operations audit rootfs oci manifest ");
	CHECK_EQ_INT(seen.retries, 0);
	/* No package database: no SBOM; the rest is there. */
	CHECK_EQ_INT(res.n_published, 5);
	CHECK_EQ_STR(res.published[0], "out/tb.rootfs.tar");
	CHECK_EQ_STR(res.published[1], "out/tb.oci.tar");
	CHECK_EQ_STR(res.published[2], "out/tb.audit.json");
	CHECK_EQ_STR(res.published[3], "out/tb.manifest");
	CHECK_EQ_STR(res.published[4], "out/tb.build.json");
	for (i = 0; i < res.n_published; i++)
		CHECK(exists(res.published[i]));
	CHECK_EQ_INT(count_names("out"), 6);   /* and the lock file tb.builds */
	CHECK_OK(hm_read_file("out/tb.manifest", 1 << 20, &text, &len, &err), &err);
	CHECK(strstr(text, "\n/etc/motd type=file mode=0644 ") != NULL);
	CHECK(strstr(text, "\nserial 3\n") != NULL);
	free(text);
	hm_build_result_free(&res);

	/* The serial can be given. */
	o.have_serial = true;
	o.serial = 9;
	o.progress = NULL;
	CHECK_OK(hm_build_run(&o, &res, &err), &err);
	CHECK_EQ_INT(res.serial, 9);
	hm_build_result_free(&res);
}

TEST(gate_fails_without_output)
{
	struct hm_build_options o;
	struct hm_build_result res;
	struct hm_error err = { 0 };

	CHECK(fixture("permissions:\n  - {path: /usr/bin/hello, mode: \"0777\"}\n") == 0);
	options(&o, NULL);
	CHECK_OK(hm_build_run(&o, &res, &err), &err);
	CHECK(res.gate_failed);
	CHECK_EQ_INT(res.fail_on, HM_SEV_HIGH);
	CHECK(res.audit.n_findings > 0);
	CHECK_EQ_INT(res.n_published, 0);
	CHECK(!exists("out/tb.manifest"));
	hm_build_result_free(&res);
}

TEST(refuses_expired_on_arrival)
{
	struct hm_build_options o;
	struct hm_build_result res;
	struct hm_error err = { 0 };

	CHECK(fixture("") == 0);
	CHECK(sh("sed -i 's/^serial: 3$/serial: 3\\nexpires_days: 30/' t.yaml") == 0);
	options(&o, NULL);
	CHECK_EQ_INT(hm_build_run(&o, &res, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "2023-12-14T22:13:20Z") != NULL);
	CHECK(!exists("out"));
	hm_build_result_free(&res);
	o.sde = time(NULL) - 86400;
	hm_error_clear(&err);
	CHECK_OK(hm_build_run(&o, &res, &err), &err);
	hm_build_result_free(&res);
}

/* jansson allocations fail from the n-th one after fail_armed is set. */
static long fail_at = -1, fail_count;
static bool fail_armed;

static void *failing_malloc(size_t n)
{
	if (fail_armed && fail_count++ == fail_at)
		return NULL;
	return malloc(n);
}

static void arm_after_manifest(void *ctx, const char *phase, double seconds)
{
	(void)ctx;
	(void)seconds;
	/* What jansson allocates from now on is build.json's. */
	if (!strcmp(phase, "manifest"))
		fail_armed = true;
}

/* The part of build.json before its timings (which vary). */
static char *build_json_head(void)
{
	struct hm_error err = { 0 };
	char *text = NULL, *t;
	size_t len;

	if (hm_read_file("out/tb.build.json", 1 << 20, &text, &len, &err) < 0)
		return NULL;
	if ((t = strstr(text, "\"timings_ms\"")))
		*t = '\0';
	return text;
}

TEST(build_json_out_of_memory)
{
	const struct hm_build_progress prog = { arm_after_manifest, NULL, NULL, NULL };
	struct hm_build_options o;
	struct hm_build_result res;
	struct hm_error err = { 0 };
	char *want = NULL, *got;
	long n;
	int r, failures = 0;

	CHECK(fixture("") == 0);
	options(&o, &prog);
	CHECK_OK(hm_build_run(&o, &res, &err), &err);
	hm_build_result_free(&res);
	CHECK((want = build_json_head()) != NULL);
	CHECK(sh("rm -rf out") == 0);
	json_set_alloc_funcs(failing_malloc, free);
	/* Each allocation of build.json in turn: the build fails, naming
	 * build.json, with nothing published, or it is complete. */
	for (n = 0; n < 400; n++) {
		fail_at = n;
		fail_count = 0;
		fail_armed = false;
		hm_error_clear(&err);
		r = hm_build_run(&o, &res, &err);
		hm_build_result_free(&res);
		if (r < 0) {
			failures++;
			if (r != HM_ERR_NOMEM || !strstr(err.msg, "tb.build.json")) {
				printf("# allocation %ld: %d %s\n", n, r, err.msg);
				break;
			}
			if (count_names("out") > 1) {   /* the lock file only */
				printf("# allocation %ld: something published\n", n);
				r = 0;
				break;
			}
			continue;
		}
		got = build_json_head();
		r = got && !strcmp(got, want);
		if (!r)
			printf("# allocation %ld failed and build.json was published short:\n%s\n",
			       n, got ? got : "(none)");
		free(got);
		if (!r)
			break;
		if (fail_count <= n)   /* past the last allocation */
			break;
		CHECK(sh("rm -rf out") == 0);
	}
	json_set_alloc_funcs(malloc, free);
	free(want);
	CHECK(r > 0);
	CHECK(failures > 20);
}
