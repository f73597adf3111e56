#!/bin/sh
# hallmark sbom: an SPDX 2.3 SBOM from a target's dpkg status database.
. "$(dirname "$0")/lib.sh"

mkdir -p root/var/lib/dpkg root/etc
printf 'x\n' > root/etc/hostname
cat > root/var/lib/dpkg/status <<'ST'
Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc (2.36-9+deb12u4)
Version: 2.36-9+deb12u4
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
Homepage: https://www.gnu.org/software/libc/libc.html

Package: broken
Status: install ok installed
Version: 1.0-

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: old
Status: deinstall ok config-files
Version: 1

Package: libstdc++6
Status: install ok installed
Architecture: amd64
Version: 12.2.0-14
ST

export SOURCE_DATE_EPOCH=1700000000
expect_exit 0 "sbom of a dir: target" "$HALLMARK" sbom dir:root -o s.json
expect_grep "skipped /var/lib/dpkg/status:14: package 'broken': invalid Version '1.0-'" err.txt \
	"the broken stanza is named with its line"
expect_grep "wrote 's.json': 3 packages" err.txt "and the count is said"
if python3 - s.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["spdxVersion"] == "SPDX-2.3" and d["dataLicense"] == "CC0-1.0"
assert d["SPDXID"] == "SPDXRef-DOCUMENT" and d["name"] == "root"
assert d["documentNamespace"].startswith("https://spdx.org/spdxdocs/hallmark/root-")
assert d["creationInfo"]["created"] == "2023-11-14T22:13:20Z"
names = [p["name"] for p in d["packages"]]
assert names == ["libc6", "libstdc++6", "zlib1g"], names
refs = [p["externalRefs"][0]["referenceLocator"] for p in d["packages"]]
assert refs[1] == "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64", refs
assert refs[2] == "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64", refs
ids = {p["SPDXID"] for p in d["packages"]}
assert {r["relatedSpdxElement"] for r in d["relationships"]} == ids
PY
then ok "valid SPDX JSON with the 3 installed packages"
else fail "valid SPDX JSON with the 3 installed packages"
fi

tar -C root -cf t.tar .
expect_exit 0 "sbom of a tar: target, to stdout" "$HALLMARK" sbom tar:t.tar
if cmp -s out.txt s.json; then ok "the same tree as a tar gives the same bytes"
else fail "the same tree as a tar gives the same bytes"; diff s.json out.txt | head -n 5
fi
expect_exit 0 "again, from stdin" sh -c "\"$HALLMARK\" sbom tar:- < t.tar"
if cmp -s out.txt s.json; then ok "same bytes again"; else fail "same bytes again"; fi

SOURCE_DATE_EPOCH=1700000001 "$HALLMARK" sbom dir:root -o s2.json 2>/dev/null
if ! cmp -s s.json s2.json && grep -q '"created": "2023-11-14T22:13:21Z"' s2.json
then ok "SOURCE_DATE_EPOCH sets the creation time"
else fail "SOURCE_DATE_EPOCH sets the creation time"
fi

mkdir -p empty/etc
expect_exit 2 "a target without a dpkg database is an error" "$HALLMARK" sbom dir:empty
expect_grep "dir:empty: cannot read the dpkg status database" err.txt "saying so"
expect_exit 2 "a bad SOURCE_DATE_EPOCH is refused" env SOURCE_DATE_EPOCH=soon "$HALLMARK" sbom dir:root
expect_exit 2 "a bad name is refused" "$HALLMARK" sbom dir:root --name '../x'
expect_exit 2 "a missing target is a usage error" "$HALLMARK" sbom
expect_exit 0 "--help" "$HALLMARK" sbom --help
expect_grep "^usage: hallmark sbom TARGET" out.txt "shows the usage"

# distro= from os-release, licenses from DEP-5 copyright files.
mkdir -p rich/var/lib/dpkg rich/etc rich/usr/lib \
	rich/usr/share/doc/bash rich/usr/share/doc/zlib1g rich/usr/share/doc/libfoo1
cp root/var/lib/dpkg/status rich/var/lib/dpkg/status
cat >> rich/var/lib/dpkg/status <<'ST'

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b2

Package: libfoo1
Status: install ok installed
Architecture: amd64
Version: 1.0-1
ST
printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' \
	> rich/usr/lib/os-release
ln -s ../usr/lib/os-release rich/etc/os-release
cat > rich/usr/share/doc/bash/copyright <<'CP'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: bash

Files: debian/*
Copyright: 2023 Someone
License: MIT

Files: *
Copyright: 1987-2022 Free Software Foundation, Inc.
License: GPL-3+
 This program is free software.

License: GPL-3+
 The text.
CP
cat > rich/usr/share/doc/zlib1g/copyright <<'CP'
This is Debian's prepackaged version of zlib.

License: Zlib
CP
cat > rich/usr/share/doc/libfoo1/copyright <<'CP'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2024 Foo
License: Foo-Public-License or GPL-2+
CP
expect_exit 0 "sbom of a tree with os-release and copyright files" "$HALLMARK" sbom dir:rich -o rich.json
check_rich() {
	python3 - "$1" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
by = {p["name"]: p for p in d["packages"]}
purl = lambda n: by[n]["externalRefs"][0]["referenceLocator"]
assert purl("bash") == "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12", purl("bash")
assert purl("libstdc++6").endswith("?arch=amd64&distro=debian-12"), purl("libstdc++6")
assert by["bash"]["licenseDeclared"] == "GPL-3.0-or-later", by["bash"]
assert by["zlib1g"]["licenseDeclared"] == "NOASSERTION", by["zlib1g"]
assert by["libc6"]["licenseDeclared"] == "NOASSERTION"
assert by["libfoo1"]["licenseDeclared"] == "LicenseRef-Foo-Public-License OR GPL-2.0-or-later", by["libfoo1"]
# The shape SPDX 2.3 asks: every LicenseRef used is defined, ids well formed.
refs = {i["licenseId"] for i in d.get("hasExtractedLicensingInfos", [])}
for i in d.get("hasExtractedLicensingInfos", []):
    assert i["extractedText"] and i["name"]
for p in d["packages"]:
    assert "checksums" not in p
    for tok in p["licenseDeclared"].split():
        if tok in ("AND", "OR", "NOASSERTION"):
            continue
        assert re.fullmatch(r"(LicenseRef-)?[A-Za-z0-9.-]+", tok), tok
        if tok.startswith("LicenseRef-"):
            assert tok in refs, tok
assert refs == {"LicenseRef-Foo-Public-License"}, refs
PY
}
if check_rich rich.json; then ok "distro=debian-12 in every purl, DEP-5 licenses mapped, others NOASSERTION"
else fail "distro=debian-12 in every purl, DEP-5 licenses mapped, others NOASSERTION"
fi
tar -C rich -cf rich.tar .
expect_exit 0 "the same tree as a tar: target" "$HALLMARK" sbom tar:rich.tar -o rich-tar.json
if cmp -s rich.json rich-tar.json; then ok "captures os-release and the copyright files: the same bytes"
else fail "captures os-release and the copyright files: the same bytes"; diff rich.json rich-tar.json | head -n 5
fi
rm rich/etc/os-release rich/usr/lib/os-release
"$HALLMARK" sbom dir:rich -o bare.json 2>/dev/null
if grep -q '"referenceLocator": "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64"' bare.json &&
   ! grep -q distro= bare.json
then ok "no os-release: no distro qualifier"
else fail "no os-release: no distro qualifier"
fi

# A real status database, when the host has one: the same packages as
# dpkg-query lists installed.
if [ -r /var/lib/dpkg/status ] && command -v dpkg-query >/dev/null 2>&1; then
	mkdir -p host/var/lib/dpkg && cp /var/lib/dpkg/status host/var/lib/dpkg/status
	dpkg-query --admindir=host/var/lib/dpkg -W \
		-f '${db:Status-Eflag} ${db:Status-Status} ${Package} ${Architecture} ${Version}\n' |
		awk '$1 == "ok" && $2 == "installed" { print $3, $4, $5 }' | sort > want.txt
	"$HALLMARK" sbom dir:host -o host.json 2>/dev/null
	python3 -c '
import json, sys
for p in json.load(open("host.json"))["packages"]:
    arch = p["externalRefs"][0]["referenceLocator"].split("?arch=")[1]
    print(p["name"], arch, p["versionInfo"])' | sort > got.txt
	if [ -s want.txt ] && cmp -s want.txt got.txt; then
		ok "the host's status file gives what dpkg-query lists ($(wc -l < got.txt) packages)"
	else
		fail "the host's status file gives what dpkg-query lists"; diff want.txt got.txt | head -n 5
	fi
else
	skip "no dpkg status database on this host"
fi

# Hostile status files: binary noise, NUL bytes: no crash, exit 0 or 2.
head -c 65536 /dev/urandom > root/var/lib/dpkg/status
"$HALLMARK" sbom dir:root -o noise.json >/dev/null 2>err.txt
rc=$?
if [ $rc -eq 0 ] || [ $rc -eq 2 ]; then ok "binary noise as the status file: exit $rc, no crash"
else fail "binary noise as the status file (exit $rc)"; fi
printf 'Package: a\nStatus: install ok installed\nVersion: 1\0\n\nPackage: b\nStatus: install ok installed\nVersion: 2\n' \
	> root/var/lib/dpkg/status
expect_exit 0 "NUL bytes skip their stanza only" "$HALLMARK" sbom dir:root -o nul.json
expect_grep "package 'a': NUL byte" err.txt "and are named"
expect_grep "wrote 'nul.json': 1 packages" err.txt "the other package is kept"
done_testing
