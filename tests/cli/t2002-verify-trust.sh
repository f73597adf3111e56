#!/bin/sh
# verify refuses, with exit 3 and a message saying which: a flipped bit in
# the manifest or the signature, a key that is not pinned, a missing
# signature, a signature for another manifest, an expired manifest.
. "$(dirname "$0")/lib.sh"

mkdir -p root/etc && printf 'a\n' > root/etc/a && printf 'b\n' > root/etc/b
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" keygen -o other --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:root --name t2002 --serial 7 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1

expect_exit 0 "the signed manifest verifies" "$HALLMARK" verify dir:root --manifest m --pubkey ops.pub
expect_exit 0 "with several pinned keys, the right one is found" \
	"$HALLMARK" verify dir:root --manifest m --pubkey other.pub --pubkey ops.pub

flip() {  # flip FILE OFFSET: xor one bit at byte OFFSET
	python3 -c "
import sys
p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, 'rb').read()); b[o] ^= 0x01
open(p, 'wb').write(b)" "$1" "$2"
}

cp m m2 && cp m.sig m2.sig && flip m2 60
expect_exit 3 "a flipped bit in the manifest is refused" "$HALLMARK" verify dir:root --manifest m2 --pubkey ops.pub
expect_grep 'bad signature' err.txt "and the message says the signature does not match"

cp m m3 && cp m.sig m3.sig
python3 - <<'PY'
import base64
lines = open("m3.sig").read().split("\n")
sig = bytearray(base64.b64decode(lines[2].split(" ")[1])); sig[10] ^= 0x04
lines[2] = "ed25519 " + base64.b64encode(bytes(sig)).decode()
open("m3.sig", "w").write("\n".join(lines))
PY
expect_exit 3 "a flipped bit in the signature is refused" "$HALLMARK" verify dir:root --manifest m3 --pubkey ops.pub
expect_grep 'bad signature' err.txt "and says so"

expect_exit 3 "a key that is not pinned is refused" "$HALLMARK" verify dir:root --manifest m --pubkey other.pub
expect_grep 'not pinned' err.txt "and the message names the key"

cp m m4
expect_exit 3 "a missing signature is refused" "$HALLMARK" verify dir:root --manifest m4 --pubkey ops.pub
expect_grep 'missing signature' err.txt "and the message says it is missing"

"$HALLMARK" manifest dir:root --name t2002 --serial 8 -o m5 2>/dev/null
printf 'c\n' > root/etc/c
"$HALLMARK" manifest dir:root --name t2002 --serial 8 -o m6 2>/dev/null
rm root/etc/c
"$HALLMARK" sign m6 --key ops.key >/dev/null 2>&1 && cp m6.sig m5.sig
expect_exit 3 "a signature for another manifest is refused" "$HALLMARK" verify dir:root --manifest m5 --pubkey ops.pub

SOURCE_DATE_EPOCH=1000000000 "$HALLMARK" manifest dir:root --name t2002 --valid-days 1 -o m7 2>/dev/null
"$HALLMARK" sign m7 --key ops.key >/dev/null 2>&1
expect_exit 3 "an expired manifest is refused" "$HALLMARK" verify dir:root --manifest m7 --pubkey ops.pub
expect_grep 'expired' err.txt "and the message says it expired"

expect_exit 2 "verify without --pubkey is a usage error" "$HALLMARK" verify dir:root --manifest m
expect_grep 'never skips' err.txt "and says there is no way to skip the check"

# A well-signed but malformed manifest: the parser names the line (exit 2).
python3 - <<'PY'
data = open("m", "rb").read().split(b"\n")
data[10], data[11] = data[11], data[10]   # two entries out of order
open("m8", "wb").write(b"\n".join(data))
PY
"$HALLMARK" sign m8 --key ops.key >/dev/null 2>&1
expect_exit 2 "a signed manifest with entries out of order is an input error" \
	"$HALLMARK" verify dir:root --manifest m8 --pubkey ops.pub
expect_grep 'm8:1[12]:' err.txt "and the message names the line"

# A 1 GB manifest (sparse: no disk needed) with a signature of another
# manifest: hashed streaming, refused as a bad signature, no parse.
truncate -s 1G big.manifest && cp m.sig big.manifest.sig
expect_exit 3 "a 1 GB manifest with another's signature is refused" \
	timeout 120 "$HALLMARK" verify dir:root --manifest big.manifest --pubkey ops.pub
expect_grep 'bad signature' err.txt "as a bad signature"
expect_exit 2 "diff of it fails at its first line" timeout 60 "$HALLMARK" diff m big.manifest
expect_grep 'big.manifest:1:' err.txt "naming the line"
done_testing
