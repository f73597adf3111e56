/*
 * Audit reports (docs/audit-rules.md): text for people, JSON for scripts,
 * SARIF 2.1.0 for code-scanning dashboards.  Messages arrive printable
 * and masked from audit_rules.c; paths are raw bytes and are shown with
 * the manifest escaping (hm_escape), or percent-encoded in SARIF URIs.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/audit.h"
#include "hallmark/buf.h"
#include "hallmark/json_out.h"
#include "hallmark/manifest.h"
#include "hallmark/report.h"
#include "sarif_private.h"

#ifndef HM_VERSION
#define HM_VERSION "unknown"
#endif

struct actx {
	const struct hm_audit_result *res;
	const char *target;
	enum hm_severity fail_on;
	size_t failing, excepted, by_sev[HM_SEV_CRITICAL + 1];
	struct hm_buf tmp;
	int err;
};

static void count(struct actx *c)
{
	size_t i;

	for (i = 0; i < c->res->n_findings; i++) {
		const struct hm_audit_finding *f = &c->res->findings[i];

		c->by_sev[f->rule->severity]++;
		if (f->excepted)
			c->excepted++;
		else if (f->rule->severity >= c->fail_on)
			c->failing++;
	}
}

/* Target names come from the command line: keep them printable. */
static const char *printable(struct actx *c, const char *s)
{
	size_t i;

	hm_buf_reset(&c->tmp);
	for (i = 0; s && s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 0x20 && ch < 0x7f && ch != '\\' ? hm_buf_addc(&c->tmp, (char)ch) :
		     hm_buf_addf(&c->tmp, "\\%03o", ch)) < 0) {
			c->err = HM_ERR_NOMEM;
			return "";
		}
	}
	return c->tmp.data ? c->tmp.data : "";
}

static const char *escaped_path(struct actx *c, const struct hm_audit_finding *f)
{
	hm_buf_reset(&c->tmp);
	if (hm_escape(&c->tmp, f->path, f->path_len, 0) < 0) {
		c->err = HM_ERR_NOMEM;
		return "";
	}
	return c->tmp.data ? c->tmp.data : "";
}

static bool fails(const struct actx *c)
{
	return c->failing > 0;
}

/* ---- text ------------------------------------------------------------- */

static void text_write(struct actx *c, FILE *out)
{
	const struct hm_audit_result *res = c->res;
	size_t i, n = res->n_findings;
	int s;

	fprintf(out, "%s: %zu finding%s at or above %s (%zu in all",
		fails(c) ? "FAIL" : "PASS", c->failing, c->failing == 1 ? "" : "s",
		hm_severity_name(c->fail_on), n);
	if (c->excepted)
		fprintf(out, ", %zu excepted", c->excepted);
	fprintf(out, ") - %s\n", printable(c, c->target));
	for (s = HM_SEV_CRITICAL; s >= HM_SEV_INFO; s--) {
		if (!c->by_sev[s])
			continue;
		fprintf(out, "\n%s (%zu):\n", hm_severity_name((enum hm_severity)s),
			c->by_sev[s]);
		for (i = 0; i < n; i++) {
			const struct hm_audit_finding *f = &res->findings[i];

			if ((int)f->rule->severity != s)
				continue;
			fprintf(out, "  %s", f->rule->id);
			if (f->path)
				fprintf(out, " %s", escaped_path(c, f));
			fprintf(out, ": %s", f->message);
			if (f->excepted)
				fprintf(out, " [excepted: %s]",
					printable(c, f->exception_reason));
			fputc('\n', out);
		}
	}
	if (res->n_skipped)
		fputc('\n', out);
	for (i = 0; i < res->n_skipped; i++)
		fprintf(out, "skipped: %s\n", res->skipped[i]);
}

/* ---- JUnit ------------------------------------------------------------ */

/* Text (already printable ASCII) as XML character data or attribute. */
static void xml(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default: fputc(*s, out);
		}
	}
}

/*
 * The shape of verify's JUnit (docs/report-format.md): one suite, one
 * testcase per rule (classname hallmark.audit, name the rule id); a rule
 * fails with the findings that fail the run (not excepted, at or above
 * --fail-on), one line each; the other findings of a rule go to its
 * system-out, so nothing is lost.
 */
static void junit_write(struct actx *c, FILE *out)
{
	const struct hm_audit_result *res = c->res;
	const struct hm_audit_rule *rules;
	size_t n_rules, i, k, failed = 0;

	rules = hm_audit_rules(&n_rules);
	for (k = 0; k < n_rules; k++)
		for (i = 0; i < res->n_findings; i++)
			if (res->findings[i].rule == &rules[k] &&
			    !res->findings[i].excepted &&
			    rules[k].severity >= c->fail_on) {
				failed++;
				break;
			}
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites name=\"hallmark\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n"
		"  <testsuite name=\"hallmark audit\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\">\n"
		"    <properties>\n      <property name=\"target\" value=\"",
		n_rules, failed, n_rules, failed);
	xml(out, printable(c, c->target));
	fprintf(out, "\"/>\n      <property name=\"fail_on\" value=\"%s\"/>\n"
		"      <property name=\"exit_code\" value=\"%d\"/>\n    </properties>\n",
		hm_severity_name(c->fail_on), fails(c) ? 1 : 0);
	for (k = 0; k < n_rules; k++) {
		const struct hm_audit_rule *r = &rules[k];
		size_t n_fail = 0, n_other = 0;

		for (i = 0; i < res->n_findings; i++) {
			const struct hm_audit_finding *f = &res->findings[i];

			if (f->rule != r)
				continue;
			if (!f->excepted && r->severity >= c->fail_on)
				n_fail++;
			else
				n_other++;
		}
		fprintf(out, "    <testcase classname=\"hallmark.audit\" name=\"%s\"", r->id);
		if (!n_fail && !n_other) {
			fputs("/>\n", out);
			continue;
		}
		fputs(">\n", out);
		for (int pass = 0; pass < 2; pass++) {
			size_t n = pass ? n_other : n_fail;

			if (!n)
				continue;
			if (pass)
				fputs("      <system-out>", out);
			else
				fprintf(out, "      <failure message=\"%zu finding%s (%s)\" type=\"%s\">",
					n, n == 1 ? "" : "s", hm_severity_name(r->severity), r->id);
			for (i = 0; i < res->n_findings; i++) {
				const struct hm_audit_finding *f = &res->findings[i];
				bool failing = !f->excepted && r->severity >= c->fail_on;

				if (f->rule != r || failing == (pass == 1))
					continue;
				if (f->path) {
					xml(out, escaped_path(c, f));
					fputs(": ", out);
				}
				xml(out, printable(c, f->message));
				if (f->excepted) {
					fputs(" [excepted: ", out);
					xml(out, printable(c, f->exception_reason));
					fputc(']', out);
				}
				fputc('\n', out);
			}
			fputs(pass ? "</system-out>\n" : "</failure>\n", out);
		}
		fputs("    </testcase>\n", out);
	}
	fputs("  </testsuite>\n</testsuites>\n", out);
}

/* ---- JSON and SARIF --------------------------------------------------- */

/*
 * Both are written through the streaming writer (hallmark/json_out.h), the
 * SARIF one around the skeleton it shares with the verify report
 * (sarif_private.h); the findings are written one at a time.
 */

static void jset(struct actx *c, json_t *o, const char *key, json_t *v)
{
	if (json_object_set_new(o, key, v) < 0)
		c->err = HM_ERR_NOMEM;
}

static void jappend(struct actx *c, json_t *a, json_t *v)
{
	if (json_array_append_new(a, v) < 0)
		c->err = HM_ERR_NOMEM;
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jtool(struct actx *c)
{
	json_t *o = json_object();

	jset(c, o, "name", json_string("hallmark"));
	jset(c, o, "version", json_string(HM_VERSION));
	return o;
}

static void json_write(struct actx *c, struct hm_json_out *j)
{
	const struct hm_audit_result *res = c->res;
	json_t *o, *a, *f;
	size_t i;
	int s;

	hm_json_out_begin_object(j);
	hm_json_out_member(j, "format", json_string("hallmark-audit"));
	hm_json_out_member(j, "version", json_integer(1));
	hm_json_out_member(j, "tool", jtool(c));
	hm_json_out_member(j, "target", json_string(printable(c, c->target)));
	hm_json_out_member(j, "result", json_string(fails(c) ? "fail" : "pass"));
	hm_json_out_member(j, "fail_on", json_string(hm_severity_name(c->fail_on)));
	o = json_object();
	jset(c, o, "findings", json_integer((json_int_t)res->n_findings));
	jset(c, o, "failing", json_integer((json_int_t)c->failing));
	jset(c, o, "excepted", json_integer((json_int_t)c->excepted));
	jset(c, o, "skipped", json_integer((json_int_t)res->n_skipped));
	a = json_object();
	for (s = HM_SEV_CRITICAL; s >= HM_SEV_INFO; s--)
		jset(c, a, hm_severity_name((enum hm_severity)s),
		     json_integer((json_int_t)c->by_sev[s]));
	jset(c, o, "by_severity", a);
	hm_json_out_member(j, "counts", o);

	hm_json_out_key(j, "findings");
	hm_json_out_begin_array(j);
	for (i = 0; i < res->n_findings && !c->err && !j->err; i++) {
		const struct hm_audit_finding *x = &res->findings[i];

		f = json_object();
		jset(c, f, "rule", json_string(x->rule->id));
		jset(c, f, "severity", json_string(hm_severity_name(x->rule->severity)));
		jset(c, f, "title", json_string(x->rule->title));
		jset(c, f, "path", x->path ? json_string(escaped_path(c, x)) : json_null());
		jset(c, f, "message", json_string(x->message));
		jset(c, f, "excepted", json_boolean(x->excepted));
		jset(c, f, "exception_reason",
		     x->excepted ? json_string(printable(c, x->exception_reason)) :
				   json_null());
		hm_json_out_value(j, f);
	}
	hm_json_out_end(j);
	hm_json_out_key(j, "skipped");
	hm_json_out_begin_array(j);
	for (i = 0; i < res->n_skipped; i++)
		hm_json_out_value(j, json_string(res->skipped[i]));
	hm_json_out_end(j);
	hm_json_out_end(j);
}

static const char *sarif_level(enum hm_severity s)
{
	return s >= HM_SEV_HIGH ? "error" : s == HM_SEV_MEDIUM ? "warning" : "note";
}

/*
 * Code-scanning views drop a result without a location, so a finding
 * about the system rather than a file (a sysctl set nowhere) points at
 * the file that should fix it: for a family, its main configuration.
 */
static const char *sarif_fallback_path(const char *rule_id)
{
	static const struct {
		const char *prefix, *path;
	} where[] = {
		/* Where hallmark's hardening writes the kernel settings. */
		{ "HM-SYS-002", "/etc/sysctl.d/90-hallmark-harden.conf" },
		{ "HM-SYS-", "/etc/sysctl.conf" },
		{ "HM-ACCT-", "/etc/passwd" },
		{ "HM-SSH-", "/etc/ssh/sshd_config" },
		{ "HM-VULN-", "/var/lib/dpkg/status" },
	};
	size_t i;

	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (strncmp(rule_id, where[i].prefix, strlen(where[i].prefix)) == 0)
			return where[i].path;
	return "/";
}

static void sarif_write(struct actx *c, struct hm_json_out *j)
{
	const struct hm_audit_result *res = c->res;
	const struct hm_audit_rule *rules;
	json_t *a, *o, *inv;
	size_t n_rules, i;

	rules = hm_audit_rules(&n_rules);
	a = json_array();
	for (i = 0; i < n_rules; i++) {
		const struct hm_audit_rule *r = &rules[i];
		json_t *rule, *props = json_object();

		rule = hm_sarif_rule_new(r->id, NULL, r->title, r->rationale,
					 r->reference, sarif_level(r->severity));
		jset(c, props, "severity", json_string(hm_severity_name(r->severity)));
		jset(c, props, "reference", jstr(r->reference));
		jset(c, rule, "properties", props);
		jappend(c, a, rule);
	}

	inv = json_object();
	jset(c, inv, "executionSuccessful", json_true());
	jset(c, inv, "exitCode", json_integer(fails(c) ? 1 : 0));
	o = json_array();
	for (i = 0; i < res->n_skipped; i++) {
		json_t *note = json_object();

		jset(c, note, "level", json_string("warning"));
		jset(c, note, "message", hm_sarif_text(res->skipped[i]));
		jappend(c, o, note);
	}
	jset(c, inv, "toolExecutionNotifications", o);
	hm_sarif_begin(j, HM_VERSION, a, inv);

	for (i = 0; i < res->n_findings && !c->err && !j->err; i++) {
		const struct hm_audit_finding *x = &res->findings[i];
		json_t *r, *sup;

		const char *path = x->path ? x->path :
				   sarif_fallback_path(x->rule->id);

		r = hm_sarif_result_new(x->rule->id, (size_t)(x->rule - rules),
					sarif_level(x->rule->severity),
					hm_sarif_text(x->message), path,
					x->path ? x->path_len : strlen(path));
		if (x->excepted) {
			sup = json_object();
			jset(c, sup, "kind", json_string("external"));
			jset(c, sup, "justification",
			     json_string(printable(c, x->exception_reason)));
			o = json_array();
			jappend(c, o, sup);
			jset(c, r, "suppressions", o);
		}
		hm_json_out_value(j, r);
	}

	o = json_object();
	jset(c, o, "target", json_string(printable(c, c->target)));
	jset(c, o, "failOn", json_string(hm_severity_name(c->fail_on)));
	jset(c, o, "result", json_string(fails(c) ? "fail" : "pass"));
	hm_sarif_end(j, o);
}

int hm_audit_report_write(const struct hm_audit_result *res, const char *target,
			  enum hm_severity fail_on, int format, FILE *out,
			  struct hm_error *err)
{
	struct actx c = { .res = res, .target = target ? target : "",
			  .fail_on = fail_on, .tmp = HM_BUF_INIT };
	struct hm_json_out j;

	if (format != HM_REPORT_TEXT && format != HM_REPORT_JSON &&
	    format != HM_REPORT_SARIF && format != HM_REPORT_JUNIT)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "audit reports are text, json, junit or sarif");
	if ((unsigned)fail_on > HM_SEV_CRITICAL)
		return hm_error_set(err, HM_ERR_USAGE, 0, "unknown severity %d",
				    (int)fail_on);
	count(&c);
	if (format == HM_REPORT_TEXT) {
		text_write(&c, out);
	} else if (format == HM_REPORT_JUNIT) {
		junit_write(&c, out);
	} else {
		hm_json_out_init(&j, out);
		if (format == HM_REPORT_JSON)
			json_write(&c, &j);
		else
			sarif_write(&c, &j);
		if (!c.err && hm_json_out_finish(&j) < 0)
			c.err = j.err == HM_ERR_NOMEM ? HM_ERR_NOMEM : HM_ERR_IO;
	}
	hm_buf_free(&c.tmp);
	if (c.err == HM_ERR_NOMEM)
		return hm_error_nomem(err);
	if (c.err || ferror(out))
		return hm_error_set(err, HM_ERR_IO, errno, "cannot write the audit report");
	return 0;
}
