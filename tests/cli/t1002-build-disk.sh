#!/bin/sh
# hallmark build of VM disks (raw, qcow2) from a tarball base: the disk and
# container outputs of one build, their two manifests and what tells them
# apart, the boot sector, qcow2 validity, reproducibility, and failures
# (kernel missing, disk too small before and during the copy, appliance
# that cannot start) that leave nothing at a final name.  The base has a
# fake kernel and initrd: it cannot boot (the boot test does that), but
# it builds like a real one.  Each build with a disk, and the disk:
# verification, launches the libguestfs appliance once (about 11 s or
# more under TCG): five launches in all.
. "$(dirname "$0")/lib.sh"

export LIBGUESTFS_BACKEND=direct
export SOURCE_DATE_EPOCH=1700000000
export HALLMARK_CACHE="$T_DIR/cache"

mkdir -p base/etc base/usr/bin base/boot base/usr/lib/modules/6.1.0-x/kernel base/root
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:x:0:\n' > base/etc/group
printf 'root:*:19000:0:99999:7:::\n' > base/etc/shadow && chmod 640 base/etc/shadow
printf '# UNCONFIGURED FSTAB FOR BASE SYSTEM\n' > base/etc/fstab
printf 'not a kernel\n' > base/boot/vmlinuz-6.1.0-x
printf 'not an initrd\n' > base/boot/initrd.img-6.1.0-x
ln -s boot/vmlinuz-6.1.0-x base/vmlinuz
ln -s boot/initrd.img-6.1.0-x base/initrd.img
printf 'module\n' > base/usr/lib/modules/6.1.0-x/kernel/x.ko
printf '#!/bin/sh\n' > base/usr/bin/ping && chmod 755 base/usr/bin/ping
setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 base/usr/bin/ping 2>/dev/null &&
	have_cap=1 || have_cap=0
mkdir tpl
tar --xattrs --xattrs-include='*' --numeric-owner -C base -cf tpl/base.tar .
cat > tpl/vm.yaml <<'T'
hallmark: 1
name: t1002-vm
serial: 5
base:
  tarball: {path: base.tar}
files:
  - {path: /etc/motd, content: "gold vm\n"}
outputs: [oci, tar, raw, qcow2]
disk:
  size: 64M
  label: t1002root
  cmdline: console=ttyS0 quiet
  vm_only: [/boot/**, /usr/lib/modules/**, /vmlinuz*, /initrd.img*]
T
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1

# no_outputs DIR: nothing at a final name, no staging folder left.
no_outputs() {
	[ -z "$(ls -A "$1" 2>/dev/null)" ] && ok "$2: nothing is left in the output folder" ||
		{ fail "$2: nothing is left in the output folder"; ls -la "$1"; }
}

# Template and tree errors: found before any appliance starts.
sed 's/^outputs: .*/outputs: [oci, qcow2]/; /^disk:/,$d' tpl/vm.yaml > tpl/nodisk.yaml
expect_exit 2 "a disk output without a disk section is a template error" \
	"$HALLMARK" build tpl/nodisk.yaml -o outerr
expect_grep "nodisk.yaml:8:16: output 'qcow2' needs a 'disk' section" err.txt "with its line and column"
sed 's/^  size: 64M/  size: 10M/' tpl/vm.yaml > tpl/tiny.yaml
expect_exit 2 "a disk below 64 MiB is a template error" "$HALLMARK" build tpl/tiny.yaml -o outerr
expect_grep "tiny.yaml:10:9: 'size' '10M' is smaller than the minimum of 64 MiB" err.txt "with its line and column"
sed 's|^  vm_only: .*|  kernel: /boot/vmlinuz-7|' tpl/vm.yaml > tpl/nokernel.yaml
expect_exit 2 "a kernel that is not in the image fails the build" \
	"$HALLMARK" build tpl/nokernel.yaml -o outerr
expect_grep "disk kernel '/boot/vmlinuz-7' is not in the image: add linux-image-amd64 to the base packages" \
	err.txt "saying what to add"
printf 'remove: [/boot/initrd.img-6.1.0-x]\n' >> tpl/nokernel.yaml
sed -i 's|^  kernel: .*|  kernel: /vmlinuz|' tpl/nokernel.yaml
expect_exit 2 "an initrd symlink that leads nowhere fails the build" \
	"$HALLMARK" build tpl/nokernel.yaml -o outerr
expect_grep "disk initrd '/initrd.img' is a symlink that leads nowhere in the image" err.txt "naming it"
head -c 35000000 /dev/zero > tpl/big.bin
sed 's|^files:|files:\n  - {path: /root/big1, source: big.bin}\n  - {path: /root/big2, source: big.bin}|' tpl/vm.yaml > tpl/big.yaml
sed -i 's/^name: .*/name: t1002-big/' tpl/big.yaml
expect_exit 2 "content larger than the disk fails before the appliance starts" \
	"$HALLMARK" build tpl/big.yaml -o outerr
expect_grep "the image does not fit in a disk of size 64M: its content needs at least 67 MiB" \
	err.txt "saying how much it needs"
rm -f tpl/big.bin tpl/big.yaml
python3 - <<'PY'
import io, tarfile
with tarfile.open("tpl/bigxattr.tar", "w", format=tarfile.PAX_FORMAT) as t:
    base = tarfile.open("tpl/base.tar")
    for m in base.getmembers():
        t.addfile(m, base.extractfile(m) if m.isfile() else None)
    i = tarfile.TarInfo("./root/blob")
    i.pax_headers = {"SCHILY.xattr.user.blob": "x" * 5000}
    t.addfile(i, io.BytesIO(b""))
PY
sed 's/base.tar/bigxattr.tar/' tpl/vm.yaml > tpl/bigxattr.yaml
expect_exit 2 "an xattr ext4 cannot hold fails before the appliance starts" \
	"$HALLMARK" build tpl/bigxattr.yaml -o outerr
expect_grep "'/root/blob' has more xattr data than an ext4 inode with 4 KiB blocks holds" err.txt "naming the entry"
no_outputs outerr "template and tree errors"

if [ "${HM_SLOW:-1}" = 0 ]; then
	skip "disk builds through the libguestfs appliance: slow tier (HM_SLOW=0)"
	done_testing; exit
fi
PATH=$PATH:/sbin:/usr/sbin

# An appliance that cannot start: exit 2, the message says what it needs.
expect_exit 2 "a libguestfs appliance that cannot start fails the build" \
	env LIBGUESTFS_HV=/bin/false "$HALLMARK" build tpl/vm.yaml -o outhv
expect_grep "cannot start the libguestfs appliance: .*\(it needs a kernel in /boot from linux-image-amd64, supermin and qemu-system-x86; 'libguestfs-test-tool' says which is missing\)" \
	err.txt "saying what the appliance needs"
no_outputs outhv "an appliance that cannot start"

# An appliance that stops answering (a wedged guest under TCG looks like
# this from outside): the watchdog stops it when the step's budget runs
# out, the build tries once more, then fails naming the step, and nothing
# is left.  The "hypervisor" is qemu behind a wrapper that freezes it
# (SIGSTOP) once the appliance has written to the raw disk being built
# under $HANG_DIR (modified after this qemu started: the file system is
# made on the host before), that is after the launch, while the steps
# run; with
# $HANG_ONCE, only the first appliance is frozen.
cat > hang-qemu <<'EOF'
#!/bin/sh
case " $* " in
*" -kernel "*)
	if [ -z "${HANG_ONCE:-}" ] || mkdir "$HANG_ONCE" 2>/dev/null; then
		me=$$ mark=$(mktemp)
		( for i in $(seq 3000); do
			for f in "$HANG_DIR"/.*/*.raw; do
				if [ -f "$f" ] && [ "$f" -nt "$mark" ]; then
					rm -f "$mark"
					kill -STOP $me; exit 0
				fi
			done
			sleep 0.2
		  done; rm -f "$mark" ) </dev/null >/dev/null 2>&1 &
	fi
	;;
esac
exec qemu-system-x86_64 "$@"
EOF
chmod +x hang-qemu
start=$(date +%s)
expect_exit 2 "an appliance that stops answering twice fails the build" \
	env HALLMARK_APPLIANCE_TIMEOUT=15 LIBGUESTFS_HV="$T_DIR/hang-qemu" HANG_DIR="$T_DIR/outhang" \
	"$HALLMARK" build tpl/vm.yaml -o outhang
expect_grep "the libguestfs appliance stopped answering: '[a-z' ]+' took more than 15 s, so it was stopped \(HALLMARK_APPLIANCE_TIMEOUT sets every step's budget\)" \
	err.txt "naming the step that hung and its budget"
if [ "$(grep -c 'stopped answering' err.txt)" -eq 2 ]; then
	expect_grep "; starting it again \(once\)$" err.txt "after one more try"
else
	fail "after one more try (it said: $(cat err.txt))"
fi
[ $(($(date +%s) - start)) -lt 300 ] && ok "within the budget, not for ever" ||
	fail "within the budget, not for ever ($(($(date +%s) - start)) s)"
no_outputs outhang "an appliance that stops answering"
pgrep -f "$T_DIR/outhang" >/dev/null && fail "no qemu is left behind" || ok "no qemu is left behind"
expect_exit 2 "a budget that is not a number is a usage error" \
	env HALLMARK_APPLIANCE_TIMEOUT=soon "$HALLMARK" build tpl/vm.yaml -o outhang
expect_grep "HALLMARK_APPLIANCE_TIMEOUT: 'soon' is not a number of seconds from 1 to 86400" \
	err.txt "saying what it must be"
no_outputs outhang "a bad budget"

# The build: raw and qcow2 from one disk, signed.
expect_exit 0 "a template with raw and qcow2 outputs builds" \
	"$HALLMARK" build tpl/vm.yaml -o out1 --key ops.key
if grep -q 'cannot start the libguestfs appliance' err.txt; then
	sed 's/^/# /' err.txt
	skip "disk builds: the libguestfs appliance cannot start here (see above; try libguestfs-test-tool)"
	done_testing; exit
fi
for f in raw qcow2 disk.manifest disk.manifest.sig manifest manifest.sig oci.tar rootfs.tar build.json; do
	[ -f "out1/t1002-vm.$f" ] && ok "t1002-vm.$f is written" || fail "t1002-vm.$f is written"
done
[ -z "$(ls -A out1 | grep '^\.')" ] && ok "no staging or scratch file is left" || { fail "no staging left"; ls -la out1; }
M=out1/t1002-vm.manifest D=out1/t1002-vm.disk.manifest
raw_sha=$(sha256sum out1/t1002-vm.raw | cut -d' ' -f1)
qcow_sha=$(sha256sum out1/t1002-vm.qcow2 | cut -d' ' -f1)
[ "$(sed -n 's/^image raw //p' $D)" = "sha256:$raw_sha" ] && ok "the disk manifest names the raw disk's SHA-256" || fail "raw digest in the disk manifest"
[ "$(sed -n 's/^image qcow2 //p' $D)" = "sha256:$qcow_sha" ] && ok "and the qcow2's" || fail "qcow2 digest in the disk manifest"
[ "$(grep '^image ' $D | cut -d' ' -f2 | tr '\n' ' ')" = "qcow2 raw " ] && ok "image lines sorted by kind, disks only" || fail "disk image lines"
[ "$(grep '^image ' $M | cut -d' ' -f2 | tr '\n' ' ')" = "oci tar " ] && ok "the container manifest names the container images" || fail "container image lines"
expect_grep "\"digest\": \"sha256:$raw_sha\"" out1/t1002-vm.build.json "build.json has the raw disk's digest"
expect_grep "\"digest\": \"sha256:$qcow_sha\"" out1/t1002-vm.build.json "and the qcow2's"
expect_grep '"disk_manifest": "out1/t1002-vm.disk.manifest"' out1/t1002-vm.build.json "and the disk manifest"
expect_grep '"disk": [0-9]+' out1/t1002-vm.build.json "and the disk phase's time"
[ "$(stat -c %s out1/t1002-vm.raw)" -eq 67108864 ] && ok "the raw disk is 64 MiB" || fail "raw size"
if command -v openssl >/dev/null; then
	{ printf 'hallmark/manifest/v1\000'; openssl dgst -sha512 -binary $D; } > msg.bin
	sed -n 's/^ed25519 //p' $D.sig | openssl base64 -d -A > sig.bin
	expect_exit 0 "the disk manifest's signature verifies (openssl)" \
		openssl pkeyutl -verify -rawin -pubin -inkey ops.pub -in msg.bin -sigfile sig.bin
else
	skip "openssl not installed"
fi
expect_exit 0 "the rootfs tarball verifies against the container manifest" \
	"$HALLMARK" verify tar:out1/t1002-vm.rootfs.tar --manifest $M --pubkey ops.pub
if command -v qemu-img >/dev/null; then
	qemu-img info --output=json out1/t1002-vm.qcow2 > qi.json 2>&1
	expect_grep '"format": "qcow2"' qi.json "qemu-img reads the qcow2 as qcow2"
	expect_exit 1 "with no backing file" grep -q backing qi.json
	expect_grep '"virtual-size": 67108864' qi.json "of the disk's size"
	qemu-img convert -O raw out1/t1002-vm.qcow2 fromqcow.raw 2>/dev/null
	cmp -s fromqcow.raw out1/t1002-vm.raw && ok "the qcow2 holds the same disk as the raw" || fail "qcow2 == raw"
	rm -f fromqcow.raw
else
	skip "qemu-img not installed"
fi

# The disk source reads the disk back: the disk manifest is what is on it.
expect_exit 0 "hallmark verify disk: finds the qcow2 equal to its manifest" \
	"$HALLMARK" verify disk:out1/t1002-vm.qcow2 --manifest $D --pubkey ops.pub

# What only the VM has: exactly the builder's files and the vm_only paths.
"$HALLMARK" diff $M $D > d.txt
grep '^[-+~] ' d.txt > changes.txt
uuid=$(sed -n 's/.*"filesystem_uuid": "\(.*\)".*/\1/p' out1/t1002-vm.build.json | head -n 1)
printf '# written by hallmark build: the root file system, by UUID\nUUID=%s / ext4 errors=remount-ro 0 1\n' "$uuid" > fstab.want
cat > want.txt <<W
+ /boot/extlinux (with 3 entries below)
+ /boot/initrd.img-6.1.0-x
+ /boot/vmlinuz-6.1.0-x
~ /etc/fstab content:
+ /initrd.img
+ /lost+found
+ /usr/lib/modules/6.1.0-x (with 2 entries below)
+ /vmlinuz
W
sed 's/\(~ \/etc\/fstab content:\).*/\1/' changes.txt > got.txt
if cmp -s want.txt got.txt; then ok "diff container -> disk: the VM-only paths and nothing else"; else
	fail "diff container -> disk: the VM-only paths and nothing else"; diff want.txt got.txt | sed 's/^/#   /'; fi
# One line per changed file names content and size together (issue 14).
expect_grep "^~ /etc/fstab content: .*[(]size $(wc -c < base/etc/fstab) -> $(wc -c < fstab.want)[)]\$" changes.txt \
	"the changed fstab is one line, with its sizes"
expect_exit 1 "the container manifest has none of the vm_only paths" \
	grep -E '^/(boot/|usr/lib/modules/|vmlinuz|initrd\.img)' $M
expect_grep '^/boot/extlinux/ldlinux.sys type=file mode=0444 uid=0 gid=0 size=[0-9]+ sha256=' $D "ldlinux.sys, read back from the disk"
expect_grep '^/boot/extlinux/ldlinux.c32 type=file ' $D "ldlinux.c32 too"
expect_grep '^/lost\+found type=dir mode=0700 uid=0 gid=0$' $D "and lost+found"
if [ $have_cap = 1 ]; then
	expect_grep '^/usr/bin/ping .* xattr.security.capability=0100000200200000000000000000000000000000$' $D "file capabilities are on the disk"
else
	skip "setfattr cannot set security.capability here"
fi
expect_grep "^/etc/fstab type=file mode=0644 uid=0 gid=0 size=$(wc -c < fstab.want) sha256=$(sha256sum fstab.want | cut -d' ' -f1)\$" $D \
	"/etc/fstab names the root by the file system's UUID"
printf 'SERIAL 0 115200\n# written by hallmark build\nDEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  LINUX /vmlinuz\n  INITRD /initrd.img\n  APPEND root=UUID=%s ro console=ttyS0 quiet\n' "$uuid" > conf.want
expect_grep "^/boot/extlinux/extlinux.conf type=file mode=0644 uid=0 gid=0 size=[0-9]+ sha256=$(sha256sum conf.want | cut -d' ' -f1)\$" $D \
	"extlinux.conf boots the kernel with root=UUID and the template's cmdline"
expect_grep '"label": "t1002root"' out1/t1002-vm.build.json "build.json has the label"

# The boot sector: syslinux's MBR code, the partition bootable, ext4 at 1 MiB.
mbr=/usr/lib/syslinux/mbr/mbr.bin
if [ -r $mbr ]; then
	cmp -s -n 440 $mbr out1/t1002-vm.raw && ok "the first 440 bytes are syslinux's mbr.bin" || fail "mbr.bin"
else
	skip "$mbr not installed"
fi
[ "$(od -An -tx1 -j446 -N1 out1/t1002-vm.raw | tr -d ' ')" = 80 ] && ok "the partition is marked bootable" || fail "boot flag"
[ "$(od -An -tx1 -j510 -N2 out1/t1002-vm.raw | tr -d ' ')" = 55aa ] && ok "the MBR is valid" || fail "MBR signature"
[ "$(od -An -tx1 -j$((1048576 + 1024 + 56)) -N2 out1/t1002-vm.raw | tr -d ' ')" = 53ef ] && ok "an ext4 superblock is at 1 MiB" || fail "ext4 magic"
if command -v dumpe2fs >/dev/null; then
	TZ=UTC dumpe2fs -h "out1/t1002-vm.raw?offset=1048576" > sb.txt 2>/dev/null
	expect_grep "^Filesystem UUID: +$uuid\$" sb.txt "the file system has the build's UUID"
	expect_grep '^Filesystem volume name: +t1002root$' sb.txt "and the template's label"
	expect_grep '^Filesystem created: +Tue Nov 14 22:13:20 2023$' sb.txt "and was made at SOURCE_DATE_EPOCH"
	if command -v e2fsck >/dev/null; then
		dd if=out1/t1002-vm.raw of=part.img bs=1M skip=1 status=none
		expect_exit 0 "e2fsck finds the file system clean" e2fsck -fn part.img
		rm -f part.img
	fi
else
	skip "dumpe2fs not installed"
fi

# Reproducible: the same template again, elsewhere, gives the same
# manifests and disks; even when its first appliance stopped answering
# and the disk was made again by a second one.
(umask 077; cd / && env HALLMARK_APPLIANCE_TIMEOUT=30 LIBGUESTFS_HV="$T_DIR/hang-qemu" \
	HANG_DIR="$T_DIR/out2" HANG_ONCE="$T_DIR/hung-once" \
	"$HALLMARK" build "$T_DIR/tpl/vm.yaml" -o "$T_DIR/out2" --key "$T_DIR/ops.key" >/dev/null 2>"$T_DIR/err2.txt")
expect_grep "stopped answering: .*; starting it again \(once\)$" err2.txt \
	"a build whose appliance stopped answering once starts it again"
for f in manifest disk.manifest oci.tar rootfs.tar; do
	cmp -s out1/t1002-vm.$f out2/t1002-vm.$f && ok "t1002-vm.$f is byte-identical across builds" ||
		{ fail "t1002-vm.$f is byte-identical across builds"; sed 's/^/#   /' err2.txt | tail -n 5; }
done
for f in raw qcow2; do
	cmp -s out1/t1002-vm.$f out2/t1002-vm.$f && ok "t1002-vm.$f is byte-identical across builds" ||
		{ fail "t1002-vm.$f is byte-identical across builds"; cmp -l out1/t1002-vm.$f out2/t1002-vm.$f | head -n 5 | sed 's/^/#   /'; }
done

# GPT: the protective MBR with gptmbr.bin, the partition legacy-BIOS bootable.
sed 's/^name: .*/name: t1002-gpt/; s/^outputs: .*/outputs: [raw]/; s/^  size: 64M/  size: 64M\n  partition_table: gpt/' tpl/vm.yaml > tpl/gpt.yaml
expect_exit 0 "a GPT disk builds" "$HALLMARK" build tpl/gpt.yaml -o outgpt
G=outgpt/t1002-gpt.raw
[ "$(dd if=$G bs=1 skip=512 count=8 status=none)" = "EFI PART" ] && ok "it has a GPT header" || fail "GPT header"
gptmbr=/usr/lib/syslinux/mbr/gptmbr.bin
if [ -r $gptmbr ]; then
	cmp -s -n 440 $gptmbr $G && ok "and syslinux's gptmbr.bin in the first 440 bytes" || fail "gptmbr.bin"
else
	skip "$gptmbr not installed"
fi
# Partition entry 1 at LBA 2: attributes at +48, bit 2 = legacy BIOS bootable.
[ $(( 0x$(od -An -tx1 -j$((1024 + 48)) -N1 $G | tr -d ' ') & 4 )) -eq 4 ] && ok "the partition is legacy-BIOS bootable" || fail "GPT legacy boot attribute"
[ "$(od -An -tx1 -j$((1048576 + 1024 + 56)) -N2 $G | tr -d ' ')" = 53ef ] && ok "with ext4 at 1 MiB" || fail "GPT ext4 magic"
"$HALLMARK" diff $D outgpt/t1002-gpt.disk.manifest > dg.txt
expect_exit 1 "the GPT disk has the same paths as the MBR one" grep -q '^[-+] ' dg.txt
expect_grep '^~ /etc/fstab content' dg.txt "and another file system UUID (another template)"

# A disk that fills up while the tree is copied in: 50 MiB of data pass
# the estimate, but 3000 files with distinct 3000-byte xattrs need an
# xattr block each, which only the copy finds out.
python3 - <<'PY'
import io, os, tarfile
with tarfile.open("tpl/full.tar", "w", format=tarfile.PAX_FORMAT) as t:
    base = tarfile.open("tpl/base.tar")
    for m in base.getmembers():
        t.addfile(m, base.extractfile(m) if m.isfile() else None)
    data = os.urandom(50 << 20)
    i = tarfile.TarInfo("./root/data"); i.size = len(data); t.addfile(i, io.BytesIO(data))
    i = tarfile.TarInfo("./root/x"); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
    for n in range(3000):
        i = tarfile.TarInfo("./root/x/f%04d" % n)
        i.pax_headers = {"SCHILY.xattr.user.pad": os.urandom(1500).hex()}
        t.addfile(i, io.BytesIO(b""))
PY
sed 's/^name: .*/name: t1002-full/; s/base.tar/full.tar/; s/^outputs: .*/outputs: [qcow2]/' tpl/vm.yaml > tpl/full.yaml
expect_exit 2 "a disk that fills up during the copy fails the build" "$HALLMARK" build tpl/full.yaml -o outfull
expect_grep "the image does not fit in a disk of size 64M: the file system filled up while the tree was copied in .*raise disk.size" \
	err.txt "saying so"
no_outputs outfull "a disk that fills up"
done_testing
