/*
 * The manifest, format version 1 (docs/manifest-format.md): the writer
 * that turns a source into canonical text, and the streaming reader that
 * turns that text back into a source.
 *
 * Both sides enforce the same tree rules (strict canonical order, every
 * entry's parent directory listed before it) so that whatever the writer
 * produces the reader accepts, and nothing else.  The reader's memory is
 * bounded by the longest line and the tree depth, never by the file size:
 * a fixed read buffer, one line buffer, a copy of the previous path and the
 * lengths of its ancestor directories.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/manifest.h"

#define READ_CHUNK (256u * 1024)
#define WRITE_CHUNK (256u * 1024)
/* Longest excerpt of a path or value quoted in a message. */
#define QUOTE_MAX 200
/* 9999-12-31T23:59:59Z, the last time the format can spell. */
#define TIME_MAX ((time_t)253402300799LL)
_Static_assert(sizeof(time_t) == sizeof(int64_t), "HM_EXPIRES_NEVER needs a 64-bit time_t");

static const char *const image_kinds[] = { "oci", "qcow2", "raw", "tar" };

/* ---- small helpers ---------------------------------------------------- */

/* Escape s for a message, cut at QUOTE_MAX bytes with "...". */
static const char *quote(char *out, size_t outsz, const char *s, size_t len)
{
	static const char oct[] = "01234567";
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 8 >= outsz || o >= QUOTE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x21 && c <= 0x7e && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = oct[c >> 6];
			out[o++] = oct[(c >> 3) & 7];
			out[o++] = oct[c & 7];
		}
	}
	out[o] = '\0';
	return out;
}

#define QBUF (QUOTE_MAX + 16)

static bool has_prefix(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);

	return len >= n && memcmp(s, p, n) == 0;
}

static bool equals(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

/* Decimal without sign or leading zeros, at most max. */
static int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*ret = v;
	return 0;
}

/* "sha256:" and 64 lowercase hex digits. */
static bool digest_valid(const char *s, size_t len)
{
	size_t i;

	if (len != 71 || memcmp(s, "sha256:", 7) != 0)
		return false;
	for (i = 7; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int image_kind_index(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(image_kinds) / sizeof(image_kinds[0]); i++)
		if (equals(s, len, image_kinds[i]))
			return (int)i;
	return -1;
}

/* Why a raw path is not a canonical image path, or NULL if it is. */
static const char *path_problem(const char *p, size_t len)
{
	size_t i, start = 1;

	if (len == 0 || p[0] != '/')
		return "not absolute";
	if (memchr(p, '\0', len))
		return "contains a NUL byte";
	if (len == 1)
		return NULL;
	if (p[len - 1] == '/')
		return "ends with '/'";
	for (i = 1; i <= len; i++) {
		size_t n;

		if (i < len && p[i] != '/')
			continue;
		n = i - start;
		if (n == 0)
			return "has an empty component";
		if ((n == 1 && p[start] == '.') ||
		    (n == 2 && p[start] == '.' && p[start + 1] == '.'))
			return "has a '.' or '..' component";
		start = i + 1;
	}
	return NULL;
}

/* ---- the tree rules, shared by writer and reader ------------------------ */

/*
 * Every path on the stack is a prefix of prev: the ancestor directories of
 * the previous entry, and that entry itself if it is a directory.  Since
 * the order is depth-first, that is all the parent rule needs.
 */
struct tree_check {
	struct hm_buf prev;
	size_t *stack;
	size_t depth, cap;
	uint64_t count;
};

static void tree_check_free(struct tree_check *tc)
{
	hm_buf_free(&tc->prev);
	free(tc->stack);
}

static int tree_push(struct tree_check *tc, size_t len, struct hm_error *err)
{
	if (tc->depth == tc->cap) {
		size_t cap = tc->cap ? tc->cap * 2 : 64;
		size_t *s = realloc(tc->stack, cap * sizeof(*s));

		if (!s)
			return hm_error_nomem(err);
		tc->stack = s;
		tc->cap = cap;
	}
	tc->stack[tc->depth++] = len;
	return 0;
}

/* Errors carry no location: the caller adds "FILE:LINE" or the path. */
static int tree_check_add(struct tree_check *tc, const char *p, size_t len,
			  bool is_dir, struct hm_error *err)
{
	char q1[QBUF], q2[QBUF];
	const char *prev = tc->prev.data;
	size_t parent, top;
	int c;

	if (tc->count == 0) {
		if (!equals(p, len, "/"))
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "the first entry is '%s', not the root directory '/'",
					    quote(q1, sizeof(q1), p, len));
		if (!is_dir)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "the root '/' is not a directory");
	} else {
		c = hm_path_cmp(prev, tc->prev.len, p, len);
		if (c == 0)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "duplicate entry '%s'",
					    quote(q1, sizeof(q1), p, len));
		if (c > 0)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "entries out of order: '%s' after '%s'",
					    quote(q1, sizeof(q1), p, len),
					    quote(q2, sizeof(q2), prev, tc->prev.len));
		while (tc->depth > 0 &&
		       !hm_path_is_below(p, len, prev, tc->stack[tc->depth - 1]))
			tc->depth--;
		parent = len;
		while (parent > 0 && p[parent - 1] != '/')
			parent--;
		parent = parent > 1 ? parent - 1 : 1;
		top = tc->depth ? tc->stack[tc->depth - 1] : 0;
		if (tc->depth == 0 || parent != top)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "no directory entry for the parent of '%s'",
					    quote(q1, sizeof(q1), p, len));
		if (tc->depth > HM_LIMIT_DEPTH)
			return hm_error_set(err, HM_ERR_LIMIT, 0,
					    "'%s' is deeper than %u levels",
					    quote(q1, sizeof(q1), p, len),
					    HM_LIMIT_DEPTH);
	}
	hm_buf_reset(&tc->prev);
	if (hm_buf_add(&tc->prev, p, len) < 0)
		return hm_error_nomem(err);
	if (is_dir && tree_push(tc, len, err) < 0)
		return HM_ERR_NOMEM;
	tc->count++;
	return 0;
}

/* ---- formatting ------------------------------------------------------- */

/* One escaped field, with the space before it. */
static int add_field(struct hm_buf *out, const char *s)
{
	return hm_buf_addc(out, ' ') < 0 || hm_escape(out, s, strlen(s), 0) < 0 ? -1 : 0;
}

/*
 * The runtime extension (docs/manifest-format.md): "runtime N", then N
 * lines in canonical order: listen, processes and process, mount, sysctl.
 * An absent address or executable is "*" (neither can be: both are
 * numeric or absolute); a mount without options and a sysctl key set to
 * "" have no third field.
 */
static int format_runtime(struct hm_buf *out, const struct hm_runtime_spec *s,
			  struct hm_error *err)
{
	size_t i, k;
	int r;

	if ((r = hm_runtime_spec_check(s, err)) < 0)
		return hm_error_prefix(err, "runtime section");
	r = hm_buf_addf(out, "runtime %zu\n", hm_runtime_spec_lines(s));
	for (i = 0; r == 0 && i < s->n_listen; i++) {
		const struct hm_runtime_listen *l = &s->listen[i];

		r = hm_buf_addf(out, "listen %s %u %s", l->proto, (unsigned)l->port,
				l->addr ? l->addr : "*");
		if (r == 0)
			r = l->exe ? add_field(out, l->exe) : hm_buf_adds(out, " *");
		if (r == 0)
			r = hm_buf_addc(out, '\n');
	}
	if (r == 0 && s->processes_listed)
		r = hm_buf_adds(out, "processes\n");
	for (i = 0; r == 0 && i < s->n_processes; i++) {
		r = hm_buf_adds(out, "process");
		if (r == 0)
			r = add_field(out, s->processes[i]);
		if (r == 0)
			r = hm_buf_addc(out, '\n');
	}
	for (i = 0; r == 0 && i < s->n_mounts; i++) {
		const struct hm_runtime_mount *m = &s->mounts[i];

		r = hm_buf_adds(out, "mount");
		if (r == 0)
			r = add_field(out, m->path);
		for (k = 0; r == 0 && k < m->n_options; k++)
			r = hm_buf_addf(out, "%c%s", k ? ',' : ' ', m->options[k]);
		if (r == 0)
			r = hm_buf_addc(out, '\n');
	}
	for (i = 0; r == 0 && i < s->n_sysctl; i++) {
		r = hm_buf_adds(out, "sysctl");
		if (r == 0)
			r = add_field(out, s->sysctl[i].key);
		if (r == 0 && s->sysctl[i].value[0])
			r = add_field(out, s->sysctl[i].value);
		if (r == 0)
			r = hm_buf_addc(out, '\n');
	}
	return r < 0 ? hm_error_nomem(err) : 0;
}

int hm_manifest_format_header(struct hm_buf *out,
			      const struct hm_manifest_header *h,
			      struct hm_error *err)
{
	char q[QBUF], created[21], expires[21];
	size_t i, start = out->len, nlen;
	int k, prev_kind = -1, r = 0;

	if (h->version != 0 && h->version != HM_MANIFEST_VERSION)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "unsupported manifest version %u", h->version);
	nlen = strnlen(h->name, sizeof(h->name));
	if (nlen == sizeof(h->name) || !hm_manifest_name_valid(h->name))
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "invalid manifest name '%s': use 1 to %u of A-Z a-z 0-9 . _ + -, not starting with '.' or '-'",
				    quote(q, sizeof(q), h->name, nlen),
				    HM_LIMIT_NAME_BYTES);
	if (h->created < 0 || h->created > TIME_MAX)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "creation time %lld out of range",
				    (long long)h->created);
	if (h->expires != HM_EXPIRES_NEVER &&
	    (h->expires < 0 || h->expires > TIME_MAX))
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "expiry time %lld out of range",
				    (long long)h->expires);
	/* Past or unset (0) is never spelled "never". */
	if (h->expires != HM_EXPIRES_NEVER && h->expires <= h->created) {
		hm_time_format(h->expires, expires);
		hm_time_format(h->created, created);
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "expiry time %s is not after the creation time %s",
				    expires, created);
	}
	if (h->template_digest[0] &&
	    !digest_valid(h->template_digest,
			  strnlen(h->template_digest, sizeof(h->template_digest))))
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "invalid template digest '%s'",
				    quote(q, sizeof(q), h->template_digest,
					  strnlen(h->template_digest,
						  sizeof(h->template_digest))));
	if (h->n_images > HM_MANIFEST_MAX_IMAGES)
		return hm_error_set(err, HM_ERR_INPUT, 0, "too many images");
	for (i = 0; i < h->n_images; i++) {
		const struct hm_manifest_image *im = &h->images[i];
		size_t klen = strnlen(im->kind, sizeof(im->kind));

		k = image_kind_index(im->kind, klen);
		if (k < 0)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "unknown image kind '%s'",
					    quote(q, sizeof(q), im->kind, klen));
		if (k <= prev_kind)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "image kinds out of order or repeated at '%s'",
					    im->kind);
		prev_kind = k;
		if (!digest_valid(im->digest, strnlen(im->digest, sizeof(im->digest))))
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "invalid digest of the %s image",
					    im->kind);
	}
	if (h->entries > HM_LIMIT_MANIFEST_ENTRIES)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "%" PRIu64 " entries, more than the limit of %llu",
				    h->entries, HM_LIMIT_MANIFEST_ENTRIES);

	hm_time_format(h->created, created);
	if (h->expires == HM_EXPIRES_NEVER)
		memcpy(expires, "never", 6);
	else
		hm_time_format(h->expires, expires);
	r |= hm_buf_addf(out, "hallmark-manifest %d\nname %s\nserial %" PRIu64
			 "\ncreated %s\nexpires %s\ntemplate %s\n",
			 HM_MANIFEST_VERSION, h->name, h->serial, created,
			 expires,
			 h->template_digest[0] ? h->template_digest : "none");
	for (i = 0; i < h->n_images; i++)
		r |= hm_buf_addf(out, "image %s %s\n", h->images[i].kind,
				 h->images[i].digest);
	if (h->runtime) {
		int rc = format_runtime(out, h->runtime, err);

		if (rc < 0) {
			out->len = start;
			if (out->data)
				out->data[start] = '\0';
			return rc;
		}
	}
	r |= hm_buf_addf(out, "hash sha256\nentries %" PRIu64 "\n", h->entries);
	if (r) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return hm_error_nomem(err);
	}
	return 0;
}

static int check_entry(const struct hm_entry *e, struct hm_error *err)
{
	char q[QBUF];
	uint64_t total = 0;
	const char *why;
	size_t i;

	if (!e->path)
		return hm_error_set(err, HM_ERR_INPUT, 0, "entry without a path");
	quote(q, sizeof(q), e->path, e->path_len);
	if (e->path_len > HM_LIMIT_PATH_BYTES)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "path '%s' is longer than %u bytes", q,
				    HM_LIMIT_PATH_BYTES);
	if ((why = path_problem(e->path, e->path_len)))
		return hm_error_set(err, HM_ERR_INPUT, 0, "invalid path '%s': %s",
				    q, why);
	if (e->flags & (HM_ENTRY_UNREADABLE | HM_ENTRY_CHANGED))
		return hm_error_set(err, HM_ERR_INPUT, 0, "cannot record '%s': %s",
				    q, e->note ? e->note :
				    (e->flags & HM_ENTRY_CHANGED) ?
				    "changed while it was read" : "unreadable");
	if (e->type < HM_TYPE_FILE || e->type > HM_TYPE_SOCKET)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "cannot record '%s': unknown type", q);
	if (e->mode > 07777)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "cannot record '%s': invalid mode %o", q,
				    (unsigned)e->mode);
	if (e->type == HM_TYPE_FILE && !(e->flags & HM_ENTRY_HAS_DIGEST))
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "cannot record '%s': no content digest", q);
	if (e->type == HM_TYPE_SYMLINK) {
		if (!e->target || e->target_len == 0)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "cannot record '%s': symlink without a target",
					    q);
		if (e->target_len > HM_LIMIT_TARGET_BYTES)
			return hm_error_set(err, HM_ERR_LIMIT, 0,
					    "the target of '%s' is longer than %u bytes",
					    q, HM_LIMIT_TARGET_BYTES);
		if (memchr(e->target, '\0', e->target_len))
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "the target of '%s' contains a NUL byte", q);
	}
	if (e->n_xattrs > HM_LIMIT_XATTRS)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "'%s' has more than %u xattrs", q,
				    HM_LIMIT_XATTRS);
	for (i = 0; i < e->n_xattrs; i++) {
		const struct hm_xattr *x = &e->xattrs[i];
		size_t nlen = x->name ? strlen(x->name) : 0;

		if (nlen == 0)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "'%s' has an xattr without a name", q);
		if (nlen > HM_LIMIT_XATTR_NAME_BYTES)
			return hm_error_set(err, HM_ERR_LIMIT, 0,
					    "'%s' has an xattr name longer than %u bytes",
					    q, HM_LIMIT_XATTR_NAME_BYTES);
		if (x->len > HM_LIMIT_XATTR_VALUE_BYTES)
			return hm_error_set(err, HM_ERR_LIMIT, 0,
					    "'%s' has an xattr value longer than %u bytes",
					    q, HM_LIMIT_XATTR_VALUE_BYTES);
		total += x->len;
		if (total > HM_LIMIT_XATTR_TOTAL_BYTES)
			return hm_error_set(err, HM_ERR_LIMIT, 0,
					    "the xattrs of '%s' are larger than %u bytes",
					    q, HM_LIMIT_XATTR_TOTAL_BYTES);
		if (i > 0 && strcmp(e->xattrs[i - 1].name, x->name) >= 0)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "the xattrs of '%s' are not sorted or not unique",
					    q);
	}
	return 0;
}

int hm_manifest_format_entry(struct hm_buf *out, const struct hm_entry *e,
			     struct hm_error *err)
{
	char q[QBUF];
	size_t i, start = out->len;
	int r;

	r = check_entry(e, err);
	if (r < 0)
		return r;
	r = hm_escape(out, e->path, e->path_len, 0);
	r |= hm_buf_addf(out, " type=%s mode=%04o uid=%" PRIu32 " gid=%" PRIu32,
			 hm_type_name(e->type), (unsigned)e->mode, e->uid, e->gid);
	switch (e->type) {
	case HM_TYPE_FILE:
		r |= hm_buf_addf(out, " size=%" PRIu64 " sha256=", e->size);
		r |= hm_buf_addhex(out, e->sha256, HM_SHA256_LEN);
		break;
	case HM_TYPE_SYMLINK:
		r |= hm_buf_adds(out, " target=");
		r |= hm_escape(out, e->target, e->target_len, 0);
		break;
	case HM_TYPE_CHAR:
	case HM_TYPE_BLOCK:
		r |= hm_buf_addf(out, " rdev=%" PRIu32 ",%" PRIu32,
				 e->rdev_major, e->rdev_minor);
		break;
	default:
		break;
	}
	for (i = 0; i < e->n_xattrs && !r; i++) {
		r |= hm_buf_adds(out, " xattr.");
		r |= hm_escape(out, e->xattrs[i].name,
			       strlen(e->xattrs[i].name), '=');
		r |= hm_buf_addc(out, '=');
		r |= hm_buf_addhex(out, e->xattrs[i].value, e->xattrs[i].len);
	}
	if (r) {
		r = hm_error_nomem(err);
		goto fail;
	}
	if (out->len - start > HM_LIMIT_MANIFEST_LINE) {
		r = hm_error_set(err, HM_ERR_LIMIT, 0,
				 "the manifest line of '%s' is longer than %u bytes",
				 quote(q, sizeof(q), e->path, e->path_len),
				 HM_LIMIT_MANIFEST_LINE);
		goto fail;
	}
	if (hm_buf_addc(out, '\n') < 0) {
		r = hm_error_nomem(err);
		goto fail;
	}
	return 0;
fail:
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
	return r;
}

/* ---- writing ---------------------------------------------------------- */

/*
 * The header carries the entry count, so entry lines are spooled to an
 * unnamed file first: O_TMPFILE next to the output file (same file system,
 * and nothing to clean up after a crash), else in $TMPDIR or /tmp.  dir
 * is where it went, for messages; free() it.
 */
static int open_spool(const char *file, char **dir, struct hm_error *err)
{
	const char *slash = file ? strrchr(file, '/') : NULL;
	const char *tmp = getenv("TMPDIR");
	char tmpl[] = "hallmark-spool-XXXXXX";
	int fd;

	*dir = NULL;
	if (file) {
		if (!slash)
			*dir = strdup(".");
		else if (slash == file)
			*dir = strdup("/");
		else
			*dir = strndup(file, (size_t)(slash - file));
		if (!*dir)
			return hm_error_nomem(err);
		fd = open(*dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		free(*dir);
	}
	*dir = strdup(tmp && *tmp == '/' ? tmp : "/tmp");
	if (!*dir)
		return hm_error_nomem(err);
	fd = open(*dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* No O_TMPFILE there: a named file, unlinked at once. */
	{
		char *path = NULL;

		if (asprintf(&path, "%s/%s", *dir, tmpl) < 0)
			return hm_error_nomem(err);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
		free(path);
	}
	if (fd < 0)
		return hm_error_set(err, HM_ERR_IO, errno,
				    "cannot create a temporary file in '%s'", *dir);
	return fd;
}

static int spool_flush(int fd, const char *dir, struct hm_buf *b,
		       struct hm_error *err)
{
	int r = hm_write_all(fd, b->data, b->len);

	if (r < 0)
		return hm_error_set(err, HM_ERR_IO, -r,
				    "cannot write a temporary file in '%s'", dir);
	hm_buf_reset(b);
	return 0;
}

static int write_out(int fd, const char *shown, const void *data, size_t len,
		     struct hm_error *err)
{
	int r = hm_write_all(fd, data, len);

	if (r < 0)
		return hm_error_set(err, HM_ERR_IO, -r, "cannot write '%s'", shown);
	return 0;
}

int hm_manifest_write(const char *path, struct hm_manifest_header *h,
		      struct hm_source *src, struct hm_error *err)
{
	struct hm_manifest_header hdr = *h;
	struct hm_buf head = HM_BUF_INIT, lines = HM_BUF_INIT;
	struct tree_check tc = { HM_BUF_INIT, NULL, 0, 0, 0 };
	struct hm_output *o = NULL;
	bool to_stdout = strcmp(path, "-") == 0;
	const char *shown = to_stdout ? "standard output" : path;
	uint64_t n = 0, bytes = 0;
	char *buf = NULL, *spool_dir = NULL;
	int spool = -1, outfd, r;

	/* Reject a bad header before a possibly long scan. */
	hdr.entries = 0;
	r = hm_manifest_format_header(&head, &hdr, err);
	if (r < 0)
		goto out;
	/* A device or a FIFO is streamed into, never replaced. */
	r = hm_output_open(path, 0644, &o, err);
	if (r < 0)
		goto out;
	r = spool = open_spool(hm_output_file(o), &spool_dir, err);
	if (r < 0)
		goto out;

	for (;;) {
		const struct hm_entry *e;
		size_t before = lines.len;

		r = hm_source_next(src, &e, err);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		/* A tombstone records a deletion: nothing is there. */
		if (e->flags & HM_ENTRY_DELETED)
			continue;
		r = hm_manifest_format_entry(&lines, e, err);
		if (r < 0)
			goto out;
		r = tree_check_add(&tc, e->path, e->path_len,
				   e->type == HM_TYPE_DIR, err);
		if (r < 0) {
			hm_error_prefix(err, "cannot write '%s'", shown);
			goto out;
		}
		bytes += lines.len - before;
		if (++n > HM_LIMIT_MANIFEST_ENTRIES ||
		    bytes > HM_LIMIT_MANIFEST_BYTES) {
			r = hm_error_set(err, HM_ERR_LIMIT, 0,
					 "cannot write '%s': more than %llu entries or %llu bytes",
					 shown, HM_LIMIT_MANIFEST_ENTRIES,
					 HM_LIMIT_MANIFEST_BYTES);
			goto out;
		}
		if (lines.len >= WRITE_CHUNK) {
			r = spool_flush(spool, spool_dir, &lines, err);
			if (r < 0)
				goto out;
		}
	}
	r = spool_flush(spool, spool_dir, &lines, err);
	if (r < 0)
		goto out;

	hdr.entries = n;
	hm_buf_reset(&head);
	r = hm_manifest_format_header(&head, &hdr, err);
	if (r < 0)
		goto out;
	if (bytes + head.len > HM_LIMIT_MANIFEST_BYTES) {
		r = hm_error_set(err, HM_ERR_LIMIT, 0,
				 "cannot write '%s': larger than %llu bytes",
				 shown, HM_LIMIT_MANIFEST_BYTES);
		goto out;
	}
	outfd = hm_output_fd(o);
	r = write_out(outfd, shown, head.data, head.len, err);
	if (r < 0)
		goto out;
	buf = malloc(WRITE_CHUNK);
	if (!buf) {
		r = hm_error_nomem(err);
		goto out;
	}
	if (lseek(spool, 0, SEEK_SET) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno,
				 "cannot read a temporary file in '%s'", spool_dir);
		goto out;
	}
	for (;;) {
		ssize_t got = read(spool, buf, WRITE_CHUNK);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = hm_error_set(err, HM_ERR_IO, errno,
					 "cannot read a temporary file in '%s'",
					 spool_dir);
			goto out;
		}
		if (got == 0)
			break;
		r = write_out(outfd, shown, buf, (size_t)got, err);
		if (r < 0)
			goto out;
	}
	r = hm_output_commit(o, err);
	o = NULL;
	if (r < 0)
		goto out;
	h->entries = n;
	r = 0;
out:
	hm_output_abort(o);
	if (spool >= 0)
		close(spool);
	free(spool_dir);
	free(buf);
	hm_buf_free(&head);
	hm_buf_free(&lines);
	tree_check_free(&tc);
	return r;
}

/* ---- reading ---------------------------------------------------------- */

enum reader_state { R_ACTIVE = 0, R_DONE = 1 };

struct hm_manifest_reader {
	struct hm_source src;          /* first: the source view casts back */
	int fd;
	char *name;
	unsigned flags;
	struct hm_hash *hash;
	unsigned char sha256[HM_SHA256_LEN];
	bool have_sha256;

	char *rbuf;
	size_t rpos, rlen;
	bool eof;
	uint64_t total;                /* bytes read so far */
	struct hm_buf line;            /* a line that spans reads */
	uint64_t lineno;               /* the line being parsed */

	struct hm_manifest_header hdr;
	uint64_t n_read;
	struct hm_entry entry;
	struct tree_check tc;
	struct hm_buf scratch;
	unsigned char *xval;           /* one decoded xattr value */

	int state;                     /* enum reader_state, or <0 error */
	struct hm_error saved;         /* the error, repeated on later calls */
};

static int rerr(struct hm_manifest_reader *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Every reader error lands in r->saved as "NAME:LINE: what". */
static int rerr(struct hm_manifest_reader *r, int code, const char *fmt, ...)
{
	char msg[HM_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return hm_error_set(&r->saved, code, 0, "%s:%" PRIu64 ": %s", r->name,
			    r->lineno, msg);
}

/* Shorthand for quoting part of a line (already printable) in messages. */
#define SHOWN(n) ((int)((n) > QUOTE_MAX ? QUOTE_MAX : (n)))

static int fill(struct hm_manifest_reader *r)
{
	ssize_t n;

	do
		n = read(r->fd, r->rbuf, READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hm_error_set(&r->saved, HM_ERR_IO, errno,
				    "cannot read '%s'", r->name);
	r->rpos = 0;
	r->rlen = (size_t)n;
	if (n == 0) {
		r->eof = true;
		return 0;
	}
	r->total += (uint64_t)n;
	if (r->total > HM_LIMIT_MANIFEST_BYTES)
		return rerr(r, HM_ERR_LIMIT, "the manifest is larger than %llu bytes",
			    HM_LIMIT_MANIFEST_BYTES);
	if (r->hash && hm_hash_update(r->hash, r->rbuf, (size_t)n) < 0)
		return hm_error_set(&r->saved, HM_ERR_NOMEM, 0,
				    "cannot hash '%s'", r->name);
	return 0;
}

/* Does any byte of the word lie outside 0x20..0x7e?  May say yes for a
 * good byte next to a bad one (borrows and carries cross bytes), never
 * no for a bad one: the caller looks at a flagged word byte by byte. */
static int word_has_raw(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;

	return (((x - 0x20 * ones) & ~x) | ((x + ones) | x)) & high ? 1 : 0;
}

static int check_bytes(struct hm_manifest_reader *r, const char *l, size_t n)
{
	size_t i = 0;

	/* Eight bytes at a time: a million-line manifest is read on the
	 * verify's critical path. */
	for (; i + 8 <= n; i += 8) {
		uint64_t x;

		memcpy(&x, l + i, 8);
		if (word_has_raw(x))
			break;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)l[i];

		if (c >= 0x20 && c <= 0x7e)
			continue;
		if (c == '\r')
			return rerr(r, HM_ERR_INPUT,
				    "carriage return (lines end with LF only)");
		if (c == 0)
			return rerr(r, HM_ERR_INPUT, "NUL byte");
		return rerr(r, HM_ERR_INPUT,
			    "raw byte 0x%02x (must be escaped as \\%03o)", c, c);
	}
	return 0;
}

/*
 * The next line without its LF: 1 and *ret (valid until the next call),
 * 0 at the end of the file, <0 on error.
 */
static int read_line(struct hm_manifest_reader *r, const char **ret,
		     size_t *ret_len)
{
	int rc;

	hm_buf_reset(&r->line);
	r->lineno++;
	for (;;) {
		if (r->rpos < r->rlen) {
			const char *p = r->rbuf + r->rpos;
			size_t avail = r->rlen - r->rpos;
			const char *nl = memchr(p, '\n', avail);
			size_t n = nl ? (size_t)(nl - p) : avail;

			if (r->line.len + n > HM_LIMIT_MANIFEST_LINE)
				return rerr(r, HM_ERR_LIMIT,
					    "line longer than %u bytes",
					    HM_LIMIT_MANIFEST_LINE);
			if (nl && r->line.len == 0) {
				/* The common case: the line is in the buffer. */
				r->rpos += n + 1;
				rc = check_bytes(r, p, n);
				if (rc < 0)
					return rc;
				*ret = p;
				*ret_len = n;
				return 1;
			}
			if (hm_buf_add(&r->line, p, n) < 0)
				return hm_error_nomem(&r->saved);
			r->rpos += n;
			if (nl) {
				r->rpos++;
				rc = check_bytes(r, r->line.data, r->line.len);
				if (rc < 0)
					return rc;
				*ret = r->line.data;
				*ret_len = r->line.len;
				return 1;
			}
		}
		if (r->eof) {
			if (r->line.len)
				return rerr(r, HM_ERR_INPUT,
					    "no newline at the end of the file");
			return 0;
		}
		rc = fill(r);
		if (rc < 0)
			return rc;
	}
}

static int header_line(struct hm_manifest_reader *r, const char **l,
		       size_t *n, const char *what)
{
	int rc = read_line(r, l, n);

	if (rc == 0)
		return rerr(r, HM_ERR_INPUT,
			    r->lineno == 1 ? "empty file, not a hallmark manifest" :
			    "the file ends in the header (expected '%s')", what);
	return rc;
}

static int parse_time_line(struct hm_manifest_reader *r, const char *l,
			   size_t n, const char *key, time_t *ret)
{
	size_t k = strlen(key);

	if (!has_prefix(l, n, key) || hm_time_parse(l + k, n - k, ret) < 0)
		return rerr(r, HM_ERR_INPUT,
			    "expected '%sYYYY-MM-DDTHH:MM:SSZ', got '%.*s'", key,
			    SHOWN(n), l);
	return 0;
}

/* ---- the runtime extension ---- */

/* Fields of a runtime line: at most 5, split at single spaces. */
#define RT_FIELDS 5

struct rt_line {
	size_t n;
	const char *f[RT_FIELDS];
	size_t len[RT_FIELDS];
};

/* Split at single spaces; an empty field (two spaces, a leading or
 * trailing one) or more than RT_FIELDS fields is an error. */
static int rt_split(const char *l, size_t n, struct rt_line *out)
{
	size_t i, start = 0;

	out->n = 0;
	for (i = 0; i <= n; i++) {
		if (i < n && l[i] != ' ')
			continue;
		if (i == start || out->n == RT_FIELDS)
			return -1;
		out->f[out->n] = l + start;
		out->len[out->n++] = i - start;
		start = i + 1;
	}
	return 0;
}

/* Unescape field k into a new string; the spelling must be the one
 * hm_escape gives (no other escapes of the same bytes). */
static int rt_field(struct hm_manifest_reader *r, const struct rt_line *t,
		    size_t k, char **ret)
{
	char q[QBUF], *d;
	size_t len;

	hm_buf_reset(&r->scratch);
	if (hm_unescape(&r->scratch, t->f[k], t->len[k]) < 0)
		goto bad;
	len = r->scratch.len;
	if (memchr(r->scratch.data, '\0', len))
		goto bad;
	if (!(d = strndup(r->scratch.data, len)))
		return hm_error_nomem(&r->saved);
	hm_buf_reset(&r->scratch);
	if (hm_escape(&r->scratch, d, len, 0) < 0) {
		free(d);
		return hm_error_nomem(&r->saved);
	}
	if (r->scratch.len != t->len[k] || memcmp(r->scratch.data, t->f[k], t->len[k])) {
		free(d);
		goto bad;
	}
	*ret = d;
	return 0;
bad:
	return rerr(r, HM_ERR_INPUT, "bad escape in '%s'",
		    quote(q, sizeof(q), t->f[k], t->len[k]));
}

/* Grow a runtime list by one zeroed item (n < HM_LIMIT_RUNTIME_LINES);
 * the storage doubles when n reaches a power of two. */
static void *rt_grow(void **v, size_t n, size_t size)
{
	if (n == 0 || (n & (n - 1)) == 0) {
		void *nv = realloc(*v, (n ? 2 * n : 1) * size);

		if (!nv)
			return NULL;
		*v = nv;
	}
	memset((char *)*v + n * size, 0, size);
	return (char *)*v + n * size;
}

enum { RT_LISTEN, RT_PROCESSES, RT_PROCESS, RT_MOUNT, RT_SYSCTL };

static int rt_kind(const struct rt_line *t)
{
	static const char *const kinds[] = {
		"listen", "processes", "process", "mount", "sysctl"
	};

	for (int k = 0; k < (int)(sizeof(kinds) / sizeof(kinds[0])); k++)
		if (equals(t->f[0], t->len[0], kinds[k]))
			return k;
	return -1;
}

static int rt_listen(struct hm_manifest_reader *r, struct hm_runtime_spec *s,
		     const struct rt_line *t)
{
	struct hm_runtime_listen *l;
	uint64_t port;

	if (t->n != 5)
		return rerr(r, HM_ERR_INPUT, "expected 'listen tcp|udp PORT ADDR|* EXE|*'");
	if (!(l = rt_grow((void **)&s->listen, s->n_listen, sizeof(*l))))
		return hm_error_nomem(&r->saved);
	s->n_listen++;
	if (!equals(t->f[1], t->len[1], "tcp") && !equals(t->f[1], t->len[1], "udp"))
		return rerr(r, HM_ERR_INPUT, "listen: protocol must be tcp or udp");
	memcpy(l->proto, t->f[1], 3);
	if (parse_u64(t->f[2], t->len[2], 65535, &port) < 0 || port == 0)
		return rerr(r, HM_ERR_INPUT, "listen: port must be 1..65535");
	l->port = (uint16_t)port;
	if (!equals(t->f[3], t->len[3], "*") && rt_field(r, t, 3, &l->addr) < 0)
		return r->saved.code;
	if (!equals(t->f[4], t->len[4], "*") && rt_field(r, t, 4, &l->exe) < 0)
		return r->saved.code;
	return 0;
}

static int rt_mount(struct hm_manifest_reader *r, struct hm_runtime_spec *s,
		    const struct rt_line *t)
{
	struct hm_runtime_mount *m;
	const char *p, *end;

	if (t->n != 2 && t->n != 3)
		return rerr(r, HM_ERR_INPUT, "expected 'mount PATH [OPTION,...]'");
	if (!(m = rt_grow((void **)&s->mounts, s->n_mounts, sizeof(*m))))
		return hm_error_nomem(&r->saved);
	s->n_mounts++;
	if (rt_field(r, t, 1, &m->path) < 0)
		return r->saved.code;
	if (t->n == 2)
		return 0;
	for (p = t->f[2], end = p + t->len[2]; p <= end; ) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t len = c ? (size_t)(c - p) : (size_t)(end - p);
		char **o;

		/* Options are short words; 16 bounds the list. */
		if (len == 0 || m->n_options == 16)
			return rerr(r, HM_ERR_INPUT, "mount: bad option list");
		if (!(o = rt_grow((void **)&m->options, m->n_options, sizeof(*o))) ||
		    !(*o = strndup(p, len)))
			return hm_error_nomem(&r->saved);
		m->n_options++;
		p += len + 1;
	}
	return 0;
}

static int rt_sysctl(struct hm_manifest_reader *r, struct hm_runtime_spec *s,
		     const struct rt_line *t)
{
	struct hm_runtime_sysctl *y;

	if (t->n != 2 && t->n != 3)
		return rerr(r, HM_ERR_INPUT, "expected 'sysctl KEY [VALUE]'");
	if (!(y = rt_grow((void **)&s->sysctl, s->n_sysctl, sizeof(*y))))
		return hm_error_nomem(&r->saved);
	s->n_sysctl++;
	if (rt_field(r, t, 1, &y->key) < 0)
		return r->saved.code;
	if (t->n == 3)
		return rt_field(r, t, 2, &y->value) < 0 ? r->saved.code : 0;
	if (!(y->value = strdup("")))
		return hm_error_nomem(&r->saved);
	return 0;
}

/*
 * The item just read, and the one before it of its kind, checked with
 * hm_runtime_spec_check on a view of the two: field rules and canonical
 * order line by line, so that the error names the line.
 */
static int rt_check_last(struct hm_manifest_reader *r,
			 const struct hm_runtime_spec *s, int kind)
{
	struct hm_runtime_spec v = { 0 };
	struct hm_error e = { 0 };

#define LAST2(list, n) do { \
		size_t k_ = (n) > 1 ? 2 : (n); \
		v.list = s->list + (n) - k_; v.n_##list = k_; \
	} while (0)
	switch (kind) {
	case RT_LISTEN:
		LAST2(listen, s->n_listen);
		break;
	case RT_PROCESS:
		v.processes_listed = true;
		v.processes = s->processes + (s->n_processes > 1 ? s->n_processes - 2 : 0);
		v.n_processes = s->n_processes > 1 ? 2 : s->n_processes;
		break;
	case RT_MOUNT:
		LAST2(mounts, s->n_mounts);
		break;
	case RT_SYSCTL:
		LAST2(sysctl, s->n_sysctl);
		break;
	default:
		return 0;
	}
#undef LAST2
	if (hm_runtime_spec_check(&v, &e) < 0)
		return rerr(r, HM_ERR_INPUT, "%s", e.msg);
	return 0;
}

/* "runtime N" and its N lines, into r->hdr.runtime. */
static int read_runtime(struct hm_manifest_reader *r, const char *l, size_t n)
{
	static const char *const order_msg =
		"runtime lines must come in the order listen, processes, process, mount, sysctl";
	struct hm_runtime_spec *s;
	struct rt_line t;
	uint64_t count, i;
	int rc, kind, prev = -1;

	if (parse_u64(l + 8, n - 8, UINT64_MAX, &count) < 0)
		return rerr(r, HM_ERR_INPUT, "expected 'runtime N', got '%.*s'",
			    SHOWN(n), l);
	if (count > HM_LIMIT_RUNTIME_LINES)
		return rerr(r, HM_ERR_LIMIT,
			    "%" PRIu64 " runtime lines, more than HM_LIMIT_RUNTIME_LINES (%u)",
			    count, HM_LIMIT_RUNTIME_LINES);
	if (!(s = r->hdr.runtime = calloc(1, sizeof(*s))))
		return hm_error_nomem(&r->saved);
	for (i = 0; i < count; i++) {
		rc = header_line(r, &l, &n, "a runtime line");
		if (rc < 0)
			return rc;
		if (rt_split(l, n, &t) < 0 || (kind = rt_kind(&t)) < 0) {
			if (has_prefix(l, n, "hash ") || has_prefix(l, n, "entries "))
				return rerr(r, HM_ERR_INPUT,
					    "the runtime section has fewer lines than the %" PRIu64 " it announces",
					    count);
			return rerr(r, HM_ERR_INPUT, "not a runtime line: '%.*s'",
				    SHOWN(n), l);
		}
		if (kind < prev || (kind == RT_PROCESSES && prev == RT_PROCESSES))
			return rerr(r, HM_ERR_INPUT, "%s", order_msg);
		switch (kind) {
		case RT_LISTEN:
			rc = rt_listen(r, s, &t);
			break;
		case RT_PROCESSES:
			rc = t.n == 1 ? 0 :
			     rerr(r, HM_ERR_INPUT, "expected 'processes' alone");
			s->processes_listed = true;
			break;
		case RT_PROCESS:
			if (!s->processes_listed)
				return rerr(r, HM_ERR_INPUT, "'process' without 'processes' before it");
			if (t.n != 2)
				return rerr(r, HM_ERR_INPUT, "expected 'process PATTERN'");
			rc = rt_grow((void **)&s->processes, s->n_processes,
				     sizeof(char *)) ? 0 : hm_error_nomem(&r->saved);
			if (rc == 0)
				rc = rt_field(r, &t, 1, &s->processes[s->n_processes++]);
			break;
		case RT_MOUNT:
			rc = rt_mount(r, s, &t);
			break;
		default:
			rc = rt_sysctl(r, s, &t);
			break;
		}
		if (rc == 0)
			rc = rt_check_last(r, s, kind);
		if (rc < 0)
			return rc;
		prev = kind;
	}
	return 0;
}

static int read_header(struct hm_manifest_reader *r)
{
	struct hm_manifest_header *h = &r->hdr;
	const char *l;
	size_t n;
	int rc;

	rc = header_line(r, &l, &n, "hallmark-manifest 1");
	if (rc < 0)
		return rc;
	if (!equals(l, n, "hallmark-manifest 1")) {
		if (has_prefix(l, n, "hallmark-manifest "))
			return rerr(r, HM_ERR_INPUT,
				    "unsupported manifest version '%.*s'",
				    SHOWN(n - 18), l + 18);
		return rerr(r, HM_ERR_INPUT,
			    "not a hallmark manifest (expected 'hallmark-manifest 1')");
	}
	h->version = HM_MANIFEST_VERSION;

	rc = header_line(r, &l, &n, "name NAME");
	if (rc < 0)
		return rc;
	if (!has_prefix(l, n, "name ") || n - 5 > HM_LIMIT_NAME_BYTES)
		return rerr(r, HM_ERR_INPUT, "expected 'name NAME', got '%.*s'",
			    SHOWN(n), l);
	memcpy(h->name, l + 5, n - 5);
	h->name[n - 5] = '\0';
	if (!hm_manifest_name_valid(h->name))
		return rerr(r, HM_ERR_INPUT, "invalid manifest name '%s'",
			    h->name);

	rc = header_line(r, &l, &n, "serial N");
	if (rc < 0)
		return rc;
	if (!has_prefix(l, n, "serial ") ||
	    parse_u64(l + 7, n - 7, UINT64_MAX, &h->serial) < 0)
		return rerr(r, HM_ERR_INPUT, "expected 'serial N', got '%.*s'",
			    SHOWN(n), l);

	rc = header_line(r, &l, &n, "created TIME");
	if (rc < 0)
		return rc;
	rc = parse_time_line(r, l, n, "created ", &h->created);
	if (rc < 0)
		return rc;

	rc = header_line(r, &l, &n, "expires TIME");
	if (rc < 0)
		return rc;
	if (equals(l, n, "expires never")) {
		h->expires = HM_EXPIRES_NEVER;
	} else {
		rc = parse_time_line(r, l, n, "expires ", &h->expires);
		if (rc < 0)
			return rc;
		/* The writer never makes one; refused so that readers can
		 * count on expires > created. */
		if (h->expires <= h->created)
			return rerr(r, HM_ERR_INPUT,
				    "the expiry time is not after the creation time");
	}

	rc = header_line(r, &l, &n, "template sha256:HEX");
	if (rc < 0)
		return rc;
	if (equals(l, n, "template none")) {
		h->template_digest[0] = '\0';
	} else if (has_prefix(l, n, "template ") &&
		   digest_valid(l + 9, n - 9)) {
		memcpy(h->template_digest, l + 9, n - 9);
		h->template_digest[n - 9] = '\0';
	} else {
		return rerr(r, HM_ERR_INPUT,
			    "expected 'template none' or 'template sha256:HEX', got '%.*s'",
			    SHOWN(n), l);
	}

	for (;;) {
		const char *kind, *sp;
		int k, prev = -1;

		rc = header_line(r, &l, &n, "hash sha256");
		if (rc < 0)
			return rc;
		if (!has_prefix(l, n, "image "))
			break;
		kind = l + 6;
		sp = memchr(kind, ' ', n - 6);
		k = sp ? image_kind_index(kind, (size_t)(sp - kind)) : -1;
		if (k < 0 || !digest_valid(sp + 1, (size_t)(l + n - sp - 1)))
			return rerr(r, HM_ERR_INPUT,
				    "expected 'image oci|qcow2|raw|tar sha256:HEX', got '%.*s'",
				    SHOWN(n), l);
		if (h->n_images)
			prev = image_kind_index(h->images[h->n_images - 1].kind,
						strlen(h->images[h->n_images - 1].kind));
		if (k <= prev || h->n_images >= HM_MANIFEST_MAX_IMAGES)
			return rerr(r, HM_ERR_INPUT,
				    "image kinds out of order or repeated: '%s' after '%s'",
				    image_kinds[k], image_kinds[prev]);
		memcpy(h->images[h->n_images].kind, image_kinds[k],
		       strlen(image_kinds[k]) + 1);
		memcpy(h->images[h->n_images].digest, sp + 1, 71);
		h->images[h->n_images].digest[71] = '\0';
		h->n_images++;
	}
	if (has_prefix(l, n, "runtime ")) {
		rc = read_runtime(r, l, n);
		if (rc < 0)
			return rc;
		rc = header_line(r, &l, &n, "hash sha256");
		if (rc < 0)
			return rc;
	}
	if (!equals(l, n, "hash sha256")) {
		if (has_prefix(l, n, "hash "))
			return rerr(r, HM_ERR_INPUT,
				    "unsupported hash algorithm '%.*s'",
				    SHOWN(n - 5), l + 5);
		return rerr(r, HM_ERR_INPUT, "expected 'hash sha256', got '%.*s'",
			    SHOWN(n), l);
	}

	rc = header_line(r, &l, &n, "entries N");
	if (rc < 0)
		return rc;
	if (!has_prefix(l, n, "entries ") ||
	    parse_u64(l + 8, n - 8, UINT64_MAX, &h->entries) < 0)
		return rerr(r, HM_ERR_INPUT, "expected 'entries N', got '%.*s'",
			    SHOWN(n), l);
	if (h->entries > HM_LIMIT_MANIFEST_ENTRIES)
		return rerr(r, HM_ERR_LIMIT,
			    "%" PRIu64 " entries, more than the limit of %llu",
			    h->entries, HM_LIMIT_MANIFEST_ENTRIES);
	return 0;
}

enum key { K_TYPE, K_MODE, K_UID, K_GID, K_SIZE, K_SHA256, K_TARGET, K_RDEV,
	   K_XATTR, K_UNKNOWN };

static const char *const key_names[] = {
	"type", "mode", "uid", "gid", "size", "sha256", "target", "rdev",
};

static enum key key_of(const char *k, size_t len)
{
	unsigned i;

	for (i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
		if (equals(k, len, key_names[i]))
			return (enum key)i;
	if (has_prefix(k, len, "xattr."))
		return K_XATTR;
	return K_UNKNOWN;
}

/* The fields every entry of type t has, in their fixed order. */
static size_t fields_of(enum hm_type t, enum key seq[6])
{
	size_t n = 0;

	seq[n++] = K_TYPE;
	if (t == HM_TYPE_NONE)
		return n;
	seq[n++] = K_MODE;
	seq[n++] = K_UID;
	seq[n++] = K_GID;
	if (t == HM_TYPE_FILE) {
		seq[n++] = K_SIZE;
		seq[n++] = K_SHA256;
	} else if (t == HM_TYPE_SYMLINK) {
		seq[n++] = K_TARGET;
	} else if (t == HM_TYPE_CHAR || t == HM_TYPE_BLOCK) {
		seq[n++] = K_RDEV;
	}
	return n;
}

static bool key_applies(enum key k, enum hm_type t)
{
	enum key seq[6];
	size_t i, n = fields_of(t, seq);

	for (i = 0; i < n; i++)
		if (seq[i] == k)
			return true;
	return false;
}

/*
 * Unescape into r->scratch.  hm_unescape() accepts "\075" because xattr
 * names escape '='; in paths and targets it is not canonical.
 */
static int unescape_field(struct hm_manifest_reader *r, const char *s,
			  size_t len, bool allow_eq)
{
	hm_buf_reset(&r->scratch);
	if (hm_unescape(&r->scratch, s, len) < 0)
		return -1;
	if (!allow_eq && memmem(s, len, "\\075", 4))
		return -1;
	if (!r->scratch.data && hm_buf_grow(&r->scratch, 0) < 0)
		return -1;
	return 0;
}

static int parse_u32(const char *s, size_t len, uint32_t *ret)
{
	uint64_t v;

	if (parse_u64(s, len, UINT32_MAX, &v) < 0)
		return -1;
	*ret = (uint32_t)v;
	return 0;
}

static int parse_xattr(struct hm_manifest_reader *r, const char *name,
		       size_t nlen, const char *v, size_t vn, uint64_t *total)
{
	struct hm_entry *e = &r->entry;
	size_t len = vn / 2;

	if (e->n_xattrs >= HM_LIMIT_XATTRS)
		return rerr(r, HM_ERR_LIMIT, "more than %u xattrs",
			    HM_LIMIT_XATTRS);
	if (unescape_field(r, name, nlen, true) < 0)
		return rerr(r, HM_ERR_INPUT, "invalid escape in xattr name '%.*s'",
			    SHOWN(nlen), name);
	if (r->scratch.len == 0)
		return rerr(r, HM_ERR_INPUT, "empty xattr name");
	if (r->scratch.len > HM_LIMIT_XATTR_NAME_BYTES)
		return rerr(r, HM_ERR_LIMIT, "xattr name longer than %u bytes",
			    HM_LIMIT_XATTR_NAME_BYTES);
	if (e->n_xattrs &&
	    strcmp(e->xattrs[e->n_xattrs - 1].name, r->scratch.data) >= 0)
		return rerr(r, HM_ERR_INPUT,
			    "xattrs out of order or repeated at 'xattr.%.*s'",
			    SHOWN(nlen), name);
	if (len > HM_LIMIT_XATTR_VALUE_BYTES)
		return rerr(r, HM_ERR_LIMIT, "xattr value longer than %u bytes",
			    HM_LIMIT_XATTR_VALUE_BYTES);
	*total += len;
	if (*total > HM_LIMIT_XATTR_TOTAL_BYTES)
		return rerr(r, HM_ERR_LIMIT, "xattr values larger than %u bytes",
			    HM_LIMIT_XATTR_TOTAL_BYTES);
	if (vn % 2 || hm_hex_decode(v, vn, r->xval, len) < 0)
		return rerr(r, HM_ERR_INPUT,
			    "invalid value of 'xattr.%.*s' (lowercase hex)",
			    SHOWN(nlen), name);
	if (hm_entry_add_xattr(e, r->scratch.data, r->xval, len) < 0)
		return hm_error_nomem(&r->saved);
	return 0;
}

static int parse_value(struct hm_manifest_reader *r, enum key k,
		       const char *v, size_t vn)
{
	struct hm_entry *e = &r->entry;
	const char *comma;
	size_t i;

	switch (k) {
	case K_TYPE:
		e->type = hm_type_from_name(v, vn);
		if (e->type == HM_TYPE_NONE)
			return rerr(r, HM_ERR_INPUT, "unknown type '%.*s'",
				    SHOWN(vn), v);
		return 0;
	case K_MODE:
		if (vn != 4)
			goto bad;
		e->mode = 0;
		for (i = 0; i < 4; i++) {
			if (v[i] < '0' || v[i] > '7')
				goto bad;
			e->mode = e->mode << 3 | (uint32_t)(v[i] - '0');
		}
		return 0;
	case K_UID:
		return parse_u32(v, vn, &e->uid) < 0 ? -1 : 0;
	case K_GID:
		return parse_u32(v, vn, &e->gid) < 0 ? -1 : 0;
	case K_SIZE:
		return parse_u64(v, vn, UINT64_MAX, &e->size) < 0 ? -1 : 0;
	case K_SHA256:
		if (hm_hex_decode(v, vn, e->sha256, HM_SHA256_LEN) < 0)
			goto bad;
		e->flags |= HM_ENTRY_HAS_DIGEST;
		return 0;
	case K_TARGET:
		if (unescape_field(r, v, vn, false) < 0)
			return rerr(r, HM_ERR_INPUT, "invalid escape in target '%.*s'",
				    SHOWN(vn), v);
		if (r->scratch.len == 0)
			return rerr(r, HM_ERR_INPUT, "empty symlink target");
		if (r->scratch.len > HM_LIMIT_TARGET_BYTES)
			return rerr(r, HM_ERR_LIMIT,
				    "symlink target longer than %u bytes",
				    HM_LIMIT_TARGET_BYTES);
		if (hm_entry_set_target(e, r->scratch.data, r->scratch.len) < 0)
			return hm_error_nomem(&r->saved);
		return 0;
	case K_RDEV:
		comma = memchr(v, ',', vn);
		if (!comma ||
		    parse_u32(v, (size_t)(comma - v), &e->rdev_major) < 0 ||
		    parse_u32(comma + 1, (size_t)(v + vn - comma - 1),
			      &e->rdev_minor) < 0)
			goto bad;
		return 0;
	default:
		break;
	}
bad:
	return -1;
}

static int parse_entry(struct hm_manifest_reader *r, const char *l, size_t n)
{
	struct hm_entry *e = &r->entry;
	const char *p = l, *end = l + n, *tok_end;
	enum key seq[6];
	size_t nseq, si = 0;
	unsigned seen = 0;
	uint64_t xtotal = 0;
	const char *why;
	int rc;

	hm_entry_clear(e);
	if (n == 0)
		return rerr(r, HM_ERR_INPUT, "empty line");
	tok_end = memchr(p, ' ', n);
	if (!tok_end)
		tok_end = end;
	if (unescape_field(r, p, (size_t)(tok_end - p), false) < 0)
		return rerr(r, HM_ERR_INPUT, "invalid escape in path '%.*s'",
			    SHOWN(tok_end - p), p);
	if (r->scratch.len > HM_LIMIT_PATH_BYTES)
		return rerr(r, HM_ERR_LIMIT, "path longer than %u bytes",
			    HM_LIMIT_PATH_BYTES);
	if ((why = path_problem(r->scratch.data, r->scratch.len)))
		return rerr(r, HM_ERR_INPUT, "invalid path '%.*s': %s",
			    SHOWN(tok_end - p), p, why);
	if (hm_entry_set_path(e, r->scratch.data, r->scratch.len) < 0)
		return hm_error_nomem(&r->saved);

	nseq = fields_of(HM_TYPE_NONE, seq);
	for (p = tok_end; p < end; p = tok_end) {
		const char *key = p + 1, *eq, *v;
		size_t klen, vn;
		enum key k;

		tok_end = memchr(key, ' ', (size_t)(end - key));
		if (!tok_end)
			tok_end = end;
		if (tok_end == key)
			return rerr(r, HM_ERR_INPUT, "empty field (two spaces, or a space at the end)");
		eq = memchr(key, '=', (size_t)(tok_end - key));
		if (!eq)
			return rerr(r, HM_ERR_INPUT, "field '%.*s' is not KEY=VALUE",
				    SHOWN(tok_end - key), key);
		klen = (size_t)(eq - key);
		v = eq + 1;
		vn = (size_t)(tok_end - v);
		k = key_of(key, klen);
		if (k == K_UNKNOWN)
			return rerr(r, HM_ERR_INPUT, "unknown key '%.*s'",
				    SHOWN(klen), key);
		if (si < nseq && k == seq[si]) {
			if (parse_value(r, k, v, vn) < 0) {
				if (r->saved.code)
					return r->saved.code;
				return rerr(r, HM_ERR_INPUT, "invalid value '%.*s' of '%s'",
					    SHOWN(vn), v, key_names[k]);
			}
			if (k == K_TYPE)
				nseq = fields_of(e->type, seq);
			seen |= 1u << k;
			si++;
			continue;
		}
		if (k == K_XATTR) {
			if (si < nseq)
				return rerr(r, HM_ERR_INPUT, "missing field '%s'",
					    key_names[seq[si]]);
			rc = parse_xattr(r, key + 6, klen - 6, v, vn, &xtotal);
			if (rc < 0)
				return rc;
			continue;
		}
		if (seen & (1u << k))
			return rerr(r, HM_ERR_INPUT, "repeated field '%s'",
				    key_names[k]);
		if (si >= 1 && !key_applies(k, e->type))
			return rerr(r, HM_ERR_INPUT,
				    "field '%s' does not apply to type %s",
				    key_names[k], hm_type_name(e->type));
		return rerr(r, HM_ERR_INPUT, "field '%s' out of order (expected '%s')",
			    key_names[k], key_names[seq[si]]);
	}
	if (si < nseq)
		return rerr(r, HM_ERR_INPUT, "missing field '%s'",
			    key_names[seq[si]]);

	rc = tree_check_add(&r->tc, e->path, e->path_len, e->type == HM_TYPE_DIR,
			    &r->saved);
	if (rc < 0)
		return hm_error_prefix(&r->saved, "%s:%" PRIu64, r->name,
				       r->lineno);
	return 0;
}

/* After the last entry: nothing may follow. */
static int expect_eof(struct hm_manifest_reader *r)
{
	int rc;

	if (r->rpos == r->rlen && !r->eof) {
		rc = fill(r);
		if (rc < 0)
			return rc;
	}
	if (r->rpos < r->rlen) {
		r->lineno++;
		return rerr(r, HM_ERR_INPUT,
			    "data after the last of %" PRIu64 " entries",
			    r->hdr.entries);
	}
	return 0;
}

static int reader_next(struct hm_manifest_reader *r,
		       const struct hm_entry **ret)
{
	const char *l;
	size_t n;
	int rc;

	if (r->n_read == r->hdr.entries) {
		rc = expect_eof(r);
		if (rc < 0)
			return rc;
		if (r->hash) {
			if (hm_hash_final(r->hash, r->sha256) < 0)
				return hm_error_set(&r->saved, HM_ERR_NOMEM, 0,
						    "cannot hash '%s'", r->name);
			r->have_sha256 = true;
		}
		hm_entry_clear(&r->entry);
		r->state = R_DONE;
		return 0;
	}
	rc = read_line(r, &l, &n);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return rerr(r, HM_ERR_INPUT,
			    "the file ends after %" PRIu64 " of %" PRIu64 " entries",
			    r->n_read, r->hdr.entries);
	rc = parse_entry(r, l, n);
	if (rc < 0)
		return rc;
	r->n_read++;
	*ret = &r->entry;
	return 1;
}

int hm_manifest_reader_next(struct hm_manifest_reader *r,
			    const struct hm_entry **ret, struct hm_error *err)
{
	int rc;

	if (r->state == R_DONE)
		return 0;
	if (r->state == R_ACTIVE) {
		hm_error_clear(&r->saved);
		rc = reader_next(r, ret);
		if (rc >= 0)
			return rc;
		if (!r->saved.code)
			hm_error_set(&r->saved, rc, 0, "%s: cannot read", r->name);
		r->state = rc;
	}
	if (err)
		*err = r->saved;
	return r->state;
}

static int source_next(struct hm_source *src, const struct hm_entry **ret,
		       struct hm_error *err)
{
	return hm_manifest_reader_next((struct hm_manifest_reader *)src, ret,
				       err);
}

static void source_free(struct hm_source *src)
{
	hm_manifest_reader_free((struct hm_manifest_reader *)src);
}

static const struct hm_source_ops reader_source_ops = {
	.kind = "manifest",
	.next = source_next,
	.free = source_free,
};

int hm_manifest_reader_open(int fd, const char *name, unsigned flags,
			    struct hm_manifest_reader **ret,
			    struct hm_error *err)
{
	struct hm_manifest_reader *r;
	int rc;

	r = calloc(1, sizeof(*r));
	if (!r)
		return hm_error_nomem(err);
	r->src.ops = &reader_source_ops;
	r->fd = fd;
	r->flags = flags;
	r->name = strdup(name ? name : "manifest");
	r->rbuf = malloc(READ_CHUNK);
	r->xval = malloc(HM_LIMIT_XATTR_VALUE_BYTES);
	if (!r->name || !r->rbuf || !r->xval) {
		rc = hm_error_nomem(err);
		goto fail;
	}
	if (flags & HM_MANIFEST_HASH) {
		r->hash = hm_hash_new(HM_HASH_SHA256);
		if (!r->hash) {
			rc = hm_error_nomem(err);
			goto fail;
		}
	}
	rc = read_header(r);
	if (rc < 0) {
		if (err)
			*err = r->saved;
		goto fail;
	}
	*ret = r;
	return 0;
fail:
	hm_manifest_reader_free(r);
	return rc;
}

const struct hm_manifest_header *
hm_manifest_reader_header(const struct hm_manifest_reader *r)
{
	return &r->hdr;
}

int hm_manifest_reader_sha256(const struct hm_manifest_reader *r,
			      unsigned char out[32])
{
	if (!r->have_sha256)
		return HM_ERR_USAGE;
	memcpy(out, r->sha256, HM_SHA256_LEN);
	return 0;
}

struct hm_source *hm_manifest_reader_source(struct hm_manifest_reader *r)
{
	return &r->src;
}

void hm_manifest_reader_free(struct hm_manifest_reader *r)
{
	if (!r)
		return;
	hm_hash_free(r->hash);
	free(r->name);
	free(r->rbuf);
	free(r->xval);
	hm_buf_free(&r->line);
	hm_buf_free(&r->scratch);
	hm_entry_clear(&r->entry);
	tree_check_free(&r->tc);
	hm_runtime_spec_free(r->hdr.runtime);
	free(r);
}
