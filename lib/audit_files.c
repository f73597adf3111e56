/*
 * File modes and owners (HM-FILE-001..005), and what a walk of the tree
 * finds besides: ssh host keys (HM-SSH-004), package caches and
 * documentation (HM-SYS-004, 005).
 */
#include <stdlib.h>
#include <string.h>

#include "hallmark/policy.h"

#include "audit_private.h"

const struct hm_audit_rule hm_audit_rules_files[] = {
	{ "HM-FILE-001", "world-writable file", HM_SEV_HIGH,
	  "Any user can change a world-writable file, and so anything that reads or runs it.",
	  CIS "Ensure world writable files and directories are secured" },
	{ "HM-FILE-002", "world-writable directory without the sticky bit", HM_SEV_HIGH,
	  "Without the sticky bit, any user can delete or replace other users' files in the directory.",
	  CIS "Ensure world writable files and directories are secured" },
	{ "HM-FILE-003", "setuid or setgid file outside the allowlist", HM_SEV_HIGH,
	  "Setuid and setgid programs run with another identity; each one outside the small set a system needs is attack surface.",
	  CIS "Ensure SUID and SGID files are reviewed" },
	{ "HM-FILE-004", "file capabilities outside the allowlist", HM_SEV_HIGH,
	  "File capabilities (security.capability) grant root powers like setuid does, less visibly.",
	  NULL },
	{ "HM-FILE-005", "file owned by an unknown user or group", HM_SEV_MEDIUM,
	  "A uid or gid with no account is taken over by whichever account gets that id next.",
	  CIS "Ensure no unowned or ungrouped files or directories exist" },
	{ "HM-SSH-004", "ssh host key baked into the image", HM_SEV_HIGH,
	  "Every machine made from the image shares its host keys, so one leak lets an attacker impersonate them all. Generate keys at first boot.",
	  NULL },
	{ "HM-SYS-004", "package manager cache left in the image", HM_SEV_INFO,
	  "Package lists and caches make the image larger and go stale; an image should fetch fresh lists before installing.",
	  NULL },
	{ "HM-SYS-005", "documentation left in the image", HM_SEV_INFO,
	  "Documentation other than copyright notices is dead weight in an image.",
	  NULL },
};
const size_t hm_audit_n_rules_files =
	sizeof(hm_audit_rules_files) / sizeof(hm_audit_rules_files[0]);

/* Setuid/setgid programs a Debian system needs (docs/audit-rules.md). */
static const char *const setid_allow[] = {
	"/usr/bin/passwd", "/usr/bin/su", "/bin/su", "/usr/bin/mount", "/bin/mount",
	"/usr/bin/umount", "/bin/umount", "/usr/bin/chsh", "/usr/bin/chfn",
	"/usr/bin/gpasswd", "/usr/bin/newgrp", "/usr/bin/expiry", "/usr/bin/chage",
	"/usr/bin/sudo", "/usr/bin/crontab", "/usr/bin/wall", "/usr/bin/ssh-agent",
	"/usr/bin/write.ul", "/usr/bin/bsd-write", "/usr/bin/dotlockfile",
	"/usr/bin/fusermount", "/usr/bin/fusermount3", "/usr/bin/at",
	"/usr/sbin/unix_chkpwd", "/sbin/unix_chkpwd", "/usr/sbin/pam_extrausers_chkpwd",
	"/usr/lib/openssh/ssh-keysign", "/usr/lib/dbus-1.0/dbus-daemon-launch-helper",
	"/usr/lib/polkit-1/polkit-agent-helper-1", "/usr/libexec/polkit-agent-helper-1",
	NULL,
};

static const char *const caps_allow[] = {
	"/usr/bin/ping", "/bin/ping", "/usr/bin/arping", "/usr/bin/mtr-packet",
	"/usr/lib/*/gstreamer1.0/gstreamer-1.0/gst-ptp-helper", NULL,
};

static bool in_list(const char *const *globs, const struct hm_entry *e)
{
	size_t i;

	for (i = 0; globs[i]; i++)
		if (hm_glob_match(globs[i], e->path, e->path_len))
			return true;
	return false;
}

struct files_walk {
	struct actx *a;
	int r;
	uint64_t docs, man;
};

static int files_entry(void *ctx, const struct hm_entry *e)
{
	struct files_walk *w = ctx;
	struct actx *a = w->a;
	const char *p = e->path;
	size_t n = e->path_len;
	const char *base;
	int r = 0;

	if (e->flags & (HM_ENTRY_DELETED | HM_ENTRY_IMPLICIT))
		return 0;
	if (e->type == HM_TYPE_FILE && (e->mode & 0002))
		r = hm_audit_finding(a, "HM-FILE-001", p, n, "world-writable file (mode %04o)",
			    e->mode);
	if (r == 0 && e->type == HM_TYPE_DIR && (e->mode & 0002) && !(e->mode & 01000))
		r = hm_audit_finding(a, "HM-FILE-002", p, n,
			    "world-writable directory without the sticky bit (mode %04o)",
			    e->mode);
	if (r == 0 && e->type == HM_TYPE_FILE && (e->mode & 06000) &&
	    !in_list(setid_allow, e))
		r = hm_audit_finding(a, "HM-FILE-003", p, n, "%s file outside the allowlist (mode %04o, owner %u:%u)",
			    (e->mode & 06000) == 06000 ? "setuid and setgid" :
			    (e->mode & 04000) ? "setuid" : "setgid",
			    e->mode, e->uid, e->gid);
	if (r == 0 && hm_entry_find_xattr(e, "security.capability") &&
	    !in_list(caps_allow, e))
		r = hm_audit_finding(a, "HM-FILE-004", p, n,
			    "file capabilities (security.capability) outside the allowlist");
	if (r == 0 && a->have_passwd && !hm_audit_has_id(a->uids, a->n_uids, e->uid))
		r = hm_audit_finding(a, "HM-FILE-005", p, n, "owned by uid %u, which has no account",
			    e->uid);
	if (r == 0 && a->have_group && !hm_audit_has_id(a->gids, a->n_gids, e->gid))
		r = hm_audit_finding(a, "HM-FILE-005", p, n, "owned by gid %u, which has no group",
			    e->gid);
	if (r == 0 && e->type == HM_TYPE_FILE &&
	    hm_glob_match("/etc/ssh/ssh_host_*_key", p, n))
		r = hm_audit_finding(a, "HM-SSH-004", p, n,
			    "ssh host private key; generate host keys at first boot");
	if (r == 0 && e->type == HM_TYPE_FILE &&
	    (hm_glob_match("/var/cache/apt/*.bin", p, n) ||
	     hm_glob_match("/var/cache/apt/archives/*.deb", p, n) ||
	     hm_glob_match("/var/lib/apt/lists/*_Packages*", p, n)))
		r = hm_audit_finding(a, "HM-SYS-004", p, n, "package manager cache (%llu bytes)",
			    (unsigned long long)e->size);
	if (e->type != HM_TYPE_DIR && hm_path_is_below(p, n, "/usr/share/doc", 14)) {
		base = (const char *)memrchr(p, '/', n) + 1;
		/* Files in a package's folder other than its copyright. */
		if (memchr(p + 15, '/', n - 15) && strcmp(base, "copyright") != 0)
			w->docs++;
	}
	if (e->type != HM_TYPE_DIR && hm_path_is_below(p, n, "/usr/share/man", 14))
		w->man++;
	if (r < 0) {
		w->r = r;
		return -1;
	}
	return 0;
}

int hm_audit_check_files(struct actx *a)
{
	struct files_walk w = { .a = a };
	int r;

	hm_tree_walk(a->tree, files_entry, &w);
	if (w.r < 0)
		return w.r;
	if (w.docs && (r = hm_audit_finding(a, "HM-SYS-005", "/usr/share/doc", 14,
				   "%llu files other than copyright notices",
				   (unsigned long long)w.docs)) < 0)
		return r;
	if (w.man && (r = hm_audit_finding(a, "HM-SYS-005", "/usr/share/man", 14,
				  "%llu manual pages", (unsigned long long)w.man)) < 0)
		return r;
	return 0;
}
