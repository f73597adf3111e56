#!/bin/sh
# pax global headers (typeflag 'g'): GNU tar and Python apply their
# records to every later member, libarchive reads and drops them.  An
# archive whose global header sets path or uid is extracted by GNU tar as
# another file, owned by root, than the one a manifest would name.
# hallmark refuses them (exit 2, naming the member they precede), for
# every command, nothing written; only a global header holding nothing
# hallmark records (comment, atime, mtime, ctime: what "git archive"
# writes) is read past.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

# A tar written block by block (tests/cli/rawtar.py says what it takes).
raw() { python3 "$HM_TOP/tests/cli/rawtar.py" "$@"; }

raw global.tar '[dict(name="./", type="5"), dict(name="opt/", type="5"),
	dict(name="pax_global_header", type="g", glob={"uid": 0, "path": "etc/shadow"}),
	dict(name="opt/pwned", data=b"hi\n", uid=1000)]'
if command -v tar >/dev/null 2>&1 && tar --version 2>/dev/null | grep -q GNU; then
	tar -tvf global.tar > list.txt 2>&1
	expect_grep ' 0/0 .* etc/shadow$' list.txt "GNU tar applies the global header (the member is etc/shadow, root's)"
else
	skip "GNU tar is not installed"
fi
tar_refused "a pax global header setting path and uid" \
	"tar member 'opt/pwned': a pax global header \(typeflag 'g'\) before it sets 'uid'" global.tar

q() {   # WHAT PATTERN MEMBERS
	raw q.tar "$3"
	tar_quick "$1" "$2" q.tar
}
q "a global header first in the archive, setting mode" "tar member '\./': a pax global header .* sets 'mode'" \
	'[dict(name="pax_global_header", type="g", glob={"mode": "0777"}), dict(name="./", type="5"), dict(name="opt/", type="5")]'
q "a global header after a member's own pax header" "tar member 'opt/pwned': a pax global header .* sets 'gid'" \
	'[dict(name="./", type="5"), dict(name="opt/", type="5"),
	  dict(name="pax_global_header", type="g", glob={"comment": "x", "gid": 0}, pax={"comment": "y"}),
	  dict(name="opt/pwned", data=b"hi\n")]'
q "a global header whose records are malformed" "a malformed pax global header" \
	'[dict(name="./", type="5"), dict(name="opt/", type="5"),
	  dict(name="pax_global_header", type="g", data=b"99 uid=0\n"), dict(name="opt/pwned", data=b"hi\n")]'

# What git archive writes: a comment, nothing that changes a member.
raw git.tar '[dict(name="pax_global_header", type="g", glob={"comment": "0123456789abcdef0123456789abcdef01234567"}),
	dict(name="./", type="5"), dict(name="opt/", type="5"), dict(name="opt/f", data=b"hi\n", uid=1000)]'
expect_exit 0 "a global header with only a comment (git archive) is read" \
	"$HALLMARK" manifest tar:git.tar --name t --serial 1 -o git.manifest
expect_grep '^/opt/f type=file mode=0644 uid=1000 ' git.manifest "and the members are as their headers say"
if command -v git >/dev/null 2>&1 && [ -d "$HM_TOP/.git" -o -f "$HM_TOP/.git" ]; then
	git -C "$HM_TOP" archive --format=tar HEAD docs > real-git.tar 2>/dev/null &&
		expect_exit 0 "a real git archive is read" "$HALLMARK" manifest tar:real-git.tar --name t --serial 1 -o g.manifest
else
	skip "no git checkout"
fi
done_testing
