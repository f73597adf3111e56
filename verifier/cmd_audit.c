/*
 * `hallmark audit`: run the hardening rules (docs/audit-rules.md) over a
 * target, write a report, and exit 0 (pass), 1 (findings at or above
 * --fail-on that no exception allows) or 2 (error).
 *
 * Site rules (--rules FILE) are YAML:
 *
 *   fail_on: high
 *   exceptions:
 *     - rule: HM-SSH-004
 *       path: /etc/ssh/ssh_host_*            (optional)
 *       reason: keys are replaced at first boot by cloud-init
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/audit.h"
#include "hallmark/audit_exceptions.h"
#include "hallmark/cli.h"
#include "hallmark/fsutil.h"
#include "hallmark/image.h"
#include "hallmark/policy.h"
#include "hallmark/registry.h"
#include "hallmark/report.h"
#include "hallmark/sign.h"
#include "hallmark/yaml.h"
#include "verifier.h"

static const char audit_usage[] =
	"usage: hallmark audit TARGET [--rules FILE] [--vulns OSV.json]\n"
	"       [--fail-on SEVERITY] [--format text|json|sarif] [-o REPORT]\n"
	"       [--authfile FILE] [--ca-file FILE] [--insecure-registry HOST]\n"
	"       [--pubkey FILE...] [--repository GLOB]\n"
	"\n"
	"Audit TARGET against the hardening rules (docs/audit-rules.md).\n"
	"TARGET: dir:PATH (or a bare path to a directory), tar:FILE, tar:-,\n"
	"oci:FILE, oci-dir:PATH, registry:HOST[:PORT]/REPO[:TAG|@DIGEST],\n"
	"disk:FILE[,format=raw|qcow2]; registry:HOST[:PORT] audits every image\n"
	"of the registry's catalog into one report.\n"
	"\n"
	"  -r, --rules FILE         site rules: exceptions (rule, path glob, reason)\n"
	"                           and fail_on\n"
	"  -V, --vulns FILE         match installed packages against this OSV feed\n"
	"  -F, --fail-on SEVERITY   info, low, medium, high (default) or critical\n"
	"  -f, --format FORMAT      text (default), json or sarif\n"
	"  -o, --output REPORT      write the report there, atomically (default: stdout)\n"
	"      --authfile FILE      registry credentials (containers-auth.json)\n"
	"      --ca-file FILE       CA certificates for the registry's TLS\n"
	"      --insecure-registry HOST  allow plain HTTP to HOST\n"
	"  -k, --pubkey FILE        registry: an image without an attached manifest\n"
	"                           signed by this key is a finding; repeatable\n"
	"      --repository GLOB    registry:HOST: only the repositories GLOB matches\n"
	"  -h, --help               show this help\n"
	"\n"
	"exit: 0 pass, 1 findings at or above --fail-on, 2 usage/input/I/O error\n";

struct site_rules {
	struct hm_yaml_doc *doc;
	struct hm_audit_exception_list exceptions;
	int fail_on;             /* -1: not set */
};

static int load_rules(const char *path, struct site_rules *sr, struct hm_error *err)
{
	static const char *const top_keys[] = { "exceptions", "fail_on", NULL };
	const struct hm_yaml_node *root, *n;
	struct hm_yaml_doc *doc;
	const char *s;
	int r;

	sr->fail_on = -1;
	if ((r = hm_yaml_load(path, &sr->doc, err)) < 0)
		return r;
	doc = sr->doc;
	root = doc->root;
	if (hm_yaml_is_null(root))
		return 0;
	if ((r = hm_yaml_check_keys(doc, root, "the rules file", top_keys, err)) < 0)
		return r;
	if ((n = hm_yaml_get(root, "fail_on"))) {
		if ((r = hm_yaml_string(doc, n, "'fail_on'", &s, err)) < 0)
			return r;
		if ((sr->fail_on = hm_severity_from_name(s)) < 0)
			return hm_yaml_error(err, HM_ERR_INPUT, doc, n,
					     "'fail_on': unknown severity '%s' (info, low, medium, high, critical)",
					     s);
	}
	return hm_audit_exceptions_parse(doc, hm_yaml_get(root, "exceptions"),
					 &sr->exceptions, err);
}

struct audit_out {
	const struct hm_audit_result *res;
	const char *target;
	enum hm_severity fail_on;
	int fmt;
};

static int print_audit(void *ctx, FILE *out, struct hm_error *err)
{
	const struct audit_out *ao = ctx;

	return hm_audit_report_write(ao->res, ao->target, ao->fail_on, ao->fmt,
				     out, err);
}

int cmd_audit(int argc, char **argv)
{
	static const struct hm_option_word formats[] = {
		{ "text", HM_REPORT_TEXT }, { "json", HM_REPORT_JSON },
		{ "sarif", HM_REPORT_SARIF }, { NULL, 0 },
	};
	static const struct hm_option_word severities[] = {
		{ "info", HM_SEV_INFO }, { "low", HM_SEV_LOW },
		{ "medium", HM_SEV_MEDIUM }, { "high", HM_SEV_HIGH },
		{ "critical", HM_SEV_CRITICAL }, { NULL, 0 },
	};
	const char *rules_path = NULL, *vulns = NULL, *out_path = NULL, *target;
	int fmt = HM_REPORT_TEXT, fail_on = -1, nargs, rc = HM_EXIT_ERROR, r;
	struct hm_registry_cli rcli = HM_REGISTRY_CLI_INIT(rcli);
	const char *pubkey_paths[16], *repo_glob = NULL;
	struct hm_option_list pubkeys = { pubkey_paths, 16, 0 };
	struct hm_pubkey *keys[16] = { NULL };
	bool whole_registry;
	size_t i;
	const struct hm_option opts[] = {
		HM_OPT_STRING('r', "rules", &rules_path),
		HM_OPT_STRING('V', "vulns", &vulns),
		HM_OPT_ENUM('F', "fail-on", &fail_on, severities, "severity"),
		HM_OPT_FORMAT(&fmt, formats, "audit report format"),
		HM_OPT_OUTPUT(&out_path),
		HM_OPT_REGISTRY(&rcli),
		HM_OPT_PUBKEYS(&pubkeys),
		HM_OPT_STRING(0, "repository", &repo_glob),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	const struct hm_cli_command cmd = {
		"audit", audit_usage, NULL, opts, HM_OPTIONS_GETOPT_TEXT,
	};
	struct site_rules sr = { .fail_on = -1 };
	struct hm_audit_options opt = { 0 };
	struct hm_audit_result res = { 0 };
	struct audit_out ao;
	struct hm_image *img = NULL;
	struct hm_error err = { 0 };

	if ((r = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return r;
	hm_registry_cli_apply(&rcli);
	if (nargs != 1)
		return hm_cli_usage(&cmd);
	target = argv[0];
	whole_registry = strncmp(target, "registry:", 9) == 0 && !strchr(target + 9, '/');
	if (repo_glob && !whole_registry)
		return hm_cli_fail("--repository needs a whole registry, registry:HOST");
	if (pubkeys.n && strncmp(target, "registry:", 9) != 0)
		return hm_cli_fail("--pubkey applies to registry: targets only");
	{
		char tfile[4096];
		const struct hm_cli_input in[] = {
			{ "the target", hm_cli_target_file(target, tfile, sizeof(tfile)) },
			{ "the rules file", rules_path }, { "the OSV feed", vulns },
		};

		if ((r = hm_cli_check_output(out_path, in, sizeof(in) / sizeof(in[0]))))
			return r;
	}
	if (rules_path && (r = load_rules(rules_path, &sr, &err)) < 0)
		goto fail;
	/* The command line overrides the rules file. */
	if (fail_on < 0)
		fail_on = sr.fail_on >= 0 ? sr.fail_on : HM_SEV_HIGH;
	opt.exceptions = sr.exceptions.items;
	opt.n_exceptions = sr.exceptions.n;
	opt.osv_path = vulns;
	ao.res = &res;
	ao.target = target;
	ao.fail_on = (enum hm_severity)fail_on;
	ao.fmt = fmt;
	for (i = 0; i < pubkeys.n; i++)
		if ((r = hm_pubkey_load(pubkey_paths[i], &keys[i], &err)) < 0)
			goto fail;
	if (whole_registry) {
		if ((r = hm_registry_audit(target + 9, repo_glob, keys, pubkeys.n, &opt,
					   &res, &err)) < 0)
			goto fail;
	} else if ((r = hm_image_open(target, hm_audit_capture_globs(), &img, &err)) < 0 ||
		   (r = hm_audit_run(img, &opt, &res, &err)) < 0 ||
		   (pubkeys.n && (r = hm_registry_audit_image(target + 9, keys, pubkeys.n,
							       &res, &err)) < 0)) {
		goto fail;
	}
	if ((r = hm_write_output(out_path, print_audit, &ao, &err)) < 0)
		goto fail;
	rc = hm_audit_fails(&res, (enum hm_severity)fail_on) ? HM_EXIT_DRIFT : HM_EXIT_OK;
	goto out;
fail:
	rc = hm_cli_error(&err);
out:
	hm_audit_result_free(&res);
	hm_image_free(img);
	for (i = 0; i < pubkeys.n; i++)
		hm_pubkey_free(keys[i]);
	hm_audit_exceptions_free(&sr.exceptions);
	hm_yaml_free(sr.doc);
	return rc;
}
