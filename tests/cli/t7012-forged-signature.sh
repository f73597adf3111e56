#!/bin/sh
# Forged signatures and signatures over other bytes: another manifest's
# signature, an attacker's signature claiming the pinned key's id, the
# pinned key's signature over the raw file (another protocol's message,
# no domain separation), bytes appended or line ends changed after
# signing, and the time-of-check-to-time-of-use swap: the manifest
# rewritten in place after its signature was checked, while the target
# is read.  All are trust failures (exit 3) by verify and
# hallmark-verify; a refused run writes no report and no history row.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

"$HALLMARK" keygen -o evil --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:base --name t7 --serial 2 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1
VM="--manifest m --pubkey ops.pub"
expect_exit 0 "the genuine manifest verifies" "$HALLMARK" verify dir:base $VM
keyid=$(sed -n 's/^key //p' m.sig)

forged() {   # WHAT: m.forged + m.forged.sig must be refused
	refused 3 "$1 (verify)" "bad signature: 'm\.forged\.sig' does not match 'm\.forged' \(key $keyid\)" \
		"$HALLMARK" verify dir:base --manifest m.forged --pubkey ops.pub -o pwned.report
	refused 3 "$1 (hallmark-verify)" "bad signature" \
		"$HALLMARK_VERIFY" dir:base --manifest m.forged --pubkey ops.pub --pubkey evil.pub -o pwned.report
}

# Another manifest's signature (same name and serial, other content).
cp m m.forged && printf 'pwned\n' > base/pwned
"$HALLMARK" manifest dir:base --name t7 --serial 2 -o m.other 2>/dev/null && rm base/pwned
"$HALLMARK" sign m.other --key ops.key >/dev/null 2>&1
cp m.other.sig m.forged.sig
forged "another manifest's signature"
# The attacker signs with their key and names the pinned key.
cp m.other m.forged
"$HALLMARK" sign m.forged --key evil.key >/dev/null 2>&1
sed -i "s/^key .*/key $keyid/" m.forged.sig
forged "an attacker's signature under the pinned key's id"

# The pinned key's signature over the raw manifest bytes: a valid Ed25519
# signature, but of another message than hallmark's ("hallmark/manifest/v1",
# NUL, SHA-512 of the file).  The genuine construction, made with the
# openssl CLI, verifies: the test signs what it means to.
if command -v openssl >/dev/null; then
	sigfile() {   # MESSAGE-FILE OUT
		openssl pkeyutl -sign -rawin -inkey ops.key -in "$1" -out sig.bin 2>/dev/null &&
			printf 'hallmark-signature 1\nkey %s\ned25519 %s\n' "$keyid" "$(base64 -w0 sig.bin)" > "$2"
	}
	cp m m.forged && sigfile m m.forged.sig
	forged "the pinned key's signature over the raw bytes"
	{ printf 'hallmark/manifest/v1\0'; openssl dgst -sha512 -binary m; } > msg.bin
	sigfile msg.bin m.openssl.sig && cp m m.openssl
	expect_exit 0 "the documented message signed with openssl verifies" \
		"$HALLMARK" verify dir:base --manifest m.openssl --pubkey ops.pub
	{ printf 'hallmark/manifest/v1'; openssl dgst -sha512 -binary m; } > msg.bin
	cp m m.forged && sigfile msg.bin m.forged.sig
	forged "a signature without the NUL separator"
else
	skip "signatures over other messages (no openssl)"
fi

# Bytes changed after signing.
cp m m.forged && cp m.sig m.forged.sig && printf '/pwned type=file mode=0644 uid=0 gid=0 size=0 sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n' >> m.forged
forged "a line appended after signing"
sed 's/$/\r/' m > m.forged && cp m.sig m.forged.sig
forged "LF turned into CRLF after signing"
head -c -1 m > m.forged && cp m.sig m.forged.sig
forged "the last byte cut"

# TOCTOU: the manifest is rewritten in place (same inode) after the
# signature check, while verify waits for the target on its standard
# input; the manifest is larger than the reader's first read (256 KiB), so
# the tampered part is read after the swap.  The attacker's version makes
# the tampered tree match.  Refused: the bytes compared are hashed again.
mkdir -p big/d
python3 - <<'PY'
for i in range(3000):
    open("big/d/file-%04d-%s" % (i, "x" * 60), "w").write("%d\n" % i)
PY
"$HALLMARK" manifest dir:big --name t7-big --serial 1 -o bm 2>/dev/null
"$HALLMARK" sign bm --key ops.key >/dev/null 2>&1
[ "$(wc -c < bm)" -gt 400000 ] && ok "the manifest is $(wc -c < bm) bytes" || fail "the manifest is over 400 kB"
last=$(ls big/d | tail -n 1)
old=$(sha256sum "big/d/$last" | cut -d' ' -f1)
printf '%s\n' 9998 > "big/d/$last"      # same size, other content
new=$(sha256sum "big/d/$last" | cut -d' ' -f1)
sed "s/$old/$new/" bm > bm.evil
tar -C big -cf big.tar .
cat > swap.py <<'PY'
# swap.py HALLMARK MODE ARGS...: run HALLMARK verify tar:- ARGS, wait
# until it blocks reading its standard input (after the signature check),
# then replace the manifest "bm" with "bm.evil" (MODE inplace: same file,
# rewritten; rename: a new file renamed over it), then feed big.tar.
import os, subprocess, sys, time
hm, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
with open("out.txt", "wb") as out, open("err.txt", "wb") as err:
    cmd = [hm] + ([] if hm.endswith("hallmark-verify") else ["verify"]) + ["tar:-"] + args
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=err)
    end = time.time() + 120
    while True:
        try:
            s = open("/proc/%d/syscall" % p.pid).read()
        except OSError:
            p.kill(); sys.exit(77)
        if s.startswith("0 0x0 "):        # read(0, ...): waiting for the target
            break
        if time.time() > end or p.poll() is not None:
            p.kill(); sys.exit(78)
        time.sleep(0.02)
    evil = open("bm.evil", "rb").read()
    if mode == "inplace":
        with open("bm", "r+b") as f:
            f.write(evil)
    else:
        open("bm.new", "wb").write(evil)
        os.rename("bm.new", "bm")
    p.stdin.write(open("big.tar", "rb").read())
    p.stdin.close()
    sys.exit(p.wait())
PY
cp bm bm.orig
n=$(python3 -c "import sqlite3; print(sqlite3.connect('h.db').execute('select count(*) from runs').fetchone()[0])" 2>/dev/null || echo 0)
python3 swap.py "$HALLMARK" inplace --manifest bm --pubkey ops.pub --db h.db -o pwned.report
rc=$?
if [ $rc -eq 77 ] || [ $rc -eq 78 ]; then
	skip "the in-place swap (cannot watch the process's system calls)"
else
	[ $rc -eq 3 ] && ok "a manifest rewritten in place after the check is refused" ||
		{ fail "a manifest rewritten in place after the check is refused (exit $rc)"; sed 's/^/#   /' err.txt out.txt | head; }
	expect_grep 'manifest changed while being verified: the bytes read are not the bytes signed' err.txt "saying the bytes changed"
	[ ! -e pwned.report ] && ok "and no report is written" || fail "and no report is written"
	m=$(python3 -c "import sqlite3; print(sqlite3.connect('h.db').execute('select count(*) from runs').fetchone()[0])" 2>/dev/null || echo 0)
	[ "$m" = "$n" ] && ok "and no history row" || fail "and no history row ($n -> $m)"
	untouched "the in-place swap"
fi
# Renamed over instead: verify holds the signed file open and reads
# that, so the tampered file is found (drift), not trusted.
cp bm.orig bm
python3 swap.py "$HALLMARK_VERIFY" rename --manifest bm --pubkey ops.pub
rc=$?
if [ $rc -eq 77 ] || [ $rc -eq 78 ]; then
	skip "the swap by rename (cannot watch the process's system calls)"
else
	[ $rc -eq 1 ] && ok "a manifest renamed over after the check: the signed one is used (drift)" ||
		{ fail "a manifest renamed over after the check: the signed one is used (exit $rc)"; sed 's/^/#   /' err.txt | head; }
	expect_grep "^  /d/$last" out.txt "the tampered file is the finding"
fi
done_testing
