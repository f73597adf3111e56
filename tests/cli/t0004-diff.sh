#!/bin/sh
# hallmark diff: what differs between two manifests.
. "$(dirname "$0")/lib.sh"

mkdir -p root/etc root/usr && printf 'a\n' > root/etc/a && printf 'b\n' > root/usr/b
"$HALLMARK" manifest dir:root --name t0004 --serial 1 -o m1 2>/dev/null
expect_exit 0 "a manifest does not differ from itself" "$HALLMARK" diff m1 m1
printf 'A\n' > root/etc/a; chmod 600 root/usr/b; printf 'n\n' > root/etc/new; rm -r root/usr
"$HALLMARK" manifest dir:root --name t0004 --serial 2 -o m2 2>/dev/null
expect_exit 1 "changed trees differ" "$HALLMARK" diff m1 m2
expect_grep '^~ /etc/a content' out.txt "a content change is a ~ line"
expect_grep '^\+ /etc/new$' out.txt "an addition is a + line"
expect_grep '^- /usr \(with 1 entries below\)$' out.txt "a removed subtree is one - line"
expect_grep '^# serial: 1 -> 2$' out.txt "header changes are shown"
printf 'junk\n' > bad
expect_exit 2 "a file that is not a manifest is an error" "$HALLMARK" diff m1 bad
expect_grep "bad:1:" err.txt "naming the file and line"
done_testing
