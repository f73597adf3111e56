#!/bin/bash
# Verify straight from a registry (issue 17, item 7): the hardened image
# in Debian's docker-registry on 127.0.0.1 (plain HTTP, storage in the
# bench folder), verified three ways against the same signed manifest:
#
#   hallmark verify registry:...            blobs streamed, checked, read once
#   skopeo copy to a layout + hallmark verify oci-dir:
#   skopeo copy + umoci unpack + sha256sum -c (a list made once, untimed)
#
# Usage: bench/registry.sh [--runs N] [--image FILE.oci.tar]
# The image: --image, else images/debian-12-hardened.oci.tar, else the
# image bench/image.sh builds ($HM_BENCH_DIR/image-work/out/bench-big.oci.tar).
# Needs docker-registry, skopeo, umoci, hyperfine, python3, sha256sum.
# Writes bench/results/registry-*.json and bench/results/registry-summary.txt.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
B=${HM_BENCH_DIR:-/var/tmp/hm-bench}
HALLMARK=${HALLMARK:-$REPO/bin/hallmark}
RUNS=5
IMG=
RES=$HERE/results
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift ;;
	--image) IMG=$2; shift ;;
	-h|--help) sed -n '2,15p' "$0"; exit 0 ;;
	*) echo "registry.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
for t in docker-registry skopeo umoci hyperfine python3 sha256sum; do
	command -v $t >/dev/null || { echo "registry.sh: '$t' not found" >&2; exit 2; }
done
if [ -z "$IMG" ]; then
	for c in "$REPO/images/debian-12-hardened.oci.tar" "$B/image-work/out/bench-big.oci.tar"; do
		[ -f "$c" ] && { IMG=$c; break; }
	done
fi
[ -n "$IMG" ] && [ -f "$IMG" ] || {
	echo "registry.sh: no image: build templates/debian-12-hardened.yaml, run bench/image.sh, or give --image" >&2
	exit 2
}
IMG=$(cd "$(dirname "$IMG")" && pwd)/$(basename "$IMG")
mkdir -p "$RES"
W=$B/registry-work
rm -rf "$W" && mkdir -p "$W"
cd "$W"
REG_PID=
trap '[ -n "$REG_PID" ] && kill $REG_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > reg.yml <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $W/store
http:
  addr: 127.0.0.1:$PORT
EOF
docker-registry serve reg.yml > reg.log 2>&1 &
REG_PID=$!
for _ in $(seq 100); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
	sleep 0.1
done
R=127.0.0.1:$PORT/bench/hardened:1
skopeo copy -q --dest-tls-verify=false "oci-archive:$IMG" "docker://$R"
# The signed manifest of the image, and the peers' sums list (untimed).
"$HALLMARK" keygen -o k --no-passphrase >/dev/null
"$HALLMARK" manifest "oci:$IMG" --name bench -o m >/dev/null 2>&1
"$HALLMARK" sign m --key k.key >/dev/null
skopeo copy -q "oci-archive:$IMG" oci:ref:bench && umoci unpack --image ref:bench refb >/dev/null
(cd refb/rootfs && find . -type f -print0 | sort -z | xargs -0 sha256sum) > sums.txt
rm -rf ref refb
V="--manifest m --pubkey k.pub"
copy="rm -rf lay bundle && skopeo copy -q --src-tls-verify=false docker://$R oci:lay:bench"
echo "== verify from the registry ($RUNS runs)" >&2
hyperfine --warmup 1 --runs "$RUNS" --export-json "$RES/registry-verify.json" \
	-n "hallmark verify registry: (streamed)" "$HALLMARK verify registry:$R $V >/dev/null" \
	-n "skopeo copy + hallmark verify oci-dir:" "$copy && $HALLMARK verify oci-dir:lay $V >/dev/null" \
	-n "skopeo copy + umoci unpack + sha256sum -c" \
	"$copy && umoci unpack --image lay:bench bundle >/dev/null && (cd bundle/rootfs && sha256sum -c --quiet ../../sums.txt)" >&2
python3 - "$RES" "$(stat -c %s "$IMG")" "$(wc -l < sums.txt)" <<'PY' | tee "$RES/registry-summary.txt"
import json, sys
res, size, files = sys.argv[1:]
d = json.load(open(f"{res}/registry-verify.json"))
v = [(r["command"], r["median"], r["min"], r["max"]) for r in d["results"]]
print(f"verify an image from a local registry ({int(size)/1e6:.1f} MB archive, {files} files; median of runs, seconds)")
for c, m, lo, hi in v:
    print(f"  {c:46s} {m:7.2f}  ({lo:.2f}..{hi:.2f})")
print(f"  speed-up vs skopeo copy + verify oci-dir: {v[1][1] / v[0][1]:.2f}x (target >= 1.5)")
print(f"  speed-up vs skopeo copy + umoci unpack + sha256sum -c: {v[2][1] / v[0][1]:.2f}x (target >= 4)")
PY
