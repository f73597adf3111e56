#!/bin/sh
# Sparse headers claiming petabytes (GNU old-style 'S' members, pax 0.1
# and 1.0 sparse records): a few KB on disk that would take days to hash
# as zeros.  A member's logical size, holes included, is capped
# (HM_LIMIT_TAR_MEMBER_BYTES = 1 TiB for tar streams,
# HM_LIMIT_OCI_FILE_BYTES = 64 GiB for layers): exit 2 at once, from the
# header, for every command; nothing written.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

PB=1125899906842624
# sparse.py OUT FORMAT: a tar holding /opt/pwned-huge, 1 PiB long with one
# 512-byte chunk of data.  FORMAT: gnu (old GNU 'S' header, base-256
# real size), pax01 (GNU.sparse.size/map records), pax10 (GNU.sparse
# major/minor 1.0, map in the data).
cat > sparse.py <<'PY'
import io, sys, tarfile
out, fmt = sys.argv[1], sys.argv[2]
PB = 1 << 50
def num(v, n):   # GNU base-256 for numbers too big for octal
    return bytes([0x80]) + v.to_bytes(n - 1, "big")
def chk(h):
    s = sum(h[:148]) + 8 * 32 + sum(h[156:])
    return h[:148] + b"%06o\0 " % s + h[156:]
with open(out, "wb") as f:
    for n in ["./", "opt/"]:
        ti = tarfile.TarInfo(n); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
        f.write(ti.tobuf(tarfile.GNU_FORMAT if fmt == "gnu" else tarfile.PAX_FORMAT))
    if fmt == "gnu":
        h = bytearray(512)
        h[0:15] = b"opt/pwned-huge\0"
        h[100:108] = b"0000644\0"; h[108:116] = b"0000000\0"; h[116:124] = b"0000000\0"
        h[124:136] = b"00000001000\0"            # 512 bytes stored
        h[136:148] = b"14543617400\0"
        h[156:157] = b"S"
        h[257:265] = b"ustar  \0"
        h[386:398] = b"00000000000\0"            # chunk at offset 0
        h[398:410] = b"00000001000\0"            # of 512 bytes
        h[483:495] = num(PB, 12)                 # real size
        f.write(chk(bytes(h)))
        f.write(b"x" * 512)
    else:
        ti = tarfile.TarInfo("opt/pwned-huge"); ti.mode = 0o644
        if fmt == "pax01":
            data = b"x" * 512
            ti.pax_headers = {"GNU.sparse.size": str(PB), "GNU.sparse.numblocks": "1",
                              "GNU.sparse.offset": "0", "GNU.sparse.numbytes": "512",
                              "GNU.sparse.map": "0,512"}
        else:
            m = b"1\n0\n512\n"
            data = m + bytes(512 - len(m)) + b"x" * 512
            ti.name = "opt/GNUSparseFile.0/pwned-huge"
            ti.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                              "GNU.sparse.name": "opt/pwned-huge", "GNU.sparse.realsize": str(PB)}
        ti.size = len(data)
        f.write(ti.tobuf(tarfile.PAX_FORMAT)); f.write(data)
    f.write(bytes(1024))
PY

for fmt in gnu pax01 pax10; do
	python3 sparse.py "huge-$fmt.tar" "$fmt"
	sz=$(wc -c < "huge-$fmt.tar")
	[ "$sz" -lt 20000 ] && ok "$fmt: 1 PiB in $sz bytes" || fail "$fmt: 1 PiB in $sz bytes"
done
# The whole matrix for the old GNU header; the pax spellings by verify.
tar_refused "an old GNU sparse header claiming 1 PiB" \
	"tar member '/opt/pwned-huge' is larger than 1099511627776 bytes \(HM_LIMIT_TAR_MEMBER_BYTES\)" huge-gnu.tar
layer_refused "a layer's old GNU sparse header claiming 1 PiB" \
	"member 'opt/pwned-huge': size 1125899906842624 exceeds the limit of 68719476736 bytes \(HM_LIMIT_OCI_FILE_BYTES\)" huge-gnu.tar
for fmt in pax01 pax10; do
	tar_quick "a $fmt sparse header claiming 1 PiB" "HM_LIMIT_TAR_MEMBER_BYTES" "huge-$fmt.tar"
	layer_quick "a layer's $fmt sparse header claiming 1 PiB" "size 1125899906842624 exceeds .*HM_LIMIT_OCI_FILE_BYTES" "huge-$fmt.tar"
done

# At once: no hashing of holes.  (1 PiB of zeros is days of SHA-256.)
expect_exit 2 "refused within seconds" timeout 20 "$HALLMARK" verify tar:huge-pax10.tar $V

# Just past each limit is as refused as a petabyte.
sed "s/^PB = 1 << 50$/PB = (1 << 40) + 1/" sparse.py > sparse-tib.py
python3 sparse-tib.py tib.tar pax10
tar_quick "a sparse member of 1 TiB + 1 byte" "larger than 1099511627776 bytes" tib.tar
sed "s/^PB = 1 << 50$/PB = (64 << 30) + 1/" sparse.py > sparse-64g.py
python3 sparse-64g.py g64.tar pax10
layer_quick "a layer's sparse member of 64 GiB + 1 byte" "size 68719476737 exceeds the limit of 68719476736 bytes" g64.tar
done_testing
