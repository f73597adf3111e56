#!/bin/sh
# What killed builds leave is reclaimed (issue 11, item 16): each staging
# folder is flock()ed by its build for the build's life; the next build
# of the output folder removes those no live process holds, and never
# one a running build holds.  SIGTERM removes a build's own folder.
. "$(dirname "$0")/lib.sh"
# LeakSanitizer cannot run under ptrace (strace): under ASan it would
# fail every traced run at exit, whatever hallmark did.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

if ! command -v strace >/dev/null || ! strace -f -e inject=rename:error=EIO:when=1 true 2>/dev/null; then
	skip "strace with fault injection is not available"
	done_testing; exit
fi
mkdir -p base/etc tpl
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:x:0:\n' > base/etc/group
head -c 4000000 /dev/urandom > base/etc/payload
tar --numeric-owner -C base -cf tpl/base.tar .
printf 'hallmark: 1\nname: t7042\nserial: 1\nbase: {tarball: {path: base.tar}}\n' > tpl/a.yaml
export HALLMARK_CACHE="$T_DIR/cache"
B="--source-date-epoch 1700000000"
staged() { ls -A "$1" | grep -c '^\.t7042\.build-'; }

# SIGKILL at the 1st..6th rename of the build: after the outputs began.
"$HALLMARK" build tpl/a.yaml -o warm $B >/dev/null 2>&1   # blobs cached
for n in 1 2 3 4 5 6; do
	strace -f -o /dev/null -e inject=rename:signal=KILL:when=$n \
		"$HALLMARK" build tpl/a.yaml -o out $B >/dev/null 2>&1
done
# Each killed build reclaimed what the one before left: one folder stays,
# not six (an older hallmark kept them all).
left=$(staged out)
size=$(du -sk out | cut -f1)
[ "$left" -eq 1 ] && ok "six SIGKILLed builds leave one staging folder, not six (${size} KiB)" || { fail "killed builds left $left staging folders"; ls -la out; }
expect_exit 0 "the next build succeeds" "$HALLMARK" build tpl/a.yaml -o out $B
[ "$(staged out)" -eq 0 ] && ok "and reclaims every stale staging folder" || { fail "stale staging folders reclaimed"; ls -la out; }
[ "$(ls out/t7042.builds | wc -l)" -eq 2 ] && ok "one build folder and current remain" || { fail "one build folder remains"; ls -la out/t7042.builds; }

# A running build's staging folder survives another build of the same
# output folder: the first one is held (3 s) at its 3rd rename.
strace -f -o /dev/null -e inject=rename:delay_enter=3000000:when=3 \
	"$HALLMARK" build tpl/a.yaml -o out $B >slow.out 2>slow.err &
slow=$!
i=0; while [ "$(staged out)" -eq 0 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
live=$(ls -A out | grep '^\.t7042\.build-' | head -n 1)
[ -n "$live" ] && ok "a build in progress has its staging folder" || fail "a build in progress has its staging folder"
expect_exit 0 "a concurrent build succeeds" "$HALLMARK" build tpl/a.yaml -o out $B
[ -n "$live" ] && [ -d "out/$live" ] && ok "and leaves the running build's folder alone" || fail "the running build's folder survived"
wait $slow; rc=$?
[ $rc -eq 0 ] && ok "the held build then finishes" || { fail "the held build finishes (exit $rc)"; cat slow.err; }
[ "$(staged out)" -eq 0 ] && ok "no staging folder is left" || fail "no staging folder is left"
expect_exit 0 "the published set is whole" cmp out/t7042.manifest warm/t7042.manifest

# A folder held by a live process that is not a build (a lock holder).
mkdir out/.t7042.build-HELD1 && : > out/.t7042.build-HELD1/x
python3 -c 'import fcntl,os,sys,time; fd=os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); open(sys.argv[2],"w").close(); time.sleep(30)' \
	out/.t7042.build-HELD1 held.ready &
holder=$!
i=0; while [ ! -f held.ready ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
"$HALLMARK" build tpl/a.yaml -o out $B >/dev/null 2>&1
[ -f out/.t7042.build-HELD1/x ] && ok "a locked staging folder is never removed" || fail "a locked staging folder is never removed"
kill $holder; wait $holder 2>/dev/null
"$HALLMARK" build tpl/a.yaml -o out $B >/dev/null 2>&1
[ ! -e out/.t7042.build-HELD1 ] && ok "once unlocked, the next build reclaims it" || fail "unlocked folder reclaimed"

# SIGTERM in the middle of a build: its own staging folder goes at once.
strace -f -o /dev/null -e inject=rename:signal=TERM:when=4 \
	"$HALLMARK" build tpl/a.yaml -o term $B >/dev/null 2>&1
rc=$?
[ $rc -eq 143 ] && ok "SIGTERM ends the build with the signal's status" || fail "SIGTERM status ($rc)"
[ -z "$(ls -A term 2>/dev/null)" ] && ok "and leaves nothing in the output folder" || { fail "SIGTERM leaves nothing"; ls -la term; }
done_testing
