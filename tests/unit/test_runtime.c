/*
 * Unit tests: the parsers of /proc files (lib/runtime*.c), and the checks
 * that need what a CI sandbox cannot do (load a kernel module, taint the
 * kernel) run against a recorded /proc tree written here: the proc root
 * is a parameter of the library.  Real processes, listeners and settings
 * are tested with real ones by tests/cli/t8001-runtime-namespace.sh.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hallmark/buf.h"
#include "hallmark/fsutil.h"
#include "hallmark/runtime.h"

TEST(stat_fields_past_a_hostile_comm)
{
	static const char stat[] = "4242 (a) (b c) S 1 4242 4242 0 -1 4194560 "
				   "100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
	unsigned long long start = 0;
	unsigned long flags = 0;

	CHECK_EQ_INT(hm_proc_parse_stat(stat, strlen(stat), &start, &flags), 0);
	CHECK_EQ_INT(start, 987654);
	CHECK_EQ_INT(flags, 4194560);
	CHECK_EQ_INT(hm_proc_parse_stat("1 (x) S 1 2", 11, &start, &flags), -1);
	CHECK_EQ_INT(hm_proc_parse_stat("no paren", 8, &start, &flags), -1);
}

TEST(net_lines_listening_or_not)
{
	struct hm_proc_socket s;
	char name[96];

	/* 127.0.0.1:8080 LISTEN, inode 12345 */
	CHECK_EQ_INT(hm_proc_parse_socket("   0: 0100007F:1F90 00000000:0000 0A "
					  "00000000:00000000 00:00000000 00000000     0"
					  "        0 12345 1 0000000000000000 100 0 0 10 0",
					  "tcp", false, &s), 1);
	hm_proc_socket_name(&s, name, sizeof(name));
	CHECK_EQ_STR(name, "tcp/127.0.0.1:8080");
	CHECK_EQ_INT(s.inode, 12345);
	/* ESTABLISHED: not a listener. */
	CHECK_EQ_INT(hm_proc_parse_socket("   1: 0100007F:1F90 0100007F:C350 01 "
					  "00000000:00000000 00:00000000 00000000     0"
					  "        0 12346 1", "tcp", false, &s), 0);
	/* [::1]:22 LISTEN */
	CHECK_EQ_INT(hm_proc_parse_socket("   0: 00000000000000000000000001000000:0016 "
					  "00000000000000000000000000000000:0000 0A "
					  "00000000:00000000 00:00000000 00000000     0"
					  "        0 777 1", "tcp", true, &s), 1);
	hm_proc_socket_name(&s, name, sizeof(name));
	CHECK_EQ_STR(name, "tcp/[::1]:22");
	/* UDP bound to *:53, unconnected (state 07): listening. */
	CHECK_EQ_INT(hm_proc_parse_socket("  12: 00000000:0035 00000000:0000 07 "
					  "00000000:00000000 00:00000000 00000000     0"
					  "        0 999 2", "udp", false, &s), 1);
	hm_proc_socket_name(&s, name, sizeof(name));
	CHECK_EQ_STR(name, "udp/0.0.0.0:53");
	/* UDP connected to a peer: a client, not a listener. */
	CHECK_EQ_INT(hm_proc_parse_socket("  12: 0100007F:A000 08080808:0035 07 "
					  "00000000:00000000 00:00000000 00000000     0"
					  "        0 998 2", "udp", false, &s), 0);
	CHECK_EQ_INT(hm_proc_parse_socket("garbage", "tcp", false, &s), -1);
	CHECK_EQ_INT(hm_proc_parse_socket("   0: 0100007F:1F90 00000000:0000", "tcp",
					  false, &s), -1);
}

TEST(mountinfo_lines)
{
	struct hm_proc_mount m;

	CHECK_EQ_INT(hm_proc_parse_mountinfo("36 35 98:0 / /mnt/a\\040b rw,nosuid "
					     "master:1 shared:2 - ext4 /dev/sda1 "
					     "rw,errors=continue", &m), 0);
	CHECK_EQ_STR(m.point, "/mnt/a b");
	CHECK_EQ_STR(m.fstype, "ext4");
	CHECK_EQ_STR(m.options, "rw,nosuid,rw,errors=continue");
	hm_proc_mount_clear(&m);
	CHECK_EQ_INT(hm_proc_parse_mountinfo("36 35 98:0 / /x rw", &m), -1);
}

TEST(module_names_from_files)
{
	char n[64];

	CHECK_EQ_INT(hm_module_name("nf-conntrack.ko.xz", n, sizeof(n)), 0);
	CHECK_EQ_STR(n, "nf_conntrack");
	CHECK_EQ_INT(hm_module_name("ext4.ko", n, sizeof(n)), 0);
	CHECK_EQ_STR(n, "ext4");
	CHECK_EQ_INT(hm_module_name("zram.ko.zst", n, sizeof(n)), 0);
	CHECK_EQ_INT(hm_module_name("modules.dep", n, sizeof(n)), -1);
	CHECK_EQ_INT(hm_module_name(".ko", n, sizeof(n)), -1);
}

TEST(targets)
{
	struct hm_error err = { 0 };
	pid_t pid = -1;

	CHECK_EQ_INT(hm_runtime_parse_target("runtime:", &pid, &err), 0);
	CHECK_EQ_INT(pid, 0);
	CHECK_EQ_INT(hm_runtime_parse_target("runtime:4242", &pid, &err), 0);
	CHECK_EQ_INT(pid, 4242);
	CHECK_EQ_INT(hm_runtime_parse_target("runtime:0", &pid, &err), HM_ERR_USAGE);
	CHECK_EQ_INT(hm_runtime_parse_target("runtime:12x", &pid, &err), HM_ERR_USAGE);
	CHECK_EQ_INT(hm_runtime_parse_target("runtime:99999999999", &pid, &err),
		     HM_ERR_USAGE);
	CHECK_EQ_STR(err.msg, "bad runtime target 'runtime:99999999999': use "
		     "runtime: (this host) or runtime:PID");
}

static void put(const char *path, const char *data)
{
	struct hm_error err = { 0 };
	char *dir = strdup(path), *slash = strrchr(dir, '/');

	*slash = '\0';
	hm_mkdir_p(dir, &err);
	free(dir);
	hm_write_file_atomic(path, data, strlen(data), 0644, true, &err);
}

static int add(struct hm_runtime_image *img, const char *path, enum hm_type t)
{
	struct hm_entry e = { .path = (char *)path, .path_len = strlen(path), .type = t };
	struct hm_error err = { 0 };

	return hm_runtime_image_add(img, &e, &err);
}

struct seen {
	struct hm_buf b;
};

static int record(void *ctx, const struct hm_finding *f, struct hm_error *err)
{
	struct seen *s = ctx;

	(void)err;
	return hm_buf_addf(&s->b, "%s %s %s|", hm_finding_kind_name(f->kind), f->path,
			   f->actual ? f->actual : "-");
}

TEST(a_recorded_proc_tree)
{
	struct hm_runtime_listen listen[2] = {
		{ .proto = "tcp", .port = 8080 }, { .proto = "tcp", .port = 22 },
	};
	char *opts_ro[] = { (char *)"nosuid", (char *)"ro" };
	struct hm_runtime_mount mounts[1] = { { (char *)"/", opts_ro, 2 } };
	struct hm_runtime_sysctl sysctl[2] = {
		{ (char *)"net.ipv4.ip_forward", (char *)"0" },
		{ (char *)"net.ipv4.conf.all.rp_filter", (char *)"2" },
	};
	struct hm_runtime_spec spec = {
		.listen = listen, .n_listen = 2, .mounts = mounts, .n_mounts = 1,
		.sysctl = sysctl, .n_sysctl = 2,
	};
	struct hm_runtime_options opt = { .proc = "proc", .no_processes = true };
	struct hm_runtime_image *img = NULL;
	struct hm_runtime_stats rs;
	struct hm_compare_stats st;
	struct hm_error err = { 0 };
	struct seen s = { HM_BUF_INIT };

	put("proc/modules", "ext4 1 1 - Live 0x0\nnf_conntrack 1 0 - Live 0x0\n"
	    "rootkit 16384 0 - Live 0x0 (OE)\n");
	put("proc/sys/kernel/tainted", "12288\n");
	put("proc/sys/net/ipv4/ip_forward", "1\n");
	put("proc/sys/net/ipv4/conf/all/rp_filter", "2\n");
	put("proc/self/mountinfo", "1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
	    "2 1 0:5 / /srv rw - tmpfs tmpfs rw\n");
	put("proc/self/net/tcp", "  sl  local_address rem_address   st\n"
	    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 "
	    "00000000     0        0 12345 1\n"
	    "   1: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 "
	    "00000000     0        0 12346 1\n");
	CHECK_OK(hm_runtime_image_new(&img, &err), &err);
	CHECK_EQ_INT(add(img, "/lib/modules/6.1.0/kernel/fs/ext4.ko.xz", HM_TYPE_FILE), 0);
	CHECK_EQ_INT(add(img, "/lib/modules/6.1.0/kernel/nf/nf-conntrack.ko", HM_TYPE_FILE), 0);
	CHECK_EQ_INT(add(img, "/srv", HM_TYPE_DIR), 0);
	CHECK_OK(hm_runtime_check(&opt, &spec, img, record, &s, &rs, &st, &err), &err);
	CHECK(s.b.data != NULL);
	CHECK_EQ_STR(s.b.data,
		     "listener-undeclared tcp/0.0.0.0:8081 listening|"
		     "listener-absent tcp/*:22 not listening|"
		     "module-unknown module:rootkit loaded|"
		     "kernel-tainted kernel 12288 (O E)|"
		     "sysctl /proc/sys/net/ipv4/ip_forward 1|"
		     "mount-options / rw,relatime,rw|"
		     "mount-undeclared /srv tmpfs|");
	CHECK_EQ_INT(st.total_findings, 7);
	CHECK_EQ_INT(st.findings[HM_FINDING_SYSCTL], 1);
	CHECK_EQ_INT(rs.modules, 3);
	CHECK_EQ_INT(rs.sysctls, 2);
	hm_buf_free(&s.b);
	hm_runtime_image_free(img);
}

TEST(no_such_pid_is_an_error)
{
	struct hm_runtime_spec spec = { 0 };
	struct hm_runtime_options opt = { .proc = "proc", .pid = 4194304 };
	struct hm_runtime_stats rs;
	struct hm_compare_stats st;
	struct hm_error err = { 0 };

	CHECK(mkdir("proc", 0755) == 0);
	CHECK_EQ_INT(hm_runtime_check(&opt, &spec, NULL, record, NULL, &rs, &st, &err),
		     HM_ERR_IO);
	CHECK_EQ_STR(err.msg, "no process 4194304: runtime:4194304 names no running process");
}

struct about {
	const char *path;
	struct hm_buf b;
};

/* Only the findings about one path: the host runs much else. */
static int record_path(void *ctx, const struct hm_finding *f, struct hm_error *err)
{
	struct about *a = ctx;

	(void)err;
	if (strcmp(f->path, a->path) != 0)
		return 0;
	return hm_buf_addf(&a->b, "%s %s|", hm_finding_kind_name(f->kind),
			   f->detail ? f->detail : "-");
}

TEST(a_real_process_is_hashed_not_named)
{
	struct hm_runtime_spec spec = { 0 };
	struct hm_runtime_options opt = { .no_listeners = true, .no_modules = true,
					  .no_sysctl = true, .no_mounts = true };
	struct hm_runtime_image *img = NULL;
	struct hm_runtime_stats rs;
	struct hm_compare_stats st;
	struct hm_error err = { 0 };
	char cwd[4096], path[4200], want[200];
	struct hm_entry e = { .type = HM_TYPE_FILE, .flags = HM_ENTRY_HAS_DIGEST };
	struct about a = { path, HM_BUF_INIT };
	pid_t child;

	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	snprintf(path, sizeof(path), "%s/mysleep", cwd);
	CHECK(system("cp /usr/bin/sleep mysleep") == 0);
	child = fork();
	if (child == 0) {
		execl(path, "mysleep", "30", (char *)NULL);
		_exit(127);
	}
	usleep(200000);
	/* The manifest has the path, with another content. */
	e.path = path;
	e.path_len = strlen(path);
	memset(e.sha256, 0xab, sizeof(e.sha256));
	CHECK_OK(hm_runtime_image_new(&img, &err), &err);
	CHECK_OK(hm_runtime_image_add(img, &e, &err), &err);
	CHECK_OK(hm_runtime_check(&opt, &spec, img, record_path, &a, &rs, &st, &err), &err);
	snprintf(want, sizeof(want), "exe-content pid %ld uid %lu (", (long)child,
		 (unsigned long)getuid());
	CHECK(a.b.data && strncmp(a.b.data, want, strlen(want)) == 0);
	CHECK(strstr(a.b.data, "cmdline mysleep 30|") != NULL);
	CHECK(rs.executables >= 1);
	/* Deleted while it runs: the kernel still knows the file. */
	hm_buf_reset(&a.b);
	CHECK(unlink("mysleep") == 0);
	CHECK_OK(hm_runtime_check(&opt, &spec, img, record_path, &a, &rs, &st, &err), &err);
	CHECK(a.b.data && strncmp(a.b.data, "exe-deleted pid ", 16) == 0);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* Gone: nothing about it, and no error. */
	hm_buf_reset(&a.b);
	CHECK_OK(hm_runtime_check(&opt, &spec, img, record_path, &a, &rs, &st, &err), &err);
	CHECK(a.b.len == 0);
	hm_buf_free(&a.b);
	hm_runtime_image_free(img);
}

TEST(a_captured_section_as_yaml)
{
	struct hm_runtime_listen l[2] = {
		{ .proto = "tcp", .port = 22, .exe = (char *)"/usr/sbin/sshd" },
		{ .proto = "udp", .port = 53, .addr = (char *)"::1" },
	};
	char *procs[] = { (char *)"/usr/bin/a b", (char *)"/usr/sbin/sshd" };
	char *opts[] = { (char *)"nosuid", (char *)"ro" };
	struct hm_runtime_mount m[1] = { { (char *)"/", opts, 2 } };
	struct hm_runtime_spec s = {
		.listen = l, .n_listen = 2, .processes_listed = true, .processes = procs,
		.n_processes = 2, .mounts = m, .n_mounts = 1,
	};
	struct hm_buf b = HM_BUF_INIT;
	struct hm_error err = { 0 };

	CHECK_OK(hm_runtime_spec_yaml(&s, &b, &err), &err);
	CHECK_EQ_STR(b.data, "runtime:\n"
		     "  listen:\n"
		     "  - {proto: tcp, port: 22, exe: /usr/sbin/sshd}\n"
		     "  - {proto: udp, port: 53, addr: '::1'}\n"
		     "  processes:\n"
		     "  - /usr/bin/a b\n"
		     "  - /usr/sbin/sshd\n"
		     "  mounts:\n"
		     "  - {path: /, options: [nosuid, ro]}\n");
	hm_buf_free(&b);
}
