#!/bin/sh
# SLOW TIER: the shipped hardened template's qcow2 boots.  A copy of the
# disk boots under qemu (TCG, no network) to the serial login prompt,
# sshd makes its host keys, the machine powers off through ACPI; then the
# booted disk is verified against the signed disk manifest: it passes
# under templates/policies/phoenix.yaml, and without a policy it shows
# exactly that the machine id and the SSH host keys were made by the
# first boot, not baked into the image.
#
# Uses the build t1901 left in $HM_SHARED_BUILDS (default
# /var/tmp/hallmark-tests) for this template, its files and this program,
# or builds the template itself (as root, with mmdebstrap; the base is
# cached).  Skipped with HM_SLOW=0, or without qemu or python3 (QMP).
# HM_BOOT_TIMEOUT (default 420 s) bounds the boot to the login prompt and
# the host keys; under TCG on a busy 2-core machine it takes 1-3 minutes.
. "$(dirname "$0")/lib.sh"

if [ "${HM_SLOW:-1}" = 0 ]; then
	skip "slow tier (HM_SLOW=0)"; done_testing; exit 0
fi
if [ "${HM_HEAVY:-1}" = 0 ]; then
	skip "heavy tier (HM_HEAVY=0, as in the ASan pass: the plain pass runs it)"
	done_testing; exit 0
fi
for t in qemu-system-x86_64 qemu-img python3; do
	if ! command -v $t >/dev/null; then
		skip "needs $t"; done_testing; exit 0
	fi
done
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export HALLMARK_CACHE=${HALLMARK_CACHE:-/var/cache/hallmark}
N=debian-12-hardened
TPL=$HM_TOP/templates/$N.yaml
PHOENIX=$HM_TOP/templates/policies/phoenix.yaml
BOOT_TIMEOUT=${HM_BOOT_TIMEOUT:-420}

# The build t1901 shares: same key as there (the template, its files and
# the program that built it).
share=${HM_SHARED_BUILDS:-/var/tmp/hallmark-tests}
key=$(cat "$TPL" "$HM_TOP"/templates/files/* "$HALLMARK" | sha256sum | cut -c1-16)
if [ -f "$share/hardened-$key/$N.qcow2" ]; then
	B=$share/hardened-$key
	ok "using the build of t1901 ($B)"
else
	if [ "$(id -u)" -ne 0 ] || ! command -v mmdebstrap >/dev/null; then
		skip "no build from t1901, and building needs root and mmdebstrap"
		done_testing; exit 0
	fi
	"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
	expect_exit 0 "$N builds (with its qcow2)" \
		"$HALLMARK" build "$TPL" -o b --key ops.key
	cp ops.pub b/
	B=$T_DIR/b
fi
D=$B/$N.disk.manifest
if [ ! -f "$B/$N.qcow2" ] || [ ! -f "$D.sig" ]; then
	fail "the build has $N.qcow2 and a signed disk manifest"
	done_testing; exit 1
fi

# The image as built: no machine identity in it.
expect_grep '^/etc/machine-id type=file mode=0444 uid=0 gid=0 size=0 ' "$D" \
	"the disk ships an empty /etc/machine-id"
expect_exit 1 "the disk ships no SSH host keys" grep -q '^/etc/ssh/ssh_host_' "$D"
expect_grep '^/boot/extlinux/extlinux.conf ' "$D" "the disk manifest names the boot loader's files"

# Boot a full copy: an overlay would work for qemu, but the disk source
# refuses images with a backing file (by design), and the booted copy is
# what gets verified.
cp "$B/$N.qcow2" boot.qcow2
qemu-img info boot.qcow2 >info.txt 2>&1
expect_exit 1 "the image has no backing file" grep -q 'backing file' info.txt

# No network (-nodefaults: no NIC); the serial console goes to a file;
# QMP on a socket for the power button.  timeout(1) bounds qemu's life
# even if this script dies.
limit=$((BOOT_TIMEOUT + 300))
timeout -k 10 $limit qemu-system-x86_64 -accel tcg -m 1024 -nodefaults \
	-display none -no-reboot -serial file:console.log \
	-drive file=boot.qcow2,format=qcow2,if=virtio \
	-qmp unix:qmp.sock,server=on,wait=off >qemu.txt 2>&1 &
qpid=$!
trap 'kill $qpid 2>/dev/null; chmod -R u+rwx "$T_DIR" 2>/dev/null; rm -rf "$T_DIR"' EXIT

# wait_for PATTERN: until the console shows PATTERN, qemu ends, or the
# boot's time is up.
t0=$(date +%s)
wait_for() {
	while ! grep -aq -- "$1" console.log 2>/dev/null; do
		kill -0 $qpid 2>/dev/null || return 1
		[ $(($(date +%s) - t0)) -lt "$BOOT_TIMEOUT" ] || return 1
		sleep 2
	done
}
console_tail() { tr -d '\033' <console.log | tail -n 15 | sed 's/^/#   console: /'; }

booted=1
if wait_for 'login: '; then
	ok "it boots to the serial login prompt ($(($(date +%s) - t0)) s)"
else
	fail "it boots to the serial login prompt (within $BOOT_TIMEOUT s)"
	console_tail; sed 's/^/#   qemu: /' qemu.txt
	booted=0
fi
# ssh.service prints the new keys' fingerprints once sshd runs (the
# template's drop-in), after ssh-keygen -A and sshd -t.
for k in ED25519 ECDSA RSA; do
	[ $booted = 1 ] || break
	if wait_for "sshd host key: .*($k)"; then
		ok "sshd made its $k host key and runs ($(($(date +%s) - t0)) s)"
	else
		fail "sshd made its $k host key and runs"
		console_tail
		booted=0
	fi
done
if [ $booted = 0 ]; then
	# Nothing to verify: a disk that did not boot says nothing about
	# what a first boot writes.
	kill $qpid 2>/dev/null
	done_testing; exit 1
fi

# The power button: systemd-logind turns it into a clean poweroff.
python3 - qmp.sock <<'EOF' >qmp.txt 2>&1
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile('rw')
json.loads(f.readline())                  # the greeting
for cmd in ('qmp_capabilities', 'system_powerdown'):
    f.write(json.dumps({'execute': cmd}) + '\n')
    f.flush()
    while True:
        r = json.loads(f.readline())
        if 'return' in r or 'error' in r:
            break
    if 'error' in r:
        sys.exit('qmp %s: %s' % (cmd, r['error'].get('desc')))
EOF
[ $? -eq 0 ] && ok "qemu takes the power button (QMP system_powerdown)" ||
	{ fail "qemu takes the power button (QMP system_powerdown)"; sed 's/^/#   /' qmp.txt; }
n=0
while kill -0 $qpid 2>/dev/null && [ $n -lt 120 ]; do
	sleep 1; n=$((n + 1))
done
if kill -0 $qpid 2>/dev/null; then
	kill $qpid; wait $qpid
	fail "the machine powers off cleanly within 120 s (killed)"
	console_tail
else
	wait $qpid
	expect_grep 'reboot: Power down' console.log "the machine powers off cleanly ($n s)"
fi

# The booted disk against the signed disk manifest.
P="--manifest $D --pubkey $B/ops.pub"
expect_exit 0 "the booted disk passes under the phoenix policy" \
	"$HALLMARK" verify disk:boot.qcow2,format=qcow2 $P --policy "$PHOENIX"
[ -s out.txt ] && grep -v '^#' out.txt | head -n 20 | sed 's/^/#   /'
expect_exit 1 "without a policy, the first boot's changes are drift" \
	"$HALLMARK" verify disk:boot.qcow2,format=qcow2 $P --format json -o report.json
python3 - report.json <<'EOF' >first-boot.txt 2>&1
import json, sys
r = json.load(open(sys.argv[1]))
for f in r['findings']:
    print(f['kind'], f['path'])
EOF
sed 's/^/# first boot: /' first-boot.txt
expect_grep '^content /etc/machine-id$' first-boot.txt "the machine id was written at first boot"
for k in ed25519 ecdsa rsa; do
	for f in ssh_host_${k}_key ssh_host_${k}_key.pub; do
		expect_grep "^added /etc/ssh/$f$" first-boot.txt "/etc/ssh/$f was made at first boot"
	done
done
done_testing
