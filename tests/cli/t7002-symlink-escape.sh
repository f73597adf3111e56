#!/bin/sh
# Symlink escapes (libarchive's secure-extraction regressions, GitHub
# issues #744 and #745, and the same trick across layers): a symlink to /
# or outside, then a member written through it.  hallmark never resolves
# a path through a symlink: a member below a symlink is an input error
# (exit 2) for every command, in one stream and across layers; a symlink
# on its own is data (its target is recorded, never followed).
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

# A symlink to /, then a file through it: every command.
mktar via-root.tar './:d' 'etc/:d' 'pwnlink:l:/' 'pwnlink/etc/shadow:f:pwned'
tar_refused "a file through a symlink to /" \
	"'/pwnlink/etc/shadow': parent '/pwnlink' is a symlink" via-root.tar
mktar via-root-layer.tar 'pwnlink:l:/' 'pwnlink/etc/shadow:f:pwned'
layer_refused "a layer's file through its own symlink to /" \
	"member 'pwnlink/etc/shadow': '/pwnlink/etc/shadow': parent '/pwnlink' is a symlink" via-root-layer.tar

# The symlink in one layer, the write through it in the next.
mktar l2.tar 'pwnlink:l:@OUT@/etc'
mktar l3.tar 'pwnlink/:d' 'pwnlink/shadow:f:pwned'
mktar l3-file.tar 'pwnlink/shadow:f:pwned'
layer_quick "a file through a symlink of a lower layer" \
	"layer 3 sha256:[0-9a-f]{12}: member 'pwnlink/shadow': '/pwnlink/shadow': parent '/pwnlink' is a symlink|layer 3 sha256:[0-9a-f]{12}: '/pwnlink/shadow': parent '/pwnlink' is a symlink" l2.tar l3-file.tar
# The base's own symlink (/etc-link -> etc).
mktar via-base.tar 'etc-link/passwd:f:pwned'
layer_quick "a file through a symlink of the base layer" \
	"'/etc-link/passwd': parent '/etc-link' is a symlink" via-base.tar

# Spellings: a symlink to the sentinel's folder, a relative one climbing
# out, a folder through it, a path longer than PATH_MAX through it (#744).
mktar out-abs.tar './:d' 'pwnlink:l:@OUT@/etc' 'pwnlink/shadow:f:pwned'
tar_quick "a file through a symlink to an absolute host folder" "parent '/pwnlink' is a symlink" out-abs.tar
mktar out-rel.tar './:d' 'pwnlink:l:../../outside' 'pwnlink/etc/:d'
tar_quick "a folder through a relative symlink climbing out" "parent '/pwnlink' is a symlink" out-rel.tar
long=$(python3 -c "print('/'.join(['d' * 100] * 50))")
mktar long.tar './:d' 'pwnlink:l:/' "pwnlink/$long/pwned:f:x"
tar_quick "a 5000-byte path through a symlink" "parent '/pwnlink' is a symlink" long.tar
mktar chain.tar './:d' 'a:l:b' 'b:l:/' 'a/etc/shadow:f:pwned'
tar_quick "a file through a chain of symlinks" "parent '/a' is a symlink" chain.tar

# A symlink alone is data: recorded with its target, never followed.
mktar alone.tar './:d' 'etc/:d' 'etc/passwd:f:root:x:0:0:root:/root:/bin/sh
' 'pwnlink:l:@OUT@/etc/shadow' 'pwnroot:l:/'
expect_exit 1 "a symlink out of the image is only drift (tar:)" "$HALLMARK" verify tar:alone.tar $V
expect_grep '^  /pwnlink' out.txt "it is an addition"
untouched "a lone symlink (verify tar:)"
build_from tarball alone.tar
[ $? -eq 0 ] && ok "a base with symlinks out of the image builds" || { fail "a base with symlinks out of the image builds"; cat err.txt; }
expect_grep "^/pwnlink type=symlink .*target=$OUTSIDE/etc/shadow$" "$BDIR/out/t7-adv.manifest" "the target is recorded as written"
expect_grep '^/pwnroot type=symlink .*target=/$' "$BDIR/out/t7-adv.manifest" "a symlink to / too"
untouched "a lone symlink (build from a tarball base)"

# A later layer may replace a symlink with a real folder (as overlay
# and containerd do); what it then writes is inside the image.
mktar l3-dir.tar 'etc-link/:d' 'etc-link/new:f:x'
$MKOCI oci replace.tar base l3-dir.tar
expect_exit 1 "a folder replacing a lower symlink is drift, not an escape" "$HALLMARK" verify oci:replace.tar $V
expect_grep '/etc-link +expected symlink, found dir' out.txt "the symlink became a folder"
untouched "a folder replacing a symlink (verify oci:)"
done_testing
