#!/bin/sh
# `history` only reads: it opens the database read-only, never writes a
# schema into an empty file, works for a user who may not write the file
# or its folder, and on a read-only mount; where it cannot read, and where
# verify cannot write, the message gives the true reason (not the last
# "No such file" SQLite met).
. "$(dirname "$0")/lib.sh"

mkdir -p root/etc
printf 'a\n' > root/etc/a
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:root --name t6004 --serial 1 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1
expect_exit 0 "a run is recorded" \
	"$HALLMARK" verify dir:root --manifest m --pubkey ops.pub --db h.db --host web1
[ ! -e h.db-wal ] && [ ! -e h.db-shm ] && ok "and the WAL files are gone after it" ||
	fail "and the WAL files are gone after it"

# An empty file is not a history, and is not given one.
: > empty.db
expect_exit 2 "history of an empty file is refused" "$HALLMARK" history --db empty.db
expect_grep "no history at 'empty.db': the file is empty" err.txt "and says there is no history there"
[ ! -s empty.db ] && [ ! -e empty.db-wal ] && [ ! -e empty.db-shm ] &&
	ok "and nothing was written" || fail "and nothing was written ($(stat -c %s empty.db) bytes)"
python3 -c "import sqlite3; c = sqlite3.connect('notables.db'); c.execute('pragma user_version = 0'); c.execute('create table t (x)'); c.execute('drop table t'); c.commit()"
cp notables.db notables.orig
expect_exit 2 "an SQLite file without tables is refused" "$HALLMARK" history --db notables.db
expect_grep "no history at 'notables.db': the database is empty" err.txt "as an empty database"
cmp -s notables.db notables.orig && ok "and left as it was" || fail "and left as it was"
expect_exit 2 "a missing file" "$HALLMARK" history --db nothere.db
expect_grep "no history at 'nothere.db': .*No such file" err.txt "is no history there"

# A user who may read the file but write neither it nor its folder.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
	chmod 755 "$T_DIR"
	mkdir ro && cp h.db ro/h.db && chmod 644 ro/h.db && chmod 555 ro
	expect_exit 0 "history as another user, folder and file read-only to it" \
		$NOBODY "$HALLMARK" history --db ro/h.db
	expect_grep '^  1 .* pass ' out.txt "lists the run"
	[ "$(ls ro)" = h.db ] && ok "and creates nothing beside it" || fail "and creates nothing beside it ($(ls ro))"
	expect_exit 2 "verify --db there cannot record" \
		$NOBODY "$HALLMARK" verify dir:root --manifest m --pubkey ops.pub --db ro/h.db
	expect_grep "cannot write history database 'ro/h.db': Permission denied" err.txt "and says why"
	# The file writable, the folder not: SQLite cannot create the -wal.
	mkdir ro2 && cp h.db ro2/h.db && chmod 666 ro2/h.db && chmod 555 ro2
	expect_exit 2 "verify --db in a folder it cannot write" \
		$NOBODY "$HALLMARK" verify dir:root --manifest m --pubkey ops.pub --db ro2/h.db
	expect_grep "history database 'ro2/h.db' is in WAL mode and SQLite cannot create its '-wal' and '-shm' files in '.*/ro2': Permission denied" err.txt "names the folder and the reason"
	chmod 755 ro ro2
else
	skip "history as another user (needs root and setpriv)"
fi

# A read-only mount of the folder.
if [ "$(id -u)" = 0 ] && unshare --mount true 2>/dev/null; then
	mkdir -p mnt/sub && cp h.db mnt/h.db && cp h.db mnt/sub/h.db
	# mnt/sub: a -wal without its -shm, which cannot be created there.
	python3 - <<'PY'
import shutil, sqlite3
c = sqlite3.connect("mnt/sub/h.db")
c.execute("pragma wal_autocheckpoint = 0")
c.execute("update runs set host = host")
c.commit()
shutil.copy("mnt/sub/h.db-wal", "wal.copy")
c.close()
shutil.copy("wal.copy", "mnt/sub/h.db-wal")
PY
	# mnt/big.db: enough findings that history blocks on a full pipe.
	cp h.db mnt/big.db
	python3 - <<'PY'
import sqlite3
c = sqlite3.connect("mnt/big.db")
c.execute("insert into runs select 2, host, target, manifest_name, serial,"
          " manifest_sha256, key_id, policy, started, finished, 'drift', 1,"
          " entries, target_entries, 5000, tool_version from runs where id = 1")
c.executemany("insert into findings (run_id, kind, path, actual) values (2, 'added', ?, 'file')",
              ((b"/srv/f%05d" % i,) for i in range(5000)))
c.execute("insert into run_counts values (2, 'added', 5000)")
c.commit()
c.close()
PY
	mkdir mntro
	cat > ro.sh <<EOS
mount --bind -o ro mnt mntro || exit 77
# A writer through the writable path while history reads the read-only
# one without locks: history blocks on a full pipe, the writer commits
# and checkpoints into the file, then history must not call its output good.
mkfifo pipe
"$HALLMARK" history --db mntro/big.db --diff > pipe 2> ro-chg.err &
hp=\$!
exec 3< pipe
sleep 1
python3 -c "import sqlite3; c = sqlite3.connect('mnt/big.db'); c.execute('update runs set host = host'); c.commit(); c.close()"
cat <&3 > ro-chg.out
wait \$hp; echo \$? > ro-chg.rc
mount --bind -o ro mnt mnt || exit 77
"$HALLMARK" history --db mnt/h.db > ro-hist.out 2> ro-hist.err; echo \$? > ro-hist.rc
"$HALLMARK" history --db mnt/sub/h.db > ro-sub.out 2> ro-sub.err; echo \$? > ro-sub.rc
"$HALLMARK" verify dir:root --manifest m --pubkey ops.pub --db mnt/h.db > ro-ver.out 2> ro-ver.err; echo \$? > ro-ver.rc
EOS
	unshare --mount sh ro.sh
	if [ $? -eq 77 ]; then
		skip "read-only bind mount (mount refused)"
	else
		[ "$(cat ro-hist.rc)" = 0 ] && ok "history on a read-only mount reads the WAL database" ||
			{ fail "history on a read-only mount (exit $(cat ro-hist.rc))"; sed 's/^/#   /' ro-hist.err; }
		expect_grep '^  1 .* pass ' ro-hist.out "and lists the run"
		[ "$(cat ro-sub.rc)" = 2 ] && ok "a -wal without -shm on a read-only mount cannot be read (exit 2)" ||
			fail "a -wal without -shm on a read-only mount (exit $(cat ro-sub.rc))"
		expect_grep "cannot create its '-wal' and '-shm' files in '.*/mnt/sub': Read-only file system" ro-sub.err "and the reason is the read-only file system"
		[ "$(cat ro-chg.rc)" = 2 ] && ok "a database changed by a writer elsewhere while read without locks: exit 2" ||
			fail "a database changed while read without locks (exit $(cat ro-chg.rc))"
		expect_grep "history database 'mntro/big.db' changed while it was read without locks" ro-chg.err "and says the output may be inconsistent"
		[ "$(cat ro-ver.rc)" = 2 ] && ok "verify --db on a read-only mount: exit 2" ||
			fail "verify --db on a read-only mount (exit $(cat ro-ver.rc))"
		expect_grep "cannot write history database 'mnt/h.db': Read-only file system" ro-ver.err "says the file system is read-only, not 'No such file'"
	fi
else
	skip "read-only bind mount (needs root and unshare)"
fi

done_testing
