#!/bin/sh
# registry: against a hostile registry: a Python http.server, started here
# on loopback, that speaks the distribution API but lies: a blob that does
# not match its digest, a blob longer than its descriptor, a manifest over
# the limit, an endless body, a redirect to another host, a redirect loop,
# a 401 loop, a referrer whose subject is another image.  Each is a clear
# exit 2 or 3, and nothing is left behind under a digest's name.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || { skip "python3 is not installed"; done_testing; exit 0; }
export HOME="$T_DIR/home"
mkdir -p "$HOME" "$T_DIR/tmp"
unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR
# Where registry: streams its anonymous files: checked empty at the end.
export TMPDIR="$T_DIR/tmp"

SRV_PID=
stop_server() {
	if [ -n "$SRV_PID" ]; then
		kill "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
		SRV_PID=
	fi
}
trap 'stop_server; chmod -R u+rwx "$T_DIR" 2>/dev/null; rm -rf "$T_DIR"' EXIT
trap 'exit 2' INT TERM HUP

cat > server.py <<'PYEOF'
import gzip, hashlib, http.server, io, json, sys, tarfile, threading

def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()

def layer(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    tar = raw.getvalue()
    return gzip.compress(tar, mtime=0), tar

MT_MAN = "application/vnd.oci.image.manifest.v1+json"
MT_IDX = "application/vnd.oci.image.index.v1+json"
blobs = {}

def image(files):
    gz, tar = layer(files)
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": [sha(tar)]}}).encode()
    blobs[sha(gz)] = gz
    blobs[sha(cfg)] = cfg
    man = json.dumps({"schemaVersion": 2, "mediaType": MT_MAN,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": len(cfg)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(gz), "size": len(gz)}]}).encode()
    blobs[sha(man)] = man
    return man, sha(gz)

good, good_layer = image([("etc/hostname", b"good\n")])
# A layer whose bytes are not those its digest names (same size).
bad, bad_layer = image([("etc/hostname", b"evil\n")])
real = blobs[bad_layer]
lie = bytearray(real)
lie[-5] ^= 0xff
# A layer that never ends.
endless, endless_layer = image([("etc/hostname", b"endless\n")])
# Another image, and an artifact claiming it as subject, listed among
# the good image's referrers.
other, _ = image([("etc/other", b"other\n")])
empty = b"{}"
blobs[sha(empty)] = empty
art = json.dumps({"schemaVersion": 2, "mediaType": MT_MAN,
    "artifactType": "application/vnd.hallmark.manifest.v1",
    "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha(empty), "size": 2},
    "layers": [{"mediaType": "application/vnd.hallmark.manifest.v1+text", "digest": sha(empty), "size": 2},
               {"mediaType": "application/vnd.hallmark.signature.v1+text", "digest": sha(empty), "size": 2}],
    "subject": {"mediaType": MT_MAN, "digest": sha(other), "size": len(other)}}).encode()
blobs[sha(art)] = art
referrers = json.dumps({"schemaVersion": 2, "mediaType": MT_IDX, "manifests": [
    {"mediaType": MT_MAN, "digest": sha(art), "size": len(art),
     "artifactType": "application/vnd.hallmark.manifest.v1"}]}).encode()
log = open(sys.argv[2], "a")

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def send(self, code, body=b"", ctype="application/json", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    def endless(self, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.end_headers()
        chunk = b"x" * 65536
        try:
            while True:
                self.wfile.write(chunk)
        except OSError:
            pass
        self.close_connection = True
    do_HEAD = lambda self: self.do_GET()
    def do_GET(self):
        host = self.headers.get("Host", "")
        log.write("%s %s auth=%s\n" % (host, self.path, "Authorization" in self.headers))
        log.flush()
        p = self.path.split("?")[0].split("/")
        if self.path == "/v2/":
            return self.send(200, b"{}")
        if self.path.startswith("/token"):
            return self.send(200, json.dumps({"token": "t0ken"}).encode())
        repo, kind, ref = p[2], p[3], p[-1]
        if repo == "authloop":
            return self.send(401, b"{}", headers=[("WWW-Authenticate",
                'Bearer realm="http://%s/token",service="t",scope="repository:authloop:pull"' % host)])
        # Bearer tokens: the registry wants one, its realm hands it out.
        if repo in ("bearer", "bearercdn") and host.startswith("127.0.0.1:") and \
                self.headers.get("Authorization") != "Bearer t0ken":
            return self.send(401, b"{}", headers=[("WWW-Authenticate",
                'Bearer realm="http://%s/token",service="t"' % host)])
        if repo == "loop":
            return self.send(307, headers=[("Location", "/v2/loop/manifests/again")])
        if repo == "elsewhere" and kind == "manifests":
            return self.send(307, headers=[("Location", "http://127.0.0.2:%d%s" % (port, self.path))])
        if repo == "bigmanifest" and kind == "manifests":
            return self.send(200, b'{"pad": "' + b"x" * (5 << 20) + b'"}', MT_MAN)
        if repo == "endlessmanifest" and kind == "manifests":
            return self.endless(MT_MAN)
        if kind == "manifests":
            m = {"good": good, "badblob": bad, "endless": endless, "cdn": good,
                 "elsewhere": good, "bearer": good, "bearercdn": good}.get(repo) if not ref.startswith("sha256:") else blobs.get(ref)
            if m is None:
                return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            return self.send(200, m, MT_MAN)
        if kind == "referrers":
            return self.send(200, referrers, MT_IDX)
        if kind == "blobs":
            if repo == "badblob" and ref == bad_layer:
                return self.send(200, bytes(lie), "application/octet-stream")
            if repo == "endless" and ref == endless_layer:
                return self.endless("application/octet-stream")
            # A blob served from another host (a CDN), which is allowed.
            if repo in ("cdn", "bearercdn") and host.startswith("127.0.0.1:"):
                return self.send(307, headers=[("Location", "http://127.0.0.2:%d%s" % (port, self.path))])
            if ref in blobs:
                return self.send(200, blobs[ref], "application/octet-stream")
        return self.send(404, b"{}")

srv = http.server.ThreadingHTTPServer(("0.0.0.0", 0), H)
srv.daemon_threads = True
port = srv.server_address[1]
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(port))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
PYEOF
python3 server.py port requests.log 2>server.err &
SRV_PID=$!
i=0
while [ ! -s port ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { fail "the test registry did not start"; done_testing; exit 1; }
	sleep 0.1
done
R=127.0.0.1:$(cat port)

"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
expect_exit 0 "the honest image of the test registry reads" \
	"$HALLMARK" manifest "registry:$R/good:1" --name t3102 -o good.manifest
"$HALLMARK" sign good.manifest --key ops.key >/dev/null 2>&1
V="--manifest good.manifest --pubkey ops.pub"
expect_exit 0 "and verifies" "$HALLMARK" verify "registry:$R/good:1" $V

expect_exit 2 "a blob that does not match its digest: exit 2" "$HALLMARK" verify "registry:$R/badblob:1" $V
expect_grep "does not match its digest" err.txt "named as such"
expect_exit 2 "a blob that never ends: exit 2" "$HALLMARK" verify "registry:$R/endless:1" $V
expect_grep "more than the [0-9]+ bytes the descriptor gives" err.txt "stopped at the descriptor's size"
expect_exit 2 "a manifest over the limit: exit 2" "$HALLMARK" verify "registry:$R/bigmanifest:1" $V
expect_grep "HM_LIMIT_REGISTRY_MANIFEST_BYTES" err.txt "naming the limit"
expect_exit 2 "an endless manifest: exit 2" "$HALLMARK" verify "registry:$R/endlessmanifest:1" $V
expect_grep "HM_LIMIT_REGISTRY_MANIFEST_BYTES" err.txt "naming the limit"
expect_exit 2 "a manifest redirected to another host: exit 2" "$HALLMARK" verify "registry:$R/elsewhere:1" $V
expect_grep "refusing a redirect to another host" err.txt "refused as such"
expect_exit 2 "a redirect loop: exit 2" "$HALLMARK" verify "registry:$R/loop:1" $V
expect_grep "HM_LIMIT_REGISTRY_REDIRECTS" err.txt "naming the limit"
expect_exit 3 "a 401 loop: exit 3" "$HALLMARK" verify "registry:$R/authloop:1" $V
expect_grep "401 after 2 attempts" err.txt "stopped after the rounds the limit allows"
: > requests.log
expect_exit 0 "a blob served by another host (a CDN) is allowed" \
	"$HALLMARK" verify "registry:$R/cdn:1" $V
if grep -q '^127.0.0.2:.*/blobs/' requests.log; then ok "the blob came from the other host"
else fail "the blob came from the other host"; fi
# Bearer tokens: anonymous, then with the auth file's credentials, which
# go to the realm and never with a blob to another host.
: > requests.log
expect_exit 0 "a registry that wants a bearer token" "$HALLMARK" verify "registry:$R/bearer:1" $V
expect_grep "^127.0.0.1:[0-9]+ /token\?service=t&scope=repository%3Abearer%3Apull auth=False" \
	requests.log "an anonymous token for the repository's pull scope"
python3 -c '
import base64, json, sys
print(json.dumps({"auths": {sys.argv[1]: {"auth": base64.b64encode(b"u:p").decode()}}}))
' "$R" > auth.json
: > requests.log
expect_exit 0 "a bearer token asked with the auth file's credentials, blobs from a CDN" \
	"$HALLMARK" verify "registry:$R/bearercdn:1" $V --authfile auth.json
expect_grep "^127.0.0.1:[0-9]+ /token.* auth=True" requests.log "the realm got the credentials"
expect_grep "^127.0.0.2:[0-9]+ /v2/bearercdn/blobs/.* auth=False" requests.log "the CDN got the blob request"
if grep -q '^127.0.0.2:.* auth=True' requests.log; then
	fail "no credentials or token go to the other host"
else ok "no credentials or token go to the other host"; fi
expect_exit 3 "a referrer whose subject is another image: exit 3" \
	"$HALLMARK" verify "registry:$R/good:1" --pubkey ops.pub
expect_grep "unsigned image: .*is attached to sha256:[0-9a-f]+, not to" err.txt "named as unsigned, with the reason"

# Plain HTTP only to loopback or a host named with --insecure-registry.
ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9.]+$' | grep -v '^127\.' | head -n 1)
if [ -n "$ip" ]; then
	expect_exit 2 "plain HTTP to a host that is not loopback is refused" \
		"$HALLMARK" verify "registry:$ip:$(cat port)/good:1" $V
	expect_grep "plain HTTP is used only for a loopback host or one named with --insecure-registry" \
		err.txt "and says how to allow it"
	expect_exit 0 "unless --insecure-registry names it" \
		"$HALLMARK" verify "registry:$ip:$(cat port)/good:1" $V --insecure-registry "$ip:$(cat port)"
else
	skip "no address but loopback: plain HTTP to another host not tried"
	skip "no address but loopback: its message not checked"
	skip "no address but loopback: --insecure-registry not tried"
fi

# Nothing kept: no file under a digest's name, nothing in TMPDIR.
if [ -z "$(ls -A "$T_DIR/tmp")" ]; then ok "nothing left in TMPDIR"
else fail "nothing left in TMPDIR"; ls -la "$T_DIR/tmp" | sed 's/^/#   /'; fi
if find "$T_DIR" -name '*[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]*' | grep -q .; then
	fail "no file named by a digest"
else
	ok "no file named by a digest"
fi
stop_server
done_testing
