#!/bin/sh
# Layers in hallmark's independent gzip members (lib/pgzip.c) are inflated
# on every core.  That reader must be as truthful as libarchive's: the
# same manifest as for one plain gzip stream, drift found, and every
# damaged member refused (exit 2) even when the blob's digest and the
# descriptor are right, so that only the member reader can catch it.
# Other writers' gzip (one stream or several members) goes through the
# streaming inflater: the same checks.
. "$(dirname "$0")/lib.sh"
OCI="python3 $HM_TOP/tests/cli/oci-image.py"

mkdir -p tree/etc tree/data
printf 'root:x:0:0:root:/root:/bin/sh\n' > tree/etc/passwd
# A few MiB that compress, over several 1 MiB members.
python3 -c "
import random
r = random.Random(7)
w = [b'alpha', b'beta', b'gamma', b'/usr/lib', b'\n', b'0755']
open('tree/data/big', 'wb').write(b''.join(r.choice(w) for _ in range(900000)))
open('tree/data/noise', 'wb').write(bytes(r.getrandbits(8) for _ in range(1500000)))
"
$OCI oci plain.tar tree --compress gzip
$OCI oci members.tar tree --compress hm-members
"$HALLMARK" keygen -o k --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest oci:plain.tar -o plain.manifest --name t7027 --serial 1 >/dev/null 2>&1
"$HALLMARK" manifest oci:members.tar -o members.manifest --name t7027 --serial 1 >/dev/null 2>&1
sed 1,6d plain.manifest > a.txt; sed 1,6d members.manifest > b.txt
[ -s a.txt ] && cmp -s a.txt b.txt && ok "members and one plain gzip stream give the same entries" || fail "entries differ"
"$HALLMARK" sign plain.manifest --key k.key >/dev/null 2>&1
expect_exit 0 "an image in members verifies" "$HALLMARK" verify oci:members.tar --manifest plain.manifest --pubkey k.pub
expect_exit 0 "with one thread too" "$HALLMARK" verify oci:members.tar --manifest plain.manifest --pubkey k.pub --threads 1

# Drift inside a member in the middle of the layer is found.
python3 -c "
d = bytearray(open('tree/data/big', 'rb').read()); d[2500000] ^= 1
open('tree/data/big', 'wb').write(bytes(d))"
$OCI oci drift.tar tree --compress hm-members
expect_exit 1 "a changed byte inside a middle member is drift" "$HALLMARK" verify oci:drift.tar --manifest plain.manifest --pubkey k.pub
"$HALLMARK" verify oci:drift.tar --manifest plain.manifest --pubkey k.pub > drift.txt 2>&1
expect_grep '/data/big' drift.txt "naming the file"

for how in crc deflate claim-more claim-huge member-size truncated trailing plain-after; do
	$OCI oci "bad-$how.tar" tree --compress hm-members --break-members "$how"
	"$HALLMARK" verify oci:"bad-$how.tar" --manifest plain.manifest --pubkey k.pub > out.txt 2> err.txt
	rc=$?
	if [ $rc -eq 2 ] && grep -q 'cannot decompress' err.txt; then
		ok "a damaged member ($how) is refused: $(sed -n 's/.*cannot decompress: //p' err.txt | head -1)"
	else
		fail "damaged member ($how): exit $rc, $(cat err.txt)"
	fi
done
# Other writers' gzip goes through the streaming inflater (ISA-L, on a
# thread ahead of the tar reader): valid variants read as libarchive reads
# them, damaged ones refused.
for how in two-members trailing-zeros header-fields; do
	$OCI oci "gz-$how.tar" tree --compress gzip --break-members "$how"
	expect_exit 1 "a foreign gzip layer ($how) is read (the drift above is found)" \
		"$HALLMARK" verify oci:"gz-$how.tar" --manifest plain.manifest --pubkey k.pub
done
for how in bad-crc bad-isize bad-deflate cut; do
	$OCI oci "gzbad-$how.tar" tree --compress gzip --break-members "$how"
	"$HALLMARK" verify oci:"gzbad-$how.tar" --manifest plain.manifest --pubkey k.pub > out.txt 2> err.txt
	rc=$?
	if [ $rc -eq 2 ] && grep -q 'cannot decompress' err.txt; then
		ok "a damaged foreign gzip layer ($how) is refused: $(sed -n 's/.*cannot decompress: //p' err.txt | head -1)"
	else
		fail "damaged gzip ($how): exit $rc, $(cat err.txt)"
	fi
done
done_testing
