#!/bin/sh
# hallmark audit: a folder and the same tree as a tar archive give the same
# findings; secrets never reach a report; --fail-on and site-rule
# exceptions decide the exit code; huge and binary files are listed as
# skipped without changing it, but a file a rule's verdict rests on
# (/etc/passwd) that cannot be read is a finding that fails the audit, and
# /etc/passwd is read as glibc reads it.
. "$(dirname "$0")/lib.sh"

SECRET=Sup3rS3cretPw0rd
mkdir -p root/etc/ssh root/etc/app root/etc/sysctl.d root/var/log root/srv
chmod 0755 root
cat > root/etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
EOF
cat > root/etc/shadow <<'EOF'
root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
this line is malformed
EOF
printf 'root:x:0:\ndaemon:x:1:\n' > root/etc/group
printf 'UMASK 027\n' > root/etc/login.defs
cat > root/etc/sysctl.d/90-hardening.conf <<'EOF'
kernel.kptr_restrict = 2
kernel.dmesg_restrict = 1
kernel.randomize_va_space = 2
fs.protected_symlinks = 1
fs.protected_hardlinks = 1
net.ipv4.conf.all.rp_filter = 1
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.all.accept_source_route = 0
EOF
printf 'PermitRootLogin yes\nPasswordAuthentication no\n' > root/etc/ssh/sshd_config
printf '# database\ndatabase_url = postgres://app:%s@db.internal/app\n' "$SECRET" \
	> root/etc/app/db.conf
# Owned by whoever runs the test: give it an account so the tree has no
# unowned files either way.
uid=$(id -u) gid=$(id -g)
if [ "$uid" != 0 ]; then
	echo "tester:x:$uid:$gid::/nonexistent:/usr/sbin/nologin" >> root/etc/passwd
	echo "tester:*:19000:0:99999:7:::" >> root/etc/shadow
fi
[ "$gid" != 0 ] && echo "tester:x:$gid:" >> root/etc/group

# ---- a folder ------------------------------------------------------------
expect_exit 1 "high findings fail the default gate" "$HALLMARK" audit dir:root
cp out.txt report.txt
expect_grep '^FAIL: 2 findings at or above high \([0-9]+ in all\) - dir:root$' report.txt \
	"the verdict comes first"
expect_grep '^  HM-SSH-001 /etc/ssh/sshd_config: PermitRootLogin yes' report.txt \
	"PermitRootLogin yes is reported with its file"
expect_grep '^  HM-SECRET-001 /etc/app/db.conf: line 2: ' report.txt \
	"the clear-text password is reported with its line"
expect_grep '^skipped: /etc/shadow:3: malformed line$' report.txt \
	"a malformed shadow line is listed as skipped"

for fmt in text json sarif; do
	"$HALLMARK" audit dir:root --format $fmt -o report.$fmt >/dev/null 2>err.txt
	if [ -s report.$fmt ] && ! grep -qF "$SECRET" report.$fmt; then
		ok "the $fmt report does not hold the secret"
	else
		fail "the $fmt report does not hold the secret"
	fi
done
if python3 - report.json report.sarif <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
assert j["format"] == "hallmark-audit" and j["result"] == "fail"
assert s["version"] == "2.1.0"
ids = {r["id"] for r in s["runs"][0]["tool"]["driver"]["rules"]}
assert {f["rule"] for f in j["findings"]} <= ids
assert len(s["runs"][0]["results"]) == len(j["findings"])
PY
then ok "JSON and SARIF reports parse and agree"
else fail "JSON and SARIF reports parse and agree"
fi

if python3 - report.sarif "$HM_TOP/docs/audit-rules.md" <<'PY'
import json, sys
rules = json.load(open(sys.argv[1]))["runs"][0]["tool"]["driver"]["rules"]
doc = open(sys.argv[2]).read()
missing = [r["id"] for r in rules
           if "| %s | %s |" % (r["id"], r["properties"]["severity"]) not in doc]
if missing:
    print("# not in docs/audit-rules.md:", missing); sys.exit(1)
PY
then ok "docs/audit-rules.md lists every rule with its severity"
else fail "docs/audit-rules.md lists every rule with its severity"
fi

expect_exit 0 "--fail-on critical passes without critical findings" \
	"$HALLMARK" audit dir:root --fail-on critical
expect_grep '^PASS: 0 findings at or above critical' out.txt "and says PASS"
expect_exit 1 "--fail-on medium still fails" "$HALLMARK" audit dir:root --fail-on medium

cat > site.yaml <<'EOF'
fail_on: high
exceptions:
  - rule: HM-SSH-001
    reason: break-glass access on the lab network
  - rule: HM-SECRET-001
    path: /etc/app/*
    reason: test credentials, rotated at deploy
EOF
expect_exit 0 "exceptions with reasons make it pass" "$HALLMARK" audit root --rules site.yaml
expect_grep 'HM-SSH-001 .*\[excepted: break-glass access on the lab network\]' out.txt \
	"the reason is shown"
printf 'fail_on: critical\n' > lenient.yaml
expect_exit 0 "fail_on in the rules file sets the gate" \
	"$HALLMARK" audit root --rules lenient.yaml
expect_exit 1 "--fail-on on the command line overrides it" \
	"$HALLMARK" audit root --rules lenient.yaml --fail-on high

# ---- huge and binary files -------------------------------------------------
head -c 2097152 /dev/zero | tr '\0' 'a' > root/etc/app/huge.conf
printf 'password = \000\001\002\003 binary\n' > root/etc/app/blob.conf
expect_exit 0 "huge and binary config files do not change the exit code" \
	"$HALLMARK" audit dir:root --rules site.yaml
expect_grep "^skipped: '/etc/app/huge.conf': larger than 1 MiB, not scanned$" out.txt \
	"the huge file is listed as skipped"
expect_grep "^skipped: '/etc/app/blob.conf': binary, not scanned$" out.txt \
	"the binary file is listed as skipped"

# ---- the same tree as a tar archive ----------------------------------------
"$HALLMARK" audit dir:root --format json -o dir.json >/dev/null 2>&1
tar -C root -cf root.tar . 2>/dev/null
expect_exit 1 "the tar archive fails the same way" "$HALLMARK" audit tar:root.tar
"$HALLMARK" audit tar:root.tar --format json -o tar.json >/dev/null 2>&1
if python3 - dir.json tar.json <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("findings", "skipped", "counts"):
    if a[k] != b[k]:
        print("# differs:", k, a[k], b[k]); sys.exit(1)
PY
then ok "tar: gives the same findings and skips as dir:"
else fail "tar: gives the same findings and skips as dir:"
fi

# ---- files the rules cannot read -------------------------------------------
# Padding /etc/passwd past the 1 MiB read limit once hid a second root
# behind a skipped note and the audit passed: it must fail, dir: and tar:.
mkdir padded
cp -a root/. padded/
rm -f padded/etc/app/huge.conf padded/etc/app/blob.conf
expect_exit 0 "the copy passes with the site exceptions before padding" \
	"$HALLMARK" audit dir:padded --rules site.yaml
{ head -c 1100000 /dev/zero | tr '\0' '\n'; echo 'toor:x:0:0::/root:/bin/bash'; } \
	>> padded/etc/passwd
echo 'toor:!:19000:0:99999:7:::' >> padded/etc/shadow
expect_exit 1 "a padded /etc/passwd with a second root fails (dir:)" \
	"$HALLMARK" audit dir:padded --rules site.yaml
expect_grep '^  HM-ACCT-007 /etc/passwd: cannot be audited: larger than 1 MiB \([0-9]+ bytes\)$' \
	out.txt "the account database is a finding, not a note"
expect_grep '^FAIL: 1 finding at or above high ' out.txt "and the verdict counts it"
expect_exit 1 "it fails --fail-on critical too" \
	"$HALLMARK" audit dir:padded --rules site.yaml --fail-on critical
tar -C padded -cf padded.tar . 2>/dev/null
expect_exit 1 "a padded /etc/passwd with a second root fails (tar:)" \
	"$HALLMARK" audit tar:padded.tar --rules site.yaml
expect_grep '^  HM-ACCT-007 /etc/passwd: cannot be audited: larger than 1 MiB' \
	out.txt "with the same finding"

# A symlinked account file is not followed: the audit cannot vouch for it.
mkdir linked
cp -a root/. linked/
rm -f linked/etc/app/huge.conf linked/etc/app/blob.conf
mv linked/etc/shadow linked/srv/shadow
ln -s /srv/shadow linked/etc/shadow
expect_exit 1 "a symlinked /etc/shadow fails the audit" \
	"$HALLMARK" audit dir:linked --rules site.yaml
expect_grep "^  HM-ACCT-007 /etc/shadow: cannot be audited: a symlink to '/srv/shadow', not followed$" \
	out.txt "naming the link"

# A second root that glibc resolves (sign, white space, an extra field)
# was once a "malformed line" note and the audit passed: it must fail.
mkdir signed
cp -a root/. signed/
rm -f signed/etc/app/huge.conf signed/etc/app/blob.conf
printf 'evil:x: +0:0::/:/bin/sh:extra\n' >> signed/etc/passwd
expect_exit 1 "a uid written ' +0' is a second root (dir:)" \
	"$HALLMARK" audit dir:signed --rules site.yaml
expect_grep "^  HM-ACCT-002 /etc/passwd: account 'evil' has uid 0$" out.txt \
	"reported by the uid-0 rule"
expect_grep '^FAIL: 1 finding at or above high ' out.txt "and the verdict counts it"

# ---- errors ----------------------------------------------------------------
expect_exit 2 "a missing target is an error" "$HALLMARK" audit dir:nowhere
printf 'exceptions:\n  - rule: HM-SSH-001\n    reason: x\n    colour: blue\n' > bad.yaml
expect_exit 2 "an unknown key in the rules file is an error" \
	"$HALLMARK" audit root --rules bad.yaml
expect_grep 'bad.yaml:4:[0-9]+: ' err.txt "named with line and column"
printf 'exceptions:\n  - rule: HM-SSH-001\n' > noreason.yaml
expect_exit 2 "an exception without a reason is an error" \
	"$HALLMARK" audit root --rules noreason.yaml
# JUnit is an audit format since issue 14 (its shape: t5002).
expect_exit 1 "junit is an audit format" "$HALLMARK" audit root --format junit
expect_exit 2 "yaml is not an audit format" "$HALLMARK" audit root --format yaml
expect_exit 2 "an unknown severity is a usage error" "$HALLMARK" audit root --fail-on severe
done_testing
