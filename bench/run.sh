#!/bin/bash
# hallmark verify benchmark (issue 2): hallmark verify against AIDE,
# sha256sum -c and mtree on a real Debian root, the machine's SHA-256 limit,
# and peak memory on a synthetic tree of 1,000,000 entries.
#
# Usage: bench/run.sh [--keep] [--no-1m] [--runs N] [--slow-runs N]
#   --keep       keep the synthetic 1M-entry tree after the run
#   --no-1m      skip the 1M-entry part
#   --runs N     timed runs per fast command (default 5, env RUNS)
#   --slow-runs N  timed runs for AIDE (default 3, env SLOW_RUNS)
# Environment:
#   HM_BENCH_DIR  cache and scratch folder (default /var/tmp/hm-bench)
#   HALLMARK      the binary to measure (default bin/hallmark of this checkout)
#   QUIET_WAIT    seconds to wait for idle CPUs before each timed run (15)
#
# Writes bench/results/ (git-ignored): raw hyperfine JSON, summary.txt,
# env.txt, and profiles.  Needs root (the tree keeps its owners and device
# nodes), mmdebstrap, aide, mtree (package mtree-netbsd), hyperfine, openssl,
# GNU time (/usr/bin/time), python3; perf and strace are used if present.
# Every check command is run once to warm the page cache and must exit 0;
# then RUNS interleaved rounds, each timing every command once (hyperfine);
# figures are medians.

set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
B=${HM_BENCH_DIR:-/var/tmp/hm-bench}
HALLMARK=${HALLMARK:-$REPO/bin/hallmark}
RUNS=${RUNS:-5}
SLOW_RUNS=${SLOW_RUNS:-3}
KEEP=0
DO_1M=1
RES=$HERE/results

while [ $# -gt 0 ]; do
	case $1 in
	--keep) KEEP=1 ;;
	--no-1m) DO_1M=0 ;;
	--runs) RUNS=$2; shift ;;
	--slow-runs) SLOW_RUNS=$2; shift ;;
	-h|--help) sed -n '2,24p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "must run as root (tree with owners and device nodes)"
for t in mmdebstrap aide mtree hyperfine openssl sha256sum python3 tar; do
	command -v "$t" >/dev/null || die "'$t' not found (apt-get install it)"
done
[ -x /usr/bin/time ] || die "'/usr/bin/time' not found (apt-get install time)"

HAVE_HM=1
if [ ! -x "$HALLMARK" ]; then
	log "WARNING: '$HALLMARK' not built: measuring the peers only"
	HAVE_HM=0
fi

mkdir -p "$B" "$RES"
# Only our own files: bench/image.sh writes image-* next to them.
rm -rf "$RES/raw"
rm -f "$RES"/{hallmark,hallmark-threads1,sha256sum,mtree,aide}.json \
	"$RES"/{summary,env,mem-root,openssl-speed,perf-stat-verify,strace-verify}.txt \
	"$RES"/1m-*.txt
W=$B/work
rm -rf "$W"
mkdir -p "$W"
ROOT=$B/root
START=$(date +%s)

# ---------------------------------------------------------------- inputs --
# The Debian root, cached by its inputs (the exact mmdebstrap command).
# shellcheck disable=SC2054 # the commas belong to --include
MMDEB=(mmdebstrap --variant=minbase
	--include=systemd,openssh-server,python3,perl,gcc,linux-image-amd64
	bookworm)
INPUTS="${MMDEB[*]} OUT.tar"
if [ -f "$B/root.tar" ] && [ ! -f "$B/root.tar.inputs" ]; then
	log "adopting existing $B/root.tar (made by: $INPUTS)"
	printf '%s\n' "$INPUTS" >"$B/root.tar.inputs"
fi
if [ ! -f "$B/root.tar" ] || [ "$(cat "$B/root.tar.inputs")" != "$INPUTS" ]; then
	log "building the Debian root with mmdebstrap (about 3 minutes)"
	# mmdebstrap picks the output format from the name: keep ".tar" last.
	rm -f "$B/root.tar" "$B/root.tar.inputs" "$B/root.tmp.tar"
	"${MMDEB[@]}" "$B/root.tmp.tar" 2>"$B/mmdebstrap.log" ||
		die "mmdebstrap failed, see $B/mmdebstrap.log"
	mv "$B/root.tmp.tar" "$B/root.tar"
	printf '%s\n' "$INPUTS" >"$B/root.tar.inputs"
fi
STAMP="$INPUTS $(stat -c '%s %Y' "$B/root.tar")"
if [ ! -d "$ROOT" ] || [ "$(cat "$B/root.stamp" 2>/dev/null)" != "$STAMP" ]; then
	log "extracting root.tar to $ROOT"
	rm -rf "$ROOT" "$ROOT.tmp" "$B/root.stamp"
	mkdir "$ROOT.tmp"
	tar --xattrs --xattrs-include='*' --numeric-owner -xpf "$B/root.tar" -C "$ROOT.tmp"
	mv "$ROOT.tmp" "$ROOT"
	printf '%s\n' "$STAMP" >"$B/root.stamp"
fi

NENT=$(find "$ROOT" | wc -l)
NREG=$(find "$ROOT" -type f | wc -l)
BYTES=$(find "$ROOT" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%d", s}')
if find "$ROOT" -name '*
*' | grep -q .; then
	die "a file name in $ROOT contains a newline: the sha256sum list would break"
fi

# ------------------------------------------------------------ environment --
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "host: $(uname -srm)"
	echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, sha_ni: $(grep -q sha_ni /proc/cpuinfo && echo yes || echo no)"
	echo "memory: $(free -m | awk '/^Mem:/ {print $2}') MiB"
	echo "filesystem: $(df -T "$B" | awk 'NR==2 {print $2, $1}')"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "tree: $ROOT, $NENT entries, $NREG regular files, $BYTES bytes in regular files"
	echo "aide: $(aide --version 2>&1 | head -1)"
	echo "mtree: $(dpkg-query -W -f '${Package} ${Version}' mtree-netbsd 2>/dev/null || echo unknown)"
	echo "coreutils: $(sha256sum --version | head -1)"
	echo "openssl: $(openssl version)"
	echo "hyperfine: $(hyperfine --version)"
	if [ $HAVE_HM = 1 ]; then
		echo "hallmark: $HALLMARK ($(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
	fi
} >"$RES/env.txt"
cat "$RES/env.txt" >&2

# --------------------------------------------------- preparation (untimed) --
log "preparing: AIDE database, sha256sum list, mtree spec, hallmark manifest"
mkdir -p "$W/aide"
sed -e "s|@@ROOT@@|$ROOT|g" -e "s|@@DB@@|$W/aide|g" "$HERE/aide.conf" >"$W/aide/aide.conf"
aide --config-check -c "$W/aide/aide.conf" || die "aide rejects $W/aide/aide.conf"
aide --init -c "$W/aide/aide.conf" >"$W/aide/init.log" || die "aide --init failed"
mv "$W/aide/aide.db.new" "$W/aide/aide.db"

(cd "$ROOT" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$W/sha256.list"

mtree -c -k type,mode,uid,gid,size,link,device,sha256digest -p "$ROOT" >"$W/mtree.spec"

HM_THREADS1=0
if [ $HAVE_HM = 1 ]; then
	"$HALLMARK" keygen -o "$W/hm" --no-passphrase >/dev/null
	"$HALLMARK" manifest "dir:$ROOT" --name bench -o "$W/hm.manifest"
	"$HALLMARK" sign "$W/hm.manifest" --key "$W/hm.key" >&2
	if "$HALLMARK" verify "dir:$ROOT" --manifest "$W/hm.manifest" \
		--pubkey "$W/hm.pub" --threads 1 >/dev/null 2>&1; then
		HM_THREADS1=1
	else
		log "WARNING: 'hallmark verify --threads 1' not accepted: skipped"
	fi
fi

# ------------------------------------------------------------ timed runs --
# The machine may be shared, so the runs are interleaved: round 0 runs every
# command once (warm-up, untimed, must exit 0), then each round times every
# command once with hyperfine (--runs 1, no shell).  A burst of outside load
# then hits all tools alike instead of one of them.  AIDE takes part in the
# first SLOW_RUNS rounds only.  Every command runs under timeout(1).  Before
# each timed run we wait (up to QUIET_WAIT s) until the CPUs were at least 90%
# idle for a second, and record that idle figure.
NAMES=()
declare -A CMD CWD NR
QUIET_WAIT=${QUIET_WAIT:-15}
idle_pct() {	# percentage of idle CPU time over the next second
	local a b
	read -r -a a </proc/stat
	sleep 1
	read -r -a b </proc/stat
	awk -v i=$(( b[4] + b[5] - a[4] - a[5] )) \
		-v t=$(( b[1]+b[2]+b[3]+b[4]+b[5]+b[6]+b[7]+b[8] - a[1]-a[2]-a[3]-a[4]-a[5]-a[6]-a[7]-a[8] )) \
		'BEGIN { printf "%.0f", t ? 100 * i / t : 100 }'
}
quiet() {	# wait (at most QUIET_WAIT s) for other processes to leave the CPUs idle
	local t0=$SECONDS p
	while p=$(idle_pct); [ "$p" -lt 90 ] && [ $((SECONDS - t0)) -lt "$QUIET_WAIT" ]; do
		:
	done
	echo "$p"
}
tool() {	# tool NAME RUNS DIR COMMAND
	NAMES+=("$1"); NR[$1]=$2; CWD[$1]=$3; CMD[$1]="timeout 600 $4"
}
FAILED=()
failed() {
	log "FAILED: $1 ($2): not reported"
	FAILED+=("$1")
	NR[$1]=0
}

HM_VERIFY=("$HALLMARK" verify "dir:$ROOT" --manifest "$W/hm.manifest" --pubkey "$W/hm.pub")
if [ $HAVE_HM = 1 ]; then
	tool hallmark "$RUNS" / "${HM_VERIFY[*]}"
	if [ $HM_THREADS1 = 1 ]; then
		tool hallmark-threads1 "$RUNS" / "${HM_VERIFY[*]} --threads 1"
	fi
fi
tool sha256sum "$RUNS" "$ROOT" "sha256sum -c --quiet $W/sha256.list"
tool mtree "$RUNS" / "mtree -f $W/mtree.spec -p $ROOT"
tool aide "$SLOW_RUNS" / "aide --check -c $W/aide/aide.conf"

mkdir -p "$RES/raw"
log "round 0 (warm-up): ${NAMES[*]}"
for n in "${NAMES[@]}"; do
	# shellcheck disable=SC2086
	(cd "${CWD[$n]}" && ${CMD[$n]}) >"$W/warmup-$n.out" 2>&1 ||
		failed "$n" "warm-up exit $?, see $W/warmup-$n.out"
done
MAXR=$RUNS
[ "$SLOW_RUNS" -gt "$MAXR" ] && MAXR=$SLOW_RUNS
for r in $(seq 1 "$MAXR"); do
	log "round $r/$MAXR (load $(cut -d' ' -f1 /proc/loadavg))"
	for n in "${NAMES[@]}"; do
		[ "${NR[$n]}" -ge "$r" ] || continue
		quiet >"$RES/raw/$n-$r.idle"
		if ! (cd "${CWD[$n]}" && hyperfine -N --style none --runs 1 \
			--command-name "$n" --export-json "$RES/raw/$n-$r.json" \
			-- "${CMD[$n]}") >"$W/hf-$n-$r.out" 2>&1; then
			failed "$n" "round $r, see $W/hf-$n-$r.out"
		fi
	done
done
# Merge the rounds into one hyperfine-like file per command.
python3 - "$RES" "${NAMES[@]}" <<'PY'
import json, os, statistics, sys
res = sys.argv[1]
for n in sys.argv[2:]:
    rounds, r = [], 1
    while os.path.exists(f"{res}/raw/{n}-{r}.json"):
        rounds.append(r)
        r += 1
    rs = [json.load(open(f"{res}/raw/{n}-{r}.json"))["results"][0] for r in rounds]
    idle = [float(open(f"{res}/raw/{n}-{r}.idle").read()) for r in rounds]
    out = os.path.join(res, n + ".json")
    if not rs or any(r["exit_codes"] != [0] for r in rs):
        if os.path.exists(out):
            os.remove(out)
        continue
    t = [r["times"][0] for r in rs]
    json.dump({"results": [{
        "command": rs[0]["command"], "times": t,
        "median": statistics.median(t), "mean": statistics.mean(t),
        "stddev": statistics.stdev(t) if len(t) > 1 else None,
        "min": min(t), "max": max(t),
        "user": [r["user"] for r in rs], "system": [r["system"] for r in rs],
        "idle_percent_before": idle,
        "exit_codes": [0] * len(t)}]}, open(out, "w"), indent=1)
PY
for n in "${NAMES[@]}"; do
	[ "${NR[$n]}" -gt 0 ] || rm -f "$RES/$n.json"
done

# ------------------------------------------------------- hashing limit --
log "openssl speed -evp sha256 -bytes 16384 -seconds 3"
openssl speed -evp sha256 -bytes 16384 -seconds 3 -mr 2>/dev/null >"$RES/openssl-speed.txt"
RATE=$(awk -F: '/^\+F:/ {print $4}' "$RES/openssl-speed.txt")
[ -n "$RATE" ] || die "cannot parse openssl speed output"
CORES=$(nproc)

# ---------------------------------------------------- memory and profiles --
mem() {	# mem OUTFILE COMMAND...: peak RSS KiB, elapsed, user, system s; one run
	local out=$1
	shift
	/usr/bin/time -f '%M %e %U %S' -o "$out" "$@" >/dev/null
}
if [ $HAVE_HM = 1 ]; then
	log "peak memory of hallmark verify on the Debian root (3 runs)"
	for i in 1 2 3; do
		mem "$W/mem-root-$i" "${HM_VERIFY[@]}"
		cat "$W/mem-root-$i"
	done >"$RES/mem-root.txt"
	if command -v perf >/dev/null; then
		perf stat -o "$RES/perf-stat-verify.txt" \
			-e task-clock,context-switches,cpu-migrations,page-faults,cycles,instructions \
			"${HM_VERIFY[@]}" >/dev/null 2>&1 || true
	fi
	if command -v strace >/dev/null; then
		strace -f -c -o "$RES/strace-verify.txt" "${HM_VERIFY[@]}" >/dev/null 2>&1 || true
	fi
fi

# ------------------------------------------------------- 1M-entry tree --
T1M=$B/tree-1m
if [ $DO_1M = 1 ] && [ $HAVE_HM = 1 ]; then
	if [ ! -d "$T1M" ]; then
		log "creating the 1,000,000-entry tree (about 40 s)"
		python3 "$HERE/mktree-1m.py" "$T1M" >/dev/null
	fi
	N1M=$(find "$T1M" | wc -l)
	log "hallmark manifest + verify on $N1M entries"
	mem "$RES/1m-manifest.txt" "$HALLMARK" manifest "dir:$T1M" --name bench1m -o "$W/1m.manifest"
	"$HALLMARK" sign "$W/1m.manifest" --key "$W/hm.key" >&2
	: >"$RES/1m-verify.txt"
	for i in 1 2 3; do
		mem "$W/1m-verify-$i" "$HALLMARK" verify "dir:$T1M" \
			--manifest "$W/1m.manifest" --pubkey "$W/hm.pub"
		cat "$W/1m-verify-$i" >>"$RES/1m-verify.txt"
	done
	echo "$N1M" >"$RES/1m-entries.txt"
	# Context for the per-entry cost: mtree on the same tree (one thread).
	log "mtree -c and mtree -f on $N1M entries"
	/usr/bin/time -f '%M %e %U %S' -o "$RES/1m-mtree-c.txt" \
		mtree -c -k type,mode,uid,gid,size,link,sha256digest -p "$T1M" >"$W/1m.mtree"
	mem "$RES/1m-mtree-f.txt" mtree -f "$W/1m.mtree" -p "$T1M"
	if [ $KEEP = 0 ]; then
		log "removing $T1M"
		rm -rf "$T1M"
	fi
fi

# ----------------------------------------------------------------- report --
python3 - "$RES" "$BYTES" "$RATE" "$CORES" "$NENT" "$NREG" "$RUNS" "$SLOW_RUNS" \
	<<'EOF' | tee "$RES/summary.txt"
import json, os, statistics, sys
res, nbytes, rate, cores, nent, nreg, runs, slow = sys.argv[1:]
nbytes, rate, cores = int(nbytes), float(rate), int(cores)

def hf(name):
    p = os.path.join(res, name + ".json")
    if not os.path.exists(p):
        return None
    r = json.load(open(p))["results"][0]
    return r

rows = [("hallmark", "hallmark verify (default threads)"),
        ("hallmark-threads1", "hallmark verify --threads 1"),
        ("sha256sum", "sha256sum -c --quiet (1 thread)"),
        ("mtree", "mtree -f SPEC -p ROOT (sha256)"),
        ("aide", "aide --check (num_workers=2)")]
hm = hf("hallmark")
hm_med = hm["median"] if hm else None
limit = nbytes / (rate * cores)
print("load average at the end:", open("/proc/loadavg").read().split()[:3])
print(f"tree: {nent} entries, {nreg} regular files, {nbytes/1e6:.1f} MB")
print(f"SHA-256 limit: {nbytes} B / ({rate/1e6:.1f} MB/s x {cores} cores)"
      f" = {limit:.3f} s")
print()
print(f"{'command':36} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7} {'cpu s':>6} {'x hallmark':>10}")
med = {}
for key, label in rows:
    r = hf(key)
    if r is None:
        continue
    med[key] = r["median"]
    ratio = f"{r['median']/hm_med:.2f}" if hm_med else "-"
    cpu = statistics.median(u + s for u, s in zip(r["user"], r["system"]))
    print(f"{label:36} {len(r['times']):>4} {r['median']:>9.3f} {r['min']:>7.3f} {r['max']:>7.3f} {cpu:>6.2f} {ratio:>10}")
print(f"{'hashing limit (bytes / 2-core rate)':36} {'':>4} {limit:>9.3f}")
print()

def readl(name):
    p = os.path.join(res, name)
    if not os.path.exists(p):
        return None
    return [l.split() for l in open(p) if l.strip() and l.split()[0].isdigit()]

mr = readl("mem-root.txt")
m1 = readl("1m-manifest.txt")
v1 = readl("1m-verify.txt")
n1 = readl("1m-entries.txt")
targets = []
if hm_med:
    def t(desc, ok, val):
        targets.append(f"{'MET    ' if ok else 'NOT MET'} {desc}: {val}")
    if "aide" in med:
        t("verify >= 8x faster than AIDE", med["aide"] / hm_med >= 8, f"{med['aide']/hm_med:.2f}x")
    if "sha256sum" in med:
        t("verify >= 4x faster than sha256sum -c", med["sha256sum"] / hm_med >= 4,
          f"{med['sha256sum']/hm_med:.2f}x")
    t("verify within 1.5x of the hashing limit", hm_med <= 1.5 * limit,
      f"{hm_med/limit:.2f}x the limit")
if mr:
    print(f"hallmark verify, Debian root: peak RSS {max(int(x[0]) for x in mr)/1024:.1f} MiB")
if v1:
    peak = max(int(x[0]) for x in v1) / 1024
    print(f"1M-entry tree ({n1[0][0]} entries): manifest {float(m1[0][1]):.2f} s,"
          f" {int(m1[0][0])/1024:.1f} MiB; verify median"
          f" {statistics.median(float(x[1]) for x in v1):.2f} s,"
          f" peak {max(int(x[0]) for x in v1)/1024:.1f} MiB")
    mc, mf = readl("1m-mtree-c.txt"), readl("1m-mtree-f.txt")
    if mc and mf:
        print(f"  for comparison, mtree -c {float(mc[0][1]):.2f} s, {int(mc[0][0])/1024:.1f} MiB;"
              f" mtree -f {float(mf[0][1]):.2f} s, {int(mf[0][0])/1024:.1f} MiB")
    targets.append(f"{'MET    ' if peak < 64 else 'NOT MET'} verify peak memory < 64 MiB on 1M entries:"
                   f" {peak:.1f} MiB")
print()
for l in targets:
    print(l)
EOF
log "done in $(( $(date +%s) - START )) s; raw results in $RES"
if [ ${#FAILED[@]} -gt 0 ]; then
	echo "FAILED (not measured): ${FAILED[*]}" | tee -a "$RES/summary.txt"
	exit 1
fi
[ $HAVE_HM = 1 ] || exit 1
