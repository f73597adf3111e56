/* Unit tests: policies (YAML loading, errors with positions, queries). */
#include "harness.h"

#include "hallmark/error.h"
#include "hallmark/limits.h"
#include "hallmark/policy.h"
#include "hallmark/source.h"

#define Q(p, fn, s) hm_policy_##fn((p), (s), strlen(s))

static int parse(const char *yaml, struct hm_policy **ret, struct hm_error *err)
{
	*ret = NULL;
	hm_error_clear(err);
	return hm_policy_parse(yaml, strlen(yaml), "p.yaml", ret, err);
}

TEST(policy_parse_ok)
{
	static const char yaml[] =
		"# a comment\n"
		"version: 1\n"
		"description: \"test policy\"\n"
		"ignore: [/proc/**, /tmp/**, /tmp]\n"
		"may_change:\n"
		"  - /etc/machine-id\n"
		"  - /etc/ssh/ssh_host_*_key\n"
		"  - '/etc/[ab]*.conf'\n"
		"may_add:\n"
		"  - /opt/app\n"
		"  - /opt/app/**\n";
	struct hm_policy *p;
	struct hm_error err;

	CHECK_OK(parse(yaml, &p, &err), &err);
	CHECK(Q(p, ignored, "/proc/1/status"));
	CHECK(!Q(p, ignored, "/proc"));
	CHECK(Q(p, ignored, "/tmp"));
	CHECK(Q(p, ignored, "/tmp/x"));
	CHECK(!Q(p, ignored, "/etc/machine-id"));
	CHECK(Q(p, may_change, "/etc/machine-id"));
	CHECK(Q(p, may_change, "/etc/ssh/ssh_host_rsa_key"));
	CHECK(!Q(p, may_change, "/etc/ssh/ssh_host_rsa_key.pub"));
	CHECK(Q(p, may_change, "/etc/a.conf"));
	CHECK(Q(p, may_change, "/etc/bx.conf"));
	CHECK(!Q(p, may_change, "/etc/c.conf"));
	CHECK(!Q(p, may_add, "/etc/machine-id"));
	CHECK(Q(p, may_add, "/opt/app"));
	CHECK(Q(p, may_add, "/opt/app/bin/x"));
	CHECK(!Q(p, may_add, "/opt/apps"));
	CHECK(!Q(p, may_add, "/opt"));
	hm_policy_free(p);
}

TEST(policy_parse_empty_forms)
{
	static const char *const ok[] = {
		"{}\n",
		"version: 1\n",
		"ignore:\n",
		"ignore: ~\nmay_add: []\nmay_change: null\n",
		"description:\n",
		"--- \nignore: [/a]\n...\n",
	};
	struct hm_policy *p;
	struct hm_error err;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (parse(ok[i], &p, &err) < 0)
			FAIL("case %zu: %s", i, err.msg);
		CHECK(!Q(p, ignored, "/x"));
		CHECK(!Q(p, may_add, "/x"));
		hm_policy_free(p);
	}
}

struct bad_case {
	const char *yaml;
	int code;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{ "", HM_ERR_INPUT, "p.yaml:1:1: empty document" },
	{ "# nothing\n", HM_ERR_INPUT, "p.yaml:2:1: empty document" },
	{ "---\n", HM_ERR_INPUT, "p.yaml:2:1: a policy must be a mapping, not a null" },
	{ "- /a\n", HM_ERR_INPUT, "p.yaml:1:1: a policy must be a mapping, not a sequence" },
	{ "ignore: [/a]\nmay_add: [/b]\nignore: [/c]\n", HM_ERR_INPUT,
	  "p.yaml:3:1: duplicate key 'ignore'" },
	{ "ignore: [/a]\n'ignore': [/b]\n", HM_ERR_INPUT,
	  "p.yaml:2:1: duplicate key 'ignore'" },
	{ "ignore:\n  - /tmp/**\n  - &x /var/tmp/**\n", HM_ERR_INPUT,
	  "p.yaml:3:5: anchors are not allowed" },
	{ "ignore: &l [/a]\n", HM_ERR_INPUT, "p.yaml:1:9: anchors are not allowed" },
	{ "ignore:\n  - /a\nmay_add: *l\n", HM_ERR_INPUT,
	  "p.yaml:3:10: aliases are not allowed" },
	{ "ignore: !!set [/a]\n", HM_ERR_INPUT,
	  "p.yaml:1:9: tag 'tag:yaml.org,2002:set' is not allowed" },
	{ "ignore: [!foo /a]\n", HM_ERR_INPUT,
	  "p.yaml:1:10: tag '!foo' is not allowed" },
	{ "%TAG !e! tag:example.com,2000:\n---\nignore: [/a]\n", HM_ERR_INPUT,
	  "p.yaml:1:1: tag directives are not allowed" },
	{ "ignore: /tmp/**\n", HM_ERR_INPUT,
	  "p.yaml:1:9: 'ignore' must be a sequence of globs, not a scalar" },
	{ "may_add:\n  x: 1\n", HM_ERR_INPUT,
	  "p.yaml:2:3: 'may_add' must be a sequence of globs, not a mapping" },
	{ "ignore:\n  - /a\n  - {x: 1}\n", HM_ERR_INPUT,
	  "p.yaml:3:5: 'ignore' items must be globs, not a mapping" },
	{ "may_change:\n  - /a\n  - [/b]\n", HM_ERR_INPUT,
	  "p.yaml:3:5: 'may_change' items must be globs, not a sequence" },
	{ "ignore:\n  -\n", HM_ERR_INPUT,
	  "p.yaml:2:4: 'ignore' items must be globs, not a null" },
	{ "version: 1\ncolour: blue\n", HM_ERR_INPUT,
	  "p.yaml:2:1: unknown key 'colour' in a policy" },
	{ "version: 2\n", HM_ERR_INPUT,
	  "p.yaml:1:10: unsupported policy version 2 (this hallmark reads version 1)" },
	{ "version: '1'\n", HM_ERR_INPUT,
	  "p.yaml:1:10: 'version' must be an unquoted decimal integer, not a scalar" },
	{ "version: 1.0\n", HM_ERR_INPUT,
	  "p.yaml:1:10: 'version' must be an unquoted decimal integer, not a scalar" },
	{ "description: [x]\n", HM_ERR_INPUT,
	  "p.yaml:1:14: 'description' must be a string, not a sequence" },
	{ "may_change:\n  - /etc/ssh/ssh_host_*_key\n  - etc/hostname\n",
	  HM_ERR_INPUT, "p.yaml:3:5: bad glob 'etc/hostname': must start with '/'" },
	{ "may_add:\n  - /opt/**\n  - /a[b\n", HM_ERR_INPUT,
	  "p.yaml:3:5: bad glob '/a[b': unterminated '['" },
	{ "ignore:\n    - \"/a/**b\"\n", HM_ERR_INPUT,
	  "p.yaml:2:7: bad glob '/a/**b': '**' must be a whole component" },
	{ "ignore: [/a]\n---\nignore: [/b]\n", HM_ERR_INPUT,
	  "p.yaml:2:1: more than one document" },
	{ "ignore: [/a\n", HM_ERR_INPUT,
	  "p.yaml:2:1: did not find expected ',' or ']' (while parsing a flow sequence at 1:9)" },
	{ "ignore: [/a]\n\x01\n", HM_ERR_INPUT,
	  "p.yaml:2:1: control characters are not allowed (byte 0x01)" },
	{ "ignore: [/\xff]\n", HM_ERR_INPUT,
	  "p.yaml:1:11: invalid leading UTF-8 octet (byte 0xff)" },
	{ "? [a]\n: b\n", HM_ERR_INPUT, "p.yaml:1:3: mapping keys must be scalars" },
	{ "a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	  HM_ERR_LIMIT, "p.yaml:1:35: nesting deeper than HM_LIMIT_YAML_DEPTH (32)" },
};

TEST(policy_errors_name_line_and_column)
{
	struct hm_policy *p;
	struct hm_error err;
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		int r = parse(c->yaml, &p, &err);

		if (r != c->code)
			FAIL("case %zu: returned %d (%s), expected %d", i, r,
			     err.msg, c->code);
		if (p)
			FAIL("case %zu: a policy was returned", i);
		if (strcmp(err.msg, c->msg) != 0)
			FAIL("case %zu: message \"%s\", expected \"%s\"", i,
			     err.msg, c->msg);
	}
}

TEST(policy_nul_in_glob_is_an_error)
{
	struct hm_policy *p;
	struct hm_error err;

	/* "\0" in double quotes would otherwise cut the glob short. */
	CHECK_EQ_INT(parse("ignore: [\"/a\\0/**\"]\n", &p, &err), HM_ERR_INPUT);
	CHECK(strncmp(err.msg, "p.yaml:1:10: bad glob", 21) == 0);
	CHECK(strstr(err.msg, "NUL byte") != NULL);
}

/* The escape docs/policy-format.md gives for bytes that YAML text cannot
 * hold: a class whose bounds are written as double-quoted escapes. */
TEST(policy_high_bytes_through_a_class)
{
	struct hm_policy *p;
	struct hm_error err;

	CHECK_OK(parse("ignore: [\"/srv/[!\\x01-\\x7f]*\"]\n", &p, &err), &err);
	CHECK(Q(p, ignored, "/srv/\xff\xfe"));
	CHECK(Q(p, ignored, "/srv/\x80"));
	CHECK(!Q(p, ignored, "/srv/abc"));
	CHECK(!Q(p, ignored, "/srv/\xff/x"));
	hm_policy_free(p);
}

TEST(policy_yaml_size_limit)
{
	size_t n = HM_LIMIT_YAML_BYTES + 1;
	char *big = malloc(n);
	struct hm_policy *p = NULL;
	struct hm_error err;

	CHECK(big);
	memset(big, '\n', n);
	memcpy(big, "ignore: []", 10);
	CHECK_EQ_INT(hm_policy_parse(big, n, "big.yaml", &p, &err), HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "HM_LIMIT_YAML_BYTES") != NULL);
	CHECK_OK(hm_policy_parse(big, n - 1, "big.yaml", &p, &err), &err);
	hm_policy_free(p);
	free(big);
}

TEST(policy_glob_count_limit)
{
	struct hm_policy *p;
	struct hm_error err;
	char g[32];
	unsigned i;

	CHECK_OK(hm_policy_new(&p, &err), &err);
	for (i = 0; i < HM_LIMIT_POLICY_GLOBS; i++) {
		snprintf(g, sizeof(g), "/f%u%s", i, i % 2 ? "/**" : "");
		if (hm_policy_add(p, (enum hm_policy_list)(i % 3), g, &err) < 0)
			FAIL("glob %u: %s", i, err.msg);
	}
	CHECK_EQ_INT(hm_policy_add(p, HM_POLICY_IGNORE, "/one-more", &err),
		     HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "HM_LIMIT_POLICY_GLOBS") != NULL);
	/* exact globs are found by bisection among thousands */
	CHECK(Q(p, ignored, "/f0"));
	CHECK(Q(p, may_change, "/f4"));
	CHECK(!Q(p, may_change, "/f3"));   /* "/f3" only as "/f3/" "**" */
	CHECK(Q(p, ignored, "/f3/x"));
	CHECK(Q(p, may_add, "/f9998"));
	CHECK(!Q(p, may_add, "/f99980"));
	CHECK(!Q(p, ignored, "/f"));
	hm_policy_free(p);
}

TEST(policy_add_and_strict_defaults)
{
	struct hm_policy *p;
	struct hm_error err;

	/* A NULL policy is strict. */
	CHECK(!Q(NULL, ignored, "/tmp/x"));
	CHECK(!Q(NULL, may_change, "/etc/hostname"));
	CHECK(!Q(NULL, may_add, "/x"));
	CHECK(!Q(NULL, ignores_below, "/tmp"));
	CHECK_OK(hm_policy_new(&p, &err), &err);
	CHECK(!Q(p, ignored, "/tmp/x"));
	CHECK_OK(hm_policy_add(p, HM_POLICY_IGNORE, "/tmp/**", &err), &err);
	CHECK_OK(hm_policy_add(p, HM_POLICY_MAY_CHANGE, "/etc/host\\name", &err), &err);
	CHECK_OK(hm_policy_add(p, HM_POLICY_MAY_CHANGE, "/etc/hostname", &err), &err);
	CHECK_EQ_INT(hm_policy_add(p, HM_POLICY_MAY_ADD, "opt/**", &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "bad glob 'opt/**': must start with '/'");
	CHECK(Q(p, ignored, "/tmp/x"));
	CHECK(!Q(p, ignored, "/tmp"));
	CHECK(Q(p, may_change, "/etc/hostname"));
	CHECK(!Q(p, may_change, "/etc/host\\name"));
	CHECK(!Q(p, may_add, "/opt/x"));
	hm_policy_free(p);
	hm_policy_free(NULL);
}

TEST(policy_ignores_below)
{
	static const char yaml[] =
		"ignore:\n"
		"  - /proc/**\n"
		"  - /home/*/.cache/**\n"
		"  - /srv/**/tmp/**\n"
		"  - /var/log/*\n"        /* one level only: not a subtree */
		"  - /opt/x\n";
	struct hm_policy *p, *all;
	struct hm_error err;

	CHECK_OK(parse(yaml, &p, &err), &err);
	CHECK(Q(p, ignores_below, "/proc"));
	CHECK(Q(p, ignores_below, "/proc/1"));
	CHECK(Q(p, ignores_below, "/proc/1/task/2"));
	CHECK(!Q(p, ignores_below, "/"));
	CHECK(!Q(p, ignores_below, "/pro"));
	CHECK(!Q(p, ignores_below, "/procs"));
	CHECK(!Q(p, ignores_below, "/home"));
	CHECK(!Q(p, ignores_below, "/home/u"));
	CHECK(Q(p, ignores_below, "/home/u/.cache"));
	CHECK(Q(p, ignores_below, "/home/u/.cache/a/b"));
	CHECK(!Q(p, ignores_below, "/home/u/.cachex"));
	CHECK(Q(p, ignores_below, "/srv/tmp"));
	CHECK(Q(p, ignores_below, "/srv/a/b/tmp/c"));
	CHECK(!Q(p, ignores_below, "/srv/a"));
	CHECK(!Q(p, ignores_below, "/var/log"));
	CHECK(!Q(p, ignores_below, "/opt/x"));
	hm_policy_free(p);

	CHECK_OK(parse("ignore: [/**]\n", &all, &err), &err);
	CHECK(Q(all, ignores_below, "/"));
	CHECK(Q(all, ignores_below, "/etc"));
	CHECK(!Q(all, ignored, "/"));
	CHECK(Q(all, ignored, "/etc"));
	hm_policy_free(all);
}

TEST(policy_source_filter)
{
	struct hm_source_filter f = { 0 };
	struct hm_policy *p;
	struct hm_error err;

	hm_policy_source_filter(NULL, &f);
	CHECK(!f.skip_entry && !f.skip_subtree);
	CHECK_OK(parse("ignore: [/tmp/**, /etc/mtab]\n", &p, &err), &err);
	hm_policy_source_filter(p, &f);
	CHECK(f.skip_entry && f.skip_subtree && f.ctx == p);
	CHECK(f.skip_entry(f.ctx, "/etc/mtab", 9));
	CHECK(!f.skip_entry(f.ctx, "/etc", 4));
	CHECK(!f.skip_entry(f.ctx, "/tmp", 4));
	CHECK(f.skip_subtree(f.ctx, "/tmp", 4));
	CHECK(!f.skip_subtree(f.ctx, "/etc", 4));
	hm_policy_free(p);
}

TEST(policy_load_file)
{
	struct hm_policy *p = NULL;
	struct hm_error err;
	FILE *f = fopen("pol.yaml", "w");

	CHECK(f);
	fputs("ignore:\n  - /tmp/**\nmay_add:\n  - [x]\n", f);
	fclose(f);
	CHECK_EQ_INT(hm_policy_load("pol.yaml", &p, &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "pol.yaml:4:5: 'may_add' items must be globs, not a sequence");
	CHECK_EQ_INT(hm_policy_load("missing.yaml", &p, &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "missing.yaml") != NULL);
	CHECK(p == NULL);
	f = fopen("pol.yaml", "w");
	CHECK(f);
	fputs("ignore:\n  - /tmp/**\n", f);
	fclose(f);
	CHECK_OK(hm_policy_load("pol.yaml", &p, &err), &err);
	CHECK(Q(p, ignored, "/tmp/a"));
	hm_policy_free(p);
}

TEST(policy_shipped_phoenix)
{
	const char *top = getenv("HM_TOP");
	char path[4096];
	struct hm_policy *p;
	struct hm_error err;

	if (!top) {
		printf("# note: HM_TOP unset, templates/policies/phoenix.yaml not checked\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/templates/policies/phoenix.yaml", top);
	CHECK_OK(hm_policy_load(path, &p, &err), &err);
	CHECK(Q(p, ignored, "/proc/1/status"));
	CHECK(!Q(p, ignored, "/proc"));
	CHECK(Q(p, ignores_below, "/proc"));
	CHECK(Q(p, ignores_below, "/var/log"));
	CHECK(Q(p, ignored, "/var/log/journal/x/system.journal"));
	CHECK(!Q(p, ignores_below, "/etc"));
	CHECK(!Q(p, ignores_below, "/home"));
	CHECK(!Q(p, ignores_below, "/var/spool"));
	CHECK(!Q(p, ignored, "/root/.ssh/authorized_keys"));
	CHECK(!Q(p, may_add, "/root/.ssh/authorized_keys"));
	CHECK(!Q(p, may_add, "/var/spool/cron/crontabs/root"));
	CHECK(!Q(p, may_change, "/etc/passwd"));
	CHECK(!Q(p, may_add, "/etc/systemd/system/multi-user.target.wants/x.service"));
	CHECK(Q(p, may_change, "/etc/machine-id"));
	CHECK(Q(p, may_change, "/etc/ssh/ssh_host_ed25519_key"));
	CHECK(Q(p, may_change, "/etc/ssh/ssh_host_ed25519_key.pub"));
	CHECK(!Q(p, may_change, "/etc/ssh/sshd_config"));
	CHECK(Q(p, may_add, "/etc/ssh/ssh_host_rsa_key"));
	CHECK(Q(p, may_add, "/var/lib/systemd/timers/stamp-fstrim.timer"));
	CHECK(!Q(p, may_add, "/var/lib/systemd/linger/eve"));
	CHECK(Q(p, may_add, "/lost+found"));
	CHECK(!Q(p, may_add, "/lost+found/#1234"));
	hm_policy_free(p);
}

TEST(policy_may_add_below)
{
	static const char yaml[] =
		"ignore: [/opt/app/**]\n"     /* ignore must not leak into may_add */
		"may_add:\n"
		"  - /srv/app/**\n"
		"  - /home/*/.ssh\n";
	struct hm_policy *p;
	struct hm_error err;

	CHECK_OK(parse(yaml, &p, &err), &err);
	CHECK(Q(p, may_add_below, "/srv/app"));
	CHECK(Q(p, may_add_below, "/srv/app/lib"));
	CHECK(!Q(p, may_add_below, "/srv"));
	CHECK(!Q(p, may_add_below, "/srv/apps"));
	CHECK(!Q(p, may_add_below, "/home/u/.ssh"));
	CHECK(!Q(p, may_add_below, "/opt/app"));
	CHECK(!Q(p, may_add, "/srv/app"));   /* the glob itself stays strict */
	CHECK(!Q(NULL, may_add_below, "/srv/app"));
	hm_policy_free(p);
}

struct unused {
	char text[1024];
};

static void note_unused(void *ctx, const char *file, unsigned long line,
			const char *list, const char *glob)
{
	struct unused *u = ctx;
	size_t n = strlen(u->text);

	snprintf(u->text + n, sizeof(u->text) - n, "%s:%lu %s %s\n",
		 file ? file : "-", line, list, glob);
}

/* Globs that match no manifest path are reported, with their line. */
TEST(policy_unused_globs)
{
	static const char yaml[] =
		"ignore:\n"
		"  - /proc/**\n"          /* the manifest has /proc: of use */
		"  - /nothing/**\n"
		"may_change:\n"
		"  - /etc/machine-id\n"
		"  - /etc/sshd_conf\n"    /* a typo */
		"  - /etc/ssh/ssh_host_*_key\n"
		"  - /var/x*\n"
		"may_add:\n"
		"  - /opt/app/**\n";      /* about added paths: never reported */
	static const char *const manifest[] = {
		"/", "/etc", "/etc/machine-id", "/etc/ssh",
		"/etc/ssh/ssh_host_ed25519_key", "/proc", "/var",
	};
	struct hm_policy *p;
	struct hm_error err;
	struct unused u = { "" };
	size_t i;

	CHECK_OK(parse(yaml, &p, &err), &err);
	for (i = 0; i < sizeof(manifest) / sizeof(manifest[0]); i++)
		hm_policy_mark_manifest(p, manifest[i], strlen(manifest[i]));
	hm_policy_each_unused(p, note_unused, &u);
	CHECK_EQ_STR(u.text, "p.yaml:3 ignore /nothing/**\n"
			     "p.yaml:8 may_change /var/x*\n"
			     "p.yaml:6 may_change /etc/sshd_conf\n");
	hm_policy_free(p);
	/* No policy: nothing to report, nothing to mark. */
	hm_policy_mark_manifest(NULL, "/", 1);
	hm_policy_each_unused(NULL, note_unused, &u);
}
