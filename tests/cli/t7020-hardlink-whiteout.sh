#!/bin/sh
# A hard link in a layer to a lower file that the same layer whites out
# (issue 11, item 7).  containerd and moby apply a layer's members in
# stream order: with the whiteout first the link has no target and the
# layer fails to apply; with the link first the "deleted" file lives on
# under the link's name.  hallmark used to give the link the deleted
# file's content whatever the order.  Every spelling is refused (exit 2,
# naming the layer and the member): whiteout before or after the link, a
# whiteout of a folder above the target, an opaque marker in one, and a
# target the layer re-adds only after the link.  Re-adding the file
# before linking to it is an ordinary layer.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

msg="layer 2 sha256:[0-9a-f]{12}: member 'etc/pwned': hard link to '/etc/shadow', which the same layer deletes"
mktar before.tar 'etc/:d' 'etc/.wh.shadow:f:' 'etc/pwned:h:etc/shadow'
layer_refused "a hard link to a file its layer whited out before it" \
	"$msg \('/etc/\.wh\.shadow'\)" before.tar
mktar after.tar 'etc/:d' 'etc/pwned:h:etc/shadow' 'etc/.wh.shadow:f:'
layer_refused "a hard link to a file its layer whites out after it" \
	"$msg \('/etc/\.wh\.shadow'\)" after.tar
mktar readd.tar 'etc/:d' 'etc/.wh.shadow:f:' 'etc/pwned:h:etc/shadow' 'etc/shadow:f:new'
layer_quick "a hard link between a whiteout and the file's return" "$msg" readd.tar
mktar opq.tar 'etc/:d' 'etc/.wh..wh..opq:f:' 'etc/pwned:h:etc/shadow'
layer_quick "a hard link into a folder made opaque before it" \
	"$msg \('/etc/\.wh\.\.wh\.\.opq'\)" opq.tar
mktar opq-after.tar 'etc/:d' 'etc/pwned:h:etc/shadow' 'etc/.wh..wh..opq:f:'
layer_quick "a hard link into a folder made opaque after it" \
	"$msg \('/etc/\.wh\.\.wh\.\.opq'\)" opq-after.tar
mktar opq-root.tar 'etc/:d' 'etc/pwned:h:etc/shadow' '.wh..wh..opq:f:'
layer_quick "a hard link under an opaque root" "$msg \('/\.wh\.\.wh\.\.opq'\)" opq-root.tar
mktar folder.tar 'opt/:d' 'opt/pwned:h:usr/bin/tool' 'usr/.wh.bin:f:'
layer_quick "a hard link into a folder its layer whites out" \
	"member 'opt/pwned': hard link to '/usr/bin/tool', which the same layer deletes \('/usr/\.wh\.bin'\)" folder.tar

# The file deleted by one layer and linked to by the next: no target.
mktar del.tar 'etc/:d' 'etc/.wh.shadow:f:'
mktar link.tar 'etc/:d' 'etc/pwned:h:etc/shadow'
layer_quick "a hard link to a file a lower layer deleted" \
	"member 'etc/pwned': hard link to 'etc/shadow', which is not a file of this layer or below" del.tar link.tar

# Deleted, re-added, then linked: the link is the new file.
mktar restored.tar 'etc/:d' 'etc/.wh.shadow:f:' 'etc/shadow:f:new' 'etc/pwned:h:etc/shadow'
$MKOCI oci restored.oci.tar base restored.tar
expect_exit 0 "a hard link to a file its layer deleted and re-added" "$HALLMARK" manifest oci:restored.oci.tar -o restored.manifest
new=$(printf new | sha256sum | cut -c1-64)
expect_grep "^/etc/pwned type=file mode=0644 uid=0 gid=0 size=3 sha256=$new$" restored.manifest "the link is the re-added file"
untouched "a link to a re-added file"
done_testing
