#!/bin/sh
# Path traversal in tar streams and layers ("zip slip", CWE-22; the
# classic tar attack GNU tar and libarchive refuse with --no-dotdot /
# ARCHIVE_EXTRACT_SECURE_NODOTDOT): a member with a ".." component is an
# input error (exit 2) for every command that reads a stream or a layer,
# and an absolute member is read as a path inside the image, never as a
# host path.  Nothing is ever written outside.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

# Every command that reads a stream or a layer, for the member aimed at
# the sentinel; the other spellings through verify.
re() { printf '%s' "$1" | sed 's/\./\\./g'; }
mktar dotdot.tar './:d' 'etc/:d' '../outside/etc/shadow:f:pwned'
tar_refused "member '../outside/etc/shadow'" "tar member '\.\./outside/etc/shadow': path escapes the root" dotdot.tar
mktar layer.tar 'opt/:d' '../outside/etc/shadow:f:pwned'
layer_refused "layer member '../outside/etc/shadow'" "member '\.\./outside/etc/shadow': unsafe name \('\.\.' component or NUL byte\)" layer.tar
for m in '../pwned' 'etc/../../outside/pwned' './../pwned' '..' '/../pwned' 'opt/./../../pwned'; do
	mktar dotdot.tar './:d' 'etc/:d' "$m:f:pwned"
	tar_quick "member '$m'" "tar member '$(re "$m")': path escapes the root" dotdot.tar
	mktar layer.tar 'opt/:d' "$m:f:pwned"
	layer_quick "layer member '$m'" "member '$(re "$m")': unsafe name" layer.tar
done

# Absolute names stay inside the image: "/x" is the image's /x.  The
# member named after the sentinel's own absolute path is an addition to
# the image (drift), and the sentinel is untouched.
mktar abs.tar './:d' 'etc/:d' 'etc/passwd:f:root:x:0:0:root:/root:/bin/sh
' '/etc/shadow:f:pwned' '@OUT@/etc/shadow:f:pwned'
expect_exit 1 "an absolute member is drift inside the image (tar:)" "$HALLMARK" verify tar:abs.tar $V --format json -o abs.json
top=/$(echo "$OUTSIDE" | cut -d/ -f2)
python3 - "$top" <<'PY' && ok "the findings name image paths, never host paths" || fail "the findings name image paths, never host paths"
import json, sys
r = json.load(open("abs.json"))
got = {(f["kind"], f["path"]) for f in r["findings"]}
assert ("content", "/etc/shadow") in got, got
assert ("added", sys.argv[1]) in got, got   # the added subtree's top
PY
untouched "absolute members (verify tar:)"
expect_exit 0 "manifest tar: of it lists the absolute member as an image path" "$HALLMARK" manifest tar:abs.tar -o abs.manifest
expect_grep "^$OUTSIDE/etc/shadow type=file " abs.manifest "under the image root"
untouched "absolute members (manifest tar:)"
mktar abs-layer.tar '/opt/:d' '@OUT@/etc/shadow:f:pwned'
$MKOCI oci abs.oci.tar base abs-layer.tar
expect_exit 1 "an absolute layer member is drift inside the image (oci:)" "$HALLMARK" verify oci:abs.oci.tar $V
expect_grep "^  $top  with 4 entries below" out.txt "named as an image path"
untouched "absolute members (verify oci:)"
build_from tarball abs.tar
[ $? -eq 0 ] && ok "a tarball base with absolute members builds" || { fail "a tarball base with absolute members builds"; cat err.txt; }
expect_grep "^$OUTSIDE/etc/shadow type=file " "$BDIR/out/t7-adv.manifest" "the member is an image path of the build"
untouched "absolute members (build from a tarball base)"
build_from oci abs.oci.tar
[ $? -eq 0 ] && ok "an OCI base with absolute members builds" || { fail "an OCI base with absolute members builds"; cat err.txt; }
untouched "absolute members (build from an OCI base)"

# A name that merely looks like dots is a name.
mktar dots.tar './:d' '.../:d' '.../pwned-not:f:x'
expect_exit 0 "'...' is an ordinary name" "$HALLMARK" manifest tar:dots.tar -o dots.manifest
expect_grep '^/\.\.\./pwned-not type=file' dots.manifest "and is listed as such"
done_testing
