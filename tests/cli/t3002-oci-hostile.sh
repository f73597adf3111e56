#!/bin/sh
# oci: with hostile and broken images: each is refused with exit 2 and a
# message naming the problem (and the layer), never half-applied.
. "$(dirname "$0")/lib.sh"

MKOCI="python3 $HM_TOP/tests/cli/oci-image.py"

umask 022
mkdir -p base/etc base/usr/lib/x base/opt
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'lib\n' > base/usr/lib/x/a.so
ln -s etc base/etc-link
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:base --name t3002 -o base.manifest 2>/dev/null
"$HALLMARK" sign base.manifest --key ops.key >/dev/null 2>&1
printf 'version: 1\nmay_add: [/opt/app/**]\n' > app.yaml
V="--manifest base.manifest --pubkey ops.pub --policy app.yaml"
mkdir -p app/opt/app && printf 'app\n' > app/opt/app/run

# Layer tars with exactly the members given: NAME:TYPE[:DATA-or-LINK],
# TYPE f (file), d (dir), l (symlink), h (hard link).
cat > mktar.py <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for spec in sys.argv[2:]:
        name, kind, *rest = spec.split(":", 2)
        arg = rest[0] if rest else ""
        ti = tarfile.TarInfo(name)
        ti.mode = 0o755 if kind == "d" else 0o644
        data = None
        if kind == "d":
            ti.type = tarfile.DIRTYPE
        elif kind == "l":
            ti.type, ti.linkname = tarfile.SYMTYPE, arg
        elif kind == "h":
            ti.type, ti.linkname = tarfile.LNKTYPE, arg
        else:
            data = arg.encode()
            ti.size = len(data)
        t.addfile(ti, io.BytesIO(data) if data is not None else None)
PY
mktar() { python3 mktar.py "$@"; }

# expect_refused WHAT PATTERN IMAGE-ARGS...: build, verify, exit 2, message
expect_refused() {
	what=$1 pat=$2; shift 2
	rm -rf img.d img.tar
	$MKOCI oci img.tar "$@" || { fail "$what (cannot build)"; return; }
	expect_exit 2 "$what" "$HALLMARK" verify oci:img.tar $V
	expect_grep "$pat" err.txt "$what: the message names it"
}

expect_refused "a layer blob whose content does not match its digest" \
	'layer 2 sha256:[0-9a-f]{12}: digest mismatch' --corrupt-layer 2 base app
expect_refused "a layer blob of the wrong size" \
	'layer 2 sha256:[0-9a-f]{12}: size mismatch' --wrong-size 2 base app
expect_refused "a missing layer blob" \
	'layer 2: missing blob sha256:[0-9a-f]{64}' --missing-layer 2 base app
expect_refused "a diff_id that does not match the uncompressed layer" \
	'layer 2 sha256:[0-9a-f]{12}: diff_id mismatch' --wrong-diff-id 2 base app
expect_refused "a diff_id that does not match an uncompressed layer" \
	'layer 2 sha256:[0-9a-f]{12}: diff_id mismatch' --compress none --wrong-diff-id 2 base app
expect_refused "an image index where a manifest is expected" \
	'is an image index \(application/vnd.oci.image.index.v1\+json\) where an image manifest is expected' \
	--index-as-manifest base app
expect_refused "an image manifest where an index is expected" \
	'is an image manifest \(application/vnd.oci.image.manifest.v1\+json\) where an image index is expected' \
	--manifest-as-index base app
expect_refused "two manifests and no platform to choose by" \
	'lists 2 manifests' --two-manifests base app
expect_refused "a truncated compressed layer" \
	'layer 2 sha256:[0-9a-f]{12}: cannot decompress' --truncate-layer 2 base app
expect_refused "a truncated uncompressed layer" \
	'layer 2 sha256:[0-9a-f]{12}: not a readable tar stream' --compress none --truncate-layer 2 base app

mktar dotdot.tar 'opt/:d' '../escape:f:x'
expect_refused "a ../ member" "layer 2 sha256:[0-9a-f]{12}: member '../escape': unsafe name" base dotdot.tar
mktar wh-bare.tar 'etc/:d' 'etc/.wh.:f'
expect_refused "a bare .wh. whiteout" "member 'etc/.wh.': whiteout of no valid name" base wh-bare.tar
mktar wh-dots.tar 'etc/:d' 'etc/.wh...:f'
expect_refused "a .wh... whiteout" "member 'etc/.wh...': whiteout of no valid name" base wh-dots.tar
mktar wh-dot.tar 'etc/:d' 'etc/.wh..:f'
expect_refused "a .wh.. whiteout" "member 'etc/.wh..': whiteout of no valid name" base wh-dot.tar
mktar wh-reserved.tar 'etc/:d' 'etc/.wh..wh.plnk:f'
expect_refused "a reserved .wh..wh. name" "reserved whiteout name" base wh-reserved.tar
mktar wh-link.tar 'etc-link/.wh.passwd:f'
expect_refused "a whiteout through a symlink of a lower layer" \
	"whiteout '/etc-link/.wh.passwd' reaches through '/etc-link', a symlink of a lower layer" base wh-link.tar
mktar via-link.tar 'etc-link/passwd:f:evil'
expect_refused "a file written through a symlink of a lower layer" \
	"layer 2 sha256:[0-9a-f]{12}: '/etc-link/passwd': parent '/etc-link' is a symlink" base via-link.tar
mktar dup.tar 'opt/:d' 'opt/app/:d' 'opt/app/x:f:1' 'opt/app/x:f:2'
expect_refused "duplicate paths in one layer" "member 'opt/app/x': duplicate entry" base dup.tar
mktar dup-wh.tar 'etc/:d' 'etc/.wh.passwd:f' './etc/.wh.passwd:f'
expect_refused "a duplicate whiteout in one layer" "duplicate entry" base dup-wh.tar
mktar hardlink.tar 'opt/:d' 'opt/app/:d' 'opt/app/x:h:opt/nothing'
expect_refused "a hard link to nothing" "hard link to 'opt/nothing'" base hardlink.tar

# An opaque whiteout listed after its siblings still keeps them: only the
# lower layers' entries go.
mktar opq-late.tar 'usr/:d' 'usr/lib/:d' 'usr/lib/x/:d' 'usr/lib/x/c.so:f:new' 'usr/lib/x/.wh..wh..opq:f'
$MKOCI oci opq.tar base opq-late.tar
expect_exit 1 "an opaque whiteout after its siblings is drift, not an error" "$HALLMARK" verify oci:opq.tar $V
expect_grep '/usr/lib/x/a.so.*deleted by layer 2 sha256:' out.txt "the lower layer's file is deleted"
expect_grep '/usr/lib/x/c.so.*layer 2 sha256:' out.txt "the same layer's file is kept"
mktar opq-early.tar 'usr/:d' 'usr/lib/:d' 'usr/lib/x/:d' 'usr/lib/x/.wh..wh..opq:f' 'usr/lib/x/c.so:f:new'
$MKOCI oci opq2.tar base opq-early.tar
"$HALLMARK" verify oci:opq2.tar $V > out2.txt 2>&1
if cmp -s out.txt out2.txt || [ "$(grep -c 'layer 2' out.txt)" = "$(grep -c 'layer 2' out2.txt)" ]; then
	ok "the order of the opaque whiteout does not matter"
else
	fail "the order of the opaque whiteout does not matter"
fi

# Archives that are not images, or cannot be read in place.
$MKOCI oci good.tar base app
gzip -c good.tar > good.tar.gz
expect_exit 2 "a compressed image archive is refused" "$HALLMARK" verify oci:good.tar.gz $V
expect_grep 'compressed' err.txt "saying it is compressed"
tar -cf notimage.tar app 2>/dev/null
expect_exit 2 "a tar that is no image is refused" "$HALLMARK" verify oci:notimage.tar $V
expect_grep 'neither an OCI image archive' err.txt "saying what is missing"
head -c 3000 good.tar > cut.tar
expect_exit 2 "a truncated image archive is refused" "$HALLMARK" verify oci:cut.tar $V
expect_exit 2 "oci: of a folder says to use oci-dir:" "$HALLMARK" verify oci:app $V
expect_grep 'oci-dir:' err.txt "it says so"

# A blob of the layout folder that is a symlink is not followed.
$MKOCI oci-dir link.d base app
blob=$(ls link.d/blobs/sha256 | head -n 1)
mv "link.d/blobs/sha256/$blob" moved && ln -s "$T_DIR/moved" "link.d/blobs/sha256/$blob"
expect_exit 2 "a blob that is a symlink is refused" "$HALLMARK" verify oci-dir:link.d $V
expect_grep 'not a regular file' err.txt "saying so"

# Size bombs: a member claiming 100 GB (sparse, a few KB on disk) stops at
# the named limit at once; a 256 MiB file of zeros compressed 1000:1 is
# read without writing anything anywhere.
if truncate -s 100G big 2>/dev/null && tar --sparse -cf sparse.tar big 2>/dev/null &&
   [ "$(wc -c < sparse.tar)" -lt 1000000 ]; then
	rm -f big
	expect_refused "a sparse member claiming 100 GB" 'HM_LIMIT_OCI_FILE_BYTES' base sparse.tar
else
	rm -f big
	skip "a sparse member claiming 100 GB (no sparse-capable tar or file system)"
fi
python3 - <<'PY'
import io, tarfile
size = 256 << 20
ti = tarfile.TarInfo("opt/app/zeros"); ti.size = size; ti.mode = 0o644
class Zeros(io.RawIOBase):
    def __init__(self): self.left = size
    def readable(self): return True
    def readinto(self, b):
        n = min(len(b), self.left); b[:n] = bytes(n); self.left -= n; return n
with open("bomb.tar", "wb") as f:
    with tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as t:
        t.addfile(ti, io.BufferedReader(Zeros(), 1 << 20))
PY
$MKOCI oci bomb-img.tar base bomb.tar
rm -f bomb.tar
mkdir -p tmp-watch
if [ "$(wc -c < bomb-img.tar)" -lt $((2 * 1024 * 1024)) ]; then
	ok "the bomb is small ($(wc -c < bomb-img.tar) bytes)"
else
	fail "the bomb is small ($(wc -c < bomb-img.tar) bytes)"
fi
TMPDIR=$T_DIR/tmp-watch expect_exit 0 "a 256 MiB file compressed 1000:1 is read in place" "$HALLMARK" verify oci:bomb-img.tar $V
# No file opened for writing: the system calls say so (a global disk-usage
# figure would count every other process on the machine too).
if command -v strace >/dev/null; then
	TMPDIR=$T_DIR/tmp-watch strace -f -qq -e trace=open,openat,creat,mkdir,mkdirat,rename,renameat2,link,linkat -o trace.txt \
		"$HALLMARK" verify oci:bomb-img.tar $V >/dev/null 2>&1
	if [ -z "$(ls -A tmp-watch)" ] && ! grep -Eq 'O_WRONLY|O_RDWR|O_CREAT|creat\(|mkdir|rename|link' trace.txt; then
		ok "and nothing was written to disk"
	else
		fail "and nothing was written to disk"; grep -E 'O_WRONLY|O_RDWR|O_CREAT|creat\(|mkdir|rename|link' trace.txt | head -5
	fi
else
	skip "strace not installed: cannot watch for writes"
fi

done_testing
