#!/bin/sh
# Rollback and freeze attacks (TUF's threat model: an attacker who can
# serve an old, validly signed manifest, from before a fix): with --db,
# verify remembers the highest serial per (name, key) and refuses a lower
# one; an expired manifest is refused always.  Both are trust failures
# (exit 3), decided before the target is read, by hallmark and
# hallmark-verify, for any target kind; no report and no history row
# are written for a refused run.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

for s in 1 2; do
	"$HALLMARK" manifest dir:base --name t7 --serial $s -o m$s 2>/dev/null
	"$HALLMARK" sign m$s --key ops.key >/dev/null 2>&1
done
tar -C base -cf base.tar .
$MKOCI oci base.oci.tar base
runs() { python3 -c "import sqlite3; print(sqlite3.connect('h.db').execute('select count(*) from runs').fetchone()[0])"; }

expect_exit 0 "serial 2 verifies and is recorded" "$HALLMARK" verify dir:base --manifest m2 --pubkey ops.pub --db h.db
n=$(runs)
[ "$n" = 1 ] && ok "one run recorded" || fail "one run recorded (got $n)"

# The rollback, through every kind of target and both programs.
rollback='rollback: .t7. serial 1 is older than serial 2 already seen with key [0-9a-f]{16}'
refused 3 "serial 1 after serial 2 (verify dir:)" "$rollback" \
	"$HALLMARK" verify dir:base --manifest m1 --pubkey ops.pub --db h.db -o pwned.report
refused 3 "serial 1 after serial 2 (verify tar:)" "$rollback" \
	"$HALLMARK" verify tar:base.tar --manifest m1 --pubkey ops.pub --db h.db -o pwned.report
refused 3 "serial 1 after serial 2 (verify oci:)" "$rollback" \
	"$HALLMARK" verify oci:base.oci.tar --manifest m1 --pubkey ops.pub --db h.db --format json -o pwned.report
refused 3 "serial 1 after serial 2 (hallmark-verify tar:-)" "$rollback" \
	sh -c "'$HALLMARK_VERIFY' tar:- --manifest m1 --pubkey ops.pub --db h.db -o pwned.report < base.tar"
# Before the target is even opened: a missing target does not matter.
refused 3 "the rollback is refused before the target is read" "$rollback" \
	"$HALLMARK" verify tar:no-such.tar --manifest m1 --pubkey ops.pub --db h.db
[ "$(runs)" = "$n" ] && ok "no refused run was recorded" || fail "no refused run was recorded (got $(runs))"
expect_exit 0 "serial 2 again is fine" "$HALLMARK_VERIFY" oci:base.oci.tar --manifest m2 --pubkey ops.pub --db h.db
# Another image's lower serial is no rollback of this one.
"$HALLMARK" manifest dir:base --name t7-other --serial 1 -o o1 2>/dev/null && "$HALLMARK" sign o1 --key ops.key >/dev/null 2>&1
expect_exit 0 "another name has its own serials" "$HALLMARK" verify dir:base --manifest o1 --pubkey ops.pub --db h.db
# Editing the serial up breaks the signature.
sed 's/^serial 1$/serial 3/' m1 > m1up && cp m1.sig m1up.sig
refused 3 "a serial edited upwards" "bad signature" "$HALLMARK" verify dir:base --manifest m1up --pubkey ops.pub --db h.db
# Without --db there is no memory (docs/security.md says so).
expect_exit 0 "without --db an old serial is not detected (documented)" "$HALLMARK" verify dir:base --manifest m1 --pubkey ops.pub

# Expired manifests: created in 2001, valid for a day.
SOURCE_DATE_EPOCH=1000000000 "$HALLMARK" manifest dir:base --name t7 --serial 5 --valid-days 1 -o old 2>/dev/null
"$HALLMARK" sign old --key ops.key >/dev/null 2>&1
SOURCE_DATE_EPOCH=999000000 "$HALLMARK" manifest dir:base --name t7 --serial 6 --expires 2001-09-10T00:00:00Z -o old2 2>/dev/null
"$HALLMARK" sign old2 --key ops.key >/dev/null 2>&1
expired="manifest 'old' \(t7 serial 5\) expired at 2001-09-10T01:46:40Z"
n=$(runs)
refused 3 "an expired manifest (verify dir:)" "$expired" "$HALLMARK" verify dir:base --manifest old --pubkey ops.pub -o pwned.report
refused 3 "an expired manifest (verify oci:, with --db)" "$expired" "$HALLMARK" verify oci:base.oci.tar --manifest old --pubkey ops.pub --db h.db
refused 3 "an expired manifest (hallmark-verify tar:)" "$expired" "$HALLMARK_VERIFY" tar:base.tar --manifest old --pubkey ops.pub
refused 3 "an expired manifest, before the target is read" "$expired" "$HALLMARK" verify tar:no-such.tar --manifest old --pubkey ops.pub
refused 3 "an explicit past --expires" "manifest 'old2' \(t7 serial 6\) expired at 2001-09-10T00:00:00Z" \
	"$HALLMARK" verify dir:base --manifest old2 --pubkey ops.pub
[ "$(runs)" = "$n" ] && ok "no expired run was recorded" || fail "no expired run was recorded"
# The expiry cannot be edited away or pushed back.
grep -v '^expires ' old > noexp && cp old.sig noexp.sig
refused 3 "an expiry line removed" "bad signature" "$HALLMARK" verify dir:base --manifest noexp --pubkey ops.pub
sed 's/^expires .*/expires 2099-01-01T00:00:00Z/' old > later && cp old.sig later.sig
refused 3 "an expiry pushed back" "bad signature" "$HALLMARK" verify dir:base --manifest later --pubkey ops.pub
done_testing
