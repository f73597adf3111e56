/*
 * Bases (builder/base.h): the starting tree of a build, read from a tar
 * stream into a tree (metadata) and the blob store (contents).
 *
 * The tar source does the parsing and refuses hostile members ("../"
 * paths, duplicates, hard links to outside or to themselves, truncated
 * streams, sizes over the limits); it hands each regular file's bytes to
 * the content sink below as it reads them, so a base is read once, never
 * extracted, and its contents land in the store by digest.  Hard links of
 * the base become independent files with the same digest (one blob);
 * devices, FIFOs and sockets stay entries without content.
 *
 * Debian bases are tar files made by mmdebstrap and cached by the SHA-256
 * of a canonical text of their inputs, mmdebstrap's version and the host's
 * machine type included, so that a second build with the same inputs does
 * not download again and a changed input never reuses a stale base.
 * mmdebstrap is run with posix_spawnp and an argv array (no shell of
 * ours), and SOURCE_DATE_EPOCH reaches it through the environment, which
 * makes its tar reproducible.  Its output comes back through a pipe: each
 * line is progress for the front-end (the live line shows the stage it is
 * in, --verbose every line) and the last ones are kept in bounded memory,
 * so that its failure says what it said ("E: Unable to locate package").
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base.h"
#include "base_private.h"
#include "hallmark/buf.h"
#include "hallmark/cleanup.h"
#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/manifest.h"
#include "hallmark/process.h"
#include "hallmark/source_tar.h"

/* ---- import of a tar stream ------------------------------------------- */

/*
 * A base's contents land in the blob store, on disk: a decompression bomb
 * must stop before it fills the disk.  Real root file systems compress
 * about 3:1; the limit allows BASE_RATIO times the base file's size, and
 * never less than BASE_FLOOR.
 */
#define BASE_RATIO 100u
#define BASE_FLOOR (256ull << 20)

static int sink_init(struct hm_base_sink *s, struct hm_blobstore *store,
		     const char *path, struct hm_error *err)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->store = store;
	s->path = path;
	if (stat(path, &st) < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", path);
	s->limit = (uint64_t)st.st_size * BASE_RATIO;
	if (s->limit < BASE_FLOOR)
		s->limit = BASE_FLOOR;
	return 0;
}

/* An entry's path, escaped for messages (bytes of a hostile archive must
 * not reach a terminal raw).  Falls back to "?" without memory. */
static const char *quoted(struct hm_buf *b, const struct hm_entry *e)
{
	hm_buf_reset(b);
	if (hm_escape(b, e->path, e->path_len, 0) < 0 || !b->data)
		return "?";
	return b->data;
}

int hm_base_sink_begin(void *ctx, const struct hm_entry *e, struct hm_error *err)
{
	struct hm_base_sink *s = ctx;

	s->cur = e;
	hm_blob_abort(s->w);
	s->w = NULL;
	return hm_blob_begin(s->store, &s->w, err);
}

int hm_base_sink_data(void *ctx, const void *buf, size_t len,
		     struct hm_error *err)
{
	struct hm_base_sink *s = ctx;

	if (!s->w)
		return hm_error_set(err, HM_ERR_IO, 0,
				    "content sink: data before begin");
	s->stored += len;
	if (s->stored > s->limit) {
		struct hm_buf q = HM_BUF_INIT;
		int r = hm_error_set(err, HM_ERR_LIMIT, 0,
				     "'%s': contents exceed %llu bytes at '%s' (%u times the base's size): a decompression bomb?",
				     s->path, (unsigned long long)s->limit,
				     s->cur ? quoted(&q, s->cur) : "?", BASE_RATIO);

		hm_buf_free(&q);
		return r;
	}
	return hm_blob_write(s->w, buf, len, err);
}

int hm_base_sink_end(void *ctx, struct hm_entry *e, struct hm_error *err)
{
	struct hm_base_sink *s = ctx;
	struct hm_buf q = HM_BUF_INIT;
	unsigned char md[32];
	uint64_t size = 0;
	int r;

	if (!s->w)
		return hm_error_set(err, HM_ERR_IO, 0,
				    "content sink: end before begin");
	r = hm_blob_commit(s->w, md, &size, err);
	s->w = NULL;
	if (r < 0)
		return r;
	/* Defence in depth: what the store holds is what the source hashed
	 * and what the tree will say. */
	if (!(e->flags & HM_ENTRY_HAS_DIGEST) || memcmp(md, e->sha256, 32) != 0 ||
	    size != e->size) {
		r = hm_error_set(err, HM_ERR_IO, 0,
				 "'%s': the stored content differs from the content read from the stream",
				 quoted(&q, e));
		hm_buf_free(&q);
		return r;
	}
	return 0;
}

/* A file entry's content must be in the store by now: stored by the sink
 * (or, for a hard link, stored for the file it links to). */
static int check_blob(struct hm_blobstore *store, const struct hm_entry *e,
		      struct hm_error *err)
{
	struct hm_buf q = HM_BUF_INIT;
	int fd, r;

	if (!(e->flags & HM_ENTRY_HAS_DIGEST)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "'%s': no content could be read", quoted(&q, e));
		goto out;
	}
	r = hm_blob_open(store, e->sha256, &fd, err);
	if (r < 0) {
		hm_error_prefix(err, "'%s': content not stored", quoted(&q, e));
		goto out;
	}
	close(fd);
out:
	hm_buf_free(&q);
	return r;
}

struct check_ctx {
	struct hm_blobstore *store;
	struct hm_error *err;
};

static bool is_whiteout_name(const struct hm_entry *e)
{
	const char *base = memrchr(e->path, '/', e->path_len);

	base = base ? base + 1 : e->path;
	return (size_t)(e->path + e->path_len - base) >= 4 && !memcmp(base, ".wh.", 4);
}

static int check_entry(void *ctx, const struct hm_entry *e)
{
	struct check_ctx *c = ctx;
	struct hm_buf q = HM_BUF_INIT;
	int r;

	if (e->flags & HM_ENTRY_DELETED) {
		r = hm_error_set(c->err, HM_ERR_INPUT, 0,
				 "'%s': a whiteout in a base tarball", quoted(&q, e));
		hm_buf_free(&q);
		return r;
	}
	/* The OCI layer emitted from the tree would read such a name as a
	 * whiteout, and the image would not match its own manifest. */
	if (is_whiteout_name(e)) {
		r = hm_error_set(c->err, HM_ERR_INPUT, 0,
				 "'%s': a name starting with '.wh.' reads as a whiteout in an OCI layer",
				 quoted(&q, e));
		hm_buf_free(&q);
		return r;
	}
	if (e->type == HM_TYPE_FILE)
		return check_blob(c->store, e, c->err);
	return 0;
}

int hm_base_import_tar(const char *path, struct hm_blobstore *store,
		       struct hm_tree **ret, struct hm_error *err)
{
	struct hm_base_sink s;
	struct hm_content_sink sink = { hm_base_sink_begin, hm_base_sink_data, hm_base_sink_end, &s };
	struct check_ctx c = { store, err };
	struct hm_scan_options opt;
	struct hm_tree *t = NULL;
	int r;

	if ((r = sink_init(&s, store, path, err)) < 0)
		return r;
	memset(&opt, 0, sizeof(opt));
	opt.sink = &sink;
	/* The tar reader builds the tree itself: the base's tree is that
	 * one, no copy.  Its messages name the file and the member. */
	r = hm_tar_read_tree(path, &opt, &t, err);
	if (r < 0)
		goto out;
	r = hm_tree_walk(t, check_entry, &c);
	if (r < 0) {
		hm_error_prefix(err, "'%s'", path);
		goto out;
	}
	*ret = t;
	t = NULL;
	r = 0;
out:
	/* A stream that failed inside a file leaves its writer open. */
	hm_blob_abort(s.w);
	hm_tree_free(t);
	return r;
}

/*
 * An OCI image archive or docker-archive as a base: the OCI source checks
 * every blob's digest and applies the layers with their whiteouts; its
 * sink stores the contents (of every layer: a file replaced by a later
 * layer leaves an unused blob, which the content-addressed store
 * tolerates).  Tombstones are not part of the base.
 */
int hm_base_import_oci(const char *path, struct hm_blobstore *store,
		       struct hm_tree **ret, struct hm_error *err)
{
	struct hm_base_sink s;
	struct hm_content_sink sink = { hm_base_sink_begin, hm_base_sink_data, hm_base_sink_end, &s };
	struct check_ctx c = { store, err };
	struct hm_scan_options opt;
	struct hm_source *src = NULL;
	const struct hm_entry *e;
	struct hm_tree *t = NULL;
	int r;

	if ((r = sink_init(&s, store, path, err)) < 0)
		return r;
	memset(&opt, 0, sizeof(opt));
	opt.sink = &sink;
	if ((r = hm_source_oci_open(path, false, &opt, &src, err)) < 0 ||
	    (r = hm_tree_new(&t, err)) < 0)
		goto out;
	while ((r = hm_source_next(src, &e, err)) > 0) {
		struct hm_entry *copy;

		if (e->flags & HM_ENTRY_DELETED)
			continue;
		copy = hm_entry_new();
		if (!copy || hm_entry_copy(copy, e) < 0) {
			hm_entry_free(copy);
			r = hm_error_nomem(err);
			goto out;
		}
		/* In the built image, everything comes from the build. */
		free(copy->origin_name);
		copy->origin_name = NULL;
		copy->origin = 0;
		if ((r = hm_tree_put_take(t, copy, true, err)) < 0)
			goto out;
	}
	if (r < 0)
		goto out;
	r = hm_tree_walk(t, check_entry, &c);
	if (r < 0) {
		hm_error_prefix(err, "'%s'", path);
		goto out;
	}
	*ret = t;
	t = NULL;
	r = 0;
out:
	hm_blob_abort(s.w);
	hm_source_free(src);
	hm_tree_free(t);
	return r;
}

/* ---- Debian bases by mmdebstrap ---------------------------------------- */

/*
 * Customize hooks given to mmdebstrap (run by mmdebstrap's own shell on
 * the finished root).  mmdebstrap copies the host's resolv.conf and
 * hostname into the image: drop both, or the base would leak the build
 * host and differ from one host to the next.  Part of the cache key.
 */
static const char *const debian_hooks[] = {
	"--customize-hook=rm -f \"$1/etc/resolv.conf\" \"$1/etc/hostname\"",
};

#define DEBIAN_DEFAULT_VARIANT "minbase"
#define MMDEBSTRAP_VERSION_MAX 4096

/* A word that goes to mmdebstrap's command line and the key's text: not
 * empty, no line breaks (the key text is line-based), no leading '-' (it
 * would be read as an option), no ',' in list items. */
static int debian_word_ok(const char *what, const char *s, bool list_item,
			  struct hm_error *err)
{
	if (!s || !*s || s[0] == '-' || strpbrk(s, "\n\r") ||
	    (list_item && strchr(s, ',')))
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "debian base: invalid %s '%s'", what, s ? s : "");
	return 0;
}

static int debian_check(const struct hm_tpl_base *b, struct hm_error *err)
{
	size_t i;
	int r;

	if ((r = debian_word_ok("suite", b->suite, false, err)) < 0)
		return r;
	if (b->variant && (r = debian_word_ok("variant", b->variant, false, err)) < 0)
		return r;
	if (b->mirror && (r = debian_word_ok("mirror", b->mirror, false, err)) < 0)
		return r;
	for (i = 0; i < b->n_packages; i++)
		if ((r = debian_word_ok("package", b->packages[i], true, err)) < 0)
			return r;
	return 0;
}

/*
 * The cache key: SHA-256 (hex) of a canonical text of everything that
 * decides mmdebstrap's output.  The text goes to *text (for the .inputs
 * file beside the cached tar).  version is the first line of
 * `mmdebstrap --version`.
 */
int hm_base_debian_cache_key(const struct hm_tpl_base *b, const char *version,
			    struct hm_buf *text, char key[65],
			    struct hm_error *err)
{
	unsigned char md[32];
	struct utsname u;
	size_t i;
	int r = 0;

	if (uname(&u) < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot get the machine type");
	hm_buf_reset(text);
	r |= hm_buf_adds(text, "mmdebstrap\n");
	r |= hm_buf_addf(text, "suite=%s\n", b->suite);
	r |= hm_buf_addf(text, "variant=%s\n",
			 b->variant ? b->variant : DEBIAN_DEFAULT_VARIANT);
	r |= hm_buf_adds(text, "packages=");
	for (i = 0; i < b->n_packages; i++)
		r |= hm_buf_addf(text, "%s%s", i ? "," : "", b->packages[i]);
	r |= hm_buf_addf(text, "\nmirror=%s\n", b->mirror ? b->mirror : "");
	r |= hm_buf_addf(text, "version=%s\n", version);
	r |= hm_buf_addf(text, "machine=%s\n", u.machine);
	for (i = 0; i < sizeof(debian_hooks) / sizeof(debian_hooks[0]); i++)
		r |= hm_buf_addf(text, "hook=%s\n", debian_hooks[i]);
	if (r < 0 || hm_hash_buf(HM_HASH_SHA256, text->data, text->len, md) < 0)
		return hm_error_nomem(err);
	hm_hex_encode(md, 32, key);
	return 0;
}

/*
 * Wait for pid; 0 if it exited 0, else HM_ERR_IO naming how it ended and
 * quoting what it said (log, may be NULL: then nothing is quoted).
 */
static int wait_child(pid_t pid, const char *what, const struct hm_tool_log *log,
		      struct hm_error *err)
{
	char said[HM_ERROR_MSG_MAX / 2], how[64];
	int status, r;

	if ((r = hm_spawn_wait(pid, &status)) != 0)
		return hm_error_set(err, HM_ERR_IO, r, "cannot wait for %s", what);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(status));
	else
		snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
	said[0] = '\0';
	if (log)
		hm_tool_log_summary(log, said, sizeof(said));
	if (!said[0])
		return hm_error_set(err, HM_ERR_IO, 0, "%s failed (%s) without a message",
				    what, how);
	return hm_error_set(err, HM_ERR_IO, 0, "%s failed (%s):\n%s", what, how, said);
}

/* Run argv with stdin from /dev/null, stdout on stdout_fd and stderr on
 * stderr_fd (each: ours when < 0). */
static int spawn(char *const argv[], int stdout_fd, int stderr_fd,
		 pid_t *ret_pid, struct hm_error *err)
{
	const struct hm_spawn sp = {
		.argv = argv,
		.out_fd = stdout_fd < 0 ? HM_SPAWN_KEEP : stdout_fd,
		.err_fd = stderr_fd < 0 ? HM_SPAWN_KEEP : stderr_fd,
		.fd3 = -1,
	};
	int r = hm_spawn(&sp, ret_pid);

	return r ? hm_error_set(err, HM_ERR_IO, r, "cannot run '%s'", argv[0]) : 0;
}

/* The first line of `mmdebstrap --version`, e.g. "mmdebstrap 1.3.5". */
static int mmdebstrap_version(struct hm_buf *out, struct hm_error *err)
{
	char *const argv[] = { (char *)"mmdebstrap", (char *)"--version", NULL };
	char buf[512];
	int p[2] = { -1, -1 }, r, rw;
	pid_t pid = -1;
	size_t cut;

	hm_buf_reset(out);
	if (pipe2(p, O_CLOEXEC) < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot create a pipe");
	r = spawn(argv, p[1], -1, &pid, err);
	close(p[1]);
	if (r < 0) {
		close(p[0]);
		return hm_error_prefix(err, "debian bases need mmdebstrap");
	}
	for (;;) {
		ssize_t n = read(p[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* Keep reading to the end so the child never blocks. */
		if (out->len < MMDEBSTRAP_VERSION_MAX &&
		    hm_buf_add(out, buf, (size_t)n) < 0)
			r = hm_error_nomem(err);
	}
	close(p[0]);
	rw = wait_child(pid, "'mmdebstrap --version'", NULL, r < 0 ? NULL : err);
	if (r < 0)
		return r;
	if (rw < 0)
		return rw;
	cut = 0;
	while (cut < out->len && out->data[cut] != '\n')
		cut++;
	while (cut && (out->data[cut - 1] == ' ' || out->data[cut - 1] == '\t' ||
		       out->data[cut - 1] == '\r'))
		cut--;
	if (!cut)
		return hm_error_set(err, HM_ERR_IO, 0,
				    "'mmdebstrap --version' printed nothing");
	out->len = cut;
	out->data[cut] = '\0';
	return 0;
}

/* Run mmdebstrap into a private temporary folder beside the cache file,
 * then rename the tar into place. */
static int debian_build(const struct hm_tpl_base *b, const char *cache_dir,
			const char *key, const char *cache_tar, int inputs_slot,
			struct hm_progress *progress, struct hm_error *err)
{
	sigset_t old;
	struct hm_tool_log *log = NULL;
	int p[2] = { -1, -1 };
	enum { N_HOOKS = sizeof(debian_hooks) / sizeof(debian_hooks[0]) };
	char *argv[10 + N_HOOKS];
	struct hm_buf variant = HM_BUF_INIT, include = HM_BUF_INIT;
	char *tmpdir = NULL, *out = NULL;
	int slot;
	size_t i, n = 0;
	pid_t pid;
	int r = 0;

	if (asprintf(&tmpdir, "%s/.debian-%s.tmp-XXXXXX", cache_dir, key) < 0) {
		tmpdir = NULL;
		return hm_error_nomem(err);
	}
	if (!mkdtemp(tmpdir)) {
		r = hm_error_set(err, HM_ERR_IO, errno,
				 "cannot create a folder in '%s'", cache_dir);
		free(tmpdir);
		return r;
	}
	/* Ctrl-C during the long bootstrap leaves no folder behind. */
	slot = hm_cleanup_add(tmpdir, true);
	if (asprintf(&out, "%s/base.tar", tmpdir) < 0) {
		out = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	r |= hm_buf_addf(&variant, "--variant=%s",
			 b->variant ? b->variant : DEBIAN_DEFAULT_VARIANT);
	if (b->n_packages) {
		r |= hm_buf_adds(&include, "--include=");
		for (i = 0; i < b->n_packages; i++)
			r |= hm_buf_addf(&include, "%s%s", i ? "," : "", b->packages[i]);
	}
	if (r < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	/* Not --quiet: its "I: downloading packages..." lines say which of
	 * its stages a long bootstrap is in. */
	argv[n++] = (char *)"mmdebstrap";
	argv[n++] = variant.data;
	if (b->n_packages)
		argv[n++] = include.data;
	for (i = 0; i < N_HOOKS; i++)
		argv[n++] = (char *)debian_hooks[i];
	argv[n++] = (char *)"--";   /* the inputs are checked, but still */
	argv[n++] = b->suite;
	argv[n++] = out;
	if (b->mirror)
		argv[n++] = b->mirror;
	argv[n] = NULL;
	if (!(log = calloc(1, sizeof(*log)))) {
		r = hm_error_nomem(err);
		goto out;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot create a pipe");
		goto out;
	}
	r = spawn(argv, p[1], p[1], &pid, err);
	close(p[1]);
	if (r < 0)
		goto out;
	/* To the end of its output, so that it never blocks on a full pipe;
	 * the heartbeat shows the time while it is silent. */
	for (;;) {
		char buf[4096];
		ssize_t got = read(p[0], buf, sizeof(buf));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		hm_tool_log_feed(log, progress, buf, (size_t)got);
	}
	hm_tool_log_feed(log, progress, NULL, 0);
	r = wait_child(pid, "mmdebstrap", log, err);
	if (r < 0)
		goto out;
	/* From the rename on, the inputs text belongs to a cached tar: no
	 * signal may remove it in between. */
	hm_cleanup_block(&old);
	if (rename(out, cache_tar) < 0)
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot write '%s'", cache_tar);
	else
		hm_cleanup_forget(inputs_slot);
	hm_cleanup_unblock(&old);
	if (r < 0)
		goto out;
out:
	if (p[0] >= 0)
		close(p[0]);
	free(log);
	if (out)
		unlink(out);
	rmdir(tmpdir);
	hm_cleanup_forget(slot);
	free(out);
	free(tmpdir);
	hm_buf_free(&variant);
	hm_buf_free(&include);
	return r;
}

int hm_base_debian(const struct hm_tpl_base *b, const char *cache_dir,
		   struct hm_blobstore *store, struct hm_tree **ret,
		   int *ret_cache_hit, struct hm_progress *progress,
		   struct hm_error *err)
{
	struct hm_buf version = HM_BUF_INIT, text = HM_BUF_INIT;
	char key[65], *tar = NULL, *inputs = NULL;
	struct stat st;
	int r, hit = 0, slot = -1;

	if ((r = debian_check(b, err)) < 0)
		return r;
	if (!cache_dir || !*cache_dir)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "debian bases need a cache folder");
	if ((r = mmdebstrap_version(&version, err)) < 0)
		goto out;
	if ((r = hm_base_debian_cache_key(b, version.data, &text, key, err)) < 0)
		goto out;
	if ((r = hm_mkdir_p(cache_dir, err)) < 0)
		goto out;
	if (asprintf(&tar, "%s/debian-%s.tar", cache_dir, key) < 0 ||
	    asprintf(&inputs, "%s/debian-%s.inputs", cache_dir, key) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	if (stat(tar, &st) == 0 && S_ISREG(st.st_mode)) {
		hit = 1;
		hm_progress_detail(progress, "importing the cached base");
	} else {
		/* The inputs first: a cached tar always has its text. */
		r = hm_write_file_atomic(inputs, text.data, text.len, 0644, true, err);
		if (r < 0)
			goto out;
		/* Its text goes with the tar: a failed or interrupted
		 * bootstrap leaves the cache as it found it. */
		slot = hm_cleanup_add(inputs, false);
		r = debian_build(b, cache_dir, key, tar, slot, progress, err);
		if (r < 0) {
			unlink(inputs);
			hm_cleanup_forget(slot);
			goto out;
		}
		hm_progress_detail(progress, "importing the new base");
	}
	r = hm_base_import_tar(tar, store, ret, err);
	if (r < 0) {
		if (hit)
			hm_error_prefix(err, "cached base (delete '%s' to make it again)", tar);
		goto out;
	}
	if (ret_cache_hit)
		*ret_cache_hit = hit;
out:
	free(tar);
	free(inputs);
	hm_buf_free(&version);
	hm_buf_free(&text);
	return r;
}

/* ---- dispatch ----------------------------------------------------------- */

/* A tarball or OCI base, checked against the template's pin of its SHA-256.  The
 * file is hashed, then imported by name; that it is still the same file
 * afterwards (inode, size, times) closes the window between the two. */
typedef int (*import_fn)(const char *path, struct hm_blobstore *store,
			 struct hm_tree **ret, struct hm_error *err);

static int base_file(const struct hm_tpl_base *b, import_fn import,
		     struct hm_blobstore *store, struct hm_tree **ret,
		     struct hm_error *err)
{
	struct hm_tree *t = NULL;
	struct stat before, after;
	unsigned char md[32];
	char hex[65];
	int fd = -1, r;

	if (!b->path || !*b->path)
		return hm_error_set(err, HM_ERR_USAGE, 0, "base without a path");
	if (!b->sha256[0])
		return import(b->path, store, ret, err);
	fd = open(b->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", b->path);
	if (fstat(fd, &before) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot read '%s'", b->path);
		goto out;
	}
	if ((r = hm_sha256_fd(fd, b->path, md, NULL, err)) < 0)
		goto out;
	hm_hex_encode(md, 32, hex);
	if (strcasecmp(hex, b->sha256) != 0) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "base '%s' has sha256 %s, the template pins %s",
				 b->path, hex, b->sha256);
		goto out;
	}
	if ((r = import(b->path, store, &t, err)) < 0)
		goto out;
	if (stat(b->path, &after) < 0 || after.st_dev != before.st_dev ||
	    after.st_ino != before.st_ino || after.st_size != before.st_size ||
	    after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != before.st_mtim.tv_nsec) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "base '%s' changed while it was read", b->path);
		goto out;
	}
	*ret = t;
	t = NULL;
out:
	hm_tree_free(t);
	close(fd);
	return r;
}

int hm_base_load(const struct hm_template *t, const char *cache_dir,
		 struct hm_blobstore *store, struct hm_tree **ret,
		 int *ret_cache_hit, struct hm_progress *progress,
		 struct hm_error *err)
{
	const struct hm_tpl_base *b = &t->base;
	int r;

	switch (b->kind) {
	case HM_BASE_DEBIAN:
		return hm_base_debian(b, cache_dir, store, ret, ret_cache_hit,
				      progress, err);
	case HM_BASE_TARBALL:
	case HM_BASE_OCI:
		r = base_file(b, b->kind == HM_BASE_OCI ? hm_base_import_oci :
			      hm_base_import_tar, store, ret, err);
		if (r >= 0 && ret_cache_hit)
			*ret_cache_hit = 0;
		return r;
	}
	return hm_error_set(err, HM_ERR_USAGE, 0, "template has no base");
}
