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

done_testing
