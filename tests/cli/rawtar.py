#!/usr/bin/env python3
"""rawtar.py OUT MEMBERS: a tar written block by block, so that headers can
carry what no tar writer would.  MEMBERS: a Python list of dicts: name,
type ("0" file, "5" dir, "g" pax global header...), data, mode, uid,
gid, pax (records of a pax 'x' header before the member), paxraw (the
same, bytes written as they are), glob (records of a 'g' member), gnu
(old GNU magic), realsize (the GNU header field).

Shared by the tests/cli/t70xx tar-reader scripts."""
import sys
def records(d):
    out = b""
    for k, v in d.items():
        kv = b"%s=%s\n" % (k if isinstance(k, bytes) else k.encode(),
                           v if isinstance(v, bytes) else str(v).encode())
        n = len(kv) + 2
        while len(b"%d " % n) + len(kv) != n:
            n += 1
        out += b"%d " % n + kv
    return out
def header(name, typ, size, mode, uid, gid, gnu, realsize):
    h = bytearray(512)
    nb = name.encode()
    h[0:len(nb)] = nb
    h[100:108] = b"%07o\0" % mode
    h[108:116] = b"%07o\0" % uid
    h[116:124] = b"%07o\0" % gid
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"14543617400\0"
    h[156:157] = typ.encode()
    h[257:265] = b"ustar  \0" if gnu else b"ustar\x0000"
    if realsize is not None:
        h[483:495] = b"%011o\0" % realsize
    h[148:156] = b"%06o\0 " % (sum(h[:148]) + 8 * 32 + sum(h[156:]))
    return bytes(h)
def pad(b):
    return b + bytes(-len(b) % 512)
with open(sys.argv[1], "wb") as out:
    for m in eval(sys.argv[2]):
        body = m.get("paxraw", records(m["pax"]) if "pax" in m else None)
        if body is not None:
            out.write(header("PaxHeaders/x", "x", len(body), 0o644, 0, 0, False, None) + pad(body))
        typ = m.get("type", "0")
        data = records(m["glob"]) if "glob" in m else m.get("data", b"")
        out.write(header(m["name"], typ, len(data), m.get("mode", 0o755 if typ == "5" else 0o644),
                         m.get("uid", 0), m.get("gid", 0), m.get("gnu", False),
                         m.get("realsize")) + pad(data))
    out.write(bytes(1024))
