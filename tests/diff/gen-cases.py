#!/usr/bin/env python3
"""Write the small edge-case archives of the differential test into OUTDIR
(tests/diff/differential.py compares hallmark, GNU tar and Python on
them).  Nothing is committed but this generator: each archive is built
here, with tarfile where it can write the case and with raw 512-byte
headers where it cannot (old GNU sparse, base-256, v7, AREGTYPE with a
trailing slash, malformed pax records).

    gen-cases.py OUTDIR
"""
import gzip
import io
import os
import sys
import tarfile

MTIME = 1700000000


def octal(v, width):
    return ("%0*o" % (width - 1, v)).encode() + b"\0"


def base256(v, width):
    """GNU's base-256 number: high bit of the first byte set."""
    b = bytearray(v.to_bytes(width, "big"))
    b[0] |= 0x80
    return bytes(b)


def header(name, typeflag=b"0", size=0, mode=0o644, uid=0, gid=0,
           linkname=b"", magic=b"ustar\x0000", uname=b"root", gname=b"root",
           devmajor=0, devminor=0, prefix=b"", raw=None):
    """One 512-byte header; raw maps a byte offset to bytes to put there
    (after the fields, before the checksum)."""
    h = bytearray(512)

    def put(off, val):
        h[off:off + len(val)] = val
    put(0, name[:100])
    put(100, octal(mode, 8))
    put(108, uid if isinstance(uid, bytes) else octal(uid, 8))
    put(116, gid if isinstance(gid, bytes) else octal(gid, 8))
    put(124, size if isinstance(size, bytes) else octal(size, 12))
    put(136, octal(MTIME, 12))
    put(156, typeflag)
    put(157, linkname[:100])
    if magic:
        put(257, magic)
        put(265, uname)
        put(297, gname)
        put(329, octal(devmajor, 8))
        put(337, octal(devminor, 8))
        put(345, prefix)
    for off, val in (raw or {}).items():
        put(off, val)
    h[148:156] = b" " * 8
    put(148, ("%06o" % sum(h)).encode() + b"\0 ")
    return bytes(h)


def pad(data):
    return data + bytes(-len(data) % 512)


def pax_records(kv):
    out = b""
    for k, v in kv:
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        body = b" " + k + b"=" + v + b"\n"
        n = len(body) + 1
        while len(str(n).encode()) + len(body) != n:
            n += 1
        out += str(n).encode() + body
    return out


def pax(kv, typeflag=b"x", name=b"PaxHeaders/x"):
    data = pax_records(kv)
    return header(name, typeflag, len(data)) + pad(data)


def end():
    return bytes(1024)


def member(name, data=b"", **kw):
    return header(name, size=len(data), **kw) + pad(data)


def tf_write(path, fmt, build):
    with tarfile.open(path, "w", format=fmt) as t:
        def add(name, kind="f", data=b"", mode=None, **attrs):
            ti = tarfile.TarInfo(name)
            ti.mtime = MTIME
            ti.mode = mode if mode is not None else \
                0o755 if kind == "d" else 0o777 if kind == "l" else 0o644
            ti.uname = ti.gname = "root"
            ti.type = {"f": tarfile.REGTYPE, "d": tarfile.DIRTYPE,
                       "l": tarfile.SYMTYPE, "h": tarfile.LNKTYPE,
                       "c": tarfile.CHRTYPE, "b": tarfile.BLKTYPE,
                       "p": tarfile.FIFOTYPE}[kind]
            for k, v in attrs.items():
                setattr(ti, k, v)
            if kind == "f":
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
        build(add)


def raw_write(path, *parts):
    with open(path, "wb") as f:
        f.write(b"".join(parts) + end())


def cases(d):
    P = os.path.join
    U, G, X = tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT
    long_dir = "/".join(["d%02d-%s" % (i, "x" * 20) for i in range(6)])

    tf_write(P(d, "ustar-prefix.tar"), U, lambda add: (
        add(long_dir, "d"), add(long_dir + "/file-in-a-prefix-split-name", data=b"a\n")))
    tf_write(P(d, "gnu-longname.tar"), G, lambda add: (
        add("dir", "d"), add("dir/" + "/".join(["n" * 90] * 3), data=b"long\n")))
    tf_write(P(d, "gnu-longlink.tar"), G, lambda add: (
        add("t", "d"), add("t/" + "a" * 200, data=b"target\n"),
        add("sym", "l", linkname="t/" + "a" * 200 + "/../" + "b" * 150),
        add("hard", "h", linkname="t/" + "a" * 200)))
    tf_write(P(d, "pax-longpath.tar"), X, lambda add: (
        add("p", "d"), add("p/" + "/".join(["q" * 200] * 3), data=b"pax\n"),
        add("p/sym", "l", linkname="/" + "r" * 300)))
    tf_write(P(d, "pax-uid-gid.tar"), X, lambda add: (
        add("big", data=b"x", uid=3000000000, gid=4000000, uname="alice",
            gname="staff"),))
    tf_write(P(d, "pax-xattrs.tar"), X, lambda add: (
        add("f", data=b"cap", pax_headers={
            "SCHILY.xattr.user.comment": "hello",
            "SCHILY.xattr.trusted.t": "1",
            "SCHILY.xattr.security.capability":
                "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}),))
    tf_write(P(d, "hardlinks.tar"), U, lambda add: (
        add("a", data=b"one\n", mode=0o600, uid=7, gid=8),
        add("b", "h", linkname="a"),
        add("c", "h", linkname="./b"),
        add("dir", "d"), add("dir/d", "h", linkname="a")))
    tf_write(P(d, "hardlink-target-replaced.tar"), U, lambda add: (
        add("a", data=b"old\n"), add("b", "h", linkname="a"),
        add("a", data=b"new\n")))
    tf_write(P(d, "duplicate-members.tar"), U, lambda add: (
        add("f", data=b"first\n"), add("f", data=b"second\n", mode=0o600)))
    tf_write(P(d, "devices.tar"), U, lambda add: (
        add("dev", "d"), add("dev/null", "c", devmajor=1, devminor=3, mode=0o666),
        add("dev/sda", "b", devmajor=8, devminor=0, mode=0o660, gid=6),
        add("dev/fifo", "p", mode=0o600)))
    tf_write(P(d, "non-ascii-pax.tar"), X, lambda add: (
        add("été", "d"), add("été/ünï cödé.txt", data=b"u\n"),
        add("日本語", "l", linkname="été/ünï cödé.txt")))
    tf_write(P(d, "dot-slash.tar"), U, lambda add: (
        add("./", "d", mode=0o700), add("./etc", "d"), add("./etc/a", data=b"a"),
        add("etc/b", data=b"b"), add(".//etc//./c", data=b"c")))
    tf_write(P(d, "modes.tar"), U, lambda add: (
        add("suid", data=b"s", mode=0o4755), add("sgid", data=b"g", mode=0o2711),
        add("tmp", "d", mode=0o1777), add("none", data=b"", mode=0)))
    tf_write(P(d, "symlinks.tar"), U, lambda add: (
        add("abs", "l", linkname="/etc/passwd"), add("up", "l", linkname="../../x"),
        add("dangling", "l", linkname="nowhere"), add("self", "l", linkname="self")))
    # A symlink whose header says 0644: Linux has no symlink modes, an
    # extraction shows 0777.
    tf_write(P(d, "symlink-mode.tar"), U, lambda add: (
        add("l", "l", linkname="target", mode=0o644),))
    tf_write(P(d, "named-owner.tar"), U, lambda add: (
        add("f", data=b"o", uid=1000, gid=1000, uname="root", gname="root"),))
    tf_write(P(d, "absolute-path.tar"), U, lambda add: (
        add("/abs", "d"), add("/abs/file", data=b"abs\n")))
    tf_write(P(d, "empty.tar"), U, lambda add: None)
    # Refused by everyone: a member climbing out, a hard link forward.
    tf_write(P(d, "dotdot.tar"), U, lambda add: (
        add("a", data=b"a"), add("../escape", data=b"x")))
    tf_write(P(d, "hardlink-forward.tar"), U, lambda add: (
        add("b", "h", linkname="a"), add("a", data=b"a")))

    # gzip: the same reader behind a filter.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=U) as t:
        ti = tarfile.TarInfo("z")
        ti.size, ti.mtime = 2, MTIME
        t.addfile(ti, io.BytesIO(b"z\n"))
    with open(P(d, "gzip.tar.gz"), "wb") as f:
        f.write(gzip.compress(buf.getvalue(), mtime=0))

    # Raw headers.
    gnu = b"ustar  \0"
    raw_write(P(d, "non-ascii-raw.tar"),
              member(b"caf\xe9", b"latin-1\n", magic=gnu),
              member(b"\xff\xfe", b"bytes\n", magic=gnu))
    raw_write(P(d, "base256.tar"),
              member(b"big-ids", b"b", uid=base256(3000000000, 8), gid=base256(70000000, 8),
                     magic=gnu),
              member(b"small", b"12345", magic=gnu))
    # base-256 size: the header says 5 in base-256.
    with open(P(d, "base256-size.tar"), "wb") as f:
        f.write(header(b"s", size=base256(5, 12), magic=gnu) + pad(b"12345") + end())
    raw_write(P(d, "v7.tar"),
              header(b"v7dir/", b"5", magic=b"", mode=0o755),
              member(b"v7dir/file", b"v7\n", magic=b""),
              header(b"v7old/", b"\0", magic=b"", mode=0o750))
    raw_write(P(d, "trailing-slash.tar"),
              header(b"areg-dir/", b"\0", mode=0o755),
              member(b"reg-slash/", b"", typeflag=b"0"),
              header(b"dir-noslash", b"5", mode=0o700))
    # Sparse files as GNU tar writes them: 512 bytes of data at 1024, a
    # hole up to the real size 4096, and the map's last entry (4096, 0)
    # marking the end.  Old GNU ('S'), pax 1.0 and pax 0.1.
    sp = octal(1024, 12) + octal(512, 12) + octal(4096, 12) + octal(0, 12)
    raw_write(P(d, "sparse-gnu-old.tar"),
              header(b"sparse", b"S", 512, magic=gnu,
                     raw={386: sp, 483: octal(4096, 12)}) + pad(b"s" * 512))
    m = b"2\n1024\n512\n4096\n0\n"
    raw_write(P(d, "sparse-pax-1.0.tar"),
              pax([("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"),
                   ("GNU.sparse.name", "sparse"), ("GNU.sparse.realsize", "4096")]),
              member(b"./GNUSparseFile.0/sparse", pad(m) + b"s" * 512))
    raw_write(P(d, "sparse-pax-0.1.tar"),
              pax([("GNU.sparse.size", "4096"), ("GNU.sparse.numblocks", "2"),
                   ("GNU.sparse.map", "1024,512,4096,0"), ("GNU.sparse.name", "sparse")]),
              member(b"./GNUSparseFile.0/sparse", b"s" * 512))
    # A real size past the map's end without the closing entry: GNU tar
    # stops at the last chunk, Python and libarchive pad with zeros
    # (issue 11, item 3).
    m = b"1\n1024\n512\n"
    raw_write(P(d, "sparse-realsize-past-map.tar"),
              pax([("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"),
                   ("GNU.sparse.name", "sparse"), ("GNU.sparse.realsize", "4096")]),
              member(b"./GNUSparseFile.0/sparse", pad(m) + b"s" * 512))
    # pax global headers: a harmless comment, then one that sets owners
    # and one that sets a path (issue 11, item 2).
    raw_write(P(d, "pax-global-comment.tar"),
              pax([("comment", "just a comment")], b"g", b"pax_global_header"),
              member(b"f", b"g\n"))
    raw_write(P(d, "pax-global-uid.tar"),
              pax([("uid", "4242"), ("gid", "4343")], b"g", b"pax_global_header"),
              member(b"f", b"owned?\n"))
    raw_write(P(d, "pax-global-path.tar"),
              pax([("path", "elsewhere")], b"g", b"pax_global_header"),
              member(b"f", b"where?\n"))
    # GNU realsize on a member without a sparse map (issue 11, item 3).
    raw_write(P(d, "gnu-realsize.tar"),
              pax([("GNU.sparse.realsize", "10000")]),
              member(b"f", b"short\n"))
    # A malformed pax record (a length past the record) before a member
    # whose uid it would set (issue 11, item 1).
    bad = b"99 uid=5\n" + pax_records([("path", "hidden")])
    raw_write(P(d, "pax-bad-record.tar"),
              header(b"PaxHeaders/f", b"x", len(bad)) + pad(bad),
              member(b"f", b"x\n"))
    # Cases after findings on the peers' corpus (README.md):
    # a GNU header of a plain file with bytes in the realsize field (Go's
    # nil-uid.tar: another writer's atime there): libarchive takes them
    # as the size (item 3).
    raw_write(P(d, "gnu-header-realsize.tar"),
              member(b"f", b"fourteen bytes", magic=gnu,
                     raw={483: octal(0o4200, 12)}))
    # A volume label ('V') with a negative base-256 size, then a file
    # (libarchive's V_negative_size): GNU tar and Python refuse.
    raw_write(P(d, "label-negative-size.tar"),
              header(b"label", b"V", size=b"\xff" * 12, magic=gnu),
              member(b"f", b"after the label\n", magic=gnu))
    # A NUL in a pax xattr name (Go's pax-nul-xattrs.tar, item 1).
    raw_write(P(d, "pax-nul-xattr.tar"),
              pax([(b"SCHILY.xattr.user.nul\0x", "v")]),
              member(b"f", b"nul\n"))
    # xattrs in libarchive's own pax records: read by hallmark (docs/cli.md),
    # not by GNU tar or Python.
    raw_write(P(d, "pax-libarchive-xattr.tar"),
              pax([("LIBARCHIVE.xattr.user.data", "QUJD")]),
              member(b"f", b"la\n"))
    # A folder listed twice (tar-rs' duplicate_dirs.tar).
    tf_write(P(d, "duplicate-dirs.tar"), U, lambda add: (
        add("d", "d"), add("d/f", data=b"f"), add("d", "d")))
    # A file with an ACL as GNU tar --acls writes it: the header's group
    # bits are the mask (rwx), the ACL's group entry is r-- (issue 11,
    # item 4: the mode must stay the header's 0674).
    raw_write(P(d, "pax-acl.tar"),
              pax([("SCHILY.acl.access",
                    "user::rw-,group::r--,group:adm:rwx:4,mask::rwx,other::r--")]),
              member(b"f", b"acl\n", mode=0o674))


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    os.makedirs(sys.argv[1], exist_ok=True)
    cases(sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
