/*
 * hallmark attest: in-toto Statements about the images a signed manifest
 * names, each in a DSSE envelope signed with the manifest's key, one per
 * line (docs/attestations.md).
 *
 * The manifest's own signature is checked against the public half of
 * KEY first: a key attests only to a manifest it signed.  The subjects
 * are the manifest's `image` lines, which that signature covers; the
 * build record and the SBOM are carried as the signer found them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder.h"
#include "hallmark/attest.h"
#include "hallmark/cli.h"
#include "hallmark/fsutil.h"
#include "hallmark/limits.h"
#include "hallmark/sign.h"
#include "hallmark/trust.h"

static const char usage[] =
	"usage: hallmark attest MANIFEST --key KEY [--build F] [--sbom F] [-o FILE]\n"
	"                       [--passphrase-file F]\n";

static const char help[] =
	"\n"
	"Sign in-toto Statements (v1, in DSSE envelopes) about the images the\n"
	"signed MANIFEST names: hallmark's manifest predicate, a SLSA Provenance\n"
	"v1 predicate from the build record, and the SPDX SBOM.  One envelope per\n"
	"line goes to FILE (default NAME.intoto.jsonl next to MANIFEST).  The\n"
	"manifest's signature must be KEY's.\n"
	"\n"
	"  -k, --key KEY            private key that signed MANIFEST\n"
	"      --build F            build record (default NAME.build.json next to\n"
	"                           MANIFEST, when it is there)\n"
	"      --sbom F             SPDX SBOM (default NAME.sbom.spdx.json next to\n"
	"                           MANIFEST, when it is there)\n"
	"  -o, --output FILE        where the envelopes go\n"
	"      --passphrase-file F  read the key's passphrase from F (first line)\n"
	"  -h, --help               show this help\n";

/* DIR/NAME.SUFFIX, next to the manifest; NULL on no memory. */
static char *beside(const char *manifest, const char *name, const char *suffix)
{
	const char *slash = strrchr(manifest, '/');
	int dirlen = slash ? (int)(slash - manifest + 1) : 0;
	char *p;

	if (asprintf(&p, "%.*s%s%s", dirlen, manifest, name, suffix) < 0)
		return NULL;
	return p;
}

/* A default input that is not there is left out; one named is required. */
static int default_input(char **path, const char *manifest, const char *name,
			 const char *suffix)
{
	*path = beside(manifest, name, suffix);
	if (!*path)
		return -1;
	if (access(*path, F_OK) != 0) {
		free(*path);
		*path = NULL;
	}
	return 0;
}

/* Sign one statement and add its envelope as a line of out. */
static int add_envelope(const struct hm_privkey *key,
			const struct hm_intoto_subject *subj, size_t n,
			const char *type, const char *pred, size_t pred_len,
			struct hm_buf *out, struct hm_error *err)
{
	struct hm_buf st = { 0 };
	int r;

	r = hm_intoto_statement(subj, n, type, pred, pred_len, &st, err);
	if (r >= 0)
		r = hm_dsse_sign(key, HM_INTOTO_PAYLOAD_TYPE, st.data, st.len, out, err);
	if (r >= 0 && hm_buf_addc(out, '\n') < 0)
		r = hm_error_nomem(err);
	hm_buf_free(&st);
	return r;
}

int cmd_attest(int argc, char **argv)
{
	const char *manifest, *keypath = NULL, *passfile = NULL, *out = NULL;
	const char *build = NULL, *sbom = NULL;
	const struct hm_option opts[] = {
		HM_OPT_KEY(&keypath),
		HM_OPT_STRING(0, "build", &build),
		HM_OPT_STRING(0, "sbom", &sbom),
		HM_OPT_OUTPUT(&out),
		HM_OPT_PASSPHRASE_FILE(&passfile),
		HM_OPT_NO_PASSPHRASE(),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	const struct hm_cli_command cmd = {
		"attest", usage, help, opts, HM_OPTIONS_CMD_TEXT,
	};
	struct hm_intoto_subject subj[HM_MANIFEST_MAX_IMAGES];
	char names[HM_MANIFEST_MAX_IMAGES][HM_LIMIT_NAME_BYTES + 16];
	struct hm_trusted_manifest *tm = NULL;
	struct hm_privkey *key = NULL;
	struct hm_pubkey *pub = NULL;
	struct hm_error err = { 0 };
	struct hm_buf lines = { 0 }, pred = { 0 };
	char *outpath = NULL, *buildpath = NULL, *sbompath = NULL;
	char *text = NULL;
	size_t text_len, i, n = 0;
	const struct hm_entry *e;
	int nargs, rc, r;

	if ((rc = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return rc;
	rc = HM_EXIT_ERROR;
	if (nargs != 1 || !keypath) {
		hm_cli_fail(nargs > 1 ? "attest: one MANIFEST only" :
			    nargs < 1 ? "attest: MANIFEST is required" :
			    "attest: --key KEY is required");
		return hm_cli_usage(&cmd);
	}
	manifest = argv[0];
	if (hm_privkey_load_asking(keypath, passfile, &key, &err) < 0 ||
	    hm_privkey_public(key, &pub, &err) < 0 ||
	    hm_trust_open(manifest, NULL, &pub, 1, time(NULL), &tm, &err) < 0) {
		rc = hm_cli_error(&err);
		goto out;
	}
	/* Every byte read, so the predicate's digests are of what was signed. */
	while ((r = hm_manifest_reader_next(tm->reader, &e, &err)) > 0)
		;
	if (r < 0 || hm_trust_finish(tm, &err) < 0) {
		rc = hm_cli_error(&err);
		goto out;
	}
	for (i = 0; i < tm->header->n_images; i++) {
		const struct hm_manifest_image *im = &tm->header->images[i];

		snprintf(names[n], sizeof(names[n]), "%s.%s", tm->header->name, im->kind);
		subj[n].name = names[n];
		subj[n].sha256_hex = im->digest + strlen("sha256:");
		n++;
	}
	if (n == 0) {
		rc = hm_cli_fail("'%s' names no image (no `image` lines): nothing to "
				 "attest; manifests that `hallmark build` writes do", manifest);
		goto out;
	}
	if ((!build && default_input(&buildpath, manifest, tm->header->name, ".build.json") < 0) ||
	    (!sbom && default_input(&sbompath, manifest, tm->header->name, ".sbom.spdx.json") < 0) ||
	    (!out && !(outpath = beside(manifest, tm->header->name, ".intoto.jsonl")))) {
		rc = hm_cli_fail("out of memory");
		goto out;
	}
	if (!build)
		build = buildpath;
	if (!sbom)
		sbom = sbompath;
	if (!out)
		out = outpath;
	{
		const struct hm_cli_input in[] = {
			{ "the manifest", manifest }, { "the private key", keypath },
			{ "the build record", build }, { "the SBOM", sbom },
			{ "the passphrase file", passfile ? passfile :
			  getenv("HALLMARK_PASSPHRASE_FILE") },
		};

		if ((rc = hm_cli_check_output(out, in, sizeof(in) / sizeof(in[0]))))
			goto out;
		rc = HM_EXIT_ERROR;
	}

	if (hm_attest_manifest_predicate(tm, &pred, &err) < 0 ||
	    add_envelope(key, subj, n, HM_PREDICATE_MANIFEST, pred.data, pred.len,
			 &lines, &err) < 0)
		goto fail;
	if (build) {
		hm_buf_reset(&pred);
		if (hm_read_file(build, HM_LIMIT_BUILD_RECORD_BYTES, &text, &text_len, &err) < 0 ||
		    hm_attest_provenance(text, text_len, build, &pred, &err) < 0 ||
		    add_envelope(key, subj, n, HM_PREDICATE_SLSA, pred.data, pred.len,
				 &lines, &err) < 0)
			goto fail;
		free(text);
		text = NULL;
	}
	if (sbom) {
		if (hm_read_file(sbom, HM_LIMIT_SBOM_BYTES, &text, &text_len, &err) < 0 ||
		    add_envelope(key, subj, n, HM_PREDICATE_SPDX, text, text_len,
				 &lines, &err) < 0)
			goto fail;
	}
	if (hm_output_write_file(out, lines.data, lines.len, 0644, &err) < 0)
		goto fail;
	fprintf(stderr, "hallmark attest: %s: %zu statement%s about %zu image%s, "
		"signed by key %s\n", out, (size_t)1 + !!build + !!sbom,
		build || sbom ? "s" : "", n, n == 1 ? "" : "s", tm->key_id);
	rc = HM_EXIT_OK;
	goto out;
fail:
	rc = hm_cli_error(&err);
out:
	hm_trust_free(tm);
	hm_privkey_free(key);
	hm_pubkey_free(pub);
	hm_buf_free(&lines);
	hm_buf_free(&pred);
	free(text);
	free(outpath);
	free(buildpath);
	free(sbompath);
	return rc;
}
