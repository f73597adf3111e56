/*
 * Unit tests: command outputs (lib/fsutil.c, hm_output_*).  A -o must
 * replace only a regular file or nothing; devices and FIFOs are written
 * into, never replaced; directories, sockets and dangling symlinks are
 * refused before anything is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "harness.h"

#include "hallmark/fsutil.h"

static int slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

TEST(output_new_and_regular_files_are_replaced_atomically)
{
	struct hm_error err = { 0 };
	struct stat a, b;
	char buf[64];

	CHECK_OK(hm_output_write_file("new", "one\n", 4, 0644, &err), &err);
	CHECK(slurp("new", buf, sizeof(buf)) == 4 && strcmp(buf, "one\n") == 0);
	CHECK(stat("new", &a) == 0);
	CHECK_OK(hm_output_write_file("new", "two\n", 4, 0644, &err), &err);
	CHECK(stat("new", &b) == 0);
	/* A new inode: renamed over, never written in place. */
	CHECK(a.st_ino != b.st_ino);
	CHECK(slurp("new", buf, sizeof(buf)) == 4 && strcmp(buf, "two\n") == 0);
}

TEST(output_symlink_to_a_file_keeps_the_link)
{
	struct hm_error err = { 0 };
	struct stat st;
	char buf[64];

	CHECK(mkdir("real", 0755) == 0);
	CHECK_OK(hm_output_write_file("real/r.txt", "old\n", 4, 0644, &err), &err);
	CHECK(symlink("real/r.txt", "latest") == 0);
	CHECK_OK(hm_output_write_file("latest", "new\n", 4, 0644, &err), &err);
	CHECK(lstat("latest", &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(slurp("real/r.txt", buf, sizeof(buf)) == 4 && strcmp(buf, "new\n") == 0);
}

TEST(output_refuses_dirs_sockets_and_dangling_links)
{
	struct hm_error err = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int s;

	CHECK(mkdir("dir", 0755) == 0);
	CHECK_EQ_INT(hm_output_write_file("dir", "x", 1, 0644, &err), HM_ERR_USAGE);
	CHECK(strstr(err.msg, "'dir'") && strstr(err.msg, "is a directory"));
	CHECK(stat("dir", &st) == 0 && S_ISDIR(st.st_mode));

	s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(s >= 0);
	strcpy(sa.sun_path, "sock");
	CHECK(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK_EQ_INT(hm_output_write_file("sock", "x", 1, 0644, &err), HM_ERR_USAGE);
	CHECK(strstr(err.msg, "'sock'") && strstr(err.msg, "is a socket"));
	CHECK(lstat("sock", &st) == 0 && S_ISSOCK(st.st_mode));
	close(s);

	CHECK(symlink("nowhere", "dangling") == 0);
	CHECK_EQ_INT(hm_output_write_file("dangling", "x", 1, 0644, &err), HM_ERR_USAGE);
	CHECK(strstr(err.msg, "'dangling'"));
	CHECK(lstat("dangling", &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(lstat("nowhere", &st) < 0);
}

TEST(output_fifo_is_streamed_into)
{
	struct hm_error err = { 0 };
	struct stat st;
	char buf[64];
	pid_t pid;
	int status;

	CHECK(mkfifo("fifo", 0600) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* The reader: copy what comes through into a file. */
		int in = open("fifo", O_RDONLY), out = open("got", O_WRONLY | O_CREAT, 0600);
		ssize_t n;

		while (in >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n)
				_exit(1);
		_exit(0);
	}
	CHECK_OK(hm_output_write_file("fifo", "through\n", 8, 0644, &err), &err);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	CHECK(lstat("fifo", &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(slurp("got", buf, sizeof(buf)) == 8 && strcmp(buf, "through\n") == 0);
}

TEST(output_character_device_is_written_not_replaced)
{
	struct hm_error err = { 0 };
	struct hm_output *o;
	struct stat st;

	/* A private /dev/null (needs CAP_MKNOD); else the real one, which is
	 * safe to write to and must still be a device afterwards. */
	const char *dev = mknod("null", S_IFCHR | 0666, makedev(1, 3)) == 0 ?
			  "null" : "/dev/null";

	CHECK_OK(hm_output_write_file(dev, "report\n", 7, 0644, &err), &err);
	CHECK(lstat(dev, &st) == 0 && S_ISCHR(st.st_mode));
	CHECK_EQ_INT(major(st.st_rdev), 1);
	CHECK_EQ_INT(minor(st.st_rdev), 3);
	CHECK_OK(hm_output_open(dev, 0644, &o, &err), &err);
	CHECK(hm_output_file(o) == NULL);
	hm_output_abort(o);
	CHECK(lstat(dev, &st) == 0 && S_ISCHR(st.st_mode));
}

TEST(output_dash_is_stdout)
{
	struct hm_error err = { 0 };
	struct hm_output *o;

	CHECK_OK(hm_output_open("-", 0644, &o, &err), &err);
	CHECK_EQ_INT(hm_output_fd(o), STDOUT_FILENO);
	CHECK(hm_output_file(o) == NULL);
	CHECK_OK(hm_output_commit(o, &err), &err);
	/* stdout stays open for the rest of the run. */
	CHECK(fcntl(STDOUT_FILENO, F_GETFD) >= 0);
}

TEST(output_abort_leaves_nothing)
{
	struct hm_error err = { 0 };
	struct hm_output *o;

	CHECK_OK(hm_output_open("out", 0644, &o, &err), &err);
	CHECK(hm_output_file(o) && strcmp(hm_output_file(o), "out") == 0);
	CHECK_OK(hm_output_write(o, "half", 4, &err), &err);
	hm_output_abort(o);
	CHECK(access("out", F_OK) < 0);
	CHECK(system("test -z \"$(ls -A)\"") == 0);
}

/* mkdir -p: one helper for the build, the bases and the blob store. */
TEST(mkdir_p)
{
	struct hm_error err = { 0 };
	struct stat st;

	CHECK_OK(hm_mkdir_p("a/b/c", &err), &err);
	CHECK(stat("a/b/c", &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_OK(hm_mkdir_p("a/b/c", &err), &err);      /* there already */
	CHECK_OK(hm_mkdir_p("a/b/c/", &err), &err);
	CHECK(close(open("a/f", O_CREAT | O_WRONLY, 0644)) == 0);
	CHECK_EQ_INT(hm_mkdir_p("a/f", &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "cannot use 'a/f' as a folder") != NULL);
	CHECK_EQ_INT(hm_mkdir_p("a/f/g", &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "cannot create the folder 'a/f/g'") != NULL);
}

/* A file named when complete (the blob store): made in a folder, named at
 * commit; with HM_ATOMIC_KEEP a file already at the name stays. */
TEST(atomic_named_at_commit)
{
	struct hm_error err = { 0 };
	struct hm_atomic *a = NULL;
	char buf[64];
	struct stat st;

	CHECK(mkdir("tmp", 0755) == 0);
	CHECK_OK(hm_atomic_open_in("tmp", "blob", 0444, &a, &err), &err);
	CHECK_OK(hm_atomic_write(a, "one", 3, &err), &err);
	CHECK_OK(hm_atomic_commit_to(a, "x", HM_ATOMIC_NO_SYNC | HM_ATOMIC_KEEP, &err), &err);
	CHECK(slurp("x", buf, sizeof(buf)) == 3 && !memcmp(buf, "one", 3));
	CHECK(stat("x", &st) == 0 && (st.st_mode & 07777) == 0444);
	CHECK_OK(hm_atomic_open_in("tmp", "blob", 0444, &a, &err), &err);
	CHECK_OK(hm_atomic_write(a, "two", 3, &err), &err);
	CHECK_OK(hm_atomic_commit_to(a, "x", HM_ATOMIC_KEEP, &err), &err);
	CHECK(slurp("x", buf, sizeof(buf)) == 3 && !memcmp(buf, "one", 3));
	/* Without KEEP it replaces. */
	CHECK_OK(hm_atomic_open_in("tmp", "blob", 0644, &a, &err), &err);
	CHECK_OK(hm_atomic_write(a, "three", 5, &err), &err);
	CHECK_OK(hm_atomic_commit_to(a, "x", 0, &err), &err);
	CHECK(slurp("x", buf, sizeof(buf)) == 5);
	/* Nothing left behind in the folder; abort leaves nothing either. */
	CHECK_OK(hm_atomic_open_in("tmp", "blob", 0644, &a, &err), &err);
	hm_atomic_abort(a);
	CHECK(rmdir("tmp") == 0);
}
