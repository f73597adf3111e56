#!/bin/sh
# Audit exceptions read by one parser: a template's `audit.exceptions`
# accepts exactly what `hallmark audit --rules` accepts, rule families
# ("HM-SYS-*") included.
. "$(dirname "$0")/lib.sh"

mkdir -p base/etc base/usr/bin tpl
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:x:0:\n' > base/etc/group
printf 'root:*:19000:0:99999:7:::\n' > base/etc/shadow && chmod 640 base/etc/shadow
printf 'DB_PASSWORD=hunter2\n' > base/etc/app.env && chmod 640 base/etc/app.env
tar --numeric-owner -C base -cf tpl/base.tar .
cat > tpl/fam.yaml <<'T'
hallmark: 1
name: t1003-fam
serial: 1
base:
  tarball:
    path: base.tar
audit:
  exceptions:
    - {rule: HM-SYS-*, reason: "sysctl is the host's business"}
    - {rule: HM-SECRET-*, path: /etc/app.env, reason: "test fixture"}
T
export HALLMARK_CACHE="$T_DIR/cache"

expect_exit 0 "a template with rule families in its exceptions builds" \
	"$HALLMARK" build tpl/fam.yaml -o out --source-date-epoch 1700000000
expect_grep '"excepted": true' out/t1003-fam.audit.json "the excepted findings stay in the report"
expect_grep "sysctl is the host's business" out/t1003-fam.audit.json "with the family's reason"

# The same list as site rules: the same answer.
sed -n '/^  exceptions:/,$p' tpl/fam.yaml | sed 's/^  //' > rules.yaml
expect_exit 0 "hallmark audit --rules accepts the same list" \
	"$HALLMARK" audit dir:base --rules rules.yaml --fail-on high

# And both refuse the same things.
sed 's/HM-SYS-\*/HM-NOPE-001/' tpl/fam.yaml > tpl/bad.yaml
expect_exit 2 "a template naming an unknown rule is refused" \
	"$HALLMARK" build tpl/bad.yaml -o outbad --source-date-epoch 1700000000
expect_grep "bad.yaml:[0-9]+:[0-9]+: unknown rule 'HM-NOPE-001'" err.txt "at its line and column"
sed 's/HM-SYS-\*/HM-NOPE-001/' rules.yaml > rules-bad.yaml
expect_exit 2 "and so is a rules file" "$HALLMARK" audit dir:base --rules rules-bad.yaml
expect_grep "rules-bad.yaml:[0-9]+:[0-9]+: unknown rule 'HM-NOPE-001'" err.txt "with the same message"
sed 's/, reason: "test fixture"//' tpl/fam.yaml > tpl/noreason.yaml
expect_exit 2 "an exception without a reason is refused" \
	"$HALLMARK" build tpl/noreason.yaml -o outbad --source-date-epoch 1700000000
[ -z "$(ls -A outbad 2>/dev/null)" ] && ok "and nothing is written" || fail "and nothing is written"
done_testing
