#!/bin/sh
# hallmark build with a `runtime:` section: the signed manifest carries the
# declared listeners, processes and mounts and every sysctl key the built
# tree's configuration sets (systemd-sysctl's order); the files side of
# verify ignores those lines; a glob key or a bad template fails the build.
. "$(dirname "$0")/lib.sh"

mkdir -p base/etc/sysctl.d base/usr/lib/sysctl.d base/usr/sbin base/tmp base/dev
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:x:0:\n' > base/etc/group
printf 'root:*:19000:0:99999:7:::\n' > base/etc/shadow && chmod 640 base/etc/shadow
printf '#!/bin/sh\n' > base/usr/sbin/sshd && chmod 755 base/usr/sbin/sshd
# /etc/sysctl.d/10-net.conf hides /usr/lib/sysctl.d/10-net.conf.
printf '# site settings\nnet.ipv4.ip_forward = 1\n-net/ipv4/conf/eth0.5/forwarding=1\nkernel.msg  =  a \t b  \n; old\nnot an assignment\n' \
	> base/etc/sysctl.d/10-net.conf
printf 'kernel.hidden = 1\n' > base/usr/lib/sysctl.d/10-net.conf
# A later file wins over an earlier one; /etc/sysctl.conf comes last.
printf 'net.ipv4.ip_forward = 0\nvm.swappiness = 10\n' > base/usr/lib/sysctl.d/50-default.conf
printf 'vm.swappiness = 20\n' > base/etc/sysctl.conf
# A symlink to /dev/null masks a name; one to a file reads that file.
printf 'kernel.masked = 1\n' > base/usr/lib/sysctl.d/60-masked.conf
ln -s /dev/null base/etc/sysctl.d/60-masked.conf
printf 'kernel.linked = 3\n' > base/usr/lib/linked.txt
ln -s ../../usr/lib/linked.txt base/etc/sysctl.d/70-linked.conf
tar --numeric-owner --owner=0 --group=0 -C base -cf base.tar .
mkdir tpl && mv base.tar tpl/
cat > tpl/rt.yaml <<'T'
hallmark: 1
name: t1006-rt
serial: 1
base:
  tarball:
    path: base.tar
harden: [HM-SYS-002]
audit: {fail_on: critical}
runtime:
  listen:
    - {proto: tcp, port: 22, exe: /usr/sbin/sshd}
    - {proto: udp, port: 53, addr: 127.0.0.1}
  processes: [/usr/sbin/sshd, "/usr/lib/systemd/**"]
  mounts:
    - {path: /tmp, options: [nosuid, noexec, nodev]}
    - {path: /, options: [ro]}
T
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
export HALLMARK_CACHE="$T_DIR/cache"
M=out/t1006-rt.manifest

expect_exit 0 "a template with a runtime section builds" "$HALLMARK" build tpl/rt.yaml -o out --key ops.key --source-date-epoch 1700000000
sed -n '/^runtime /,/^hash /p' "$M" > rt.txt
cat > want-head.txt <<'W'
listen tcp 22 * /usr/sbin/sshd
listen udp 53 127.0.0.1 *
processes
process /usr/lib/systemd/**
process /usr/sbin/sshd
mount / ro
mount /tmp nodev,noexec,nosuid
W
sed -n '2,8p' rt.txt > got-head.txt
cmp -s want-head.txt got-head.txt && ok "listeners, processes and mounts, in canonical order" || { fail "declared lines"; diff want-head.txt got-head.txt | sed 's/^/#   /'; }
n=$(sed -n 's/^runtime //p' rt.txt)
[ "$n" = "$(($(wc -l < rt.txt) - 2))" ] && ok "runtime N counts the lines that follow ($n)" || fail "runtime N ($n)"
[ "$(grep -n '^runtime ' "$M" | cut -d: -f1)" -gt "$(grep -n '^image tar ' "$M" | cut -d: -f1)" ] && ok "after the image lines, before hash" || fail "placement"
expect_grep '^sysctl net\.ipv4\.ip_forward 0$' rt.txt "a later file wins (50-default.conf over 10-net.conf)"
expect_grep '^sysctl vm\.swappiness 20$' rt.txt "/etc/sysctl.conf is read last"
expect_grep '^sysctl net\.ipv4\.conf\.eth0/5\.forwarding 1$' rt.txt "a '-' key written with '/' is kept, dotted"
expect_grep '^sysctl kernel\.msg a\\040b$' rt.txt "blanks in a value folded to one (escaped) space"
expect_grep '^sysctl kernel\.linked 3$' rt.txt "a symlinked file is read"
expect_grep '^sysctl net\.ipv4\.conf\.all\.rp_filter 1$' rt.txt "harden's sysctl file (HM-SYS-002) is recorded"
expect_grep '^sysctl net\.ipv4\.conf\.all\.accept_redirects 0$' rt.txt "with its network keys"
expect_exit 1 "a name hidden by /etc/sysctl.d is not read" grep -q kernel.hidden rt.txt
expect_exit 1 "a name masked by /dev/null is not read" grep -q kernel.masked rt.txt
expect_exit 0 "sysctl lines are sorted" sh -c "grep '^sysctl ' rt.txt | LC_ALL=C sort -c"

# The files side ignores the runtime lines: tar:, oci: and dir: verify.
expect_exit 0 "the rootfs tar verifies" "$HALLMARK" verify tar:out/t1006-rt.rootfs.tar --manifest "$M" --pubkey ops.pub
expect_exit 0 "the OCI image verifies" "$HALLMARK" verify oci:out/t1006-rt.oci.tar --manifest "$M" --pubkey ops.pub
mkdir root
cat > dirverify.sh <<S
tar -xpf out/t1006-rt.rootfs.tar -C root && "$HALLMARK" verify dir:root --manifest "$M" --pubkey ops.pub
S
# Every file is root's: a non-root user extracts and verifies as root of
# a user namespace.
if [ "$(id -u)" = 0 ]; then
	expect_exit 0 "the extracted tree verifies (dir:)" sh dirverify.sh
elif unshare -r true 2>/dev/null; then
	expect_exit 0 "the extracted tree verifies (dir:, in a user namespace)" unshare -r sh dirverify.sh
else
	skip "dir: verify of the extracted tree (needs root or unshare -r)"
fi
expect_exit 0 "hallmark-verify reads the extension too" "$HALLMARK_VERIFY" tar:out/t1006-rt.rootfs.tar --manifest "$M" --pubkey ops.pub

# The signature covers the runtime lines.
sed 's/^listen tcp 22 \* /listen tcp 23 * /' "$M" > forged.manifest
cp out/t1006-rt.manifest.sig forged.manifest.sig
expect_exit 3 "a changed runtime line breaks the signature" "$HALLMARK" verify tar:out/t1006-rt.rootfs.tar --manifest forged.manifest --pubkey ops.pub

# diff shows runtime differences with the header.
sed 's/^listen tcp 22 \* /listen tcp 2222 * /' "$M" > changed.manifest
expect_exit 0 "diff of manifests that differ only in runtime lines" "$HALLMARK" diff "$M" changed.manifest
expect_grep '^# runtime: - listen tcp 22 \* /usr/sbin/sshd$' out.txt "diff shows the line only in A"
expect_grep '^# runtime: \+ listen tcp 2222 \* /usr/sbin/sshd$' out.txt "and the line only in B"

# The same build is byte-identical.
"$HALLMARK" build tpl/rt.yaml -o out2 --key ops.key --source-date-epoch 1700000000 >/dev/null 2>&1
cmp -s "$M" out2/t1006-rt.manifest && ok "the manifest is reproducible" || fail "reproducible manifest"

# No runtime section: no runtime line.
sed '/^runtime:/,$d' tpl/rt.yaml | sed 's/t1006-rt/t1006-plain/' > tpl/plain.yaml
"$HALLMARK" build tpl/plain.yaml -o out3 --source-date-epoch 1700000000 >/dev/null 2>&1
expect_exit 1 "without a runtime section, no runtime lines" grep -Eq '^(runtime|listen|sysctl) ' out3/t1006-plain.manifest
expect_exit 0 "diff against a manifest without a runtime baseline" "$HALLMARK" diff out3/t1006-plain.manifest "$M"
expect_grep '^# runtime: none -> baseline$' out.txt "diff says which side has none"

# A glob key cannot be signed: the build fails naming FILE:LINE, and
# publishes nothing.
mkdir -p glob/etc/sysctl.d && cp -a base/. glob/
printf 'kernel.a = 1\nnet.ipv4.conf.*.rp_filter = 1\n' > glob/etc/sysctl.d/20-glob.conf
tar --numeric-owner --owner=0 --group=0 -C glob -cf tpl/glob.tar .
sed 's/base.tar/glob.tar/; s/t1006-rt/t1006-glob/' tpl/rt.yaml > tpl/glob.yaml
expect_exit 2 "a glob sysctl key fails the build" "$HALLMARK" build tpl/glob.yaml -o out4 --source-date-epoch 1700000000
expect_grep "/etc/sysctl.d/20-glob.conf:2: sysctl key 'net.ipv4.conf.\*.rp_filter' is a glob" err.txt "naming the file and line"
[ ! -e out4/t1006-glob.manifest ] && ok "nothing published" || fail "nothing published"

# A key that is not one, and a symlink loop, fail the same way.
rm glob/etc/sysctl.d/20-glob.conf
printf '\nkernel.a b = 1\n' > glob/etc/sysctl.d/20-space.conf
tar --numeric-owner --owner=0 --group=0 -C glob -cf tpl/glob.tar .
expect_exit 2 "a key with a blank inside fails the build" "$HALLMARK" build tpl/glob.yaml -o out4 --source-date-epoch 1700000000
expect_grep "/etc/sysctl.d/20-space.conf:2: 'kernel.a b' is not a sysctl key" err.txt "naming the file and line"
rm glob/etc/sysctl.d/20-space.conf
ln -s 31-loop.conf glob/etc/sysctl.d/30-loop.conf
ln -s 30-loop.conf glob/etc/sysctl.d/31-loop.conf
tar --numeric-owner --owner=0 --group=0 -C glob -cf tpl/glob.tar .
expect_exit 2 "a symlink loop in sysctl.d fails the build" "$HALLMARK" build tpl/glob.yaml -o out4 --source-date-epoch 1700000000
expect_grep "'/etc/sysctl.d/30-loop.conf': more than 8 symlinks" err.txt "naming the link"
[ ! -e out4/t1006-glob.manifest ] && ok "nothing published" || fail "nothing published"

# A bad template: FILE:LINE:COL.
sed 's/port: 22,/port: 70000,/' tpl/rt.yaml > tpl/bad.yaml
expect_exit 2 "a bad port fails the build" "$HALLMARK" build tpl/bad.yaml -o out5
expect_grep "bad.yaml:11:26: 'port' must be a number from 1 to 65535" err.txt "naming line and column"
done_testing
