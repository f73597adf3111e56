#!/bin/sh
# -o never names one of the command's own inputs (issue 11, item 11):
# the same file (device and inode, after symlinks, so also a hard link or
# a symlink to it) as the manifest, the signature, a public key, the
# policy, the history database, the private key, the passphrase file, the
# rules or OSV feed, or the tar:/oci: target is refused with exit 2 and a
# message naming both, and the input is byte for byte what it was.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

tar -C base -cf base.tar .
printf 'ignore: []\n' > policy.yaml
printf 'exceptions: []\n' > rules.yaml
printf '[]\n' > osv.json
"$HALLMARK" keygen -o enc --passphrase-file "$T_DIR/pass" >/dev/null 2>&1
cp "$T_DIR/pass" pass.txt
"$HALLMARK" verify dir:base $V --db h.db >/dev/null 2>&1
ln base.manifest manifest.hardlink
ln -s ops.pub pub.symlink

# same CODE-WHAT OUT INPUT-WHAT INPUT CMD...: refused, naming both, input intact.
same() {
	s_what=$1 s_out=$2 s_inwhat=$3 s_in=$4; shift 4
	cp -p "$s_in" "$T_DIR/before" 2>/dev/null
	expect_exit 2 "$s_what is refused" "$@"
	expect_grep "the output '$s_out' is $s_inwhat '$s_in': not overwriting an input" err.txt \
		"$s_what: the message names both"
	if cmp -s "$s_in" "$T_DIR/before"; then ok "$s_what: the input is intact"; else
		fail "$s_what: the input was overwritten"; fi
}

same "verify -o MANIFEST" base.manifest "the manifest" base.manifest \
	"$HALLMARK" verify dir:base $V -o base.manifest
same "verify -o SIG (the default MANIFEST.sig)" base.manifest.sig "the signature" base.manifest.sig \
	"$HALLMARK" verify dir:base $V -o base.manifest.sig
cp base.manifest.sig other.sig
same "verify -o SIG (--signature)" other.sig "the signature" other.sig \
	"$HALLMARK" verify dir:base $V --signature other.sig -o other.sig
same "verify -o PUBKEY" ops.pub "the public key" ops.pub \
	"$HALLMARK" verify dir:base $V -o ops.pub
same "verify -o the second PUBKEY" enc.pub "the public key" enc.pub \
	"$HALLMARK" verify dir:base $V --pubkey enc.pub -o enc.pub
same "verify -o POLICY" policy.yaml "the policy" policy.yaml \
	"$HALLMARK" verify dir:base $V --policy policy.yaml -o policy.yaml
same "verify --db H -o H" h.db "the history database" h.db \
	"$HALLMARK" verify dir:base $V --db h.db -o h.db
same "hallmark-verify -o tar:TARGET" base.tar "the target" base.tar \
	"$HALLMARK_VERIFY" tar:base.tar $V -o base.tar
same "verify -o a hard link to the manifest" manifest.hardlink "the manifest" base.manifest \
	"$HALLMARK" verify dir:base $V -o manifest.hardlink
same "verify -o a symlink to the public key" pub.symlink "the public key" ops.pub \
	"$HALLMARK" verify dir:base $V -o pub.symlink
same "verify -o ./MANIFEST (another spelling)" ./base.manifest "the manifest" base.manifest \
	"$HALLMARK" verify dir:base $V -o ./base.manifest

cp base.manifest tosign
same "sign -o KEY" ops.key "the private key" ops.key \
	"$HALLMARK" sign tosign --key ops.key -o ops.key
same "sign -o MANIFEST" tosign "the manifest" tosign \
	"$HALLMARK" sign tosign --key ops.key -o tosign
same "sign -o the passphrase file" pass.txt "the passphrase file" pass.txt \
	"$HALLMARK" sign tosign --key enc.key --passphrase-file pass.txt -o pass.txt
same "sign -o \$HALLMARK_PASSPHRASE_FILE" "$T_DIR/pass" "the passphrase file" "$T_DIR/pass" \
	"$HALLMARK" sign tosign --key enc.key -o "$T_DIR/pass"

same "manifest tar:X -o X" base.tar "the target" base.tar \
	"$HALLMARK" manifest tar:base.tar -o base.tar
same "audit -o RULES" rules.yaml "the rules file" rules.yaml \
	"$HALLMARK" audit dir:base --rules rules.yaml -o rules.yaml
same "audit -o VULNS" osv.json "the OSV feed" osv.json \
	"$HALLMARK" audit dir:base --vulns osv.json -o osv.json
same "audit -o tar:TARGET" base.tar "the target" base.tar \
	"$HALLMARK" audit tar:base.tar -o base.tar
same "sbom -o tar:TARGET" base.tar "the target" base.tar \
	"$HALLMARK" sbom tar:base.tar -o base.tar

# Outputs that are not inputs still work.
expect_exit 0 "verify -o a new report" "$HALLMARK" verify dir:base $V --db h.db -o report.txt
expect_exit 0 "sign -o a new signature" "$HALLMARK" sign tosign --key ops.key -o tosign.sig2
done_testing
