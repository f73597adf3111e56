#!/bin/sh
# Hard link escapes (libarchive's secure-extraction regressions, GitHub
# issue #746: a hard link to ../target or through a symlink, then data
# written into it; and the classic "hard link to /etc/shadow, then a
# body"): a hard link must name an earlier regular file of the same
# stream (or, in a layer, of that layer or below), never a host path; a
# hard link carrying data is refused outright, because libarchive's
# extractor writes that data into the shared inode (rewriting the
# target) while GNU tar skips it.  Exit 2 for every command, nothing
# written anywhere.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

shadow='root:*:19000:0:99999:7:::
'
# A hard link to the image's /etc/shadow with a body: the body would
# become /etc/shadow's content on extraction (an empty root password).
mktar body.tar './:d' 'etc/:d' "etc/shadow:f:$shadow" 'opt/:d' 'opt/pwned:H:/etc/shadow=root::0:0:99999:7:::'
tar_refused "a hard link to /etc/shadow carrying data" \
	"tar member '/opt/pwned': hard link with 20 bytes of data" body.tar
mktar body-layer.tar 'opt/:d' 'opt/pwned:H:/etc/shadow=root::0:0:99999:7:::'
layer_refused "a layer's hard link to /etc/shadow carrying data" \
	"member 'opt/pwned': hard link with 20 bytes of data" body-layer.tar

# A hard link to the host's file (the sentinel, by absolute path): it is
# read as an image path, which holds nothing there.
mktar host.tar './:d' 'etc/:d' 'opt/:d' 'opt/pwned:h:@OUT@/etc/shadow'
tar_refused "a hard link to a host file" \
	"tar member '/opt/pwned': hard link to '$OUTSIDE/etc/shadow', which is not a regular file earlier in the stream" host.tar
mktar host-layer.tar 'opt/:d' 'opt/pwned:h:@OUT@/etc/shadow'
layer_refused "a layer's hard link to a host file" \
	"member 'opt/pwned': hard link to '$OUTSIDE/etc/shadow', which is not a file of this layer or below" host-layer.tar

# Spellings: climbing out with ../ (#746a), through a symlink (#746b), to
# a folder, to itself, to a later member.
mktar dotdot.tar './:d' 'opt/:d' 'opt/pwned:h:../outside/etc/shadow'
tar_quick "a hard link to ../" "hard link target '\.\./outside/etc/shadow': path escapes the root" dotdot.tar
mktar dotdot-layer.tar 'opt/:d' 'opt/pwned:h:../outside/etc/shadow'
layer_quick "a layer's hard link to ../" "member 'opt/pwned': hard link to '\.\./outside/etc/shadow', which is not a file" dotdot-layer.tar
mktar via-link.tar './:d' 'etc/:d' "etc/shadow:f:$shadow" 'pwnlink:l:/etc' 'opt/:d' 'opt/pwned:h:pwnlink/shadow'
tar_quick "a hard link through a symlink" "hard link to '/pwnlink/shadow', which is not a regular file" via-link.tar
mktar via-link-layer.tar 'opt/:d' 'opt/pwned:h:etc-link/shadow'
layer_quick "a layer's hard link through the base's symlink" "hard link to 'etc-link/shadow', which is not a file" via-link-layer.tar
mktar to-dir.tar './:d' 'etc/:d' 'opt/:d' 'opt/pwned:h:etc'
tar_quick "a hard link to a folder" "hard link to '/etc', which is not a regular file" to-dir.tar
mktar to-dir-layer.tar 'opt/:d' 'opt/pwned:h:etc'
layer_quick "a layer's hard link to a folder" "hard link to 'etc', which is not a file" to-dir-layer.tar
mktar self.tar './:d' 'opt/:d' 'opt/pwned:h:opt/pwned'
tar_quick "a hard link to itself" "hard link to '/opt/pwned', which is not a regular file" self.tar
mktar later.tar './:d' 'opt/:d' 'opt/pwned:h:opt/later' 'opt/later:f:x'
tar_quick "a hard link to a later member" "hard link to '/opt/later', which is not a regular file" later.tar

# Without a body, a hard link to the image's own /etc/shadow is an
# ordinary second name for that file: drift (an addition), nothing else.
mktar plain-layer.tar 'opt/:d' 'opt/pwned:h:etc/shadow'
$MKOCI oci plain.tar base plain-layer.tar
expect_exit 1 "a plain hard link inside the image is an addition (oci:)" "$HALLMARK" verify oci:plain.tar $V
expect_grep '^  /opt/pwned' out.txt "named as such"
untouched "a plain hard link (verify oci:)"
build_from oci plain.tar
[ $? -eq 0 ] && ok "an OCI base with a plain hard link builds" || { fail "an OCI base with a plain hard link builds"; cat err.txt; }
sh_digest=$(sed -n 's|^/etc/shadow .*sha256=||p' "$BDIR/out/t7-adv.manifest")
expect_grep "^/opt/pwned type=file mode=0640 uid=0 gid=0 size=26 sha256=$sh_digest$" "$BDIR/out/t7-adv.manifest" \
	"the link is a copy of /etc/shadow's entry"
untouched "a plain hard link (build from an OCI base)"
done_testing
