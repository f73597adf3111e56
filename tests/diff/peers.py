#!/usr/bin/env python3
"""Gather peers' tar test archives from bare git repositories into OUTDIR,
for differential.py.  Nothing of theirs is committed here: this is run by
hand (tests/diff/README.md) on clones of

  Go's archive/tar        src/archive/tar/testdata/*   (golang/go, or the
                          copy in vbatts/tar-split: archive/tar/testdata/)
  libarchive              libarchive/test/*.uu         (uuencoded: decoded
                          here; only the tar, pax, ustar and gtar ones)
  tar-rs                  tests/archives/*.tar

Compressed archives are decompressed to plain tar when a decoder is at
hand (.Z and .gz with gzip, .bz2, .xz, .zst, .lz4), so that all three
readers see the same tar stream; lzop, lrzip and grzip ones are left out
(hallmark does not read those filters, issue 11 item 5).

    peers.py OUTDIR GITDIR...
"""
import binascii
import bz2
import gzip
import lzma
import os
import re
import shutil
import subprocess
import sys

PICK = [
    (re.compile(r"(^|/)archive/tar/testdata/[^/]+$"), "go"),
    (re.compile(r"^libarchive/test/[^/]+\.uu$"), "libarchive"),
    (re.compile(r"^tests/archives/[^/]+\.tar$"), "tar-rs"),
    (re.compile(r"^tar/asm/testdata/[^/]+\.tar\.gz$"), "tar-split"),
]
TARLIKE = re.compile(r"(tar|pax|ustar|gtar)", re.I)


def git(gd, *args):
    return subprocess.run(["git", "--git-dir=" + gd] + list(args),
                          stdout=subprocess.PIPE, check=True).stdout


def uudecode(data):
    out = bytearray()
    lines = data.split(b"\n")
    i = 0
    while i < len(lines) and not lines[i].startswith(b"begin "):
        i += 1
    for line in lines[i + 1:]:
        if line.strip() in (b"end", b"`") or not line.strip():
            if line.strip() == b"end":
                break
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # Some encoders pad lines short: decode what the count says.
            n = (line[0] - 32) & 63
            out += binascii.a2b_uu(line[:1 + (n + 2) // 3 * 4] + b"\n")[:n]
    return bytes(out)


def tool(cmd, data):
    if not shutil.which(cmd[0]):
        return None
    p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    return p.stdout if p.returncode == 0 or p.stdout else None


def decompress(name, data):
    """(name, data) as a plain tar, or (name, None) when left out."""
    try:
        if name.endswith((".Z", ".gz", ".tgz")):
            d = tool(["gzip", "-dc"], data)
            return re.sub(r"\.(Z|gz|tgz)$", "", name), d
        if name.endswith(".bz2"):
            return name[:-4], bz2.decompress(data)
        if name.endswith(".xz"):
            return name[:-3], lzma.decompress(data)
        if name.endswith(".zst"):
            return name[:-4], tool(["zstd", "-dc"], data)
        if name.endswith(".lz4"):
            return name[:-4], tool(["lz4", "-dc"], data)
    except (OSError, EOFError, lzma.LZMAError, ValueError):
        return name, None
    if name.endswith((".lzo", ".lrz", ".grz")):
        return name, None
    return name, data


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = skipped = 0
    for gd in sys.argv[2:]:
        for path in git(gd, "ls-tree", "-r", "--name-only", "HEAD").decode().splitlines():
            for rx, who in PICK:
                if rx.search(path):
                    break
            else:
                continue
            name = os.path.basename(path)
            if name.endswith((".txt", ".go", ".sh")):
                continue
            data = git(gd, "cat-file", "blob", "HEAD:" + path)
            if name.endswith(".uu"):
                name = name[:-3]
                if not TARLIKE.search(name) or re.search(
                        r"\.(zip|rar|7z|lzh|cpio|iso|cab|xar|lha|mtree)\b", name):
                    continue
                data = uudecode(data)
            name, data = decompress(name, data)
            if data is None:
                skipped += 1
                print("# left out %s:%s (no in-scope decoder)" % (who, path),
                      file=sys.stderr)
                continue
            d = os.path.join(out, who)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            n += 1
    print("# %d archives written under %s, %d left out" % (n, out, skipped),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
