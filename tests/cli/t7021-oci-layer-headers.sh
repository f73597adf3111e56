#!/bin/sh
# OCI layers go through the same header checks as tar: streams (issue 11,
# items 1-4 and 6): a libarchive warning on a member's header, a pax
# global header that sets what hallmark records, a GNU realsize past the
# data, and an ACL that would replace the header's mode.  A layer is a
# tar stream read by another reader (lib/source_oci.c), so each attack is
# a second layer over the base, read by every entry point (adv-lib.sh).
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

raw() { python3 "$HM_TOP/tests/cli/rawtar.py" "$@"; }
layer() {   # MEMBERS: layer.tar with ./, opt/ and MEMBERS
	raw layer.tar "[dict(name=\"./\", type=\"5\"), dict(name=\"opt/\", type=\"5\"), $1]"
}

layer 'dict(name="pax_global_header", type="g", glob={"uid": 0}), dict(name="opt/pwned", data=b"hi\n", uid=1000)'
layer_refused "a pax global header setting uid in a layer" \
	"member 'opt/pwned'.*a pax global header \(typeflag 'g'\) before it sets 'uid'" layer.tar
layer 'dict(name="opt/pwned", data=b"hi\n", uid=1000, paxraw=b"14 path=opt/a\nxx junk\n10 uid=0\n")'
layer_refused "a malformed pax record in a layer" \
	"member 'opt/pwned'.*part of its header was dropped" layer.tar
layer 'dict(name="opt/pwned", data=b"hi\n", pax={b"SCHILY.xattr.user.a\0b": b"v", "uid": 0})'
layer_quick "a NUL in a pax xattr name in a layer" "part of its header was dropped" layer.tar
layer 'dict(name="opt/pwned", data=b"hi\n", gnu=True, realsize=4096)'
layer_refused "a GNU realsize past the data in a layer" "member 'opt/pwned'.*not sparse" layer.tar

# An ACL in a layer: the header's mode, as in tar: streams and dir:.
layer 'dict(name="opt/f", data=b"x\n", mode=0o670, pax={"SCHILY.acl.access": "user::rw-\ngroup::r--\ngroup:adm:rwx\nmask::rwx\nother::---\n"})'
rm -f img.tar
$MKOCI oci img.tar base layer.tar >/dev/null 2>&1
expect_exit 0 "an ACL in a layer is read" "$HALLMARK" manifest oci:img.tar --name t --serial 2 -o acl.manifest
expect_grep '^/opt/f type=file mode=0670 ' acl.manifest "with the header's mode, not the ACL's group entry"
done_testing
