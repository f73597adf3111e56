#!/bin/sh
# watch: the real watcher (fanotify, as root) on a private tmpfs reports
# each kind of change within 2 seconds, naming the writing process; allowed
# additions and changes outside the root stay quiet; a change made while
# it was stopped is found by the start scan; a kernel queue overflow and a
# burst over --max-pending are each recovered by a full scan that still
# finds the drift; --db records the scans and the batches with drift.
if [ "$(id -u)" != 0 ]; then
	echo "ok 1 - # skip fanotify filesystem marks need root (CAP_SYS_ADMIN)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
# A private mount namespace: the tmpfs (a whole file system under the
# mark) is seen by this test alone and goes away with it.
if [ -z "${HM_T8101_NS:-}" ]; then
	HM_T8101_NS=1 exec unshare --mount --propagation private sh "$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
fi
HM_TOP=${HM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

WPID=
stop_watch() {
	[ -n "$WPID" ] || return 0
	kill -CONT "$WPID" 2>/dev/null
	kill -TERM "$WPID" 2>/dev/null
	wait "$WPID"; wrc=$?
	WPID=
	return $wrc
}
trap 'stop_watch; umount -l "$T_DIR/fs" 2>/dev/null; chmod -R u+rwx "$T_DIR" 2>/dev/null; rm -rf "$T_DIR"' EXIT

mkdir fs && mount -t tmpfs -o mode=0755 hm-t8101 fs || { echo "cannot mount a tmpfs"; exit 2; }
# tmpfs reports file handles to fanotify since Linux 6.7; on an older
# kernel the tree lives in the test's folder, and the mark on that whole
# file system is filtered down to it like any other.
"$HALLMARK" watch dir:fs --manifest none --pubkey none >/dev/null 2>probe.txt
if grep -q "cannot report file handles" probe.txt; then
	echo "# tmpfs cannot report file handles here: the tree is in $T_DIR"
	umount fs
fi
R=fs/root
mkdir -p $R/etc $R/usr/bin $R/opt $R/srv/data/sub $R/var/log
for f in passwd hosts motd shadow resolv issue group; do printf '%s\n' "$f" > $R/etc/$f; done
printf 'tool\n' > $R/usr/bin/tool
printf 'a\n' > $R/srv/data/a; printf 'b\n' > $R/srv/data/sub/b
printf 'outside\n' > fs/outside
printf 'may_add: [/opt/**]\nignore: [/var/log/**]\n' > policy.yaml
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:$R --name t8101 --serial 1 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1
# The writer: a copy of python3 under a name no other process has.
cp "$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')" hm-writer
WRITER=$T_DIR/hm-writer

# wait_json FILE SECONDS PYTHON-CONDITION: poll FILE until a JSON line j
# satisfies the condition; the line goes to found.json.
wait_json() {
	python3 - "$@" <<'PY'
import json, sys, time
path, secs, cond = sys.argv[1], float(sys.argv[2]), sys.argv[3]
end = time.monotonic() + secs
while True:
    for line in open(path):
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if eval(cond, {"j": j}):
            open("found.json", "w").write(line)
            sys.exit(0)
    if time.monotonic() > end:
        sys.exit(1)
    time.sleep(0.02)
PY
}

start_watch() {
	out=$1; shift
	"$HALLMARK" watch dir:$R --manifest m --pubkey ops.pub --policy policy.yaml \
		--format json "$@" >"$out" 2>"$out.err" &
	WPID=$!
	wait_json "$out" 30 'j["event"] == "scan-end"'
}

expect_exit 2 "a target other than dir: is refused" \
	"$HALLMARK" watch tar:x.tar --manifest m --pubkey ops.pub
expect_grep "only dir:PATH can be watched" err.txt "naming what is missing"

start_watch w1.json && ok "the start scan runs and ends" || fail "the start scan runs and ends"
expect_grep '"event":"scan-begin".*"reason":"start"' w1.json "and says why it runs"
expect_grep '"event":"scan-end".*"findings":0' w1.json "a clean tree: no findings"

# write KIND PATH WHAT PYTHON: run the change as hm-writer, which stays
# alive a while, and wait 2 s for the finding naming it.
write() {
	kind=$1 path=$2 what=$3 code=$4
	"$WRITER" -c "import os, time
os.chdir('$R')
$code
time.sleep(3)" &
	wp=$!
	if wait_json w1.json 2 "j['event'] == 'finding' and j['source'] == 'change' and j['kind'] == '$kind' and j['path'] == '$path' and j['process']['pid'] == $wp"; then
		if grep -q "\"exe\":\"$WRITER\"" found.json &&
		   grep -q "\"detail\":\"[^\"]*pid $wp uid 0 (root) exe $WRITER cmdline " found.json; then
			ok "$what: reported within 2 s, naming pid $wp and its exe"
		else
			fail "$what: the writer is not named"; sed 's/^/#   /' found.json
		fi
	else
		fail "$what: no '$kind' finding for $path by pid $wp within 2 s"
		sed 's/^/#   /' w1.json | tail -n 5
	fi
}

write content /etc/passwd "modify" "open('etc/passwd', 'a').write('x')"
write mode /etc/hosts "chmod" "os.chmod('etc/hosts', 0o600)"
write uid /etc/motd "chown" "os.chown('etc/motd', 1234, 1234)"
write xattr /usr/bin/tool "setfattr" "os.setxattr('usr/bin/tool', 'user.evil', b'1')"
write added /etc/new "create where additions are not allowed" "open('etc/new', 'w').write('n')"
write missing /etc/shadow "delete" "os.unlink('etc/shadow')"
write content /etc/resolv "rename over" "open('etc/resolv.tmp', 'w').write('evil'); os.rename('etc/resolv.tmp', 'etc/resolv')"
write added /etc/toollink "a hardlink to a watched file" "os.link('usr/bin/tool', 'etc/toollink')"
write missing /srv/data "a directory renamed: its old place" "os.rename('srv/data', 'srv/moved')"
if grep -q '"detail":"with 3 entries below' found.json; then
	ok "the moved directory's contents are part of the finding"
else
	fail "the moved directory's contents are part of the finding"; sed 's/^/#   /' found.json
fi
wait_json w1.json 2 'j["event"] == "finding" and j["kind"] == "added" and j["path"] == "/srv/moved"' &&
	ok "a directory renamed: its new place" || fail "a directory renamed: its new place"

# Allowed additions and changes outside the root are not drift.
"$WRITER" -c "import os; os.makedirs('$R/opt/app'); open('$R/opt/app/x', 'w').write('x'); open('fs/outside', 'a').write('y'); open('$R/var/log/syslog', 'a').write('z')"
write content /etc/group "a last change" "open('etc/group', 'a').write('x')"
if grep -q '"path":"/opt\|"path":"/var/log\|outside' w1.json; then
	fail "an allowed addition, an ignored path and a change outside the root are quiet"; grep 'opt\|log\|outside' w1.json | sed 's/^/#   /'
else
	ok "an allowed addition, an ignored path and a change outside the root are quiet"
fi
if grep -q "\"process\":{\"pid\":$WPID," w1.json; then
	fail "nothing the watcher did itself is reported"
else
	ok "nothing the watcher did itself is reported"
fi
if grep '"event":"finding"' w1.json | grep -v '"source":"change"' | grep -q .; then
	fail "every finding came from a change"
else
	ok "every finding came from a change"
fi

# A writer gone before its event is read is said to have exited.
kill -STOP "$WPID"
"$WRITER" -c "import os; os.chmod('$R/etc/issue', 0o640)" &
gone=$!
wait $gone
kill -CONT "$WPID"
wait_json w1.json 2 "j['event'] == 'finding' and j['path'] == '/etc/issue' and j['process'] == {'pid': $gone, 'exited': True}" &&
	grep -q "\"detail\":\"pid $gone exited\"" found.json &&
	ok "a writer already gone is named by pid, 'exited'" ||
	{ fail "a writer already gone is named by pid, 'exited'"; grep issue w1.json | sed 's/^/#   /'; }
chmod 0644 $R/etc/issue

stop_watch && ok "SIGTERM stops the watcher with exit 0" || fail "SIGTERM stops the watcher with exit 0 (exit $wrc)"
sed 's/^/#   /' w1.json.err | head -n 5

# Down: a change nobody watched; the start scan finds it.
chmod 0700 $R/usr/bin
start_watch w2.json --db h.db && ok "restarted" || fail "restarted"
wait_json w2.json 1 'j["event"] == "finding" and j["source"] == "scan" and j["kind"] == "mode" and j["path"] == "/usr/bin"' &&
	ok "a change made while it was stopped is found by the start scan" ||
	fail "a change made while it was stopped is found by the start scan"

# A queue overflow: the watcher stopped while more events than the
# kernel's queue holds (16384) arrive, and a drift among them.
kill -STOP "$WPID"
python3 -c "
import os
os.makedirs('$R/opt/burst')
for i in range(20000):
    open('$R/opt/burst/f%d' % i, 'w').close()
open('$R/etc/issue', 'a').write('overflow')
"
kill -CONT "$WPID"
wait_json w2.json 60 'j["event"] == "scan-begin" and j["reason"] == "event queue overflowed"' &&
	ok "an overflowed event queue is said and recovered by a full scan" ||
	{ fail "an overflowed event queue is said and recovered by a full scan"; tail -n 3 w2.json | sed 's/^/#   /'; }
wait_json w2.json 60 'j["event"] == "finding" and j["source"] == "scan" and j["kind"] == "content" and j["path"] == "/etc/issue"' &&
	ok "and the drift made during the overflow is found" ||
	fail "and the drift made during the overflow is found"
chmod 0604 $R/etc/hosts
wait_json w2.json 2 'j["event"] == "finding" and j["source"] == "change" and j["kind"] == "mode" and j["path"] == "/etc/hosts"' &&
	ok "changes are checked again after the overflow" ||
	fail "changes are checked again after the overflow"
sleep 0.3
stop_watch

# A burst over --max-pending: the table is dropped, a full scan runs.
start_watch w3.json --max-pending 100 || fail "started with --max-pending 100"
python3 -c "
import os
os.makedirs('$R/opt/burst2')
for i in range(1000):
    open('$R/opt/burst2/f%d' % i, 'w').close()
os.chmod('$R/etc/passwd', 0o640)
"
wait_json w3.json 30 'j["event"] == "scan-begin" and j["reason"] == "too many paths changed at once"' &&
	ok "a burst over --max-pending runs a full scan" ||
	{ fail "a burst over --max-pending runs a full scan"; tail -n 3 w3.json | sed 's/^/#   /'; }
wait_json w3.json 30 'j["event"] == "finding" and j["kind"] == "mode" and j["path"] == "/etc/passwd"' &&
	ok "and the drift in the burst is found" || fail "and the drift in the burst is found"
stop_watch

runs=$(python3 -c "import sqlite3; print(sqlite3.connect('h.db').execute('select count(*) from runs').fetchone()[0])")
[ "$runs" = 3 ] && ok "--db recorded the start scan, the overflow scan and the batch with drift" ||
	fail "--db recorded the start scan, the overflow scan and the batch with drift (got $runs runs)"
expect_exit 0 "hallmark history reads them" "$HALLMARK" history --db h.db
expect_grep '^  1 .* drift .*t8101 #1  dir:fs/root  .*mode=' out.txt "the start scan is a run with its drift"
expect_grep '^  3 .* drift +1  t8101 #1  dir:fs/root \(watch\)  mode=1$' out.txt "the batch is a run of its own, its target marked (watch)"

done_testing
