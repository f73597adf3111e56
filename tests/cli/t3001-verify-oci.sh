#!/bin/sh
# verify oci: and oci-dir: targets: an app image built on the base passes
# under a may_add policy; layers that touch the base fail, naming the layer.
. "$(dirname "$0")/lib.sh"

MKOCI="python3 $HM_TOP/tests/cli/oci-image.py"

umask 022
mkdir -p base/etc base/usr/bin base/usr/lib/x base/opt
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'tool\n' > base/usr/bin/tool && chmod 755 base/usr/bin/tool
ln -s tool base/usr/bin/tool-alias
printf 'lib\n' > base/usr/lib/x/a.so
printf 'lib\n' > base/usr/lib/x/b.so
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:base --name t3001 -o base.manifest 2>/dev/null
"$HALLMARK" sign base.manifest --key ops.key >/dev/null 2>&1
printf 'version: 1\nmay_add: [/opt/app/**]\n' > app.yaml
V="--manifest base.manifest --pubkey ops.pub --policy app.yaml"

mkdir -p app/opt/app/bin app/opt/app/lib
printf 'app\n' > app/opt/app/bin/app && chmod 755 app/opt/app/bin/app
printf 'so\n' > app/opt/app/lib/app.so

$MKOCI oci good.tar base app || fail "building the image"
expect_exit 0 "an app image that only adds /opt/app/** passes" "$HALLMARK" verify oci:good.tar $V
expect_exit 1 "and fails without the policy" "$HALLMARK" verify oci:good.tar --manifest base.manifest --pubkey ops.pub
expect_grep '/opt/app.*layer 2 sha256:' out.txt "the addition names its layer"

$MKOCI oci-dir good.d base app
expect_exit 0 "the same image as an OCI layout folder passes" "$HALLMARK" verify oci-dir:good.d $V
$MKOCI docker good-docker.tar base app
expect_exit 0 "the same image as a docker-archive passes" "$HALLMARK" verify oci:good-docker.tar $V
$MKOCI docker good-docker2.tar base app app
expect_exit 0 "a docker-archive with a repeated layer (a symlink to the first copy) passes" \
	"$HALLMARK" verify oci:good-docker2.tar $V
$MKOCI oci good-plain.tar --compress none base app
expect_exit 0 "uncompressed layers" "$HALLMARK" verify oci:good-plain.tar $V
if command -v zstd >/dev/null 2>&1; then
	$MKOCI oci good-zstd.tar --compress zstd base app
	expect_exit 0 "zstd layers" "$HALLMARK" verify oci:good-zstd.tar $V
else
	skip "zstd layers (no zstd program)"
fi
$MKOCI oci nested.tar --nested base app
expect_exit 0 "a nested image index: linux/amd64 is picked" "$HALLMARK" verify oci:nested.tar $V
expect_exit 0 "hallmark-verify reads oci: too" "$HALLMARK_VERIFY" oci:good.tar $V

# Layers that touch the base.
mkdir -p l-passwd/etc && printf 'root:x:0:0::/:/bin/sh\nevil:x:0:0::/:/bin/sh\n' > l-passwd/etc/passwd
mkdir -p l-chmod/usr/bin && printf 'tool\n' > l-chmod/usr/bin/tool && chmod 4755 l-chmod/usr/bin/tool
mkdir -p l-wh/etc && : > l-wh/etc/.wh.passwd
mkdir -p l-opq/usr/lib/x && : > l-opq/usr/lib/x/.wh..wh..opq && printf 'new\n' > l-opq/usr/lib/x/c.so
mkdir -p l-link/usr/bin && ln -s /bin/sh l-link/usr/bin/tool-alias

check_bad() {   # check_bad NAME LAYER WHAT PATTERN
	for fmt in oci oci-dir docker; do
		out=$1.$fmt
		[ $fmt = oci-dir ] || out=$out.tar
		$MKOCI $fmt "$out" base app "$2"
		t=oci:$out
		[ $fmt = oci-dir ] && t=oci-dir:$out
		expect_exit 1 "$3 ($fmt)" "$HALLMARK" verify "$t" $V
		expect_grep "$4" out.txt "the finding names the layer ($fmt)"
	done
}
check_bad passwd l-passwd "a layer that modifies /etc/passwd fails" '/etc/passwd.*from layer 3 sha256:'
check_bad chmod l-chmod "a layer that chmods a base binary fails" '/usr/bin/tool +expected 0755, found 4755.*layer 3 sha256:'
check_bad wh l-wh "a layer that whites out a base file fails" '/etc/passwd.*deleted by layer 3 sha256:'
check_bad opq l-opq "an opaque whiteout of a base folder fails" '/usr/lib/x/a.so.*deleted by layer 3 sha256:'
check_bad link l-link "a layer that repoints a base symlink fails" '/usr/bin/tool-alias.*layer 3 sha256:'

"$HALLMARK" verify oci:opq.oci.tar $V --format json -o opq.json >/dev/null 2>&1
expect_grep '/usr/lib/x/c.so' opq.json "the opaque layer's own new file is kept (and is an addition)"

# Interop: skopeo re-packs the image in its own way.
if command -v skopeo >/dev/null 2>&1; then
	skopeo --insecure-policy copy -q oci-archive:good.tar oci:skopeo.d:latest >/dev/null 2>&1 &&
		expect_exit 0 "skopeo's OCI layout of the image passes" "$HALLMARK" verify oci-dir:skopeo.d $V ||
		fail "skopeo copy to an OCI layout"
	skopeo --insecure-policy copy -q oci-archive:passwd.oci.tar docker-archive:skopeo-docker.tar:t/bad:1 >/dev/null 2>&1
	if [ -f skopeo-docker.tar ]; then
		expect_exit 1 "skopeo's docker-archive of a bad image fails" "$HALLMARK" verify oci:skopeo-docker.tar $V
		expect_grep '/etc/passwd.*layer 3 sha256:' out.txt "naming the layer"
	else
		fail "skopeo copy to a docker-archive"
	fi
else
	skip "skopeo interop (skopeo is not installed)"
fi

# umoci unpacks the image; the unpacked tree matches what hallmark reads
# in place.
if command -v umoci >/dev/null 2>&1 && [ -d skopeo.d ]; then
	if umoci unpack --rootless --image skopeo.d:latest bundle >/dev/null 2>&1; then
		"$HALLMARK" manifest dir:bundle/rootfs --name u -o unpacked.manifest 2>/dev/null
		"$HALLMARK" sign unpacked.manifest --key ops.key >/dev/null 2>&1
		expect_exit 0 "the image read in place matches umoci's unpacked tree" \
			"$HALLMARK" verify oci:good.tar --manifest unpacked.manifest --pubkey ops.pub
	else
		fail "umoci unpack"
	fi
else
	skip "umoci interop (umoci or skopeo is not installed)"
fi

done_testing
