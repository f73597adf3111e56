#!/bin/sh
# SLOW TIER: the shipped templates, built for real from mmdebstrap (about
# 2 minutes per Debian base the first time; bases are cached by their
# inputs in $HALLMARK_CACHE, default /var/cache/hallmark as root, so
# later runs take seconds).  Skipped with HM_SLOW=0, or without root or
# mmdebstrap.  Needs Debian's package archive.
. "$(dirname "$0")/lib.sh"

if [ "${HM_SLOW:-1}" = 0 ]; then
	skip "slow tier (HM_SLOW=0)"; done_testing; exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v mmdebstrap >/dev/null; then
	skip "needs root and mmdebstrap"; done_testing; exit 0
fi
export HALLMARK_CACHE=${HALLMARK_CACHE:-/var/cache/hallmark}
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
# One build time for all builds (the hardened manifest expires 30 days after it).
SDE=$(date +%s)

# The hardened template passes its own (strict) gate.
expect_exit 0 "debian-12-hardened builds and passes its own gate (fail_on low)" \
	"$HALLMARK" build "$HM_TOP/templates/debian-12-hardened.yaml" -o h1 --key ops.key --source-date-epoch $SDE
H=h1/debian-12-hardened
expect_grep '"result": "pass"' $H.audit.json "its audit report says pass"
python3 -c "
import json, sys
d = json.load(open('$H.sbom.spdx.json'))
assert d['spdxVersion'] == 'SPDX-2.3'
names = {p['name'] for p in d['packages']}
assert 'openssh-server' in names and 'dpkg' in names, names
" && ok "its SBOM lists the installed packages" || fail "its SBOM lists the installed packages"
expect_grep '"sbom": "h1/debian-12-hardened.sbom.spdx.json"' $H.build.json "build.json names the SBOM"
expect_exit 0 "the OCI image verifies against the signed manifest" \
	"$HALLMARK" verify oci:$H.oci.tar --manifest $H.manifest --pubkey ops.pub
expect_exit 1 "no host keys are baked in" grep -q '^/etc/ssh/ssh_host_' $H.manifest
expect_grep '^/etc/machine-id type=file mode=0444 uid=0 gid=0 size=0 ' $H.manifest "machine-id ships empty"
expect_grep '^/etc/ssh/sshd_config.d/50-hallmark.conf ' $H.manifest "the sshd hardening drop-in is in"
if command -v skopeo >/dev/null; then
	expect_exit 0 "skopeo inspect accepts it" skopeo inspect oci-archive:$H.oci.tar
fi

# Reproducible from the cached base: another folder, later, same bytes.
sleep 1
expect_exit 0 "a second build" "$HALLMARK" build "$HM_TOP/templates/debian-12-hardened.yaml" -o h2 --source-date-epoch $SDE
for f in oci.tar rootfs.tar manifest sbom.spdx.json; do
	cmp -s h1/debian-12-hardened.$f h2/debian-12-hardened.$f && ok "debian-12-hardened.$f is byte-identical" ||
		fail "debian-12-hardened.$f is byte-identical"
done
expect_grep '"cache_hit": true' h2/debian-12-hardened.build.json "the second build used the cached base"

# The minimal template fails a strict gate, with findings a person understands.
mkdir -p strict && cp -r "$HM_TOP/templates/files" strict/
{ cat "$HM_TOP/templates/debian-12-minimal.yaml"; printf '\naudit:\n  fail_on: low\n'; } > strict/minimal.yaml
expect_exit 1 "debian-12-minimal fails a strict gate (fail_on low)" \
	"$HALLMARK" build strict/minimal.yaml -o m1 --source-date-epoch $SDE
expect_grep '^FAIL: ' err.txt "the report starts with the verdict"
expect_grep 'HM-SYS-002' err.txt "and names the rules (sysctl hardening)"
[ -z "$(ls -A m1 2>/dev/null)" ] && ok "and no image is written" || fail "and no image is written"
done_testing
