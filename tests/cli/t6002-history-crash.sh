#!/bin/sh
# Crash safety of the history: `verify --db` is killed with SIGKILL at
# random moments (while walking, hashing or recording); after each kill the
# database passes PRAGMA integrity_check and every run recorded before is
# still there with all its findings (one transaction per run, WAL with
# synchronous=FULL).
. "$(dirname "$0")/lib.sh"

ROUNDS=${HM_CRASH_ROUNDS:-18}

# About 20k entries, so one verify takes from a third of a second (idle,
# warm cache) to a couple of seconds (loaded machine); half the files
# drift in mode, so recording a run writes thousands of findings.
python3 - <<'PY'
import os
for d in range(100):
    p = "big/d%03d" % d
    os.makedirs(p)
    for f in range(200):
        with open("%s/f%03d" % (p, f), "wb") as out:
            out.write(os.urandom(512))
PY
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:big --name t6002 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1
python3 - <<'PY'
import os
for d in range(0, 100, 2):
    for f in range(0, 200, 2):
        os.chmod("big/d%03d/f%03d" % (d, f), 0o600)
PY

# check.py: integrity ok, and every run seen before is still there with
# the same number of findings (state kept in seen.json).
cat > check.py <<'PY'
import json, os, sqlite3, sys
seen = json.load(open("seen.json")) if os.path.exists("seen.json") else {}
c = sqlite3.connect("h.db")
ic = c.execute("pragma integrity_check").fetchone()[0]
if ic != "ok":
    sys.exit("integrity_check: %s" % ic)
runs = {str(i): (n, k) for i, n, k in c.execute(
    "select r.id, r.findings, (select count(*) from findings f where f.run_id = r.id)"
    " from runs r")}
for i, (n, k) in runs.items():
    if n != k:
        sys.exit("run %s: %d findings recorded, %d rows" % (i, n, k))
for i, n in seen.items():
    if i not in runs or runs[i][0] != n:
        sys.exit("run %s with %d findings is gone" % (i, n))
json.dump({i: v[0] for i, v in runs.items()}, open("seen.json", "w"))
print(len(runs))
PY

t0=$(date +%s%N)
expect_exit 1 "a first, complete run is recorded" \
	"$HALLMARK" verify dir:big --manifest m --pubkey ops.pub --db h.db --host crash
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# one run takes $ms ms"
python3 check.py > n.txt 2>err.txt && [ "$(cat n.txt)" = 1 ] && ok "one run, intact" || fail "one run, intact"

# Kill at a random moment from 0 to 2 s, and within about one run's
# duration, so that most kills land inside a run on fast machines too.
# The delays are drawn up front: starting python3 between launching and
# killing would add its own start-up time (seconds on a loaded machine).
python3 -c "
import random
top = min(2.0, max(0.2, 1.1 * $ms / 1000))
print(' '.join(str(round(random.uniform(0, top), 3)) for _ in range($ROUNDS)))" > delays.txt
bad=0 killed=0 done_runs=0 prev=1 i=0
for delay in $(cat delays.txt); do
	i=$((i + 1))
	chmod 600 "big/d001/f$(printf %03d $i)"      # findings differ per run
	"$HALLMARK" verify dir:big --manifest m --pubkey ops.pub --db h.db --host crash >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	echo "# round $i: killed after $delay s: exit $rc"
	if [ $rc -eq 137 ]; then killed=$((killed + 1)); else done_runs=$((done_runs + 1)); fi
	if ! python3 check.py > n.txt 2>err.txt; then
		bad=$((bad + 1))
		sed 's/^/#   round '$i': /' err.txt
		continue
	fi
	n=$(cat n.txt)
	if [ "$n" -lt "$prev" ]; then
		bad=$((bad + 1))
		echo "#   round $i: run count went down from $prev to $n"
	fi
	prev=$n
done
echo "# $killed runs killed, $done_runs completed, $prev recorded"
[ $bad -eq 0 ] && ok "after each of $ROUNDS kills: integrity ok, no earlier run lost or partial" \
	|| fail "after each of $ROUNDS kills: integrity ok, no earlier run lost or partial ($bad bad)"
[ $killed -gt 0 ] && ok "some runs were really killed" || skip "no run was killed before it ended (slow timing)"

expect_exit 1 "the database still takes a run afterwards" \
	"$HALLMARK" verify dir:big --manifest m --pubkey ops.pub --db h.db --host crash
python3 check.py > n.txt 2>err.txt && [ "$(cat n.txt)" -eq $((prev + 1)) ] \
	&& ok "and records it" || fail "and records it"
expect_exit 0 "history lists them" "$HALLMARK" history --db h.db --limit 0
[ "$(grep -cE '^  [0-9]' out.txt)" -eq $((prev + 1)) ] && ok "every run is listed" || fail "every run is listed"

done_testing
