#!/bin/sh
# A failed Debian bootstrap says what mmdebstrap said (its "E:" lines, not
# "see its messages above" over nothing) and leaves the cache as it was.
# First with a stand-in mmdebstrap that fails the way the real one does
# (always run: no network), then with the real one and a misspelt package
# (mmdebstrap fails after downloading the package lists, about 40 s:
# skipped with HM_SLOW=0, without root, when mmdebstrap is missing or
# when Debian's archive cannot be reached).
. "$(dirname "$0")/lib.sh"

cat > tpl.yaml <<'T'
hallmark: 1
name: t1007-typo
serial: 1
base:
  debian:
    suite: bookworm
    variant: minbase
    packages: [ca-certificats]
T

# The cache's names and sizes, to compare before and after a run.
cache_list() { (cd "$1" && find . -mindepth 1 ! -path './blobs*' | sort) 2>/dev/null; }

# A stand-in for mmdebstrap: its version, then a run that prints progress
# on stdout and apt's error on stderr, leaves a partial tar, and exits 25.
mkdir fakebin
cat > fakebin/mmdebstrap <<'S'
#!/bin/sh
if [ "$1" = --version ]; then echo 'mmdebstrap 0.0-t1007'; exit 0; fi
while [ "$1" != -- ]; do shift; done
echo 'I: downloading packages with apt...' >&2
[ -z "${FAKE_SLEEP:-}" ] || sleep "$FAKE_SLEEP"
[ -z "${FAKE_HANG:-}" ] || exec sleep "$FAKE_HANG"
echo 'E: Unable to locate package ca-certificats' >&2
echo 'E: apt-get --yes install failed' >&2
echo partial > "$3"
exit 25
S
chmod +x fakebin/mmdebstrap

mkdir -p fcache
echo kept > fcache/other-file
cache_list fcache > before.txt
PATH="$T_DIR/fakebin:$PATH" expect_exit 2 "a failed bootstrap exits 2" \
	"$HALLMARK" build tpl.yaml -o out --cache fcache
cp err.txt err-plain.txt
expect_grep '^hallmark: mmdebstrap failed \(exit 25\):$' err.txt "it says how mmdebstrap ended"
expect_grep '^  E: Unable to locate package ca-certificats$' err.txt "and quotes its error lines"
expect_grep '^  E: apt-get --yes install failed$' err.txt "all of them"
if grep -q 'see its messages above' err.txt; then fail "no pointer to messages that are not there"; else ok "no pointer to messages that are not there"; fi
if grep -q '^I: downloading' err.txt; then fail "its progress lines are not dumped off a terminal"; else ok "its progress lines are not dumped off a terminal"; fi
cache_list fcache > after.txt
if cmp -s before.txt after.txt; then ok "no new file in the cache (no tar, no inputs, no temporary folder)"; else
	fail "no new file in the cache"; diff before.txt after.txt | sed 's/^/#   /'; fi
[ ! -e out ] || [ -z "$(ls -A out)" ] && ok "nothing in the output folder" || fail "nothing in the output folder"

PATH="$T_DIR/fakebin:$PATH" expect_exit 2 "--verbose: the same failure" \
	"$HALLMARK" build tpl.yaml -o out --cache fcache --verbose
expect_grep '^I: downloading packages with apt\.\.\.$' err.txt "--verbose shows its lines as they come"
PATH="$T_DIR/fakebin:$PATH" expect_exit 2 "--quiet: the same failure" \
	"$HALLMARK" build tpl.yaml -o out --cache fcache --quiet
expect_grep 'E: Unable to locate package ca-certificats' err.txt "--quiet still says why it failed"

# Interrupted while mmdebstrap runs (SIGTERM, as Ctrl-C or a CI timeout
# would): the inputs text and the temporary folder go too.
FAKE_HANG=30 PATH="$T_DIR/fakebin:$PATH" "$HALLMARK" build tpl.yaml -o out --cache fcache \
	> /dev/null 2> int-err.txt &
pid=$!
i=0
while [ $i -lt 100 ] && ! ls -a fcache | grep -q '^\.debian-.*\.tmp-'; do sleep 0.1; i=$((i + 1)); done
ls -a fcache | grep -q '^\.debian-.*\.tmp-' && ls fcache | grep -q '\.inputs$' &&
	ok "while mmdebstrap runs, its folder and the inputs text are in the cache" ||
	fail "while mmdebstrap runs, its folder and the inputs text are in the cache"
child=$(pgrep -P $pid)   # the stand-in, now a sleep, which outlives hallmark
kill -TERM $pid; wait $pid; rc=$?
[ -z "$child" ] || kill $child 2>/dev/null
[ $rc -eq 143 ] && ok "SIGTERM ends the build by that signal" || fail "SIGTERM ends the build by that signal (exit $rc)"
cache_list fcache > after.txt
if cmp -s before.txt after.txt; then ok "interrupted: no new file in the cache"; else
	fail "interrupted: no new file in the cache"; diff before.txt after.txt | sed 's/^/#   /'; fi

# On a terminal: a live line with the step, its elapsed seconds and what
# mmdebstrap last said, redrawn in place (script(1) gives a terminal);
# --quiet draws none.  Off a terminal (above) no such line.
if command -v script >/dev/null 2>&1; then
	FAKE_SLEEP=2 PATH="$T_DIR/fakebin:$PATH" TERM=xterm script -qec \
		"'$HALLMARK' build tpl.yaml -o out --cache fcache" /dev/null > tty.txt 2>&1
	tr '\r' '\n' < tty.txt > tty-lines.txt
	expect_grep 'hallmark build: base [12] s: I: downloading packages with apt\.\.\.' tty-lines.txt \
		"on a terminal, the heartbeat shows the step, its time and mmdebstrap's stage"
	expect_grep 'E: Unable to locate package ca-certificats' tty-lines.txt "and the error after it"
	FAKE_SLEEP=2 PATH="$T_DIR/fakebin:$PATH" TERM=xterm script -qec \
		"'$HALLMARK' build tpl.yaml -o out --cache fcache --quiet" /dev/null > tty.txt 2>&1
	if grep -q 'hallmark build: base' tty.txt; then fail "--quiet: no live line"; else ok "--quiet: no live line"; fi
else
	skip "live line: script(1) is not installed"
	skip "live line: script(1) is not installed"
	skip "live line: script(1) is not installed"
fi
if grep -q 'hallmark build: base [0-9]* s' err-plain.txt; then fail "off a terminal, no live line"; else ok "off a terminal, no live line"; fi

# The real mmdebstrap, from Debian's archive.
if [ "${HM_SLOW:-1}" = 0 ]; then
	skip "real mmdebstrap: slow tier (HM_SLOW=0; it downloads Debian's package lists)"
elif [ "$(id -u)" -ne 0 ]; then
	skip "real mmdebstrap: needs root (as the shipped templates' builds do)"
elif ! command -v mmdebstrap >/dev/null 2>&1; then
	skip "real mmdebstrap: not installed"
elif ! getent hosts deb.debian.org >/dev/null 2>&1; then
	skip "real mmdebstrap: deb.debian.org cannot be resolved (no network)"
else
	mkdir -p rcache
	cache_list rcache > before.txt
	expect_exit 2 "real mmdebstrap: a misspelt package fails the build" \
		"$HALLMARK" build tpl.yaml -o out --cache rcache
	if grep -q 'Temporary failure resolving\|Failed to fetch\|Could not connect' err.txt &&
	   ! grep -q 'Unable to locate package' err.txt; then
		skip "real mmdebstrap: Debian's archive cannot be reached"
	else
		expect_grep '^  E: Unable to locate package ca-certificats$' err.txt "real mmdebstrap: its error is quoted"
	fi
	cache_list rcache > after.txt
	if cmp -s before.txt after.txt; then ok "real mmdebstrap: no new file in the cache"; else
		fail "real mmdebstrap: no new file in the cache"; diff before.txt after.txt | sed 's/^/#   /'; fi
fi
done_testing
