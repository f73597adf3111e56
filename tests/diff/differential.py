#!/usr/bin/env python3
"""Differential test of hallmark's tar reader (issue 11, "Differential
testing"): for each tar archive, three views of the tree it stands for.

  H  `hallmark manifest tar:FILE`
  G  GNU tar: extracted as root with
       tar --xattrs --xattrs-include='*' --numeric-owner --same-owner -xpf
     into a fresh folder, then `hallmark manifest dir:` of that folder
  P  Python's tarfile: the members, hard links resolved the way an
     extraction resolves them (the link is the target's inode), the last
     member of a name winning

Compared per entry: type, mode, uid, gid, size, sha256, target, rdev and
xattrs.  What an extraction cannot reproduce is not compared:
  - folders the archive does not list (made up by every reader: only
    their type is compared), and the root unless the archive lists "./";
  - timestamps (hallmark records none);
  - the G view when GNU tar is not run as root (owners and devices need
    it): then G is left out and said so.
Accept/refuse is compared too: hallmark refusing (exit 2) where GNU tar
extracts is listed as class "refused" (fine when the docs say why);
hallmark accepting what GNU tar or Python read differently is the bug
class this test exists for.

    differential.py [--hallmark BIN] [--json OUT] [--keep] ARCHIVE|DIR...

Prints one line per disagreement, tab-separated:
    ARCHIVE  PATH  FIELD  H=...  G=...  P=...
(PATH "-" and FIELD "verdict" for accept/refuse), then a summary line
"N archives, N agree, N disagree".  Exit 0 when it ran (disagreements are
data, not failures; t7024 compares them with the expected lists), 2 on a
usage error.
"""
import argparse
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time

FIELDS = ("type", "mode", "uid", "gid", "size", "sha256", "target", "rdev",
          "xattrs")
TIMEOUT = int(os.environ.get("HM_DIFF_TIMEOUT", "120"))


def esc(b):
    """A byte string as the manifest escapes it (docs/manifest-format.md 4)."""
    if isinstance(b, str):
        b = b.encode("utf-8", "surrogateescape")
    return "".join(chr(c) if 0x21 <= c <= 0x7e and c != 0x5c else
                   "\\%03o" % c for c in b)


def unesc(s):
    out, i = bytearray(), 0
    while i < len(s):
        if s[i] == "\\":
            out.append(int(s[i + 1:i + 4], 8))
            i += 4
        else:
            out.append(ord(s[i]))
            i += 1
    return bytes(out)


def norm(name):
    """A member name as a canonical absolute path (bytes), None if it
    climbs out ("..")."""
    if isinstance(name, str):
        name = name.encode("utf-8", "surrogateescape")
    parts = []
    for c in name.split(b"/"):
        if c in (b"", b"."):
            continue
        if c == b"..":
            return None
        parts.append(c)
    return b"/" + b"/".join(parts)


def parse_manifest(text):
    """path -> {field: value} of a hallmark manifest."""
    tree = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines) and not lines[i].startswith("/"):
        i += 1
    for line in lines[i:]:
        if not line:
            continue
        toks = line.split(" ")
        e = {"xattrs": {}}
        for t in toks[1:]:
            k, _, v = t.partition("=")
            if k.startswith("xattr."):
                e["xattrs"][esc(unesc(k[6:]))] = v
            elif k == "target":
                e["target"] = esc(unesc(v))
            else:
                e[k] = v
        if not e["xattrs"]:
            del e["xattrs"]
        tree[unesc(toks[0])] = e
    return tree


def run(cmd, **kw):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT, **kw)
        return p.returncode, p.stdout.decode("utf-8", "replace"), \
            p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return -1, "", "timeout after %d s" % TIMEOUT


def first_line(s):
    s = s.strip().splitlines()
    return s[0][:200] if s else ""


def view_hallmark(hm, path, tmp):
    out = os.path.join(tmp, "h.manifest")
    rc, _, err = run([hm, "manifest", "tar:" + path, "-o", out])
    if rc != 0:
        return None, "exit %d: %s" % (rc, first_line(err))
    with open(out, encoding="utf-8", errors="surrogateescape") as f:
        return parse_manifest(f.read()), None


def view_gnu(hm, path, tmp):
    root = os.path.join(tmp, "x")
    os.mkdir(root)
    os.chmod(root, 0o755)
    rc, _, err = run(["tar", "--xattrs", "--xattrs-include=*",
                      "--numeric-owner", "--same-owner", "-xpf",
                      os.path.abspath(path)], cwd=root)
    note = None
    if rc != 0:
        note = "exit %d: %s" % (rc, first_line(err))
    mf = os.path.join(tmp, "g.manifest")
    rc2, _, err2 = run([hm, "manifest", "dir:" + root, "-o", mf])
    tree = None
    if rc2 == 0:
        with open(mf, encoding="utf-8", errors="surrogateescape") as f:
            tree = parse_manifest(f.read())
    elif note is None:
        note = "dir: view failed: " + first_line(err2)
    return tree, note


def view_python(path):
    """The tree Python's tarfile describes, or (None, reason)."""
    tree, listed = {}, set()
    deadline = time.monotonic() + TIMEOUT
    try:
        tf = tarfile.open(path, errors="surrogateescape")
    except Exception as ex:  # noqa: BLE001 - any refusal is a verdict
        return None, None, " ".join(("%s: %s" % (type(ex).__name__, ex)).split())
    try:
        with tf:
            seen = {}    # path -> entry as of now (for hard links)
            for m in tf:
                if m.type == b"V":
                    continue    # a volume label: no file (GNU tar, libarchive)
                p = norm(m.name)
                if p is None:
                    return None, None, "member '%s' climbs out" % m.name
                e = {}
                if m.islnk():
                    t = norm(m.linkname)
                    if t is None or t not in seen or \
                            seen[t].get("type") != "file":
                        return None, None, "hard link '%s' to '%s': no such file before it" % (
                            m.name, m.linkname)
                    e = dict(seen[t])
                else:
                    # 'D': a GNU dumpdir, a folder with a list of names.
                    e["type"] = ("file" if m.isreg() else "dir"
                                 if m.isdir() or m.type == b"D"
                                 else "symlink" if m.issym() else
                                 "char" if m.ischr() else "block" if m.isblk()
                                 else "fifo" if m.isfifo() else "?" + m.type.decode())
                    e["mode"] = "%04o" % (m.mode & 0o7777)
                    e["uid"], e["gid"] = str(m.uid), str(m.gid)
                    if m.isreg():
                        h = hashlib.sha256()
                        f = tf.extractfile(m)
                        n = 0
                        while True:
                            b = f.read(1 << 20)
                            if not b:
                                break
                            h.update(b)
                            n += len(b)
                            if time.monotonic() > deadline:
                                raise TimeoutError("timeout after %d s" % TIMEOUT)
                        e["size"], e["sha256"] = str(n), h.hexdigest()
                    if m.issym():
                        e["target"] = esc(m.linkname)
                    if m.ischr() or m.isblk():
                        e["rdev"] = "%d,%d" % (m.devmajor, m.devminor)
                    x = {}
                    for k, v in m.pax_headers.items():
                        if k.startswith("SCHILY.xattr."):
                            vb = v.encode("utf-8", "surrogateescape")
                            x[esc(k[13:])] = vb.hex()
                    if x:
                        e["xattrs"] = x
                if p in seen and seen[p].get("type") == "dir" and \
                        e.get("type") == "dir":
                    pass        # a folder listed again: the last wins
                seen[p] = e
                listed.add(p)
                tree[p] = e
    except Exception as ex:  # noqa: BLE001
        return None, None, " ".join(("%s: %s" % (type(ex).__name__, ex)).split())
    # Parents nobody listed.
    for p in list(tree):
        q = p
        while q != b"/":
            q = q.rsplit(b"/", 1)[0] or b"/"
            tree.setdefault(q, {"type": "dir"})
    tree.setdefault(b"/", {"type": "dir"})
    return tree, listed, None


def compare(name, views, listed, out):
    """Disagreements between the views (dicts or None) of one archive."""
    n = 0
    paths = set()
    for v in views.values():
        if v:
            paths |= set(v)
    for p in sorted(paths):
        # Without Python's list of members, all but the root count.
        explicit = p in listed if listed is not None else p != b"/"
        for fld in FIELDS:
            if not explicit and fld != "type":
                continue
            vals = {}
            for k, v in views.items():
                if v is None:
                    continue
                e = v.get(p)
                if e is None:
                    vals[k] = "(absent)"
                elif fld == "xattrs":
                    vals[k] = ",".join("%s=%s" % kv for kv in
                                       sorted(e.get(fld, {}).items())) or "-"
                else:
                    vals[k] = str(e.get(fld, "-"))
            if len(set(vals.values())) > 1:
                # One line per path when it is missing somewhere.
                if any(x == "(absent)" for x in vals.values()) and fld != "type":
                    continue
                out.append((name, esc(p), "exists" if "(absent)" in vals.values()
                            else fld, vals))
                n += 1
    return n


def load_expect(files):
    known = {}
    for fn in files:
        with open(fn, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.split("#", 1)[0].split()
                if not line:
                    continue
                if len(line) != 3:
                    raise SystemExit("%s:%d: want ARCHIVE PATH FIELD" % (fn, n))
                known[tuple(line)] = "%s:%d" % (os.path.basename(fn), n)
    return known


def check(files, summary, rows, as_root):
    """PASS/FAIL per archive against the lists of known disagreements:
    a disagreement not listed fails, and so does a listed one that no
    longer shows (checked only with the G view, which most of them
    need)."""
    known = load_expect(files)
    seen = set()
    by_archive = {}
    for name, p, fld, vals in rows:
        by_archive.setdefault(name, []).append((p, fld, vals))
    bad = 0
    for s in summary:
        name = os.path.basename(s["archive"])
        unexpected, listed = [], 0
        for p, fld, vals in by_archive.get(name, []):
            key = (name, p, fld)
            if key in known:
                seen.add(key)
                listed += 1
            else:
                unexpected.append("%s %s: %s" % (p, fld, " ".join(
                    "%s=%s" % (k, vals[k]) for k in sorted(vals))))
        stale = [k for k in known if k[0] == name and k not in seen]
        if unexpected or (stale and as_root):
            bad += 1
            print("FAIL %s: %s" % (name, "; ".join(
                ["unexpected " + u for u in unexpected] +
                (["listed in %s but no longer differs: %s %s" % (known[k], k[1], k[2])
                  for k in stale] if as_root else []))))
        else:
            print("PASS %s: %s" % (name, "the three views agree" if not listed
                                   else "%d known disagreement(s)" % listed))
    names = set(os.path.basename(s["archive"]) for s in summary)
    for k in known:
        if k[0] not in names:
            bad += 1
            print("FAIL %s: listed in %s but no such case" % (k[0], known[k]))
    return 1 if bad else 0


def archives(args):
    for a in args:
        if os.path.isdir(a):
            for root, dirs, files in os.walk(a):
                dirs.sort()
                for f in sorted(files):
                    yield os.path.join(root, f)
        else:
            yield a


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hallmark", default=os.environ.get("HALLMARK", "hallmark"))
    ap.add_argument("--json")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--expect", action="append", default=[],
                    help="a list of known disagreements (ARCHIVE PATH FIELD"
                    " per line); then print one PASS/FAIL line per archive")
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    os.umask(0o022)
    tar_ok = b"GNU tar" in subprocess.run(
        ["tar", "--version"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE).stdout if shutil.which("tar") else False
    as_root = os.geteuid() == 0 and tar_ok
    if not as_root:
        print("# G view left out: %s" % ("not root (owners and devices need it)"
                                         if tar_ok else "no GNU tar"),
              file=sys.stderr)
    rows, summary = [], []
    agree = 0
    for path in archives(a.paths):
        name = os.path.basename(path)
        tmp = tempfile.mkdtemp(prefix="hm-diff-")
        try:
            h, h_why = view_hallmark(a.hallmark, path, tmp)
            g, g_why = view_gnu(a.hallmark, path, tmp) if as_root else (None, "not root")
            p, listed, p_why = view_python(path)
        finally:
            if not a.keep:
                shutil.rmtree(tmp, ignore_errors=True)
        # Verdicts: H refuses (exit != 0); G fails when tar exits non-zero;
        # P fails when tarfile raises.
        verdict = {"H": "refused" if h is None else "ok",
                   "G": "n/a" if not as_root else ("refused" if g_why else "ok"),
                   "P": "refused" if p is None else "ok"}
        mine = []
        vs = set(v for v in verdict.values() if v != "n/a")
        if len(vs) > 1:
            why = {"H": h_why, "G": g_why, "P": p_why}
            mine.append((name, "-", "verdict",
                         {k: v + (" (%s)" % why[k] if why[k] and v != "ok" else "")
                          for k, v in verdict.items() if v != "n/a"}))
        # A partial extraction is still a view (of what GNU tar wrote).
        compare(name, {"H": h, "G": g, "P": p}, listed, mine)
        if mine:
            rows.extend(mine)
        else:
            agree += 1
        summary.append({"archive": path, "verdict": verdict,
                        "why": {"H": h_why, "G": g_why, "P": p_why},
                        "disagreements": len(mine)})
    if a.expect:
        return check(a.expect, summary, rows, as_root)
    for name, p, fld, vals in rows:
        print("\t".join([name, p, fld] + ["%s=%s" % (k, vals[k]) for k in sorted(vals)]))
    print("# %d archives, %d agree, %d disagree" % (len(summary), agree,
                                                    len(summary) - agree))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"archives": summary,
                       "rows": [{"archive": r[0], "path": r[1], "field": r[2],
                                 "views": r[3]} for r in rows]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
