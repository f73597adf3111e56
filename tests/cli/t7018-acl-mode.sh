#!/bin/sh
# POSIX ACLs (GNU tar --acls, bsdtar: pax SCHILY.acl.access/default)
# must not change the mode: libarchive replaces a member's permission bits
# with the ACL's user, group and other entries, so a file whose ACL has a
# mask got the group entry's bits where stat(2), dir: and GNU tar
# (without --acls) have the mask's: false drift, or a mode no extractor
# writes.  tar: records the header's mode; ACLs themselves are not
# recorded from a tar stream (docs/cli.md).
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

# raw.py OUT MEMBERS: a tar written block by block, so that headers can
# carry what no tar writer would.  MEMBERS: a Python list of dicts: name,
# type ("0" file, "5" dir, "g" pax global header...), data, mode, uid,
# gid, pax (records of a pax 'x' header before the member), paxraw (the
# same, bytes written as they are), glob (records of a 'g' member), gnu
# (old GNU magic), realsize (the GNU header field).
cat > raw.py <<'PY'
import sys
def records(d):
    out = b""
    for k, v in d.items():
        kv = b"%s=%s\n" % (k if isinstance(k, bytes) else k.encode(),
                           v if isinstance(v, bytes) else str(v).encode())
        n = len(kv) + 2
        while len(b"%d " % n) + len(kv) != n:
            n += 1
        out += b"%d " % n + kv
    return out
def header(name, typ, size, mode, uid, gid, gnu, realsize):
    h = bytearray(512)
    nb = name.encode()
    h[0:len(nb)] = nb
    h[100:108] = b"%07o\0" % mode
    h[108:116] = b"%07o\0" % uid
    h[116:124] = b"%07o\0" % gid
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"14543617400\0"
    h[156:157] = typ.encode()
    h[257:265] = b"ustar  \0" if gnu else b"ustar\x0000"
    if realsize is not None:
        h[483:495] = b"%011o\0" % realsize
    h[148:156] = b"%06o\0 " % (sum(h[:148]) + 8 * 32 + sum(h[156:]))
    return bytes(h)
def pad(b):
    return b + bytes(-len(b) % 512)
with open(sys.argv[1], "wb") as out:
    for m in eval(sys.argv[2]):
        body = m.get("paxraw", records(m["pax"]) if "pax" in m else None)
        if body is not None:
            out.write(header("PaxHeaders/x", "x", len(body), 0o644, 0, 0, False, None) + pad(body))
        typ = m.get("type", "0")
        data = records(m["glob"]) if "glob" in m else m.get("data", b"")
        out.write(header(m["name"], typ, len(data), m.get("mode", 0o755 if typ == "5" else 0o644),
                         m.get("uid", 0), m.get("gid", 0), m.get("gnu", False),
                         m.get("realsize")) + pad(data))
    out.write(bytes(1024))
PY
raw() { python3 "$WORK/raw.py" "$@"; }

m() {   # WHAT WANT-LINE MEMBERS
	raw acl.tar "[dict(name=\"./\", type=\"5\"), dict(name=\"opt/\", type=\"5\"), $3]"
	expect_exit 0 "$1: read" "$HALLMARK" manifest tar:acl.tar --name t --serial 1 -o acl.manifest
	expect_grep "$2" acl.manifest "$1: the header's mode"
}
m "a file whose ACL has a mask" '^/opt/f type=file mode=0670 ' \
	'dict(name="opt/f", data=b"x\n", mode=0o670, pax={"SCHILY.acl.access": "user::rw-\ngroup::r--\ngroup:adm:rwx\nmask::rwx\nother::---\n"})'
m "an ACL whose entries disagree with the header" '^/opt/f type=file mode=0600 ' \
	'dict(name="opt/f", data=b"x\n", mode=0o600, pax={"SCHILY.acl.access": "user::rwx\ngroup::rwx\nmask::rwx\nother::rwx\n"})'
m "a directory with a default ACL" '^/opt/d type=dir mode=0750 ' \
	'dict(name="opt/d", type="5", mode=0o750, pax={"SCHILY.acl.access": "user::rwx\ngroup::r--\nmask::r-x\nother::---\n", "SCHILY.acl.default": "user::rwx\nuser:daemon:r-x\ngroup::r-x\nmask::r-x\nother::---\n"})'
m "a setgid file whose ACL has a mask" '^/opt/s type=file mode=2750 ' \
	'dict(name="opt/s", data=b"x\n", mode=0o2750, pax={"SCHILY.acl.access": "user::rwx\ngroup::---\ngroup:adm:r-x\nmask::r-x\nother::---\n"})'

# The real thing, where the file system has ACLs: GNU tar --acls of a
# file with a named entry, against stat(2) and dir:.
mkdir -p real/opt && printf 'x\n' > real/opt/f && chmod 640 real/opt/f
if command -v setfacl >/dev/null 2>&1 && setfacl -m u:daemon:rwx real/opt/f 2>/dev/null &&
   tar --version 2>/dev/null | grep -q GNU; then
	tar --acls --numeric-owner -C real -cpf real.tar . 2>/dev/null
	"$HALLMARK" manifest tar:real.tar --name t --serial 1 -o real-tar.manifest 2>err.txt
	"$HALLMARK" manifest dir:real --name t --serial 1 -o real-dir.manifest 2>>err.txt
	want=$(stat -c %a real/opt/f)
	expect_grep "^/opt/f type=file mode=0$want " real-tar.manifest "GNU tar --acls: tar: says mode 0$want, as stat(2)"
	expect_grep "^/opt/f type=file mode=0$want " real-dir.manifest "and as dir:"
else
	skip "no setfacl, no ACLs on this file system or no GNU tar"
	skip "(same)"
fi
done_testing
