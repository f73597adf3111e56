/*
 * `hallmark diff A B`: what differs between two manifests, entry by entry.
 * Signatures are not checked: diff answers "what changed between these
 * builds", not "can this be trusted" (that is verify's job).
 */
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/cli.h"
#include "hallmark/compare.h"
#include "hallmark/manifest.h"
#include "verifier.h"

static const char diff_usage[] =
	"usage: hallmark diff MANIFEST_A MANIFEST_B\n"
	"\n"
	"Show what differs between two manifests: '# FIELD: A -> B' for the\n"
	"header, '- PATH' only in A, '+ PATH' only in B, '~ PATH KIND: A -> B'\n"
	"changed.  Signatures are not checked (use verify for trust).\n"
	"\n"
	"exit: 0 same entries, 1 entries differ, 2 error\n";

static int print_finding(void *ctx, const struct hm_finding *f,
			 struct hm_error *err)
{
	struct hm_buf *b = ctx;
	char mark = f->kind == HM_FINDING_MISSING ? '-' :
		    f->kind == HM_FINDING_ADDED ? '+' : '~';

	hm_buf_reset(b);
	if (hm_buf_addc(b, mark) < 0 || hm_buf_addc(b, ' ') < 0 ||
	    hm_escape(b, f->path, f->path_len, 0) < 0)
		return hm_error_nomem(err);
	if (mark == '~' &&
	    hm_buf_addf(b, " %s", hm_finding_kind_name(f->kind)) < 0)
		return hm_error_nomem(err);
	if (f->kind == HM_FINDING_XATTR && f->detail &&
	    hm_buf_addf(b, " %s", f->detail) < 0)
		return hm_error_nomem(err);
	if ((f->expected || f->actual) &&
	    hm_buf_addf(b, ": %s -> %s", f->expected ? f->expected : "-",
			f->actual ? f->actual : "-") < 0)
		return hm_error_nomem(err);
	if (f->kind != HM_FINDING_XATTR && f->detail &&
	    hm_buf_addf(b, " (%s)", f->detail) < 0)
		return hm_error_nomem(err);
	puts(b->data);
	return 0;
}

static int open_manifest(const char *path, int *fd,
			 struct hm_manifest_reader **r, struct hm_error *err)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (*fd < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", path);
	return hm_manifest_reader_open(*fd, path, 0, r, err);
}

static void header_diff(const struct hm_manifest_header *a,
			const struct hm_manifest_header *b)
{
	char ta[21], tb[21];
	size_t i;

	if (strcmp(a->name, b->name) != 0)
		printf("# name: %s -> %s\n", a->name, b->name);
	if (a->serial != b->serial)
		printf("# serial: %llu -> %llu\n", (unsigned long long)a->serial,
		       (unsigned long long)b->serial);
	if (strcmp(a->template_digest, b->template_digest) != 0)
		printf("# template: %s -> %s\n",
		       a->template_digest[0] ? a->template_digest : "none",
		       b->template_digest[0] ? b->template_digest : "none");
	for (i = 0; i < a->n_images || i < b->n_images; i++) {
		const struct hm_manifest_image *ia = i < a->n_images ? &a->images[i] : NULL;
		const struct hm_manifest_image *ib = i < b->n_images ? &b->images[i] : NULL;

		if (ia && ib && strcmp(ia->kind, ib->kind) == 0 &&
		    strcmp(ia->digest, ib->digest) == 0)
			continue;
		printf("# image: %s %s -> %s %s\n", ia ? ia->kind : "-",
		       ia ? ia->digest : "-", ib ? ib->kind : "-",
		       ib ? ib->digest : "-");
	}
	if (a->created != b->created) {
		hm_time_format(a->created, ta);
		hm_time_format(b->created, tb);
		printf("# created: %s -> %s\n", ta, tb);
	}
}

int cmd_diff(int argc, char **argv)
{
	static const struct hm_option opts[] = {
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	static const struct hm_cli_command cmd = {
		"diff", diff_usage, NULL, opts, HM_OPTIONS_GETOPT_TEXT,
	};
	struct hm_manifest_reader *ra = NULL, *rb = NULL;
	struct hm_compare_stats stats;
	struct hm_buf line = HM_BUF_INIT;
	struct hm_error err = { 0 };
	int fa = -1, fb = -1, nargs, r, rc;

	if ((r = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return r;
	if (nargs != 2)
		return hm_cli_usage(&cmd);
	if ((r = open_manifest(argv[0], &fa, &ra, &err)) < 0 ||
	    (r = open_manifest(argv[1], &fb, &rb, &err)) < 0)
		goto out;
	printf("--- %s\n+++ %s\n", argv[0], argv[1]);
	header_diff(hm_manifest_reader_header(ra), hm_manifest_reader_header(rb));
	r = hm_compare(hm_manifest_reader_source(ra), hm_manifest_reader_source(rb),
		       NULL, print_finding, &line, &stats, &err);
out:
	if (r < 0)
		rc = hm_cli_error(&err);
	else
		rc = stats.total_findings ? HM_EXIT_DRIFT : HM_EXIT_OK;
	hm_manifest_reader_free(ra);
	hm_manifest_reader_free(rb);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	hm_buf_free(&line);
	return rc;
}
