#!/bin/sh
# --expires 1970-01-01T00:00:00Z is a past time like any other, never
# "expires never" (issue 11, item 14): manifest refuses it (exit 2, no
# output), whatever the creation time; a manifest that spells it is never
# taken as valid forever; and "never" is written only when no expiry was
# asked for.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

expect_exit 2 "--expires 1970-01-01T00:00:00Z is refused" \
	"$HALLMARK" manifest dir:base --expires 1970-01-01T00:00:00Z -o epoch.manifest
expect_grep "expires is not after the creation time" err.txt "it says why"
[ ! -e epoch.manifest ] && ok "no manifest written" || {
	fail "a manifest was written: $(grep '^expires' epoch.manifest)"; }
expect_exit 2 "the same to stdout" "$HALLMARK" manifest dir:base --expires 1970-01-01T00:00:00Z
grep -q '^expires never' out.txt && fail "stdout got 'expires never'" || ok "stdout got no 'expires never'"
# Created at the epoch too: expiring at creation is still no validity.
SOURCE_DATE_EPOCH=0 expect_exit 2 "--expires at a creation time of 0 is refused" \
	"$HALLMARK" manifest dir:base --expires 1970-01-01T00:00:00Z -o epoch0.manifest
[ ! -e epoch0.manifest ] && ok "no manifest written" || fail "a manifest was written"
# One second after the epoch is a real (past) time: written as such, and
# refused by verify as expired, not taken as "never".
SOURCE_DATE_EPOCH=0 expect_exit 0 "--expires 1970-01-01T00:00:01Z with created 0" \
	"$HALLMARK" manifest dir:base --name t7 --expires 1970-01-01T00:00:01Z -o one.manifest
expect_grep '^expires 1970-01-01T00:00:01Z$' one.manifest "the expiry is written as given"
"$HALLMARK" sign one.manifest --key ops.key >/dev/null 2>&1
refused 3 "verify refuses it as expired" "expired at 1970-01-01T00:00:01Z" \
	"$HALLMARK" verify dir:base --manifest one.manifest --pubkey ops.pub
# No expiry asked: never.
expect_exit 0 "no --expires" "$HALLMARK" manifest dir:base --name t7 -o never.manifest
expect_grep '^expires never$' never.manifest "no expiry is written as 'never'"
# A signed manifest that spells the epoch (or any time not after its
# creation) is refused, never valid forever.
sed 's/^expires never$/expires 1970-01-01T00:00:00Z/' never.manifest > spelled.manifest
"$HALLMARK" sign spelled.manifest --key ops.key >/dev/null 2>&1
expect_exit 2 "a signed 'expires 1970-01-01T00:00:00Z' is refused" \
	"$HALLMARK" verify dir:base --manifest spelled.manifest --pubkey ops.pub
expect_grep "spelled.manifest:5: .*expir" err.txt "naming the line"
done_testing
