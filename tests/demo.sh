#!/bin/sh
# The main job, end to end, on a real Debian 12 root file system:
#
#   1. build a gold root with mmdebstrap (cached in images/demo/ by its inputs)
#   2. make a signing key (encrypted; the passphrase file and key stay in
#      images/demo/, which git ignores: keys never live in a repo)
#   3. write the manifest of the gold root and sign it
#   4. deploy it (a copy stands in for a server) and verify: exit 0
#   5. tamper with the deployed copy the way an intruder would
#   6. verify again under the phoenix policy: exit 1, drift reported by path
#
# Usage: tests/demo.sh [WORKDIR]   (default images/demo).  Needs root or
# user namespaces for mmdebstrap, and Debian's package archive.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
hm=$top/bin/hallmark
hmv=$top/bin/hallmark-verify
work=${1:-$top/images/demo}
suite=bookworm
include=openssh-server,sudo,ca-certificates
mkdir -p "$work"
cd "$work"

step() { printf '\n== %s\n' "$*"; }

step "1. gold root: mmdebstrap $suite minbase + $include"
key="$suite minbase $include"
if [ -f gold.tar ] && [ "$(cat gold.inputs 2>/dev/null)" = "$key" ]; then
	echo "cached: $work/gold.tar"
else
	rm -f gold.tar gold.inputs
	mmdebstrap --quiet --variant=minbase --include="$include" \
		--customize-hook='rm -f "$1/etc/machine-id" "$1"/etc/ssh/ssh_host_*' \
		"$suite" gold.tar.tmp
	mv gold.tar.tmp gold.tar
	echo "$key" > gold.inputs
fi
rm -rf gold && mkdir gold
tar --xattrs --xattrs-include='*' --numeric-owner -xpf gold.tar -C gold
echo "$(find gold | wc -l) entries, $(du -sh gold | cut -f1)"

step "2. signing key (encrypted with a passphrase from a file)"
if [ ! -f ops.key ]; then
	umask 077
	head -c 24 /dev/urandom | base64 > passphrase
	umask 022
	HALLMARK_PASSPHRASE_FILE=$work/passphrase "$hm" keygen -o ops
fi
export HALLMARK_PASSPHRASE_FILE=$work/passphrase

step "3. manifest of the gold root, signed"
rm -f gold.manifest gold.manifest.sig
"$hm" manifest dir:gold --name debian-12-demo --serial "$(date +%s)" -o gold.manifest
"$hm" sign gold.manifest --key ops.key
head -n 9 gold.manifest

step "4. deploy (a copy stands in for a server) and verify: expect exit 0"
rm -rf host && cp -a gold host
"$hmv" dir:host --manifest gold.manifest --pubkey ops.pub \
	--policy "$top/templates/policies/phoenix.yaml"

step "5. tamper: trojaned binary, setuid shell, new account, backdoor, weakened sshd"
printf '\n# trojan\n' >> host/usr/bin/ls
chmod u+s host/usr/bin/bash
echo 'toor:x:0:0::/root:/bin/bash' >> host/etc/passwd
printf '#!/bin/sh\nexec /bin/sh\n' > host/usr/local/bin/.backdoor && chmod 755 host/usr/local/bin/.backdoor
sed -i 's/^#\?PermitRootLogin.*/PermitRootLogin yes/' host/etc/ssh/sshd_config
rm host/usr/sbin/nologin
echo tampered

step "6. verify again: expect exit 1 and every change reported"
set +e
"$hmv" dir:host --manifest gold.manifest --pubkey ops.pub \
	--policy "$top/templates/policies/phoenix.yaml"
rc=$?
"$hmv" dir:host --manifest gold.manifest --pubkey ops.pub \
	--policy "$top/templates/policies/phoenix.yaml" --format json -o report.json
set -e
if [ $rc -ne 1 ]; then
	echo "demo: expected exit 1 (drift), got $rc" >&2
	exit 1
fi
echo
echo "drift caught (exit 1); JSON report: $work/report.json"
