#!/bin/sh
# Bind mounts on the same file system (issue 11, item 8).  st_dev does not
# change across them, so a walk that tells mount points by st_dev alone
# crosses them: a clean copy bind-mounted over /etc hides a tampered
# /etc/passwd, and a file mounted over a file hides that file.  They must
# be seen as mount points the way the kernel knows them (statx
# STATX_ATTR_MOUNT_ROOT, mount ids, name_to_handle_at on kernels without
# statx): reported, never descended, never opened.
# Runs in a private mount namespace (unshare --mount): needs root.
if [ -z "${HM_IN_NS:-}" ] && [ "$(id -u)" = 0 ] &&
   unshare --mount --propagation private true 2>/dev/null; then
	HM_IN_NS=1 exec unshare --mount --propagation private sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

if [ -z "${HM_IN_NS:-}" ]; then
	skip "needs root and unshare --mount (a private mount namespace)"
	done_testing
	exit
fi

"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
mkdir -p root/etc/ssh root/usr/bin clean/ssh
printf 'root:x:0:0::/root:/bin/sh\n' > root/etc/passwd
printf 'host key\n' > root/etc/ssh/key
printf 'bin\n' > root/usr/bin/app
cp -a root/etc/. clean/
"$HALLMARK" manifest dir:root --name t7025 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1
V="--manifest m --pubkey ops.pub"
expect_exit 0 "the untouched tree verifies" "$HALLMARK" verify dir:root $V

# The attack: tamper beneath, then hide it under a clean copy.
printf 'evil::0:0::/root:/bin/sh\n' > root/etc/passwd
mount --bind clean root/etc
expect_exit 1 "a bind mount (same file system) over /etc is drift" \
	"$HALLMARK" verify dir:root $V --format json -o r.json
expect_grep '"kind": "mountpoint"' r.json "reported as a mount point"
expect_grep '"path": "/etc"' r.json "at /etc"
if grep -q '"/etc/passwd"' r.json; then
	fail "nothing below the mount point is read"
else
	ok "nothing below the mount point is read"
fi
expect_exit 1 "hallmark-verify says the same" "$HALLMARK_VERIFY" dir:root $V
"$HALLMARK" manifest dir:root --name again -o m2 2>err.txt
if grep -q '^/etc/passwd ' m2 || ! grep -q '^/etc ' m2; then
	fail "manifest lists /etc but nothing below it"
else
	ok "manifest lists /etc but nothing below it"
fi
# Kernels without statx: the mount id from name_to_handle_at.
if strace -f -o /dev/null -e inject=statx:error=ENOSYS true 2>/dev/null; then
	expect_exit 1 "without statx (ENOSYS), the mount id still tells" \
		strace -f -o /dev/null -e trace=statx -e inject=statx:error=ENOSYS \
		"$HALLMARK" verify dir:root $V --format json -o r2.json
	expect_grep '"kind": "mountpoint"' r2.json "reported as a mount point"
else
	skip "strace cannot inject errors here"
fi
umount root/etc

# A file bind-mounted over a file: its mounted copy is clean, the file
# the manifest names is not.
mount --bind clean/passwd root/etc/passwd
expect_exit 1 "a file mounted over /etc/passwd is drift" \
	"$HALLMARK" verify dir:root $V --format json -o r.json
expect_grep '"kind": "mountpoint"' r.json "reported as a mount point"
expect_grep '"path": "/etc/passwd"' r.json "at /etc/passwd"
expect_grep 'mounted over it' r.json "saying a file is mounted over it"
if grep -q '"kind": "content"' r.json; then
	fail "the mounted file is not hashed in its place"
else
	ok "the mounted file is not hashed in its place"
fi
umount root/etc/passwd

# A mount point the manifest has as an empty folder stays silent, as a
# different file system there always was.
mkdir -p root/srv empty
printf 'x\n' > empty/x
"$HALLMARK" manifest dir:root --name t7025 --serial 2 -o m3 2>/dev/null
"$HALLMARK" sign m3 --key ops.key >/dev/null 2>&1
mount --bind empty root/srv
expect_exit 0 "a bind mount over a folder empty in the manifest is no finding" \
	"$HALLMARK" verify dir:root --manifest m3 --pubkey ops.pub
umount root/srv

done_testing
