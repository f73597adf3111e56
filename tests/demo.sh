#!/bin/sh
# The main job, end to end, on a real Debian 12 gold image:
#
#   1. make a signing key (encrypted; key and passphrase file live in
#      images/demo/, which git ignores: keys never live in a repo)
#   2. build templates/debian-12-hardened.yaml: mmdebstrap base (cached by
#      its inputs in hallmark's default cache, /var/cache/hallmark, so
#      that later builds of the same base reuse it), operations, OCI image
#      + rootfs tarball, manifest bound to their digests, signed; on a
#      terminal each long step shows a live progress line
#   3. verify the OCI image against the signed manifest: exit 0
#   4. deploy the rootfs (a folder stands in for a server) and verify it
#      under the phoenix policy: exit 0
#   5. tamper with the deployed server the way an intruder would
#   6. verify again: exit 1, every change reported by path
#   7. verify the bootable VM disk (qcow2) of the same build against its
#      own signed disk manifest, offline through libguestfs: exit 0
#   8. tamper with a copy of the disk offline (guestfish), as someone with
#      write access to the disk store would
#   9. verify the tampered copy: exit 1, every change reported by path
#
# Usage: tests/demo.sh [WORKDIR]   (default images/demo).  Needs root (to
# deploy files owned by other users), Debian's package archive, and
# libguestfs (its appliance runs under qemu: without KVM, reading the disk
# takes a few minutes).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
# Root is needed (files owned by other users); a sudo user is asked for
# it here, so `make demo` reads the same for root and for a sudo user.
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "demo: run it as root (sudo is not installed)" >&2
		exit 2
	fi
	exec sudo "$top/tests/demo.sh" "$@"
fi
hm=$top/bin/hallmark
hmv=$top/bin/hallmark-verify
work=${1:-$top/images/demo}
mkdir -p "$work"
cd "$work"
step() { printf '\n== %s\n' "$*"; }

step "1. signing key (encrypted with a passphrase from a file)"
if [ ! -f ops.key ]; then
	(umask 077; head -c 24 /dev/urandom | base64 > passphrase)
	HALLMARK_PASSPHRASE_FILE=$work/passphrase "$hm" keygen -o ops
fi
export HALLMARK_PASSPHRASE_FILE="$work/passphrase"

# No libvirt daemon needed: libguestfs runs qemu itself.
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
# guestfish (step 8) emulates the CPU where /dev/kvm is there but qemu
# cannot use it, as hallmark does (disk/appliance.c): a paused qemu that
# can use KVM waits for the timeout; one that cannot exits at once.
if [ -z "${LIBGUESTFS_BACKEND_SETTINGS:-}" ] && [ -w /dev/kvm ]; then
	timeout 1 qemu-system-x86_64 -machine accel=kvm -cpu host -nodefaults \
		-display none -monitor none -serial none -S </dev/null >/dev/null 2>&1
	[ $? -eq 124 ] || export LIBGUESTFS_BACKEND_SETTINGS=force_tcg
fi

step "2. build the gold image (first run: 10 minutes or more for the Debian base, then a few for the disk)"
# The default cache (root: /var/cache/hallmark, or $HALLMARK_CACHE): the
# README's later builds of the same template reuse this base.
"$hm" build "$top/templates/debian-12-hardened.yaml" -o "$work/out" \
	--key ops.key --serial "$(date +%s)"
M=out/debian-12-hardened.manifest
sed -n '1,9p' $M

step "3. verify the OCI image against the signed manifest: expect exit 0"
"$hm" verify oci:out/debian-12-hardened.oci.tar --manifest $M --pubkey ops.pub

step "4. deploy (a folder stands in for a server) and verify: expect exit 0"
rm -rf host && mkdir host
tar --xattrs --xattrs-include='*' --numeric-owner -xpf out/debian-12-hardened.rootfs.tar -C host
# First boot of a phoenix instance makes its own identity.
printf '%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" > host/etc/machine-id
ssh-keygen -q -t ed25519 -N '' -f host/etc/ssh/ssh_host_ed25519_key 2>/dev/null ||
	printf 'key\n' > host/etc/ssh/ssh_host_ed25519_key
"$hmv" dir:host --manifest $M --pubkey ops.pub --policy "$top/templates/policies/phoenix.yaml"

step "5. tamper: trojaned binary, setuid shell, uid-0 account, hidden backdoor, weakened sshd, deleted binary"
printf '\n# trojan\n' >> host/usr/bin/ls
chmod u+s host/usr/bin/bash
echo 'toor:x:0:0::/root:/bin/bash' >> host/etc/passwd
printf '#!/bin/sh\nexec /bin/sh\n' > host/usr/local/bin/.backdoor
chmod 755 host/usr/local/bin/.backdoor
echo 'PermitRootLogin yes' >> host/etc/ssh/sshd_config.d/50-hallmark.conf
rm host/usr/sbin/nologin
echo tampered

step "6. verify again: expect exit 1 and every change reported"
set +e
"$hmv" dir:host --manifest $M --pubkey ops.pub --policy "$top/templates/policies/phoenix.yaml"
rc=$?
"$hmv" dir:host --manifest $M --pubkey ops.pub --policy "$top/templates/policies/phoenix.yaml" \
	--format json -o report.json
set -e
if [ $rc -ne 1 ]; then
	echo "demo: expected exit 1 (drift), got $rc" >&2
	exit 1
fi
echo "drift caught (exit 1); JSON report: $work/report.json"

D=out/debian-12-hardened.disk.manifest
step "7. verify the VM disk against its signed disk manifest (offline, libguestfs): expect exit 0"
sed -n '1,7p' $D
"$hm" verify disk:out/debian-12-hardened.qcow2,format=qcow2 --manifest $D --pubkey ops.pub

step "8. tamper with a copy of the disk offline: trojaned ls, setuid bash, root SSH key, weakened sshd"
cp out/debian-12-hardened.qcow2 tampered.qcow2
guestfish --format=qcow2 -a tampered.qcow2 -i <<'GF'
write-append /usr/bin/ls "\n# trojan\n"
chmod 04755 /usr/bin/bash
write /root/.ssh/authorized_keys "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGludHJ1ZGVyLWRlbW8ta2V5LW5vdC1yZWFsLTAwMDA intruder\n"
chmod 0600 /root/.ssh/authorized_keys
write-append /etc/ssh/sshd_config.d/50-hallmark.conf "PermitRootLogin yes\n"
GF
echo tampered

step "9. verify the tampered disk: expect exit 1 and every change reported"
set +e
# The text report, as step 6 prints it (one read of the disk, kept too).
"$hm" verify disk:tampered.qcow2,format=qcow2 --manifest $D --pubkey ops.pub \
	-o disk-report.txt
rc=$?
set -e
cat disk-report.txt
if [ $rc -ne 1 ]; then
	echo "demo: expected exit 1 (drift) for the tampered disk, got $rc" >&2
	exit 1
fi
echo
echo "drift caught on the server (exit 1) and on the disk (exit 1);"
echo "reports: $work/report.json, $work/disk-report.txt"
