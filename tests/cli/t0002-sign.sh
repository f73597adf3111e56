#!/bin/sh
# hallmark sign: signature file format, OpenSSL interop, refusals.
. "$(dirname "$0")/lib.sh"

# check_openssl MANIFEST SIG PUB: verify SIG over MANIFEST with the openssl
# CLI only, rebuilding the 85-byte message by hand.
check_openssl() {
	{ printf 'hallmark/manifest/v1\000'; openssl dgst -sha512 -binary "$1"; } > msg.bin
	sed -n 's/^ed25519 //p' "$2" | openssl base64 -d -A > sig.bin
	[ "$(wc -c < msg.bin)" -eq 85 ] && [ "$(wc -c < sig.bin)" -eq 64 ] &&
		openssl pkeyutl -verify -rawin -pubin -inkey "$3" -in msg.bin \
			-sigfile sig.bin >/dev/null 2>&1
}

"$HALLMARK" keygen -o ops > keygen.out 2>&1 || fail "keygen"
keyid=$(sed -n 's/^key id //p' keygen.out)
printf 'hallmark-manifest 1\nname web-base\nserial 7\n/ type=dir mode=0755 uid=0 gid=0\n' > base.manifest

expect_exit 0 "sign --help" "$HALLMARK" sign --help
expect_grep '^usage: hallmark sign' out.txt "help goes to stdout"

expect_exit 0 "sign a manifest" "$HALLMARK" sign base.manifest --key ops.key
expect_grep "^signed 'base.manifest' with key $keyid\$" out.txt "sign names the manifest and key id"
[ -f base.manifest.sig ] && ok "default signature name is MANIFEST.sig" \
	|| fail "default signature name is MANIFEST.sig"

# Exactly three lines in the documented format.
{
	printf 'hallmark-signature 1\nkey %s\n' "$keyid"
	sed -n 3p base.manifest.sig
} > expected.sig
if cmp -s expected.sig base.manifest.sig && [ "$(wc -l < base.manifest.sig)" -eq 3 ] &&
	grep -Eq '^ed25519 [A-Za-z0-9+/]{86}==$' base.manifest.sig; then
	ok "signature file format"
else
	fail "signature file format"; sed 's/^/#   /' base.manifest.sig
fi
! grep -q "$(printf '\r')" base.manifest.sig && ok "no CR in the signature file" \
	|| fail "no CR in the signature file"

# Any Ed25519 implementation checks it: here, the openssl CLI alone.
check_openssl base.manifest base.manifest.sig ops.pub && ok "openssl pkeyutl verifies the signature" \
	|| fail "openssl pkeyutl verifies the signature"
cp msg.bin msg.good
# Flip one bit of the last digest byte: openssl must refuse.
head -c 84 msg.good > msg.bin
last=$(tail -c 1 msg.good | od -An -tu1 | tr -d ' ')
printf "\\$(printf %03o $((last ^ 1)))" >> msg.bin
if [ "$(wc -c < msg.bin)" -eq 85 ] && ! cmp -s msg.bin msg.good &&
	! openssl pkeyutl -verify -rawin -pubin -inkey ops.pub -in msg.bin -sigfile sig.bin >/dev/null 2>&1; then
	ok "openssl refuses a message with one bit flipped"
else
	fail "openssl refuses a message with one bit flipped"
fi
# A changed manifest does not verify under the old signature.
printf 'hallmark-manifest 1\nname web-base\nserial 8\n/ type=dir mode=0755 uid=0 gid=0\n' > changed.manifest
check_openssl changed.manifest base.manifest.sig ops.pub && fail "old signature refused for a changed manifest" \
	|| ok "old signature refused for a changed manifest"
# Another key's public half does not verify it.
"$HALLMARK" keygen -o other --no-passphrase >/dev/null 2>&1
check_openssl base.manifest base.manifest.sig other.pub && fail "another key's public key refuses it" \
	|| ok "another key's public key refuses it"

# A manifest larger than the read buffer is hashed whole.
{
	printf 'hallmark-manifest 1\nname big\n'
	i=0
	while [ $i -lt 12000 ]; do
		printf '/f%05d type=file mode=0644 uid=0 gid=0 size=0 sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n' $i
		i=$((i + 1))
	done
} > big.manifest
expect_exit 0 "sign a large manifest" "$HALLMARK" sign big.manifest --key ops.key
check_openssl big.manifest big.manifest.sig ops.pub && ok "openssl verifies the large manifest's signature" \
	|| fail "openssl verifies the large manifest's signature"

# -o, replacing an older signature, unencrypted keys.
expect_exit 0 "sign -o with an unencrypted key" "$HALLMARK" sign base.manifest --key other.key -o custom.sig
check_openssl base.manifest custom.sig other.pub && ok "signature written to -o verifies" \
	|| fail "signature written to -o verifies"
expect_exit 0 "an older signature is replaced" "$HALLMARK" sign changed.manifest --key other.key -o custom.sig
check_openssl changed.manifest custom.sig other.pub && ok "the replaced signature is the new one" \
	|| fail "the replaced signature is the new one"
[ "$(stat -c %a custom.sig)" = 644 ] && ok "signature is mode 0644" || fail "signature is mode 0644"
expect_exit 0 "signing is deterministic" "$HALLMARK" sign base.manifest --key ops.key -o again.sig
cmp -s again.sig base.manifest.sig && ok "same key and manifest give the same signature" \
	|| fail "same key and manifest give the same signature"

# Keys made by OpenSSL itself (PBKDF2-encrypted PKCS#8) work too.
openssl genpkey -algorithm ed25519 -aes-256-cbc -pass "file:$HALLMARK_PASSPHRASE_FILE" \
	-out ossl.key 2>/dev/null
chmod 600 ossl.key
openssl pkey -in ossl.key -passin "file:$HALLMARK_PASSPHRASE_FILE" -pubout -out ossl.pub 2>/dev/null
expect_exit 0 "sign with a key made by openssl" "$HALLMARK" sign base.manifest --key ossl.key -o ossl.sig
check_openssl base.manifest ossl.sig ossl.pub && ok "that signature verifies" \
	|| fail "that signature verifies"

# Key refusals are trust failures (exit 3).
cp ops.key loose.key
chmod 644 loose.key
expect_exit 3 "a private key readable by others is refused" "$HALLMARK" sign base.manifest --key loose.key -o loose.sig
expect_grep "chmod 600" err.txt "the refusal says how to fix it"
[ ! -e loose.sig ] && ok "no signature written with a loose key" || fail "no signature written with a loose key"
printf 'wrong horse\n' > wrong
chmod 600 wrong
expect_exit 3 "wrong passphrase" "$HALLMARK" sign base.manifest --key ops.key --passphrase-file wrong -o w.sig
expect_grep "wrong passphrase" err.txt "wrong passphrase is named"
[ ! -e w.sig ] && ok "no signature written with a wrong passphrase" \
	|| fail "no signature written with a wrong passphrase"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key 2>/dev/null
chmod 600 ec.key
expect_exit 3 "a non-Ed25519 key is refused" "$HALLMARK" sign base.manifest --key ec.key -o ec.sig

# Input refusals are usage / input errors (exit 2).
printf 'just some text\n' > notes.txt
expect_exit 2 "a file that is not a manifest" "$HALLMARK" sign notes.txt --key ops.key
expect_grep "not a hallmark manifest" err.txt "the refusal names the problem"
[ ! -e notes.txt.sig ] && ok "nothing signed" || fail "nothing signed"
printf 'hallmark-manifest 12\n' > v12.manifest
expect_exit 2 "another manifest version" "$HALLMARK" sign v12.manifest --key ops.key
: > empty.manifest
expect_exit 2 "an empty file" "$HALLMARK" sign empty.manifest --key ops.key
mkdir folder
expect_exit 2 "a folder" "$HALLMARK" sign folder --key ops.key -o folder.sig
expect_exit 2 "a missing manifest" "$HALLMARK" sign missing.manifest --key ops.key
expect_exit 2 "a missing key" "$HALLMARK" sign base.manifest --key missing.key -o m.sig
expect_exit 2 "--key is required" "$HALLMARK" sign base.manifest
expect_exit 2 "one manifest only" "$HALLMARK" sign base.manifest changed.manifest --key ops.key
expect_exit 2 "no --passphrase option" "$HALLMARK" sign base.manifest --key ops.key --passphrase x
expect_exit 2 "the signature may not replace the manifest" "$HALLMARK" sign base.manifest --key ops.key -o base.manifest
grep -q '^name web-base$' base.manifest && ok "manifest intact" || fail "manifest intact"

done_testing
