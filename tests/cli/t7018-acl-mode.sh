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

# A tar written block by block (tests/cli/rawtar.py says what it takes).
raw() { python3 "$HM_TOP/tests/cli/rawtar.py" "$@"; }

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
