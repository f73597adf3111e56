#!/usr/bin/env python3
"""Write a test OCI image (archive or layout folder) or a docker-archive
from layers, for the t3xxx tests.  No committed blobs: everything is built
here from folders or tar files the test made.

    oci-image.py FORMAT OUT [options] LAYER...

FORMAT: oci (OCI image archive), oci-dir (OCI layout folder), docker
(docker-archive as `docker save` writes it).  LAYER: a folder (tarred with
numeric owners, pax format; the first layer includes the root "./") or a
ready .tar file used as the layer's uncompressed stream.

Options that break the image on purpose (N is a 1-based layer index):
  --compress gzip|zstd|zstd-sized|none|hm-members
                              layer compression (default gzip; docker: none;
                              hm-members: hallmark's gzip members, lib/pgzip.c;
                              zstd-sized: one frame declaring its size)
  --break-members HOW         hm-members damaged on purpose, before hashing:
                              crc, deflate, claim-more, claim-huge,
                              member-size, truncated, trailing, plain-after;
                              with --compress gzip: two-members,
                              trailing-zeros, header-fields (valid), and
                              bad-crc, bad-isize, bad-deflate, cut
  --corrupt-layer N           change one byte of the blob after hashing
  --wrong-size N              descriptor size one more than the blob's
  --missing-layer N           leave the blob out
  --truncate-layer N          cut the compressed blob in half, or the tar
                              stream inside the last member's data (and
                              describe the cut blob correctly)
  --wrong-diff-id N           the config names another diff_id
  --index-as-manifest         index.json names an index, typed as a manifest
  --manifest-as-index         index.json names a manifest, typed as an index
  --nested                    index.json -> index (amd64 + arm64) -> manifest
  --two-manifests             index.json lists two manifests, no platforms
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import subprocess
import struct
import sys
import tarfile
import zlib

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def sha(b):
    return hashlib.sha256(b).hexdigest()


def tar_folder(path, with_root):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        def add(full, arc):
            ti = t.gettarinfo(full, arcname=arc)
            ti.uname = ti.gname = ""
            if ti.isreg():
                with open(full, "rb") as f:
                    t.addfile(ti, f)
            else:
                t.addfile(ti)
        if with_root:
            add(path, ".")
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(dirs + files):
                full = os.path.join(root, name)
                add(full, os.path.relpath(full, path))
    return buf.getvalue()


def hm_member(chunk, claim=None):
    """One gzip member as lib/pgzip.c writes it: FEXTRA with subfield HM,
    the member's size and its data's size (32-bit little-endian)."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = c.compress(chunk) + c.flush()
    size = 24 + len(body) + 8
    msize, dsize = claim if claim else (size, len(chunk))
    head = (b"\x1f\x8b\x08\x04" + b"\0\0\0\0" + b"\x00\xff" + struct.pack("<H", 12)
            + b"HM" + struct.pack("<HII", 8, msize, dsize))
    return head + body + struct.pack("<II", zlib.crc32(chunk), len(chunk) & 0xffffffff)


def hm_members(data, brk=None):
    """Independent members of 1 MiB, broken on purpose by brk (the reader
    must refuse each: the blob's digest is made after the damage)."""
    chunks = [data[i:i + (1 << 20)] for i in range(0, len(data), 1 << 20)] or [b""]
    out = [hm_member(c) for c in chunks]
    mid = len(out) // 2
    if brk == "crc":
        m = bytearray(out[mid]); m[-8] ^= 1; out[mid] = bytes(m)
    elif brk == "deflate":
        m = bytearray(out[mid]); m[40] ^= 0xff; out[mid] = bytes(m)
    elif brk == "claim-more":
        out[mid] = hm_member(chunks[mid], (len(out[mid]), len(chunks[mid]) + 1))
    elif brk == "claim-huge":
        out[mid] = hm_member(chunks[mid], (len(out[mid]), 1 << 31))
    elif brk == "member-size":
        out[mid] = hm_member(chunks[mid], (len(out[mid]) + 5, len(chunks[mid])))
    elif brk == "truncated":
        out[-1] = out[-1][:len(out[-1]) // 2]
    elif brk == "trailing":
        out.append(b"\0" * 100)
    elif brk == "plain-after":
        out.append(gzip.compress(b"\0" * 1024, 6, mtime=0))
    return b"".join(out)


def gzip_variant(data, brk):
    """Plain gzip, as other writers make it, odd on purpose."""
    if brk == "two-members":
        h = len(data) // 2
        return gzip.compress(data[:h], 6, mtime=0) + gzip.compress(data[h:], 6, mtime=0)
    if brk == "trailing-zeros":
        return gzip.compress(data, 6, mtime=0) + b"\0" * 512
    if brk == "header-fields":
        # FNAME and FCOMMENT, as gzip(1) and some registries write them.
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = c.compress(data) + c.flush()
        return (b"\x1f\x8b\x08\x18\0\0\0\0\x00\x03layer.tar\0a comment\0" + body
                + struct.pack("<II", zlib.crc32(data), len(data) & 0xffffffff))
    z = bytearray(gzip.compress(data, 6, mtime=0))
    if brk == "bad-crc":
        z[-8] ^= 1
    elif brk == "bad-isize":
        z[-1] ^= 1
    elif brk == "bad-deflate":
        z[len(z) // 2] ^= 0xff
    elif brk == "cut":
        z = z[:len(z) - 5]
    return bytes(z)


def compress(data, how, brk=None):
    if how == "hm-members":
        return hm_members(data, brk)
    if how == "gzip" and brk:
        return gzip_variant(data, brk)
    if how == "gzip":
        return gzip.compress(data, 6, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data,
                              stdout=subprocess.PIPE, check=True).stdout
    if how == "zstd-sized":
        # One frame whose header declares its content size, as the zstd
        # tool writes when it knows the input's size (a file).
        return subprocess.run(["zstd", "-q", "-c", "--stream-size=%d" % len(data)],
                              input=data, stdout=subprocess.PIPE, check=True).stdout
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("format", choices=["oci", "oci-dir", "docker"])
    ap.add_argument("out")
    ap.add_argument("layers", nargs="+")
    ap.add_argument("--compress", choices=["gzip", "zstd", "zstd-sized", "none", "hm-members"])
    ap.add_argument("--break-members", choices=["crc", "deflate", "claim-more",
                    "claim-huge", "member-size", "truncated", "trailing",
                    "plain-after", "two-members", "trailing-zeros",
                    "header-fields", "bad-crc", "bad-isize", "bad-deflate",
                    "cut"])
    for opt in ["corrupt-layer", "wrong-size", "missing-layer",
                "truncate-layer", "wrong-diff-id"]:
        ap.add_argument("--" + opt, type=int, default=0)
    for opt in ["index-as-manifest", "manifest-as-index", "nested",
                "two-manifests"]:
        ap.add_argument("--" + opt, action="store_true")
    a = ap.parse_args()
    how = a.compress or ("none" if a.format == "docker" else "gzip")

    files = {}          # name in the image -> bytes
    links, seen = {}, {}  # docker: symlinked repeated layers
    diff_ids, descs, docker_layers = [], [], []
    for i, src in enumerate(a.layers, 1):
        if os.path.isdir(src):
            raw = tar_folder(src, i == 1)
        else:
            with open(src, "rb") as f:
                raw = f.read()
        if a.truncate_layer == i and how == "none":
            # Cut inside the last member's data, so that the tar stream
            # itself is truncated (and describe the cut stream correctly).
            raw = raw[:len(raw.rstrip(b"\0")) - 1]
        diff = sha(raw)
        diff_ids.append("sha256:" + (sha(b"other") if a.wrong_diff_id == i else diff))
        blob = compress(raw, how, a.break_members)
        if a.truncate_layer == i and how != "none":
            blob = blob[: len(blob) // 2]
        digest = sha(blob)
        size = len(blob)
        if a.corrupt_layer == i:
            b = bytearray(blob)
            b[len(b) // 2] ^= 0x55
            blob = bytes(b)
        if a.wrong_size == i:
            size += 1
        if a.format == "docker":
            # docker save names layer folders by an id of its own, and
            # writes a repeated layer as a symlink to the first copy.
            name = sha((diff + str(i)).encode()) + "/layer.tar"
            docker_layers.append(name)
            if diff in seen:
                links[name] = "../" + seen[diff]
                continue
            seen[diff] = name
        else:
            name = "blobs/sha256/" + digest
            descs.append({"mediaType": MT_LAYER[{"hm-members": "gzip", "zstd-sized": "zstd"}.get(how, how)], "digest": "sha256:" + digest,
                          "size": size})
        if a.missing_layer != i:
            files[name] = blob

    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {}, "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }, sort_keys=True).encode()
    cfg_hex = sha(config)

    if a.format == "docker":
        files[cfg_hex + ".json"] = config
        files["manifest.json"] = json.dumps([{
            "Config": cfg_hex + ".json", "RepoTags": ["test/image:latest"],
            "Layers": docker_layers}]).encode()
        files["repositories"] = b"{}"
    else:
        files["blobs/sha256/" + cfg_hex] = config
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": MT_MANIFEST,
            "config": {"mediaType": MT_CONFIG, "digest": "sha256:" + cfg_hex,
                       "size": len(config)},
            "layers": descs}).encode()
        files["blobs/sha256/" + sha(manifest)] = manifest
        mdesc = {"mediaType": MT_MANIFEST, "digest": "sha256:" + sha(manifest),
                 "size": len(manifest)}
        top = [mdesc]
        if a.nested or a.index_as_manifest:
            arm = dict(mdesc, platform={"os": "linux", "architecture": "arm64"})
            amd = dict(mdesc, platform={"os": "linux", "architecture": "amd64"})
            inner = json.dumps({"schemaVersion": 2, "mediaType": MT_INDEX,
                                "manifests": [arm, amd]}).encode()
            files["blobs/sha256/" + sha(inner)] = inner
            top = [{"mediaType": MT_MANIFEST if a.index_as_manifest else MT_INDEX,
                    "digest": "sha256:" + sha(inner), "size": len(inner)}]
        if a.manifest_as_index:
            top = [dict(mdesc, mediaType=MT_INDEX)]
        if a.two_manifests:
            top = [mdesc, dict(mdesc)]
        files["index.json"] = json.dumps({"schemaVersion": 2, "mediaType": MT_INDEX,
                                          "manifests": top}).encode()
        files["oci-layout"] = b'{"imageLayoutVersion":"1.0.0"}'

    first = ["oci-layout", "index.json", "manifest.json"]
    order = [n for n in first if n in files] + sorted(n for n in files if n not in first)
    if a.format == "oci-dir":
        for n in order:
            p = os.path.join(a.out, n)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(files[n])
    else:
        with tarfile.open(a.out, "w", format=tarfile.PAX_FORMAT) as t:
            for n in order:
                ti = tarfile.TarInfo(n)
                ti.size = len(files[n])
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(files[n]))
            for n in sorted(links):
                ti = tarfile.TarInfo(n)
                ti.type, ti.linkname = tarfile.SYMTYPE, links[n]
                t.addfile(ti)
    return 0


if __name__ == "__main__":
    sys.exit(main())
