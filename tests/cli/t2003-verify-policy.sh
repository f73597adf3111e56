#!/bin/sh
# verify under a policy: ignore, may_change, may_add, and bad policies.
. "$(dirname "$0")/lib.sh"

mkdir -p root/etc/ssh root/tmp root/opt root/usr/bin
printf 'id0\n' > root/etc/machine-id
printf 'key\n' > root/etc/ssh/ssh_host_ed25519_key && chmod 600 root/etc/ssh/ssh_host_ed25519_key
printf 'bin\n' > root/usr/bin/app
chmod 1777 root/tmp
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:root --name t2003 -o m 2>/dev/null
"$HALLMARK" sign m --key ops.key >/dev/null 2>&1
cat > policy.yaml <<'P'
version: 1
ignore: [/tmp/**]
may_change: [/etc/machine-id, /etc/ssh/ssh_host_*_key]
may_add: [/opt/app/**]
P
V="--manifest m --pubkey ops.pub --policy policy.yaml"

printf 'id1, longer\n' > root/etc/machine-id
printf 'new key\n' > root/etc/ssh/ssh_host_ed25519_key
mkdir -p root/opt/app/lib && printf 'x\n' > root/opt/app/lib/x.so
printf 'scratch\n' > root/tmp/scratch
expect_exit 0 "allowed changes, additions and ignored paths pass" "$HALLMARK" verify dir:root $V
expect_exit 1 "the same tree fails without the policy" "$HALLMARK" verify dir:root --manifest m --pubkey ops.pub

chmod 644 root/etc/ssh/ssh_host_ed25519_key
expect_exit 1 "may_change does not allow a mode change" "$HALLMARK" verify dir:root $V --format json -o r.json
expect_grep '"kind": "mode"' r.json "the mode change is reported"
chmod 600 root/etc/ssh/ssh_host_ed25519_key

chmod 0777 root/tmp
expect_exit 1 "ignoring /tmp/** still checks /tmp itself (sticky bit lost)" "$HALLMARK" verify dir:root $V
chmod 1777 root/tmp

printf 'evil\n' > root/opt/evil
expect_exit 1 "an addition outside may_add is drift" "$HALLMARK" verify dir:root $V
expect_grep '/opt/evil' out.txt "and names the path"
rm root/opt/evil

rm root/etc/machine-id
expect_exit 1 "a may_change path that is missing is still missing" "$HALLMARK" verify dir:root $V
expect_grep 'missing' out.txt "reported as missing"
printf 'id0\n' > root/etc/machine-id

printf 'ignore: [/tmp/**]\nmay_chnge: []\n' > bad1.yaml
expect_exit 2 "an unknown policy key is an error" "$HALLMARK" verify dir:root --manifest m --pubkey ops.pub --policy bad1.yaml
expect_grep 'bad1.yaml:2:1:' err.txt "naming file:line:col"
printf 'ignore:\n  - /tmp/**\n  - tmp/[a\n' > bad2.yaml
expect_exit 2 "a bad glob is an error" "$HALLMARK" verify dir:root --manifest m --pubkey ops.pub --policy bad2.yaml
expect_grep 'bad2.yaml:3:5:' err.txt "naming file:line:col"
printf 'ignore: &a [/tmp/**]\nmay_add: *a\n' > bad3.yaml
expect_exit 2 "anchors and aliases are refused" "$HALLMARK" verify dir:root --manifest m --pubkey ops.pub --policy bad3.yaml
printf 'ignore: [/a]\nignore: [/b]\n' > bad4.yaml
expect_exit 2 "duplicate keys are refused" "$HALLMARK" verify dir:root --manifest m --pubkey ops.pub --policy bad4.yaml
expect_grep 'bad4.yaml:2:1:' err.txt "naming the second key"

expect_exit 1 "the shipped phoenix policy loads, and /opt/app is drift under it" "$HALLMARK" verify dir:root --manifest m --pubkey ops.pub \
	--policy "$HM_TOP/templates/policies/phoenix.yaml"
expect_grep "^  /opt/app" out.txt "the addition is named"
done_testing
