#!/usr/bin/env python3
"""Run two builds of hallmark side by side on one corpus of invocations
and report every difference in exit code, stdout, stderr or files written.

    tests/compat/compat.py OLD_BIN_DIR NEW_BIN_DIR [--list] [--only N,N]

Each BIN_DIR holds `hallmark` and `hallmark-verify`.  The fixtures (trees,
tar streams, OCI images, keys, signed manifests, policies, templates,
hostile inputs) are made once, with OLD's binaries, in a temporary folder;
every invocation then runs twice, once per build, in the same empty
scratch folder with the same environment, and what it printed and wrote
is compared after the parts that change from run to run (the time of day,
durations) are masked.  Files are compared as a reader sees them at their
names: through symbolic links (a build publishes its outputs as links into
NAME.builds/ID, a folder with a random name, left out).  Used for refactors whose behaviour must not
change: the corpus covers every command and target kind, valid and
hostile inputs.  Exit 0 when all agree, 1 when any differ, 2 on error.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
MKOCI = os.path.join(TOP, "tests", "cli", "oci-image.py")


def sh(cmd, cwd, env=None, stdin=None):
    return subprocess.run(cmd, cwd=cwd, env=env, shell=True, stdin=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def make_tree(root, drift=False):
    """A small Debian-like root with the files the audit rules read."""
    write(f"{root}/etc/passwd",
          "root:x:0:0:root:/root:/bin/sh\n"
          "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
          + ("evil:x:0:0::/:/bin/sh\n" if drift else ""))
    write(f"{root}/etc/shadow", "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
          + ("evil::19000:0:99999:7:::\n" if drift else ""), 0o640)
    write(f"{root}/etc/group", "root:x:0:\ndaemon:x:1:\n")
    write(f"{root}/etc/hostname", "gold\n")
    write(f"{root}/etc/machine-id", "")
    write(f"{root}/etc/ssh/sshd_config",
          "PermitRootLogin no\nPasswordAuthentication no\n" if not drift else
          "PermitRootLogin yes\nPasswordAuthentication yes\n")
    write(f"{root}/etc/app.conf", "password = hunter2\n" if drift else "x = 1\n")
    write(f"{root}/usr/bin/tool", "#!/bin/sh\necho tool\n", 0o755)
    write(f"{root}/usr/bin/ls", "#!/bin/sh\n" + ("echo trojan\n" if drift else "echo ls\n"), 0o755)
    write(f"{root}/usr/bin/su", "#!/bin/sh\n", 0o4755)
    write(f"{root}/var/lib/dpkg/status",
          "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n"
          "Architecture: amd64\n\n"
          "Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1\n"
          "Architecture: amd64\nSource: openssl\n\n")
    write(f"{root}/opt/app/readme", "app\n")
    os.makedirs(f"{root}/tmp", exist_ok=True)
    os.chmod(f"{root}/tmp", 0o1777)
    os.symlink("usr/bin", f"{root}/bin")
    if drift:
        os.unlink(f"{root}/usr/bin/tool")
        os.chmod(f"{root}/usr/bin/ls", 0o4755)
        write(f"{root}/opt/app/new", "added\n")
        write(f"{root}/root/.backdoor", "x\n")
        write(f"{root}/etc/world", "w\n", 0o666)


def tar_of(src, out, fmt=tarfile.PAX_FORMAT, compress=""):
    def owner0(ti):
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        return ti
    mode = "w:" + compress if compress else "w"
    with tarfile.open(out, mode, format=fmt) as t:
        for name in sorted(os.listdir(src)):
            t.add(os.path.join(src, name), arcname=name, filter=owner0)


def hostile_tars(f):
    def tar(name, members):
        with tarfile.open(f"{f}/{name}", "w", format=tarfile.PAX_FORMAT) as t:
            for ti, data in members:
                t.addfile(ti, None if data is None else __import__("io").BytesIO(data))

    def ti(name, typ=tarfile.REGTYPE, data=b"", **kw):
        x = tarfile.TarInfo(name)
        x.type = typ
        x.size = len(data) if typ == tarfile.REGTYPE else 0
        x.mode = kw.get("mode", 0o644)
        for k, v in kw.items():
            setattr(x, k, v)
        return x, (data if typ == tarfile.REGTYPE else None)
    tar("traversal.tar", [ti("../../etc/pwned", data=b"x")])
    tar("abs.tar", [ti("/etc/pwned", data=b"x")])
    tar("dup.tar", [ti("a", data=b"1"), ti("a", data=b"2")])
    tar("hardlink-out.tar", [ti("l", tarfile.LNKTYPE, linkname="../outside")])
    tar("symlink.tar", [ti("s", tarfile.SYMTYPE, linkname="/etc/shadow")])
    tar("fifo.tar", [ti("p", tarfile.FIFOTYPE), ti("d", tarfile.CHRTYPE, devmajor=1, devminor=3)])
    tar("longname.tar", [ti("d/" + "n" * 300, data=b"long")])
    tar("pax-uid.tar", [ti("u", data=b"u", pax_headers={"uid": "4294967295"})])
    with open(f"{f}/truncated.tar", "wb") as out:
        data = open(f"{f}/tree.tar", "rb").read()
        out.write(data[:len(data) // 3])
    with open(f"{f}/garbage.tar", "wb") as out:
        out.write(b"not a tar file at all\n" * 40)
    open(f"{f}/empty.tar", "wb").close()


def fixtures(f, old):
    hm = f"{old}/hallmark"
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    make_tree(f"{f}/tree")
    make_tree(f"{f}/drift", drift=True)
    tar_of(f"{f}/tree", f"{f}/tree.tar")
    tar_of(f"{f}/drift", f"{f}/drift.tar")
    tar_of(f"{f}/tree", f"{f}/tree.tar.gz", compress="gz")
    tar_of(f"{f}/tree", f"{f}/tree-gnu.tar", fmt=tarfile.GNU_FORMAT)
    hostile_tars(f)
    for fmt, out in (("oci", "tree.oci.tar"), ("oci-dir", "tree.oci"),
                     ("docker", "tree.docker.tar")):
        sh(f"python3 {MKOCI} {fmt} {out} tree", f)
    sh(f"python3 {MKOCI} oci drift.oci.tar tree drift", f)
    for opt, out in (("--corrupt-layer 1", "corrupt.oci.tar"),
                     ("--wrong-size 1", "wrongsize.oci.tar"),
                     ("--missing-layer 1", "missing.oci.tar"),
                     ("--wrong-diff-id 1", "diffid.oci.tar"),
                     ("--index-as-manifest", "confused.oci.tar"),
                     ("--two-manifests", "two.oci.tar")):
        sh(f"python3 {MKOCI} oci {out} {opt} tree", f)
    for k in ("ops", "other"):
        sh(f"{hm} keygen -o {k} --no-passphrase", f)
    write(f"{f}/pass", "correct horse battery staple\n", 0o600)
    sh(f"{hm} keygen -o enc --passphrase-file pass", f)
    sh(f"{hm} manifest dir:tree --name t --serial 5 -o base.manifest", f, env)
    sh(f"{hm} sign base.manifest --key ops.key", f)
    sh(f"{hm} manifest dir:tree --name t --serial 3 -o old.manifest", f, env)
    sh(f"{hm} sign old.manifest --key ops.key", f)
    sh(f"{hm} manifest dir:drift --name t --serial 6 -o drift.manifest", f, env)
    sh(f"{hm} sign drift.manifest --key other.key", f)
    sh(f"{hm} manifest dir:tree --name t --serial 9 --expires 2001-01-01T00:00:00Z"
       " -o expired.manifest", f, dict(env, SOURCE_DATE_EPOCH="900000000"))
    sh(f"{hm} sign expired.manifest --key ops.key", f)
    data = open(f"{f}/base.manifest").read().replace("serial 5", "serial 8")
    write(f"{f}/forged.manifest", data)
    shutil.copy(f"{f}/base.manifest.sig", f"{f}/forged.manifest.sig")
    write(f"{f}/policy.yaml", "ignore: [/tmp/**]\nmay_change: [/etc/hostname]\n"
          "may_add: [/opt/app/**]\n")
    write(f"{f}/policy-wide.yaml", "ignore: ['/**']\n")
    write(f"{f}/policy-bad.yaml", "ignore: [/tmp/**]\nfrobnicate: 1\n")
    write(f"{f}/policy-syntax.yaml", "ignore: [/tmp/**\n")
    write(f"{f}/rules.yaml", "fail_on: critical\nexceptions:\n"
          "  - {rule: HM-FILE-003, path: /usr/bin/su, reason: test}\n")
    write(f"{f}/rules-bad.yaml", "exceptions:\n  - {rule: HM-NOPE-001, path: /x, reason: r}\n")
    write(f"{f}/osv.json", '[{"id": "OSV-T-1", "affected": [{"package": '
          '{"ecosystem": "Debian:12", "name": "openssl"}, "ranges": [{"type": '
          '"ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1"}]}]}],'
          ' "database_specific": {"severity": "HIGH"}}]\n')
    write(f"{f}/osv-bad.json", "{not json\n")
    os.makedirs(f"{f}/tpl", exist_ok=True)
    shutil.copy(f"{f}/tree.tar", f"{f}/tpl/base.tar")
    write(f"{f}/tpl/app.yaml",
          "hallmark: 1\nname: compat-app\nserial: 7\nbase:\n  tarball: {path: base.tar}\n"
          "files:\n  - {path: /etc/motd, content: \"gold\\n\", mode: \"0644\"}\n"
          "audit:\n  exceptions:\n    - {rule: HM-FILE-003, path: /usr/bin/su, reason: test}\n")
    write(f"{f}/tpl/bad-key.yaml", "hallmark: 1\nname: x\nserial: 1\nfrobnicate: 2\n")
    write(f"{f}/tpl/bad-mode.yaml",
          "hallmark: 1\nname: x\nserial: 1\nbase: {tarball: {path: base.tar}}\n"
          "files:\n  - {path: /etc/x, content: \"\", mode: \"0999\"}\n")
    write(f"{f}/tpl/gate.yaml",
          "hallmark: 1\nname: gate\nserial: 1\nbase: {tarball: {path: base.tar}}\n"
          "files:\n  - {path: /etc/app.env, content: \"DB_PASSWORD=hunter2\\n\", mode: \"0640\"}\n")
    write(f"{f}/tpl/missing-base.yaml",
          "hallmark: 1\nname: x\nserial: 1\nbase: {tarball: {path: nope.tar}}\n")
    # A history with two runs of one host.
    sh(f"{hm} verify dir:tree --manifest base.manifest --pubkey ops.pub --db hist.db --host h1", f)
    sh(f"{hm} verify dir:drift --manifest base.manifest --pubkey ops.pub --db hist.db --host h1", f)
    sh(f"{hm} verify dir:tree --manifest base.manifest --pubkey ops.pub --db hist.db --host h2", f)
    write(f"{f}/not-a.db", "hello\n")


def corpus(f):
    """(name, command line run by sh in the scratch folder, prep)."""
    inv = []
    add = lambda name, cmd, prep="": inv.append((name, cmd, prep))
    V = f"--manifest {f}/base.manifest --pubkey {f}/ops.pub"
    targets = {
        "dir": f"dir:{f}/tree", "bare": f"{f}/tree", "dir-drift": f"dir:{f}/drift",
        "tar": f"tar:{f}/tree.tar", "tar-gz": f"tar:{f}/tree.tar.gz",
        "tar-gnu": f"tar:{f}/tree-gnu.tar", "tar-drift": f"tar:{f}/drift.tar",
        "oci": f"oci:{f}/tree.oci.tar", "oci-dir": f"oci-dir:{f}/tree.oci",
        "docker": f"oci:{f}/tree.docker.tar", "oci-drift": f"oci:{f}/drift.oci.tar",
    }
    hostile = {
        "traversal": f"tar:{f}/traversal.tar", "abs": f"tar:{f}/abs.tar",
        "dup": f"tar:{f}/dup.tar", "hardlink-out": f"tar:{f}/hardlink-out.tar",
        "symlink": f"tar:{f}/symlink.tar", "fifo": f"tar:{f}/fifo.tar",
        "longname": f"tar:{f}/longname.tar", "pax-uid": f"tar:{f}/pax-uid.tar",
        "truncated": f"tar:{f}/truncated.tar", "garbage": f"tar:{f}/garbage.tar",
        "empty": f"tar:{f}/empty.tar", "corrupt": f"oci:{f}/corrupt.oci.tar",
        "wrongsize": f"oci:{f}/wrongsize.oci.tar", "missing": f"oci:{f}/missing.oci.tar",
        "diffid": f"oci:{f}/diffid.oci.tar", "confused": f"oci:{f}/confused.oci.tar",
        "two": f"oci:{f}/two.oci.tar", "oci-as-tar": f"tar:{f}/tree.oci.tar",
        "tar-as-oci": f"oci:{f}/tree.tar", "nofile": f"tar:{f}/nope.tar",
        "nodir": f"dir:{f}/nope", "badprefix": f"zip:{f}/tree.tar",
        "noprefix-file": f"{f}/tree.tar", "disk-missing": f"disk:{f}/nope.qcow2",
    }
    for tn, t in list(targets.items()) + list(hostile.items()):
        add(f"manifest {tn}", f"hallmark manifest {t} --name c --serial 1")
        add(f"verify {tn}", f"hallmark verify {t} {V}")
        add(f"audit {tn}", f"hallmark audit {t}")
        add(f"sbom {tn}", f"hallmark sbom {t}")
    for tn, t in targets.items():
        add(f"verify {tn} policy", f"hallmark verify {t} {V} --policy {f}/policy.yaml")
        add(f"hallmark-verify {tn}", f"hallmark-verify {t} {V} --policy {f}/policy.yaml")
        add(f"audit {tn} vulns json", f"hallmark audit {t} --vulns {f}/osv.json --format json")
        add(f"audit {tn} rules sarif", f"hallmark audit {t} --rules {f}/rules.yaml --format sarif")
    for fmt in ("text", "json", "junit", "sarif"):
        for tn in ("dir-drift", "tar-drift", "oci-drift", "dir"):
            add(f"verify {tn} {fmt}", f"hallmark verify {targets[tn]} {V} --format {fmt}")
        add(f"verify -o {fmt}", f"hallmark verify {targets['dir-drift']} {V} --format {fmt} -o r.{fmt}")
    for fmt in ("text", "json", "sarif"):
        add(f"audit -o {fmt}", f"hallmark audit {targets['dir-drift']} --format {fmt} -o a.{fmt}")
        for sev in ("info", "low", "medium", "critical"):
            add(f"audit fail-on {sev} {fmt}",
                f"hallmark audit {targets['dir-drift']} --fail-on {sev} --format {fmt}")
    # Trust.
    T = targets["dir"]
    for name, opts in (
        ("unpinned key", f"--manifest {f}/base.manifest --pubkey {f}/other.pub"),
        ("two keys", f"--manifest {f}/base.manifest --pubkey {f}/other.pub --pubkey {f}/ops.pub"),
        ("forged", f"--manifest {f}/forged.manifest --pubkey {f}/ops.pub"),
        ("expired", f"--manifest {f}/expired.manifest --pubkey {f}/ops.pub"),
        ("no sig", f"--manifest {f}/tree.tar --pubkey {f}/ops.pub"),
        ("other sig", f"--manifest {f}/base.manifest --signature {f}/old.manifest.sig --pubkey {f}/ops.pub"),
        ("drift manifest", f"--manifest {f}/drift.manifest --pubkey {f}/other.pub"),
        ("missing manifest", f"--manifest {f}/nope --pubkey {f}/ops.pub"),
        ("privkey as pubkey", f"--manifest {f}/base.manifest --pubkey {f}/ops.key"),
        ("no pubkey", f"--manifest {f}/base.manifest"),
        ("no manifest", f"--pubkey {f}/ops.pub"),
        ("bad policy", f"{V} --policy {f}/policy-bad.yaml"),
        ("syntax policy", f"{V} --policy {f}/policy-syntax.yaml"),
        ("wide policy", f"{V} --policy {f}/policy-wide.yaml"),
        ("missing policy", f"{V} --policy {f}/nope.yaml"),
        ("bad format", f"{V} --format xml"),
        ("threads 1", f"{V} --threads 1"),
        ("threads 0", f"{V} --threads 0"),
        ("threads bad", f"{V} --threads lots"),
        ("unknown option", f"{V} --frobnicate"),
    ):
        add(f"verify trust {name}", f"hallmark verify {T} {opts}")
    add("verify no target", f"hallmark verify {V}")
    add("verify two targets", f"hallmark verify {T} {T} {V}")
    add("verify tar stdin", f"hallmark verify tar:- {V} < {f}/tree.tar")
    add("verify tar stdin drift", f"hallmark verify tar:- {V} < {f}/drift.tar")
    add("manifest tar stdin", f"hallmark manifest tar:- --name s --serial 2 < {f}/tree.tar")
    add("hallmark-verify disk", f"hallmark-verify disk:{f}/x.qcow2 {V}")
    # History.
    for opts in ("", "--diff", "--format json", "--diff --format json", "--host h1",
                 "--limit 1", "--limit 0", "--host nobody", "--limit x", "--format yaml"):
        add(f"history {opts}", f"hallmark history --db {f}/hist.db {opts}")
    add("history missing db", f"hallmark history --db {f}/nope.db")
    add("history foreign db", f"hallmark history --db {f}/not-a.db")
    add("verify db rollback", f"hallmark verify {T} --manifest {f}/old.manifest "
        f"--pubkey {f}/ops.pub --db h.db --host h1", f"cp {f}/hist.db h.db")
    add("verify db new", f"hallmark verify {T} {V} --db h.db --host h9; "
        f"hallmark history --db h.db --host h9 --format json")
    add("verify db drift then diff", f"hallmark verify {targets['dir-drift']} {V} --db h.db --host h2;"
        f" hallmark history --db h.db --diff --host h2", f"cp {f}/hist.db h.db")
    # Keys and signing.
    add("keygen", "hallmark keygen -o k --no-passphrase && ls -l k.key k.pub | cut -c1-10")
    add("keygen exists", "hallmark keygen -o k --no-passphrase", "touch k.key")
    add("keygen no -o", "hallmark keygen --no-passphrase")
    add("keygen passphrase arg", "hallmark keygen -o k --passphrase x")
    add("keygen passfile", f"hallmark keygen -o k --passphrase-file {f}/pass && head -1 k.key")
    add("sign", f"hallmark sign m --key {f}/ops.key && cat m.sig", f"cp {f}/base.manifest m")
    add("sign -o", f"hallmark sign m --key {f}/ops.key -o s.sig && cat s.sig", f"cp {f}/base.manifest m")
    add("sign enc key", f"hallmark sign m --key {f}/enc.key --passphrase-file {f}/pass && cat m.sig",
        f"cp {f}/base.manifest m")
    add("sign enc key no pass", f"hallmark sign m --key {f}/enc.key < /dev/null", f"cp {f}/base.manifest m")
    add("sign wrong pass", f"hallmark sign m --key {f}/enc.key --passphrase-file wp",
        f"cp {f}/base.manifest m; echo wrong > wp; chmod 600 wp")
    add("sign open key", f"hallmark sign m --key k.key", f"cp {f}/base.manifest m; cp {f}/ops.key k.key; chmod 644 k.key")
    add("sign no key", "hallmark sign m", f"cp {f}/base.manifest m")
    add("sign pubkey", f"hallmark sign m --key {f}/ops.pub", f"cp {f}/base.manifest m")
    add("sign garbage", f"hallmark sign m --key {f}/ops.key", "echo garbage > m")
    add("sign missing", f"hallmark sign nope --key {f}/ops.key")
    # Diff.
    for a, b in (("base", "base"), ("base", "old"), ("base", "drift"), ("drift", "base"),
                 ("base", "forged"), ("base", "nope")):
        add(f"diff {a} {b}", f"hallmark diff {f}/{a}.manifest {f}/{b}.manifest")
    add("diff one arg", f"hallmark diff {f}/base.manifest")
    add("diff garbage", f"hallmark diff {f}/base.manifest {f}/tree.tar")
    # Manifest options.
    for opts in ("--name c --serial 1 -o out.m", "--serial 1", "--name c",
                 "--name 'bad name' --serial 1", "--name c --serial -1",
                 "--name c --serial 18446744073709551616",
                 "--name c --serial 1 --expires 2030-01-01T00:00:00Z",
                 "--name c --serial 1 --expires 2001-01-01T00:00:00Z",
                 "--name c --serial 1 --expires tomorrow",
                 "--name c --serial 1 --valid-days 30",
                 "--name c --serial 1 --valid-days 0",
                 "--name c --serial 1 --threads 1"):
        add(f"manifest {opts}", f"SOURCE_DATE_EPOCH=1700000000 hallmark manifest dir:{f}/tree {opts}")
    add("manifest -o exists", f"hallmark manifest dir:{f}/tree --name c --serial 1 -o out.m; "
        f"hallmark manifest dir:{f}/tree --name c --serial 2 -o out.m; head -3 out.m")
    # Builds.
    B = "--source-date-epoch 1700000000"
    add("build", f"hallmark build {f}/tpl/app.yaml -o out {B} --key {f}/ops.key --cache cache "
        "&& ls out | grep -v '[.]builds$' && cat out/compat-app.manifest")
    add("build no key", f"hallmark build {f}/tpl/app.yaml -o out {B} --cache cache && ls out | grep -v '[.]builds$'")
    add("build serial", f"hallmark build {f}/tpl/app.yaml -o out {B} --serial 9 --cache cache "
        "&& head -3 out/compat-app.manifest")
    add("build twice same", f"hallmark build {f}/tpl/app.yaml -o o1 {B} --cache cache && "
        f"hallmark build {f}/tpl/app.yaml -o o2 {B} --cache cache && cmp o1/compat-app.oci.tar o2/compat-app.oci.tar")
    for t in ("bad-key", "bad-mode", "gate", "missing-base", "nope"):
        add(f"build {t}", f"hallmark build {f}/tpl/{t}.yaml -o out {B} --cache cache; ls out 2>&1 | grep -v '[.]builds$'")
    add("build passphrase arg", f"hallmark build {f}/tpl/app.yaml -o out --passphrase x --cache cache")
    add("build no template", "hallmark build -o out --cache cache")
    add("build bad sde", f"hallmark build {f}/tpl/app.yaml -o out --source-date-epoch soon --cache cache")
    # Usage.
    for c in ("", "build", "keygen", "manifest", "sign", "verify", "audit", "sbom", "diff",
              "history", "frobnicate"):
        add(f"help {c}", f"hallmark {c} --help")
        add(f"bare {c}", f"hallmark {c}")
    add("version", "hallmark --version")
    add("hallmark-verify help", "hallmark-verify --help")
    add("hallmark-verify bare", "hallmark-verify")
    for c in ("audit", "sbom", "history", "diff"):
        add(f"{c} bad option", f"hallmark {c} --frobnicate")
    add("audit bad rules", f"hallmark audit {T} --rules {f}/rules-bad.yaml")
    add("audit bad vulns", f"hallmark audit {T} --vulns {f}/osv-bad.json")
    add("audit bad fail-on", f"hallmark audit {T} --fail-on extreme")
    add("sbom -o", f"SOURCE_DATE_EPOCH=1700000000 hallmark sbom {T} -o s.json --name web")
    add("sbom bad name", f"hallmark sbom {T} --name 'a b'")
    return inv


MASKS = [
    (re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?"), b"<TIME>"),
    (re.compile(rb"\d+(\.\d+)? ?(s|ms)\b"), b"<DUR>"),
    (re.compile(rb'"(duration|elapsed|seconds|time)[a-z_]*": [0-9.]+'), b'"<DUR>": 0'),
    (re.compile(rb"time=\"[0-9.]+\""), b'time="<DUR>"'),
    (re.compile(rb"/tmp/hm-compat-[A-Za-z0-9_]+"), b"<TMP>"),
    (re.compile(rb"\.tmp-[A-Za-z0-9]{6}"), b".tmp-XXXXXX"),
    (re.compile(rb"key id [0-9a-f]{16}"), b"key id <NEW KEY>"),
    (re.compile(rb'"timings_ms": \{[^}]*\}'), b'"timings_ms": {}'),
]


def mask(data):
    for rx, rep in MASKS:
        data = rx.sub(rep, data)
    return data


def snapshot(d):
    out = []
    for root, dirs, files in os.walk(d):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(root, name)
            rel = os.path.relpath(p, d)
            if rel.startswith("cache/"):
                continue   # blob store: content-addressed, compared by the outputs
            if ".builds/" in rel:
                continue   # a build's own folder: random name, seen through the links
            if os.path.islink(p):
                # What a reader gets at the name: the file behind the link.
                if not os.path.exists(p):
                    out.append(f"{rel} -> (dangling)")
                    continue
            st = os.stat(p)
            if rel.startswith("k."):   # keys made by the invocation: random
                out.append(f"{rel} {oct(st.st_mode & 0o7777)}")
                continue
            with open(p, "rb") as fh:
                digest = hashlib.sha256(mask(fh.read())).hexdigest()[:16]
            out.append(f"{rel} {oct(st.st_mode & 0o7777)} {digest}")
    return "\n".join(out).encode()


def run_one(bindir, scratch, cmd, prep, fix):
    if os.path.exists(scratch):
        subprocess.run(["chmod", "-R", "u+rwx", scratch])
        shutil.rmtree(scratch)
    os.makedirs(scratch)
    env = {"PATH": f"{bindir}:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": scratch,
           "LANG": "C", "TZ": "UTC", "SOURCE_DATE_EPOCH": "1700000000", "HALLMARK_CACHE": f"{scratch}/cache",
           "HALLMARK_PASSPHRASE_FILE": f"{fix}/pass", "HALLMARK_APPLIANCE_TIMEOUT": "60"}
    if prep:
        subprocess.run(prep, shell=True, cwd=scratch, env=env, check=False)
    p = subprocess.run(cmd, shell=True, cwd=scratch, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    return (p.returncode, mask(p.stdout), mask(p.stderr), snapshot(scratch))


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    old, new = (os.path.abspath(a) for a in args[:2])
    only = None
    if "--only" in args:
        only = {int(x) for x in args[args.index("--only") + 1].split(",")}
    work = tempfile.mkdtemp(prefix="hm-compat-")
    fix = f"{work}/f"
    os.makedirs(fix)
    try:
        fixtures(fix, old)
        inv = corpus(fix)
        if "--list" in args:
            for i, (name, cmd, _) in enumerate(inv, 1):
                print(f"{i:4} {name}: {cmd}")
            return 0
        differ = 0
        for i, (name, cmd, prep) in enumerate(inv, 1):
            if only and i not in only:
                continue
            scratch = f"{work}/run"
            a = run_one(old, scratch, cmd, prep, fix)
            b = run_one(new, scratch, cmd, prep, fix)
            if a != b:
                differ += 1
                print(f"DIFFERS {i} {name}: {cmd}")
                for what, x, y in zip(("exit", "stdout", "stderr", "files"), a, b):
                    if x != y:
                        print(f"  {what}: old {x if what == 'exit' else x[:600]!r}")
                        print(f"  {what}: new {y if what == 'exit' else y[:600]!r}")
        total = len(inv) if not only else len(only)
        print(f"{total} invocations, {total - differ} identical, {differ} differ")
        return 1 if differ else 0
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", work])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
