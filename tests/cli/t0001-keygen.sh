#!/bin/sh
# hallmark keygen: key files, modes, encryption, OpenSSL interop, key id.
. "$(dirname "$0")/lib.sh"

mode_of() { stat -c %a "$1"; }

expect_exit 0 "keygen --help" "$HALLMARK" keygen --help
expect_grep '^usage: hallmark keygen' out.txt "help goes to stdout"

expect_exit 0 "keygen with a passphrase file" "$HALLMARK" keygen -o ops
[ -f ops.key ] && [ -f ops.pub ] && ok "both key files exist" || fail "both key files exist"
[ "$(mode_of ops.key)" = 600 ] && ok "private key is mode 0600" \
	|| fail "private key is mode 0600 (got $(mode_of ops.key))"
[ "$(mode_of ops.pub)" = 644 ] && ok "public key is mode 0644" \
	|| fail "public key is mode 0644 (got $(mode_of ops.pub))"
expect_grep '^-----BEGIN ENCRYPTED PRIVATE KEY-----$' ops.key "private key is encrypted PKCS#8"
expect_grep '^-----BEGIN PUBLIC KEY-----$' ops.pub "public key is SubjectPublicKeyInfo PEM"

if openssl asn1parse -in ops.key 2>/dev/null | grep -q ':PBES2$' &&
	openssl asn1parse -in ops.key | grep -q ':scrypt$' &&
	openssl asn1parse -in ops.key | grep -q ':aes-256-cbc$'; then
	ok "private key is encrypted with PBES2, scrypt and AES-256"
else
	fail "private key is encrypted with PBES2, scrypt and AES-256"
fi
if openssl pkey -in ops.key -passin "file:$HALLMARK_PASSPHRASE_FILE" -noout 2>/dev/null; then
	ok "openssl decrypts the key with the passphrase"
else
	fail "openssl decrypts the key with the passphrase"
fi
printf 'not the passphrase\n' > wrong
if openssl pkey -in ops.key -passin file:wrong -noout 2>/dev/null; then
	fail "openssl refuses a wrong passphrase"
else
	ok "openssl refuses a wrong passphrase"
fi
if openssl pkey -in ops.key -passin "file:$HALLMARK_PASSPHRASE_FILE" -text -noout 2>/dev/null |
	grep -q 'ED25519 Private-Key'; then
	ok "the key is Ed25519"
else
	fail "the key is Ed25519"
fi
openssl pkey -in ops.key -passin "file:$HALLMARK_PASSPHRASE_FILE" -pubout > derived.pub 2>/dev/null
cmp -s derived.pub ops.pub && ok "public key matches the private key" \
	|| fail "public key matches the private key"

# The key id printed is SHA-256 of the raw 32-byte key, first 16 hex digits.
"$HALLMARK" keygen -o idkey --no-passphrase > keygen.out 2>err.txt
want=$(openssl pkey -pubin -in idkey.pub -outform DER | tail -c 32 | sha256sum | cut -c1-16)
got=$(sed -n 's/^key id \([0-9a-f]*\)$/\1/p' keygen.out)
[ -n "$want" ] && [ "$got" = "$want" ] && ok "key id is SHA-256 of the raw key" \
	|| fail "key id is SHA-256 of the raw key (printed '$got', expected '$want')"
expect_grep '^private key idkey\.key$' keygen.out "the private key path is printed"
expect_grep '^public key idkey\.pub$' keygen.out "the public key path is printed"

# --no-passphrase: plain PKCS#8, still private.
expect_grep '^-----BEGIN PRIVATE KEY-----$' idkey.key "--no-passphrase writes an unencrypted key"
[ "$(mode_of idkey.key)" = 600 ] && ok "unencrypted key is mode 0600" \
	|| fail "unencrypted key is mode 0600"
openssl pkey -in idkey.key -noout 2>/dev/null && ok "openssl reads the unencrypted key" \
	|| fail "openssl reads the unencrypted key"

# An explicit passphrase file wins over the environment.
printf 'another passphrase\n' > other
chmod 600 other
expect_exit 0 "keygen --passphrase-file" "$HALLMARK" keygen -o k2 --passphrase-file other
if openssl pkey -in k2.key -passin file:other -noout 2>/dev/null &&
	! openssl pkey -in k2.key -passin "file:$HALLMARK_PASSPHRASE_FILE" -noout 2>/dev/null; then
	ok "the --passphrase-file passphrase is used"
else
	fail "the --passphrase-file passphrase is used"
fi

# Never overwrite; nothing changes when refused.
cp ops.key ops.key.orig
cp ops.pub ops.pub.orig
expect_exit 2 "refuses to overwrite a key pair" "$HALLMARK" keygen -o ops
expect_grep "already exists" err.txt "the refusal says why"
cmp -s ops.key ops.key.orig && cmp -s ops.pub ops.pub.orig && ok "existing keys untouched" \
	|| fail "existing keys untouched"
touch half.pub
expect_exit 2 "refuses when only the .pub exists" "$HALLMARK" keygen -o half --no-passphrase
[ ! -e half.key ] && ok "no stray private key left" || fail "no stray private key left"

# Passphrases never on the command line; none at all is a usage error.
# (a file named like the secret exists, so --passphrase must not be taken as
# an abbreviation of --passphrase-file)
printf 'secret\n' > s3cr3t
expect_exit 2 "no --passphrase option" "$HALLMARK" keygen -o p1 --passphrase s3cr3t
expect_grep "never taken on the command line" err.txt "--passphrase is refused with a reason"
grep -q s3cr3t err.txt && fail "the refused value is not echoed" || ok "the refused value is not echoed"
[ ! -e p1.key ] && ok "nothing written for a bad option" || fail "nothing written for a bad option"
printf '\n' > empty
chmod 600 empty
expect_exit 2 "empty passphrase refused" "$HALLMARK" keygen -o p2 --passphrase-file empty
[ ! -e p2.key ] && [ ! -e p2.pub ] && ok "nothing written for an empty passphrase" \
	|| fail "nothing written for an empty passphrase"
expect_exit 2 "missing passphrase file" "$HALLMARK" keygen -o p3 --passphrase-file nonexistent
if (exec </dev/null; setsid -w env -u HALLMARK_PASSPHRASE_FILE "$HALLMARK" keygen -o p4 \
	>out.txt 2>err.txt); then
	fail "no tty and no passphrase file is refused"
else
	grep -q 'no passphrase' err.txt && ok "no tty and no passphrase file is refused" \
		|| fail "no tty and no passphrase file is refused ($(cat err.txt))"
fi
expect_exit 2 "-o is required" "$HALLMARK" keygen --no-passphrase
expect_exit 2 "--no-passphrase with --passphrase-file" "$HALLMARK" keygen -o p5 \
	--no-passphrase --passphrase-file other
expect_exit 2 "a folder that does not exist" "$HALLMARK" keygen -o nodir/k --no-passphrase

done_testing
