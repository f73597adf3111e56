#!/bin/bash
# Disk benchmarks (issue 5), on the same real Debian root as bench/run.sh
# and bench/image.sh (mmdebstrap minbase + systemd, openssh-server,
# python3, perl, gcc, linux-image-amd64: about 18k entries, 0.9 GB):
#
#   appliance: a bare libguestfs launch with the disk attached
#              (`guestfish --ro -a DISK run`): the fixed cost every
#              libguestfs tool pays, timed on its own.
#   build:     `hallmark build` of a template whose base is that root's
#              tarball and whose only output is a bootable qcow2 (its
#              build.json has the disk phase and the appliance launch),
#              against `virt-make-fs` of the same tarball into an ext4
#              qcow2 with an MBR (no boot loader: less work than ours).
#   verify:    `hallmark verify disk:` of that qcow2 against its signed
#              disk manifest, against `virt-ls -lR --checksum=sha256` of
#              the same disk (the listing a check would diff against a
#              saved one; the diff itself takes milliseconds) and
#              `virt-diff --checksum=sha256` of the disk against a copy.
#
# Usage: bench/disk.sh [--runs N] [--slow-runs N] [--no-virt-diff]
#   --runs N       timed runs of the appliance launch (x2), the builds and
#                  hallmark verify (default 3)
#   --slow-runs N  timed runs of virt-ls and virt-diff (default 1: each
#                  takes 10-30 minutes under TCG)
#   --no-virt-diff leave virt-diff out
# Needs root, libguestfs-tools, qemu-utils, hyperfine, python3, and the
# root tarball bench/run.sh makes (mmdebstrap runs if it is missing).
# Writes bench/results/disk-*.json and bench/results/disk-summary.txt.
# Run it on an otherwise idle machine: every figure is CPU-bound under TCG.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
B=${HM_BENCH_DIR:-/var/tmp/hm-bench}
HALLMARK=${HALLMARK:-$REPO/bin/hallmark}
RUNS=3
SLOW_RUNS=1
VIRT_DIFF=1
RES=$HERE/results
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift ;;
	--slow-runs) SLOW_RUNS=$2; shift ;;
	--no-virt-diff) VIRT_DIFF=0 ;;
	-h|--help) sed -n '2,29p' "$0"; exit 0 ;;
	*) echo "disk.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
for t in guestfish virt-make-fs virt-ls virt-diff qemu-img hyperfine python3; do
	command -v $t >/dev/null || { echo "disk.sh: '$t' not found" >&2; exit 2; }
done
[ -x "$HALLMARK" ] || { echo "disk.sh: '$HALLMARK' not built" >&2; exit 2; }
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
mkdir -p "$RES"
rm -f "$RES"/disk-*.json "$RES/disk-summary.txt" "$RES/disk-env.txt"
ROOTTAR=$B/root.tar
if [ ! -f "$ROOTTAR" ]; then
	mmdebstrap --variant=minbase \
		--include=systemd,openssh-server,python3,perl,gcc,linux-image-amd64 \
		bookworm "$B/root.tmp.tar" && mv "$B/root.tmp.tar" "$ROOTTAR"
fi
W=$B/disk-work
rm -rf "$W" && mkdir -p "$W"
cd "$W"
SIZE=3G
# The template sits beside the tarball: a base must not escape the
# template's folder.
TPL=$B/bench-disk.yaml
cat > "$TPL" <<T
hallmark: 1
name: bench-disk
serial: 1
base:
  tarball:
    path: $(basename "$ROOTTAR")
outputs: [qcow2]
disk:
  size: $SIZE
audit:
  fail_on: critical
T
export HALLMARK_CACHE=$W/cache SOURCE_DATE_EPOCH=$(date +%s)
"$HALLMARK" keygen -o k --no-passphrase >/dev/null
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "host: $(uname -srm), $(nproc) cores, kvm: $([ -w /dev/kvm ] && echo yes || echo no)"
	echo "libguestfs: $(guestfish --version)"
	echo "qemu: $(qemu-img --version | head -1)"
	echo "input: $ROOTTAR, $(stat -c %s "$ROOTTAR") bytes, $(tar -tf "$ROOTTAR" | wc -l) entries"
	echo "hallmark: $HALLMARK ($(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$RES/disk-env.txt" >&2

# Warm-up (untimed): the page cache, the blob store (later builds find
# every blob present, as in bench/image.sh), the supermin appliance.
echo "== warm-up" >&2
"$HALLMARK" build "$TPL" -o out --key k.key >/dev/null 2>&1
IMG=out/bench-disk.qcow2 M=out/bench-disk.disk.manifest
virt-make-fs --format=qcow2 --type=ext4 --partition=mbr --size=$SIZE "$ROOTTAR" peer.qcow2
cp "$IMG" copy.qcow2

echo "== appliance launch ($((RUNS * 2)) runs)" >&2
hyperfine --runs $((RUNS * 2)) --export-json "$RES/disk-appliance.json" \
	-n "guestfish --ro -a DISK run" \
	"guestfish --ro --format=qcow2 -a $IMG run" >&2

# Each build's build.json says how long its disk phase and the steps in
# it (the appliance launch first) took: keep them all.
echo "== build ($RUNS runs)" >&2
rm -rf builds && mkdir builds
hyperfine --runs "$RUNS" --export-json "$RES/disk-build.json" \
	-n "hallmark build (qcow2 only: base, audit, rootfs, disk, manifests)" \
	"$HALLMARK build $TPL -o out --key k.key >/dev/null 2>&1 && cp out/bench-disk.build.json \$(mktemp -p builds)" \
	-n "virt-make-fs --format=qcow2 --type=ext4 --partition=mbr" \
	"rm -f peer.qcow2 && virt-make-fs --format=qcow2 --type=ext4 --partition=mbr --size=$SIZE $ROOTTAR peer.qcow2" >&2
cp out/bench-disk.build.json "$RES/disk-build-last.build.json"

echo "== verify ($RUNS runs of hallmark, $SLOW_RUNS of the peers)" >&2
"$HALLMARK" verify "disk:$IMG" --manifest $M --pubkey k.pub >/dev/null
hyperfine --runs "$RUNS" --export-json "$RES/disk-verify.json" \
	-n "hallmark verify disk:" \
	"$HALLMARK verify disk:$IMG --manifest $M --pubkey k.pub >/dev/null 2>&1" >&2
hyperfine --runs "$SLOW_RUNS" --export-json "$RES/disk-virt-ls.json" \
	-n "virt-ls -lR --checksum=sha256" \
	"virt-ls --format=qcow2 -a $IMG -lR --checksum=sha256 / > virt-ls.txt" >&2
if [ $VIRT_DIFF = 1 ]; then
	hyperfine --runs "$SLOW_RUNS" --export-json "$RES/disk-virt-diff.json" \
		-n "virt-diff --checksum=sha256 (disk against a copy)" \
		"virt-diff --format=qcow2 -a copy.qcow2 -A $IMG --checksum=sha256 > virt-diff.txt" >&2
	[ ! -s virt-diff.txt ] || { echo "disk.sh: virt-diff found differences" >&2; exit 1; }
fi

python3 - "$RES" "$(wc -l < virt-ls.txt)" "$(stat -c %s "$IMG")" "$(stat -c %s peer.qcow2)" \
	"$(grep -c '^/' $M)" <<'PY' | tee "$RES/disk-summary.txt"
import json, os, statistics, sys
res, lslines, img, peer, entries = sys.argv[1:]
def rows(f):
    p = f"{res}/{f}"
    if not os.path.exists(p):
        return []
    return [(r["command"], r["median"], r["min"], r["max"], len(r["times"]))
            for r in json.load(open(p))["results"]]
def ratio(a, b):
    return f"{a / b:.2f}" if b > 0 else "-"
ph = [json.load(open(os.path.join("builds", f))) for f in sorted(os.listdir("builds"))]
app = rows("disk-appliance.json")[0]
print(f"appliance launch (guestfish --ro -a DISK run), {app[4]} runs: median {app[1]:.1f} s ({app[2]:.1f}..{app[3]:.1f})")
print()
print("build, median of runs (s)")
b = rows("disk-build.json")
for c, m, lo, hi, n in b:
    print(f"  {c:66s} {m:7.1f}  ({lo:.1f}..{hi:.1f}, {n} runs)")
if ph:
    med = lambda xs: statistics.median(xs) / 1000
    disk = med([d["timings_ms"]["disk"] for d in ph])
    steps = ph[0]["disk"].get("steps_ms", {})
    launch = med([d["disk"]["steps_ms"]["launch"] for d in ph]) if "launch" in steps else 0
    print(f"  of which hallmark's disk phase (build.json timings_ms.disk): {disk:.1f} s;"
          " its steps (disk.steps_ms): " +
          ", ".join(f"{k} {med([d['disk']['steps_ms'][k] for d in ph]):.1f} s" for k in steps))
    print(f"  ratio disk phase / virt-make-fs: {ratio(disk, b[1][1])};"
          f" whole build / virt-make-fs: {ratio(b[0][1], b[1][1])}")
    print(f"  without the launch on either side: {ratio(disk - launch, b[1][1] - app[1])}")
print(f"  sizes: hallmark qcow2 {int(img)/1e6:.1f} MB, virt-make-fs qcow2 {int(peer)/1e6:.1f} MB")
print()
print("verify the disk, median of runs (s)")
v = rows("disk-verify.json") + rows("disk-virt-ls.json") + rows("disk-virt-diff.json")
for c, m, lo, hi, n in v:
    print(f"  {c:66s} {m:7.1f}  ({lo:.1f}..{hi:.1f}, {n} runs)")
hm = v[0][1]
for c, m, *_ in v[1:]:
    print(f"  {c} / hallmark verify: {ratio(m, hm)}x;"
          f" without the launch: {ratio(m - app[1], hm - app[1])}x")
print(f"  entries: {entries} in the disk manifest, {lslines} lines of virt-ls")
PY
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RES/disk-summary.txt"
