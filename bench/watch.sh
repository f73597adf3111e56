#!/bin/bash
# hallmark watch benchmark (issue 15), on the Debian root of bench/run.sh:
#   - start-up: time to the mark being placed (manifest loaded and its
#     signature checked) and to the end of the start scan; memory after;
#   - latency: time from a write to its finding on the output, median and
#     worst of 100 writes to 100 different files;
#   - CPU: the watcher's, from /proc/PID/stat, over 60 idle seconds and
#     over 10 seconds of 1,000 changes per second (appends to 200 watched
#     files: every batch finds drift, the expensive case);
#   - against `inotifywait -r -m` on the same tree: its start-up time
#     (until "Watches established") and memory to watch every directory.
#
# Usage: bench/watch.sh [--idle SECONDS] [--writes N]
# Environment:
#   HM_BENCH_DIR  cache folder of bench/run.sh (default /var/tmp/hm-bench):
#                 its root.tar is used when present, else the largest Debian
#                 base in /var/cache/hallmark (HM_WATCH_BENCH_TAR to choose)
#   HALLMARK      the binary (default bin/hallmark of this checkout)
#
# The tree is extracted to a tmpfs in a private mount namespace: a
# filesystem mark sees every change on its file system, and on a shared
# machine the idle figure would otherwise measure other people's writes.
# Needs root, unshare, inotifywait (inotify-tools), python3.

set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
B=${HM_BENCH_DIR:-/var/tmp/hm-bench}
HALLMARK=${HALLMARK:-$REPO/bin/hallmark}
IDLE=${IDLE:-60}
WRITES=${WRITES:-100}
while [ $# -gt 0 ]; do
	case $1 in
	--idle) IDLE=$2; shift ;;
	--writes) WRITES=$2; shift ;;
	-h|--help) sed -n '2,24p' "$0"; exit 0 ;;
	*) echo "watch.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
die() { printf 'watch.sh: %s\n' "$*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "must run as root (fanotify filesystem marks)"
for t in unshare inotifywait python3 tar; do
	command -v "$t" >/dev/null || die "'$t' not found"
done
[ -x "$HALLMARK" ] || die "'$HALLMARK' not built (make)"

if [ -z "${HM_WATCH_BENCH_NS:-}" ]; then
	TAR=${HM_WATCH_BENCH_TAR:-}
	if [ -z "$TAR" ] && [ -f "$B/root.tar" ]; then TAR=$B/root.tar; fi
	if [ -z "$TAR" ]; then
		TAR=$(ls -S /var/cache/hallmark/debian-*.tar 2>/dev/null | head -n 1 || true)
	fi
	[ -n "$TAR" ] && [ -f "$TAR" ] || die "no Debian root: run bench/run.sh first (or set HM_WATCH_BENCH_TAR)"
	export TAR HALLMARK IDLE WRITES HM_WATCH_BENCH_NS=1
	exec unshare --mount --propagation private "$0" "$@"
fi

W=$(mktemp -d /tmp/hm-watch-bench-XXXXXX)
trap 'umount "$W/fs" 2>/dev/null; rm -rf "$W"' EXIT
mkdir "$W/fs"
mount -t tmpfs -o size=4g hm-watch-bench "$W/fs"
ROOT=$W/fs/root
mkdir "$ROOT"
echo "== extracting $TAR" >&2
tar --xattrs --xattrs-include='*' --numeric-owner -xpf "$TAR" -C "$ROOT"
mkdir -p "$ROOT/srv/bench"
cd "$W"
# The writes go to files the manifest lists; a folder of scratch files
# for the load test is allowed to change.
printf 'may_change: [/srv/bench/**]\n' > policy.yaml
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
for i in $(seq 0 199); do printf 'x\n' > "$ROOT/srv/bench/f$i"; done
"$HALLMARK" manifest "dir:$ROOT" --name bench --serial 1 -o m >/dev/null 2>&1
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1

echo "== measuring" >&2
python3 - "$HALLMARK" "$ROOT" "$IDLE" "$WRITES" <<'PY'
import json, os, select, statistics, subprocess, sys, time

hallmark, root, idle, writes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
hz = os.sysconf("SC_CLK_TCK")

def cpu_ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])

def status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])          # kB
    return 0

entries = sum(1 for _ in os.walk(root))
nfiles = sum(len(fs) for _, _, fs in os.walk(root))
print(f"tree: {root} ({entries} directories, {nfiles} files and links)")

t0 = time.monotonic()
p = subprocess.Popen([hallmark, "watch", "dir:" + root, "--manifest", "m",
                      "--pubkey", "ops.pub", "--policy", "policy.yaml",
                      "--format", "json"], stdout=subprocess.PIPE, bufsize=0)
buf = b""
def lines(timeout):
    """Yield JSON lines read within timeout seconds."""
    global buf
    end = time.monotonic() + timeout
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield json.loads(line)
        left = end - time.monotonic()
        if left <= 0:
            return
        r, _, _ = select.select([p.stdout], [], [], left)
        if r:
            chunk = os.read(p.stdout.fileno(), 1 << 16)
            if not chunk:
                return
            buf += chunk

t_begin = t_end = None
scan = None
for j in lines(600):
    if j["event"] == "scan-begin" and t_begin is None:
        t_begin = time.monotonic()
    if j["event"] == "scan-end":
        t_end = time.monotonic(); scan = j
        break
assert t_end, "no start scan"
rss = status(p.pid, "VmRSS"); hwm = status(p.pid, "VmHWM")
print(f"hallmark watch start-up: mark placed after {t_begin - t0:.3f} s "
      f"(manifest of {scan['entries']} entries loaded, signature checked); "
      f"start scan done after {t_end - t0:.2f} s ({scan['findings']} findings)")
print(f"hallmark watch memory after start: RSS {rss / 1024:.1f} MiB (peak {hwm / 1024:.1f} MiB)")

# Latency: one write at a time to a different listed file.
cands = []
for d, dirs, fs in os.walk(os.path.join(root, "usr/share/doc")):
    for f in sorted(fs):
        path = os.path.join(d, f)
        if os.path.isfile(path) and not os.path.islink(path):
            cands.append(path)
    if len(cands) >= writes:
        break
lat = []
for path in cands[:writes]:
    img = path[len(root):]
    t = time.monotonic()
    with open(path, "ab") as f:
        f.write(b"!")
    for j in lines(10):
        if j["event"] == "finding" and j["path"] == img:
            lat.append(time.monotonic() - t)
            break
    # let the rest of the batch's lines arrive
    for _ in lines(0.05):
        pass
lat.sort()
print(f"write to finding, {len(lat)} writes: median {statistics.median(lat) * 1000:.0f} ms, "
      f"worst {lat[-1] * 1000:.0f} ms, best {lat[0] * 1000:.0f} ms")

# Idle CPU.
for _ in lines(1):
    pass
c0, t = cpu_ticks(p.pid), time.monotonic()
for _ in lines(idle):
    pass
c1, dt = cpu_ticks(p.pid), time.monotonic() - t
print(f"idle CPU over {dt:.0f} s: {(c1 - c0) / hz / dt * 100:.3f} % of one core ({c1 - c0} ticks)")

# 1,000 changes per second for 10 s, to 200 files the policy lets change.
files = [os.path.join(root, f"srv/bench/f{i}") for i in range(200)]
c0, t = cpu_ticks(p.pid), time.monotonic()
n = 0
while time.monotonic() - t < 10:
    target = t + n / 1000
    while time.monotonic() < target:
        for _ in lines(max(0, target - time.monotonic())):
            pass
    with open(files[n % 200], "ab") as f:
        f.write(b"x")
    n += 1
dt = time.monotonic() - t
for _ in lines(1):
    pass
c1 = cpu_ticks(p.pid)
print(f"under load: {n} changes in {dt:.1f} s ({n / dt:.0f}/s): CPU {(c1 - c0) / hz / dt * 100:.1f} % of one core, "
      f"RSS {status(p.pid, 'VmRSS') / 1024:.1f} MiB")
p.terminate(); p.wait()

# inotifywait -r -m on the same tree.
dirs = sum(1 for _ in os.walk(root))
t0 = time.monotonic()
q = subprocess.Popen(["inotifywait", "-r", "-m", "-q", "-q", "-e", "modify,attrib,move,create,delete",
                      root], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
# -q -q prints nothing, so wait until every directory has its watch:
# the count of inotify marks in fdinfo.
def marks(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            n += sum(1 for l in open(f"/proc/{pid}/fdinfo/{fd}") if l.startswith("inotify "))
        except OSError:
            pass
    return n
while marks(q.pid) < dirs:
    time.sleep(0.01)
t_in = time.monotonic() - t0
rss_in = status(q.pid, "VmRSS")
print(f"inotifywait -r -m: {dirs} watches established after {t_in:.3f} s; RSS {rss_in / 1024:.1f} MiB "
      f"(plus kernel memory for {dirs} inotify marks)")
q.terminate(); q.wait()
PY
