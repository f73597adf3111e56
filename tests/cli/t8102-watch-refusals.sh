#!/bin/sh
# watch refuses clearly, with exit 2 and what is missing, before reading
# anything else: a target other than a directory, a process without
# CAP_SYS_ADMIN, a file system that cannot report file handles to
# fanotify, a missing root.
. "$(dirname "$0")/lib.sh"

mkdir root
printf 'a\n' > root/a
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:root --name t8102 --serial 1 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1
V="--manifest m --pubkey ops.pub"

for t in tar:x.tar oci:x.tar disk:x.qcow2 "registry:localhost/x" runtime: nosuchdir; do
	expect_exit 2 "target '$t' is refused" timeout 10 "$HALLMARK" watch "$t" $V
	expect_grep "target '$t' is not a directory: only dir:PATH can be watched" err.txt "naming what watch needs"
done
expect_exit 2 "--format sarif is not a watch format" "$HALLMARK" watch dir:root $V --format sarif
expect_exit 2 "a missing root" timeout 10 "$HALLMARK" watch dir:nosuch $V
expect_grep "cannot open 'nosuch': No such file or directory" err.txt "is named"

# Without CAP_SYS_ADMIN: as a user who is not root, or as root with the
# capability dropped from every set.
if [ "$(id -u)" = 0 ]; then
	NOCAP="setpriv --bounding-set -sys_admin --inh-caps -sys_admin --"
else
	NOCAP=
fi
expect_exit 2 "without CAP_SYS_ADMIN" timeout 10 $NOCAP "$HALLMARK" watch dir:root $V
expect_grep "CAP_SYS_ADMIN" err.txt "the refusal names the capability"
if grep -q "full scan" out.txt; then fail "and nothing ran"; else ok "and nothing ran"; fi

if [ "$(id -u)" = 0 ]; then
	# /proc has no file handles: fanotify cannot mark it.
	expect_exit 2 "a file system without file handles (/proc)" timeout 10 "$HALLMARK" watch dir:/proc $V
	expect_grep "file system of '/proc' .* cannot report file handles to fanotify" err.txt "is named"
else
	skip "a file system without file handles: the check after the capability needs root"
fi
done_testing
