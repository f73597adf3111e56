#!/bin/sh
# Readable drift (issue 14, item 7): a changed file is one finding that
# says what changed, content and size together; text cuts digests to 12
# hex digits, JSON and JUnit keep them whole.
. "$(dirname "$0")/lib.sh"

"$HALLMARK" keygen -o k --no-passphrase >/dev/null 2>&1 || fail "keygen"
mkdir -p root/etc
head -c 3000 /dev/zero | tr '\0' a > root/etc/big
printf 'one\n' > root/etc/same-size
printf 'x\n' > root/etc/kept
"$HALLMARK" manifest dir:root -o m --name t2004 >/dev/null 2>&1 || fail "manifest"
"$HALLMARK" sign m --key k.key >/dev/null 2>&1 || fail "sign"
old_big=$(sha256sum < root/etc/big | cut -c1-64)
old_same=$(sha256sum < root/etc/same-size | cut -c1-64)
head -c 1300 /dev/zero | tr '\0' b > root/etc/big
printf 'two\n' > root/etc/same-size
new_big=$(sha256sum < root/etc/big | cut -c1-64)
new_same=$(sha256sum < root/etc/same-size | cut -c1-64)
short() { printf '%.12s' "$1"; }

expect_exit 1 "drift" "$HALLMARK" verify dir:root -m m -k k.pub
expect_grep '^DRIFT: 2 findings in 2 paths' out.txt "two files, two findings"
expect_grep '^content 2$' out.txt "both of kind content, no size finding"
expect_grep "^  /etc/big +content and size differ: 2\.9 KiB -> 1\.3 KiB, sha256 $(short $old_big)\.\.\. -> $(short $new_big)\.\.\.$" \
	out.txt "content and size in one line, digests cut"
expect_grep "^  /etc/same-size +content differs: sha256 $(short $old_same)\.\.\. -> $(short $new_same)\.\.\.$" \
	out.txt "content alone"
if grep -q "$old_big" out.txt; then fail "no full digest in the findings' text"
else ok "no full digest in the findings' text"; fi

expect_exit 1 "json" "$HALLMARK" verify dir:root -m m -k k.pub --format json -o r.json
python3 - r.json "$old_big" "$new_big" <<'PY' && ok "json: one content finding, full digests, sizes in detail" || fail "json"
import json, sys
r = json.load(open(sys.argv[1]))
f = {x["path"]: x for x in r["findings"]}
assert len(r["findings"]) == 2, r["findings"]
b = f["/etc/big"]
assert b["kind"] == "content" and b["expected"] == sys.argv[2] and b["actual"] == sys.argv[3], b
assert b["detail"] == "size 3000 -> 1300", b
assert f["/etc/same-size"]["detail"] is None
assert r["stats"]["findings"]["size"] == 0 and r["stats"]["findings"]["content"] == 2
PY
expect_exit 1 "junit" "$HALLMARK" verify dir:root -m m -k k.pub --format junit
expect_grep "$new_big" out.txt "junit keeps the digest whole"

# Sizes that round alike are given in bytes.
head -c 125000 /dev/zero > root/etc/kept
"$HALLMARK" manifest dir:root -o m2 --name t2004 >/dev/null 2>&1 && "$HALLMARK" sign m2 --key k.key >/dev/null 2>&1
head -c 125001 /dev/zero > root/etc/kept
expect_exit 1 "one byte more" "$HALLMARK" verify dir:root -m m2 -k k.pub
expect_grep '^  /etc/kept +content and size differ: 125000 -> 125001 bytes, sha256 ' out.txt "in bytes"

done_testing
