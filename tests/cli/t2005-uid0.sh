#!/bin/sh
# A second root in a changed /etc/passwd is called out (issue 14, item 7):
# verify of a dir: target reads the changed file again, the way the
# account audit reads it, and names its uid-0 accounts besides root in the
# content finding's detail.
. "$(dirname "$0")/lib.sh"

"$HALLMARK" keygen -o k --no-passphrase >/dev/null 2>&1 || fail "keygen"
mkdir -p root/etc
printf 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n' > root/etc/passwd
printf 'x\n' > root/etc/hostname
"$HALLMARK" manifest dir:root -o m --name t2005 >/dev/null 2>&1 || fail "manifest"
"$HALLMARK" sign m --key k.key >/dev/null 2>&1 || fail "sign"
cp root/etc/passwd passwd.orig

# A changed /etc/passwd without a second root: the finding as before.
printf 'alice:x:1000:1000::/home/alice:/bin/sh\n' >> root/etc/passwd
expect_exit 1 "a new ordinary account is drift" "$HALLMARK" verify dir:root -m m -k k.pub
expect_grep '^  /etc/passwd +content and size differ: ' out.txt "a content finding"
if grep -q 'uid-0' out.txt; then fail "no uid-0 note without one"; else ok "no uid-0 note without one"; fi

# toor, uid 0: called out.
cp passwd.orig root/etc/passwd
printf 'toor:x:0:0::/root:/bin/sh\n' >> root/etc/passwd
expect_exit 1 "a second root is drift" "$HALLMARK" verify dir:root -m m -k k.pub
expect_grep "^DRIFT: 1 finding" out.txt "one finding"
expect_grep "^  /etc/passwd +content and size differ: .*\(uid-0 account 'toor' besides root\)$" out.txt \
	"the text report names the uid-0 account"
expect_exit 1 "json" "$HALLMARK" verify dir:root -m m -k k.pub --format json -o r.json
python3 - r.json <<'PY' && ok "json: the same detail, after the sizes" || fail "json: the same detail, after the sizes"
import json, sys
f = json.load(open(sys.argv[1]))["findings"]
assert len(f) == 1 and f[0]["kind"] == "content", f
assert f[0]["detail"].endswith("; uid-0 account 'toor' besides root"), f[0]
assert f[0]["detail"].startswith("size "), f[0]
PY

# Read as glibc reads it: " +0" is uid 0 too, a line glibc rejects is not
# an account, and two are both named.
cp passwd.orig root/etc/passwd
printf 'toor:x: +0:0::/root:/bin/sh\nbad:x:0x:0::/:/bin/sh\n  admin:x:000:0::/:/bin/sh\n' >> root/etc/passwd
expect_exit 1 "two more roots" "$HALLMARK" verify dir:root -m m -k k.pub
expect_grep "\(uid-0 accounts 'toor', 'admin' besides root\)$" out.txt "both named, the rejected line not"

# /etc/passwd replaced by a symlink: not followed, a type finding, no note.
rm root/etc/passwd && ln -s /etc/passwd root/etc/passwd
expect_exit 1 "a symlink instead" "$HALLMARK" verify dir:root -m m -k k.pub
if grep -q 'uid-0' out.txt; then fail "the symlink is not followed"; else ok "the symlink is not followed"; fi

# A tar: target is not read again: the finding as is.
rm root/etc/passwd && cp passwd.orig root/etc/passwd && printf 'toor:x:0:0::/root:/bin/sh\n' >> root/etc/passwd
tar -C root -cf t.tar .
expect_exit 1 "tar: drift" "$HALLMARK" verify tar:t.tar -m m -k k.pub
expect_grep '^  /etc/passwd +content and size differ: ' out.txt "the content finding"
if grep -q 'uid-0' out.txt; then fail "tar: no note"; else ok "tar: no note"; fi
done_testing
