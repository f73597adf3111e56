#!/bin/sh
# verify dir: every kind of drift is reported by path, with exit 1; a clean
# tree exits 0; special files never hang the scan.
. "$(dirname "$0")/lib.sh"

mkdir -p root/etc root/usr/bin root/var/empty root/dev
printf 'root:x:0:0::/root:/bin/sh\n' > root/etc/passwd
printf '127.0.0.1 localhost\n' > root/etc/hosts
printf 'hello\n' > root/usr/bin/tool
printf 'same\n' > root/usr/bin/other
ln -s tool root/usr/bin/link
mkfifo root/var/fifo
python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind('root/var/sock')"
setfattr -n user.note -v one root/usr/bin/tool 2>/dev/null || true
chmod 4755 root/usr/bin/other
chmod 1777 root/var/empty

"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:root --name t2001 --serial 1 -o base.manifest 2>/dev/null
"$HALLMARK" sign base.manifest --key ops.key >/dev/null 2>&1
V="--manifest base.manifest --pubkey ops.pub"

expect_exit 0 "a clean tree verifies" timeout 60 "$HALLMARK" verify dir:root $V
expect_grep '^OK' out.txt "the text report starts with the verdict"
expect_exit 0 "hallmark-verify gives the same verdict" timeout 60 "$HALLMARK_VERIFY" dir:root $V
expect_exit 0 "a bare directory path is a dir: target" "$HALLMARK" verify root $V

# One change of each kind, then one run that must report them all.
printf 'hellp\n' > root/usr/bin/tool                  # content
printf 'same, longer\n' > root/usr/bin/other          # content, with its size
chgrp 1000 root/usr/bin/other                         # gid
chmod 4755 root/usr/bin/other                         # (chgrp clears setuid)
chmod 0600 root/etc/hosts                              # mode
chown 1000 root/usr/bin/tool                          # uid
rm root/usr/bin/link; ln -s other root/usr/bin/link   # target
rmdir root/var/empty; printf x > root/var/empty       # type
rm root/etc/passwd; mkdir root/etc/passwd.d; printf 'x\n' > root/etc/passwd.d/a  # missing + added
setfattr -n user.note -v two root/usr/bin/tool 2>/dev/null && xattr_ok=1 || xattr_ok=0

expect_exit 1 "drift exits 1" timeout 60 "$HALLMARK" verify dir:root $V --format json -o report.json
expect_exit 1 "the text report too" timeout 60 "$HALLMARK" verify dir:root $V
expect_grep '^DRIFT' out.txt "the first line says drift"
# A changed file is one finding: content, its sizes in the detail (issue 14).
python3 - <<'PY' && ok "size and content of one file: one content finding" || fail "size and content of one file: one content finding"
import json
r = json.load(open("report.json"))
f = [f for f in r["findings"] if f["path"] == "/usr/bin/other" and f["kind"] in ("content", "size")]
assert len(f) == 1 and f[0]["kind"] == "content", f
assert f[0]["detail"].startswith("size ") and len(f[0]["expected"]) == 64, f
PY
for kind in content mode uid gid target type missing added; do
	if python3 - "$kind" <<'PY'
import json, sys
r = json.load(open("report.json"))
kinds = {f["kind"] for f in r["findings"]}
sys.exit(0 if sys.argv[1] in kinds else 1)
PY
	then ok "finding kind '$kind' reported"; else fail "finding kind '$kind' reported"; fi
done
if [ $xattr_ok -eq 1 ]; then
	expect_grep '"kind": "xattr"' report.json "xattr drift reported"
else
	skip "xattr drift (no user xattrs on this file system)"
fi
python3 - <<'PY' && ok "findings name their paths" || fail "findings name their paths"
import json
r = json.load(open("report.json"))
paths = {(f["kind"], f["path"]) for f in r["findings"]}
want = {("content", "/usr/bin/tool"), ("missing", "/etc/passwd"), ("gid", "/usr/bin/other"),
        ("added", "/etc/passwd.d"), ("type", "/var/empty"), ("uid", "/usr/bin/tool"),
        ("target", "/usr/bin/link")}
missing = want - paths
assert not missing, missing
assert r["result"] == "drift" and r["exit_code"] == 1
PY
expect_exit 0 "an added directory is one finding, not one per entry" \
	sh -c "! grep -q 'passwd.d/a' report.json"

# Unreadable: a mode-000 file seen by an unprivileged user.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	mkdir -p u/root/d && printf 'secret\n' > u/root/d/f && chmod 755 u u/root u/root/d
	"$HALLMARK" manifest dir:u/root --name u -o u/m 2>/dev/null
	"$HALLMARK" sign u/m --key ops.key >/dev/null 2>&1
	cp ops.pub u/ && chmod 644 u/m u/m.sig u/ops.pub && chmod 755 "$T_DIR"
	chmod 000 u/root/d/f
	expect_exit 1 "an unreadable file is drift, not a skip" \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$HALLMARK_VERIFY" dir:u/root --manifest u/m --pubkey u/ops.pub
	expect_grep 'unreadable' out.txt "and is reported as unreadable"
else
	skip "unreadable files (needs root and setpriv)"
fi

# A FIFO with no writer would block open(2): the scan must never open it.
mkdir -p f/root && mkfifo f/root/pipe
expect_exit 0 "a tree with a FIFO is scanned without opening it" \
	timeout 30 "$HALLMARK" manifest dir:f/root -o f/m
expect_grep 'type=fifo' f/m "the FIFO is in the manifest"

# Paths deeper than PATH_MAX.
python3 - <<'PY'
import os
d = "deep/root"
os.makedirs(d)
fd = os.open(d, os.O_RDONLY)
for i in range(60):
    os.mkdir("d" * 100, dir_fd=fd)
    nfd = os.open("d" * 100, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
f = os.open("leaf", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
os.write(f, b"deep\n")
os.close(f)
PY
expect_exit 0 "paths deeper than PATH_MAX are scanned" "$HALLMARK" manifest dir:deep/root -o deep/m
expect_grep '/leaf type=file' deep/m "and the leaf (6 KB deep) is recorded"

# An added folder is reported once, with its count of entries below, on a
# live tree as in a tar stream, also when a file follows it (the live
# source asks compare which digests it needs: the count was lost there).
# (/z is over 32 MiB, so the live source asks before hashing it.)
mkdir -p cnt/root/etc && truncate -s 40M cnt/root/z && echo p > cnt/root/etc/p
"$HALLMARK" manifest dir:cnt/root --name cnt --serial 1 -o cnt/m >/dev/null 2>&1
"$HALLMARK" sign cnt/m --key ops.key >/dev/null 2>&1
mkdir -p cnt/root/new && echo 1 > cnt/root/new/a && echo 2 > cnt/root/new/b && echo 3 > cnt/root/new/c
expect_exit 1 "an added folder with a file after it is drift" \
	"$HALLMARK" verify dir:cnt/root --manifest cnt/m --pubkey ops.pub
expect_grep '/new +with 3 entries below' out.txt "dir: counts the entries below the added folder"
tar -C cnt/root -cSf cnt/root.tar .
expect_exit 1 "and as a tar stream" "$HALLMARK" verify tar:cnt/root.tar --manifest cnt/m --pubkey ops.pub
expect_grep '/new +with 3 entries below' out.txt "tar: counts them the same"

done_testing
