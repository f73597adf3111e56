#!/bin/sh
# Files whose digest the comparison does not use are not read (issue 11,
# item 9): a file added where the manifest has nothing is "added" (or
# allowed by may_add) whatever it holds, yet a 16 TiB sparse file under
# /home kept verify reading zeros for hours.  Checked without timing: a
# 16 TiB file must not stop verify within 20 s, and strace shows that a
# large added file is never opened.  Files the comparison needs are still
# hashed, hard links across an added and a compared path included, and
# `hallmark manifest` still hashes everything.
. "$(dirname "$0")/lib.sh"

"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
mkdir -p root/etc root/home root/var/lib
printf 'root:x:0:0::/root:/bin/sh\n' > root/etc/passwd
head -c 40000000 /dev/urandom > root/var/lib/big.db
printf 'abc\n' > root/var/lib/state
"$HALLMARK" manifest dir:root --name t7026 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1
cat > policy.yaml <<'P'
may_add: [/home/**]
may_change: [/var/lib/state]
P
V="--manifest m --pubkey ops.pub --policy policy.yaml"

want=$(sha256sum root/var/lib/big.db | cut -d' ' -f1)
expect_grep "^/var/lib/big.db .*sha256=$want" m "manifest still hashes every file (a 40 MB one too)"

# 16 TiB (less a block: ext4's largest file), a few KB on disk.
if truncate -s 17592186040320 root/home/huge 2>/dev/null ||
   truncate -s 1T root/home/huge 2>/dev/null; then
	expect_exit 0 "a huge sparse file added under may_add: verify finishes at once" \
		timeout 20 "$HALLMARK" verify dir:root $V
	expect_grep '1 addition' out.txt "counted as an allowed addition"
	mv root/home/huge root/etc/huge
	expect_exit 1 "the same file added outside may_add: drift, at once" \
		timeout 20 "$HALLMARK" verify dir:root $V --format json -o r.json
	expect_grep '"kind": "added"' r.json "reported as added"
	rm root/etc/huge
	mkdir root/home/big.d && truncate -s 1T root/home/big.d/f
	mv root/home/big.d root/etc/passwd.d
	expect_exit 1 "a huge file inside an added folder: drift, at once" \
		timeout 20 "$HALLMARK" verify dir:root $V
	rm -r root/etc/passwd.d
	# The manifest has a file there, the target a huge one of another
	# type's place: a folder in the manifest, a file in the target.
	mv root/var/lib lib.saved && truncate -s 1T root/var/lib
	expect_exit 1 "a huge file where the manifest has a folder: drift, at once" \
		timeout 20 "$HALLMARK" verify dir:root $V --format json -o r.json
	expect_grep '"kind": "type"' r.json "reported as a type change"
	rm root/var/lib && mv lib.saved root/var/lib
else
	skip "cannot create a sparse file here"
fi

expect_exit 0 "the tree verifies again" "$HALLMARK" verify dir:root $V

# Never opened: strace shows no open of a large added file.
head -c 40000000 /dev/urandom > root/home/added.bin
if command -v strace >/dev/null 2>&1; then
	strace -f -qq -o trace.txt -e trace=openat "$HALLMARK" verify dir:root $V \
		>out.txt 2>err.txt
	if grep -q 'added.bin' trace.txt; then
		fail "a large added file is never opened"
		grep 'added.bin' trace.txt | sed 's/^/#   /' | head -3
	else
		ok "a large added file is never opened"
	fi
else
	skip "no strace"
fi
rm root/home/added.bin

# What the comparison needs is still read.  A large file the manifest has:
# one byte changed, same size, is a content finding.
cp root/var/lib/big.db big.saved
printf 'X' | dd of=root/var/lib/big.db bs=1 seek=1000 conv=notrunc 2>/dev/null
expect_exit 1 "a large compared file is still hashed" \
	"$HALLMARK" verify dir:root $V --format json -o r.json
expect_grep '"kind": "content"' r.json "its changed content is found"

# A hard link: its first name is an allowed addition (not read), its
# second is the compared file, which must still be hashed.
ln root/var/lib/big.db root/home/a-link
expect_exit 1 "a hard link added first does not hide its other name's content" \
	"$HALLMARK" verify dir:root $V --format json -o r.json
expect_grep '"kind": "content"' r.json "the content change is found"
cp big.saved root/var/lib/big.db     # rewrites the shared inode
expect_exit 0 "and once restored, both names verify" "$HALLMARK" verify dir:root $V
rm root/home/a-link

# may_change: a different size is an allowed change without reading it;
# the same size still needs the digest to count a change, and mode still
# counts.
printf 'a longer state\n' > root/var/lib/state
expect_exit 0 "may_change with another size passes" "$HALLMARK" verify dir:root $V
expect_grep '1 change' out.txt "counted as one allowed change"
printf 'xyz\n' > root/var/lib/state
expect_exit 0 "may_change with the same size passes" "$HALLMARK" verify dir:root $V
expect_grep '1 change' out.txt "counted as one allowed change"
printf 'abc\n' > root/var/lib/state
expect_exit 0 "may_change unchanged passes" "$HALLMARK" verify dir:root $V
expect_grep '0 changes' out.txt "with no change counted"
printf 'a longer state\n' > root/var/lib/state && chmod 600 root/var/lib/state
expect_exit 1 "may_change still checks the mode" "$HALLMARK" verify dir:root $V \
	--format json -o r.json
expect_grep '"kind": "mode"' r.json "reported as a mode finding"

# A sparse file whose digest is needed is hashed with its holes fed from a
# zero block (SEEK_DATA): the digest is still that of every byte.
mkdir sparse
if truncate -s 300M sparse/s 2>/dev/null; then
	printf 'hello' | dd of=sparse/s bs=1 seek=1000000 conv=notrunc 2>/dev/null
	printf 'world' | dd of=sparse/s bs=1M seek=200 conv=notrunc 2>/dev/null
	printf 'tail' >> sparse/s
	truncate -s 100M sparse/hole-only
	"$HALLMARK" manifest dir:sparse -o ms 2>/dev/null
	want=$(sha256sum sparse/s | cut -d' ' -f1)
	expect_grep "^/s .*sha256=$want" ms "a sparse file's digest covers its holes and data"
	want=$(sha256sum sparse/hole-only | cut -d' ' -f1)
	expect_grep "^/hole-only .*sha256=$want" ms "and a file that is all hole"
fi

done_testing
