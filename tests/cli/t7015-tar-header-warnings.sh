#!/bin/sh
# A warning of libarchive's on a member's header means part of the header
# was dropped: a malformed pax record, a record whose length runs past the
# header, a NUL in a pax key (an xattr name), a malformed GNU sparse map.
# libarchive still returns the member, without the records after the bad
# one, so a uid, a path or an xattr could be hidden from the manifest: each
# is an error naming the member (exit 2), for every command, nothing
# written.  The charset warning on non-ASCII pax names is not one of them:
# hallmark reads pax names as UTF-8 to UTF-8 whatever the locale, so a
# valid UTF-8 name is read as its bytes, as dir: would, with no warning.
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

# A uid=0 record after a malformed one: libarchive keeps the header's
# uid 1000 and warns.
raw malformed.tar '[dict(name="./", type="5"), dict(name="opt/", type="5"),
	dict(name="opt/pwned", data=b"hi\n", uid=1000, paxraw=b"14 path=opt/a\nxx junk\n10 uid=0\n")]'
tar_refused "a malformed pax record" \
	"tar member 'opt/pwned': part of its header was dropped: Ignoring malformed pax extended attributes" malformed.tar
q() {   # WHAT PATTERN MEMBERS
	raw q.tar "[dict(name=\"./\", type=\"5\"), dict(name=\"opt/\", type=\"5\"), $3]"
	tar_quick "$1" "$2" q.tar
}
q "a pax record longer than the header" \
	"tar member 'opt/pwned': part of its header was dropped: Ignoring malformed pax extended attribute" \
	'dict(name="opt/pwned", data=b"hi\n", uid=1000, paxraw=b"99 uid=0\n")'
q "a NUL in a pax xattr name" \
	"tar member 'opt/pwned': part of its header was dropped: Invalid pax extended attributes" \
	'dict(name="opt/pwned", data=b"hi\n", pax={b"SCHILY.xattr.user.a\0b": b"v", "uid": 0})'
q "a malformed GNU sparse map" \
	"tar member 'opt/pwned': part of its header was dropped" \
	'dict(name="opt/pwned", data=b"hi\n", pax={"GNU.sparse.size": 3, "GNU.sparse.map": "0,3,x"})'

# The harmless one: a non-ASCII pax name in the C locale is its UTF-8
# bytes, as dir: records the same name on disk, with no error.
for loc in C C.UTF-8; do
	raw utf8.tar '[dict(name="./", type="5"), dict(name="opt/", type="5", mode=0o755),
		dict(name="opt/x", data=b"hi\n", pax={"path": "opt/caf\u00e9 \u00fcber \u65e5\u672c"})]'
	expect_exit 0 "a non-ASCII pax name in the $loc locale is read" \
		env LC_ALL=$loc "$HALLMARK" manifest tar:utf8.tar --name t --serial 1 -o utf8.manifest
	rm -rf u && mkdir -p "u/opt" && printf 'hi\n' > "u/opt/$(printf 'caf\303\251 \303\274ber \346\227\245\346\234\254')" &&
		chmod 644 u/opt/* && chmod 755 u u/opt
	env LC_ALL=$loc "$HALLMARK" manifest dir:u --name t --serial 1 -o dir.manifest 2>err.txt
	if [ "$(grep '^/opt/' utf8.manifest)" = "$(grep '^/opt/' dir.manifest)" ] &&
	   grep -q '^/opt/caf' utf8.manifest; then
		ok "$loc: the name is the same bytes as dir: records"
	else
		fail "$loc: the name is the same bytes as dir: records"
		grep '^/opt/' utf8.manifest dir.manifest | sed 's/^/#   /'
	fi
done
# The same name marked hdrcharset=BINARY (hallmark's own tar writer) too.
raw bin.tar '[dict(name="./", type="5"), dict(name="opt/", type="5"),
	dict(name="opt/x", data=b"hi\n", pax={"hdrcharset": "BINARY", "path": b"opt/\xff\xfe"})]'
expect_exit 0 "a binary pax name (hdrcharset=BINARY) is read" \
	env LC_ALL=C "$HALLMARK" manifest tar:bin.tar --name t --serial 1 -o bin.manifest
expect_grep '^/opt/\\377\\376 ' bin.manifest "its bytes are the name"
# Not UTF-8 and not marked binary: libarchive warns, refused.
raw bad8.tar '[dict(name="./", type="5"), dict(name="opt/", type="5"),
	dict(name="opt/x", data=b"hi\n", pax={"path": b"opt/\xff\xfe"})]'
tar_quick "a pax name that is not UTF-8 nor marked binary" "part of its header was dropped" bad8.tar
done_testing
