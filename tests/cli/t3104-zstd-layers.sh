#!/bin/sh
# layer_compression: zstd: the OCI layer is tar+zstd (image-spec 1.1), in
# independent frames of 1 MiB of tar each (lib/pgzip.c), the same bytes
# build after build; verify oci: reads it on every core, refuses a
# damaged frame (exit 2, the layer and the offset named) even when every
# digest is right, and reads other writers' zstd (one frame) too.
# Consumers: skopeo, podman (when it can run here), umoci (when it reads
# zstd).
. "$(dirname "$0")/lib.sh"
MKOCI="python3 $HM_TOP/tests/cli/oci-image.py"

umask 022
mkdir -p base/etc base/usr/bin base/data
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:x:0:\n' > base/etc/group
printf '#!/bin/sh\necho hi\n' > base/usr/bin/hello && chmod 755 base/usr/bin/hello
# A few MiB, so that the layer has several frames: words that compress
# and noise that does not (stored as raw blocks).
python3 -c "
import random
r = random.Random(3104)
w = [b'alpha', b'beta', b'gamma', b'/usr/lib', b'\n', b'0755']
open('base/data/words', 'wb').write(b''.join(r.choice(w) for _ in range(700000)))
open('base/data/noise', 'wb').write(bytes(r.getrandbits(8) for _ in range(1300000)))
"
tar --numeric-owner --owner=0 --group=0 -C base -cf base.tar .
mkdir tpl && mv base.tar tpl/
cat > tpl/z.yaml <<'T'
hallmark: 1
name: t3104-z
serial: 1
base:
  tarball:
    path: base.tar
files:
  - {path: /etc/motd, content: "zstd layers\n", mode: "0644"}
config:
  cmd: [/bin/sh]
outputs: [oci]
layer_compression: zstd
T
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
export HALLMARK_CACHE="$T_DIR/cache"
IMG=out1/t3104-z.oci.tar

expect_exit 0 "a template with layer_compression: zstd builds" \
	"$HALLMARK" build tpl/z.yaml -o out1 --key ops.key --source-date-epoch 1700000000

# zstd frames walked by their headers alone (RFC 8878), for the checks
# below: the length of a frame's header, and where the frame ends.
cat > zframes.py <<'PY'
def header_len(data, off):
    fhd = data[off + 4]
    return (5 + (0 if fhd & 0x20 else 1) + [0, 1, 2, 4][fhd & 3] +
            [1 if fhd & 0x20 else 0, 2, 4, 8][fhd >> 6])

def frame_end(data, off):
    assert data[off:off + 4] == b"\x28\xb5\x2f\xfd", off
    fhd = data[off + 4]
    end = off + header_len(data, off)
    while True:
        bh = int.from_bytes(data[end:end + 3], "little")
        end += 3 + (1 if (bh >> 1) & 3 == 1 else bh >> 3)
        if bh & 1:
            break
    return end + (4 if fhd & 4 else 0)
PY

# The manifest's layer: tar+zstd, a blob of zstd frames (more than one).
cat > layer.py <<'PY'
import io, json, sys, tarfile
from zframes import frame_end
t = tarfile.open(sys.argv[1])
blob = lambda d: t.extractfile("blobs/sha256/" + d.split(":")[1]).read()
idx = json.loads(t.extractfile("index.json").read())
man = json.loads(blob(idx["manifests"][0]["digest"]))
lay = man["layers"][0]
print(lay["mediaType"])
data = blob(lay["digest"])
# Walk the frames by their headers to count them.
off = frames = 0
while off < len(data):
    off = frame_end(data, off)
    frames += 1
print(frames)
PY
python3 layer.py "$IMG" > layer.txt 2>py-err.txt
[ "$(sed -n 1p layer.txt)" = "application/vnd.oci.image.layer.v1.tar+zstd" ] &&
	ok "the manifest says tar+zstd" || fail "the manifest says tar+zstd (got $(sed -n 1p layer.txt))"
[ "$(sed -n 2p layer.txt)" -ge 3 ] 2>/dev/null &&
	ok "the layer is several independent frames ($(sed -n 2p layer.txt))" || fail "several frames ($(cat layer.txt))"

expect_exit 0 "verify oci: passes" \
	"$HALLMARK" verify "oci:$IMG" --manifest out1/t3104-z.manifest --pubkey ops.pub
expect_exit 0 "verify oci: passes on one thread" \
	"$HALLMARK" verify "oci:$IMG" --manifest out1/t3104-z.manifest --pubkey ops.pub --threads 1

# Reproducible: another folder, another umask, the same bytes.
(umask 077; cd / && "$HALLMARK" build "$T_DIR/tpl/z.yaml" -o "$T_DIR/out2" --key "$T_DIR/ops.key" \
	--source-date-epoch 1700000000 >/dev/null 2>&1)
for f in t3104-z.oci.tar t3104-z.manifest; do
	cmp -s "out1/$f" "out2/$f" && ok "$f is byte-identical across builds" || fail "$f is byte-identical across builds"
done

# Consumers.
if command -v skopeo >/dev/null 2>&1; then
	expect_exit 0 "skopeo copy accepts the image" skopeo copy "oci-archive:$IMG" dir:skopeo.d
	expect_grep 'tar\+zstd' skopeo.d/manifest.json "and keeps the zstd media type"
else
	skip "skopeo not installed"
fi
if ! command -v podman >/dev/null 2>&1; then
	skip "podman not installed"
else
	P="podman --root $T_DIR/podman/root --runroot $T_DIR/podman/run --storage-driver vfs"
	if $P info >podman-info.txt 2>&1; then
		# podman load unpacks every layer into its store: the zstd
		# frames are decompressed by podman's own reader.
		expect_exit 0 "podman load accepts the image" $P load -i "$IMG"
		$P images --format '{{.Repository}}:{{.Tag}}' > podman-images.txt 2>&1
		expect_grep 't3104-z' podman-images.txt "and lists it"
		$P rmi -a -f >/dev/null 2>&1
	else
		skip "podman cannot run here: $(tail -n 1 podman-info.txt)"
	fi
fi
if command -v umoci >/dev/null 2>&1 && [ -d skopeo.d ]; then
	skopeo copy "oci-archive:$IMG" oci:layout:latest >/dev/null 2>&1
	if umoci unpack --rootless --image layout:latest bundle >umoci.txt 2>&1; then
		[ "$(cat bundle/rootfs/etc/motd)" = "zstd layers" ] &&
			ok "umoci unpacks the zstd layer" || fail "umoci's unpacked tree"
	else
		skip "umoci $(umoci --version | cut -d' ' -f3) cannot read zstd layers: $(tail -n 1 umoci.txt)"
	fi
else
	skip "umoci interop (umoci or skopeo is not installed)"
fi

# One byte flipped inside the second frame's data, the layer's digest,
# the manifest and the index recomputed: only the frame reader can tell.
cat > tamper.py <<'PY'
import hashlib, io, json, sys, tarfile
from zframes import frame_end, header_len
src, dst = sys.argv[1], sys.argv[2]
t = tarfile.open(src)
members = [(m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()]
files = {m.name: d for m, d in members}
h = lambda b: hashlib.sha256(b).hexdigest()
idx = json.loads(files["index.json"])
mdig = idx["manifests"][0]["digest"].split(":")[1]
man = json.loads(files["blobs/sha256/" + mdig])
ldig = man["layers"][0]["digest"].split(":")[1]
data = bytearray(files["blobs/sha256/" + ldig])
# Inside frame 2's first block: past its header and block header.
second = frame_end(data, 0)
data[second + header_len(data, second) + 3 + 200] ^= 0x10
nl = h(bytes(data))
man["layers"][0]["digest"] = "sha256:" + nl
man["layers"][0]["size"] = len(data)
mb = json.dumps(man, sort_keys=True, separators=(",", ":")).encode()
idx["manifests"][0]["digest"] = "sha256:" + h(mb)
idx["manifests"][0]["size"] = len(mb)
out = {"blobs/sha256/" + ldig: None, "blobs/sha256/" + mdig: None,
       "blobs/sha256/" + nl: bytes(data), "blobs/sha256/" + h(mb): mb,
       "index.json": json.dumps(idx, sort_keys=True, separators=(",", ":")).encode()}
with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as o:
    done = set()
    for m, d in members:
        if m.name in out:
            continue
        o.addfile(m, io.BytesIO(d) if d is not None else None)
    for name, d in out.items():
        if d is None:
            continue
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode = len(d), 0o644
        o.addfile(ti, io.BytesIO(d))
print(second)
PY
second=$(python3 tamper.py "$IMG" tampered.tar 2>py-err.txt)
expect_exit 2 "a zstd layer with one byte flipped inside a frame is refused" \
	"$HALLMARK" verify oci:tampered.tar --manifest out1/t3104-z.manifest --pubkey ops.pub
expect_grep "layer 1 sha256:[0-9a-f]{12}: cannot decompress: at offset $second: corrupt zstd frame" err.txt \
	"the message names the layer and the frame's offset ($second)"

# Other writers' zstd: the zstd CLI's single frame, small (split on its
# own) and large (more than the 4 MiB a frame may declare to be split:
# the streaming reader).
mkdir -p small/etc big/etc big/data
printf 'root:x:0:0:root:/root:/bin/sh\n' | tee small/etc/passwd > big/etc/passwd
cp base/data/words base/data/noise big/data/
cp base/data/words big/data/words2
for img in small big; do
	"$HALLMARK" manifest "dir:$img" --name t3104-$img -o $img.manifest >/dev/null 2>&1
	"$HALLMARK" sign $img.manifest --key ops.key >/dev/null 2>&1
	# From a pipe (no size in the header) and from a file (its size
	# declared: split on its own when small).
	for how in zstd zstd-sized; do
		$MKOCI oci $img-$how.tar $img --compress $how
		expect_exit 0 "a $img single-frame layer from the zstd CLI ($how) verifies" \
			"$HALLMARK" verify "oci:$img-$how.tar" --manifest $img.manifest --pubkey ops.pub
	done
done
# A small one whose frame is damaged inside, the digests right: refused
# by the frame reader, at offset 0.
python3 - small-zstd-sized.tar small-bad.tar <<'PY'
import hashlib, io, json, sys, tarfile
t = tarfile.open(sys.argv[1])
files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
idx = json.loads(files["index.json"])
mdig = idx["manifests"][0]["digest"].split(":")[1]
man = json.loads(files.pop("blobs/sha256/" + mdig))
ldig = man["layers"][0]["digest"].split(":")[1]
data = bytearray(files.pop("blobs/sha256/" + ldig))
data[len(data) // 2] ^= 0x10
h = lambda b: hashlib.sha256(b).hexdigest()
man["layers"][0]["digest"] = "sha256:" + h(bytes(data))
man["layers"][0]["size"] = len(data)
mb = json.dumps(man).encode()
files["blobs/sha256/" + h(bytes(data))] = bytes(data)
files["blobs/sha256/" + h(mb)] = mb
idx["manifests"][0]["digest"] = "sha256:" + h(mb)
idx["manifests"][0]["size"] = len(mb)
files["index.json"] = json.dumps(idx).encode()
with tarfile.open(sys.argv[2], "w") as o:
    for name, d in files.items():
        ti = tarfile.TarInfo(name)
        ti.size = len(d)
        o.addfile(ti, io.BytesIO(d))
PY
expect_exit 2 "a damaged small zstd frame from the zstd CLI is refused" \
	"$HALLMARK" verify oci:small-bad.tar --manifest small.manifest --pubkey ops.pub
expect_grep "layer 1 sha256:[0-9a-f]{12}: cannot decompress: at offset 0: corrupt zstd frame" err.txt \
	"by the frame reader, naming the offset"
# And a damaged one is refused through the streaming reader too.
$MKOCI oci big-cut.tar big --compress zstd-sized --truncate-layer 1
expect_exit 2 "a truncated single-frame zstd layer is refused" \
	"$HALLMARK" verify oci:big-cut.tar --manifest big.manifest --pubkey ops.pub

# An image with a zstd layer as the base of another build (the base
# reader is oci:'s), and the tampered one refused there too.
cp "$IMG" tpl/zbase.oci.tar
cp tampered.tar tpl/zbad.oci.tar
printf 'hallmark: 1\nname: t3104-on-z\nserial: 1\nbase:\n  oci:\n    path: zbase.oci.tar\noutputs: [tar]\n' > tpl/on-z.yaml
expect_exit 0 "an image with zstd layers serves as a base" \
	"$HALLMARK" build tpl/on-z.yaml -o out4 --source-date-epoch 1700000000
expect_grep '^/etc/motd type=file' out4/t3104-on-z.manifest "with the base image's files"
sed 's/zbase.oci.tar/zbad.oci.tar/' tpl/on-z.yaml > tpl/on-bad.yaml
expect_exit 2 "a base whose zstd frame is damaged is refused" \
	"$HALLMARK" build tpl/on-bad.yaml -o out5 --source-date-epoch 1700000000
expect_grep "corrupt zstd frame" err.txt "naming the damaged frame"

# The option is strict.
sed 's/layer_compression: zstd/layer_compression: lz4/' tpl/z.yaml > tpl/bad.yaml
expect_exit 2 "an unknown layer compression is refused" "$HALLMARK" build tpl/bad.yaml -o out3
expect_grep 'bad.yaml:12:20: unknown layer compression .lz4.' err.txt "with the file, line and column"
[ ! -e out3/t3104-z.oci.tar ] && ok "and nothing is written" || fail "nothing written"

done_testing
