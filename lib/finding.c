/*
 * Findings: the stable names of their kinds, a growable list that
 * collects them, and a spool that keeps them in an unlinked temporary
 * file.  The kind names are ids that every report format carries, so they
 * never change once released.
 *
 * The spool is what a verification uses: every report format needs totals
 * before its findings (the text summary, JUnit's failure counts, JSON's
 * stats) and the history records them after the report, so findings must
 * be kept until the comparison ends; on disk, a run with millions of them
 * writes its report in flat memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/compare.h"
#include "hallmark/error.h"
#include "hallmark/report.h"

static const struct {
	const char *name;
	const char *text;
} kinds[HM_FINDING__COUNT] = {
	[HM_FINDING_MISSING] = { "missing",
		"in the manifest but not in the target" },
	[HM_FINDING_ADDED] = { "added",
		"in the target but not in the manifest, and not allowed by the policy" },
	[HM_FINDING_TYPE] = { "type", "entry type differs" },
	[HM_FINDING_CONTENT] = { "content", "file content differs (sha256)" },
	[HM_FINDING_SIZE] = { "size", "file size differs" },
	[HM_FINDING_MODE] = { "mode", "permission bits differ" },
	[HM_FINDING_UID] = { "uid", "owner (uid) differs" },
	[HM_FINDING_GID] = { "gid", "group (gid) differs" },
	[HM_FINDING_TARGET] = { "target", "symlink target differs" },
	[HM_FINDING_RDEV] = { "rdev", "device numbers differ" },
	[HM_FINDING_XATTR] = { "xattr", "extended attribute differs" },
	[HM_FINDING_UNREADABLE] = { "unreadable",
		"could not be read or listed, so it was not checked" },
	[HM_FINDING_CHANGED] = { "changed-while-hashing",
		"changed while it was being hashed" },
	[HM_FINDING_MOUNTPOINT] = { "mountpoint",
		"mount point not descended (one file system)" },
	[HM_FINDING_EXE_UNKNOWN] = { "exe-unknown",
		"a process runs or maps an executable file that is not a file of the manifest" },
	[HM_FINDING_EXE_CONTENT] = { "exe-content",
		"a process runs or maps an executable file whose content differs (sha256)" },
	[HM_FINDING_EXE_DELETED] = { "exe-deleted",
		"a process runs or maps an executable file that was deleted" },
	[HM_FINDING_EXE_ANONYMOUS] = { "exe-anonymous",
		"a process runs or maps code from a memfd or anonymous memory" },
	[HM_FINDING_PROCESS_UNLISTED] = { "process-unlisted",
		"a process runs an executable the runtime section's processes do not list" },
	[HM_FINDING_PROCESS_USER] = { "process-user",
		"a process runs as a uid with no account in the image's /etc/passwd" },
	[HM_FINDING_LISTENER_UNDECLARED] = { "listener-undeclared",
		"a listening socket the runtime section does not declare" },
	[HM_FINDING_LISTENER_ABSENT] = { "listener-absent",
		"a listener the runtime section declares is not listening" },
	[HM_FINDING_MODULE_UNKNOWN] = { "module-unknown",
		"a loaded kernel module with no module file in the manifest" },
	[HM_FINDING_KERNEL_TAINTED] = { "kernel-tainted",
		"the kernel is tainted (its taint flags are given)" },
	[HM_FINDING_SYSCTL] = { "sysctl",
		"a kernel setting differs from what the image's sysctl configuration sets" },
	[HM_FINDING_MOUNT_OPTIONS] = { "mount-options",
		"a declared mount is absent or lacks a declared option" },
	[HM_FINDING_MOUNT_UNDECLARED] = { "mount-undeclared",
		"a file system is mounted over a path of the image the runtime section does not declare" },
	[HM_FINDING_NOT_INSPECTED] = { "not-inspected",
		"part of the running system could not be seen, so it was not checked" },
};

const char *hm_finding_kind_name(enum hm_finding_kind k)
{
	if ((unsigned)k >= HM_FINDING__COUNT)
		return "unknown";
	return kinds[k].name;
}

const char *hm_finding_kind_text(enum hm_finding_kind k)
{
	if ((unsigned)k >= HM_FINDING__COUNT)
		return "unknown kind of finding";
	return kinds[k].text;
}

static int dup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : HM_ERR_NOMEM;
}

int hm_findings_add(struct hm_findings *l, const struct hm_finding *f,
		    struct hm_error *err)
{
	struct hm_finding c = { 0 };

	if ((unsigned)f->kind >= HM_FINDING__COUNT || !f->path ||
	    f->path_len == SIZE_MAX)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "invalid finding (kind %d)", (int)f->kind);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct hm_finding *p;

		if (cap > SIZE_MAX / sizeof(*p))
			return hm_error_nomem(err);
		p = realloc(l->items, cap * sizeof(*p));
		if (!p)
			return hm_error_nomem(err);
		l->items = p;
		l->cap = cap;
	}
	c.kind = f->kind;
	c.path_len = f->path_len;
	c.path = malloc(f->path_len + 1);
	if (!c.path)
		goto out;
	memcpy(c.path, f->path, f->path_len);
	c.path[f->path_len] = '\0';
	if (dup_opt(f->expected, &c.expected) < 0 ||
	    dup_opt(f->actual, &c.actual) < 0 ||
	    dup_opt(f->detail, &c.detail) < 0)
		goto out;
	l->items[l->n++] = c;
	return 0;
out:
	free(c.path);
	free(c.expected);
	free(c.actual);
	free(c.detail);
	return hm_error_nomem(err);
}

int hm_findings_collect(void *ctx, const struct hm_finding *f,
			struct hm_error *err)
{
	return hm_findings_add(ctx, f, err);
}

void hm_findings_free(struct hm_findings *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->items[i].path);
		free(l->items[i].expected);
		free(l->items[i].actual);
		free(l->items[i].detail);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* ---- spool ------------------------------------------------------------- */

/*
 * Records stay in memory up to this size: a run with a few findings
 * touches no disk (a clean check writes nothing at all).  Past it, they
 * move to the file.
 */
#define SPOOL_MEM_MAX (1024 * 1024)
/* Bigger stdio buffers: the file is written and read sequentially. */
#define SPOOL_IOBUF (256 * 1024)

/*
 * One record: this header (native byte order: the file never leaves the
 * process), then path, expected, actual and detail, each with its NUL;
 * a length of 0 stands for NULL.
 */
struct spool_rec {
	uint32_t kind;
	uint32_t len[4];
};

struct hm_finding_spool {
	char *dir;                   /* where the file goes, for messages */
	struct hm_buf mem;           /* the records, until the file exists */
	FILE *f;                     /* the records, once past SPOOL_MEM_MAX */
	uint64_t n;
	bool reading;                /* the file position is not at the end */
	struct hm_buf rec;           /* the record being read from the file */
};

/* An unlinked file in dir: O_TMPFILE, or mkstemp and unlink where the file
 * system lacks it. */
static int open_unlinked(const char *dir, struct hm_error *err)
{
	struct hm_buf p = HM_BUF_INIT;
	int fd, e;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return hm_error_set(err, HM_ERR_IO, errno,
				    "cannot create a temporary file in '%s'", dir);
	if (hm_buf_addf(&p, "%s/.hallmark-findings.XXXXXX", dir) < 0)
		return hm_error_nomem(err);
	fd = mkostemp(p.data, O_CLOEXEC);
	e = errno;
	if (fd >= 0)
		unlink(p.data);
	hm_buf_free(&p);
	if (fd < 0)
		return hm_error_set(err, HM_ERR_IO, e,
				    "cannot create a temporary file in '%s'", dir);
	return fd;
}

int hm_finding_spool_new(const char *dir, struct hm_finding_spool **ret,
			 struct hm_error *err)
{
	struct hm_finding_spool *s;

	if (!dir) {
		dir = getenv("TMPDIR");
		if (!dir || !*dir)
			dir = "/tmp";
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		return hm_error_nomem(err);
	}
	*ret = s;
	return 0;
}

static int spool_io_error(const struct hm_finding_spool *s, bool writing,
			  struct hm_error *err)
{
	int e = errno;

	if (!writing && feof(s->f))
		e = 0;
	return hm_error_set(err, HM_ERR_IO, e, "cannot %s the findings kept in a "
			    "temporary file in '%s'%s", writing ? "write" : "read",
			    s->dir, e ? "" : ": file truncated");
}

/* Move the records from memory to a new file. */
static int spill(struct hm_finding_spool *s, struct hm_error *err)
{
	int fd = open_unlinked(s->dir, err);

	if (fd < 0)
		return fd;
	s->f = fdopen(fd, "w+");
	if (!s->f) {
		close(fd);
		return hm_error_nomem(err);
	}
	setvbuf(s->f, NULL, _IOFBF, SPOOL_IOBUF);
	if (s->mem.len && fwrite(s->mem.data, 1, s->mem.len, s->f) != s->mem.len)
		return spool_io_error(s, true, err);
	hm_buf_free(&s->mem);
	return 0;
}

static int str_len(const char *str, uint32_t *ret)
{
	size_t n = str ? strlen(str) + 1 : 0;

	if (n > UINT32_MAX)
		return -1;
	*ret = (uint32_t)n;
	return 0;
}

int hm_finding_spool_add(void *ctx, const struct hm_finding *f,
			 struct hm_error *err)
{
	struct hm_finding_spool *s = ctx;
	struct spool_rec h = { .kind = (uint32_t)f->kind };
	const char *str[4] = { f->path, f->expected, f->actual, f->detail };
	size_t total;
	int i, r;

	if ((unsigned)f->kind >= HM_FINDING__COUNT || !f->path)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "invalid finding (kind %d)", (int)f->kind);
	if (f->path_len >= UINT32_MAX || str_len(f->expected, &h.len[1]) < 0 ||
	    str_len(f->actual, &h.len[2]) < 0 || str_len(f->detail, &h.len[3]) < 0)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "a finding is larger than 4 GiB");
	h.len[0] = (uint32_t)f->path_len + 1;
	total = sizeof(h) + (size_t)h.len[0] + h.len[1] + h.len[2] + h.len[3];
	if (!s->f && s->mem.len + total > SPOOL_MEM_MAX &&
	    (r = spill(s, err)) < 0)
		return r;
	if (!s->f) {
		if (hm_buf_add(&s->mem, &h, sizeof(h)) < 0)
			return hm_error_nomem(err);
		/* The path may hold NUL bytes: its length, then a NUL. */
		for (i = 0; i < 4; i++)
			if (h.len[i] && (hm_buf_add(&s->mem, str[i], h.len[i] - 1) < 0 ||
					 hm_buf_add(&s->mem, "", 1) < 0))
				return hm_error_nomem(err);
		s->n++;
		return 0;
	}
	if (s->reading) {
		if (fseeko(s->f, 0, SEEK_END) < 0)
			return spool_io_error(s, true, err);
		s->reading = false;
	}
	if (fwrite(&h, sizeof(h), 1, s->f) != 1)
		return spool_io_error(s, true, err);
	for (i = 0; i < 4; i++)
		if (h.len[i] && (fwrite(str[i], 1, h.len[i] - 1, s->f) != h.len[i] - 1 ||
				 fputc('\0', s->f) == EOF))
			return spool_io_error(s, true, err);
	s->n++;
	return 0;
}

uint64_t hm_finding_spool_count(const struct hm_finding_spool *s)
{
	return s ? s->n : 0;
}

static int corrupt(const struct hm_finding_spool *s, struct hm_error *err)
{
	return hm_error_set(err, HM_ERR_IO, 0, "the findings kept in a temporary "
			    "file in '%s' are corrupt", s->dir);
}

/* The next record, from memory at *pos or from the file, into *f. */
static int next_record(struct hm_finding_spool *s, size_t *pos,
		       struct hm_finding *f, struct hm_error *err)
{
	struct spool_rec h;
	char *data, *str[4];
	size_t total;
	int i;

	if (!s->f) {
		if (s->mem.len - *pos < sizeof(h))
			return corrupt(s, err);
		memcpy(&h, s->mem.data + *pos, sizeof(h));
		*pos += sizeof(h);
	} else if (fread(&h, sizeof(h), 1, s->f) != 1) {
		return spool_io_error(s, false, err);
	}
	total = (size_t)h.len[0] + h.len[1] + h.len[2] + h.len[3];
	if (h.kind >= HM_FINDING__COUNT || h.len[0] == 0)
		return corrupt(s, err);
	if (!s->f) {
		if (s->mem.len - *pos < total)
			return corrupt(s, err);
		data = s->mem.data + *pos;
		*pos += total;
	} else {
		hm_buf_reset(&s->rec);
		if (hm_buf_grow(&s->rec, total) < 0)
			return hm_error_nomem(err);
		if (fread(s->rec.data, 1, total, s->f) != total)
			return spool_io_error(s, false, err);
		data = s->rec.data;
	}
	for (i = 0, total = 0; i < 4; i++) {
		str[i] = h.len[i] ? data + total : NULL;
		total += h.len[i];
		if (h.len[i] && str[i][h.len[i] - 1] != '\0')
			return corrupt(s, err);
	}
	f->kind = (enum hm_finding_kind)h.kind;
	f->path = str[0];
	f->path_len = h.len[0] - 1;
	f->expected = str[1];
	f->actual = str[2];
	f->detail = str[3];
	return 0;
}

int hm_finding_spool_each(struct hm_finding_spool *s, hm_finding_fn fn,
			  void *ctx, struct hm_error *err)
{
	struct hm_finding f;
	size_t pos = 0;
	uint64_t k;
	int r;

	if (s->f) {
		if (fflush(s->f) == EOF)
			return spool_io_error(s, true, err);
		s->reading = true;
		if (fseeko(s->f, 0, SEEK_SET) < 0)
			return spool_io_error(s, false, err);
	}
	for (k = 0; k < s->n; k++) {
		if ((r = next_record(s, &pos, &f, err)) < 0)
			return r;
		r = fn(ctx, &f, err);
		if (r < 0)
			return r;
		if (r > 0)
			break;
	}
	return 0;
}

void hm_finding_spool_free(struct hm_finding_spool *s)
{
	if (!s)
		return;
	if (s->f)
		fclose(s->f);
	free(s->dir);
	hm_buf_free(&s->mem);
	hm_buf_free(&s->rec);
	free(s);
}
