#!/bin/sh
# Issue 11, item 18: a reader that stops early (`| head`) cuts the output,
# not the run.  SIGPIPE no longer kills hallmark (exit 141, nothing
# recorded): verify still records its run in the history, says
# "output cut: ..." on stderr and exits 2, never 0 or 1 for a report the
# reader did not see in full.  The same holds for every command that
# writes much to stdout (docs/report-format.md, "Output cut short").
. "$(dirname "$0")/lib.sh"

N=5000
"$HALLMARK" keygen -o k --no-passphrase >/dev/null 2>&1
python3 - "$N" "$(id -u)" "$(id -g)" <<'PY'
import sys
n = int(sys.argv[1])
# The root as the empty folder made below is (owner: whoever runs this).
head = ("hallmark-manifest 1\nname flat\nserial %d\ncreated 2026-01-01T00:00:00Z\n"
        "expires never\ntemplate none\nhash sha256\nentries %d\n"
        "/ type=dir mode=0755 uid=" + sys.argv[2] + " gid=" + sys.argv[3] + "\n")
line = ("/f%07d type=file mode=0644 uid=0 gid=0 size=0 "
        "sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n")
# a: the even numbers below 2n; b: all of them (n additions for diff).
for name, serial, step in (("a", 1, 2), ("b", 2, 1)):
    with open(name, "w") as f:
        f.write(head % (serial, 2 * n // step + 1))
        f.writelines(line % i for i in range(0, 2 * n, step))
PY
"$HALLMARK" sign a --key k.key >/dev/null 2>&1
mkdir empty && chmod 0755 empty
runs() { python3 -c "import sqlite3; print(sqlite3.connect('h.db').execute('select count(*) from runs').fetchone()[0])"; }
found() { python3 -c "import sqlite3; print(sqlite3.connect('h.db').execute('select count(*) from findings').fetchone()[0])"; }

# cut WHAT CMD...: run CMD into `head -n1` (its report is far larger than a
# pipe holds, so its writes outlive the reader), check exit 2 and message.
cut() {
	what=$1; shift
	{ "$@" 2>err.txt; echo $? >rc.txt; } | head -n1 >head.txt
	rc=$(cat rc.txt)
	if [ "$rc" = 2 ] && grep -q "^hallmark[-a-z]*: output cut: " err.txt; then
		ok "$what | head: exit 2, 'output cut'"
	else
		fail "$what | head: exit 2, 'output cut' (exit $rc)"
		sed 's/^/#   stderr: /' err.txt | head -n 5
	fi
	[ -s head.txt ] && ok "and head got the first line" || fail "and head got the first line"
}

cut "verify --db --format json" "$HALLMARK" verify dir:empty --manifest a --pubkey k.pub --db h.db --format json
n=$(runs)
[ "$n" = 1 ] && ok "the run is recorded" || fail "the run is recorded (runs: $n)"
n=$(found)
[ "$n" = $N ] && ok "with all its $N findings" || fail "with all its $N findings (got $n)"
expect_exit 0 "hallmark history reads it" "$HALLMARK" history --db h.db
expect_grep "flat #1 .*dir:empty" out.txt "and shows the run"

cut "hallmark-verify --db --format sarif" "$HALLMARK_VERIFY" dir:empty --manifest a --pubkey k.pub --db h.db --format sarif
n=$(runs)
[ "$n" = 2 ] && ok "the run is recorded" || fail "the run is recorded (runs: $n)"

# Not cut: the whole report read, the usual drift exit.
{ "$HALLMARK" verify dir:empty --manifest a --pubkey k.pub --format json 2>err.txt; echo $? >rc.txt; } | cat >/dev/null
[ "$(cat rc.txt)" = 1 ] && [ ! -s err.txt ] && ok "a report read in full: exit 1, no message" \
	|| fail "a report read in full: exit 1, no message (exit $(cat rc.txt))"

# The other commands that write much to stdout.
cut "diff" "$HALLMARK" diff a b
mkdir tree
python3 -c "
for i in range($N): open('tree/f%05d' % i, 'w').close()"
cut "manifest to stdout" "$HALLMARK" manifest dir:tree
done_testing
