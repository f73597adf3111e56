#!/bin/bash
# Build and OCI-verify benchmarks (issues 3 and 4), on the same real Debian
# root as bench/run.sh (mmdebstrap minbase + systemd, openssh-server,
# python3, perl, gcc, linux-image-amd64: about 18k entries, 0.9 GB):
#
#   build:  `hallmark build` of a template whose base is that root's
#           tarball (outputs: OCI archive + rootfs tar, manifest, audit,
#           SBOM) against `bsdtar -czf` of the extracted tree.
#   verify: `hallmark verify oci:IMAGE` (blobs read in place, nothing
#           written) against `skopeo copy` + `umoci unpack` +
#           `sha256sum -c`, and against an unpack-and-compare in the style
#           of diffoci (`umoci unpack` + `hallmark verify dir:`).
#
# Usage: bench/image.sh [--runs N]   (default 3).  Needs root, bsdtar
# (libarchive-tools), skopeo, umoci, hyperfine, python3, and the root
# tarball bench/run.sh makes (it runs mmdebstrap if missing).
# Writes bench/results/image-*.json and bench/results/image-summary.txt.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
B=${HM_BENCH_DIR:-/var/tmp/hm-bench}
HALLMARK=${HALLMARK:-$REPO/bin/hallmark}
RUNS=3
RES=$HERE/results
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift ;;
	-h|--help) sed -n '2,19p' "$0"; exit 0 ;;
	*) echo "image.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
for t in bsdtar skopeo umoci hyperfine python3 sha256sum pigz; do
	command -v $t >/dev/null || { echo "image.sh: '$t' not found" >&2; exit 2; }
done
mkdir -p "$RES"
ROOTTAR=$B/root.tar
if [ ! -f "$ROOTTAR" ]; then
	mmdebstrap --variant=minbase \
		--include=systemd,openssh-server,python3,perl,gcc,linux-image-amd64 \
		bookworm "$B/root.tmp.tar" && mv "$B/root.tmp.tar" "$ROOTTAR"
fi
W=$B/image-work
rm -rf "$W" && mkdir -p "$W"
cd "$W"
mkdir root && tar --xattrs --xattrs-include='*' --numeric-owner -xpf "$ROOTTAR" -C root
# The template sits beside the tarball: a base must not escape the
# template's folder.
TPL=$B/bench-big.yaml
cat > "$TPL" <<T
hallmark: 1
name: bench-big
serial: 1
base:
  tarball:
    path: $(basename "$ROOTTAR")
audit:
  fail_on: critical
T
export HALLMARK_CACHE=$W/cache SOURCE_DATE_EPOCH=$(date +%s)
"$HALLMARK" keygen -o k --no-passphrase >/dev/null
# Warm: the page cache, and the blob store (a second build finds every
# blob present: what "from a cached base" means).
"$HALLMARK" build "$TPL" -o out --key k.key >/dev/null 2>&1
bsdtar -czf peer.tar.gz -C root . 2>/dev/null

echo "== build ($RUNS runs)" >&2
hyperfine --runs "$RUNS" --export-json "$RES/image-build.json" \
	-n "hallmark build (oci + tar + manifest + audit + sbom)" \
	"$HALLMARK build $TPL -o out --key k.key" \
	-n "bsdtar -czf of the same tree" "bsdtar -czf peer.tar.gz -C root . 2>/dev/null" >&2

IMG=out/bench-big.oci.tar M=out/bench-big.manifest
# The peers' inputs: sha256sum list of the tree, made once, not timed.
(cd root && find . -type f -print0 | sort -z | xargs -0 sha256sum) > sums.txt
# The single-core limit of inflating the layer: Python's zlib streaming
# over the blob (every member), and pigz -dc (which inflates on one core
# too, with read, write and check on others).
mkdir -p blobs && tar -xf "$IMG" -C blobs
LAYER=$(ls -S blobs/blobs/sha256/* | head -1)
cat > inflate.py <<'P'
import sys, zlib
d, n = zlib.decompressobj(31), 0
with open(sys.argv[1], 'rb') as f:
    for b in iter(lambda: f.read(1 << 20), b''):
        while b:
            n += len(d.decompress(b))
            b, d = (d.unused_data, zlib.decompressobj(31)) if d.eof else (b'', d)
print(n)
P
peer_unpack='rm -rf lay bundle && skopeo copy -q oci-archive:'$IMG' oci:lay:bench && umoci unpack --image lay:bench bundle >/dev/null'
echo "== verify oci ($RUNS runs)" >&2
hyperfine --runs "$RUNS" --export-json "$RES/image-verify.json" \
	-n "hallmark verify oci: (in place)" "$HALLMARK verify oci:$IMG --manifest $M --pubkey k.pub >/dev/null" \
	-n "skopeo copy + umoci unpack + sha256sum -c" "$peer_unpack && (cd bundle/rootfs && sha256sum -c --quiet ../../sums.txt)" \
	-n "unpack + compare (diffoci style)" "$peer_unpack && $HALLMARK verify dir:bundle/rootfs --manifest $M --pubkey k.pub >/dev/null" \
	-n "python3 zlib inflate of the layer (one core)" "python3 inflate.py $LAYER >/dev/null" \
	-n "pigz -dc of the layer" "pigz -dc $LAYER >/dev/null" >&2

# Nothing written to disk by hallmark verify oci: (system calls).
if command -v strace >/dev/null; then
	strace -f -qq -e trace=open,openat,creat,mkdir,mkdirat,rename,renameat2,link,linkat \
		-o strace.txt "$HALLMARK" verify oci:$IMG --manifest $M --pubkey k.pub >/dev/null
	writes=$(grep -Ec 'O_WRONLY|O_RDWR|O_CREAT|creat\(|mkdir|rename|link' strace.txt || true)
else
	writes="not measured (no strace)"
fi
python3 - "$RES" "$writes" "$(stat -c %s out/bench-big.oci.tar)" "$(stat -c %s peer.tar.gz)" "$(stat -c %s out/bench-big.rootfs.tar)" <<'PY' | tee "$RES/image-summary.txt"
import json, sys
res, writes, oci, peer, rootfs = sys.argv[1:]
def med(f):
    d = json.load(open(f"{res}/{f}"))
    return [(r["command"], r["median"], r["min"], r["max"]) for r in d["results"]]
print("build (median of runs, seconds)")
b = med("image-build.json")
for c, m, lo, hi in b: print(f"  {c:52s} {m:7.2f}  ({lo:.2f}..{hi:.2f})")
print(f"  ratio hallmark / bsdtar: {b[0][1] / b[1][1]:.2f} (target <= 0.7)")
print(f"  sizes: oci.tar {int(oci)/1e6:.1f} MB, bsdtar .tar.gz {int(peer)/1e6:.1f} MB, rootfs.tar {int(rootfs)/1e6:.1f} MB")
print("verify an OCI image of the same tree")
v = med("image-verify.json")
for c, m, lo, hi in v: print(f"  {c:52s} {m:7.2f}  ({lo:.2f}..{hi:.2f})")
print(f"  speed-up vs unpack + sha256sum -c: {v[1][1] / v[0][1]:.2f}x (target >= 3)")
print(f"  speed-up vs unpack + compare: {v[2][1] / v[0][1]:.2f}x")
print(f"  hallmark / zlib inflate of its layer alone, one core: {v[0][1] / v[3][1]:.2f} (target <= 0.5)")
print(f"  hallmark / pigz -dc of its layer: {v[0][1] / v[4][1]:.2f}")
print(f"  files opened for writing by hallmark verify oci: {writes}")
PY
