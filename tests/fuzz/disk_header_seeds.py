#!/usr/bin/env python3
"""Seeds for fuzz_disk_header: small qcow2 headers built here, byte by
byte (docs/interop/qcow2.txt in qemu), and a few raw images.  Each file's
first byte picks the format (0: qcow2, 1: raw), as the target reads it.
Run from the top of the tree: writes tests/fuzz/corpus/disk_header/."""
import os
import struct

OUT = "tests/fuzz/corpus/disk_header"
CB = 9                      # 512-byte clusters: the smallest qemu allows
C = 1 << CB


def qcow2(version=3, backing=None, data_file=None, incompat=0, l1=1,
          l2_at=4, truncate=None):
    # Clusters: 0 header, 1 refcount table, 2 refcount block, 3 L1, 4 L2.
    hlen = 104 if version == 3 else 72
    exts = b""
    if data_file is not None:
        name = data_file.encode()
        exts += struct.pack(">II", 0x44415441, len(name)) + name
        exts += b"\0" * (-len(name) % 8)
    if version == 3:
        exts += struct.pack(">II", 0, 0)
    boff = hlen + len(exts) if backing else 0
    blen = len(backing) if backing else 0
    h = struct.pack(">IIQIIQIIQQIIQ", 0x514649FB, version, boff, blen, CB,
                    1 << 15, 0, l1, 3 * C, C, 1, 0, 0)
    if version == 3:
        h += struct.pack(">QQQII", incompat, 0, 0, 4, hlen)
    img = bytearray(h + exts + (backing.encode() if backing else b""))
    img += b"\0" * (5 * C - len(img))
    struct.pack_into(">Q", img, C, 2 * C)           # refcount table -> block
    for i in range(5):
        struct.pack_into(">H", img, 2 * C + 2 * i, 1)
    if l1:
        struct.pack_into(">Q", img, 3 * C, (l2_at * C) | (1 << 63))
    if truncate is not None:
        img = img[:truncate]
    return b"\0" + bytes(img)


SEEDS = {
    "qcow2-v3": qcow2(),
    "qcow2-v2": qcow2(version=2),
    "qcow2-empty-l1": qcow2(l1=0),
    "qcow2-backing": qcow2(backing="/etc/shadow"),
    "qcow2-data-file": qcow2(data_file="/etc/shadow", incompat=4),
    "qcow2-data-bit-only": qcow2(incompat=4),
    "qcow2-unknown-feature": qcow2(incompat=1 << 40),
    "qcow2-l2-past-end": qcow2(l2_at=4096),
    "qcow2-truncated": qcow2(truncate=3 * C + 4),
    "qcow2-short": qcow2(truncate=40),
    "raw-sector": b"\x01" + b"\0" * 512,
    "raw-odd": b"\x01" + b"x" * 700,
    "raw-looks-qcow2": b"\x01" + qcow2()[1:] + b"\0" * (-(len(qcow2()) - 1) % 512),
}

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
