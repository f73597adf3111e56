/*
 * Contents (HM-FILE-006, HM-SECRET-001, HM-PII-001): private keys,
 * clear-text credentials in configuration files, personal data in logs,
 * through the masking scanners of lib/secrets.c.
 */
#include <stdlib.h>
#include <string.h>

#include "hallmark/policy.h"
#include "hallmark/secrets.h"

#include "audit_private.h"

const struct hm_audit_rule hm_audit_rules_contents[] = {
	{ "HM-FILE-006", "private key in the image", HM_SEV_HIGH,
	  "A private key baked into an image is shared by every copy and by everyone who can read the image.",
	  NULL },
	{ "HM-PII-001", "personal data in a log file", HM_SEV_MEDIUM,
	  "Logs shipped in an image leak the personal data of whoever used the build host (e-mail addresses, card numbers, national ids).",
	  NULL },
	{ "HM-SECRET-001", "clear-text credential in a configuration file", HM_SEV_HIGH,
	  "Passwords and access keys in configuration files are readable by everyone who gets the image; use a secret store at run time.",
	  NULL },
};
const size_t hm_audit_n_rules_contents =
	sizeof(hm_audit_rules_contents) / sizeof(hm_audit_rules_contents[0]);

struct content_walk {
	const struct hm_entry **items;
	size_t n;
	int err;
};

static int content_entry(void *ctx, const struct hm_entry *e)
{
	struct content_walk *w = ctx;
	const struct hm_entry **p;
	size_t i;

	if ((e->flags & HM_ENTRY_DELETED) || e->type != HM_TYPE_FILE)
		return 0;
	for (i = 0; hm_audit_capture_globs()[i]; i++)
		if (hm_glob_match(hm_audit_capture_globs()[i], e->path, e->path_len))
			break;
	if (!hm_audit_capture_globs()[i])
		return 0;
	if (!(p = realloc(w->items, (w->n + 1) * sizeof(*p)))) {
		w->err = HM_ERR_NOMEM;
		return -1;
	}
	w->items = p;
	w->items[w->n++] = e;
	return 0;
}

static int report_hits(struct actx *a, const char *id, const struct hm_entry *e,
		       struct hm_secret_hits *h)
{
	size_t i;
	int r;

	for (i = 0; i < h->n; i++)
		if ((r = hm_audit_finding(a, id, e->path, e->path_len, "line %zu: %s: %s",
				 h->items[i].line, hm_secret_kind_name(h->items[i].kind),
				 h->items[i].masked ? h->items[i].masked : "")) < 0)
			return r;
	return 0;
}

/* A scanner's error: fatal if out of memory, else listed as skipped. */
static int scan_error(struct actx *a, int r, const struct hm_entry *e,
		      const struct hm_error *err)
{
	if (r == HM_ERR_NOMEM)
		return hm_audit_nomem(a);
	return hm_audit_skipped(a, "'%s': %s", hm_audit_qpath(a, e->path, e->path_len), err->msg);
}

static int scan_file(struct actx *a, const struct hm_entry *e)
{
	bool cfg = hm_secrets_is_config(e->path, e->path_len);
	bool log = hm_secrets_is_log(e->path, e->path_len);
	struct hm_secret_hits hits = { 0 };
	struct hm_error err = { 0 };
	char *data = NULL;
	size_t len = 0;
	bool binary;
	int r;

	if (e->size > HM_LIMIT_AUDIT_FILE_BYTES) {
		/* Keys are small: only text scans miss anything here. */
		if (cfg || log)
			return hm_audit_skipped(a, "'%s': larger than 1 MiB, not scanned",
				       hm_audit_qpath(a, e->path, e->path_len));
		return 0;
	}
	if ((r = hm_audit_read_file(a, e->path, &data, &len)) <= 0)
		return r;
	if (!hm_glob_match("/etc/ssh/ssh_host_*", e->path, e->path_len)) {
		r = hm_secrets_scan_private_key(data, len, &hits, &err);
		if (r < 0 && (r = scan_error(a, r, e, &err)) < 0)
			goto out;
		if ((r = report_hits(a, "HM-FILE-006", e, &hits)) < 0)
			goto out;
		hm_secret_hits_free(&hits);
		memset(&hits, 0, sizeof(hits));
	}
	binary = memchr(data, '\0', len < 8192 ? len : 8192) != NULL;
	if ((cfg || log) && binary) {
		r = hm_audit_skipped(a, "'%s': binary, not scanned", hm_audit_qpath(a, e->path, e->path_len));
		goto out;
	}
	if (cfg) {
		r = hm_secrets_scan_config(data, len, &hits, &err);
		if (r < 0 && (r = scan_error(a, r, e, &err)) < 0)
			goto out;
		if ((r = report_hits(a, "HM-SECRET-001", e, &hits)) < 0)
			goto out;
		hm_secret_hits_free(&hits);
		memset(&hits, 0, sizeof(hits));
	}
	if (log) {
		r = hm_pii_scan(data, len, &hits, &err);
		if (r < 0 && (r = scan_error(a, r, e, &err)) < 0)
			goto out;
		if ((r = report_hits(a, "HM-PII-001", e, &hits)) < 0)
			goto out;
	}
	r = 0;
out:
	hm_secret_hits_free(&hits);
	if (data)
		explicit_bzero(data, len);
	free(data);
	return r;
}

int hm_audit_check_contents(struct actx *a)
{
	struct content_walk w = { 0 };
	size_t i;
	int r = 0;

	hm_tree_walk(a->tree, content_entry, &w);
	if (w.err)
		r = hm_audit_nomem(a);
	for (i = 0; i < w.n && r >= 0; i++)
		r = scan_file(a, w.items[i]);
	free(w.items);
	return r;
}
