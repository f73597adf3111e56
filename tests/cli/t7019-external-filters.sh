#!/bin/sh
# Only the decompressors the docs promise, in-process: gzip, zstd, xz and
# bzip2.  libarchive's archive_read_support_filter_all() also runs lzop,
# lrzip and grzip from PATH on untrusted input and decodes uuencoded
# text: a fake lzop (lrzip, grzip) first in PATH must never run, whatever
# reads the stream (tar:, tar:-, a build's tarball base, oci:), and such
# input is refused (exit 2).  The promised ones still read.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

# A plain tar, and fakes that would hand it over and leave a marker.
mktar plain.tar './:d' 'opt/:d' 'opt/f:f:hello'
mkdir fakebin
for prog in lzop lrzip grzip; do
	cat > "fakebin/$prog" <<FAKE
#!/bin/sh
echo "$prog ran" >> "$OUTSIDE/ran-external-program"
cat "$WORK/plain.tar"
FAKE
	chmod 755 "fakebin/$prog"
done
PATH="$WORK/fakebin:$PATH"
export PATH

# Inputs that libarchive's lzop, lrzip and grzip filters bid on.
printf '\211LZO\000\r\n\032\n\020\060\040\240\011\100\001\005\003\000\000\001\000\000\201\244' > x.tar.lzo
head -c 512 /dev/zero >> x.tar.lzo
printf 'LRZI\000\006\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000' > x.tar.lrz
head -c 512 /dev/zero >> x.tar.lrz
printf 'GRZipII\000\002\004:)' > x.tar.grz
head -c 512 /dev/zero >> x.tar.grz
python3 - <<'PY'
import binascii
data = open("plain.tar", "rb").read()
with open("x.tar.uu", "wb") as f:
    f.write(b"begin 644 plain.tar\n")
    for i in range(0, len(data), 45):
        f.write(binascii.b2a_uu(data[i:i + 45]))
    f.write(b"`\nend\n")
PY

no_program() {
	if [ -e "$OUTSIDE/ran-external-program" ]; then
		fail "$1: no external program ran"; sed 's/^/#   /' "$OUTSIDE/ran-external-program"
		rm -f "$OUTSIDE/ran-external-program"
	else
		ok "$1: no external program ran"
	fi
}
tar_refused "an lzop-compressed tar" "Unrecognized archive format" x.tar.lzo
no_program "lzop, every tar reader"
refused 2 "an lzop-compressed OCI archive" "not a tar archive" "$HALLMARK" manifest oci:x.tar.lzo -o pwned.manifest
no_program "lzop, oci:"
for f in x.tar.lrz x.tar.grz; do
	tar_quick "$f" "Unrecognized archive format" "$f"
	no_program "$f"
done
tar_quick "a uuencoded tar" "Unrecognized archive format" x.tar.uu

# The promised ones, in-process.
python3 - <<'PY'
import bz2, gzip, lzma
data = open("plain.tar", "rb").read()
open("x.tar.gz", "wb").write(gzip.compress(data))
open("x.tar.xz", "wb").write(lzma.compress(data))
open("x.tar.bz2", "wb").write(bz2.compress(data))
PY
"$HALLMARK" manifest tar:plain.tar --name t --serial 1 -o plain.manifest 2>err.txt
comp="x.tar.gz x.tar.xz x.tar.bz2"
if command -v zstd >/dev/null 2>&1; then
	zstd -q plain.tar -o x.tar.zst && comp="$comp x.tar.zst"
else
	skip "zstd is not installed"
fi
for f in $comp; do
	expect_exit 0 "$f is read" "$HALLMARK" manifest "tar:$f" --name t --serial 1 -o c.manifest
	if [ "$(grep '^/' c.manifest)" = "$(grep '^/' plain.manifest)" ]; then
		ok "$f: the same entries as the plain tar"
	else
		fail "$f: the same entries as the plain tar"
	fi
done
no_program "the promised filters"
done_testing
