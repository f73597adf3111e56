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
#   phases:    where `verify disk:`'s time goes (--verify-only): one
#              guestfish session per run timing the appliance launch,
#              inspection, the mount, the appliance's tar into a pipe
#              inside the appliance (cold cache, no transfer), the same
#              tar through tar-out to the host (cold again: tar plus the
#              guestfsd channel), then `hallmark verify tar:` of that
#              stream saved on the host (reading and hashing alone).
#
#   steps:     where the disk phase's time goes, step by step (launch,
#              partition, mkfs, tar-in, extlinux, read-back, pinning,
#              qcow2 conversion, shutdown...: build.json's disk.fine_ms),
#              median of the builds, printed after the build figures.
#
# Usage: bench/disk.sh [--runs N] [--slow-runs N] [--no-virt-diff]
#                      [--size SIZE] [--builds-only] [--verify-only]
#        bench/disk.sh --table DIR [DIR...]
#   --runs N       timed runs of the appliance launch (x2), the builds and
#                  hallmark verify (default 3)
#   --slow-runs N  timed runs of virt-ls and virt-diff (default 1: each
#                  takes 10-30 minutes under TCG)
#   --no-virt-diff leave virt-diff out
#   --size SIZE    the disk's size (default 3G)
#   --builds-only  only the hallmark builds and their step table (no
#                  peers, no verify): to measure a change of the writer
#   --verify-only  one build, then only verify disk: (RUNS runs), its
#                  phases (RUNS guestfish sessions) and virt-ls
#                  (SLOW_RUNS): to measure a change of the disk source
#   --table DIR... only print the step table of the build.json files in
#                  each DIR, one column per DIR (before/after a change)
# Needs root, libguestfs-tools, qemu-utils, hyperfine, python3, and the
# root tarball bench/run.sh makes (mmdebstrap runs if it is missing).
# Writes bench/results/disk-*.json and bench/results/disk-summary.txt.
# Run it on an otherwise idle machine: every figure is CPU-bound under TCG.
# Where /dev/kvm exists but qemu cannot use it (nested virtualisation),
# hallmark falls back to TCG by itself but the peers abort at launch: run
# with LIBGUESTFS_BACKEND_SETTINGS=force_tcg.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
B=${HM_BENCH_DIR:-/var/tmp/hm-bench}
HALLMARK=${HALLMARK:-$REPO/bin/hallmark}
RUNS=3
SLOW_RUNS=1
VIRT_DIFF=1
SIZE=3G
BUILDS_ONLY=0
VERIFY_ONLY=0
TABLE=()
RES=$HERE/results

# step_table DIR...: the disk phase's steps (disk.fine_ms of every
# *.build.json and build.json copy in each DIR), median ms per DIR, one
# column per DIR, with each step's share of the first DIR's disk phase.
step_table() {
	python3 - "$@" <<'PY'
import json, os, statistics, sys
cols = []
for d in sys.argv[1:]:
    runs = []
    for f in sorted(os.listdir(d)):
        try:
            j = json.load(open(os.path.join(d, f)))
        except (ValueError, IsADirectoryError, UnicodeDecodeError):
            continue
        if isinstance(j, dict) and "fine_ms" in j.get("disk", {}):
            runs.append(j)
    if not runs:
        sys.exit(f"disk.sh: no build.json with disk.fine_ms in {d}")
    cols.append((d, runs))
steps = list(cols[0][1][0]["disk"]["fine_ms"])
for _, runs in cols[1:]:
    steps += [s for s in runs[0]["disk"]["fine_ms"] if s not in steps]
med = lambda xs: statistics.median(xs) / 1000 if xs else float("nan")
def col(runs, s):
    xs = [r["disk"]["fine_ms"][s] for r in runs if s in r["disk"]["fine_ms"]]
    return med(xs), (min(xs) / 1000 if xs else 0), (max(xs) / 1000 if xs else 0)
total0 = med([r["timings_ms"]["disk"] for r in cols[0][1]])
hdr = "| step | " + " | ".join(f"{os.path.basename(d.rstrip('/'))} ({len(r)} runs), s" for d, r in cols)
print(hdr + " | share of the first |")
print("|---" * (len(cols) + 2) + "|")
for s in steps:
    cells = []
    for _, runs in cols:
        m, lo, hi = col(runs, s)
        cells.append("—" if m != m else f"{m:.1f} ({lo:.1f}..{hi:.1f})" if lo != hi else f"{m:.1f}")
    m0 = col(cols[0][1], s)[0]
    print(f"| {s} | " + " | ".join(cells) + f" | {100 * m0 / total0:.0f}% |")
tot = [med([r["timings_ms"]["disk"] for r in runs]) for _, runs in cols]
print("| **disk phase** (timings_ms.disk) | " + " | ".join(f"**{t:.1f}**" for t in tot) + " | 100% |")
if len(cols) > 1:
    print(f"\nratio last/first: {tot[-1] / tot[0]:.2f}")
PY
}
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift ;;
	--slow-runs) SLOW_RUNS=$2; shift ;;
	--no-virt-diff) VIRT_DIFF=0 ;;
	--size) SIZE=$2; shift ;;
	--builds-only) BUILDS_ONLY=1 ;;
	--verify-only) VERIFY_ONLY=1 ;;
	--table) shift; TABLE=("$@"); break ;;
	-h|--help) sed -n '2,56p' "$0"; exit 0 ;;
	*) echo "disk.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
if [ ${#TABLE[@]} -gt 0 ]; then
	step_table "${TABLE[@]}"
	exit 0
fi
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

if [ $BUILDS_ONLY = 1 ]; then
	echo "== build ($RUNS runs, hallmark only)" >&2
	rm -rf builds && mkdir builds
	"$HALLMARK" build "$TPL" -o out --key k.key >/dev/null 2>&1   # warm-up
	for i in $(seq "$RUNS"); do
		rm -rf out
		"$HALLMARK" build "$TPL" -o out --key k.key >/dev/null 2>&1
		cp out/bench-disk.build.json builds/$i.build.json
	done
	cp out/bench-disk.build.json "$RES/disk-build-last.build.json"
	step_table builds | tee "$RES/disk-steps.txt"
	exit 0
fi

# time_verify IMG MANIFEST PUBKEY: hallmark verify disk: and virt-ls
# --checksum of IMG, timed (disk-verify.json, disk-virt-ls.json).
time_verify() {
	hyperfine --runs "$RUNS" --export-json "$RES/disk-verify.json" \
		-n "hallmark verify disk:" \
		"$HALLMARK verify disk:$1 --manifest $2 --pubkey $3 >/dev/null 2>&1" >&2
	hyperfine --runs "$SLOW_RUNS" --export-json "$RES/disk-virt-ls.json" \
		-n "virt-ls -lR --checksum=sha256" \
		"virt-ls --format=qcow2 -a $1 -lR --checksum=sha256 / > virt-ls.txt" >&2
}

# verify_phases IMG MANIFEST PUBKEY: --verify-only's figures.
verify_phases() {
	local img=$1 m=$2 pub=$3 i
	rm -rf phases && mkdir phases
	# The bench disk holds one file system, the root: its first partition.
	cat > phases.fish <<F
time run
time inspect-os
time mount-ro ${HM_BENCH_ROOTDEV:-/dev/sda1} /
time debug sh "cd /sysroot && tar -cf - --numeric-owner --xattrs --xattrs-include='*' . | wc -c"
drop-caches 3
time tar-out / $W/tree.tar numericowner:true xattrs:true
F
	for i in $(seq "$RUNS"); do
		guestfish --ro --format=qcow2 -a "$img" -f phases.fish > phases/$i.txt 2>&1
		/usr/bin/time -f '%e' -o phases/$i.host "$HALLMARK" verify "tar:$W/tree.tar" \
			--manifest "$m" --pubkey "$pub" >/dev/null 2>&1 || true
		rm -f "$W/tree.tar"
	done
	time_verify "$img" "$m" "$pub"
	python3 - "$RES" phases <<'PY' | tee "$RES/disk-verify-summary.txt"
import json, os, re, statistics, sys
res, d = sys.argv[1:]
names = ["appliance launch", "inspection", "mount", "tar in the appliance (into a pipe, cold)",
         "tar-out (tar + guestfsd channel to the host, cold)"]
runs = []
for f in sorted(os.listdir(d)):
    if f.endswith(".txt"):
        t = [float(x) for x in re.findall(r"elapsed time: ([0-9.]+) seconds", open(os.path.join(d, f)).read())]
        host = open(os.path.join(d, f[:-4] + ".host")).read().split()
        if len(t) == len(names) and host:
            runs.append(t + [float(host[-1])])
if not runs:
    sys.exit("disk.sh: no complete guestfish phase run (see phases/)")
med = statistics.median
v = json.load(open(f"{res}/disk-verify.json"))["results"][0]
ls = json.load(open(f"{res}/disk-virt-ls.json"))["results"][0]
print(f"| phase ({len(runs)} guestfish runs, median) | s |")
print("|---|---|")
for i, n in enumerate(names + ["host: `verify tar:` of the saved stream (read + hash)"]):
    print(f"| {n} | {med([r[i] for r in runs]):.1f} |")
print(f"| **`hallmark verify disk:`** ({len(v['times'])} runs) | **{v['median']:.1f}** |")
print(f"| `virt-ls -lR --checksum=sha256` ({len(ls['times'])} runs) | {ls['median']:.1f} |")
print(f"\nratio virt-ls / hallmark verify disk: {ls['median'] / v['median']:.2f}x")
PY
}

if [ $VERIFY_ONLY = 1 ]; then
	echo "== build (once), verify and its phases ($RUNS runs), virt-ls ($SLOW_RUNS)" >&2
	"$HALLMARK" build "$TPL" -o out --key k.key >/dev/null 2>&1
	verify_phases out/bench-disk.qcow2 out/bench-disk.disk.manifest k.pub
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RES/disk-verify-summary.txt"
	exit 0
fi

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
time_verify "$IMG" "$M" k.pub
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
echo
echo "the disk phase, step by step (build.json disk.fine_ms, median of the builds)" | tee -a "$RES/disk-summary.txt"
step_table builds | tee -a "$RES/disk-summary.txt"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RES/disk-summary.txt"
