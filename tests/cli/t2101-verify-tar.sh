#!/bin/sh
# verify tar: a tar of a tree (GNU tar, bsdtar, pax, sparse, compressed,
# from a file or standard input) gives exactly the manifest of the tree
# itself, verifies against it, shows drift, and hostile streams are input
# errors naming the member.
. "$(dirname "$0")/lib.sh"

export SOURCE_DATE_EPOCH=1700000000
TARX="--xattrs --xattrs-include=* --numeric-owner"

mkdir -p root/etc root/usr/bin root/var/empty root/opt/app
printf 'root:x:0:0::/root:/bin/sh\n' > root/etc/passwd
printf '127.0.0.1 localhost\n' > root/etc/hosts
printf 'hello\n' > root/usr/bin/tool
ln root/usr/bin/tool root/usr/bin/tool.hard
ln -s tool root/usr/bin/link
ln -s /etc/passwd root/opt/app/abs
mkfifo root/var/fifo
printf 'caf\303\251\n' > "root/opt/app/$(printf 'caf\303\251 name')"
chmod 4755 root/usr/bin/tool
chmod 1777 root/var/empty
chmod 0700 root/opt/app
# A file with holes, ending in one.
python3 -c "
f = open('root/opt/app/sparse', 'wb'); f.write(b'head'); f.seek(3 << 20)
f.write(b'middle'); f.truncate(6 << 20)"
if setfattr -n user.note -v one root/etc/hosts 2>/dev/null; then xattr_ok=1; else xattr_ok=0; fi
# xattrs on a hard-linked file: each link carries them (dir: and tar: agree)
[ $xattr_ok -eq 1 ] && setfattr -n user.x -v y root/usr/bin/tool
if [ "$(id -u)" -eq 0 ]; then
	mknod root/var/null c 1 3
	chown 1000:1001 root/etc/hosts
fi

"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:root --name t2101 --serial 4 -o base.manifest 2>/dev/null
"$HALLMARK" sign base.manifest --key ops.key >/dev/null 2>&1
V="--manifest base.manifest --pubkey ops.pub"

tar $TARX -C root -cpf t.tar .
expect_exit 0 "a tar of the tree on stdin verifies" \
	sh -c "tar $TARX -C root -cpf - . | timeout 60 '$HALLMARK' verify tar:- $V"
expect_grep '^OK' out.txt "the report says OK"
expect_exit 0 "a tar file verifies" "$HALLMARK" verify tar:t.tar $V
expect_exit 0 "hallmark-verify reads tar: too" "$HALLMARK_VERIFY" tar:t.tar $V

# The key property: the tar and the tree have the same manifest, byte for byte.
same_manifest() {   # DESCRIPTION TARGET
	if "$HALLMARK" manifest "$2" --name t2101 --serial 4 -o m.tmp 2>err.txt &&
	   cmp -s base.manifest m.tmp; then
		ok "$1"
	else
		fail "$1"
		sed 's/^/#   /' err.txt | head -n 5
		diff base.manifest m.tmp 2>/dev/null | sed 's/^/#   /' | head -n 10
	fi
}
same_manifest "manifest tar:FILE equals manifest dir:" tar:t.tar
tar $TARX --format=pax -C root -cpf pax.tar .
same_manifest "a pax tar gives the same manifest" tar:pax.tar
tar $TARX --sparse -C root -cpf sparse.tar .
if [ "$(stat -c %s sparse.tar)" -lt 3000000 ]; then
	ok "GNU tar --sparse stores the holes as holes"
else
	fail "GNU tar --sparse stores the holes as holes"
fi
same_manifest "a GNU --sparse tar gives the same manifest" tar:sparse.tar
tar $TARX --sparse -C root -czpf t.tgz .
same_manifest "a gzip-compressed tar gives the same manifest" tar:t.tgz
if command -v zstd >/dev/null; then
	tar $TARX -C root -cpf - . | zstd -q > t.tar.zst
	same_manifest "a zstd-compressed tar gives the same manifest" tar:t.tar.zst
else
	skip "zstd-compressed tar (no zstd)"
fi
# Member names with a leading "/" instead of "./".
tar $TARX -C root -cpf - . | python3 -c "
import sys, tarfile
src = tarfile.open(fileobj=sys.stdin.buffer, mode='r|')
dst = tarfile.open('abs.tar', 'w', format=tarfile.PAX_FORMAT)
for m in src:
    data = src.extractfile(m) if m.isfile() else None
    m.name = '/' + m.name[2:] if m.name.startswith('./') else m.name
    dst.addfile(m, data)
dst.close()"
same_manifest "absolute member names give the same manifest" tar:abs.tar
if command -v bsdtar >/dev/null; then
	bsdtar --xattrs --numeric-owner -C root -cf bsd.tar . 2>/dev/null
	same_manifest "a bsdtar tar gives the same manifest" tar:bsd.tar
	expect_exit 0 "and verifies" "$HALLMARK" verify tar:bsd.tar $V
else
	skip "bsdtar (package libarchive-tools not installed)"
fi

# Drift, seen through a tar of a changed copy.
cp -a root changed
printf 'hellp\n' > changed/usr/bin/tool
chmod 0600 changed/etc/passwd
rm changed/usr/bin/link && ln -s other changed/usr/bin/link
printf 'new\n' > changed/etc/added
rm changed/var/fifo
[ $xattr_ok -eq 1 ] && setfattr -n user.note -v two changed/etc/hosts
expect_exit 1 "a tar of a changed tree is drift" \
	sh -c "tar $TARX -C changed -cpf - . | '$HALLMARK' verify tar:- $V --format json -o report.json"
if python3 - $xattr_ok <<'PY'
import json, sys
r = json.load(open("report.json"))
got = {(f["kind"], f["path"]) for f in r["findings"]}
want = {("content", "/usr/bin/tool"), ("content", "/usr/bin/tool.hard"),
        ("mode", "/etc/passwd"), ("target", "/usr/bin/link"),
        ("added", "/etc/added"), ("missing", "/var/fifo")}
if sys.argv[1] == "1":
    want.add(("xattr", "/etc/hosts"))
missing = want - got
assert not missing, (missing, got)
assert r["exit_code"] == 1
PY
then ok "every change is a finding with its path"; else fail "every change is a finding with its path"; fi

# A partial tar: the directories it does not list are made up, and differ.
tar $TARX -C root -cpf part.tar ./opt/app
expect_exit 1 "a tar of part of the tree is drift" "$HALLMARK" verify tar:part.tar $V
expect_grep 'missing' out.txt "the rest of the tree is missing"

# Hostile and broken streams: exit 2, naming the file and the member.
python3 - <<'PY'
import io, tarfile
def mk(name, members):
    t = tarfile.open(name, "w", format=tarfile.PAX_FORMAT)
    for n, data in members:
        i = tarfile.TarInfo(n); i.size = len(data)
        t.addfile(i, io.BytesIO(data))
    t.close()
mk("evil.tar", [("./etc/ok", b"x"), ("../../etc/cron.d/evil", b"* * * * * root sh\n")])
mk("dup.tar", [("./a", b"one"), ("a", b"two")])
mk("big.tar", [("./big", b"z" * 200000)])
PY
expect_exit 2 "a '..' member is an input error" "$HALLMARK" verify tar:evil.tar $V
expect_grep "tar member '\.\./\.\./etc/cron\.d/evil': path escapes the root" err.txt \
	"the message names the member"
expect_exit 2 "a duplicate member is an input error" "$HALLMARK" manifest tar:dup.tar -o d.m
expect_grep "duplicate entry '/a' in 'dup.tar'" err.txt "the message names the entry and the file"
[ ! -e d.m ] && ok "and no manifest is written" || fail "and no manifest is written"
head -c 100000 big.tar > cut.tar
expect_exit 2 "a truncated stream is an input error" "$HALLMARK" verify tar:cut.tar $V
expect_grep "cut.tar.*'/big'" err.txt "the message names the file and the member"
expect_exit 2 "garbage is an input error" sh -c "head -c 4096 /dev/urandom | '$HALLMARK' verify tar:- $V"
expect_exit 2 "a missing file is an error" "$HALLMARK" verify tar:nope.tar $V
expect_grep "nope.tar" err.txt "naming it"

done_testing
