#!/bin/sh
# Messages a new user meets first (issue 14, items 3 and 4): a verifier
# never prompts, mistakes get a sentence and one line pointing at --help.
. "$(dirname "$0")/lib.sh"

"$HALLMARK" keygen -o ops >/dev/null 2>&1 || fail "keygen"
"$HALLMARK" keygen -o plain --no-passphrase >/dev/null 2>&1 || fail "keygen --no-passphrase"
mkdir -p tree && echo x > tree/f
"$HALLMARK" manifest dir:tree -o m >/dev/null 2>&1 || fail "manifest"

# 3. The private key by mistake: refused at once.  stdin is a pipe that
# never ends and the run has a deadline, so a passphrase prompt (on the
# terminal or stdin) would hang and fail here instead of passing.
for k in ops.key plain.key; do
	sleep 30 | timeout 10 "$HALLMARK" verify dir:tree -m m --pubkey "$k" \
		>out.txt 2>err.txt
	got=$?
	[ "$got" -eq 2 ] && ok "--pubkey $k fails at once with exit 2" \
		|| fail "--pubkey $k fails at once with exit 2 (exit $got)"
	if [ "$(cat err.txt)" = "hallmark: '$k' is a private key: pass the .pub file" ]; then
		ok "and says to pass the .pub file"
	else fail "and says to pass the .pub file"; sed 's/^/#   /' err.txt; fi
done
sleep 30 | timeout 10 "$HALLMARK_VERIFY" dir:tree -m m -k ops.key >out.txt 2>err.txt
[ $? -eq 2 ] && ok "hallmark-verify too" || fail "hallmark-verify too"
expect_grep "^hallmark-verify: 'ops.key' is a private key: pass the .pub file$" err.txt "in its words"

# 4. A sentence, then one line pointing at --help, all with the prefix.
two_lines() {  # two_lines WHAT FIRST SECOND
	if [ "$(sed -n 1p err.txt)" = "$2" ] && [ "$(sed -n 2p err.txt)" = "$3" ] &&
	   [ "$(wc -l < err.txt)" -eq 2 ]; then ok "$1"
	else fail "$1"; sed 's/^/#   /' err.txt | head -n 5; fi
}
expect_exit 2 "an unknown option" "$HALLMARK" verify dir:tree --frob
two_lines "names it" "hallmark: verify: unrecognized option '--frob'" \
	"Try 'hallmark verify --help'."
expect_exit 2 "a missing TARGET" "$HALLMARK" verify -m m -k ops.pub
two_lines "names it" "hallmark: verify: missing TARGET" "Try 'hallmark verify --help'."
expect_exit 2 "hallmark-verify without TARGET" "$HALLMARK_VERIFY" -m m -k ops.pub
two_lines "names it" "hallmark-verify: missing TARGET" "Try 'hallmark-verify --help'."
expect_exit 2 "hallmark-verify: an unknown option" "$HALLMARK_VERIFY" --frob
two_lines "names it" "hallmark-verify: unrecognized option '--frob'" \
	"Try 'hallmark-verify --help'."
expect_exit 2 "diff with one manifest" "$HALLMARK" diff m
two_lines "names the other" "hallmark: diff: missing MANIFEST_B" "Try 'hallmark diff --help'."
expect_exit 2 "one argument too many" "$HALLMARK" audit dir:tree extra
two_lines "names it" "hallmark: audit: unexpected argument 'extra'" \
	"Try 'hallmark audit --help'."
expect_exit 2 "a command's own message" "$HALLMARK" sign
two_lines "is not repeated" "hallmark: sign: MANIFEST is required" "Try 'hallmark sign --help'."
expect_exit 2 "no command" "$HALLMARK"
two_lines "says so" "hallmark: missing COMMAND" "Try 'hallmark --help'."
expect_exit 2 "an unknown command" "$HALLMARK" frob
two_lines "says so" "hallmark: 'frob' is not a hallmark command" "Try 'hallmark --help'."
expect_exit 0 "hallmark --help" "$HALLMARK" --help
expect_grep "hallmark --help \| --version" out.txt "lists --version"

# A passphrase file others can read is refused like a key file.
printf 'correct horse battery staple\n' > loose
chmod 644 loose
expect_exit 3 "a passphrase file readable by others" \
	"$HALLMARK" sign m --key ops.key --passphrase-file loose -o m.sig
expect_grep "^hallmark: passphrase file 'loose' is accessible by group or others \(mode 0644\): chmod 600 it$" \
	err.txt "is refused, saying how to fix it"
[ ! -e m.sig ] && ok "and nothing is signed" || fail "and nothing is signed"
chmod 600 loose
expect_exit 0 "the same file at mode 0600" \
	"$HALLMARK" sign m --key ops.key --passphrase-file loose -o m.sig

# Drift that is a mistake of the command line says what was meant.
"$HALLMARK" sign m --key plain.key >/dev/null 2>&1 || fail "sign"
mkdir -p layout/blobs/sha256
printf '{"imageLayoutVersion":"1.0.0"}' > layout/oci-layout
printf '{"schemaVersion":2,"manifests":[]}' > layout/index.json
tar cf image.oci.tar -C layout .
expect_exit 1 "tar: given an OCI archive drifts" "$HALLMARK" verify tar:image.oci.tar -m m -k plain.pub
expect_grep "^hallmark: hint: 'image.oci.tar' is an OCI image archive \(it has oci-layout and index.json\): verify oci:image.oci.tar$" \
	err.txt "and suggests oci:"
expect_exit 1 "dir: given an OCI layout" "$HALLMARK_VERIFY" dir:layout -m m -k plain.pub
expect_grep "^hallmark-verify: hint: .*verify oci-dir:layout$" err.txt "suggests oci-dir:"
expect_exit 1 "a plain tree with drift" "$HALLMARK" verify dir:layout/blobs -m m -k plain.pub
if grep -q hint err.txt; then fail "gets no hint"; else ok "gets no hint"; fi
# A container manifest (its image lines: oci, tar) for a disk: said before
# the disk is read (here it does not exist, so no appliance starts).
sed "s/^template none\$/template none\nimage oci sha256:$(printf '%064d' 0)/" m > img.manifest
"$HALLMARK" sign img.manifest --key plain.key >/dev/null 2>&1 || fail "sign img.manifest"
expect_exit 2 "a disk against the container manifest" \
	"$HALLMARK" verify disk:img.qcow2 -m img.manifest -k plain.pub
expect_grep "^hallmark: hint: 'img.manifest' is a container manifest \(image lines oci, tar\): a disk is verified against img.disk.manifest$" \
	err.txt "suggests NAME.disk.manifest"
expect_exit 0 "the same manifest for its tree" "$HALLMARK" verify dir:tree -m img.manifest -k plain.pub
if grep -q hint err.txt; then fail "gets no hint"; else ok "gets no hint"; fi

# A policy glob that matches nothing in the manifest: a warning naming
# the file, line and glob; the run goes on and passes.
printf 'ignore:\n  - /proc/**\nmay_change:\n  - /f\n  - /etc/sshd_conf\nmay_add: [/opt/**]\n' > policy.yaml
expect_exit 0 "a policy with a glob of no use" \
	"$HALLMARK" verify dir:tree -m m -k plain.pub --policy policy.yaml
expect_grep "^hallmark: warning: policy.yaml:5: may_change glob '/etc/sshd_conf' matches nothing in the manifest$" \
	err.txt "is warned about"
expect_grep "^hallmark: warning: policy.yaml:2: ignore glob '/proc/\*\*' matches nothing in the manifest$" \
	err.txt "every one"
[ "$(wc -l < err.txt)" -eq 2 ] && ok "and only those (/f is used, may_add is about new paths)" \
	|| { fail "and only those"; sed 's/^/#   /' err.txt; }

done_testing
