#!/bin/bash
# Does batching the per-file system calls through io_uring pay on this
# kernel?  (issue 18, item 1.)  bench/file_calls.c makes the calls that
# `hallmark verify dir:` makes for each small file (statx, openat,
# flistxattr, pread, fstat, close), either one by one or in batches
# through io_uring (liburing), on a synthetic tree of small files; this
# script builds it, runs the two in turn (one untimed run each first,
# then RUNS interleaved rounds) and prints median CPU and wall time and
# the ratio io_uring / plain calls, round by round.  A ratio below 1 means
# io_uring saves CPU.
#
# Usage: bench/file-calls.sh [--runs N] [--count N] [--batch "16 64 128"] [--keep]
#   --runs N    interleaved rounds (default 5)
#   --count N   entries in the tree (default 200000, bench/mktree-1m.py)
#   --batch L   io_uring batch sizes (files per round trip) to try
#   --keep      keep the tree (it is reused by the next run)
# Environment: HM_BENCH_DIR scratch folder (default /var/tmp/hm-bench), CC.
# Needs liburing-dev, python3 and GNU time (/usr/bin/time).

set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
B=${HM_BENCH_DIR:-/var/tmp/hm-bench}
RUNS=5
COUNT=200000
BATCHES="16 64 128"
KEEP=0

while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift ;;
	--count) COUNT=$2; shift ;;
	--batch) BATCHES=$2; shift ;;
	--keep) KEEP=1 ;;
	*) echo "usage: $0 [--runs N] [--count N] [--batch LIST] [--keep]" >&2; exit 2 ;;
	esac
	shift
done

[ -x /usr/bin/time ] || { echo "file-calls.sh: needs GNU time" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/hm-calls-XXXXXX")
trap 'rm -rf "$W"' EXIT
${CC:-cc} -std=c17 -O2 -Wall -Wextra -o "$W/file_calls" "$HERE/file_calls.c" -luring ||
	{ echo "file-calls.sh: cannot build bench/file_calls.c (liburing-dev?)" >&2; exit 2; }

mkdir -p "$B"
T=$B/calls-$COUNT
if [ ! -d "$T" ]; then
	echo "# creating $T ($COUNT entries)" >&2
	python3 "$HERE/mktree-1m.py" "$T" --count "$COUNT" >/dev/null
fi

. "$HERE/lib.sh"
timed() {   # NAME ARGS...: one run, appended to $W/NAME as "wall cpu"
	local name=$1; shift
	/usr/bin/time -f '%e %U %S' -o "$W/one" "$W/file_calls" "$@" >/dev/null
	awk '{print $1, $2 + $3}' "$W/one" >>"$W/$name"
}

echo "kernel $(uname -r), $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$W/file_calls" calls "$T" >/dev/null
for b in $BATCHES; do "$W/file_calls" uring "$T" "$b" >/dev/null; done
for _ in $(seq "$RUNS"); do
	timed calls calls "$T"
	for b in $BATCHES; do timed "uring$b" uring "$T" "$b"; done
done
files=$("$W/file_calls" calls "$T" | awk '{print $1}')
printf '%-22s %9s %9s %12s %16s\n' 'per-file calls' 'wall s' 'CPU s' 'CPU us/file' 'CPU / plain'
for n in calls $(for b in $BATCHES; do echo "uring$b"; done); do
	wall=$(awk '{print $1}' "$W/$n" | median)
	cpu=$(awk '{print $2}' "$W/$n" | median)
	ratio=$(paste -d' ' "$W/$n" "$W/calls" | awk '{print ($4 > 0) ? $2 / $4 : 0}' | median)
	label=$n
	[ "$n" = calls ] && label="plain system calls" || label="io_uring, batch ${n#uring}"
	printf '%-22s %9.3f %9.3f %12.2f %16.3f\n' "$label" "$wall" "$cpu" \
		"$(echo "$cpu * 1000000 / $files" | bc -l)" "$ratio"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ $KEEP = 1 ] || rm -rf "$T"
