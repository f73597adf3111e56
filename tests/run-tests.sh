#!/bin/sh
# The whole suite: unit tests, CLI tests, fuzz-corpus replay.
# Environment: HM_BUILD (build folder), HM_BIN (folder of the programs).
# Ends with each skipped test's reason, then "N passed, N failed, N
# skipped"; exit 1 if anything failed.
# HM_SLOW=0 skips the slow tier (appliance and boot tests); HM_HEAVY=0
# skips only its heaviest scripts (full Debian builds, the qemu boot).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
HM_BUILD=${HM_BUILD:-build}
HM_BIN=${HM_BIN:-bin/}
case $HM_BUILD in /*) ;; *) HM_BUILD=$top/$HM_BUILD ;; esac
case $HM_BIN in /*) ;; *) HM_BIN=$top/$HM_BIN ;; esac
export HM_BUILD HM_BIN HM_TOP=$top

passed=0 failed=0 skipped=0
log=$(mktemp)
skips=$(mktemp)   # "NAME: reason" of each skip, listed at the end
trap 'rm -f "$log" "$skips"' EXIT

count() {   # count LOG: add its "N passed, N failed, N skipped" line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
}

echo "== unit tests"
for t in "$HM_BUILD"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	case $t in *.o|*.d) continue ;; esac
	"$t" >"$log" 2>&1
	rc=$?
	grep -v '^ok ' "$log" | sed "s|^|$(basename "$t"): |"
	count "$log"
	[ $rc -eq 0 ] || grep -q 'failed' "$log" || failed=$((failed + 1))
done

echo "== fuzz corpus replay"
for t in "$HM_BUILD"/tests/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	case $t in *.o|*.d) continue ;; esac
	name=$(basename "$t"); name=${name#fuzz_}
	if [ -d "$top/tests/fuzz/corpus/$name" ]; then
		"$t" "$top/tests/fuzz/corpus/$name" >"$log" 2>&1
		count "$log"
		grep -E '^not ok' "$log" || true
	fi
done

echo "== CLI tests"
# A script that hangs fails alone instead of holding up the whole run
# (HM_TEST_TIMEOUT seconds per script; the slowest, t1901 with a Debian
# base to bootstrap, takes about 25 minutes).
limit=${HM_TEST_TIMEOUT:-2700}
for t in "$top"/tests/cli/t[0-9][0-9][0-9][0-9]-*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t")
	start=$(date +%s)
	timeout -k 30 "$limit" sh "$t" >"$log" 2>&1
	rc=$?
	grep -Ev '^ok ' "$log" | sed "s|^|$name: |"
	sed -n "s|^ok [0-9]* - # skip *|$name: |p" "$log" >>"$skips"
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "$name: not ok - timed out after $limit s (HM_TEST_TIMEOUT)"
		failed=$((failed + 1))
		continue
	fi
	echo "$name: $(($(date +%s) - start)) s"
	count "$log"
	[ $rc -eq 0 ] || grep -q ' failed' "$log" || failed=$((failed + 1))
done

if [ -s "$skips" ]; then
	echo "== skipped, and why"
	sed 's/^/  /' "$skips"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
