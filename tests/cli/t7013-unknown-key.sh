#!/bin/sh
# A manifest signed by a key that is not pinned (the attacker's own
# well-formed, validly signed manifest), or a signature file that names
# an unknown key id, another algorithm or none: trust failures (exit 3),
# whatever keys are pinned and whatever the file claims; the algorithm
# comes from the pinned key, never from the signature file.  Nothing is
# compared, no report or history row is written.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

"$HALLMARK" keygen -o evil --no-passphrase >/dev/null 2>&1
"$HALLMARK" keygen -o other --no-passphrase >/dev/null 2>&1
cp base.manifest m && "$HALLMARK" sign m --key evil.key >/dev/null 2>&1
evilid=$(sed -n 's/^key //p' m.sig)
notpinned="'m' is signed by key $evilid, which is not pinned \(--pubkey\)"
tar -C base -cf base.tar .
$MKOCI oci base.oci.tar base

refused 3 "signed by an unknown key (verify dir:)" "$notpinned" \
	"$HALLMARK" verify dir:base --manifest m --pubkey ops.pub --db h.db -o pwned.report
refused 3 "signed by an unknown key, several keys pinned (verify oci:)" "$notpinned" \
	"$HALLMARK" verify oci:base.oci.tar --manifest m --pubkey ops.pub --pubkey other.pub
refused 3 "signed by an unknown key (hallmark-verify tar:-)" "$notpinned" \
	sh -c "'$HALLMARK_VERIFY' tar:- --manifest m --pubkey ops.pub -o pwned.report < base.tar"
refused 3 "signed by an unknown key, before the target is read" "$notpinned" \
	"$HALLMARK" verify tar:no-such.tar --manifest m --pubkey ops.pub
[ ! -e h.db ] || [ "$(python3 -c "import sqlite3; print(sqlite3.connect('h.db').execute('select count(*) from runs').fetchone()[0])")" = 0 ] &&
	ok "no history row" || fail "no history row"
expect_exit 0 "pinning that key makes it verify (the key, not the file, decides)" \
	"$HALLMARK" verify dir:base --manifest m --pubkey evil.pub

# The genuine signature with its key id changed: looked up by id, unknown.
cp base.manifest m2 && sed 's/^key .*/key 0123456789abcdef/' base.manifest.sig > m2.sig
refused 3 "a genuine signature under an unknown key id" "'m2' is signed by key 0123456789abcdef, which is not pinned" \
	"$HALLMARK" verify dir:base --manifest m2 --pubkey ops.pub
# Malformed key ids and algorithms are no way around it.
cp base.manifest m3
for spelling in "key $(sed -n 's/^key //p' base.manifest.sig | tr a-f A-F)" "key " "key $evilid $evilid"; do
	{ echo 'hallmark-signature 1'; echo "$spelling"; sed -n 3p base.manifest.sig; } > m3.sig
	refused 3 "a key line '$spelling'" "m3\.sig:2:" "$HALLMARK" verify dir:base --manifest m3 --pubkey ops.pub
done
sed 's/^ed25519 /rsa-sha256 /' base.manifest.sig > m3.sig
refused 3 "a signature line naming another algorithm" "m3\.sig:3: expected 'ed25519'" "$HALLMARK" verify dir:base --manifest m3 --pubkey ops.pub
rm m3.sig
refused 3 "no signature at all" "missing signature 'm3\.sig'" "$HALLMARK" verify dir:base --manifest m3 --pubkey ops.pub
# A pinned key of another algorithm is refused as a key.
if openssl genpkey -algorithm ed448 -out e448.key 2>/dev/null && openssl pkey -in e448.key -pubout -out e448.pub 2>/dev/null; then
	refused 3 "an Ed448 key pinned" "'e448\.pub' is not an Ed25519 public key" \
		"$HALLMARK" verify dir:base --manifest base.manifest --pubkey e448.pub
else
	skip "an Ed448 key pinned (no openssl)"
fi
refused 2 "a private key given as --pubkey" "'ops\.key' is a private key: pass the \.pub file" \
	"$HALLMARK" verify dir:base --manifest base.manifest --pubkey ops.key
done_testing
