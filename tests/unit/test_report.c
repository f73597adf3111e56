/* Unit tests: findings lists and the four report formats. */
#include "harness.h"

#include <jansson.h>

#include "hallmark/report.h"

static void add(struct hm_findings *l, enum hm_finding_kind kind,
		const char *path, size_t len, const char *exp, const char *act,
		const char *detail)
{
	struct hm_finding f = { kind, (char *)path, len, (char *)exp,
				(char *)act, (char *)detail };
	struct hm_error err = { 0 };

	if (hm_findings_add(l, &f, &err) < 0)
		abort();
}

#define ADD(l, kind, path, exp, act, detail) \
	add((l), (kind), (path), sizeof(path) - 1, (exp), (act), (detail))

/* Nine findings in eight paths, with hostile bytes in paths and values. */
static void sample(struct hm_findings *l, struct hm_compare_stats *st)
{
	size_t i;

	ADD(l, HM_FINDING_CONTENT, "/etc/passwd", "sha256:aaaa", "sha256:bbbb",
	    NULL);
	ADD(l, HM_FINDING_ADDED, "/srv/a\nb", NULL, "file", NULL);
	ADD(l, HM_FINDING_ADDED, "/srv/a&b<c>\"'", NULL, "file", NULL);
	ADD(l, HM_FINDING_MISSING, "/srv/\xffname", "file", NULL, NULL);
	ADD(l, HM_FINDING_MODE, "/srv/back\\slash", "0644", "0755", NULL);
	ADD(l, HM_FINDING_TYPE, "/srv/with space", "dir", "file", NULL);
	ADD(l, HM_FINDING_XATTR, "/srv/x", "6869", NULL, "security.capability");
	ADD(l, HM_FINDING_XATTR, "/srv/x", NULL, "01", "user.\x1b[31mred\xc3");
	ADD(l, HM_FINDING_MOUNTPOINT, "/proc", NULL, NULL, "not descended");
	memset(st, 0, sizeof(*st));
	st->expected = 120;
	st->actual = 121;
	st->matched = 110;
	st->ignored = 7;
	st->allowed_changes = 2;
	st->allowed_adds = 1;
	st->bytes_hashed = 930000000;
	for (i = 0; i < l->n; i++)
		st->findings[l->items[i].kind]++;
	st->total_findings = l->n;
}

static void report_init(struct hm_report *r, const struct hm_findings *l,
			const struct hm_compare_stats *st, int exit_code)
{
	memset(r, 0, sizeof(*r));
	r->tool_version = "9.9.9";
	r->target = "dir:/srv";
	r->host = NULL;
	r->manifest_path = "base.manifest";
	r->manifest_name = "web-base";
	r->serial = 4;
	r->manifest_sha256 = "ab12";
	r->key_id = "1a2b3c4d5e6f7a8b";
	r->policy_path = "app.yaml";
	r->started = 1795378389;       /* 2026-11-22T... */
	r->finished = r->started + 3;
	r->exit_code = exit_code;
	r->stats = st;
	r->findings = l;
}

/* Render to memory; NULL on error. */
static char *render(const struct hm_report *r, enum hm_report_format fmt,
		    size_t *ret_len)
{
	struct hm_error err = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (hm_report_write(r, fmt, f, &err) < 0) {
		printf("# hm_report_write: %s\n", err.msg);
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	*ret_len = len;
	return buf;
}

static int count_str(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

TEST(kind_names_and_texts)
{
	static const char *const want[HM_FINDING__COUNT] = {
		"missing", "added", "type", "content", "size", "mode", "uid",
		"gid", "target", "rdev", "xattr", "unreadable",
		"changed-while-hashing", "mountpoint",
		"exe-unknown", "exe-content", "exe-deleted", "exe-anonymous",
		"process-unlisted", "process-user", "listener-undeclared",
		"listener-absent", "module-unknown", "kernel-tainted", "sysctl",
		"mount-options", "mount-undeclared", "not-inspected",
	};
	int k;

	for (k = 0; k < HM_FINDING__COUNT; k++) {
		CHECK_EQ_STR(hm_finding_kind_name((enum hm_finding_kind)k),
			     want[k]);
		CHECK(strlen(hm_finding_kind_text((enum hm_finding_kind)k)) > 5);
		CHECK(!strchr(hm_finding_kind_text((enum hm_finding_kind)k), '\n'));
	}
	CHECK_EQ_STR(hm_finding_kind_text(HM_FINDING_MISSING),
		     "in the manifest but not in the target");
	CHECK_EQ_STR(hm_finding_kind_name(HM_FINDING__COUNT), "unknown");
	CHECK_EQ_INT(hm_report_format_from_name("text"), HM_REPORT_TEXT);
	CHECK_EQ_INT(hm_report_format_from_name("json"), HM_REPORT_JSON);
	CHECK_EQ_INT(hm_report_format_from_name("junit"), HM_REPORT_JUNIT);
	CHECK_EQ_INT(hm_report_format_from_name("sarif"), HM_REPORT_SARIF);
	CHECK_EQ_INT(hm_report_format_from_name("JSON"), -1);
	CHECK_EQ_INT(hm_report_format_from_name("xml"), -1);
	CHECK_EQ_INT(hm_report_format_from_name(NULL), -1);
}

TEST(findings_add_copies_and_collects)
{
	struct hm_findings l = { 0 };
	struct hm_error err = { 0 };
	char path[] = "/a\0b";
	char exp[] = "0644";
	struct hm_finding f = { HM_FINDING_MODE, path, 4, exp, NULL, NULL };
	size_t i;

	CHECK_OK(hm_findings_add(&l, &f, &err), &err);
	path[1] = 'z';
	exp[0] = '9';
	CHECK_EQ_INT(l.n, 1);
	CHECK_EQ_INT(l.items[0].path_len, 4);
	CHECK(memcmp(l.items[0].path, "/a\0b", 5) == 0);
	CHECK_EQ_STR(l.items[0].expected, "0644");
	CHECK(l.items[0].actual == NULL && l.items[0].detail == NULL);
	for (i = 0; i < 200; i++)
		CHECK_OK(hm_findings_collect(&l, &f, &err), &err);
	CHECK_EQ_INT(l.n, 201);
	CHECK_EQ_STR(l.items[200].expected, "9644");
	f.kind = HM_FINDING__COUNT;
	CHECK_EQ_INT(hm_findings_add(&l, &f, &err), HM_ERR_USAGE);
	CHECK_EQ_INT(l.n, 201);
	hm_findings_free(&l);
	CHECK(l.items == NULL && l.n == 0 && l.cap == 0);
	hm_findings_free(&l);
	hm_findings_free(NULL);
}

TEST(text_drift)
{
	struct hm_findings l = { 0 };
	struct hm_compare_stats st;
	struct hm_report r;
	const char *p, *order[] = { "\ntype (1)", "\ncontent (1)",
				    "\nmissing (1)", "\nadded (2)", "\nmode (1)",
				    "\nxattr (2)", "\nmountpoint (1)" };
	char *out, *nl;
	size_t len, i;

	sample(&l, &st);
	report_init(&r, &l, &st, 1);
	r.host = "web1";
	out = render(&r, HM_REPORT_TEXT, &len);
	CHECK(out);
	CHECK_EQ_INT(strlen(out), len);
	nl = strchr(out, '\n');
	CHECK(nl);
	*nl = '\0';
	CHECK_EQ_STR(out, "DRIFT: 9 findings in 8 paths - dir:/srv on web1 "
		     "against web-base serial 4 (key 1a2b3c4d5e6f7a8b)");
	p = nl + 1;
	nl = strchr(p, '\n');
	CHECK(nl);
	*nl = '\0';
	CHECK_EQ_STR(p, "type 1, content 1, missing 1, added 2, mode 1, "
		     "xattr 2, mountpoint 1");
	p = nl + 1;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *q = strstr(p, order[i]);

		if (!q)
			FAIL("group '%s' missing or out of order", order[i] + 1);
		p = q + 1;
	}
	p = nl + 1;
	/* Paths escaped as in the manifest; values lose control bytes. */
	/* Values aligned within a group: this path is 2 shorter. */
	CHECK(strstr(p, "  /srv/a\\012b    found file\n"));
	CHECK(strstr(p, "  /srv/\\377name"));
	CHECK(strstr(p, "  /srv/back\\134slash"));
	CHECK(strstr(p, "  /srv/with\\040space"));
	CHECK(strstr(p, "expected sha256:aaaa, found sha256:bbbb\n"));
	CHECK(strstr(p, "found 01 (user.\\033[31mred\\303)\n"));
	CHECK(strstr(p, "  /proc") && strstr(p, "not descended\n"));
	CHECK(!memchr(out, 0x1b, len) && !memchr(out, 0xff, len));
	CHECK(strstr(p, "\nentries:   110 compared, 120 in manifest, 121 in "
		     "target, 7 ignored\n"));
	CHECK(strstr(p, "\nallowed:   2 changes, 1 addition\n"));
	CHECK(strstr(p, "\nhashed:    930.00 MB\n"));
	CHECK(strstr(p, "\npolicy:    app.yaml\n"));
	CHECK(strstr(p, "(3 s)\n"));
	free(out);
	hm_findings_free(&l);
}

TEST(text_ok_and_cap)
{
	struct hm_findings l = { 0 };
	struct hm_compare_stats st = { 0 };
	struct hm_report r;
	char *out, path[32];
	size_t len;
	int i;

	st.matched = 19523;
	st.bytes_hashed = 930000000;
	report_init(&r, &l, &st, 0);
	out = render(&r, HM_REPORT_TEXT, &len);
	CHECK(out);
	CHECK(starts_with(out, "OK: dir:/srv matches web-base serial 4 (19523 "
			  "entries compared, 930.00 MB hashed)\n\nmanifest:"));
	free(out);

	for (i = 0; i < 120; i++) {
		snprintf(path, sizeof(path), "/f%03d", i);
		add(&l, HM_FINDING_CONTENT, path, strlen(path), "sha256:1",
		    "sha256:2", NULL);
	}
	add(&l, HM_FINDING_SIZE, "/z", 2, "1", "2", NULL);
	st.findings[HM_FINDING_CONTENT] = 120;
	st.findings[HM_FINDING_SIZE] = 1;
	st.total_findings = 121;
	r.exit_code = 1;
	out = render(&r, HM_REPORT_TEXT, &len);
	CHECK(out);
	CHECK(starts_with(out, "DRIFT: 121 findings in 121 paths - "));
	CHECK(strstr(out, "\ncontent 120, size 1\n"));
	CHECK(strstr(out, "  /f049  "));
	CHECK(!strstr(out, "/f050"));
	CHECK(strstr(out, "  /f049  expected sha256:1, found sha256:2\n"
		     "  ... and 70 more (use --format json for all)\n\nsize (1)"));
	CHECK(strstr(out, "  /z  expected 1, found 2\n"));
	CHECK_EQ_INT(count_str(out, "... and"), 1);
	free(out);
	hm_findings_free(&l);
}

TEST(json_round_trip)
{
	static const char *const keys[] = {
		"format", "version", "tool", "result", "exit_code", "target",
		"host", "manifest", "policy", "started", "finished",
		"duration_seconds", "stats", "findings",
	};
	struct hm_findings l = { 0 };
	struct hm_compare_stats st;
	struct hm_report r;
	json_error_t jerr;
	json_t *root, *fs, *f, *stats;
	const char *key;
	json_t *v;
	char *out;
	size_t len, i = 0;

	sample(&l, &st);
	report_init(&r, &l, &st, 1);
	out = render(&r, HM_REPORT_JSON, &len);
	CHECK(out);
	root = json_loadb(out, len, 0, &jerr);
	if (!root)
		FAIL("invalid JSON: %s at line %d", jerr.text, jerr.line);
	json_object_foreach(root, key, v) {
		CHECK(i < sizeof(keys) / sizeof(keys[0]));
		CHECK_EQ_STR(key, keys[i]);
		i++;
	}
	CHECK_EQ_INT(i, sizeof(keys) / sizeof(keys[0]));
	CHECK_EQ_STR(json_string_value(json_object_get(root, "format")),
		     "hallmark-report");
	CHECK_EQ_INT(json_integer_value(json_object_get(root, "version")), 1);
	CHECK_EQ_STR(json_string_value(json_object_get(
		json_object_get(root, "tool"), "version")), "9.9.9");
	CHECK_EQ_STR(json_string_value(json_object_get(root, "result")), "drift");
	CHECK_EQ_INT(json_integer_value(json_object_get(root, "exit_code")), 1);
	CHECK(json_is_null(json_object_get(root, "host")));
	CHECK_EQ_STR(json_string_value(json_object_get(root, "policy")),
		     "app.yaml");
	CHECK_EQ_STR(json_string_value(json_object_get(
		json_object_get(root, "manifest"), "key_id")), "1a2b3c4d5e6f7a8b");
	CHECK_EQ_INT(json_integer_value(json_object_get(
		json_object_get(root, "manifest"), "serial")), 4);
	CHECK(json_real_value(json_object_get(root, "duration_seconds")) == 3.0);
	CHECK_EQ_INT(strlen(json_string_value(json_object_get(root, "started"))),
		     20);
	stats = json_object_get(root, "stats");
	CHECK_EQ_INT(json_integer_value(json_object_get(stats, "matched")), 110);
	CHECK_EQ_INT(json_integer_value(json_object_get(stats, "bytes_hashed")),
		     930000000);
	CHECK_EQ_INT(json_integer_value(json_object_get(stats, "total_findings")),
		     9);
	CHECK_EQ_INT(json_object_size(json_object_get(stats, "findings")),
		     HM_FINDING__COUNT);
	CHECK_EQ_INT(json_integer_value(json_object_get(
		json_object_get(stats, "findings"), "xattr")), 2);
	CHECK_EQ_INT(json_integer_value(json_object_get(
		json_object_get(stats, "findings"), "changed-while-hashing")), 0);

	fs = json_object_get(root, "findings");
	CHECK_EQ_INT(json_array_size(fs), 9);
	f = json_array_get(fs, 1);
	CHECK_EQ_STR(json_string_value(json_object_get(f, "kind")), "added");
	CHECK_EQ_STR(json_string_value(json_object_get(f, "path")),
		     "/srv/a\\012b");
	CHECK(json_is_null(json_object_get(f, "expected")));
	CHECK_EQ_STR(json_string_value(json_object_get(f, "actual")), "file");
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(fs, 3),
						       "path")), "/srv/\\377name");
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(fs, 4),
						       "path")), "/srv/back\\134slash");
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(fs, 7),
						       "detail")),
		     "user.\\033[31mred\\303");
	json_decref(root);
	free(out);

	/* Without stats the counts come from the list; a pass with none. */
	hm_findings_free(&l);
	report_init(&r, NULL, NULL, 0);
	r.host = "h\xc3\xa9te";    /* valid UTF-8 survives */
	out = render(&r, HM_REPORT_JSON, &len);
	CHECK(out);
	root = json_loadb(out, len, 0, &jerr);
	CHECK(root);
	CHECK_EQ_STR(json_string_value(json_object_get(root, "result")), "pass");
	CHECK_EQ_STR(json_string_value(json_object_get(root, "host")),
		     "h\xc3\xa9te");
	CHECK_EQ_INT(json_array_size(json_object_get(root, "findings")), 0);
	json_decref(root);
	free(out);
}

/* Allowed in a URI reference as written by the SARIF report. */
static int uri_ok(const char *s)
{
	for (; *s; s++) {
		if (strchr("-._~/", *s) || (*s >= 'a' && *s <= 'z') ||
		    (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'))
			continue;
		if (*s == '%' && strchr("0123456789ABCDEF", s[1]) && s[1] &&
		    strchr("0123456789ABCDEF", s[2]) && s[2]) {
			s += 2;
			continue;
		}
		return 0;
	}
	return 1;
}

static const char *result_uri(json_t *res)
{
	json_t *loc = json_array_get(json_object_get(res, "locations"), 0);
	json_t *phys = json_object_get(loc, "physicalLocation");

	return json_string_value(json_object_get(
		json_object_get(phys, "artifactLocation"), "uri"));
}

TEST(sarif_shape)
{
	struct hm_findings l = { 0 };
	struct hm_compare_stats st;
	struct hm_report r;
	json_error_t jerr;
	json_t *root, *run, *driver, *rules, *results, *inv;
	char *out;
	size_t len, i;

	sample(&l, &st);
	report_init(&r, &l, &st, 1);
	out = render(&r, HM_REPORT_SARIF, &len);
	CHECK(out);
	root = json_loadb(out, len, 0, &jerr);
	if (!root)
		FAIL("invalid JSON: %s at line %d", jerr.text, jerr.line);
	CHECK_EQ_STR(json_string_value(json_object_get(root, "$schema")),
		     "https://json.schemastore.org/sarif-2.1.0.json");
	CHECK_EQ_STR(json_string_value(json_object_get(root, "version")),
		     "2.1.0");
	CHECK_EQ_INT(json_array_size(json_object_get(root, "runs")), 1);
	run = json_array_get(json_object_get(root, "runs"), 0);
	driver = json_object_get(json_object_get(run, "tool"), "driver");
	CHECK(json_is_object(driver));
	CHECK_EQ_STR(json_string_value(json_object_get(driver, "name")),
		     "hallmark");
	CHECK_EQ_STR(json_string_value(json_object_get(driver, "version")),
		     "9.9.9");
	rules = json_object_get(driver, "rules");
	CHECK_EQ_INT(json_array_size(rules), HM_FINDING__COUNT);
	for (i = 0; i < json_array_size(rules); i++) {
		json_t *rule = json_array_get(rules, i);
		const char *lvl = json_string_value(json_object_get(
			json_object_get(rule, "defaultConfiguration"), "level"));

		CHECK(json_is_string(json_object_get(rule, "id")));
		CHECK(json_is_string(json_object_get(
			json_object_get(rule, "shortDescription"), "text")));
		CHECK(lvl && (!strcmp(lvl, "error") || !strcmp(lvl, "note")));
	}
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(rules,
			HM_FINDING_CONTENT), "id")), "HM-DRIFT-CONTENT");
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(rules,
			HM_FINDING_CHANGED), "id")),
		     "HM-DRIFT-CHANGED-WHILE-HASHING");

	results = json_object_get(run, "results");
	CHECK_EQ_INT(json_array_size(results), 9);
	for (i = 0; i < json_array_size(results); i++) {
		json_t *res = json_array_get(results, i);
		size_t ri = (size_t)json_integer_value(json_object_get(res,
								      "ruleIndex"));
		const char *uri;

		CHECK(json_is_integer(json_object_get(res, "ruleIndex")));
		CHECK(ri < HM_FINDING__COUNT);
		CHECK_EQ_STR(json_string_value(json_object_get(res, "ruleId")),
			     json_string_value(json_object_get(
				     json_array_get(rules, ri), "id")));
		CHECK(json_is_string(json_object_get(json_object_get(res,
						"message"), "text")));
		CHECK_EQ_STR(json_string_value(json_object_get(res, "level")),
			     "error");
		uri = result_uri(res);
		CHECK(uri && uri[0] == '/' && uri_ok(uri));
	}
	CHECK_EQ_STR(result_uri(json_array_get(results, 1)), "/srv/a%0Ab");
	CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(
		json_array_get(results, 3), "message"), "text")),
		     "/srv/\\377name: in the manifest but not in the target: "
		     "expected file");
	inv = json_array_get(json_object_get(run, "invocations"), 0);
	CHECK(json_is_true(json_object_get(inv, "executionSuccessful")));
	CHECK_EQ_INT(json_integer_value(json_object_get(inv, "exitCode")), 1);
	json_decref(root);
	free(out);
	hm_findings_free(&l);
}

/*
 * Rough well-formedness: tags balance, '&' starts only the five entities,
 * no control bytes but LF, attribute values have no raw '<'.
 */
static const char *xml_check(const char *s)
{
	static char stack[16][64];
	int depth = 0;
	const char *p = s;

	if (strncmp(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 39))
		return "no xml declaration";
	for (p = s + 39; *p; p++) {
		if ((unsigned char)*p < 0x20 && *p != '\n')
			return "control byte";
		if (*p == '&' && strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) &&
		    strncmp(p, "&gt;", 4) && strncmp(p, "&quot;", 6) &&
		    strncmp(p, "&apos;", 6))
			return "bare '&'";
		if (*p == '>')
			return "bare '>'";
		if (*p != '<')
			continue;
		{
			const char *end = strchr(p, '>'), *q;
			size_t n;

			if (!end)
				return "unterminated tag";
			for (q = p + 1; q < end; q++)
				if (*q == '<')
					return "'<' inside a tag";
			if (p[1] == '/') {
				n = strcspn(p + 2, " >");
				if (depth == 0 || strlen(stack[depth - 1]) != n ||
				    strncmp(stack[depth - 1], p + 2, n))
					return "unbalanced close tag";
				depth--;
			} else if (end[-1] != '/') {
				n = strcspn(p + 1, " >");
				if (depth == 16 || n >= 64)
					return "too deep";
				memcpy(stack[depth], p + 1, n);
				stack[depth++][n] = '\0';
			}
			p = end;
		}
	}
	return depth ? "unclosed tag" : NULL;
}

TEST(junit_xml)
{
	struct hm_findings l = { 0 };
	struct hm_compare_stats st;
	struct hm_report r;
	const char *bad;
	char *out;
	size_t len;

	sample(&l, &st);
	report_init(&r, &l, &st, 1);
	r.target = "dir:/srv/<a&b>";
	out = render(&r, HM_REPORT_JUNIT, &len);
	CHECK(out);
	bad = xml_check(out);
	if (bad)
		FAIL("not well-formed: %s", bad);
	CHECK_EQ_INT(count_str(out, "<testsuites "), 1);
	CHECK_EQ_INT(count_str(out, "<testsuite name=\"hallmark verify\""), 1);
	CHECK_EQ_INT(count_str(out, "<testcase classname=\"hallmark.drift\""),
		     HM_FINDING__COUNT);
	/* type content missing added mode xattr mountpoint fail. */
	CHECK_EQ_INT(count_str(out, "<failure "), 7);
	CHECK(strstr(out, "tests=\"28\" failures=\"7\""));
	CHECK(strstr(out, "name=\"uid\"/>"));
	CHECK(strstr(out, "<failure message=\"2 paths\" type=\"added\">"));
	CHECK(strstr(out, "<failure message=\"1 path\" type=\"xattr\">"));
	CHECK(strstr(out, "/srv/a&amp;b&lt;c&gt;&quot;&apos;  found file\n"));
	CHECK(strstr(out, "/srv/a\\012b  found file\n"));
	CHECK(strstr(out, "value=\"dir:/srv/&lt;a&amp;b&gt;\""));
	CHECK(strstr(out, "<failure message=\"1 path\" type=\"mountpoint\">"));
	CHECK(strstr(out, "timestamp=\"") &&
	      !strstr(out, "Z\""));
	free(out);
	hm_findings_free(&l);
}

TEST(write_error_is_io)
{
	struct hm_compare_stats st = { 0 };
	struct hm_error err = { 0 };
	struct hm_report r;
	FILE *f = fopen("/dev/full", "w");
	int fmt;

	if (!f)
		return;     /* no /dev/full here: nothing to check */
	report_init(&r, NULL, &st, 0);
	for (fmt = HM_REPORT_TEXT; fmt <= HM_REPORT_SARIF; fmt++) {
		CHECK_EQ_INT(hm_report_write(&r, (enum hm_report_format)fmt, f,
					     &err), HM_ERR_IO);
		CHECK(strstr(err.msg, "cannot write report"));
		clearerr(f);
	}
	fclose(f);
	CHECK_EQ_INT(hm_report_write(&r, (enum hm_report_format)9, stdout, &err),
		     HM_ERR_USAGE);
}

/* Every finding of a spool comes back as given, from memory or the file. */
static int spool_check(void *ctx, const struct hm_finding *f,
		       struct hm_error *err)
{
	size_t *i = ctx;
	char want[160];

	(void)err;
	snprintf(want, sizeof(want), "/p%06zu", *i);
	if (f->kind != (enum hm_finding_kind)(*i % HM_FINDING__COUNT) ||
	    f->path_len != 150 || memcmp(f->path, want, strlen(want)) != 0 ||
	    f->path[9] != '\0' || f->path[150] != '\0' ||
	    (*i % 2 ? f->expected != NULL : strcmp(f->expected, "e") != 0) ||
	    strcmp(f->actual, "a\xc3\xa9") != 0 || f->detail != NULL)
		return -100;
	(*i)++;
	return *i == 7 ? 1 : 0;     /* stops early when asked */
}

static int spool_count(void *ctx, const struct hm_finding *f,
		       struct hm_error *err)
{
	size_t *i = ctx;

	(void)f, (void)err;
	(*i)++;
	return 0;
}

TEST(spool_memory_and_file)
{
	struct hm_finding_spool *s = NULL;
	struct hm_error err = { 0 };
	char path[151];
	size_t i, n, total = 20000;
	struct hm_finding f = { 0 };

	CHECK_OK(hm_finding_spool_new(NULL, &s, &err), &err);
	/* 20000 records of ~200 bytes: the first MiB in memory, the rest in
	 * the file; a pass in between, then more added. */
	for (i = 0; i < total; i++) {
		memset(path, 'x', sizeof(path));
		snprintf(path, sizeof(path), "/p%06zu", i);   /* NUL at 8 */
		path[8] = 'x';
		path[9] = '\0';                                /* a NUL inside */
		f.kind = (enum hm_finding_kind)(i % HM_FINDING__COUNT);
		f.path = path;
		f.path_len = 150;
		path[150] = '\0';
		f.expected = i % 2 ? NULL : (char *)"e";
		f.actual = (char *)"a\xc3\xa9";
		CHECK_OK(hm_finding_spool_add(s, &f, &err), &err);
		if (i == 10 || i == total / 2) {
			n = 0;
			CHECK_OK(hm_finding_spool_each(s, spool_check, &n, &err), &err);
			CHECK_EQ_INT(n, 7);
		}
	}
	CHECK_EQ_INT(hm_finding_spool_count(s), total);
	n = 0;
	CHECK_OK(hm_finding_spool_each(s, spool_count, &n, &err), &err);
	CHECK_EQ_INT(n, total);
	f.kind = HM_FINDING__COUNT;
	CHECK_EQ_INT(hm_finding_spool_add(s, &f, &err), HM_ERR_USAGE);
	hm_finding_spool_free(s);
	hm_finding_spool_free(NULL);

	/* A folder that cannot take the file: named when the file is needed. */
	CHECK_OK(hm_finding_spool_new("/nonexistent-hm-spool", &s, &err), &err);
	f.kind = HM_FINDING_MISSING;
	for (i = 0; i < total; i++)
		if (hm_finding_spool_add(s, &f, &err) < 0)
			break;
	CHECK(i < total);
	CHECK_EQ_INT(err.code, HM_ERR_IO);
	CHECK(strstr(err.msg, "cannot create a temporary file in "
		     "'/nonexistent-hm-spool'"));
	hm_finding_spool_free(s);
}

/* A report from a spool is the report from the same list, byte for byte. */
TEST(report_from_spool_is_the_same)
{
	struct hm_findings l = { 0 };
	struct hm_compare_stats st;
	struct hm_finding_spool *s = NULL;
	struct hm_error err = { 0 };
	struct hm_report r;
	char *a, *b, path[32];
	size_t la, lb, i;
	int fmt;

	sample(&l, &st);
	for (i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/many/%03zu", i);
		add(&l, i % 2 ? HM_FINDING_CONTENT : HM_FINDING_ADDED, path,
		    strlen(path), i % 2 ? "sha256:1" : NULL, "x", NULL);
		st.findings[i % 2 ? HM_FINDING_CONTENT : HM_FINDING_ADDED]++;
		st.total_findings++;
	}
	CHECK_OK(hm_finding_spool_new(NULL, &s, &err), &err);
	for (i = 0; i < l.n; i++)
		CHECK_OK(hm_finding_spool_add(s, &l.items[i], &err), &err);
	for (fmt = HM_REPORT_TEXT; fmt <= HM_REPORT_SARIF; fmt++) {
		report_init(&r, &l, &st, 1);
		a = render(&r, (enum hm_report_format)fmt, &la);
		r.findings = NULL;
		r.spool = s;
		b = render(&r, (enum hm_report_format)fmt, &lb);
		CHECK(a && b);
		CHECK_EQ_INT(la, lb);
		CHECK(memcmp(a, b, la) == 0);
		free(a);
		free(b);
	}
	hm_finding_spool_free(s);
	hm_findings_free(&l);
}

/*
 * Every kind of finding fails a run (cmd_verify.c counts them all as
 * drift), so no format may show one as merely informative: each is a
 * SARIF "error" (rule and result) and a JUnit <failure>, never a note or
 * <system-out>.
 */
TEST(every_kind_is_a_failure_in_sarif_and_junit)
{
	int k;

	for (k = 0; k < HM_FINDING__COUNT; k++) {
		struct hm_findings l = { 0 };
		struct hm_compare_stats st = { 0 };
		struct hm_report r;
		json_error_t jerr;
		json_t *root, *run, *rule, *res;
		char *out, want[128];
		size_t len;

		add(&l, (enum hm_finding_kind)k, "/x", 2, NULL, NULL, "d");
		st.findings[k] = 1;
		st.total_findings = 1;
		report_init(&r, &l, &st, 1);

		out = render(&r, HM_REPORT_SARIF, &len);
		CHECK(out);
		root = json_loadb(out, len, 0, &jerr);
		free(out);
		CHECK(root);
		run = json_array_get(json_object_get(root, "runs"), 0);
		rule = json_array_get(json_object_get(json_object_get(
			json_object_get(run, "tool"), "driver"), "rules"), k);
		res = json_array_get(json_object_get(run, "results"), 0);
		CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(
			rule, "defaultConfiguration"), "level")), "error");
		CHECK_EQ_STR(json_string_value(json_object_get(res, "level")),
			     "error");
		json_decref(root);

		out = render(&r, HM_REPORT_JUNIT, &len);
		CHECK(out);
		snprintf(want, sizeof(want), "<failure message=\"1 path\" type=\"%s\">",
			 hm_finding_kind_name((enum hm_finding_kind)k));
		CHECK(strstr(out, want));
		CHECK(strstr(out, "failures=\"1\""));
		CHECK(!strstr(out, "system-out"));
		free(out);
		hm_findings_free(&l);
	}
}
