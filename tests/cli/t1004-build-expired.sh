#!/bin/sh
# A build whose source date plus expires_days is already past would write
# a manifest that its first verify refuses as expired (exit 3): the build
# is refused (exit 2) before any output, naming the expiry date and what
# to change.
. "$(dirname "$0")/lib.sh"

mkdir -p base/etc tpl
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:x:0:\n' > base/etc/group
tar --numeric-owner -C base -cf tpl/base.tar .
cat > tpl/exp.yaml <<'T'
hallmark: 1
name: t1004-exp
serial: 1
expires_days: 30
base:
  tarball:
    path: base.tar
T
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
export HALLMARK_CACHE="$T_DIR/cache"

# 1700000000 is 2023-11-14T22:13:20Z: expired on 2023-12-14.
expect_exit 2 "--source-date-epoch older than expires_days is refused" \
	"$HALLMARK" build tpl/exp.yaml -o out1 --key ops.key --source-date-epoch 1700000000
expect_grep "2023-12-14T22:13:20Z" err.txt "naming the expiry date"
expect_grep "expires_days" err.txt "and what to change"
expect_grep "source-date-epoch" err.txt "or the other thing to change"
[ ! -e out1 ] && ok "and nothing is written, not even the folder" || fail "out1 exists: $(ls -A out1)"
SOURCE_DATE_EPOCH=1700000000 expect_exit 2 "the same from SOURCE_DATE_EPOCH" \
	"$HALLMARK" build tpl/exp.yaml -o out2
[ ! -e out2 ] && ok "nothing written" || fail "out2 exists"

# Within expires_days: builds and verifies.
sde=$(( $(date +%s) - 29 * 86400 ))
expect_exit 0 "a source date 29 days ago builds" \
	"$HALLMARK" build tpl/exp.yaml -o out3 --key ops.key --source-date-epoch $sde
expect_exit 0 "and its manifest verifies" \
	"$HALLMARK" verify tar:out3/t1004-exp.rootfs.tar --manifest out3/t1004-exp.manifest --pubkey ops.pub
# Without expires_days there is no expiry: any source date builds.
grep -v expires_days tpl/exp.yaml > tpl/never.yaml
expect_exit 0 "no expires_days: an old source date builds" \
	"$HALLMARK" build tpl/never.yaml -o out4 --source-date-epoch 1700000000
expect_grep '^expires never$' out4/t1004-exp.manifest "with 'expires never'"
done_testing
