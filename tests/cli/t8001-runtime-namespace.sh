#!/bin/sh
# verify runtime:PID against real processes: a rootfs built from a
# template with a runtime: section, run as a container-like process tree
# (unshare --pid --net --mount --fork, chroot into the tree the build
# wrote), its declared service started; then planted one at a time: a
# copied binary run from /tmp, a deleted-but-running binary, a memfd
# executable, an undeclared listener on 127.0.0.1, a changed sysctl in
# the namespace.  Each is caught with its kind and exit 1; the clean
# namespace passes with exit 0.  Also: an undeclared mount, a declared
# listener gone, the history, capture, hidepid, and the exit-2 cases.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! unshare --pid --net --mount --fork true 2>/dev/null; then
	skip "needs root and unshare (PID and network namespaces)"
	done_testing; exit
fi
for c in perl gcc ip nsenter; do
	command -v $c >/dev/null 2>&1 || { skip "needs $c"; done_testing; exit; }
done

# A base tarball of host binaries and the libraries they load: dash,
# perl (its built-ins serve TCP without a module), sleep.
mkdir -p base/etc/sysctl.d base/tmp base/usr/bin base/lib64 base/root base/srv
chmod 1777 base/tmp
for b in /usr/bin/dash /usr/bin/perl /usr/bin/sleep; do
	cp "$b" "base$b"
	ldd "$b" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p' |
	while read -r l; do mkdir -p "base$(dirname "$l")"; cp -L "$l" "base$l"; done
done
printf 'root:x:0:0:root:/root:/usr/bin/dash\n' > base/etc/passwd
# The service: listens on 127.0.0.1:PORT with perl's built-ins alone.
mkdir -p base/usr/local/lib
cat > base/usr/local/lib/svc.pl <<'P'
socket(S, 2, 1, 6) or die "socket: $!";
setsockopt(S, 1, 2, pack("i", 1));
bind(S, pack("S n C4 x8", 2, $ARGV[0], 127, 0, 0, 1)) or die "bind: $!";
listen(S, 5) or die "listen: $!";
sleep 600;
P
printf 'root:x:0:\n' > base/etc/group
printf 'root:*:19000:0:99999:7:::\n' > base/etc/shadow && chmod 640 base/etc/shadow
tar --numeric-owner -C base -cf base.tar .
mkdir tpl && mv base.tar tpl/
cat > tpl/app.yaml <<'T'
hallmark: 1
name: t8001-app
serial: 1
base:
  tarball:
    path: base.tar
files:
  - {path: /etc/sysctl.d/50-net.conf, content: "net.ipv4.ip_forward = 0\n", mode: "0644"}
runtime:
  listen:
    - {proto: tcp, port: 8080, addr: 127.0.0.1, exe: /usr/bin/perl}
  processes: [/usr/bin/dash, /usr/bin/perl, /usr/bin/sleep]
T
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
export HALLMARK_CACHE="$T_DIR/cache"
expect_exit 0 "a template with a runtime section builds" \
	"$HALLMARK" build tpl/app.yaml -o out --key ops.key --source-date-epoch 1700000000
M=out/t8001-app.manifest
mkdir root && tar -C root -xf out/t8001-app.rootfs.tar

# The container: PID 1 of its namespace is dash, which starts the service.
unshare --pid --net --mount --fork --mount-proc \
	chroot root /usr/bin/dash -c 'while :; do /usr/bin/sleep 600; done' &
US=$!
planted=
cleanup() {
	for p in $planted; do kill -9 "$p" 2>/dev/null; done
	[ -n "${INIT:-}" ] && kill -9 "$INIT" 2>/dev/null
	kill -9 "$US" 2>/dev/null
	wait 2>/dev/null
	chmod -R u+rwx "$T_DIR" 2>/dev/null; rm -rf "$T_DIR"
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP
INIT=
for i in 1 2 3 4 5 6 7 8 9 10; do
	INIT=$(cat /proc/$US/task/$US/children 2>/dev/null | tr -d ' ')
	[ -n "$INIT" ] && break
	sleep 0.2
done
[ -n "$INIT" ] || { fail "the namespace's init started"; done_testing; exit; }
nsenter -t "$INIT" -n ip link set lo up

# run CMD... in the container, in the background; its host PID is recorded.
inside() {
	env -i nsenter -t "$INIT" -p -n -m -r "$@" 2>>inside.err &
	n=$!
	for i in 1 2 3 4 5 6 7 8 9 10; do
		c=$(cat /proc/$n/task/$n/children 2>/dev/null | tr -d ' ')
		[ -n "$c" ] && break
		sleep 0.1
	done
	planted="$planted $n $c"
	LAST=$c
	sleep 0.3
}
stop_last() { kill -9 "$LAST" 2>/dev/null; sleep 0.2; }

inside /usr/bin/perl /usr/local/lib/svc.pl 8080
SERVICE=$LAST
V() { "$HALLMARK" verify "runtime:$INIT" --manifest "$M" --pubkey ops.pub "$@"; }

expect_exit 0 "the clean namespace passes" V
cat out.txt | head -5 | sed 's/^/# /'
expect_exit 0 "hallmark-verify checks it too" \
	"$HALLMARK_VERIFY" "runtime:$INIT" --manifest "$M" --pubkey ops.pub

# 1. A copy of an image binary, run from /tmp: not a file of the manifest.
cp root/usr/bin/sleep root/tmp/evil
inside /tmp/evil 600
expect_exit 1 "a binary run from /tmp is drift" V --format json
expect_grep '"kind": "exe-unknown"' out.txt "  as exe-unknown"
expect_grep '"path": "/tmp/evil"' out.txt "  naming the executable"
expect_grep "\"detail\": \"pid [0-9]+ uid 0 \\(root\\) exe /tmp/evil cmdline /tmp/evil 600\"" \
	out.txt "  and the process (pid, uid, user, exe, cmdline)"
expect_grep '"kind": "process-unlisted"' out.txt "  and as a process processes: does not list"
stop_last

# 2. The same, deleted while it runs.
cp root/usr/bin/sleep root/tmp/gone
inside /tmp/gone 600
rm root/tmp/gone
expect_exit 1 "a deleted binary still running is drift" V --format json
expect_grep '"kind": "exe-deleted"' out.txt "  as exe-deleted"
expect_grep '"path": "/tmp/gone"' out.txt "  naming the deleted file"
stop_last

# 3. A program run from a memfd: no file at all.
cat > memfd.c <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void)
{
	char buf[65536];
	char *argv[] = { "sleep", "600", NULL }, *envp[] = { NULL };
	int in = open("/usr/bin/sleep", O_RDONLY), fd = memfd_create("payload", 0);
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			return 1;
	fexecve(fd, argv, envp);
	return 1;
}
C
gcc -static -o root/tmp/memfd memfd.c 2>/dev/null || gcc -o root/tmp/memfd memfd.c
inside /tmp/memfd
expect_exit 1 "a memfd executable is drift" V --format json
expect_grep '"kind": "exe-anonymous"' out.txt "  as exe-anonymous"
expect_grep '"detail": "pid [0-9]+ uid 0 \(root\) exe /memfd:payload cmdline sleep 600"' out.txt \
	"  and the process it became"
expect_grep '"path": "/memfd:payload"' out.txt "  naming the memfd"
stop_last

expect_exit 0 "the namespace is clean again" V

# An image binary run as a uid the image has no account for.
inside -S 4242 -G 4242 /usr/bin/sleep 600
expect_exit 1 "a uid without an account in the image is drift" V --format json
expect_grep '"kind": "process-user"' out.txt "  as process-user"
expect_grep '"actual": "uid 4242"' out.txt "  naming the uid"
expect_grep '"detail": "pid [0-9]+ uid 4242 \(\?\) exe /usr/bin/sleep' out.txt "  and the process"
stop_last

# 4. An undeclared listener on 127.0.0.1, from the image's own perl.
inside /usr/bin/perl /usr/local/lib/svc.pl 8081
expect_exit 1 "an undeclared listener is drift" V --format json
expect_grep '"kind": "listener-undeclared"' out.txt "  as listener-undeclared"
expect_grep '"path": "tcp/127.0.0.1:8081"' out.txt "  naming address and port"
expect_grep '"detail": "pid [0-9]+ uid 0 \(root\) exe /usr/bin/perl cmdline ' out.txt \
	"  and the process that holds it"
stop_last

# 5. The declared service gone: a declared listener nobody holds.
kill -9 "$SERVICE"; sleep 0.2
expect_exit 1 "a declared listener that is absent is drift" V
expect_grep 'listener-absent' out.txt "  as listener-absent"
inside /usr/bin/perl /usr/local/lib/svc.pl 8080
expect_exit 0 "the service back, the namespace passes" V

# 6. ip_forward switched on inside the namespace (not on the host).
host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
nsenter -t "$INIT" -n sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
expect_exit 1 "a changed sysctl in the namespace is drift" V --format json
expect_grep '"kind": "sysctl"' out.txt "  as sysctl"
expect_grep '"path": "/proc/sys/net/ipv4/ip_forward"' out.txt "  naming the setting"
[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host_fwd" ] &&
	ok "the host's own setting is untouched" || fail "the host's own setting is untouched"
nsenter -t "$INIT" -n sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward'
expect_exit 0 "set back, the namespace passes" V

# 7. A file system mounted over a path of the image, in the namespace.
nsenter -t "$INIT" -m mount -t tmpfs -o nosuid t8001 "$T_DIR/root/srv"
expect_exit 1 "an undeclared mount over an image path is drift" V --format json
expect_grep '"kind": "mount-undeclared"' out.txt "  as mount-undeclared"
expect_grep '"path": "/srv"' out.txt "  naming the mount point as the container sees it"
nsenter -t "$INIT" -m umount "$T_DIR/root/srv"
expect_exit 0 "unmounted, the namespace passes" V

# The history records runtime findings like any other.
inside /usr/bin/perl /usr/local/lib/svc.pl 8082
expect_exit 1 "a run recorded in the history" V --db h.db --host ns1
"$HALLMARK" history --db h.db --format json > hist.json 2>&1
expect_grep '"listener-undeclared"' hist.json "  with its runtime kind"
stop_last

# Files and this host's running state in one report (this host runs
# much the tiny image lacks, and root/tmp has the planted files).
expect_exit 1 "verify dir: --runtime reports files and processes together" \
	"$HALLMARK" verify dir:root --runtime --manifest "$M" --pubkey ops.pub --format json
expect_grep '"kind": "added"' out.txt "  a file finding"
expect_grep '"kind": "exe-unknown"' out.txt "  and a runtime finding, in the same report"

# capture: today's footprint as a template section.
expect_exit 0 "runtime capture writes the namespace's footprint" \
	"$HALLMARK" runtime capture "runtime:$INIT" -o fp.yaml
expect_grep '^  - \{proto: tcp, port: 8080, addr: 127.0.0.1, exe: /usr/bin/perl\}$' fp.yaml \
	"  its listener and who holds it"
expect_grep '^  - /usr/bin/perl$' fp.yaml "  and the executables it runs"
# Reviewed as is, it builds into a signed baseline the namespace matches.
printf 'hallmark: 1\nname: t8001-captured\nserial: 1\nbase:\n  tarball:\n    path: base.tar\n' > tpl/cap.yaml
cat fp.yaml >> tpl/cap.yaml
expect_exit 0 "the captured section builds" \
	"$HALLMARK" build tpl/cap.yaml -o cap --key ops.key --source-date-epoch 1700000000
expect_exit 0 "and the namespace passes against it" \
	"$HALLMARK" verify "runtime:$INIT" --manifest cap/t8001-captured.manifest --pubkey ops.pub

# hidepid: what a user who is not root cannot list is said, not skipped.
chmod 755 "$T_DIR" && chmod 644 "$M" "$M.sig" ops.pub
unshare --mount sh -c "mount -t proc -o hidepid=2 proc /proc &&
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	\"$HALLMARK\" verify runtime: --manifest \"$M\" --pubkey ops.pub --format json" \
	> hide.json 2> hide.err
rc=$?
[ $rc -eq 1 ] && ok "hidepid, not root: exit 1" || { fail "hidepid, not root: exit 1 ($rc)"; head -3 hide.err; }
expect_grep '"kind": "not-inspected"' hide.json "  with a not-inspected finding"
expect_grep 'hidepid' hide.json "  that names hidepid"
chmod 700 "$T_DIR"

# Honest limits: a manifest without a runtime section; a PID that is gone.
"$HALLMARK" manifest dir:root -o plain.manifest >/dev/null 2>&1
"$HALLMARK" sign plain.manifest --key ops.key >/dev/null 2>&1
expect_exit 2 "a manifest without a runtime section is exit 2" \
	"$HALLMARK" verify "runtime:$INIT" --manifest plain.manifest --pubkey ops.pub
expect_grep "manifest [^ ]+ has no runtime baseline" err.txt "  saying it has no runtime baseline"
expect_exit 2 "--runtime with it too" \
	"$HALLMARK" verify dir:root --runtime --manifest plain.manifest --pubkey ops.pub
expect_exit 2 "runtime:PID of no process is exit 2" \
	"$HALLMARK" verify runtime:4194304 --manifest "$M" --pubkey ops.pub
expect_grep "no process 4194304" err.txt "  naming it"
done_testing
