#!/bin/sh
# The build's SBOM: only a missing dpkg status means "no packages" (no
# SBOM, not an error); a status database that is there but cannot be read
# (corrupt, over a limit) fails the build with exit 2, naming the file,
# and nothing is published.
. "$(dirname "$0")/lib.sh"

mkdir -p base/etc base/var/lib/dpkg tpl
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:x:0:\n' > base/etc/group
cat > base/var/lib/dpkg/status <<'S'
Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u4

S
tar --numeric-owner -C base -cf tpl/good.tar .
cat > tpl/good.yaml <<'T'
hallmark: 1
name: t1005
serial: 1
base:
  tarball:
    path: good.tar
T
mk() {   # mk NAME: tpl/NAME.yaml over tpl/NAME.tar made from base/
	tar --numeric-owner -C base -cf "tpl/$1.tar" .
	sed "s/good.tar/$1.tar/" tpl/good.yaml > "tpl/$1.yaml"
}
export HALLMARK_CACHE="$T_DIR/cache"

expect_exit 0 "a tree with a dpkg status builds" \
	"$HALLMARK" build tpl/good.yaml -o good --source-date-epoch 1700000000
expect_grep '"name": "libc6"' good/t1005.sbom.spdx.json "and gets an SBOM"

# A field over the reader's limit.
{ printf 'Package: big\nStatus: install ok installed\nVersion: 1\nMaintainer: '
  head -c 5000 /dev/zero | tr '\0' x; printf '\n\n'; } >> base/var/lib/dpkg/status
mk long
expect_exit 2 "a status field over the limit fails the build" \
	"$HALLMARK" build tpl/long.yaml -o long --source-date-epoch 1700000000
expect_grep "/var/lib/dpkg/status" err.txt "naming the file"
expect_grep "longer than" err.txt "and why"
[ -z "$(ls -A long 2>/dev/null)" ] && ok "and nothing is published" || fail "long/ has: $(ls -A long)"

# More stanzas than the reader takes.
python3 -c 'import sys; sys.stdout.write("Package: p\n\n" * 200001)' > base/var/lib/dpkg/status
mk many
expect_exit 2 "too many stanzas fail the build" \
	"$HALLMARK" build tpl/many.yaml -o many --source-date-epoch 1700000000
expect_grep "more than 200000 stanzas" err.txt "saying so"
[ -z "$(ls -A many 2>/dev/null)" ] && ok "and nothing is published" || fail "many/ has: $(ls -A many)"

# Not a regular file: it cannot be read either.
rm base/var/lib/dpkg/status && mkdir base/var/lib/dpkg/status
mk dir
expect_exit 2 "a status that is a folder fails the build" \
	"$HALLMARK" build tpl/dir.yaml -o dir --source-date-epoch 1700000000
expect_grep "/var/lib/dpkg/status" err.txt "naming the file"

# Missing: no packages, no SBOM, not an error.
rmdir base/var/lib/dpkg/status
mk none
expect_exit 0 "a tree without a dpkg status builds" \
	"$HALLMARK" build tpl/none.yaml -o none --source-date-epoch 1700000000
[ ! -e none/t1005.sbom.spdx.json ] && ok "without an SBOM" || fail "an SBOM was written"
expect_grep '"sbom": null' none/t1005.build.json "and build.json says so"
done_testing
