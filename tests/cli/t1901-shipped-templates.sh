#!/bin/sh
# SLOW TIER: the shipped templates, built for real from mmdebstrap (about
# 3 minutes per Debian base the first time; bases are cached by their
# inputs in $HALLMARK_CACHE, default /var/cache/hallmark as root, so
# later runs take seconds).  The hardened template also writes a qcow2
# disk (libguestfs, a few minutes under TCG), built twice here to check
# that it is reproducible.  The first build is left for t4101-boot.sh in
# $HM_SHARED_BUILDS (default /var/tmp/hallmark-tests), keyed by the
# template, its files and this program, so the boot test does not build
# it again.  Skipped with HM_SLOW=0, or without root or mmdebstrap.
# Needs Debian's package archive.
. "$(dirname "$0")/lib.sh"

if [ "${HM_SLOW:-1}" = 0 ]; then
	skip "slow tier (HM_SLOW=0)"; done_testing; exit 0
fi
if [ "${HM_HEAVY:-1}" = 0 ]; then
	skip "heavy tier (HM_HEAVY=0, as in the ASan pass: the plain pass runs it)"
	done_testing; exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v mmdebstrap >/dev/null; then
	skip "needs root and mmdebstrap"; done_testing; exit 0
fi
export HALLMARK_CACHE=${HALLMARK_CACHE:-/var/cache/hallmark}
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
# One build time for all builds (the hardened manifest expires 30 days after it).
SDE=$(date +%s)

# The hardened template passes its own (strict) gate.
expect_exit 0 "debian-12-hardened builds and passes its own gate (fail_on low)" \
	"$HALLMARK" build "$HM_TOP/templates/debian-12-hardened.yaml" -o h1 --key ops.key --source-date-epoch $SDE
H=h1/debian-12-hardened
expect_grep '"result": "pass"' $H.audit.json "its audit report says pass"
python3 -c "
import json, sys
d = json.load(open('$H.sbom.spdx.json'))
assert d['spdxVersion'] == 'SPDX-2.3'
names = {p['name'] for p in d['packages']}
assert 'openssh-server' in names and 'dpkg' in names, names
" && ok "its SBOM lists the installed packages" || fail "its SBOM lists the installed packages"
expect_grep '"sbom": "h1/debian-12-hardened.sbom.spdx.json"' $H.build.json "build.json names the SBOM"
expect_exit 0 "the OCI image verifies against the signed manifest" \
	"$HALLMARK" verify oci:$H.oci.tar --manifest $H.manifest --pubkey ops.pub
expect_exit 1 "no host keys are baked in" grep -q '^/etc/ssh/ssh_host_' $H.manifest
expect_grep '^/etc/machine-id type=file mode=0444 uid=0 gid=0 size=0 ' $H.manifest "machine-id ships empty"
expect_grep '^/etc/ssh/sshd_config.d/50-hallmark.conf ' $H.manifest "the sshd hardening drop-in is in"
if command -v skopeo >/dev/null; then
	expect_exit 0 "skopeo inspect accepts it" skopeo inspect oci-archive:$H.oci.tar
fi

# The VM disk: a qcow2 bound to its own signed manifest.  The container
# outputs leave out what only the VM needs (vm_only: the kernel, initrd
# and modules); the disk has them, plus what the builder adds to make it
# boot.  t4101-boot.sh boots it and verifies the booted disk.
if [ -f $H.qcow2 ] && [ -f $H.disk.manifest.sig ]; then
	ok "it writes a qcow2 and a signed disk manifest"
else
	fail "it writes a qcow2 and a signed disk manifest"
fi
sum=$(sha256sum $H.qcow2 | cut -d' ' -f1)
expect_grep "^image qcow2 sha256:$sum\$" $H.disk.manifest "the disk manifest names the qcow2's digest"
if command -v qemu-img >/dev/null; then
	qemu-img info --output=json $H.qcow2 >info.json 2>&1
	python3 -c "
import json; i = json.load(open('info.json'))
assert i['format'] == 'qcow2' and 'backing-filename' not in i, i
" && ok "qemu-img reads it as qcow2 without a backing file" ||
		fail "qemu-img reads it as qcow2 without a backing file"
fi
expect_exit 1 "the container manifest has no kernel, initrd or modules" \
	grep -Eq '^/(boot/|usr/lib/modules/|vmlinuz|initrd\.img)' $H.manifest
expect_grep '^/usr/lib/modules/[^/ ]+/kernel type=dir ' $H.disk.manifest "the disk has the modules"
expect_exit 1 "hallmark diff: the disk differs from the container" \
	"$HALLMARK" diff $H.manifest $H.disk.manifest
# Only additions under the vm_only globs and the builder's boot files,
# and the builder's fstab; nothing missing, nothing else changed.
grep -Ev '^(#|--- |\+\+\+ )' out.txt | grep -Ev '^(\+ /(boot/|usr/lib/modules/|vmlinuz|initrd\.img|lost\+found$)|~ /etc/fstab (size|content): )' >other.txt
if [ -s other.txt ] || ! grep -q '^+ /boot/extlinux' out.txt; then
	fail "exactly the VM-only paths and the boot files differ"
	sed 's/^/#   /' other.txt | head -n 10
else
	ok "exactly the VM-only paths and the boot files differ"
fi

# Share the build with t4101-boot.sh (only the newest build is kept).
share=${HM_SHARED_BUILDS:-/var/tmp/hallmark-tests}
key=$(cat "$HM_TOP/templates/debian-12-hardened.yaml" "$HM_TOP"/templates/files/* "$HALLMARK" |
	sha256sum | cut -c1-16)
if mkdir -p "$share" && rm -rf "$share"/hardened-* "$share"/.hardened-* &&
   tmp=$(mktemp -d "$share/.hardened-$key.XXXXXX"); then
	for f in qcow2 disk.manifest disk.manifest.sig; do
		# The final names are links into the build folder: share the files.
		ln -L $H.$f "$tmp/" 2>/dev/null || cp -L $H.$f "$tmp/"
	done
	cp ops.pub "$tmp/" && mv "$tmp" "$share/hardened-$key"
fi

# Reproducible from the cached base: another folder, later, same bytes.
sleep 1
expect_exit 0 "a second build" "$HALLMARK" build "$HM_TOP/templates/debian-12-hardened.yaml" -o h2 --source-date-epoch $SDE
# The qcow2 too (docs/benchmarks.md, "Disk reproducibility": the
# builder pins what the appliance's kernel would stamp); so its digest,
# and with it the disk manifest, are the same.
for f in oci.tar rootfs.tar manifest sbom.spdx.json qcow2 disk.manifest; do
	cmp -s h1/debian-12-hardened.$f h2/debian-12-hardened.$f && ok "debian-12-hardened.$f is byte-identical" ||
		fail "debian-12-hardened.$f is byte-identical"
done
# Should the disk's bytes differ, say whether its files do too.
if ! cmp -s h1/debian-12-hardened.qcow2 h2/debian-12-hardened.qcow2; then
	"$HALLMARK" diff h1/debian-12-hardened.disk.manifest h2/debian-12-hardened.disk.manifest |
		head -n 10 | sed 's/^/#   /'
	command -v qemu-img >/dev/null && qemu-img compare h1/debian-12-hardened.qcow2 \
		h2/debian-12-hardened.qcow2 2>&1 | sed 's/^/#   /'
fi
expect_grep '"cache_hit": true' h2/debian-12-hardened.build.json "the second build used the cached base"

# The minimal template fails a strict gate, with findings a person understands.
mkdir -p strict && cp -r "$HM_TOP/templates/files" strict/
{ cat "$HM_TOP/templates/debian-12-minimal.yaml"; printf '\naudit:\n  fail_on: low\n'; } > strict/minimal.yaml
expect_exit 1 "debian-12-minimal fails a strict gate (fail_on low)" \
	"$HALLMARK" build strict/minimal.yaml -o m1 --source-date-epoch $SDE
expect_grep '^FAIL: ' err.txt "the report starts with the verdict"
expect_grep 'HM-SYS-002' err.txt "and names the rules (sysctl hardening)"
[ -z "$(ls -A m1 2>/dev/null)" ] && ok "and no image is written" || fail "and no image is written"
done_testing
