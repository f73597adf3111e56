/* Unit tests: registry references as `hallmark push` takes them (the
 * requests themselves run against a real registry in t3103). */
#include "harness.h"

#include "hallmark/registry_upload.h"

static const char dg[] =
	"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(references_split)
{
	struct hm_regup_ref r;
	struct hm_error err = { 0 };
	char ref[200];

	CHECK_OK(hm_regup_ref_parse("127.0.0.1:5000/hm/app:1", &r, &err), &err);
	CHECK_EQ_STR(r.host, "127.0.0.1:5000");
	CHECK_EQ_STR(r.repo, "hm/app");
	CHECK_EQ_STR(r.tag, "1");
	CHECK(r.digest == NULL);
	hm_regup_ref_clear(&r);

	CHECK_OK(hm_regup_ref_parse("registry.example/base/debian", &r, &err), &err);
	CHECK_EQ_STR(r.host, "registry.example");
	CHECK_EQ_STR(r.repo, "base/debian");
	CHECK(r.tag == NULL && r.digest == NULL);
	hm_regup_ref_clear(&r);

	snprintf(ref, sizeof(ref), "localhost/a.b_c-d:v1.2@%s", dg);
	CHECK_OK(hm_regup_ref_parse(ref, &r, &err), &err);
	CHECK_EQ_STR(r.host, "localhost");
	CHECK_EQ_STR(r.repo, "a.b_c-d");
	CHECK_EQ_STR(r.tag, "v1.2");
	CHECK_EQ_STR(r.digest, dg);
	hm_regup_ref_clear(&r);
	hm_regup_ref_clear(&r); /* twice: harmless */
}

TEST(references_refused)
{
	static const char *const bad[] = {
		"hm/app:1",                       /* no registry host: never guessed */
		"app",
		"/hm/app",
		"127.0.0.1:5000/",
		"127.0.0.1:5000/Hm/app",          /* upper case */
		"127.0.0.1:5000/hm//app",
		"127.0.0.1:5000/hm/app/",
		"127.0.0.1:5000/../etc:1",
		"127.0.0.1:5000/hm/app:",         /* empty tag */
		"127.0.0.1:5000/hm/app:-x",
		"127.0.0.1:5000/hm/app:a/b",
		"127.0.0.1:5000/hm/app:t?x=1",    /* nothing that changes the URL */
		"127.0.0.1:5000/hm/app@sha256:12",
		"127.0.0.1:5000/hm/app@md5:0123456789abcdef0123456789abcdef",
		"127.0.0.1:5000/hm/a%2fb",
	};
	struct hm_regup_ref r;
	struct hm_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		memset(&r, 0, sizeof(r));
		if (hm_regup_ref_parse(bad[i], &r, &err) != HM_ERR_USAGE) {
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
			CHECK(0);
		}
		CHECK(strstr(err.msg, bad[i]) != NULL);
		CHECK(r.host == NULL && r.repo == NULL);
	}
}
