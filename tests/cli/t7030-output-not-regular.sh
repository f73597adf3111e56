#!/bin/sh
# -o replaces only a regular file or nothing (issue 11, item 10).  A
# character device (a private copy of /dev/null), a FIFO and what
# /dev/stdout is (a link to /proc/self/fd/1, here on a pipe) are written
# into and are still what they were afterwards; a directory, a socket and
# a dangling symlink are refused (exit 2) and left alone.  Every command
# with -o goes through the same helper: manifest, sign, verify, audit,
# sbom; keygen never replaces anything.  No test touches the system's
# /dev: the nodes are private copies in the test folder.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

mkdir -p base/var/lib/dpkg
printf 'Package: t7\nStatus: install ok installed\nVersion: 1.0\nArchitecture: all\n\n' \
	> base/var/lib/dpkg/status
"$HALLMARK" manifest dir:base --name t7 --serial 1 -o base.manifest 2>/dev/null
"$HALLMARK" sign base.manifest --key ops.key >/dev/null 2>&1
cp base.manifest tosign

# Each command, as "NAME ARGS-BEFORE-O" (its -o comes last).
set -- \
	"manifest|$HALLMARK manifest dir:base --name t7" \
	"sign|$HALLMARK sign tosign --key ops.key" \
	"verify|$HALLMARK verify dir:base $V" \
	"verify --format json|$HALLMARK_VERIFY dir:base $V --format json" \
	"audit|$HALLMARK audit dir:base" \
	"sbom|$HALLMARK sbom dir:base"
kind() { stat -c %F "$1" 2>/dev/null || echo missing; }

for spec in "$@"; do
	name=${spec%%|*} cmd=${spec#*|}

	# A private /dev/null: streamed into, still the device.
	rm -f null
	if mknod null c 1 3 2>/dev/null; then
		$cmd -o null >out.txt 2>err.txt
		rc=$?
		[ "$rc" -le 1 ] && ok "$name -o null (a char device): exit $rc" ||
			{ fail "$name -o null: exit $rc"; sed 's/^/#   /' err.txt; }
		[ "$(kind null)" = "character special file" ] &&
			ok "$name: the device is still a device" ||
			fail "$name: the device was replaced by a $(kind null)"
	else
		skip "$name -o null: mknod needs CAP_MKNOD"
		skip "$name: the device is still a device"
	fi

	# A FIFO with a reader gets the output through it.
	rm -f fifo got
	mkfifo fifo
	cat fifo > got &
	reader=$!
	$cmd -o fifo >out.txt 2>err.txt
	rc=$?
	# If the command never opened the FIFO, the reader still waits.
	if kill -0 $reader 2>/dev/null; then
		[ -p fifo ] && timeout 5 sh -c ': > fifo' 2>/dev/null
		kill $reader 2>/dev/null
	fi
	wait $reader
	[ "$rc" -le 1 ] && [ -s got ] && ok "$name -o FIFO: the output went through it" ||
		{ fail "$name -o FIFO: exit $rc, $(wc -c < got) bytes read"; sed 's/^/#   /' err.txt; }
	[ "$(kind fifo)" = "fifo" ] && ok "$name: the FIFO is still a FIFO" ||
		fail "$name: the FIFO was replaced by a $(kind fifo)"

	# What /dev/stdout is, on a pipe: streamed, and the link stays a link.
	rm -f stdout-link piped
	ln -s /proc/self/fd/1 stdout-link
	sh -c "$cmd -o stdout-link 2>err.txt; echo \$? > rc.txt" | cat > piped
	rc=$(cat rc.txt)
	[ "$rc" -le 1 ] && [ -s piped ] && ok "$name -o /dev/stdout (piped): the output went down the pipe" ||
		{ fail "$name -o /dev/stdout (piped): exit $rc, $(wc -c < piped) bytes"; sed 's/^/#   /' err.txt; }
	[ "$(kind stdout-link)" = "symbolic link" ] && ok "$name: /dev/stdout is still a link" ||
		fail "$name: the /dev/stdout link was replaced by a $(kind stdout-link)"

	# Refused: a directory, a socket, a dangling symlink.
	rm -rf dir sock dangling
	mkdir dir
	python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('sock')"
	ln -s nowhere dangling
	for what in "dir:is a directory:directory" "sock:is a socket:socket" \
		    "dangling:a symlink to nothing:symbolic link"; do
		path=${what%%:*} rest=${what#*:}
		msg=${rest%%:*} kind_want=${rest#*:}
		expect_exit 2 "$name -o $path is refused" $cmd -o "$path"
		expect_grep "cannot write '$path': .*$msg" err.txt "$name -o $path: the message says why"
		[ "$(kind "$path")" = "$kind_want" ] && ok "$name: $path is untouched" ||
			fail "$name: $path became a $(kind "$path")"
	done
	[ ! -e nowhere ] && ok "$name: nothing created through the dangling link" ||
		fail "$name: a file was created through the dangling link"
	ls -A | grep -q '\.tmp-' && fail "$name: temporary files left: $(ls -A | grep '\.tmp-')" ||
		ok "$name: no temporary file left"
done

# keygen never replaces: a device at PREFIX.key stays a device.
rm -f dev.key dev.pub
if mknod dev.key c 1 3 2>/dev/null; then
	expect_exit 2 "keygen over a device is refused" "$HALLMARK" keygen -o dev --no-passphrase
	[ "$(kind dev.key)" = "character special file" ] && [ ! -e dev.pub ] &&
		ok "keygen: the device is still a device, no public key written" ||
		fail "keygen replaced the device ($(kind dev.key))"
else
	skip "keygen over a device: mknod needs CAP_MKNOD"
	skip "keygen: the device is still a device"
fi
# A regular file is still replaced atomically (a new inode), as before.
"$HALLMARK" manifest dir:base --name t7 -o m.reg 2>err.txt || sed "s/^/#   /" err.txt
i1=$(stat -c %i m.reg)
"$HALLMARK" manifest dir:base --name t7 -o m.reg 2>err.txt || sed "s/^/#   /" err.txt
[ "$(stat -c %i m.reg)" != "$i1" ] && ok "a regular file is replaced by a rename" ||
	fail "a regular file was written in place"
# A symlink to a regular file: the file is replaced, the link kept.
mkdir -p reports && ln -s reports/latest.txt latest && : > reports/latest.txt
expect_exit 0 "verify -o a symlink to a file" "$HALLMARK" verify dir:base $V -o latest
[ -L latest ] && [ -s reports/latest.txt ] && ok "the link is kept, the file it names written" ||
	fail "the link was replaced ($(kind latest))"
done_testing
