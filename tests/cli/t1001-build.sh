#!/bin/sh
# hallmark build from a tarball base: outputs, binding, reproducibility,
# consumers (skopeo, umoci), and failures that leave nothing behind.
. "$(dirname "$0")/lib.sh"

mkdir -p base/etc base/usr/bin base/usr/share/doc/pkg base/opt base/home
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:x:0:\nadm:x:4:\n' > base/etc/group
printf 'root:*:19000:0:99999:7:::\n' > base/etc/shadow && chmod 640 base/etc/shadow
printf '#!/bin/sh\necho hi\n' > base/usr/bin/hello && chmod 4755 base/usr/bin/hello
printf 'docs\n' > base/usr/share/doc/pkg/README
ln -s hello base/usr/bin/hi
setfattr -n user.origin -v base base/usr/bin/hello 2>/dev/null || true
tar --xattrs --xattrs-include='*' --numeric-owner -C base -cf base.tar .
mkdir -p tpl/files && printf 'Authorized use only.\n' > tpl/files/issue.net && mv base.tar tpl/
cat > tpl/app.yaml <<'T'
hallmark: 1
name: t1001-app
serial: 7
base:
  tarball:
    path: base.tar
remove: [/usr/share/doc/**]
directories:
  - {path: /opt/app, mode: "0755"}
files:
  - {path: /etc/motd, content: "gold image\n", mode: "0644"}
  - {path: /etc/issue.net, source: files/issue.net}
symlinks:
  - {path: /usr/local, target: /opt/app}
groups:
  - {name: app, gid: 1000}
users:
  - {name: app, uid: 1000, gid: 1000, groups: [adm]}
permissions:
  - {path: /usr/bin/hello, mode: "0755"}
config:
  cmd: [/bin/sh]
  env: ["PATH=/usr/bin:/bin"]
T
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
export HALLMARK_CACHE="$T_DIR/cache"

expect_exit 0 "a template builds" "$HALLMARK" build tpl/app.yaml -o out1 --key ops.key --source-date-epoch 1700000000
for f in t1001-app.oci.tar t1001-app.rootfs.tar t1001-app.manifest t1001-app.manifest.sig t1001-app.build.json; do
	[ -f "out1/$f" ] && ok "out1/$f written" || fail "out1/$f written"
done
[ -z "$(ls -A out1 | grep '^\.')" ] && ok "no staging left in the output folder" || fail "no staging left"
expect_exit 0 "the OCI image verifies against its manifest" "$HALLMARK" verify oci:out1/t1001-app.oci.tar --manifest out1/t1001-app.manifest --pubkey ops.pub
expect_exit 0 "the rootfs tarball verifies" "$HALLMARK" verify tar:out1/t1001-app.rootfs.tar --manifest out1/t1001-app.manifest --pubkey ops.pub
expect_grep '^/usr/bin/hello type=file mode=0755' out1/t1001-app.manifest "permissions were applied (setuid stripped)"
tar -xOf out1/t1001-app.rootfs.tar etc/passwd > passwd.txt
expect_grep '^app:x:1000:1000::/home/app:/usr/sbin/nologin$' passwd.txt "the user is in /etc/passwd"
tar -xOf out1/t1001-app.rootfs.tar etc/shadow > shadow.txt
expect_grep '^app:!:' shadow.txt "with a locked password"
expect_exit 1 "removed docs are gone" grep -q 'usr/share/doc/pkg' out1/t1001-app.manifest

# Binding: the manifest names the image digests and the template digest.
oci=$(sed -n 's/^image oci //p' out1/t1001-app.manifest)
tard=$(sed -n 's/^image tar //p' out1/t1001-app.manifest)
expect_grep "\"image_manifest\": \"$oci\"" out1/t1001-app.build.json "the manifest names the OCI image digest"
[ "$tard" = "sha256:$(sha256sum out1/t1001-app.rootfs.tar | cut -d' ' -f1)" ] && ok "the manifest names the rootfs tar digest" || fail "rootfs digest"
[ "$(sed -n 's/^template //p' out1/t1001-app.manifest)" = "sha256:$(sha256sum tpl/app.yaml | cut -d' ' -f1)" ] && ok "and the template digest" || fail "template digest"

# Reproducible: another folder, another time, another umask.
sleep 1
(umask 077; cd / && "$HALLMARK" build "$T_DIR/tpl/app.yaml" -o "$T_DIR/out2" --key "$T_DIR/ops.key" --source-date-epoch 1700000000 >/dev/null 2>&1)
for f in t1001-app.oci.tar t1001-app.rootfs.tar t1001-app.manifest; do
	cmp -s "out1/$f" "out2/$f" && ok "$f is byte-identical across builds" || fail "$f is byte-identical across builds"
done

# One byte of an input changes the right digests.
printf 'Authorized use only!\n' > tpl/files/issue.net
"$HALLMARK" build tpl/app.yaml -o out3 --source-date-epoch 1700000000 >/dev/null 2>&1
[ "$(sed -n 's/^image tar //p' out3/t1001-app.manifest)" != "$tard" ] && ok "a changed source file changes the tar digest" || fail "tar digest changed"
printf 'Authorized use only.\n' > tpl/files/issue.net
sed 's/serial: 7/serial: 8/' tpl/app.yaml > tpl/app8.yaml
"$HALLMARK" build tpl/app8.yaml -o out4 --source-date-epoch 1700000000 >/dev/null 2>&1
[ "$(sed -n 's/^template //p' out4/t1001-app.manifest)" != "$(sed -n 's/^template //p' out1/t1001-app.manifest)" ] && ok "a changed template changes the template digest" || fail "template digest changed"
[ "$(sed -n 's/^image tar //p' out4/t1001-app.manifest)" = "$tard" ] && ok "but not the image digests" || fail "image digests unchanged"

# Real consumers.
if command -v skopeo >/dev/null; then
	expect_exit 0 "skopeo inspect accepts the OCI archive" skopeo inspect oci-archive:out1/t1001-app.oci.tar
else
	skip "skopeo not installed"
fi
if command -v umoci >/dev/null; then
	mkdir layout && tar -C layout -xf out1/t1001-app.oci.tar
	umoci unpack --image layout:t1001-app bundle >/dev/null 2>&1
	SOURCE_DATE_EPOCH=1700000000 "$HALLMARK" manifest dir:bundle/rootfs --name t1001-app --serial 7 -o unpacked.manifest 2>/dev/null
	expect_exit 0 "umoci's unpacked tree has the build's manifest entries" "$HALLMARK" diff out1/t1001-app.manifest unpacked.manifest
else
	skip "umoci not installed"
fi

# An OCI image as the base of another build (layers, digests checked).
cp out1/t1001-app.oci.tar tpl/app.oci.tar
cat > tpl/derived.yaml <<'T'
hallmark: 1
name: t1001-derived
serial: 1
base:
  oci:
    path: app.oci.tar
files:
  - {path: /opt/app/run, content: "#!/bin/sh\n", mode: "0755"}
audit:
  exceptions:
    - {rule: HM-ACCT-006, reason: "the app account comes from the base image t1001-app"}
T
expect_exit 0 "an OCI image is a base" "$HALLMARK" build tpl/derived.yaml -o outd --source-date-epoch 1700000000
"$HALLMARK" diff out1/t1001-app.manifest outd/t1001-derived.manifest > d.txt
expect_grep '^\+ /opt/app/run$' d.txt "the derived image is the base plus its operations"
[ "$(grep -c '^[-+~] ' d.txt)" -eq 1 ] && ok "and nothing else" || { fail "and nothing else"; cat d.txt; }
python3 -c "import tarfile,sys; t=tarfile.open('tpl/app.oci.tar'); m=max(t.getmembers(), key=lambda m: m.size); f=open('tpl/app.oci.tar','r+b'); f.seek(m.offset_data+m.size//2); b=f.read(1); f.seek(-1,1); f.write(bytes([b[0]^1]))"
expect_exit 2 "a corrupt OCI base is refused" "$HALLMARK" build tpl/derived.yaml -o outd2
[ -z "$(ls -A outd2 2>/dev/null)" ] && ok "and leaves nothing behind" || fail "and leaves nothing behind"

# The audit gate: the final tree is audited before anything is written.
expect_grep '"result": "pass"' out1/t1001-app.audit.json "the build's audit report is written and passes"
sed 's|  - {path: /etc/motd, content: "gold image\\n", mode: "0644"}|  - {path: /etc/motd, content: "gold image\\n", mode: "0666"}\n  - {path: /etc/app.env, content: "DB_PASSWORD=hunter2\\n", mode: "0640"}|' tpl/app.yaml > tpl/gate.yaml
grep -q 'hunter2' tpl/gate.yaml && ok "the gate template is made" || fail "the gate template is made"
expect_exit 1 "a world-writable file and a clear-text password fail the gate" \
	"$HALLMARK" build tpl/gate.yaml -o outgate --source-date-epoch 1700000000
expect_grep 'HM-FILE-001 /etc/motd' err.txt "the report names the rule and the path"
expect_grep 'DB_PASSWORD = \*\*\*\*' err.txt "with the secret masked"
expect_exit 1 "and never shows the secret" grep -q hunter2 err.txt
[ -z "$(ls -A outgate 2>/dev/null)" ] && ok "and no image is written" || fail "and no image is written"
printf 'harden: [HM-FILE-001]\naudit:\n  exceptions:\n    - {rule: HM-SECRET-001, path: /etc/app.env, reason: "test fixture"}\n' >> tpl/gate.yaml
expect_exit 0 "a harden fix and an exception with a reason pass it" \
	"$HALLMARK" build tpl/gate.yaml -o outgate --source-date-epoch 1700000000
expect_grep '^/etc/motd type=file mode=0664 ' outgate/t1001-app.manifest "the fix cleared the world-write bit"
expect_grep '"excepted": true' outgate/t1001-app.audit.json "the excepted finding stays in the report"

expect_exit 2 "build refuses a passphrase on the command line" \
	"$HALLMARK" build tpl/app.yaml -o outpw --key ops.key --passphrase s3cret
expect_exit 1 "without echoing it" grep -q s3cret err.txt

# Failures leave nothing at a final name.
printf 'hallmark: 1\nname: t1001-bad\nserial: 1\nbase: {tarball: {path: base.tar}}\nfiles:\n  - {path: /nope/x, content: ""}\n' > tpl/bad.yaml
expect_exit 2 "an operation on a missing parent fails" "$HALLMARK" build tpl/bad.yaml -o outbad
expect_grep "parent directory '/nope' does not exist" err.txt "naming the path"
[ -z "$(ls -A outbad 2>/dev/null)" ] && ok "and leaves nothing in the output folder" || fail "nothing left"
printf 'hallmark: 1\nname: t1001-app\nserial: 1\nbase: {tarball: {path: base.tar}}\nfiles:\n  - {path: /etc/x, content: "", mode: "0999"}\n' > tpl/bad2.yaml
cp out1/t1001-app.manifest before.manifest
expect_exit 2 "a bad mode is a template error" "$HALLMARK" build tpl/bad2.yaml -o out1
expect_grep 'bad2.yaml:6:' err.txt "with its line"
cmp -s before.manifest out1/t1001-app.manifest && ok "an earlier build's outputs stay intact" || fail "earlier outputs intact"

python3 - <<'PY'
import tarfile, io
with tarfile.open("tpl/evil.tar", "w") as t:
    i = tarfile.TarInfo("./etc"); i.type = tarfile.DIRTYPE; t.addfile(i)
    data = b"x"; i = tarfile.TarInfo("../../etc/cron.d/evil"); i.size = 1; t.addfile(i, io.BytesIO(data))
PY
printf 'hallmark: 1\nname: t1001-evil\nserial: 1\nbase: {tarball: {path: evil.tar}}\n' > tpl/evil.yaml
expect_exit 2 "a base with ../ members is refused" "$HALLMARK" build tpl/evil.yaml -o outevil
expect_grep '\.\./\.\./etc/cron\.d/evil' err.txt "naming the member"
[ ! -e etc/cron.d/evil ] && [ ! -e "$T_DIR/../etc/cron.d/evil" ] && ok "nothing was written outside" || fail "nothing outside"

# A name the OCI layer would read as a whiteout: the image would not
# match its own manifest ("missing /etc/.wh.shadow").
python3 - <<'PY'
import tarfile, io
with tarfile.open("tpl/wh.tar", "w") as t:
    i = tarfile.TarInfo("./etc"); i.type = tarfile.DIRTYPE; t.addfile(i)
    i = tarfile.TarInfo("./etc/.wh.shadow"); i.size = 1; t.addfile(i, io.BytesIO(b"x"))
PY
printf 'hallmark: 1\nname: t1001-wh\nserial: 1\nbase: {tarball: {path: wh.tar}}\n' > tpl/wh.yaml
expect_exit 2 "a base with a '.wh.' name is refused" "$HALLMARK" build tpl/wh.yaml -o outwh
expect_grep "'/etc/\.wh\.shadow': a name starting with '\.wh\.' reads as a whiteout" err.txt "naming the entry"
[ -z "$(ls -A outwh 2>/dev/null)" ] && ok "no output after the refusal" || fail "outputs left in outwh"

# A decompression bomb: 300 MB of zeros in a 300 kB base.
python3 - <<'PY'
import gzip, io, tarfile
size = 300 << 20
class Zeros(io.RawIOBase):
    def __init__(self): self.left = size
    def readable(self): return True
    def readinto(self, b):
        n = min(len(b), self.left); b[:n] = bytes(n); self.left -= n; return n
with gzip.open("tpl/bomb.tar.gz", "wb", compresslevel=1) as f:
    with tarfile.open(fileobj=f, mode="w") as t:
        i = tarfile.TarInfo("./etc"); i.type = tarfile.DIRTYPE; t.addfile(i)
        i = tarfile.TarInfo("./etc/zeros"); i.size = size
        t.addfile(i, io.BufferedReader(Zeros(), 1 << 20))
PY
printf 'hallmark: 1\nname: t1001-bomb\nserial: 1\nbase: {tarball: {path: bomb.tar.gz}}\n' > tpl/bomb.yaml
expect_exit 2 "a decompression bomb as a base is refused" "$HALLMARK" build tpl/bomb.yaml -o outbomb
expect_grep "decompression bomb" err.txt "naming it"
expect_grep "/etc/zeros" err.txt "and the entry"
[ -z "$(ls -A "$HALLMARK_CACHE/blobs/tmp" 2>/dev/null)" ] && ok "the blob store keeps no partial blob" || fail "no partial blob"
[ -z "$(ls -A outbomb 2>/dev/null)" ] && ok "and no output is written" || fail "no output"
done_testing
