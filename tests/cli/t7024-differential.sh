#!/bin/sh
# Differential test of the tar reader (issue 11): the edge-case archives
# of tests/diff/gen-cases.py (long names, pax paths/uids/xattrs, GNU
# longname/longlink, hard links, sparse maps, devices, non-ASCII names,
# global headers, duplicates, ./ prefixes, trailing slashes, base-256
# numbers...) read by hallmark (tar:), extracted by GNU tar as root (then
# dir:) and listed by Python's tarfile.  Every disagreement must be one of
# tests/diff/expected.txt (documented) or expected-until-fixed.txt (bugs
# being fixed); a listed one that no longer shows fails too, so that the
# lists stay true.  Without root or GNU tar the G view is left out and
# only hallmark and Python are compared.
. "$(dirname "$0")/lib.sh"

D=$HM_TOP/tests/diff
if ! python3 "$D/gen-cases.py" cases 2>err.txt; then
	fail "the cases are generated"; sed 's/^/#   /' err.txt; done_testing
fi
ok "$(ls cases | wc -l) cases generated"
[ "$(id -u)" -eq 0 ] || echo "# not root: GNU tar's view is left out"
python3 "$D/differential.py" --hallmark "$HALLMARK" \
	--expect "$D/expected.txt" --expect "$D/expected-until-fixed.txt" \
	cases >check.txt 2>err.txt
rc=$?
grep -q . err.txt && sed 's/^/# /' err.txt
while IFS= read -r line; do
	case $line in
	PASS\ *) ok "${line#PASS }" ;;
	FAIL\ *) fail "${line#FAIL }" ;;
	*) echo "# $line" ;;
	esac
done < check.txt
[ $rc -le 1 ] && ok "the comparison ran" || fail "the comparison ran (exit $rc)"
done_testing
