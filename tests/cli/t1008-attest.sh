#!/bin/sh
# hallmark attest: in-toto Statements v1 in DSSE envelopes, about the
# images a signed manifest names, checked here with the openssl CLI over
# the PAE bytes (not with hallmark's own code).
. "$(dirname "$0")/lib.sh"

mkdir -p base/etc base/usr/bin
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:x:0:\n' > base/etc/group
printf 'root:*:19000:0:99999:7:::\n' > base/etc/shadow && chmod 640 base/etc/shadow
printf '#!/bin/sh\necho hi\n' > base/usr/bin/hello && chmod 755 base/usr/bin/hello
mkdir tpl && tar --numeric-owner -C base -cf tpl/base.tar .
cat > tpl/app.yaml <<'T'
hallmark: 1
name: t1008-app
serial: 3
base:
  tarball:
    path: base.tar
files:
  - {path: /etc/motd, content: "gold image\n", mode: "0644"}
config:
  cmd: [/bin/sh]
T
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" keygen -o other --no-passphrase >/dev/null 2>&1
export HALLMARK_CACHE="$T_DIR/cache"
expect_exit 0 "an image builds" "$HALLMARK" build tpl/app.yaml -o out --key ops.key --source-date-epoch 1700000000
M=out/t1008-app.manifest

expect_exit 0 "attest writes the envelopes" "$HALLMARK" attest "$M" --key ops.key
J=out/t1008-app.intoto.jsonl
[ "$(wc -l < "$J")" -ge 2 ] && ok "one envelope per line (manifest, provenance$( [ -e out/t1008-app.sbom.spdx.json ] && echo ', SBOM'))" || fail "envelope lines: $(wc -l < "$J")"

# Decode each envelope, rebuild the PAE bytes by the DSSE spec and check
# the signature with openssl against ops.pub.
cat > check.py <<'P'
import base64, json, subprocess, sys
oci = sys.argv[2]; tard = sys.argv[3]
kinds = []
for n, line in enumerate(open(sys.argv[1], 'rb')):
    env = json.loads(line)
    body = base64.b64decode(env['payload'], validate=True)
    t = env['payloadType'].encode()
    pae = b'DSSEv1 %d %s %d %s' % (len(t), t, len(body), body)
    open('pae%d' % n, 'wb').write(pae)
    open('sig%d' % n, 'wb').write(base64.b64decode(env['signatures'][0]['sig']))
    r = subprocess.run(['openssl', 'pkeyutl', '-verify', '-rawin', '-pubin', '-inkey', 'ops.pub',
                        '-in', 'pae%d' % n, '-sigfile', 'sig%d' % n], capture_output=True)
    if r.returncode != 0:
        sys.exit('envelope %d: openssl refuses the signature: %s' % (n, r.stdout + r.stderr))
    st = json.loads(body)
    assert env['payloadType'] == 'application/vnd.in-toto+json', env['payloadType']
    assert st['_type'] == 'https://in-toto.io/Statement/v1', st['_type']
    digests = sorted(s['digest']['sha256'] for s in st['subject'])
    want = sorted(d.split(':')[1] for d in (oci, tard))
    assert digests == want, (digests, want)
    kinds.append(st['predicateType'])
    if st['predicateType'].endswith('/provenance/v1'):
        bd = st['predicate']['buildDefinition']
        assert bd['externalParameters']['template']['digest']['sha256'], bd
        assert st['predicate']['runDetails']['builder']['id'], st
    if st['predicateType'].endswith('/manifest/v1'):
        p = st['predicate']
        assert p['name'] == 't1008-app' and p['serial'] == 3, p
print(' '.join(kinds))
P
oci=$(sed -n 's/^image oci //p' "$M")
tard=$(sed -n 's/^image tar //p' "$M")
if python3 check.py "$J" "$oci" "$tard" > kinds.txt 2> check.err; then
	ok "every envelope verifies with openssl over the PAE bytes, subjects are the image digests"
else
	fail "openssl check: $(cat check.err)"
fi
expect_grep 'manifest/v1' kinds.txt "a manifest predicate"
expect_grep 'slsa.dev/provenance/v1' kinds.txt "a SLSA provenance predicate"

cp "$J" first.jsonl
expect_exit 0 "attest again" "$HALLMARK" attest "$M" --key ops.key -o again.jsonl
cmp -s first.jsonl again.jsonl && ok "the same inputs give the same bytes" || fail "attest is not deterministic"

# A flipped payload byte breaks the openssl check.
python3 - "$J" > tampered.jsonl <<'P'
import base64, json, sys
env = json.loads(open(sys.argv[1]).readline())
body = bytearray(base64.b64decode(env['payload']))
body[10] ^= 1
env['payload'] = base64.b64encode(bytes(body)).decode()
print(json.dumps(env))
P
if python3 check.py tampered.jsonl "$oci" "$tard" >/dev/null 2>&1; then
	fail "a tampered payload still verifies"
else
	ok "a tampered payload does not verify"
fi

# Refusals: another key, a manifest without images, a bad build record.
expect_exit 3 "a key that did not sign the manifest is refused" "$HALLMARK" attest "$M" --key other.key -o x.jsonl
[ ! -e x.jsonl ] && ok "and nothing is written" || fail "x.jsonl written"
mkdir tree && printf 'x\n' > tree/f
"$HALLMARK" manifest dir:tree -o bare.manifest --name bare --serial 1 >/dev/null 2>&1
"$HALLMARK" sign bare.manifest --key ops.key >/dev/null 2>&1
expect_exit 2 "a manifest naming no image is refused" "$HALLMARK" attest bare.manifest --key ops.key -o y.jsonl
printf '{"format": "something-else"}\n' > bad.build.json
expect_exit 2 "a file that is not a build record is refused" "$HALLMARK" attest "$M" --key ops.key --build bad.build.json -o z.jsonl
"$HALLMARK" attest "$M" --key ops.key --build bad.build.json -o z.jsonl 2> err.txt
expect_grep 'bad.build.json: not a hallmark build record' err.txt "naming the file"
[ ! -e z.jsonl ] && ok "and nothing is written" || fail "z.jsonl written"
done_testing
