#!/bin/sh
# hallmark push to a real registry (Debian's docker-registry, distribution
# 2.8) on 127.0.0.1: once over plain HTTP, once with TLS and htpasswd.
# skopeo copies the image back byte-identical; the attached manifest and
# the DSSE envelopes are fetched back with curl and checked with openssl
# over the PAE bytes, not with hallmark's own code.
. "$(dirname "$0")/lib.sh"

for t in docker-registry skopeo curl openssl htpasswd python3; do
	if ! command -v $t >/dev/null 2>&1; then
		skip "$t is not installed (.ci/install-deps installs it)"
		done_testing; exit
	fi
done

REG_PIDS=
stop_registries() {
	for p in $REG_PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
}
trap 'stop_registries; chmod -R u+rwx "$T_DIR" 2>/dev/null; rm -rf "$T_DIR"' EXIT
trap 'exit 2' INT TERM HUP
# Nothing from the user running the test: no auth file but the test's.
export HOME="$T_DIR/home" XDG_RUNTIME_DIR="$T_DIR/run"
unset REGISTRY_AUTH_FILE
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_registry NAME PORT [EXTRA-YAML]: config and storage in $T_DIR/NAME.
start_registry() {
	mkdir -p "$1/data"
	cat > "$1/config.yml" <<C
version: 0.1
log:
  level: error
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $T_DIR/$1/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$2
${3:-}
C
	docker-registry serve "$1/config.yml" > "$1/log" 2>&1 &
	REG_PIDS="$REG_PIDS $!"
	i=0
	while [ $i -lt 100 ]; do
		curl -sk -o /dev/null "http://127.0.0.1:$2/v2/" 2>/dev/null && return 0
		curl -sk -o /dev/null "https://127.0.0.1:$2/v2/" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	echo "# registry $1 did not start:"; sed 's/^/#   /' "$1/log"
	return 1
}

# A small image built by hallmark from a tarball base, signed.
mkdir -p base/etc base/usr/bin
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:x:0:\n' > base/etc/group
printf 'root:*:19000:0:99999:7:::\n' > base/etc/shadow && chmod 640 base/etc/shadow
head -c 1500000 /dev/urandom > base/usr/bin/blob && chmod 755 base/usr/bin/blob
mkdir tpl && tar --numeric-owner -C base -cf tpl/base.tar .
cat > tpl/app.yaml <<'T'
hallmark: 1
name: t3103-app
serial: 4
base:
  tarball:
    path: base.tar
files:
  - {path: /etc/motd, content: "gold image\n", mode: "0644"}
config:
  cmd: [/bin/sh]
T
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
export HALLMARK_CACHE="$T_DIR/cache"
expect_exit 0 "an image builds" "$HALLMARK" build tpl/app.yaml -o out --key ops.key --source-date-epoch 1700000000
IMG=out/t3103-app.oci.tar

P1=$(free_port)
if ! start_registry plain "$P1"; then
	fail "docker-registry starts on 127.0.0.1:$P1"; done_testing; exit
fi
R1=127.0.0.1:$P1

# --- plain HTTP: push, chunked layers --------------------------------------
expect_exit 0 "push to the plain-HTTP registry" \
	"$HALLMARK" push "$IMG" "$R1/hm/app:1" --key ops.key --chunk-size 65536
cp out.txt push1.out; cp err.txt push1.err
DIGEST=$(sed -n 's/^pushed .*@\(sha256:[0-9a-f]*\)$/\1/p' push1.out)
[ -n "$DIGEST" ] && ok "push prints the image digest ($DIGEST)" || fail "no digest in: $(cat push1.out)"
expect_grep '^attached application/vnd\.hallmark\.manifest\.v1 sha256:' push1.out "the signed manifest is attached"
expect_grep '^attached application/vnd\.in-toto\+json .*manifest/v1' push1.out "the manifest attestation is attached"
expect_grep '^attached application/vnd\.in-toto\+json .*provenance/v1' push1.out "the provenance attestation is attached"
expect_grep '\([1-9][0-9]* chunks' push1.err "the large layer went in PATCH chunks"

# What the archive holds, for the comparisons below.
cat > blobs.py <<'P'
import hashlib, json, sys, tarfile
t = tarfile.open(sys.argv[1])
names = {m.name.lstrip('./'): m for m in t.getmembers()}
idx = json.load(t.extractfile(names['index.json']))
md = idx['manifests'][0]['digest']
man = t.extractfile(names['blobs/sha256/' + md[7:]]).read()
assert 'sha256:' + hashlib.sha256(man).hexdigest() == md
m = json.loads(man)
print(md)
for d in [m['config']] + m['layers']:
    data = t.extractfile(names['blobs/sha256/' + d['digest'][7:]]).read()
    print('sha256:' + hashlib.sha256(data).hexdigest(), len(data))
P
python3 blobs.py "$IMG" > orig.txt
[ "$(head -n 1 orig.txt)" = "$DIGEST" ] && ok "the pushed digest is the archive's image manifest" ||
	fail "digest $DIGEST, archive $(head -n 1 orig.txt)"

# --- skopeo copies it back byte-identical ----------------------------------
if skopeo --insecure-policy copy -q --preserve-digests --src-tls-verify=false \
	"docker://$R1/hm/app:1" oci-archive:back.tar >skopeo.out 2>&1; then
	python3 blobs.py back.tar > back.txt
	cmp -s orig.txt back.txt && ok "skopeo copies back the same manifest, config and layers (digests, sizes)" ||
		{ fail "skopeo's copy differs"; diff orig.txt back.txt | sed 's/^/#   /'; }
else
	fail "skopeo copy from the registry: $(cat skopeo.out)"
fi

# --- referrers: the API, or the fallback tag --------------------------------
code=$(curl -s -o referrers.json -w '%{http_code}' -H 'Accept: application/vnd.oci.image.index.v1+json' \
	"http://$R1/v2/hm/app/referrers/$DIGEST")
if [ "$code" = 200 ]; then
	cp referrers.json list.json
	ok "the registry lists the referrers (referrers API)"
else
	# distribution 2.8 has no referrers API (404): the sha256-<hex> tag.
	curl -sf -o list.json -H 'Accept: application/vnd.oci.image.index.v1+json' \
		"http://$R1/v2/hm/app/manifests/sha256-${DIGEST#sha256:}" &&
		ok "no referrers API (HTTP $code): the sha256-<hex> fallback tag lists them" ||
		fail "no referrers API and no fallback tag"
fi

cat > check.py <<'P'
import base64, hashlib, json, subprocess, sys, urllib.request
base, digest, repo = sys.argv[1], sys.argv[2], sys.argv[3]
def get(path, accept=None):
    rq = urllib.request.Request(base + path)
    if accept: rq.add_header('Accept', accept)
    data = urllib.request.urlopen(rq).read()
    return data
lst = json.load(open('list.json'))
kinds = []
for n, d in enumerate(lst['manifests']):
    raw = get('/v2/hm/app/manifests/' + d['digest'], 'application/vnd.oci.image.manifest.v1+json')
    assert 'sha256:' + hashlib.sha256(raw).hexdigest() == d['digest']
    m = json.loads(raw)
    assert m['subject']['digest'] == digest, m['subject']
    assert m['artifactType'] == d['artifactType'], (m, d)
    if m['artifactType'] == 'application/vnd.hallmark.manifest.v1':
        got = [get('/v2/hm/app/blobs/' + l['digest']) for l in m['layers']]
        assert [l['mediaType'] for l in m['layers']] == [
            'application/vnd.hallmark.manifest.v1+text',
            'application/vnd.hallmark.signature.v1+text'], m['layers']
        assert got[0] == open(sys.argv[4], 'rb').read(), 'manifest bytes differ'
        assert got[1] == open(sys.argv[4] + '.sig', 'rb').read(), 'signature bytes differ'
        kinds.append('hallmark-manifest')
        continue
    assert m['artifactType'] == 'application/vnd.in-toto+json', m
    (l,) = m['layers']
    assert l['mediaType'] == 'application/vnd.dsse.envelope.v1+json', l
    env = json.loads(get('/v2/hm/app/blobs/' + l['digest']))
    body = base64.b64decode(env['payload'], validate=True)
    t = env['payloadType'].encode()
    open('pae%d' % n, 'wb').write(b'DSSEv1 %d %s %d %s' % (len(t), t, len(body), body))
    open('sig%d' % n, 'wb').write(base64.b64decode(env['signatures'][0]['sig']))
    r = subprocess.run(['openssl', 'pkeyutl', '-verify', '-rawin', '-pubin', '-inkey', 'ops.pub',
                        '-in', 'pae%d' % n, '-sigfile', 'sig%d' % n], capture_output=True)
    if r.returncode != 0:
        sys.exit('envelope %s: openssl refuses the signature' % d['digest'])
    st = json.loads(body)
    assert st['subject'] == [{'name': repo, 'digest': {'sha256': digest[7:]}}], st['subject']
    assert m['annotations']['in-toto.io/predicate-type'] == st['predicateType'], m
    kinds.append(st['predicateType'])
print(' '.join(sorted(kinds)))
P
if python3 check.py "http://$R1" "$DIGEST" "$R1/hm/app" out/t3103-app.manifest > kinds.txt 2> check.err; then
	ok "each referrer's subject is the image; manifest and .sig byte-identical; every DSSE envelope verifies with openssl"
else
	fail "referrers check: $(tail -n 3 check.err)"
fi
expect_grep 'hallmark-manifest' kinds.txt "the hallmark manifest artifact is among the referrers"
expect_grep 'https://hallmark.dev/attestation/manifest/v1' kinds.txt "the manifest statement is among them"
expect_grep 'https://slsa.dev/provenance/v1' kinds.txt "the SLSA provenance statement is among them"
n1=$(python3 -c 'import json; print(len(json.load(open("list.json"))["manifests"]))')

# --- the registry: target finds what push attached ----------------------------
expect_exit 0 "verify registry: discovers the attached manifest and passes" \
	"$HALLMARK" verify "registry:$R1/hm/app:1" --pubkey ops.pub
"$HALLMARK" keygen -o stranger --no-passphrase >/dev/null 2>&1
expect_exit 3 "with another key it is an unsigned image (exit 3)" \
	"$HALLMARK" verify "registry:$R1/hm/app:1" --pubkey stranger.pub

# --- a second push skips what the registry has ------------------------------
expect_exit 0 "the same push again" "$HALLMARK" push "$IMG" "$R1/hm/app:1" --key ops.key --chunk-size 65536
expect_grep 'image: 0 blobs uploaded \(0 chunks, 0 bytes\), [1-9][0-9]* already there' err.txt "the second push uploads no image blob"
expect_grep ' 0 blobs uploaded \(0 chunks, 0 bytes\), [1-9][0-9]* already there, 0 mounted, [1-9] attachments' err.txt "nor an attachment blob"
curl -sf -o list2.json -H 'Accept: application/vnd.oci.image.index.v1+json' \
	"http://$R1/v2/hm/app/manifests/sha256-${DIGEST#sha256:}" 2>/dev/null ||
	curl -sf -o list2.json -H 'Accept: application/vnd.oci.image.index.v1+json' \
		"http://$R1/v2/hm/app/referrers/$DIGEST"
n2=$(python3 -c 'import json; print(len(json.load(open("list2.json"))["manifests"]))')
[ "$n1" = "$n2" ] && ok "the referrers list is not duplicated ($n2 entries)" || fail "referrers: $n1 then $n2"

# --- cross-repository mount ---------------------------------------------------
expect_exit 0 "push to another repository with --mount-from" \
	"$HALLMARK" push "$IMG" "$R1/hm/copy:1" --mount-from hm/app
NB=$(($(wc -l < orig.txt) - 1))
expect_grep "image: 0 blobs uploaded .*, 0 already there, $NB mounted" err.txt "the $NB image blobs are mounted, not uploaded"

# --- hallmark build --push ----------------------------------------------------
expect_exit 2 "build --push without --key: exit 2" \
	"$HALLMARK" build tpl/app.yaml -o out3 --source-date-epoch 1700000000 --push "$R1/hm/built:1"
expect_grep 'needs --key' err.txt "only a signed image is pushed"
expect_exit 0 "build --push builds, then pushes" \
	"$HALLMARK" build tpl/app.yaml -o out2 --key ops.key --source-date-epoch 1700000000 --push "$R1/hm/built:1"
expect_grep "^pushed $R1/hm/built:1@$DIGEST\$" out.txt "the reproducible build pushes the same digest"
expect_grep '^attached application/vnd\.in-toto\+json .*provenance/v1' out.txt "with its attestations attached"
for u in "referrers/$DIGEST" "manifests/sha256-${DIGEST#sha256:}"; do
	curl -sf -o built.json -H 'Accept: application/vnd.oci.image.index.v1+json' "http://$R1/v2/hm/built/$u" &&
		grep -q 'vnd.hallmark.manifest.v1' built.json && break
done
grep -q 'vnd.hallmark.manifest.v1' built.json 2>/dev/null &&
	ok "and its referrers in hm/built list the signed manifest" || fail "no referrers in hm/built"

# --- a manifest is attached only to its own image ----------------------------
sed 's/gold image/another image/' tpl/app.yaml > tpl/other.yaml
"$HALLMARK" build tpl/other.yaml -o other --key ops.key --source-date-epoch 1700000000 >/dev/null 2>&1
expect_exit 2 "another image's manifest: exit 2" \
	"$HALLMARK" push other/t3103-app.oci.tar "$R1/hm/other:1" --key ops.key --manifest out/t3103-app.manifest
expect_grep 'is bound to image sha256:[0-9a-f]*, not to' err.txt "the message names both digests"
expect_exit 2 "without --key too" \
	"$HALLMARK" push other/t3103-app.oci.tar "$R1/hm/other:1" --manifest out/t3103-app.manifest
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$R1/v2/hm/other/manifests/1")
[ "$code" = 404 ] && ok "nothing was pushed" || fail "hm/other:1 is there (HTTP $code)"
"$HALLMARK" keygen -o other --no-passphrase >/dev/null 2>&1
expect_exit 3 "a key that did not sign the manifest: exit 3" \
	"$HALLMARK" push "$IMG" "$R1/hm/other:1" --key other.key

# --- a blob whose bytes are not its name is never committed -------------------
cat > tamper.py <<'P'
import io, json, sys, tarfile
src = tarfile.open(sys.argv[1]); dst = tarfile.open(sys.argv[2], 'w')
idx = json.load(src.extractfile([m for m in src.getmembers() if m.name.lstrip('./') == 'index.json'][0]))
ms = {m.name.lstrip('./'): m for m in src.getmembers()}
man = json.load(src.extractfile(ms['blobs/sha256/' + idx['manifests'][0]['digest'][7:]]))
big = max(man['layers'], key=lambda l: l['size'])['digest'][7:]
for m in src.getmembers():
    data = src.extractfile(m).read() if m.isfile() else None
    if m.name.lstrip('./') == 'blobs/sha256/' + big:
        data = bytearray(data); data[len(data) // 2] ^= 1; data = bytes(data)
    dst.addfile(m, io.BytesIO(data) if data is not None else None)
dst.close(); print('sha256:' + big)
P
BAD=$(python3 tamper.py "$IMG" bad.oci.tar)
cp out/t3103-app.manifest bad.manifest; cp out/t3103-app.manifest.sig bad.manifest.sig
expect_exit 2 "a layer whose bytes do not match its digest: exit 2" \
	"$HALLMARK" push bad.oci.tar "$R1/hm/bad:1" --chunk-size 65536
expect_grep "blob $BAD holds" err.txt "the message names the blob"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "http://$R1/v2/hm/bad/blobs/$BAD")
[ "$code" = 404 ] && ok "the registry holds nothing under that digest" || fail "HEAD blob: $code"

# Two index.json members: two readers could see two images.
python3 - "$IMG" dup.oci.tar <<'P'
import io, sys, tarfile
src = tarfile.open(sys.argv[1]); dst = tarfile.open(sys.argv[2], 'w')
for m in src.getmembers():
    data = src.extractfile(m).read() if m.isfile() else None
    dst.addfile(m, io.BytesIO(data) if data is not None else None)
    if m.name.lstrip('./') == 'index.json':
        m2 = tarfile.TarInfo(m.name); evil = b'{"schemaVersion":2,"manifests":[]}'
        m2.size = len(evil); dst.addfile(m2, io.BytesIO(evil))
dst.close()
P
cp out/t3103-app.manifest dup.manifest; cp out/t3103-app.manifest.sig dup.manifest.sig
expect_exit 2 "an archive with two index.json: exit 2" "$HALLMARK" push dup.oci.tar "$R1/hm/dup:1"
expect_grep 'two index.json' err.txt "the message says so"

# --- TLS and htpasswd ---------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=t3103-ca -keyout ca.key -out ca.pem >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout srv.key -out srv.csr >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile san.ext -out srv.pem >/dev/null 2>&1
printf 's3cret-pass-t3103\n' | htpasswd -B -i -c htpasswd pusher >/dev/null 2>&1
P2=$(free_port)
if ! start_registry tls "$P2" "  tls:
    certificate: $T_DIR/srv.pem
    key: $T_DIR/srv.key
auth:
  htpasswd:
    realm: t3103
    path: $T_DIR/htpasswd"; then
	fail "docker-registry starts with TLS on 127.0.0.1:$P2"; done_testing; exit
fi
R2=127.0.0.1:$P2
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$R2" "$(printf 'pusher:s3cret-pass-t3103' | base64)" > auth.json
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$R2" "$(printf 'pusher:wrong-pass-t3103' | base64)" > wrong.json

expect_exit 0 "push over TLS with htpasswd credentials from --authfile" \
	"$HALLMARK" push "$IMG" "$R2/hm/app:1" --key ops.key --authfile auth.json --ca-file ca.pem
expect_grep "^pushed $R2/hm/app:1@$DIGEST\$" out.txt "the same digest over TLS"
if skopeo --insecure-policy inspect --raw --authfile auth.json --cert-dir "$T_DIR/certs" \
	"docker://$R2/hm/app:1" > raw.json 2>skopeo.err ||
   { mkdir -p certs && cp ca.pem certs/ca.crt &&
     skopeo --insecure-policy inspect --raw --authfile auth.json --cert-dir "$T_DIR/certs" \
	"docker://$R2/hm/app:1" > raw.json 2>skopeo.err; }; then
	[ "sha256:$(sha256sum < raw.json | cut -d' ' -f1)" = "$DIGEST" ] &&
		ok "skopeo reads the same manifest over TLS" || fail "skopeo's manifest differs"
else
	fail "skopeo inspect over TLS: $(cat skopeo.err)"
fi
expect_exit 3 "a wrong password: exit 3 (the client's trust failure)" \
	"$HALLMARK" push "$IMG" "$R2/hm/app:2" --authfile wrong.json --ca-file ca.pem
expect_grep 'the registry refuses the credentials' err.txt "the message says the credentials were refused"
grep -q 'wrong-pass' err.txt out.txt && fail "the password is printed" || ok "the password is not printed"
expect_exit 3 "no credentials: exit 3" "$HALLMARK" push "$IMG" "$R2/hm/app:2" --ca-file ca.pem
expect_grep 'requires a login and there are no credentials' err.txt "the message says none were found"
expect_exit 3 "the registry's certificate is not trusted without --ca-file: exit 3" \
	"$HALLMARK" push "$IMG" "$R2/hm/app:2" --authfile auth.json
expect_grep '[Cc]ertificate' err.txt "the message names the certificate"
expect_exit 2 "--password is refused" "$HALLMARK" push "$IMG" "$R2/hm/app:2" --password s3cret
expect_grep 'never taken on the command line' err.txt "it says where credentials go"
grep -q s3cret err.txt out.txt && fail "--password's value is echoed" || ok "--password's value is not echoed"
expect_exit 2 "build refuses --password too" "$HALLMARK" build tpl/app.yaml --password=s3cret
expect_exit 2 "--creds is refused" "$HALLMARK" push "$IMG" "$R2/hm/app:2" --creds pusher:s3cret
printf '{"auths": ' > broken.json
expect_exit 2 "a malformed auth file: exit 2" \
	"$HALLMARK" push "$IMG" "$R2/hm/app:2" --authfile broken.json --ca-file ca.pem
expect_grep 'broken.json' err.txt "the message names the auth file"
expect_exit 2 "a reference without a registry host: exit 2" "$HALLMARK" push "$IMG" hm/app:1

# --- bearer tokens: a token server (TLS, Basic-authenticated) whose RS256
# JWTs the registry trusts by their x5c certificate ---------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=t3103-token \
	-keyout tok.key -out tok.pem >/dev/null 2>&1
openssl x509 -in tok.pem -outform DER -out tok.der
cat > tokensrv.py <<'P'
import base64, json, ssl, subprocess, sys, time, urllib.parse
from http.server import HTTPServer, BaseHTTPRequestHandler
port, cert, key, creds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
x5c = base64.b64encode(open('tok.der', 'rb').read()).decode()
def b64u(b): return base64.urlsafe_b64encode(b).rstrip(b'=')
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        open('token-requests', 'a').write(self.path + '\n')
        if self.headers.get('Authorization') != 'Basic ' + creds:
            self.send_response(401); self.send_header('Content-Length', '0'); self.end_headers(); return
        access = []
        for sc in q.get('scope', []):
            t, name, acts = sc.split(':')
            access.append({'type': t, 'name': name, 'actions': acts.split(',')})
        now = int(time.time())
        hdr = {'typ': 'JWT', 'alg': 'RS256', 'x5c': [x5c]}
        cl = {'iss': 't3103-issuer', 'sub': 'pusher', 'aud': q['service'][0], 'exp': now + 300,
              'nbf': now - 10, 'iat': now, 'jti': str(time.time()), 'access': access}
        signing = b64u(json.dumps(hdr).encode()) + b'.' + b64u(json.dumps(cl).encode())
        sig = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', 'tok.key'], input=signing,
                             capture_output=True, check=True).stdout
        body = json.dumps({'token': (signing + b'.' + b64u(sig)).decode()}).encode()
        self.send_response(200); self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
srv = HTTPServer(('127.0.0.1', int(port)), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print('ready', flush=True)
srv.serve_forever()
P
PT=$(free_port)
python3 tokensrv.py "$PT" srv.pem srv.key "$(printf 'pusher:s3cret-pass-t3103' | base64)" > tokensrv.log 2>&1 &
REG_PIDS="$REG_PIDS $!"
i=0; while [ $i -lt 100 ] && ! grep -qs ready tokensrv.log; do sleep 0.1; i=$((i + 1)); done
P3=$(free_port)
if start_registry token "$P3" "  tls:
    certificate: $T_DIR/srv.pem
    key: $T_DIR/srv.key
auth:
  token:
    realm: https://127.0.0.1:$PT/token
    service: t3103-registry
    issuer: t3103-issuer
    rootcertbundle: $T_DIR/tok.pem"; then
	R3=127.0.0.1:$P3
	printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$R3" "$(printf 'pusher:s3cret-pass-t3103' | base64)" > tokauth.json
	printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$R3" "$(printf 'pusher:wrong-pass-t3103' | base64)" > tokwrong.json
	expect_exit 0 "push with a bearer token from the registry's token server" \
		"$HALLMARK" push "$IMG" "$R3/hm/tok:1" --key ops.key --authfile tokauth.json --ca-file ca.pem
	expect_grep "^pushed $R3/hm/tok:1@$DIGEST\$" out.txt "the same digest"
	expect_grep 'scope=repository%3Ahm%2Ftok%3A(pull%2Cpush|push%2Cpull)' token-requests "the token asked for covers pull and push of hm/tok only"
	tok=$(curl -sf --cacert ca.pem -u "pusher:s3cret-pass-t3103" \
		"https://127.0.0.1:$PT/token?service=t3103-registry&scope=repository:hm/tok:pull" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
	got=$(curl -sf -H "Authorization: Bearer $tok" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		--cacert ca.pem "https://$R3/v2/hm/tok/manifests/1" | sha256sum | cut -d' ' -f1)
	[ "sha256:$got" = "$DIGEST" ] && ok "the registry serves the pushed manifest" || fail "manifest via token: $got"
	expect_exit 3 "a wrong password at the token server: exit 3" \
		"$HALLMARK" push "$IMG" "$R3/hm/tok:2" --authfile tokwrong.json --ca-file ca.pem
	expect_grep "https://127.0.0.1:$PT/token.*: the token endpoint answers 401" err.txt "the message says the token server refused them"
else
	fail "docker-registry starts with token auth on 127.0.0.1:$P3"
fi

done_testing
