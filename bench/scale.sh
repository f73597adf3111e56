#!/bin/bash
# hallmark verify scale curve (issue 18, item 5): wall time, CPU time and
# peak memory of `hallmark verify dir:` on synthetic trees of 10k, 100k and
# 1M small entries (bench/mktree-1m.py --count N), at 1 and 2 threads (and
# the CPU count if larger), printed as a table with the cost per entry; and
# the 1M figure against the target (at most 4 s and 64 MiB).
#
# Usage: bench/scale.sh [--runs N] [--sizes "10000 100000 1000000"] [--keep]
#   --runs N   timed runs per (size, threads), the median is quoted (3)
#   --sizes L  entry counts (default 10000 100000 1000000)
#   --keep     keep the trees (they are reused by the next run)
# Environment:
#   HM_BENCH_DIR  scratch folder (default /var/tmp/hm-bench)
#   HALLMARK      the binary to measure (default bin/hallmark of this checkout)
# Needs python3 and GNU time (/usr/bin/time).  Each verify is run once
# untimed first (warm page cache and dentries), and must exit 0.
# CPU time is split into user and system (nearly all of it is system calls
# on small files), and where strace is installed the system calls per entry
# of one more run at 2 threads are counted (a figure the machine's load does
# not change), by kind.  The load average is printed before and after.

set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
B=${HM_BENCH_DIR:-/var/tmp/hm-bench}
HALLMARK=${HALLMARK:-$REPO/bin/hallmark}
RUNS=3
SIZES="10000 100000 1000000"
KEEP=0

while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift ;;
	--sizes) SIZES=$2; shift ;;
	--keep) KEEP=1 ;;
	*) echo "usage: $0 [--runs N] [--sizes LIST] [--keep]" >&2; exit 2 ;;
	esac
	shift
done

[ -x "$HALLMARK" ] || { echo "scale.sh: no $HALLMARK (run make)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "scale.sh: needs GNU time" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/hm-scale-XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$B"

CPUS=$(nproc)
THREADS="1 2"
[ "$CPUS" -gt 2 ] && THREADS="$THREADS $CPUS"

"$HALLMARK" keygen -o "$W/k" --no-passphrase >/dev/null 2>&1

. "$HERE/lib.sh"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %-7s %9s %9s %9s %9s %12s %12s %9s\n' entries threads 'wall s' 'CPU s' 'user s' 'sys s' 'wall us/ent' 'CPU us/ent' 'peak MiB'
ONE_M=""
SYSCALLS=""
for n in $SIZES; do
	T=$B/scale-$n
	if [ ! -d "$T" ]; then
		echo "# creating $T ($n entries)" >&2
		python3 "$HERE/mktree-1m.py" "$T" --count "$n" >/dev/null
	fi
	"$HALLMARK" manifest "dir:$T" --name "scale$n" -o "$W/m$n" >/dev/null 2>&1
	"$HALLMARK" sign "$W/m$n" --key "$W/k.key" >/dev/null 2>&1
	for t in $THREADS; do
		cmd=("$HALLMARK" verify "dir:$T" --manifest "$W/m$n" --pubkey "$W/k.pub" --threads "$t")
		"${cmd[@]}" >/dev/null || { echo "scale.sh: verify of $T failed" >&2; exit 1; }
		: >"$W/times"
		for _ in $(seq "$RUNS"); do
			/usr/bin/time -f '%e %U %S %M' -o "$W/one" "${cmd[@]}" >/dev/null
			cat "$W/one" >>"$W/times"
		done
		wall=$(awk '{print $1}' "$W/times" | median)
		cpu=$(awk '{print $2 + $3}' "$W/times" | median)
		usr=$(awk '{print $2}' "$W/times" | median)
		sys=$(awk '{print $3}' "$W/times" | median)
		peak=$(awk '{print $4 / 1024}' "$W/times" | sort -g | tail -n 1)
		printf '%-9s %-7s %9.3f %9.3f %9.3f %9.3f %12.2f %12.2f %9.1f\n' "$n" "$t" \
			"$wall" "$cpu" "$usr" "$sys" "$(echo "$wall * 1000000 / $n" | bc -l)" \
			"$(echo "$cpu * 1000000 / $n" | bc -l)" "$peak"
		if [ "$n" = 1000000 ] && [ "$t" = 2 ]; then
			ONE_M="$wall $peak"
		fi
	done
	# System calls per entry, once, on the smallest tree (the count is
	# per entry, the same at every size).
	if [ -z "$SYSCALLS" ] && command -v strace >/dev/null; then
		strace -f -c -o "$W/strace" "$HALLMARK" verify "dir:$T" --manifest "$W/m$n" \
			--pubkey "$W/k.pub" --threads 2 >/dev/null 2>&1 || true
		SYSCALLS=$(awk -v n="$n" '
			# % time, seconds, usecs/call, calls, [errors,] syscall
			$1 ~ /^[0-9.]+$/ && $NF != "total" {
				calls = $4
				if (calls / n >= 0.01) parts = parts sprintf(" %s %.2f", $NF, calls / n)
				sum += calls
			}
			END { printf "%.2f per entry (%d entries):%s", sum / n, n, parts }' "$W/strace")
	fi
	[ $KEEP = 1 ] || rm -rf "$T"
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -z "$SYSCALLS" ] || echo "system calls: $SYSCALLS"

if [ -n "$ONE_M" ]; then
	set -- $ONE_M
	printf '\n1M entries, 2 threads: %.2f s (target 4 s: %s), peak %.1f MiB (target 64 MiB: %s)\n' \
		"$1" "$(echo "$1 <= 4" | bc -l | sed 's/1/met/;s/0/not met/')" \
		"$2" "$(echo "$2 <= 64" | bc -l | sed 's/1/met/;s/0/not met/')"
fi
