#!/bin/sh
# `history` streams: runs, findings and the diff are read from the
# database row by row and written as they come, so its memory does not
# grow with the number of findings.  A database with two runs of 150,000
# findings each (half of them shared) is shown with --diff, as JSON and as
# text, under an address-space limit of 128 MiB; before, the JSON diff
# built the whole document in memory (about 1 GB for a million findings)
# and ran out of memory here.
. "$(dirname "$0")/lib.sh"

N=150000
LIMIT=$((128 * 1024 * 1024))

mkdir -p root/etc
printf 'a\n' > root/etc/a
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:root --name t6006 --serial 1 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1
# verify creates the database; the runs are then written as verify would
# write them, only faster than comparing 150,000 files twice.
expect_exit 0 "a database is created" \
	"$HALLMARK" verify dir:root --manifest m --pubkey ops.pub --db h.db --host seed
python3 - "$N" <<'PY'
import sqlite3, sys
n = int(sys.argv[1])
c = sqlite3.connect("h.db")
c.execute("delete from run_counts"); c.execute("delete from runs")
for run, off in ((1, 0), (2, n // 2)):
    c.execute("insert into runs values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
              (run, "web1", "dir:/srv", "t6006", 1, "00" * 32, "0011223344556677",
               None, "2026-01-01T00:00:0%dZ" % run, "2026-01-01T00:00:0%dZ" % run,
               "drift", 1, n, n, n, "0.1"))
    c.execute("insert into run_counts values (?, 'content', ?)", (run, n))
    c.executemany("insert into findings (run_id, kind, path, expected, actual, detail)"
                  " values (?, 'content', ?, ?, ?, NULL)",
                  ((run, b"/srv/d%03d/file-%08d" % (i % 997, i),
                    "sha256:" + "ab" * 32, "sha256:" + "cd" * 32)
                   for i in range(off, off + n)))
c.commit()
PY
[ $? -eq 0 ] && ok "two runs of $N findings each" || fail "two runs of $N findings each"

# A sanitizer build reserves terabytes of address space: it cannot run
# under any such limit, so the limit says nothing there.
if ! prlimit --as=$LIMIT "$HALLMARK" --version >/dev/null 2>&1; then
	skip "no address-space limit of $((LIMIT >> 20)) MiB runs hallmark here (a sanitizer build)"
	done_testing
	exit
fi
expect_exit 0 "history --diff --format json within $((LIMIT >> 20)) MiB of address space" \
	prlimit --as=$LIMIT "$HALLMARK" history --db h.db --diff --format json
python3 - "$N" out.txt <<'PY' && ok "and the JSON is whole: the right findings in each list, in path order" || fail "the JSON diff is whole"
import json, sys
n = int(sys.argv[1])
d = json.load(open(sys.argv[2]))
h = d["hosts"][0]
assert d["format"] == "hallmark-history-diff" and h["host"] == "web1"
assert h["last"]["id"] == 2 and h["previous"]["id"] == 1
assert len(h["new"]) == len(h["fixed"]) == len(h["persisting"]) == n // 2
for change, lo, hi in (("new", n, 3 * n // 2), ("fixed", 0, n // 2),
                       ("persisting", n // 2, n)):
    paths = [f["path"] for f in h[change]]
    assert paths == sorted(paths), change
    assert all(lo <= int(p[-8:]) < hi for p in paths), change
PY
expect_exit 0 "history --diff as text within the same limit" \
	prlimit --as=$LIMIT "$HALLMARK" history --db h.db --diff
expect_grep "^  $((N / 2)) new, $((N / 2)) fixed, $((N / 2)) persisting$" out.txt "and the totals add up"
expect_exit 0 "history --limit 0 --format json within the same limit" \
	prlimit --as=$LIMIT "$HALLMARK" history --db h.db --limit 0 --format json

done_testing
