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

# A tar written block by block (tests/cli/rawtar.py says what it takes).
raw() { python3 "$HM_TOP/tests/cli/rawtar.py" "$@"; }

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
	# (owners aside: dir: sees whoever runs the test)
	if [ "$(grep '^/opt/' utf8.manifest | sed 's/ uid=[0-9]* gid=[0-9]*//')" = \
	     "$(grep '^/opt/' dir.manifest | sed 's/ uid=[0-9]* gid=[0-9]*//')" ] &&
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
