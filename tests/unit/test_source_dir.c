/* Unit tests: the live-directory source (lib/source_dir.c). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <grp.h>

#include "hallmark/digest.h"
#include "hallmark/limits.h"
#include "hallmark/source.h"

/* A whole scan, deep-copied, with the order checked on the way. */
struct scan {
	struct hm_entry *e;
	size_t n;
	int code;
	bool ordered;
	struct hm_error err;
};

static void scan_free(struct scan *sc)
{
	size_t i;

	for (i = 0; i < sc->n; i++)
		hm_entry_clear(&sc->e[i]);
	free(sc->e);
	memset(sc, 0, sizeof(*sc));
}

static int do_scan(const char *root, unsigned threads,
		   const struct hm_source_filter *filter, struct scan *sc)
{
	struct hm_scan_options opt = { .threads = threads };
	const struct hm_entry *e;
	struct hm_source *src;
	size_t cap = 0;
	int r;

	memset(sc, 0, sizeof(*sc));
	sc->ordered = true;
	if (filter)
		opt.filter = *filter;
	r = hm_source_dir_open(root, &opt, &src, &sc->err);
	if (r < 0)
		return sc->code = r;
	while ((r = hm_source_next(src, &e, &sc->err)) > 0) {
		if (sc->n == cap) {
			cap = cap ? 2 * cap : 64;
			sc->e = realloc(sc->e, cap * sizeof(*sc->e));
			if (!sc->e)
				abort();
		}
		memset(&sc->e[sc->n], 0, sizeof(*sc->e));
		if (hm_entry_copy(&sc->e[sc->n], e) < 0)
			abort();
		if (sc->n && hm_path_cmp(sc->e[sc->n - 1].path,
					 sc->e[sc->n - 1].path_len,
					 e->path, e->path_len) >= 0)
			sc->ordered = false;
		sc->n++;
	}
	/* After the end or an error, next() keeps saying the same. */
	if (hm_source_next(src, &e, &sc->err) != r)
		sc->ordered = false;
	hm_source_free(src);
	return sc->code = r;
}

static const struct hm_entry *find(const struct scan *sc, const char *path)
{
	size_t i;

	for (i = 0; i < sc->n; i++)
		if (strcmp(sc->e[i].path, path) == 0)
			return &sc->e[i];
	return NULL;
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), r = 0;

	if (fd < 0)
		return -1;
	if (len && write(fd, data, len) != (ssize_t)len)
		r = -1;
	close(fd);
	return r;
}

static bool digest_is(const struct hm_entry *e, const char *hex)
{
	char h[2 * HM_SHA256_LEN + 1];

	if (!(e->flags & HM_ENTRY_HAS_DIGEST))
		return false;
	hm_hex_encode(e->sha256, HM_SHA256_LEN, h);
	return strcmp(h, hex) == 0;
}

TEST(every_type_and_known_digest)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const struct hm_entry *e;
	struct scan sc;
	int sock;

	alarm(60);  /* opening the FIFO would hang: fail instead */
	CHECK(mkdir("t", 0755) == 0);
	CHECK(write_file("t/abc", "abc", 3) == 0);
	CHECK(write_file("t/empty", "", 0) == 0);
	CHECK(mkdir("t/sub", 0750) == 0);
	CHECK(symlink("../abc", "t/sub/link") == 0);
	CHECK(mkfifo("t/fifo", 0640) == 0);
	strcpy(sa.sun_path, "t/sock");
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(sock >= 0);
	CHECK(bind(sock, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(sock);
	if (mknod("t/null", S_IFCHR | 0666, makedev(1, 3)) != 0 ||
	    mknod("t/blk", S_IFBLK | 0600, makedev(7, 42)) != 0)
		printf("# skip devices: %s\n", strerror(errno));

	CHECK_OK(do_scan("t", 2, NULL, &sc), &sc.err);
	CHECK(sc.ordered);
	CHECK_EQ_STR(sc.e[0].path, "/");
	CHECK_EQ_INT(sc.e[0].type, HM_TYPE_DIR);
	CHECK_EQ_INT(sc.e[0].mode, 0755);
	CHECK((e = find(&sc, "/abc")));
	CHECK_EQ_INT(e->type, HM_TYPE_FILE);
	CHECK_EQ_INT(e->size, 3);
	CHECK_EQ_INT(e->mode, 0644);
	CHECK(digest_is(e, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK((e = find(&sc, "/empty")));
	CHECK(digest_is(e, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	CHECK((e = find(&sc, "/sub")));
	CHECK_EQ_INT(e->type, HM_TYPE_DIR);
	CHECK_EQ_INT(e->mode, 0750);
	CHECK((e = find(&sc, "/sub/link")));
	CHECK_EQ_INT(e->type, HM_TYPE_SYMLINK);
	CHECK_EQ_STR(e->target, "../abc");
	CHECK_EQ_INT(e->target_len, 6);
	CHECK(!(e->flags & HM_ENTRY_HAS_DIGEST));
	CHECK((e = find(&sc, "/fifo")));
	CHECK_EQ_INT(e->type, HM_TYPE_FIFO);
	CHECK_EQ_INT(e->mode, 0640);
	CHECK_EQ_INT(e->flags, 0);
	CHECK((e = find(&sc, "/sock")));
	CHECK_EQ_INT(e->type, HM_TYPE_SOCKET);
	if ((e = find(&sc, "/null"))) {
		CHECK_EQ_INT(e->type, HM_TYPE_CHAR);
		CHECK_EQ_INT(e->rdev_major, 1);
		CHECK_EQ_INT(e->rdev_minor, 3);
		CHECK((e = find(&sc, "/blk")));
		CHECK_EQ_INT(e->type, HM_TYPE_BLOCK);
		CHECK_EQ_INT(e->rdev_major, 7);
		CHECK_EQ_INT(e->rdev_minor, 42);
		CHECK_EQ_INT(e->flags, 0);
		CHECK_EQ_INT(sc.n, 9);
	} else {
		CHECK_EQ_INT(sc.n, 7);
	}
	alarm(0);
	scan_free(&sc);
}

TEST(modes_and_owners)
{
	const struct hm_entry *e;
	struct scan sc;

	CHECK(mkdir("t", 0755) == 0);
	CHECK(write_file("t/suid", "x", 1) == 0);
	CHECK(chmod("t/suid", 04755) == 0);
	CHECK(write_file("t/sgid", "x", 1) == 0);
	CHECK(chmod("t/sgid", 02711) == 0);
	CHECK(mkdir("t/sticky", 0755) == 0);
	CHECK(chmod("t/sticky", 01777) == 0);
	CHECK(write_file("t/none", "x", 1) == 0);
	CHECK(chmod("t/none", 0) == 0);
	if (geteuid() == 0) {
		CHECK(chown("t/suid", 1234, 5678) == 0);
		CHECK(chmod("t/suid", 04755) == 0);  /* chown clears it */
		CHECK(lchown("t", 0, 42) == 0);
	}
	CHECK_OK(do_scan("t", 1, NULL, &sc), &sc.err);
	CHECK((e = find(&sc, "/suid")));
	CHECK_EQ_INT(e->mode, 04755);
	if (geteuid() == 0) {
		CHECK_EQ_INT(e->uid, 1234);
		CHECK_EQ_INT(e->gid, 5678);
		CHECK_EQ_INT(sc.e[0].gid, 42);
	} else {
		printf("# skip chown: not root\n");
	}
	CHECK((e = find(&sc, "/sgid")));
	CHECK_EQ_INT(e->mode, 02711);
	CHECK((e = find(&sc, "/sticky")));
	CHECK_EQ_INT(e->mode, 01777);
	CHECK((e = find(&sc, "/none")));
	CHECK_EQ_INT(e->mode, 0);
	scan_free(&sc);
}

TEST(xattrs_sorted_with_capability)
{
	/* VFS_CAP_REVISION_2: magic_etc, then permitted/inheritable x2. */
	static const unsigned char cap[20] = {
		0x01, 0x00, 0x00, 0x02,  /* 0x02000001: v2, effective */
		0x00, 0x20, 0x00, 0x00,  /* permitted: CAP_NET_RAW (13) */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	const struct hm_entry *e;
	const struct hm_xattr *x;
	struct scan sc;

	CHECK(mkdir("t", 0755) == 0);
	CHECK(write_file("t/f", "data", 4) == 0);
	if (setxattr("t/f", "user.zeta", "z", 1, 0) != 0) {
		printf("# skip xattrs: %s\n", strerror(errno));
		return;
	}
	CHECK(setxattr("t/f", "user.alpha", "", 0, 0) == 0);
	CHECK(setxattr("t", "user.dir", "d\0x", 3, 0) == 0);
	CHECK(symlink("f", "t/l") == 0);
	if (setxattr("t/f", "security.capability", cap, sizeof(cap), 0) != 0)
		printf("# skip security.capability: %s\n", strerror(errno));
	if (lsetxattr("t/l", "trusted.t", "s", 1, 0) != 0)
		printf("# skip symlink xattr: %s\n", strerror(errno));

	CHECK_OK(do_scan("t", 2, NULL, &sc), &sc.err);
	CHECK((e = find(&sc, "/f")));
	CHECK(e->n_xattrs >= 2);
	CHECK(!(e->flags & HM_ENTRY_UNREADABLE));
	for (size_t i = 1; i < e->n_xattrs; i++)
		CHECK(strcmp(e->xattrs[i - 1].name, e->xattrs[i].name) < 0);
	CHECK((x = hm_entry_find_xattr(e, "user.alpha")));
	CHECK_EQ_INT(x->len, 0);
	CHECK((x = hm_entry_find_xattr(e, "user.zeta")));
	CHECK(x->len == 1 && x->value[0] == 'z');
	CHECK_EQ_STR(e->xattrs[e->n_xattrs - 1].name, "user.zeta");
	if ((x = hm_entry_find_xattr(e, "security.capability"))) {
		CHECK_EQ_INT(x->len, 20);
		CHECK(memcmp(x->value, cap, 20) == 0);
		CHECK_EQ_STR(e->xattrs[0].name, "security.capability");
	}
	CHECK((x = hm_entry_find_xattr(&sc.e[0], "user.dir")));
	CHECK(x->len == 3 && memcmp(x->value, "d\0x", 3) == 0);
	CHECK((e = find(&sc, "/l")));
	if (lgetxattr("t/l", "trusted.t", NULL, 0) == 1) {
		CHECK((x = hm_entry_find_xattr(e, "trusted.t")));
		CHECK(x->len == 1 && x->value[0] == 's');
	}
	scan_free(&sc);
}

/*
 * xattrs are first asked for with a small buffer (1 KiB), and again with
 * the whole one on ERANGE: a name list and values longer than that first
 * buffer are read whole, through a descriptor (file, directory) and by path
 * (symlink).  On a tmpfs when we can: ext4 keeps one block per inode.
 */
TEST(xattrs_longer_than_the_first_buffer_are_read_whole)
{
	static char big[4000], edge[1025];
	const char *paths[] = { "t/d/f", "t/d", "t/d/l" };
	const char *shown[] = { "/d/f", "/d", "/d/l" };
	const struct hm_entry *e;
	const struct hm_xattr *x;
	bool mounted;
	struct scan sc;
	char name[64];
	unsigned i, k, nk = 3;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	memset(edge, 'e', sizeof(edge));
	CHECK(mkdir("t", 0755) == 0);
	mounted = mount("hm-test", "t", "tmpfs", 0, "size=4m") == 0;
	CHECK(mkdir("t/d", 0755) == 0);
	CHECK(write_file("t/d/f", "x", 1) == 0);
	CHECK(symlink("f", "t/d/l") == 0);
	for (k = 0; k < nk; k++) {
		/* trusted.* is the one namespace a symlink takes (root). */
		const char *ns = k == 2 ? "trusted" : "user";

		/* 40 names of 40 bytes: a 1,640-byte list. */
		for (i = 0; i < 40; i++) {
			snprintf(name, sizeof(name), "%s.%0*u", ns,
				 (int)(39 - strlen(ns)), i);
			if (lsetxattr(paths[k], name, "v", 1, 0) != 0)
				goto skip;
		}
		snprintf(name, sizeof(name), "%s.big", ns);
		if (lsetxattr(paths[k], name, big, sizeof(big), 0) != 0)
			goto skip;
		snprintf(name, sizeof(name), "%s.edge", ns);
		if (lsetxattr(paths[k], name, edge, sizeof(edge), 0) != 0)
			goto skip;
		continue;
skip:
		printf("# skip: setxattr %s on %s: %s\n", name, paths[k],
		       strerror(errno));
		if (k < 2) {
			if (mounted)
				umount2("t", MNT_DETACH);
			return;
		}
		nk = 2;         /* not root: no xattrs on the symlink */
	}
	do_scan("t", 2, NULL, &sc);
	if (mounted)
		umount2("t", MNT_DETACH);
	CHECK_OK(sc.code, &sc.err);
	for (k = 0; k < nk; k++) {
		const char *ns = k == 2 ? "trusted" : "user";

		CHECK((e = find(&sc, shown[k])));
		CHECK(!(e->flags & HM_ENTRY_UNREADABLE));
		CHECK_EQ_INT(e->n_xattrs, 42);
		snprintf(name, sizeof(name), "%s.big", ns);
		CHECK((x = hm_entry_find_xattr(e, name)));
		CHECK(x->len == sizeof(big) &&
		      memcmp(x->value, big, sizeof(big)) == 0);
		snprintf(name, sizeof(name), "%s.edge", ns);
		CHECK((x = hm_entry_find_xattr(e, name)));
		CHECK(x->len == sizeof(edge) &&
		      memcmp(x->value, edge, sizeof(edge)) == 0);
	}
	CHECK(digest_is(find(&sc, "/d/f"), "2d711642b726b04401627ca9fbac32f5"
			"c8530fb1903cc4db02258717921a4881"));
	scan_free(&sc);
}

/* ext4 keeps one block of xattrs per inode: use a tmpfs when we can. */
TEST(too_many_xattrs_is_a_flag)
{
	const struct hm_entry *e;
	bool mounted;
	struct scan sc;
	char name[32];
	unsigned i;

	CHECK(mkdir("t", 0755) == 0);
	mounted = mount("hm-test", "t", "tmpfs", 0, "size=4m") == 0;
	CHECK(write_file("t/f", "x", 1) == 0);
	for (i = 0; i <= HM_LIMIT_XATTRS; i++) {
		snprintf(name, sizeof(name), "user.x%u", i);
		if (setxattr("t/f", name, "v", 1, 0) != 0) {
			printf("# skip: setxattr %s: %s\n", name, strerror(errno));
			if (mounted)
				umount2("t", MNT_DETACH);
			return;
		}
	}
	do_scan("t", 1, NULL, &sc);
	if (mounted)
		umount2("t", MNT_DETACH);
	CHECK_OK(sc.code, &sc.err);
	CHECK((e = find(&sc, "/f")));
	CHECK(e->flags & HM_ENTRY_UNREADABLE);
	CHECK(e->flags & HM_ENTRY_HAS_DIGEST);  /* the content is still known */
	CHECK_EQ_INT(e->n_xattrs, 0);
	CHECK_EQ_STR(e->note, "more than 256 xattrs");
	scan_free(&sc);
}

TEST(odd_names_in_canonical_order)
{
	static const char *const names[] = {
		"a", "a b", "a-b", "a.b", "a\nb", "a\\b", "a\xff", "\x01",
		"b", "ab", "A", "~",
	};
	const struct hm_entry *e;
	struct scan sc;
	size_t i;

	CHECK(mkdir("t", 0755) == 0);
	CHECK(mkdir("t/a", 0755) == 0);
	CHECK(write_file("t/a/z", "z", 1) == 0);
	for (i = 1; i < sizeof(names) / sizeof(names[0]); i++) {
		char p[64];

		snprintf(p, sizeof(p), "t/%s", names[i]);
		CHECK(write_file(p, names[i], strlen(names[i])) == 0);
	}
	CHECK_OK(do_scan("t", 3, NULL, &sc), &sc.err);
	CHECK(sc.ordered);
	CHECK_EQ_INT(sc.n, 1 + sizeof(names) / sizeof(names[0]) + 1);
	/* "/a/z" sorts right after "/a", before "/a b" and "/a-b". */
	CHECK_EQ_STR(sc.e[1].path, "/\x01");
	CHECK_EQ_STR(sc.e[2].path, "/A");
	CHECK_EQ_STR(sc.e[3].path, "/a");
	CHECK_EQ_STR(sc.e[4].path, "/a/z");
	CHECK_EQ_STR(sc.e[5].path, "/a\nb");
	CHECK_EQ_STR(sc.e[6].path, "/a b");
	CHECK_EQ_STR(sc.e[sc.n - 1].path, "/~");
	CHECK((e = find(&sc, "/a\xff")));
	CHECK_EQ_INT(e->path_len, 3);
	CHECK_EQ_INT(e->size, 2);
	CHECK((e = find(&sc, "/a\\b")));
	CHECK_EQ_INT(e->size, 3);
	scan_free(&sc);
}

static bool skip_a(void *ctx, const char *path, size_t len)
{
	(void)ctx;
	return len == 2 && memcmp(path, "/a", 2) == 0;
}

TEST(hard_links_share_one_digest)
{
	const struct hm_entry *a, *b, *c;
	struct scan sc;

	CHECK(mkdir("t", 0755) == 0);
	CHECK(mkdir("t/d", 0755) == 0);
	CHECK(write_file("t/a", "abc", 3) == 0);
	CHECK(link("t/a", "t/d/b") == 0);
	CHECK(link("t/a", "t/z") == 0);
	CHECK_OK(do_scan("t", 4, NULL, &sc), &sc.err);
	CHECK((a = find(&sc, "/a")) && (b = find(&sc, "/d/b")) &&
	      (c = find(&sc, "/z")));
	CHECK(digest_is(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(digest_is(b, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(digest_is(c, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK_EQ_INT(b->type, HM_TYPE_FILE);
	CHECK_EQ_INT(c->size, 3);
	scan_free(&sc);

	/* A link whose first sighting is filtered out is hashed at the next. */
	struct hm_source_filter f = { skip_a, NULL, NULL };
	CHECK_OK(do_scan("t", 1, &f, &sc), &sc.err);
	CHECK(!find(&sc, "/a"));
	CHECK((b = find(&sc, "/d/b")) && (c = find(&sc, "/z")));
	CHECK(digest_is(b, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(digest_is(c, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	scan_free(&sc);
}

/*
 * Run as nobody in a child so that permissions really apply (we are root
 * in CI).  The child prints "PATH FLAGS NOTE" lines; the parent checks.
 */
TEST(unreadable_entries_are_flagged_as_non_root)
{
	char buf[4096] = "";
	int pfd[2], status;
	size_t got = 0;
	pid_t pid;

	if (geteuid() != 0) {
		printf("# skip: needs root to drop to nobody\n");
		return;
	}
	CHECK(chmod(".", 0755) == 0);
	CHECK(mkdir("t", 0755) == 0);
	CHECK(write_file("t/a_secret", "s", 1) == 0);
	CHECK(chmod("t/a_secret", 0) == 0);
	CHECK(mkdir("t/b_closed", 0) == 0);
	CHECK(mkdir("t/c_noexec", 0755) == 0);
	CHECK(write_file("t/c_noexec/f", "f", 1) == 0);
	CHECK(chmod("t/c_noexec", 0444) == 0);
	CHECK(write_file("t/d_open", "abc", 3) == 0);
	CHECK(pipe(pfd) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct scan sc;
		FILE *out = fdopen(pfd[1], "w");

		close(pfd[0]);
		if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534) != 0)
			_exit(3);
		if (do_scan("t", 2, NULL, &sc) < 0) {
			fprintf(out, "error %s\n", sc.err.msg);
			_exit(4);
		}
		for (size_t i = 0; i < sc.n; i++)
			fprintf(out, "%s %u %d %s\n", sc.e[i].path,
				sc.e[i].flags, sc.e[i].type,
				sc.e[i].note ? sc.e[i].note : "-");
		fclose(out);
		_exit(0);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n = read(pfd[0], buf + got, sizeof(buf) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(pfd[0]);
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		FAIL("child failed: status %d, output: %s", status, buf);
	/* UNREADABLE = 2, HAS_DIGEST = 1; types: file 1, dir 2. */
	CHECK(strstr(buf, "/a_secret 2 1 Permission denied\n"));
	CHECK(strstr(buf, "/b_closed 2 2 Permission denied\n"));
	/* Readable but not searchable: the names are known, nothing else. */
	CHECK(strstr(buf, "/c_noexec 0 2 -\n"));
	CHECK(strstr(buf, "/c_noexec/f 2 1 Permission denied\n"));
	/* The scan went on past them. */
	CHECK(strstr(buf, "/d_open 1 1 -\n"));
}

TEST(paths_deeper_than_path_max)
{
	char name[101];
	struct scan sc;
	int fd, dfd, i;
	size_t want;

	memset(name, 'n', 100);
	name[100] = '\0';
	CHECK(mkdir("t", 0755) == 0);
	dfd = open("t", O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	for (i = 0; i < 60; i++) {   /* 60 * 101 bytes > PATH_MAX */
		CHECK(mkdirat(dfd, name, 0755) == 0);
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY);
		close(dfd);
		CHECK(fd >= 0);
		dfd = fd;
	}
	fd = openat(dfd, "leaf", O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, "abc", 3) == 3);
	close(fd);
	close(dfd);
	CHECK_OK(do_scan("t", 2, NULL, &sc), &sc.err);
	CHECK(sc.ordered);
	CHECK_EQ_INT(sc.n, 62);
	want = 60 * 101 + 5;
	CHECK(want > PATH_MAX);
	CHECK_EQ_INT(sc.e[61].path_len, want);
	CHECK_EQ_INT(strlen(sc.e[61].path), want);
	CHECK(strcmp(sc.e[61].path + want - 5, "/leaf") == 0);
	CHECK(digest_is(&sc.e[61], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	scan_free(&sc);
}

static bool same_entry(const struct hm_entry *a, const struct hm_entry *b)
{
	size_t i;

	if (a->path_len != b->path_len || memcmp(a->path, b->path, a->path_len) ||
	    a->type != b->type || a->mode != b->mode || a->uid != b->uid ||
	    a->gid != b->gid || a->size != b->size || a->flags != b->flags ||
	    memcmp(a->sha256, b->sha256, HM_SHA256_LEN) ||
	    a->target_len != b->target_len ||
	    (a->target && memcmp(a->target, b->target, a->target_len)) ||
	    a->rdev_major != b->rdev_major || a->rdev_minor != b->rdev_minor ||
	    a->n_xattrs != b->n_xattrs || !a->note != !b->note ||
	    (a->note && strcmp(a->note, b->note)))
		return false;
	for (i = 0; i < a->n_xattrs; i++)
		if (strcmp(a->xattrs[i].name, b->xattrs[i].name) ||
		    a->xattrs[i].len != b->xattrs[i].len ||
		    memcmp(a->xattrs[i].value, b->xattrs[i].value, a->xattrs[i].len))
			return false;
	return true;
}

/* Enough entries to wrap the 4096-slot ring several times. */
static int make_big_tree(const char *root, unsigned dirs, unsigned files)
{
	static unsigned char data[300000];
	unsigned d, f, seed = 12345;
	char p[256];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)((seed = seed * 1103515245 + 12345) >> 16);
	if (mkdir(root, 0755) != 0)
		return -1;
	for (d = 0; d < dirs; d++) {
		snprintf(p, sizeof(p), "%s/d%u", root, d);
		if (mkdir(p, 0755) != 0)
			return -1;
		for (f = 0; f < files; f++) {
			size_t len = (seed = seed * 1103515245 + 12345) >> 8;

			len %= (f % 50 == 0) ? sizeof(data) - 97 : 2000;
			snprintf(p, sizeof(p), "%s/d%u/f%u", root, d, f);
			if (write_file(p, data + f % 97, len) != 0)
				return -1;
			if (f % 7 == 0) {
				snprintf(p, sizeof(p), "%s/d%u/l%u", root, d, f);
				if (symlink("f0", p) != 0)
					return -1;
			}
		}
	}
	return 0;
}

TEST(one_thread_and_eight_give_the_same_stream)
{
	struct scan s1, s8;
	size_t i;

	CHECK(make_big_tree("t", 12, 1000) == 0);
	CHECK(link("t/d0/f1", "t/d9/hard") == 0);
	CHECK(setxattr("t/d3/f3", "user.k", "v", 1, 0) == 0 || errno == ENOTSUP);
	CHECK_OK(do_scan("t", 1, NULL, &s1), &s1.err);
	CHECK_OK(do_scan("t", 8, NULL, &s8), &s8.err);
	CHECK(s1.ordered && s8.ordered);
	CHECK_EQ_INT(s1.n, 1 + 12 + 12 * 1000 + 12 * 143 + 1);
	CHECK_EQ_INT(s1.n, s8.n);
	for (i = 0; i < s1.n; i++)
		if (!same_entry(&s1.e[i], &s8.e[i]))
			FAIL("entry %zu (%s) differs", i, s1.e[i].path);
	for (i = 0; i < s1.n; i++)
		if (s1.e[i].type == HM_TYPE_FILE &&
		    s1.e[i].flags != HM_ENTRY_HAS_DIGEST)
			FAIL("%s flags %u", s1.e[i].path, s1.e[i].flags);
	CHECK(memcmp(find(&s1, "/d9/hard")->sha256, find(&s1, "/d0/f1")->sha256,
		     HM_SHA256_LEN) == 0);
	scan_free(&s1);
	scan_free(&s8);
}

TEST(free_mid_scan_stops_cleanly)
{
	struct hm_scan_options opt = { .threads = 3 };
	const struct hm_entry *e;
	struct hm_source *src;
	struct hm_error err;
	int i, k;

	CHECK(make_big_tree("t", 3, 2000) == 0);
	for (k = 0; k < 20; k++) {
		CHECK_OK(hm_source_dir_open("t", &opt, &src, &err), &err);
		for (i = 0; i < k * 300; i++)
			CHECK(hm_source_next(src, &e, &err) == 1);
		hm_source_free(src);
	}
	hm_source_free(NULL);
}

struct grower {
	atomic_bool stop;
	int fd;
	atomic_ulong appended;
};

static void *grow(void *arg)
{
	struct grower *g = arg;

	while (!atomic_load(&g->stop)) {
		if (write(g->fd, "x", 1) == 1)
			g->appended++;
		usleep(200);
	}
	return NULL;
}

TEST(file_growing_while_hashed_is_changed)
{
	struct grower g = { .stop = false };
	const struct hm_entry *e;
	struct scan sc;
	pthread_t tid;

	CHECK(mkdir("t", 0755) == 0);
	g.fd = open("t/big", O_WRONLY | O_CREAT | O_APPEND, 0644);
	CHECK(g.fd >= 0);
	CHECK(ftruncate(g.fd, 400 << 20) == 0);  /* sparse: no disk used */
	CHECK(pthread_create(&tid, NULL, grow, &g) == 0);
	while (g.appended < 10)
		usleep(1000);
	do_scan("t", 2, NULL, &sc);
	atomic_store(&g.stop, true);
	pthread_join(tid, NULL);
	close(g.fd);
	CHECK_OK(sc.code, &sc.err);
	CHECK((e = find(&sc, "/big")));
	CHECK(e->flags & HM_ENTRY_CHANGED);
	CHECK(!(e->flags & HM_ENTRY_HAS_DIGEST));
	CHECK_EQ_STR(e->note, "changed while being hashed");
	scan_free(&sc);
}

static bool skip_entry_cb(void *ctx, const char *path, size_t len)
{
	(void)ctx;
	return len == 5 && memcmp(path, "/skip", 5) == 0;
}

static bool skip_subtree_cb(void *ctx, const char *path, size_t len)
{
	(void)ctx;
	return len == 5 && memcmp(path, "/keep", 5) == 0;
}

TEST(filter_skips_entries_and_subtrees)
{
	struct hm_source_filter f = { skip_entry_cb, skip_subtree_cb, NULL };
	const struct hm_entry *e;
	struct scan sc;

	CHECK(mkdir("t", 0755) == 0);
	CHECK(mkdir("t/skip", 0755) == 0);
	CHECK(write_file("t/skip/f", "x", 1) == 0);
	CHECK(mkdir("t/keep", 0700) == 0);
	CHECK(write_file("t/keep/f", "x", 1) == 0);
	CHECK(write_file("t/other", "x", 1) == 0);
	CHECK_OK(do_scan("t", 2, &f, &sc), &sc.err);
	CHECK_EQ_INT(sc.n, 3);
	CHECK_EQ_STR(sc.e[0].path, "/");
	CHECK((e = find(&sc, "/keep")));
	CHECK_EQ_INT(e->mode, 0700);
	CHECK_EQ_INT(e->flags, 0);
	CHECK(find(&sc, "/other"));
	scan_free(&sc);
}

/* skip_subtree runs between the fstatat and the open: swap the dir there. */
static bool swap_cb(void *ctx, const char *path, size_t len)
{
	const char *how = ctx;

	if (len != 2 || memcmp(path, "/d", 2) != 0)
		return false;
	if (rename("t/d", "t-moved") != 0)
		abort();
	if (strcmp(how, "symlink") == 0 ? symlink("/", "t/d") != 0 :
	    rename("t/other", "t/d") != 0)
		abort();
	return false;
}

TEST(directory_replaced_during_the_scan)
{
	static const char *const hows[] = { "symlink", "dir" };
	const struct hm_entry *e;
	struct scan sc;
	int i;

	for (i = 0; i < 2; i++) {
		struct hm_source_filter f = { NULL, swap_cb, (void *)hows[i] };

		CHECK(system("rm -rf t t-moved") == 0);
		CHECK(mkdir("t", 0755) == 0);
		CHECK(mkdir("t/d", 0755) == 0);
		CHECK(write_file("t/d/f", "x", 1) == 0);
		CHECK(mkdir("t/other", 0755) == 0);
		CHECK(write_file("t/other/g", "x", 1) == 0);
		CHECK_OK(do_scan("t", 2, &f, &sc), &sc.err);
		CHECK((e = find(&sc, "/d")));
		CHECK_EQ_INT(e->type, HM_TYPE_DIR);
		CHECK(e->flags & HM_ENTRY_CHANGED);
		CHECK(e->flags & HM_ENTRY_UNREADABLE);
		CHECK_EQ_STR(e->note, "replaced during the scan");
		/* Never followed or descended: nothing below /d. */
		CHECK(!find(&sc, "/d/f") && !find(&sc, "/d/g") &&
		      !find(&sc, "/d/etc"));
		scan_free(&sc);
	}
}

TEST(mount_points_are_not_crossed)
{
	const struct hm_entry *e;
	struct scan sc;

	CHECK(mkdir("t", 0755) == 0);
	CHECK(mkdir("t/mnt", 0755) == 0);
	CHECK(write_file("t/z", "x", 1) == 0);
	if (mount("hm-test", "t/mnt", "tmpfs", 0, "size=1m") != 0) {
		printf("# skip mount: %s\n", strerror(errno));
		return;
	}
	if (write_file("t/mnt/inside", "x", 1) != 0) {
		umount2("t/mnt", MNT_DETACH);
		FAIL("cannot write into the tmpfs");
	}
	do_scan("t", 2, NULL, &sc);
	umount2("t/mnt", MNT_DETACH);
	CHECK_OK(sc.code, &sc.err);
	CHECK((e = find(&sc, "/mnt")));
	CHECK_EQ_INT(e->type, HM_TYPE_DIR);
	CHECK(e->flags & HM_ENTRY_MOUNTPOINT);
	CHECK(!find(&sc, "/mnt/inside"));
	CHECK(find(&sc, "/z"));
	scan_free(&sc);
}

/* Bind mounts of the same file system keep st_dev: the kernel's mount
 * root attribute (or mount id) must tell, for folders and for files. */
TEST(bind_mounts_are_mount_points)
{
	const struct hm_entry *e;
	struct scan sc;

	CHECK(mkdir("t", 0755) == 0);
	CHECK(mkdir("t/etc", 0755) == 0);
	CHECK(mkdir("clean", 0755) == 0);
	CHECK(write_file("t/etc/passwd", "evil", 4) == 0);
	CHECK(write_file("t/shadow", "evil", 4) == 0);
	CHECK(write_file("clean/passwd", "good", 4) == 0);
	if (mount("clean", "t/etc", NULL, MS_BIND, NULL) != 0) {
		printf("# skip bind mount: %s\n", strerror(errno));
		return;
	}
	if (mount("clean/passwd", "t/shadow", NULL, MS_BIND, NULL) != 0) {
		umount2("t/etc", MNT_DETACH);
		FAIL("cannot bind-mount a file: %s", strerror(errno));
	}
	do_scan("t", 2, NULL, &sc);
	umount2("t/shadow", MNT_DETACH);
	umount2("t/etc", MNT_DETACH);
	CHECK_OK(sc.code, &sc.err);
	CHECK((e = find(&sc, "/etc")));
	CHECK_EQ_INT(e->type, HM_TYPE_DIR);
	CHECK(e->flags & HM_ENTRY_MOUNTPOINT);
	CHECK(!find(&sc, "/etc/passwd"));
	CHECK((e = find(&sc, "/shadow")));
	CHECK_EQ_INT(e->type, HM_TYPE_FILE);
	CHECK(e->flags & HM_ENTRY_MOUNTPOINT);
	CHECK(!(e->flags & HM_ENTRY_HAS_DIGEST));   /* never opened */
	scan_free(&sc);
}

/* A digest query that declines the paths holding "skip". */
static unsigned asked;
static int decline_skip(void *ctx, const char *path, size_t len,
			uint64_t size, struct hm_error *err)
{
	(void)ctx, (void)len, (void)size, (void)err;
	asked++;
	return strstr(path, "skip") ? 0 : 1;
}

static int scan_with_query(const char *root, unsigned threads, struct scan *sc)
{
	struct hm_scan_options opt = { .threads = threads };
	struct hm_digest_query q = { .need = decline_skip };
	const struct hm_entry *e;
	struct hm_source *src;
	size_t cap = 0;
	int r;

	memset(sc, 0, sizeof(*sc));
	asked = 0;
	if ((r = hm_source_dir_open(root, &opt, &src, &sc->err)) < 0)
		return sc->code = r;
	hm_source_set_digest_query(src, &q);
	while ((r = hm_source_next(src, &e, &sc->err)) > 0) {
		if (sc->n == cap) {
			cap = cap ? 2 * cap : 64;
			if (!(sc->e = realloc(sc->e, cap * sizeof(*sc->e))))
				abort();
		}
		memset(&sc->e[sc->n], 0, sizeof(*sc->e));
		if (hm_entry_copy(&sc->e[sc->n++], e) < 0)
			abort();
	}
	hm_source_free(src);
	return sc->code = r;
}

TEST(declined_digests_are_not_computed)
{
	unsigned char want[HM_SHA256_LEN];
	const struct hm_entry *e;
	struct scan sc;
	unsigned threads;
	int fd;

	CHECK(mkdir("t", 0755) == 0);
	CHECK(write_file("t/keep", "data", 4) == 0);
	CHECK(write_file("t/skip", "data", 4) == 0);
	CHECK(setxattr("t/skip", "user.k", "v", 1, 0) == 0 || errno == ENOTSUP);
	/* Larger than DEFER_BYTES: waits for the answer, never opened. */
	CHECK((fd = open("t/skip-big", O_WRONLY | O_CREAT, 0644)) >= 0);
	CHECK(ftruncate(fd, (off_t)1 << 40) == 0);
	close(fd);
	/* A hard link declined under its first name, needed under its
	 * second: hashed for the second. */
	CHECK(write_file("t/z-linked", "data", 4) == 0);
	CHECK(link("t/z-linked", "t/a-skip-link") == 0);
	CHECK(hm_hash_buf(HM_HASH_SHA256, "data", 4, want) == 0);
	for (threads = 1; threads <= 3; threads++) {
		CHECK_OK(scan_with_query("t", threads, &sc), &sc.err);
		CHECK(asked >= 1);
		CHECK((e = find(&sc, "/keep")));
		CHECK(e->flags & HM_ENTRY_HAS_DIGEST);
		CHECK(memcmp(e->sha256, want, HM_SHA256_LEN) == 0);
		CHECK((e = find(&sc, "/skip-big")));
		CHECK(!(e->flags & (HM_ENTRY_HAS_DIGEST | HM_ENTRY_CHANGED |
				    HM_ENTRY_UNREADABLE)));
		CHECK_EQ_INT(e->size, (uint64_t)1 << 40);
		CHECK((e = find(&sc, "/skip")));
		/* Hashed ahead by a worker or declined: never flagged. */
		CHECK(!(e->flags & (HM_ENTRY_CHANGED | HM_ENTRY_UNREADABLE)));
		if (threads == 1) {
			CHECK(!(e->flags & HM_ENTRY_HAS_DIGEST));
			CHECK(e->n_xattrs <= 1);
		}
		CHECK((e = find(&sc, "/z-linked")));
		CHECK(e->flags & HM_ENTRY_HAS_DIGEST);
		CHECK(memcmp(e->sha256, want, HM_SHA256_LEN) == 0);
		scan_free(&sc);
	}
}

static int make_chain(const char *root, unsigned levels, size_t name_len)
{
	char name[256];
	unsigned i;
	int dfd, fd;

	memset(name, 'd', name_len);
	name[name_len] = '\0';
	if (mkdir(root, 0755) != 0 || (dfd = open(root, O_RDONLY)) < 0)
		return -1;
	for (i = 0; i < levels; i++) {
		if (mkdirat(dfd, name, 0755) != 0 ||
		    (fd = openat(dfd, name, O_RDONLY | O_DIRECTORY)) < 0) {
			close(dfd);
			return -1;
		}
		close(dfd);
		dfd = fd;
	}
	close(dfd);
	return 0;
}

TEST(depth_and_path_limits_are_errors)
{
	struct scan deep, longp;
	bool mounted;
	int r1, r2;

	/* On a tmpfs if we may: removing 4097 nested ext4 dirs takes 10 s.
	 * Everything is checked after the unmount, so none is left behind. */
	CHECK(mkdir("m", 0755) == 0);
	mounted = mount("hm-test", "m", "tmpfs", 0, "size=64m") == 0;
	r1 = make_chain("m/deep", HM_LIMIT_DEPTH + 1, 1);
	do_scan("m/deep", 2, NULL, &deep);
	r2 = make_chain("m/long", HM_LIMIT_PATH_BYTES / 250 + 1, 249);
	do_scan("m/long", 2, NULL, &longp);
	if (mounted)
		umount2("m", MNT_DETACH);
	CHECK(r1 == 0 && r2 == 0);
	CHECK_EQ_INT(deep.code, HM_ERR_LIMIT);
	CHECK(strstr(deep.err.msg, "deeper than 4096"));
	CHECK(strstr(deep.err.msg, "m/deep/d/d/d/d"));
	CHECK(deep.ordered);
	CHECK_EQ_INT(deep.n, HM_LIMIT_DEPTH + 1);
	CHECK_EQ_INT(longp.code, HM_ERR_LIMIT);
	CHECK(strstr(longp.err.msg, "longer than 65536 bytes"));
	CHECK(longp.ordered);
	CHECK_EQ_INT(longp.n, HM_LIMIT_PATH_BYTES / 250 + 1);
	scan_free(&deep);
	scan_free(&longp);
}

TEST(root_problems_are_errors)
{
	const struct hm_entry *e;
	struct hm_source *src;
	struct hm_error err;
	struct scan sc;

	CHECK_EQ_INT(do_scan("missing", 1, NULL, &sc), HM_ERR_IO);
	CHECK(strstr(sc.err.msg, "cannot open directory 'missing'"));
	CHECK(write_file("file", "x", 1) == 0);
	CHECK_EQ_INT(do_scan("file", 1, NULL, &sc), HM_ERR_IO);
	/* A symlink to a directory is followed for the root only. */
	CHECK(mkdir("t", 0755) == 0);
	CHECK(symlink("../t", "t/loop") == 0);
	CHECK(symlink("t", "root") == 0);
	CHECK_OK(do_scan("root", 0, NULL, &sc), &sc.err);
	CHECK_EQ_INT(sc.n, 2);
	CHECK_EQ_INT(sc.e[1].type, HM_TYPE_SYMLINK);
	scan_free(&sc);
	/* NULL options; the end is sticky. */
	CHECK_OK(hm_source_dir_open("t", NULL, &src, &err), &err);
	CHECK_EQ_INT(hm_source_next(src, &e, &err), 1);
	CHECK_EQ_INT(hm_source_next(src, &e, &err), 1);
	CHECK_EQ_INT(hm_source_next(src, &e, &err), 0);
	CHECK_EQ_INT(hm_source_next(src, &e, &err), 0);
	hm_source_free(src);
}
