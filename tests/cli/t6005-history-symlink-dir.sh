#!/bin/sh
# The history database is a file the user names, so links among the
# folders of its path are followed (/var/lib -> /srv/var/lib is common);
# the database itself must still not be a symbolic link (docs/history.md),
# whether it points to a database, to nothing, or sits under a linked
# folder.  Before the fix SQLite's NOFOLLOW refused a link anywhere in
# the path.
. "$(dirname "$0")/lib.sh"

mkdir -p root/etc real/state/sub
printf 'a\n' > root/etc/a
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:root --name t6005 --serial 1 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1
V() { "$HALLMARK" verify dir:root --manifest m --pubkey ops.pub "$@"; }
ln -s real/state state
ln -s real mid

expect_exit 0 "verify --db under a linked folder records the run" V --db state/h.db --host web1
[ -f real/state/h.db ] && [ ! -L real/state/h.db ] && ok "in the folder the link names" ||
	fail "in the folder the link names"
expect_exit 0 "history reads it through the link" "$HALLMARK" history --db state/h.db
expect_grep '^host web1' out.txt "and lists the run"
expect_exit 0 "a linked folder in the middle of the path" V --db "$T_DIR/mid/state/sub/../h.db" --host web2
expect_exit 0 "history through it" "$HALLMARK" history --db mid/state/h.db --host web2
expect_grep '^host web2' out.txt "shows the run of web2"

# The database itself as a link: refused, whatever it points to.
ln -s h.db real/state/link.db
cp real/state/h.db before.db
expect_exit 2 "a database that is a link to a database is refused by verify" V --db state/link.db
expect_grep "history database 'state/link.db' is a symbolic link: refusing it" err.txt "with the reason"
expect_exit 2 "and by history" "$HALLMARK" history --db state/link.db
expect_grep "history database 'state/link.db' is a symbolic link: refusing it" err.txt "with the reason"
ln -s h.db direct.db
expect_exit 2 "also without any linked folder" "$HALLMARK" history --db direct.db
ln -s real/state/none.db dangling.db
expect_exit 2 "a dangling link is not followed to create a database" V --db dangling.db
[ ! -e real/state/none.db ] && ok "and nothing was created at its target" || fail "and nothing was created at its target"
python3 -c "import sqlite3; print(sqlite3.connect('before.db').execute('select count(*) from runs').fetchone()[0])" > n0.txt
python3 -c "import sqlite3; print(sqlite3.connect('real/state/h.db').execute('select count(*) from runs').fetchone()[0])" > n1.txt
cmp -s n0.txt n1.txt && ok "the refused runs recorded nothing" || fail "the refused runs recorded nothing"

done_testing
