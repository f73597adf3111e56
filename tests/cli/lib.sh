# Shared helpers for CLI tests (sourced).  Each test script runs in its own
# temporary folder, prints "ok N - what" / "not ok N - what" and ends with
# "N passed, N failed[, N skipped]".
set -u
HM_TOP=${HM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
HM_BIN=${HM_BIN:-$HM_TOP/bin/}
case $HM_BIN in /*) ;; *) HM_BIN=$PWD/$HM_BIN ;; esac   # before the cd below
HALLMARK=${HM_BIN%/}/hallmark
HALLMARK_VERIFY=${HM_BIN%/}/hallmark-verify
T_PASS=0 T_FAIL=0 T_SKIP=0 T_N=0
T_DIR=$(mktemp -d /tmp/hm-cli-XXXXXX)
trap 'chmod -R u+rwx "$T_DIR" 2>/dev/null; rm -rf "$T_DIR"' EXIT
cd "$T_DIR" || exit 2
# Passphrases never on argv: tests use a file.
printf 'correct horse battery staple\n' > "$T_DIR/pass"
chmod 600 "$T_DIR/pass"
export HALLMARK_PASSPHRASE_FILE="$T_DIR/pass"

ok()   { T_N=$((T_N + 1)); T_PASS=$((T_PASS + 1)); echo "ok $T_N - $*"; }
fail() { T_N=$((T_N + 1)); T_FAIL=$((T_FAIL + 1)); echo "not ok $T_N - $*"; }
skip() { T_N=$((T_N + 1)); T_SKIP=$((T_SKIP + 1)); echo "ok $T_N - # skip $*"; }

# expect_exit CODE DESCRIPTION CMD...: run CMD, check its exit code; its
# stdout/stderr go to out.txt / err.txt.
expect_exit() {
	want=$1; what=$2; shift 2
	"$@" >out.txt 2>err.txt
	got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$what"
	else
		fail "$what (exit $got, expected $want)"
		sed 's/^/#   stderr: /' err.txt | head -n 10
	fi
}

# expect_grep PATTERN FILE DESCRIPTION
expect_grep() {
	if grep -Eq -- "$1" "$2"; then ok "$3"; else
		fail "$3 (no '$1' in $2)"; sed 's/^/#   /' "$2" | head -n 10
	fi
}

done_testing() {
	if [ $T_SKIP -gt 0 ]; then
		echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	else
		echo "$T_PASS passed, $T_FAIL failed"
	fi
	[ $T_FAIL -eq 0 ]
}
