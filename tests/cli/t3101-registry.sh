#!/bin/sh
# registry: targets against a real registry, Debian's docker-registry
# (distribution), started here on 127.0.0.1: once over plain HTTP, once
# with TLS (a CA and a certificate made here with openssl) and htpasswd
# authentication.  skopeo, the independent client, copies the images in;
# verify, manifest, audit and sbom of registry: give what they give for
# oci: on the same image; the signed manifest attached as a referrer
# (tests/cli/registry-attach.py, Python's urllib) is found without
# --manifest, and an image without one is "unsigned" (exit 3).
. "$(dirname "$0")/lib.sh"

for t in docker-registry skopeo openssl htpasswd python3; do
	if ! command -v $t >/dev/null 2>&1; then
		skip "$t is not installed (.ci/install-deps installs it)"
		done_testing
		exit 0
	fi
done

MKOCI="python3 $HM_TOP/tests/cli/oci-image.py"
ATTACH="python3 $HM_TOP/tests/cli/registry-attach.py"
# Nothing of the user's own: no credentials but the test's.
export HOME="$T_DIR/home"
mkdir -p "$HOME"
unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR
export SOURCE_DATE_EPOCH=1700000000

REG_PID=
stop_registry() {
	if [ -n "$REG_PID" ]; then
		kill "$REG_PID" 2>/dev/null
		wait "$REG_PID" 2>/dev/null
		REG_PID=
	fi
}
trap 'stop_registry; chmod -R u+rwx "$T_DIR" 2>/dev/null; rm -rf "$T_DIR"' EXIT
trap 'exit 2' INT TERM HUP PIPE

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_registry NAME [EXTRA-YAML-FILE]: a registry on a free port,
# storage in the test's folder; sets PORT.
start_registry() {
	PORT=$(free_port)
	{
		printf 'version: 0.1\nlog:\n  level: error\n'
		printf 'storage:\n  filesystem:\n    rootdirectory: %s\n' "$T_DIR/$1.store"
		printf '  delete:\n    enabled: true\n'
		printf 'http:\n  addr: 127.0.0.1:%s\n' "$PORT"
		[ $# -gt 1 ] && cat "$2"
	} > "$1.yml"
	docker-registry serve "$1.yml" > "$1.log" 2>&1 &
	REG_PID=$!
	i=0
	while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$REG_PID" 2>/dev/null; then
			fail "the registry did not start"
			sed 's/^/#   /' "$1.log" | head
			done_testing
			exit 1
		fi
		sleep 0.1
	done
}

# same_json KIND A B: the two reports agree but for the target and times.
same_json() {
	python3 - "$@" <<'EOF'
import json, sys
kind, a, b = sys.argv[1:4]
drop = {"target", "started", "finished", "duration_seconds", "host", "manifest"}
da, db = (json.load(open(x)) for x in (a, b))
for d in (da, db):
    for k in drop:
        d.pop(k, None)
sys.exit(0 if da == db else 1)
EOF
}

umask 022
mkdir -p base/etc base/usr/bin base/var/lib/dpkg base/opt
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:*:19000:0:99999:7:::\n' > base/etc/shadow && chmod 640 base/etc/shadow
printf 'tool\n' > base/usr/bin/tool && chmod 755 base/usr/bin/tool
printf 'Package: tool\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: t <t@example.org>\nDescription: a tool\n\n' \
	> base/var/lib/dpkg/status
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" keygen -o other --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:base --name t3101 -o base.manifest 2>/dev/null
"$HALLMARK" sign base.manifest --key ops.key >/dev/null 2>&1
mkdir -p app/opt/app drift/usr/bin
printf 'app\n' > app/opt/app/app
printf 'trojan\n' > drift/usr/bin/tool && chmod 755 drift/usr/bin/tool
$MKOCI oci base.tar base || fail "building the base image"
$MKOCI oci app.tar base app || fail "building the app image"
$MKOCI oci drift.tar base drift || fail "building the drifted image"
# skopeo reads the same bytes from a layout folder: unpacking an
# oci-archive itself, it chowns its members, which a user who is not
# root cannot do.
for i in base app drift; do
	mkdir "$i.d" && tar -xf "$i.tar" -C "$i.d" --no-same-owner || fail "unpacking $i.tar"
done

# ---- plain HTTP ----------------------------------------------------------------
start_registry http
R=127.0.0.1:$PORT
for i in base app drift; do
	skopeo copy -q --dest-tls-verify=false "oci:$i.d" "docker://$R/t/$i:1" \
		>/dev/null 2>skopeo.err || { fail "skopeo copies $i in"; sed 's/^/#   /' skopeo.err; }
done
V="--manifest base.manifest --pubkey ops.pub"

# The client's upload primitives (the unit test's live part), read back
# by skopeo and by Python's urllib.
# HM_BUILD is absolute under tests/run-tests.sh, relative when a script
# is run by hand.
case ${HM_BUILD:-build} in
/*) DRIVER=$HM_BUILD/tests/unit/test_registry ;;
*) DRIVER=$HM_TOP/${HM_BUILD:-build}/tests/unit/test_registry ;;
esac
if [ -x "$DRIVER" ]; then
	expect_exit 0 "the client uploads a blob and a manifest (test_registry)" \
		env HM_TEST_REGISTRY="$R" "$DRIVER"
	expect_grep "^ok uploads_against_a_live_registry" out.txt "its live test ran"
	want=$(printf 'hallmark upload test\n' | sha256sum | cut -c1-64)
	if skopeo inspect --raw --tls-verify=false "docker://$R/t/upload:uploaded" > up.json 2>skopeo.err &&
	   grep -q "\"sha256:$want\"" up.json &&
	   python3 -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://$R/v2/t/upload/blobs/sha256:$want').read() != b'hallmark upload test\n')"
	then ok "skopeo and urllib read back what the client uploaded"
	else fail "skopeo and urllib read back what the client uploaded"; sed 's/^/#   /' skopeo.err up.json; fi
else
	skip "no $DRIVER (make it first): uploads not tried"
	skip "uploads not read back"
	skip "uploads not read back"
fi

expect_exit 0 "registry: by tag over plain HTTP on loopback passes" \
	"$HALLMARK" verify "registry:$R/t/base:1" $V
expect_grep "^OK: registry:$R/t/base:1 matches t3101" out.txt "the report names the registry target"
expect_exit 0 "hallmark-verify reads registry: too" "$HALLMARK_VERIFY" "registry:$R/t/base:1" $V
for i in app drift; do
	"$HALLMARK" verify "oci:$i.tar" $V --format json -o "$i.oci.json" 2>/dev/null
	want=$?
	expect_exit $want "registry: exits as oci: on the $i image ($want)" \
		"$HALLMARK" verify "registry:$R/t/$i:1" $V --format json -o "$i.reg.json"
	if same_json verify "$i.oci.json" "$i.reg.json"; then
		ok "registry: and oci: give the same findings on the $i image"
	else
		fail "registry: and oci: give the same findings on the $i image"
	fi
done
expect_grep 'layer 2 sha256:' "drift.reg.json" "the drift names its layer"

digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$R/t/app:1")
expect_exit 1 "registry: by digest" "$HALLMARK" verify "registry:$R/t/app@$digest" $V
expect_exit 2 "an unknown tag is exit 2" "$HALLMARK" verify "registry:$R/t/app:nope" $V
expect_grep "manifest 'nope' unknown" err.txt "and says so"
expect_exit 2 "an unknown digest is exit 2" \
	"$HALLMARK" verify "registry:$R/t/app@sha256:$(printf x | sha256sum | cut -c1-64)" $V
expect_exit 2 "a malformed reference is a usage error" "$HALLMARK" verify "registry:$R" $V

"$HALLMARK" manifest "oci:app.tar" --name t -o app.oci.manifest 2>/dev/null
expect_exit 0 "manifest registry:" "$HALLMARK" manifest "registry:$R/t/app:1" --name t -o app.reg.manifest
if cmp -s app.oci.manifest app.reg.manifest; then ok "manifest of registry: and oci: are byte-identical"
else fail "manifest of registry: and oci: are byte-identical"; fi
"$HALLMARK" sbom "oci:app.tar" --name t -o app.oci.spdx 2>/dev/null
expect_exit 0 "sbom registry:" "$HALLMARK" sbom "registry:$R/t/app:1" --name t -o app.reg.spdx
if cmp -s app.oci.spdx app.reg.spdx; then ok "sbom of registry: and oci: are byte-identical"
else fail "sbom of registry: and oci: are byte-identical"; fi
expect_grep '"name": "tool"' app.reg.spdx "the SBOM lists the package"
"$HALLMARK" audit "oci:app.tar" --format json -o app.oci.audit 2>/dev/null
want=$?
expect_exit $want "audit registry: exits as audit oci: ($want)" \
	"$HALLMARK" audit "registry:$R/t/app:1" --format json -o app.reg.audit
if same_json audit app.oci.audit app.reg.audit; then ok "audit registry: and oci: give the same findings"
else fail "audit registry: and oci: give the same findings"; fi

# The signed manifest attached as a referrer.
expect_exit 3 "no manifest attached: exit 3" "$HALLMARK" verify "registry:$R/t/app:1" --pubkey ops.pub
expect_grep "unsigned image: .* has no hallmark manifest attached" err.txt "named an unsigned image"
$ATTACH "http://$R" t/app 1 base.manifest base.manifest.sig > attached.txt 2>attach.err ||
	{ fail "attaching the manifest"; sed 's/^/#   /' attach.err; }
printf 'version: 1\nmay_add: [/opt/app/**]\n' > app.yaml
expect_exit 0 "verify finds the attached manifest (under a may_add policy)" \
	"$HALLMARK" verify "registry:$R/t/app:1" --pubkey ops.pub --policy app.yaml
expect_grep "^OK: registry:$R/t/app@$digest matches t3101" out.txt "the image verified is the one the manifest is attached to, by digest"
expect_grep "^manifest: +registry:$R/t/app@$(cat attached.txt)" out.txt "the report names the referrer"
expect_exit 3 "attached but signed by a key not pinned: exit 3" \
	"$HALLMARK" verify "registry:$R/t/app:1" --pubkey other.pub
expect_grep "unsigned image: none of the 1 hallmark manifests" err.txt "named an unsigned image"
expect_grep "which is not pinned" err.txt "with the reason"
if grep -q /proc/self/fd err.txt; then fail "the message names the referrer, not a file descriptor"; sed 's/^/#   /' err.txt
else ok "the message names the referrer, not a file descriptor"; fi
# A drifted image with the base manifest attached: the verdict is drift.
$ATTACH "http://$R" t/drift 1 base.manifest base.manifest.sig >/dev/null 2>attach.err ||
	fail "attaching to the drifted image"
expect_exit 1 "the attached manifest finds the drift" \
	"$HALLMARK" verify "registry:$R/t/drift:1" --pubkey ops.pub
# A referrer whose artifact names another image as its subject is not
# this image's manifest.
$ATTACH "http://$R" t/base 1 base.manifest base.manifest.sig --subject "$digest" >/dev/null 2>attach.err ||
	fail "attaching a referrer of another subject"
expect_exit 3 "a referrer whose subject is another image is not used" \
	"$HALLMARK" verify "registry:$R/t/base:1" --pubkey ops.pub
expect_grep "is attached to $digest, not to" err.txt "and the reason is named"

# The whole registry: every repository and tag, one report.  t/app and
# t/drift are signed, t/base is not; t/base:broken is an artifact, no image.
$ATTACH "http://$R" t/base 1 base.manifest base.manifest.sig --tag broken --subject "$digest" >/dev/null 2>attach.err ||
	fail "making a broken image"
expect_exit 1 "audit registry:HOST audits the catalog" \
	"$HALLMARK" audit "registry:$R" --pubkey ops.pub --format json -o reg.audit
python3 - reg.audit > reg.sum <<'PYEOF2'
import json, sys
d = json.load(open(sys.argv[1]))
for f in d["findings"]:
    p = f.get("path") or ""
    print(f["rule"], p.split(":/")[0] if ":/" in p else p)
PYEOF2
expect_grep '^HM-REG-001 t/base:1$' reg.sum "the unsigned image is a finding"
expect_grep '^HM-REG-002 t/base:broken$' reg.sum "the image that cannot be read is a finding"
if grep -q /proc/self/fd reg.audit; then fail "findings name the image, not a file descriptor"
else ok "findings name the image, not a file descriptor"; fi
if grep -q 'HM-REG-00[12] t/app:1' reg.sum || grep -q 'HM-REG-00[12] t/drift:1' reg.sum; then
	fail "signed images are not flagged"; sed 's/^/#   /' reg.sum
else ok "signed images are not flagged"; fi
n_app=$(python3 -c "import json; print(len(json.load(open('app.oci.audit'))['findings']))")
if [ "$(grep -c ' t/app:1$' reg.sum)" -eq "$n_app" ]; then ok "each image's audit findings are there ($n_app for t/app:1)"
else fail "each image's audit findings are there ($n_app for t/app:1)"; sed 's/^/#   /' reg.sum; fi
expect_exit 0 "--repository picks repositories (t/app, signed)" \
	"$HALLMARK" audit "registry:$R" --pubkey ops.pub --repository 't/a*' --format json -o app-only.audit
expect_exit 1 "audit of one registry: image with --pubkey: unsigned is a finding" \
	"$HALLMARK" audit "registry:$R/t/base:1" --pubkey ops.pub
expect_grep "HM-REG-001" out.txt "named HM-REG-001"
expect_exit 2 "--repository needs a whole registry" \
	"$HALLMARK" audit "registry:$R/t/base:1" --repository 't/*'
stop_registry

# ---- TLS and htpasswd -------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=t3101-ca -keyout ca.key -out ca.crt >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout srv.key -out srv.csr >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
	-extfile san.ext -out srv.crt >/dev/null 2>&1 || fail "making the certificate"
htpasswd -Bbc htpasswd tester 's3cret pass' >/dev/null 2>&1 || fail "htpasswd"
cat > tls.extra <<EOF
  tls:
    certificate: $T_DIR/srv.crt
    key: $T_DIR/srv.key
auth:
  htpasswd:
    realm: t3101
    path: $T_DIR/htpasswd
EOF
start_registry tls tls.extra
R=127.0.0.1:$PORT
mkdir -p certs && cp ca.crt certs/ca.crt
python3 -c '
import base64, json, sys
print(json.dumps({"auths": {sys.argv[1]: {"auth": base64.b64encode(sys.argv[2].encode()).decode()}}}))
' "$R" 'tester:s3cret pass' > auth.json
python3 -c '
import base64, json, sys
print(json.dumps({"auths": {sys.argv[1]: {"auth": base64.b64encode(b"tester:wrong").decode()}}}))
' "$R" > bad-auth.json
for i in app drift; do
	skopeo copy -q --dest-cert-dir certs --dest-authfile auth.json "oci:$i.d" \
		"docker://$R/t/$i:1" >/dev/null 2>skopeo.err ||
		{ fail "skopeo copies $i in over TLS"; sed 's/^/#   /' skopeo.err; }
done
A="--ca-file ca.crt --authfile auth.json"
expect_exit 3 "TLS with a CA the system does not know: exit 3" \
	"$HALLMARK" verify "registry:$R/t/app:1" $V --authfile auth.json
expect_grep "certificate|SSL" err.txt "named as a certificate problem"
expect_exit 3 "no credentials for a registry that wants them: exit 3" \
	"$HALLMARK" verify "registry:$R/t/app:1" $V --ca-file ca.crt
expect_grep "requires a login" err.txt "and says a login is needed"
expect_exit 3 "wrong credentials: exit 3" \
	"$HALLMARK" verify "registry:$R/t/app:1" $V --ca-file ca.crt --authfile bad-auth.json
for i in app drift; do
	expect_exit $(python3 -c "import json; print(json.load(open('$i.oci.json'))['exit_code'])") \
		"over TLS with basic auth: the $i image" \
		"$HALLMARK" verify "registry:$R/t/$i:1" $V $A --format json -o "$i.tls.json"
	if same_json verify "$i.oci.json" "$i.tls.json"; then
		ok "over TLS: the same findings as oci: ($i)"
	else
		fail "over TLS: the same findings as oci: ($i)"
	fi
done
expect_exit 1 "credentials from \$REGISTRY_AUTH_FILE" \
	env REGISTRY_AUTH_FILE="$T_DIR/auth.json" "$HALLMARK" verify "registry:$R/t/app:1" $V --ca-file ca.crt
mkdir -p "$HOME/.docker" && cp auth.json "$HOME/.docker/config.json"
expect_exit 1 "credentials from ~/.docker/config.json" \
	"$HALLMARK" verify "registry:$R/t/app:1" $V --ca-file ca.crt
rm -r "$HOME/.docker"
expect_exit 2 "a missing --authfile is an error, not anonymous access" \
	"$HALLMARK" verify "registry:$R/t/app:1" $V --ca-file ca.crt --authfile nope.json
$ATTACH "https://$R" t/app 1 base.manifest base.manifest.sig --cafile ca.crt \
	--user 'tester:s3cret pass' >/dev/null 2>attach.err ||
	{ fail "attaching over TLS"; sed 's/^/#   /' attach.err; }
expect_exit 1 "over TLS, the attached manifest is found (and the app's additions are drift)" \
	"$HALLMARK" verify "registry:$R/t/app:1" --pubkey ops.pub $A
expect_grep "/opt/app" out.txt "the addition is reported"
expect_exit 0 "sbom over TLS" "$HALLMARK" sbom "registry:$R/t/app:1" --name t $A -o app.tls.spdx
if cmp -s app.oci.spdx app.tls.spdx; then ok "the same SBOM over TLS"
else fail "the same SBOM over TLS"; fi
stop_registry

done_testing
