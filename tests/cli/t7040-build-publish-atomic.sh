#!/bin/sh
# A build's outputs appear as one set (issue 11, item 12): a reader of the
# output folder sees the previous complete set or the new complete set,
# never a mixture and never nothing, whichever rename of the build fails
# (strace fault injection at every one, EIO and SIGKILL), when something
# that is not a file is in the way, and when the previous set was written
# by an older hallmark as plain files.
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
tar --numeric-owner -C base -cf tpl/base.tar .
for v in old new; do
	printf 'hallmark: 1\nname: t7040\nserial: %s\nbase: {tarball: {path: base.tar}}\nfiles:\n  - {path: /etc/motd, content: "%s build\\n"}\n' \
		"$([ $v = old ] && echo 1 || echo 2)" "$v" > tpl/$v.yaml
done
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
export HALLMARK_CACHE="$T_DIR/cache"
B="--key ops.key --source-date-epoch 1700000000"
# Byte-compared; build.json (timings, folder names) is checked by its serial.
FILES="t7040.oci.tar t7040.rootfs.tar t7040.audit.json t7040.manifest t7040.manifest.sig"

# Reference sets (builds are reproducible, signatures deterministic).
"$HALLMARK" build tpl/old.yaml -o refold $B >/dev/null 2>&1
"$HALLMARK" build tpl/new.yaml -o refnew $B >/dev/null 2>&1
for f in $FILES; do [ -f refold/$f ] && [ -f refnew/$f ] || fail "reference $f"; done
cmp -s refold/t7040.manifest refnew/t7040.manifest && fail "the two sets differ"
# The previous set as this hallmark publishes it, and as plain files.
"$HALLMARK" build tpl/old.yaml -o pristine $B >/dev/null 2>&1
mkdir legacy && for f in $FILES t7040.build.json; do cp refold/$f legacy/$f; done

# state DIR: "old", "new" or what is wrong.
state() {
	o=1 n=1
	for f in $FILES; do
		cmp -s "$1/$f" "refold/$f" || o=0
		cmp -s "$1/$f" "refnew/$f" || n=0
	done
	grep -q '"serial": 1,' "$1/t7040.build.json" 2>/dev/null || o=0
	grep -q '"serial": 2,' "$1/t7040.build.json" 2>/dev/null || n=0
	if [ $o = 1 ] || [ $n = 1 ]; then
		if "$HALLMARK" verify "oci:$1/t7040.oci.tar" --manifest "$1/t7040.manifest" \
			--pubkey ops.pub >/dev/null 2>&1 &&
		   "$HALLMARK" verify "tar:$1/t7040.rootfs.tar" --manifest "$1/t7040.manifest" \
			--pubkey ops.pub >/dev/null 2>&1; then
			[ $o = 1 ] && echo old || echo new
		else
			echo "complete but not verifying"
		fi
	else
		echo "mixed: $(grep -o '"serial": [0-9]*' "$1/t7040.build.json" 2>/dev/null) $(for f in $FILES; do cmp -s "$1/$f" "refold/$f" && printf '%s=old ' $f ||
			{ cmp -s "$1/$f" "refnew/$f" && printf '%s=new ' $f || printf '%s=missing ' $f; }; done)"
	fi
}

# Every rename of the build, one at a time, from the first until a build
# goes through without reaching the injected one.
for from in pristine legacy; do
	for how in error=EIO signal=KILL; do
		n=1 bad=0 olds=0 news=0
		while [ $n -lt 60 ]; do
			rm -rf out && cp -a $from out
			strace -f -o /dev/null -e trace=rename,renameat,renameat2 \
				-e inject=rename,renameat,renameat2:$how:when=$n \
				"$HALLMARK" build tpl/new.yaml -o out $B >/dev/null 2>err.txt
			rc=$?
			s=$(state out)
			case $s in
			old) olds=$((olds + 1));;
			new) news=$((news + 1));;
			*) bad=$((bad + 1)); echo "# $from, $how at rename $n (exit $rc): $s";;
			esac
			if [ $rc -eq 0 ]; then
				[ "$s" = new ] || bad=$((bad + 1))
				break
			fi
			n=$((n + 1))
		done
		[ $bad -eq 0 ] && [ $rc -eq 0 ] &&
			ok "$from set, $how at each of $((n - 1)) renames: $olds old, $news new, never a mixture or nothing" ||
			fail "$from set, $how at each rename: $bad bad states (last exit $rc)"
	done
done

# A first build that fails at any rename leaves nothing at all.
n=1 bad=0
while [ $n -lt 60 ]; do
	rm -rf out
	strace -f -o /dev/null -e inject=rename:error=EIO:when=$n \
		"$HALLMARK" build tpl/new.yaml -o out $B >/dev/null 2>&1
	rc=$?
	[ $rc -eq 0 ] && break
	[ -z "$(ls -A out 2>/dev/null)" ] || { bad=$((bad + 1)); echo "# rename $n: $(ls -A out | tr '\n' ' ')"; }
	n=$((n + 1))
done
[ $bad -eq 0 ] && [ "$(state out)" = new ] && ok "a first build failing at each of $((n - 1)) renames leaves nothing" ||
	fail "a first build failing at a rename leaves nothing ($bad left something)"

# Something that is not a file at a final name: refused before anything
# changes; an immutable final name (a plain file from an older build).
rm -rf out && cp -a pristine out && rm out/t7040.audit.json && mkdir out/t7040.audit.json
expect_exit 2 "a folder at a final name fails the build" "$HALLMARK" build tpl/new.yaml -o out $B
expect_grep "t7040.audit.json" err.txt "naming it"
rmdir out/t7040.audit.json && ln -s t7040.builds/current/t7040.audit.json out/t7040.audit.json
[ "$(state out)" = old ] && ok "and the previous set is intact" || fail "previous set intact: $(state out)"
rm -rf out && cp -a legacy out
if chattr +i out/t7040.manifest.sig 2>/dev/null; then
	expect_exit 2 "an immutable final name fails the build" "$HALLMARK" build tpl/new.yaml -o out $B
	chattr -i out/t7040.manifest.sig
	[ "$(state out)" = old ] && ok "and the previous set is intact" || fail "previous set intact: $(state out)"
else
	skip "chattr +i does not work here"
fi
expect_exit 0 "the next build publishes" "$HALLMARK" build tpl/new.yaml -o out $B
[ "$(state out)" = new ] && ok "the new set" || fail "the new set: $(state out)"
[ -z "$(ls -A out | grep '^\.')" ] && ok "no staging folder left" || fail "no staging folder left"
[ "$(ls out/t7040.builds | wc -l)" -eq 2 ] && ok "one build folder and current are kept" || { fail "one build folder kept"; ls -la out/t7040.builds; }
done_testing
