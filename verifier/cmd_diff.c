/*
 * `hallmark diff A B`: what differs between two manifests, entry by entry.
 * Signatures are not checked: diff answers "what changed between these
 * builds", not "can this be trusted" (that is verify's job).
 */
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

static int strp_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

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

/*
 * The runtime lines of a header (section 12 of docs/manifest-format.md),
 * as the writer spells them, sorted by their bytes; *ret_text holds them.
 */
static int runtime_lines(const struct hm_manifest_header *h, struct hm_buf *text,
			 char ***ret, size_t *ret_n, struct hm_error *err)
{
	struct hm_manifest_header copy = *h;
	char *p, *end, **v;
	size_t n = 0;
	int r;

	*ret = NULL;
	*ret_n = 0;
	if (!h->runtime)
		return 0;
	copy.entries = 0;
	if ((r = hm_manifest_format_header(text, &copy, err)) < 0)
		return r;
	p = strstr(text->data, "\nruntime ");
	end = strstr(text->data, "\nhash sha256\n");
	if (!p || !end)
		return 0;
	p = strchr(p + 1, '\n') + 1;
	end[1] = '\0';
	if (!(v = calloc(hm_runtime_spec_lines(h->runtime) + 1, sizeof(*v))))
		return hm_error_nomem(err);
	while (p < end + 1 && *p) {
		char *nl = strchr(p, '\n');

		*nl = '\0';
		v[n++] = p;
		p = nl + 1;
	}
	qsort(v, n, sizeof(*v), strp_cmp);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* "# runtime: - LINE" only in A, "# runtime: + LINE" only in B. */
static int runtime_diff(const struct hm_manifest_header *a,
			const struct hm_manifest_header *b, struct hm_error *err)
{
	struct hm_buf ta = HM_BUF_INIT, tb = HM_BUF_INIT;
	char **la = NULL, **lb = NULL;
	size_t na = 0, nb = 0, i = 0, k = 0;
	int r;

	if (!a->runtime != !b->runtime)
		printf("# runtime: %s -> %s\n", a->runtime ? "baseline" : "none",
		       b->runtime ? "baseline" : "none");
	if ((r = runtime_lines(a, &ta, &la, &na, err)) < 0 ||
	    (r = runtime_lines(b, &tb, &lb, &nb, err)) < 0)
		goto out;
	while (i < na || k < nb) {
		int c = i == na ? 1 : k == nb ? -1 : strcmp(la[i], lb[k]);

		if (c < 0)
			printf("# runtime: - %s\n", la[i++]);
		else if (c > 0)
			printf("# runtime: + %s\n", lb[k++]);
		else
			i++, k++;
	}
	r = 0;
out:
	free(la);
	free(lb);
	hm_buf_free(&ta);
	hm_buf_free(&tb);
	return r;
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
	if ((r = runtime_diff(hm_manifest_reader_header(ra),
			      hm_manifest_reader_header(rb), &err)) < 0)
		goto out;
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
