#!/bin/sh
# When the manifest writer cannot write its spool (the unnamed temporary
# file the entry lines wait in), the message names the folder it is in
# (issue 11, item 18), and nothing is left at the output's name.  The
# write is made to fail with a file-size limit.
. "$(dirname "$0")/lib.sh"

mkdir -p tree out
i=0
while [ $i -lt 300 ]; do : > tree/file-with-a-long-enough-name-$i; i=$((i + 1)); done
# 8 blocks: the header and the output fit, the spool (about 40 KiB) not.
(
	trap '' XFSZ
	ulimit -f 8
	"$HALLMARK" manifest dir:tree -o out/t.manifest
) >out.txt 2>err.txt
rc=$?
[ "$rc" -eq 2 ] && ok "the failed spool write is an error (exit 2)" ||
	{ fail "exit $rc, expected 2"; sed 's/^/#   /' err.txt; }
expect_grep "cannot write a temporary file in 'out': File too large" err.txt \
	"the message names the spool's folder"
[ -z "$(ls -A out)" ] && ok "nothing left in the output folder" ||
	fail "left in out/: $(ls -A out)"
# To stdout, the spool goes to $TMPDIR and is named too.
mkdir -p spool
(
	trap '' XFSZ
	ulimit -f 8
	TMPDIR=$PWD/spool "$HALLMARK" manifest dir:tree
) >out.txt 2>err.txt
rc=$?
[ "$rc" -eq 2 ] && ok "to stdout: exit 2" || fail "to stdout: exit $rc, expected 2"
expect_grep "cannot write a temporary file in '$PWD/spool'" err.txt \
	"to stdout: the message names \$TMPDIR"
done_testing
