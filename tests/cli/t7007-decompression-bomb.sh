#!/bin/sh
# Decompression bombs (CWE-409): gzip, zstd and xz streams and layers that
# expand 1,000 to 30,000 times.  Readers stream them (contents are hashed
# and dropped, never extracted or kept: nothing is written, memory stays
# flat); the builder, whose blob store is on disk, stops at 100 times the
# base's size (at least 256 MiB) with exit 2, however far past that the
# bomb goes, leaving no output and no partial blob.  (The readers' own
# caps, HM_LIMIT_OCI_LAYER_BYTES = 64 GiB and HM_LIMIT_TAR_MEMBER_BYTES =
# 1 TiB of real data, take minutes of hashing to reach: not run here.)
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

# bomb.py tar OUT COMP MIB | oci OUT COMP MIB: a tar stream (or an OCI
# archive with that stream as its one layer) holding /opt/pwned-zeros of
# MIB MiB.  The compressed stream is one frame for the headers, one frame
# of 1 MiB of zeros repeated (concatenated gzip members, zstd frames and
# xz streams are each one valid stream), one for the end: instant to make
# at any size.
cat > bomb.py <<'PY'
import gzip, hashlib, io, json, lzma, subprocess, sys, tarfile
kind, out, comp, mib = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
head = b""
for n in ["./", "opt/"]:
    ti = tarfile.TarInfo(n); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
    head += ti.tobuf(tarfile.PAX_FORMAT)
ti = tarfile.TarInfo("opt/pwned-zeros"); ti.size = mib << 20; ti.mode = 0o644
head += ti.tobuf(tarfile.PAX_FORMAT)
tail = bytes(1024)
def z(data):
    if comp == "gzip":
        return gzip.compress(data, 9, mtime=0)
    if comp == "xz":
        return lzma.compress(data, format=lzma.FORMAT_XZ)
    return subprocess.run(["zstd", "-q", "-19", "-c"], input=data,
                          stdout=subprocess.PIPE, check=True).stdout
chunk = z(bytes(1 << 20))
blob = z(head) + chunk * mib + z(tail)
if kind == "tar":
    open(out, "wb").write(blob)
    sys.exit(0)
diff = hashlib.sha256(head)
zero = bytes(1 << 20)
for _ in range(mib):
    diff.update(zero)
diff.update(tail)
sha = lambda b: hashlib.sha256(b).hexdigest()
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff.hexdigest()]}}).encode()
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + sha(cfg), "size": len(cfg)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+" + comp,
                "digest": "sha256:" + sha(blob), "size": len(blob)}]}).encode()
idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "digest": "sha256:" + sha(man), "size": len(man)}]}).encode()
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    for name, data in [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", idx),
                       ("blobs/sha256/" + sha(man), man), ("blobs/sha256/" + sha(cfg), cfg),
                       ("blobs/sha256/" + sha(blob), blob)]:
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
        t.addfile(ti, io.BytesIO(data))
PY

comps="gzip xz"
command -v zstd >/dev/null && comps="$comps zstd" || skip "zstd bombs (no zstd)"
mkdir -p tmp-watch
small() {   # FILE: the bomb is at most 1/1000 of what it expands to
	sz=$(wc -c < "$1")
	if [ "$sz" -lt $((400 * 1024)) ]; then ok "$1 is small ($sz bytes for 300 MiB)"; else
		fail "$1 is small ($sz bytes for 300 MiB)"; fi
}

for c in $comps; do
	python3 bomb.py tar "bomb.tar.$c" "$c" 300
	small "bomb.tar.$c"
	# Read in place: drift (the zeros are an addition), no temporary file.
	TMPDIR=$WORK/tmp-watch expect_exit 1 "a $c bomb of 300 MiB streams through verify tar:" \
		timeout 300 "$HALLMARK" verify "tar:bomb.tar.$c" $V
	expect_grep '^  /opt/pwned-zeros' out.txt "its file is an addition"
	[ -z "$(ls -A tmp-watch)" ] && ok "$c bomb: no temporary file" || fail "$c bomb: no temporary file"
	untouched "a $c bomb (verify tar:)"
	TMPDIR=$WORK/tmp-watch expect_exit 0 "manifest tar: of the $c bomb" timeout 300 "$HALLMARK" manifest "tar:bomb.tar.$c" -o bomb.manifest
	expect_grep '^/opt/pwned-zeros type=file mode=0644 uid=0 gid=0 size=314572800 sha256=' bomb.manifest "the file is hashed whole"
	rm -f bomb.manifest
	untouched "a $c bomb (manifest tar:)"
done

# The builder stores contents on disk: stopped at the limit, however far
# past it the bomb goes.
python3 bomb.py tar far.tar.gz gzip 4096
build_refused "a gzip bomb of 4 GiB as a tarball base" tarball far.tar.gz \
	"contents exceed [0-9]+ bytes at '/opt/pwned-zeros' \(100 times the base's size\): a decompression bomb"
python3 bomb.py tar far.tar.xz xz 16384
build_refused "an xz bomb of 16 GiB as a tarball base" tarball far.tar.xz "a decompression bomb"
if command -v zstd >/dev/null; then
	python3 bomb.py tar far.tar.zst zstd 65536
	build_refused "a zstd bomb of 64 GiB as a tarball base" tarball far.tar.zst "a decompression bomb"
fi

# Layers: gzip and zstd (the OCI layer compressions).
for c in gzip zstd; do
	[ "$c" = zstd ] && ! command -v zstd >/dev/null && continue
	python3 bomb.py oci "bomb-$c.oci.tar" "$c" 300
	small "bomb-$c.oci.tar"
	TMPDIR=$WORK/tmp-watch expect_exit 1 "a $c layer bomb of 300 MiB streams through verify oci:" \
		timeout 300 "$HALLMARK" verify "oci:bomb-$c.oci.tar" $V
	expect_grep '^  /opt/pwned-zeros' out.txt "its file is an addition"
	[ -z "$(ls -A tmp-watch)" ] && ok "$c layer bomb: no temporary file" || fail "$c layer bomb: no temporary file"
	untouched "a $c layer bomb (verify oci:)"
	python3 bomb.py oci "big-$c.oci.tar" "$c" 1024
	build_refused "a $c layer bomb of 1 GiB as an OCI base" oci "big-$c.oci.tar" \
		"contents exceed 268435456 bytes at '/opt/pwned-zeros' \(100 times the base's size\): a decompression bomb"
done
done_testing
