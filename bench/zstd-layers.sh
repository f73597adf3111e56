#!/bin/bash
# OCI layer compression, gzip members against zstd frames (lib/pgzip.c,
# `layer_compression: zstd`): the same tar compressed by each codec on 1
# and 2 threads (CPU, wall, size; the two thread counts must give the
# same bytes), then `hallmark verify oci-dir:` of an image made of each
# blob, on 1 and 2 threads.
#
# Usage: bench/zstd-layers.sh [TAR]   (default: the largest cached Debian
# base, /var/cache/hallmark/debian-*.tar).  Needs python3 and
# /usr/bin/time.  Works in $HM_BENCH_DIR (default /var/tmp/hm-bench).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
O=${O:-build}
B=${HM_BENCH_DIR:-/var/tmp/hm-bench}/zstd-layers
IN=${1:-$(ls -S /var/cache/hallmark/debian-*.tar 2>/dev/null | head -n 1)}
[ -f "$IN" ] || { echo "zstd-layers.sh: no tar to compress (give one)" >&2; exit 2; }
cd "$REPO"
make -s -j2 O="$O" >/dev/null
HM=$REPO/bin/hallmark
[ "$O" = build ] || HM=$REPO/$O/bin/hallmark
mkdir -p "$O/bench"
# shellcheck disable=SC2046
cc -std=c17 -O2 -D_GNU_SOURCE -Iinclude -o "$O/bench/layer_compress" bench/layer_compress.c \
	"$O/libhallmark.a" $(pkg-config --libs libarchive libcrypto libdeflate libisal libzstd) -pthread
LC=$REPO/$O/bench/layer_compress
rm -rf "$B" && mkdir -p "$B"
cd "$B"
"$HM" keygen -o k --no-passphrase >/dev/null 2>&1

# An OCI layout folder around one blob: LAYOUT CODEC BLOB DIFF_HEX BLOB_HEX
layout() {
	python3 - "$@" <<'PY'
import hashlib, json, os, sys
d, codec, blob, diff, dig = sys.argv[1:6]
os.makedirs(d + "/blobs/sha256")
os.rename(blob, d + "/blobs/sha256/" + dig)
def put(doc):
    b = json.dumps(doc, sort_keys=True).encode()
    h = hashlib.sha256(b).hexdigest()
    open(d + "/blobs/sha256/" + h, "wb").write(b)
    return {"digest": "sha256:" + h, "size": len(b)}
cfg = put({"architecture": "amd64", "os": "linux", "config": {},
           "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff]}})
cfg["mediaType"] = "application/vnd.oci.image.config.v1+json"
man = put({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": cfg, "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+" + codec,
           "digest": "sha256:" + dig, "size": os.path.getsize(d + "/blobs/sha256/" + dig)}]})
man["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
open(d + "/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [man]}))
open(d + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
}

cpu() { awk '{printf "%.2f", $2 + $3}' "$1"; }
echo "input: $IN ($(stat -c %s "$IN") bytes); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$IN" > /dev/null   # warm the page cache
printf '| codec | threads | compress CPU s | compress wall s | blob MB | ratio | verify CPU s | verify wall s |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for codec in gzip zstd; do
	first=
	for t in 1 2; do
		/usr/bin/time -o time.txt -f '%e %U %S %M' "$LC" $codec $t "$IN" "blob.$codec.$t" > res.txt
		read -r _ _ inb outb _ diff dig < res.txt
		if [ -z "$first" ]; then first=$dig; elif [ "$first" != "$dig" ]; then
			echo "zstd-layers.sh: $codec on $t threads gave other bytes" >&2; exit 1
		fi
		cw=$(cut -d' ' -f1 time.txt); cc=$(cpu time.txt)
		if [ $t = 1 ]; then
			layout "img.$codec" $codec "blob.$codec.$t" "$diff" "$dig"
			"$HM" manifest "oci-dir:img.$codec" --name bench --serial 1 -o "m.$codec" >/dev/null 2>&1
			"$HM" sign "m.$codec" --key k.key >/dev/null 2>&1
		else
			rm -f "blob.$codec.$t"
		fi
		/usr/bin/time -o vtime.txt -f '%e %U %S %M' "$HM" verify "oci-dir:img.$codec" \
			--manifest "m.$codec" --pubkey k.pub --threads $t >/dev/null 2>&1 ||
			{ echo "zstd-layers.sh: verify of the $codec image failed" >&2; exit 1; }
		printf '| %s | %s | %s | %s | %.1f | %.3f | %s | %s |\n' $codec $t "$cc" "$cw" \
			"$(echo "$outb / 1000000" | bc -l)" "$(echo "$outb / $inb" | bc -l)" \
			"$(cpu vtime.txt)" "$(cut -d' ' -f1 vtime.txt)"
	done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
