#!/bin/sh
# Whiteout tricks (OCI image-spec layer.md; the AUFS ".wh." convention):
# bare and dotted whiteouts, misuse of the opaque marker, whiteouts of ../
# and through symlinks, a whiteout of what the same layer added (which the
# spec and containerd/moby resolve differently), whiteouts of other
# layers' paths, and whiteouts in the lowest layer.  Malformed or
# ambiguous ones are input errors (exit 2) for every command; valid ones
# apply to the layers below only and show as deletions naming the layer.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

# Bare and dotted: no valid name to white out.
mktar bare.tar 'etc/:d' 'etc/.wh.:f:'
layer_refused "a bare .wh. whiteout" "member 'etc/\.wh\.': whiteout of no valid name" bare.tar
mktar wh-dot.tar 'etc/:d' 'etc/.wh..:f:'
layer_quick "a whiteout of '.'" "member 'etc/\.wh\.\.': whiteout of no valid name" wh-dot.tar
mktar wh-dotdot.tar 'etc/:d' 'etc/.wh...:f:'
layer_quick "a whiteout of '..'" "member 'etc/\.wh\.\.\.': whiteout of no valid name" wh-dotdot.tar
mktar wh-up.tar '../.wh.etc:f:'
layer_quick "a whiteout in ../" "member '\.\./\.wh\.etc': unsafe name" wh-up.tar
mktar wh-root.tar '.wh.:f:'
layer_quick "a bare whiteout at the top" "member '\.wh\.': whiteout of no valid name" wh-root.tar

# The opaque marker misused: other reserved .wh..wh. names, the marker
# as a folder holding files, a whiteout-named folder holding files.
mktar reserved.tar 'etc/:d' 'etc/.wh..wh.plnk:f:'
layer_quick "a reserved .wh..wh. name" "member 'etc/\.wh\.\.wh\.plnk': reserved whiteout name" reserved.tar
mktar opq-typo.tar 'etc/:d' 'etc/.wh..wh..opqx:f:'
layer_quick "a misspelt opaque marker" "reserved whiteout name" opq-typo.tar
mktar opq-dir.tar 'etc/:d' 'etc/.wh..wh..opq/:d' 'etc/.wh..wh..opq/pwned:f:x'
layer_refused "the opaque marker as a folder with files" \
	"member 'etc/\.wh\.\.wh\.\.opq/pwned': below a folder named like a whiteout" opq-dir.tar
mktar wh-dir.tar '.wh.etc/:d' '.wh.etc/pwned:f:x'
layer_quick "files below a whiteout-named folder" "member '\.wh\.etc/pwned': below a folder named like a whiteout" wh-dir.tar

# Through a symlink of a lower layer (the base's /etc-link -> etc).
mktar via-link.tar 'etc-link/.wh.passwd:f:'
layer_quick "a whiteout through a lower symlink" \
	"whiteout '/etc-link/\.wh\.passwd' reaches through '/etc-link', a symlink of a lower layer" via-link.tar

# A whiteout after a file of its own layer: the spec keeps the file,
# containerd and moby (which apply members in order) delete it.  Refused.
mktar same.tar 'etc/:d' 'etc/shadow:f:pwned' 'etc/.wh.shadow:f:'
layer_refused "a whiteout of a file added earlier in the same layer" \
	"member 'etc/\.wh\.shadow': whiteout of '/etc/shadow', which the same layer added before it" same.tar
mktar same-dir.tar 'etc/:d' 'etc/pwned:f:x' '.wh.etc:f:'
layer_quick "a whiteout of a folder the same layer wrote into" \
	"member '\.wh\.etc': whiteout of '/etc', which the same layer added before it" same-dir.tar
# Before the file, every implementation agrees: the lower file goes, the
# new one stays (content drift).
mktar before.tar 'etc/:d' 'etc/.wh.shadow:f:' 'etc/shadow:f:new'
$MKOCI oci before.oci.tar base before.tar
expect_exit 1 "a whiteout before the same layer's file replaces the lower file" "$HALLMARK" verify oci:before.oci.tar $V
expect_grep '^  /etc/shadow +content and size differ: .*, sha256 [0-9a-f]{12}\.\.\. -> [0-9a-f]{12}\.\.\.' out.txt "as content drift"
untouched "a whiteout before its file (verify oci:)"

# Whiteouts of other layers' paths: valid, applied to the layers below.
mktar add.tar 'opt/:d' 'opt/pwned:f:x'
mktar del.tar 'opt/:d' 'opt/.wh.pwned:f:' 'etc/:d' 'etc/.wh.passwd:f:'
$MKOCI oci three.tar base add.tar del.tar
expect_exit 1 "a whiteout of a base file is drift" "$HALLMARK" verify oci:three.tar $V --format json -o three.json
python3 - <<'PY' && ok "each deletion names its layer; a deleted addition is gone" || fail "each deletion names its layer; a deleted addition is gone"
import json
r = json.load(open("three.json"))
got = {(f["kind"], f["path"]) for f in r["findings"]}
assert got == {("missing", "/etc/passwd")}, got
f = [f for f in r["findings"] if f["path"] == "/etc/passwd"][0]
assert "layer 3" in json.dumps(f), f
PY
untouched "whiteouts of other layers (verify oci:)"
# A whiteout of what a higher layer adds does nothing to it.
$MKOCI oci up.tar base del.tar add.tar
expect_exit 1 "a whiteout does not reach the layers above" "$HALLMARK" verify oci:up.tar $V
expect_grep '^  /opt/pwned' out.txt "the later file is there"

# Whiteouts in the lowest layer delete nothing and are no entries.
mktar low.tar './:d' 'etc/:d' 'etc/passwd:f:root:x:0:0:root:/root:/bin/sh
' "etc/shadow:f:root:*:19000:0:99999:7:::
" 'etc/.wh.gone:f:' '.wh.nothing:f:' 'opt/:d' 'opt/.wh..wh..opq:f:' \
	'usr/:d' 'usr/bin/:d' 'usr/bin/tool:f:#!/bin/sh
' 'etc-link:l:etc'
python3 - <<'PY'
import tarfile
# Modes as the base has them.
t = tarfile.open("low.tar"); ms = t.getmembers(); data = {m.name: t.extractfile(m).read() for m in ms if m.isfile()}; t.close()
with tarfile.open("low.tar", "w", format=tarfile.PAX_FORMAT) as o:
    for m in ms:
        m.mode = {"etc/shadow": 0o640, "usr/bin/tool": 0o755, "etc-link": 0o777}.get(m.name, m.mode)
        o.addfile(m, __import__("io").BytesIO(data[m.name]) if m.name in data else None)
PY
$MKOCI oci low.oci.tar low.tar
$MKOCI docker low.docker.tar low.tar
expect_exit 0 "whiteouts in the lowest layer are no-ops (oci:)" "$HALLMARK" verify oci:low.oci.tar $V
grep -q "^OK" out.txt || sed "s/^/#   /" out.txt | head -n 20
expect_exit 0 "whiteouts in the lowest layer are no-ops (docker-archive)" "$HALLMARK_VERIFY" oci:low.docker.tar $V
expect_exit 0 "manifest oci: of that image" "$HALLMARK" manifest oci:low.oci.tar -o low.manifest
expect_exit 1 "lists no whiteout" grep -q 'wh\.' low.manifest
build_from oci low.oci.tar
[ $? -eq 0 ] && ok "an OCI base with whiteouts in its lowest layer builds" || { fail "an OCI base with whiteouts in its lowest layer builds"; cat err.txt; }
expect_exit 1 "and its manifest lists no whiteout" grep -q 'wh\.' "$BDIR/out/t7-adv.manifest"
untouched "whiteouts in the lowest layer"

# tar: is a root file system, not a layer: ".wh." names there are files.
expect_exit 1 "in a tar: target .wh. names are plain files (drift)" "$HALLMARK" verify tar:low.tar $V
expect_grep '^  /etc/\.wh\.gone' out.txt "listed as additions"
done_testing
