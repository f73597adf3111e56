#!/bin/sh
# What a member's logical size may claim.
#
# GNU "realsize": libarchive takes the realsize field of an old GNU
# header as the size of any member, where GNU tar, Python and Go read it
# for sparse ('S') members only; the reader made up zeros up to it.  A
# member that is not sparse and whose data ends before its size is now an
# error naming it (exit 2), for every command.
#
# Sparse holes: hashing holes is SHA-256 over zeros (about 1.6 GB/s): a
# 5 KiB archive claiming 60 GB of holes took 37 s, 1 TiB about 12
# minutes a member, with no cap over the stream.  Holes of all members
# together are capped (HM_LIMIT_TAR_HOLE_BYTES, 16 GiB) before they are
# hashed, and the logical bytes of all members together
# (HM_LIMIT_TAR_STREAM_BYTES, 256 GiB) from each header.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

# A tar written block by block (tests/cli/rawtar.py says what it takes).
raw() { python3 "$HM_TOP/tests/cli/rawtar.py" "$@"; }

# ---- GNU realsize on a plain member
raw realsize.tar '[dict(name="./", type="5", gnu=True), dict(name="opt/", type="5", gnu=True),
	dict(name="opt/pwned", data=b"hi\n", gnu=True, realsize=4096)]'
python3 -c 'import tarfile, sys; print([m.size for m in tarfile.open(sys.argv[1]) if m.isfile()])' realsize.tar > py.txt
expect_grep '^\[3\]$' py.txt "Python reads 3 bytes"
if tar --version 2>/dev/null | grep -q GNU; then
	tar -tvf realsize.tar > list.txt
	expect_grep ' 3 .* opt/pwned$' list.txt "GNU tar reads 3 bytes"
else
	skip "GNU tar is not installed"
fi
tar_refused "a GNU realsize on a member that is not sparse" \
	"tar member '/opt/pwned': its header says 4096 bytes but its data holds 3 and it is not sparse" realsize.tar
# A realsize that would be a terabyte of zeros: refused at once too.
raw realsize-big.tar '[dict(name="./", type="5", gnu=True), dict(name="opt/", type="5", gnu=True),
	dict(name="opt/pwned", data=b"hi\n", gnu=True, realsize=(1 << 40) - 1)]'
expect_exit 2 "a GNU realsize of a terabyte on a plain member: refused within seconds" \
	timeout 20 "$HALLMARK" manifest tar:realsize-big.tar -o pwned.manifest
expect_grep "not sparse|HM_LIMIT_TAR" err.txt "saying why"

# Real sparse files (GNU tar --sparse, old GNU and the three pax
# formats), one of them all hole, are still read as their logical
# content, the same as dir:.
mkdir -p sp/opt && printf 'head' > sp/opt/holes && truncate -s 64M sp/opt/holes &&
	printf 'tail' >> sp/opt/holes && truncate -s 10M sp/opt/allhole &&
	chmod 644 sp/opt/* && chmod 755 sp sp/opt
"$HALLMARK" manifest dir:sp --name t --serial 1 -o sp-dir.manifest 2>err.txt
want=$(grep '^/opt/' sp-dir.manifest)
if tar --version 2>/dev/null | grep -q GNU; then
	for fmt in gnu posix:0.0 posix:0.1 posix:1.0; do
		case $fmt in
		gnu) tar --sparse --format=gnu --numeric-owner -C sp -cf sp.tar . ;;
		*) tar --sparse --format=posix --sparse-version="${fmt#posix:}" --numeric-owner \
			-C sp -cf sp.tar . ;;
		esac
		"$HALLMARK" manifest tar:sp.tar --name t --serial 1 -o sp-tar.manifest 2>err.txt
		if [ -n "$want" ] && [ "$(grep '^/opt/' sp-tar.manifest)" = "$want" ]; then
			ok "GNU tar --sparse, format $fmt: the same entries as dir:"
		else
			fail "GNU tar --sparse, format $fmt: the same entries as dir:"
			grep '^/opt/' sp-tar.manifest sp-dir.manifest | sed 's/^/#   /'; sed 's/^/#   /' err.txt
		fi
	done
else
	skip "GNU tar is not installed"
fi

# ---- holes over the stream
mktar g60.tar './:d' 'opt/:d' 'opt/pwned:s:60000000000'
[ "$(wc -c < g60.tar)" -le 10240 ] && ok "60 GB of holes in $(wc -c < g60.tar) bytes" || fail "60 GB of holes in $(wc -c < g60.tar) bytes"
s0=$(date +%s)
tar_refused "a sparse member claiming 60 GB of holes" \
	"tar member '/opt/pwned': holes of sparse members add up to more than 17179869184 bytes in the stream \(HM_LIMIT_TAR_HOLE_BYTES\)" g60.tar
s1=$(date +%s)
[ $((s1 - s0)) -lt 60 ] && ok "every command refused it within $((s1 - s0)) s" || fail "refused slowly ($((s1 - s0)) s)"
# Each member under the cap, all of them over it.
mktar many.tar './:d' 'opt/:d' 'opt/a:s:9663676416' 'opt/b:s:9663676416'
expect_exit 2 "two members of 9 GiB of holes each: refused" timeout 60 "$HALLMARK" manifest tar:many.tar -o pwned.manifest
expect_grep "tar member '/opt/b': holes .* \(HM_LIMIT_TAR_HOLE_BYTES\)" err.txt "at the second member"
# Just under the cap is read: 1 GiB, hashed as zeros.
mktar g1.tar './:d' 'opt/:d' 'opt/f:s:1073741824'
expect_exit 0 "a member with 1 GiB of holes is read" "$HALLMARK" manifest tar:g1.tar --name t --serial 1 -o g1.manifest
want=$(python3 -c 'import hashlib; h = hashlib.sha256(b"x" * 512); z = bytes(1 << 20)
n = (1 << 30) - 512
h.update(bytes((1 << 20) - 512)); n -= (1 << 20) - 512
while n: h.update(z); n -= 1 << 20
print(h.hexdigest())')
expect_grep "^/opt/f type=file .* size=1073741824 sha256=$want\$" g1.manifest "its digest is that of its logical content"

# ---- logical size over the stream
for sz in 1099511627776 300000000000; do
	mktar big.tar './:d' 'opt/:d' "opt/pwned:s:$sz"
	s0=$(date +%s)
	expect_exit 2 "a sparse member claiming $sz bytes: refused" timeout 20 "$HALLMARK" manifest tar:big.tar -o pwned.manifest
	s1=$(date +%s)
	expect_grep "at tar member '/opt/pwned', the members add up to more than 274877906944 bytes \(HM_LIMIT_TAR_STREAM_BYTES\)" err.txt \
		"by HM_LIMIT_TAR_STREAM_BYTES, in $((s1 - s0)) s"
done
tar_quick "a member of 1 TiB" "HM_LIMIT_TAR_STREAM_BYTES" big.tar
done_testing
