/*
 * Processes: every process of the scope, what it runs and maps as code,
 * and as whom.
 *
 * What is hashed is what the kernel resolves: /proc/PID/exe and
 * /proc/PID/map_files/START-END are opened (they reach the file the
 * process really runs, even deleted or renamed), fstat()ed, and each
 * distinct file (dev, ino, size, mtime) is hashed once however many
 * processes run it.  The path the kernel prints is only the name the
 * manifest is looked up by.  Each process is read through one directory
 * fd, and its start time is read again at the end: a process that exited,
 * or whose PID now names another one, is skipped and counted, never
 * reported.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/nss_files.h"
#include "hallmark/manifest.h"
#include "hallmark/policy.h"
#include "runtime_private.h"

#define PF_KTHREAD 0x00200000UL
#define CMDLINE_MAX 4096
#define MAPS_MAX (16u << 20)
#define PASSWD_MAX (4u << 20)
#define HASH_BUCKETS 256

/* One distinct executable file, hashed at most once. */
struct exe_file {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int hashed;                /* 1 done, -errno failed */
	unsigned char sha256[HM_SHA256_LEN];
	struct exe_file *next;
};

struct account {
	uid_t uid;
	char *name;
};

struct proc_pass {
	struct rt_ctx *c;
	struct exe_file *files[HASH_BUCKETS];
	struct account *accounts;  /* NULL with accounts_ok false: not checked */
	size_t n_accounts;
	bool accounts_ok;
	struct stat scope_ns;      /* the scope's PID namespace (runtime:PID) */
	int scope_depth;           /* how many PIDs its NSpid line has */
};

int hm_proc_parse_stat(const char *data, size_t len,
		       unsigned long long *ret_start, unsigned long *ret_flags)
{
	const char *p = NULL, *end = data + len;
	unsigned long flags = 0;
	unsigned long long start = 0;
	int field;
	size_t i;

	/* comm is between the first '(' and the LAST ')': it may hold both. */
	for (i = len; i > 0; i--)
		if (data[i - 1] == ')') {
			p = data + i;
			break;
		}
	if (!p)
		return -1;
	/* p is at " S ppid ...": field 3 is the state. */
	for (field = 2; p < end && field < 22;) {
		while (p < end && *p == ' ')
			p++;
		field++;
		if (field == 9 || field == 22) {
			char *e;
			unsigned long long v;

			errno = 0;
			v = strtoull(p, &e, 10);
			if (e == p || errno)
				return -1;
			if (field == 9)
				flags = (unsigned long)v;
			else
				start = v;
		}
		while (p < end && *p != ' ')
			p++;
	}
	if (field < 22)
		return -1;
	*ret_start = start;
	*ret_flags = flags;
	return 0;
}

/* The number of PIDs on the NSpid line of status: the depth of the PID
 * namespace a process is in, as we see it.  <=0 if unknown. */
static int nspid_depth(int dirfd)
{
	char *data, *l;
	int n = 0;

	if (rt_read_at(dirfd, "status", 65536, &data, NULL) < 0)
		return -1;
	l = strstr(data, "\nNSpid:");
	if (l) {
		for (l += 7; *l && *l != '\n';) {
			while (*l == ' ' || *l == '\t')
				l++;
			if (*l >= '0' && *l <= '9')
				n++;
			while (*l && *l != ' ' && *l != '\t' && *l != '\n')
				l++;
		}
	}
	free(data);
	return n;
}

static int stat_of(int dirfd, unsigned long long *start, unsigned long *flags)
{
	char *data;
	size_t len;
	int r = rt_read_at(dirfd, "stat", 4096, &data, &len);

	if (r < 0)
		return r;
	r = hm_proc_parse_stat(data, len, start, flags) < 0 ? -EINVAL : 0;
	free(data);
	return r;
}

static const char *account_name(const struct proc_pass *p, uid_t uid)
{
	size_t i;

	for (i = 0; i < p->n_accounts; i++)
		if (p->accounts[i].uid == uid)
			return p->accounts[i].name;
	return NULL;
}

static int add_account(void *ctx, const struct hm_nss_passwd *e)
{
	struct proc_pass *p = ctx;
	struct account *a = realloc(p->accounts, (p->n_accounts + 1) * sizeof(*a));

	if (!a)
		return -1;
	p->accounts = a;
	a[p->n_accounts].uid = (uid_t)e->uid;
	if (!(a[p->n_accounts].name = strdup(e->name)))
		return -1;
	p->n_accounts++;
	return 0;
}

/*
 * The image's accounts: its /etc/passwd read through the scope's root,
 * believed only if its digest is the manifest's (a changed passwd is the
 * file check's finding; here it would vouch for any uid).
 */
static int load_accounts(struct proc_pass *p, struct hm_error *err)
{
	struct rt_ctx *c = p->c;
	const struct hm_entry *e = hm_runtime_image_find(c->img, "/etc/passwd", 11);
	unsigned char sum[HM_SHA256_LEN];
	char name[64], *data = NULL;
	const char *why = NULL;
	size_t len;
	int r;

	snprintf(name, sizeof(name), "%s/root/etc/passwd", c->scope);
	r = rt_read_at(c->proc_fd, name, PASSWD_MAX, &data, &len);
	if (r < 0)
		why = r == -ENOENT ? "the scope has no /etc/passwd" :
		      r == -EACCES || r == -EPERM ? "permission denied" : "cannot be read";
	else if (!e || e->type != HM_TYPE_FILE || !(e->flags & HM_ENTRY_HAS_DIGEST))
		why = "the manifest has no file /etc/passwd";
	else if (hm_hash_buf(HM_HASH_SHA256, data, len, sum) < 0)
		return hm_error_nomem(err);
	else if (memcmp(sum, e->sha256, sizeof(sum)) != 0)
		why = "/etc/passwd differs from the image's";
	if (why) {
		char detail[160];

		free(data);
		snprintf(detail, sizeof(detail), "process users not checked: %s", why);
		return rt_finding(c, HM_FINDING_NOT_INSPECTED, "/etc/passwd", NULL,
				  NULL, detail, err);
	}
	/* The users glibc would resolve, by its rules (lib/nss_files.c). */
	r = hm_nss_passwd_each(data, len, add_account, p);
	free(data);
	if (r < 0)
		return hm_error_nomem(err);
	p->accounts_ok = true;
	return 0;
}

/* The digest of the file open at fd, from the cache or hashed now. */
static struct exe_file *exe_file_of(struct proc_pass *p, int fd,
				    const struct stat *st, struct hm_error *err)
{
	struct exe_file **b = &p->files[st->st_ino % HASH_BUCKETS], *f;
	uint64_t n = 0;

	for (f = *b; f; f = f->next)
		if (f->dev == st->st_dev && f->ino == st->st_ino &&
		    f->size == st->st_size && f->mtime.tv_sec == st->st_mtim.tv_sec &&
		    f->mtime.tv_nsec == st->st_mtim.tv_nsec)
			return f;
	f = calloc(1, sizeof(*f));
	if (!f) {
		hm_error_nomem(err);
		return NULL;
	}
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	if (hm_sha256_fd(fd, "executable", f->sha256, &n, err) < 0) {
		f->hashed = err->sys_errno ? -err->sys_errno : -EIO;
		hm_error_clear(err);
	} else {
		f->hashed = 1;
	}
	p->c->rstats->executables++;
	p->c->rstats->hashed_bytes += n;
	f->next = *b;
	*b = f;
	return f;
}

/* Findings about one process, kept until its start time is read again. */
struct pending {
	enum hm_finding_kind kind;
	char *path, *expected, *actual;
};

struct proc_state {
	struct pending *items;
	size_t n;
	dev_t seen_dev[64];
	ino_t seen_ino[64];
	size_t n_seen;
	char where[32];            /* "pid N": what a finding about it is about */
};

static int pend(struct proc_state *s, enum hm_finding_kind kind, const char *path,
		const char *expected, const char *actual, struct hm_error *err)
{
	struct pending *q = realloc(s->items, (s->n + 1) * sizeof(*q));

	if (!q)
		return hm_error_nomem(err);
	s->items = q;
	q = &q[s->n];
	memset(q, 0, sizeof(*q));
	q->kind = kind;
	s->n++;
	if (!(q->path = strdup(path)) ||
	    (expected && !(q->expected = strdup(expected))) ||
	    (actual && !(q->actual = strdup(actual))))
		return hm_error_nomem(err);
	return 0;
}

static void state_clear(struct proc_state *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->items[i].path);
		free(s->items[i].expected);
		free(s->items[i].actual);
	}
	free(s->items);
	memset(s, 0, sizeof(*s));
}

static const char *cut_deleted(const char *name, char *buf, size_t n, bool *deleted)
{
	size_t len = strlen(name);

	*deleted = false;
	if (len > 10 && strcmp(name + len - 10, " (deleted)") == 0 && len - 10 < n) {
		memcpy(buf, name, len - 10);
		buf[len - 10] = '\0';
		*deleted = true;
		return buf;
	}
	return name;
}

/*
 * Check one executable file a process runs (fd: the file the kernel
 * resolved; name: the path it prints for it).
 */
static int check_file(struct proc_pass *p, struct proc_state *s, int fd,
		      const char *name, struct hm_error *err)
{
	char plain[PATH_MAX + 16], hex[2 * HM_SHA256_LEN + 8], want[2 * HM_SHA256_LEN + 8];
	const struct hm_entry *e;
	struct exe_file *f;
	struct stat st;
	const char *path;
	bool deleted;
	size_t i;

	if (fstat(fd, &st) < 0)
		return 0;
	for (i = 0; i < s->n_seen; i++)
		if (s->seen_dev[i] == st.st_dev && s->seen_ino[i] == st.st_ino)
			return 0;
	if (s->n_seen < 64) {
		s->seen_dev[s->n_seen] = st.st_dev;
		s->seen_ino[s->n_seen++] = st.st_ino;
	}
	path = cut_deleted(name, plain, sizeof(plain), &deleted);
	/* A memfd is never linked: "(deleted)" would say nothing. */
	if (strncmp(name, "/memfd:", 7) == 0)
		return pend(s, HM_FINDING_EXE_ANONYMOUS, path, NULL, "memfd", err);
	if (deleted && st.st_nlink == 0)
		return pend(s, HM_FINDING_EXE_DELETED, rt_scope_path(p->c, path), NULL,
			    "deleted", err);
	path = rt_scope_path(p->c, name);
	e = path[0] == '/' ? hm_runtime_image_find(p->c->img, path, strlen(path)) : NULL;
	if (!e || e->type != HM_TYPE_FILE || !(e->flags & HM_ENTRY_HAS_DIGEST) ||
	    (p->c->root_prefix && path == name))
		return pend(s, HM_FINDING_EXE_UNKNOWN, path, NULL,
			    S_ISREG(st.st_mode) ? "file" : "not a regular file", err);
	if (!(f = exe_file_of(p, fd, &st, err)))
		return err->code;
	if (f->hashed < 0) {
		snprintf(hex, sizeof(hex), "unreadable: %s", strerror(-f->hashed));
		return pend(s, HM_FINDING_NOT_INSPECTED, path, NULL, hex, err);
	}
	if (memcmp(f->sha256, e->sha256, HM_SHA256_LEN) != 0) {
		memcpy(hex, "sha256:", 7);
		hm_hex_encode(f->sha256, HM_SHA256_LEN, hex + 7);
		memcpy(want, "sha256:", 7);
		hm_hex_encode(e->sha256, HM_SHA256_LEN, want + 7);
		return pend(s, HM_FINDING_EXE_CONTENT, path, want, hex, err);
	}
	return 0;
}

/* "[heap]", "[stack]"...: anonymous; "[vdso]" and friends are the kernel's. */
static bool kernel_mapping(const char *name)
{
	return strcmp(name, "[vdso]") == 0 || strcmp(name, "[vsyscall]") == 0 ||
	       strcmp(name, "[vvar]") == 0 || strcmp(name, "[uprobes]") == 0;
}

/* The executable mappings of the process open at dirfd. */
static int check_maps(struct proc_pass *p, struct proc_state *s, int dirfd,
		      struct hm_error *err)
{
	char *data, *line, *save = NULL;
	bool denied = false;
	int r;

	r = rt_read_at(dirfd, "maps", MAPS_MAX, &data, NULL);
	if (r < 0)
		return r == -ENOENT || r == -ESRCH ? 1 :
		       pend(s, HM_FINDING_NOT_INSPECTED, s->where, NULL,
			    "its mappings cannot be read", err);
	for (line = strtok_r(data, "\n", &save); line && !err->code;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long lo, hi;
		char perms[8], mf[64];
		int off = 0, fd;
		const char *name;

		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &off) < 3 ||
		    !off || strlen(perms) < 3 || perms[2] != 'x')
			continue;
		name = line + off;
		while (*name == ' ')
			name++;
		if (kernel_mapping(name))
			continue;
		if (*name != '/') {
			if (pend(s, HM_FINDING_EXE_ANONYMOUS, *name ? name : "anonymous",
				 NULL, "executable anonymous memory", err) < 0)
				break;
			continue;
		}
		if (denied)
			continue;
		snprintf(mf, sizeof(mf), "map_files/%lx-%lx", lo, hi);
		fd = openat(dirfd, mf, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == EPERM || errno == EACCES) {
				/* map_files needs CAP_SYS_ADMIN: say so once. */
				denied = true;
				pend(s, HM_FINDING_NOT_INSPECTED, s->where, NULL,
				     "executable mappings not inspected: reading "
				     "/proc/PID/map_files needs CAP_SYS_ADMIN", err);
			}
			continue;       /* unmapped since maps was read */
		}
		check_file(p, s, fd, name, err);
		close(fd);
	}
	free(data);
	return err->code;
}

/* "a b" -> "a b" with each argument escaped, spaces between. */
static int cmdline_of(int dirfd, struct hm_buf *out)
{
	char *data;
	size_t len, i, start = 0;
	int r = rt_read_at(dirfd, "cmdline", CMDLINE_MAX, &data, &len);

	if (r < 0)
		return r;
	while (len && data[len - 1] == '\0')
		len--;
	for (i = 0; i <= len; i++)
		if (i == len || data[i] == '\0') {
			if (start && hm_buf_addc(out, ' ') < 0)
				r = -ENOMEM;
			if (hm_escape(out, data + start, i - start, 0) < 0)
				r = -ENOMEM;
			start = i + 1;
		}
	free(data);
	return r;
}

static int status_uid(int dirfd, uid_t *uid)
{
	char *data, *l;
	unsigned long v;
	int r = rt_read_at(dirfd, "status", 65536, &data, NULL);

	if (r < 0)
		return r;
	l = strstr(data, "\nUid:");
	r = l && sscanf(l + 5, "%lu", &v) == 1 ? 0 : -EINVAL;
	if (r == 0)
		*uid = (uid_t)v;
	free(data);
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The inodes of the socket fds of the process open at dirfd. */
static int sockets_of(int pfd, struct rt_proc *rp)
{
	int fd = openat(pfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t cap = 0;
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return -errno;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		char link[64];
		unsigned long long ino;
		ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);

		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%llu]", &ino) != 1)
			continue;
		if (rp->n_sockets == cap) {
			uint64_t *q = realloc(rp->sockets, (cap ? cap * 2 : 8) * sizeof(*q));

			if (!q)
				break;
			rp->sockets = q;
			cap = cap ? cap * 2 : 8;
		}
		rp->sockets[rp->n_sockets++] = ino;
	}
	closedir(d);
	if (rp->n_sockets)
		qsort(rp->sockets, rp->n_sockets, sizeof(uint64_t), cmp_u64);
	return 0;
}

static int add_proc(struct rt_ctx *c, struct rt_proc *rp, struct hm_error *err)
{
	if (c->n_procs == c->cap_procs) {
		size_t cap = c->cap_procs ? c->cap_procs * 2 : 64;
		struct rt_proc *q = realloc(c->procs, cap * sizeof(*q));

		if (!q)
			return hm_error_nomem(err);
		c->procs = q;
		c->cap_procs = cap;
	}
	c->procs[c->n_procs++] = *rp;
	memset(rp, 0, sizeof(*rp));
	return 0;
}

/* Inspect one process.  Returns 0 (done, or vanished), or an error. */
static int check_one(struct proc_pass *p, const char *pidname, struct hm_error *err)
{
	struct rt_ctx *c = p->c;
	struct rt_proc rp = { .pid = (pid_t)atol(pidname) };
	struct proc_state s = { 0 };
	struct hm_buf desc = HM_BUF_INIT;
	unsigned long long start, start2;
	unsigned long flags;
	char link[PATH_MAX + 1], plain[PATH_MAX + 1], where[48];
	const char *user, *exe_path;
	bool deleted;
	struct stat st;
	ssize_t n;
	size_t i;
	int dirfd, fd, r = 0;

	snprintf(s.where, sizeof(s.where), "pid %s", pidname);
	dirfd = openat(c->proc_fd, pidname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		goto vanished;
	if (stat_of(dirfd, &start, &flags) < 0)
		goto vanished;
	if (flags & PF_KTHREAD)
		goto done;           /* kernel threads run no file */
	if (c->opt->pid) {
		if (fstatat(dirfd, "ns/pid", &st, 0) < 0) {
			if (errno == ENOENT || errno == ESRCH)
				goto vanished;
			/* Its namespace link is not ours to read (ptrace rules),
			 * but its depth of PID namespaces is: another depth
			 * than the scope's is certainly another namespace. */
			r = nspid_depth(dirfd);
			if (r > 0 && r != p->scope_depth) {
				r = 0;
				goto done;
			}
			r = 0;
			snprintf(where, sizeof(where), "pid %s", pidname);
			r = rt_finding(c, HM_FINDING_NOT_INSPECTED, where, NULL, NULL,
				       "cannot tell its PID namespace: permission denied", err);
			goto done;
		}
		if (st.st_dev != p->scope_ns.st_dev || st.st_ino != p->scope_ns.st_ino)
			goto done;
	}
	if (status_uid(dirfd, &rp.uid) < 0)
		goto vanished;
	user = p->accounts_ok ? account_name(p, rp.uid) : NULL;
	n = readlinkat(dirfd, "exe", link, sizeof(link) - 1);
	if (n < 0) {
		if (errno == ENOENT || errno == ESRCH) {
			/* A zombie, or an exited process. */
			goto vanished;
		}
		snprintf(where, sizeof(where), "pid %s", pidname);
		r = rt_finding(c, HM_FINDING_NOT_INSPECTED, where, NULL, NULL,
			       errno == EACCES || errno == EPERM ?
			       "its executable cannot be read: permission denied "
			       "(another user's process, or not root)" :
			       "its executable cannot be read", err);
		goto done;
	}
	link[n] = '\0';
	/* The name, without the " (deleted)" a deleted file's has. */
	exe_path = rt_scope_path(c, cut_deleted(link, plain, sizeof(plain), &deleted));
	if (hm_buf_addf(&desc, "pid %s uid %lu (%s) exe ", pidname,
			(unsigned long)rp.uid, user ? user : "?") < 0 ||
	    hm_escape(&desc, exe_path, strlen(exe_path), 0) < 0 ||
	    hm_buf_adds(&desc, " cmdline ") < 0)
		goto nomem;
	if (cmdline_of(dirfd, &desc) == -ENOMEM)
		goto nomem;
	if (!(rp.desc = hm_buf_detach(&desc, NULL)) || !(rp.exe = strdup(exe_path)))
		goto nomem;
	rp.exe_is_file = !deleted && strncmp(link, "/memfd:", 7) != 0 &&
			 !(c->root_prefix && exe_path == link);

	fd = openat(dirfd, "exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ESRCH)
			goto vanished;
		r = pend(&s, HM_FINDING_NOT_INSPECTED, exe_path, NULL,
			 "cannot open the executable: permission denied", err);
	} else {
		r = check_file(p, &s, fd, link, err);
		close(fd);
	}
	if (r < 0 || (r = check_maps(p, &s, dirfd, err)) < 0)
		goto done;
	if (r == 1)
		goto vanished;
	if (c->spec->processes_listed && strncmp(link, "/memfd:", 7) != 0) {
		bool listed = false;

		for (i = 0; i < c->spec->n_processes && !listed; i++)
			listed = hm_glob_match(c->spec->processes[i], rp.exe, strlen(rp.exe));
		if (!listed && (r = pend(&s, HM_FINDING_PROCESS_UNLISTED, rp.exe,
					 NULL, NULL, err)) < 0)
			goto done;
	}
	if (p->accounts_ok && !user) {
		char uid[24];

		snprintf(uid, sizeof(uid), "uid %lu", (unsigned long)rp.uid);
		if ((r = pend(&s, HM_FINDING_PROCESS_USER, rp.exe, "an account in /etc/passwd",
			      uid, err)) < 0)
			goto done;
	}
	(void)sockets_of(dirfd, &rp);
	/* Same start time: the PID still names the process inspected. */
	if (stat_of(dirfd, &start2, &flags) < 0 || start2 != start)
		goto vanished;
	c->rstats->processes++;
	for (i = 0; i < s.n && r >= 0; i++)
		r = rt_finding(c, s.items[i].kind, s.items[i].path,
			       s.items[i].expected, s.items[i].actual, rp.desc, err);
	if (r >= 0)
		r = add_proc(c, &rp, err);
	goto done;
nomem:
	r = hm_error_nomem(err);
	goto done;
vanished:
	c->rstats->vanished++;
	r = 0;
done:
	hm_buf_free(&desc);
	state_clear(&s);
	free(rp.exe);
	free(rp.desc);
	free(rp.sockets);
	if (dirfd >= 0)
		close(dirfd);
	return r < 0 ? r : 0;
}

static int cmp_pid(const void *a, const void *b)
{
	long x = atol(*(char *const *)a), y = atol(*(char *const *)b);

	return x < y ? -1 : x > y;
}

/*
 * hidepid hides other users' processes from all but root (and the gid=
 * group): they are not even listed, so their absence must be said.
 */
static int check_hidepid(struct rt_ctx *c, struct hm_error *err)
{
	char *data, *line, *save = NULL, real[PATH_MAX];
	const char *hp = NULL;
	int r = 0;

	if (geteuid() == 0 || !realpath(c->proc, real) ||
	    rt_read_at(c->proc_fd, "self/mountinfo", 64u << 20, &data, NULL) < 0)
		return 0;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct hm_proc_mount m;

		if (hm_proc_parse_mountinfo(line, &m) < 0)
			continue;
		if (strcmp(m.point, real) == 0 && strcmp(m.fstype, "proc") == 0) {
			const char *o = strstr(m.options, "hidepid=");

			hp = o && strncmp(o + 8, "0", 1) != 0 && strncmp(o + 8, "off", 3) != 0 ?
			     "x" : NULL;
		}
		hm_proc_mount_clear(&m);
	}
	free(data);
	if (hp)
		r = rt_finding(c, HM_FINDING_NOT_INSPECTED, c->proc, NULL, NULL,
			       "processes of other users not inspected: /proc is "
			       "mounted with hidepid and this is not root", err);
	return r;
}

int rt_check_processes(struct rt_ctx *c, struct hm_error *err)
{
	struct proc_pass p = { .c = c };
	char **pids = NULL, name[48];
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d = NULL;
	int fd, r;

	if (c->opt->pid) {
		snprintf(name, sizeof(name), "%s/ns/pid", c->scope);
		if (fstatat(c->proc_fd, name, &p.scope_ns, 0) < 0)
			return hm_error_set(err, HM_ERR_IO, errno, "cannot read '%s/%s'",
					    c->proc, name);
		fd = openat(c->proc_fd, c->scope, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		p.scope_depth = fd < 0 ? -1 : nspid_depth(fd);
		if (fd >= 0)
			close(fd);
	}
	if ((r = check_hidepid(c, err)) < 0 || (r = load_accounts(&p, err)) < 0)
		goto out;
	fd = openat(c->proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot list '%s'", c->proc);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (n == cap) {
			char **q = realloc(pids, (cap = cap ? cap * 2 : 256) * sizeof(*q));

			if (!q) {
				r = hm_error_nomem(err);
				goto out;
			}
			pids = q;
		}
		if (!(pids[n] = strdup(de->d_name))) {
			r = hm_error_nomem(err);
			goto out;
		}
		n++;
	}
	/* PID order: the report's order does not depend on readdir's. */
	if (n)
		qsort(pids, n, sizeof(*pids), cmp_pid);
	for (i = 0, r = 0; i < n && r >= 0; i++)
		r = check_one(&p, pids[i], err);
out:
	if (d)
		closedir(d);
	for (i = 0; i < n; i++)
		free(pids[i]);
	free(pids);
	for (i = 0; i < HASH_BUCKETS; i++)
		while (p.files[i]) {
			struct exe_file *f = p.files[i];

			p.files[i] = f->next;
			free(f);
		}
	for (i = 0; i < p.n_accounts; i++)
		free(p.accounts[i].name);
	free(p.accounts);
	return r < 0 ? r : 0;
}
