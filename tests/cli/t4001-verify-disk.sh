#!/bin/sh
# verify disk: a VM disk image (raw ext4, partitioned qcow2 with an OS and
# a separate /boot) read offline through libguestfs gives exactly the
# manifest of the tree it was made from, verifies against it, shows drift,
# and feeds manifest and audit alike; hallmark-verify refuses disk:
# and does not link libguestfs.  Fixture disks are made without any
# appliance (mkfs.ext4 -d, sfdisk, qemu-img); each disk: run launches the
# appliance once (about 11 s or more under TCG), so runs are few.
. "$(dirname "$0")/lib.sh"

export LIBGUESTFS_BACKEND=direct
export SOURCE_DATE_EPOCH=1700000000

# No appliance needed for these two.
if ldd "$HALLMARK_VERIFY" | grep -q guestfs; then
	fail "hallmark-verify does not link libguestfs"
else
	ok "hallmark-verify does not link libguestfs"
fi
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
mkdir -p empty
"$HALLMARK" manifest dir:empty -o e.manifest 2>/dev/null
"$HALLMARK" sign e.manifest --key ops.key >/dev/null 2>&1
printf 'x' > some.raw
expect_exit 2 "hallmark-verify refuses disk:" \
	"$HALLMARK_VERIFY" disk:some.raw --manifest e.manifest --pubkey ops.pub
expect_grep "does not read disk images \('disk:some.raw'\): use 'hallmark verify'" \
	err.txt "and says to use hallmark verify"

if [ "${HM_SLOW:-1}" = 0 ]; then
	skip "disk images through the libguestfs appliance: slow tier (HM_SLOW=0)"
	done_testing; exit
fi
for tool in mkfs.ext4 sfdisk qemu-img; do
	if ! command -v $tool >/dev/null && ! [ -x /sbin/$tool ] && ! [ -x /usr/sbin/$tool ]; then
		skip "disk images: $tool is missing (e2fsprogs, fdisk, qemu-utils)"
		done_testing; exit
	fi
done
PATH=$PATH:/sbin:/usr/sbin

# appliance_or_skip: after a disk: run, skip the rest if the appliance
# itself could not start (no kernel, no qemu): that is the host, not us.
appliance_or_skip() {
	if grep -q 'cannot start the libguestfs appliance' err.txt; then
		sed 's/^/# /' err.txt
		skip "disk images: the libguestfs appliance cannot start here (see above; try libguestfs-test-tool)"
		done_testing; exit
	fi
}

# A plain tree on one unpartitioned ext4 filesystem: no OS, so the one
# filesystem is the tree.  lost+found is in the tree since mkfs makes it.
mkdir -p flat/etc flat/usr/bin flat/var/empty flat/lost+found
chmod 0700 flat/lost+found
printf '127.0.0.1 localhost\n' > flat/etc/hosts
printf 'hello\n' > flat/usr/bin/tool
ln flat/usr/bin/tool flat/usr/bin/tool.hard
ln -s tool flat/usr/bin/link
mkfifo flat/var/fifo
printf 'caf\303\251\n' > "flat/var/$(printf 'caf\303\251 name')"
chmod 4755 flat/usr/bin/tool
chmod 1777 flat/var/empty
python3 -c "
import os
f = open('flat/var/sparse', 'wb'); f.write(b'head'); f.seek(3 << 20)
f.write(b'tail'); f.truncate(5 << 20)
# Streams far larger than a pipe's buffer, ending in GNU tar's padding.
for n in range(3):
    open('flat/var/blob%d' % n, 'wb').write(os.urandom(3 << 20))"
setfattr -n user.note -v one flat/etc/hosts 2>/dev/null
setcap cap_net_raw+ep flat/usr/bin/tool 2>/dev/null
if [ "$(id -u)" -eq 0 ]; then
	mknod flat/var/null c 1 3
	chown 1000:1001 flat/etc/hosts
fi
"$HALLMARK" manifest dir:flat --name t4001 --serial 1 -o flat.manifest 2>/dev/null
"$HALLMARK" sign flat.manifest --key ops.key >/dev/null 2>&1
mkfs.ext4 -q -F -L flat -d flat flat.raw 48M >/dev/null

expect_exit 0 "manifest of a raw ext4 disk" \
	"$HALLMARK" manifest disk:flat.raw --name t4001 --serial 1 -o disk.manifest
appliance_or_skip
if cmp -s flat.manifest disk.manifest; then
	ok "manifest disk: equals manifest dir: of the same tree, byte for byte"
else
	fail "manifest disk: equals manifest dir: of the same tree, byte for byte"
	diff flat.manifest disk.manifest | sed 's/^/#   /' | head -n 20
fi
grep -q 'security.capability' flat.manifest &&
	ok "(the tree carries a security.capability xattr)" ||
	skip "security.capability xattr (setcap missing or not permitted)"

# Drift: the same tree with one file changed.
cp -a flat changed
printf 'hellp\n' > changed/usr/bin/tool
# (writing a file drops its capability: put it back, only content changed)
setcap cap_net_raw+ep changed/usr/bin/tool 2>/dev/null
mkfs.ext4 -q -F -L flat -d changed changed.raw 48M >/dev/null
expect_exit 1 "a disk with a changed file is drift" \
	"$HALLMARK" verify disk:changed.raw --manifest flat.manifest --pubkey ops.pub \
	--format json -o report.json
if python3 - <<'PY'
import json
r = json.load(open("report.json"))
got = {(f["kind"], f["path"]) for f in r["findings"]}
assert got == {("content", "/usr/bin/tool"), ("content", "/usr/bin/tool.hard")}, got
PY
then ok "the finding names the changed file (and its hard link)"
else fail "the finding names the changed file (and its hard link)"; fi

# An operating system on a partitioned qcow2: / and /boot on two ext4
# partitions, mounted by inspection from /etc/fstab.
mkdir -p os/bin os/etc os/boot/lost+found os/lost+found os/var/lib/dpkg os/tmp
chmod 0700 os/lost+found os/boot/lost+found
chmod 1777 os/tmp
printf 'x\n' > os/bin/sh
printf '127.0.0.1 localhost\n' > os/etc/hosts
printf 'root:x:0:0:root:/root:/bin/sh\n' > os/etc/passwd
printf 'root:x:0:\n' > os/etc/group
printf 'LABEL=hmroot / ext4 defaults 0 1\nLABEL=hmboot /boot ext4 defaults 0 2\n' > os/etc/fstab
printf 'ID=debian\nVERSION_ID="12"\n' > os/etc/os-release
printf 'not a kernel\n' > os/boot/vmlinuz
printf 'anyone may write\n' > os/boot/open
chmod 0666 os/boot/open
cat > os/var/lib/dpkg/status <<'ST'
Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
ST
"$HALLMARK" manifest dir:os --name t4001os --serial 1 -o os.manifest 2>/dev/null
"$HALLMARK" sign os.manifest --key ops.key >/dev/null 2>&1
cp -a os rootsrc
rm -rf rootsrc/boot/* && rm -rf rootsrc/boot/lost+found
mkfs.ext4 -q -F -L hmboot -d os/boot boot.img 8M >/dev/null
mkfs.ext4 -q -F -L hmroot -d rootsrc root.img 24M >/dev/null
truncate -s 34M os.raw
printf 'label: dos\nstart=2048, size=16384, type=83\nstart=18432, size=49152, type=83, bootable\n' |
	sfdisk -q os.raw >/dev/null
dd if=boot.img of=os.raw bs=512 seek=2048 conv=notrunc status=none
dd if=root.img of=os.raw bs=512 seek=18432 conv=notrunc status=none
qemu-img convert -f raw -O qcow2 os.raw os.qcow2
rm -f os.raw boot.img root.img

expect_exit 0 "a partitioned qcow2 (/ and /boot) verifies against the tree's manifest" \
	"$HALLMARK" verify disk:os.qcow2 --manifest os.manifest --pubkey ops.pub
appliance_or_skip
expect_grep '^OK' out.txt "the report says OK"

# audit (and sbom, which shares its path to the target) read disk: through
# the same source: the same findings as for the folder (the world-writable
# file lives on the /boot filesystem).
"$HALLMARK" audit dir:os --format json -o audit-dir.json 2>/dev/null
expect_exit 1 "audit disk: fails on the world-writable file" \
	"$HALLMARK" audit disk:os.qcow2 --format json -o audit-disk.json
if python3 - <<'PY'
import json
def f(p):
    r = json.load(open(p))
    return sorted((x["rule"], x["path"] or "", x["message"]) for x in r["findings"])
d, k = f("audit-dir.json"), f("audit-disk.json")
assert any(x[:2] == ("HM-FILE-001", "/boot/open") for x in k), k
assert d == k, (d, k)
PY
then ok "audit disk: finds what audit dir: finds, /boot/open included"
else fail "audit disk: finds what audit dir: finds, /boot/open included"; fi
done_testing
