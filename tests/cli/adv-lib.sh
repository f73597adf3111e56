# Shared set-up of the t7xxx adversarial tests (sourced after lib.sh).
#
# Each attack runs in $WORK.  $OUTSIDE holds what an escape would aim at
# (a copy of /etc/shadow and a sentinel); every refusal is followed by a
# check that nothing under $T_DIR outside $WORK changed, that no file
# named after an image path appeared in $WORK, and, for builds, that the
# output folder holds nothing and the blob store only blobs named by
# digest.  Attack files are called "pwned" so that any copy is found.
MKOCI="python3 $HM_TOP/tests/cli/oci-image.py"
OUTSIDE=$T_DIR/outside
WORK=$T_DIR/work
umask 022
mkdir -p "$OUTSIDE/etc" "$WORK"
printf 'root:*:19000:0:99999:7:::\n' > "$OUTSIDE/etc/shadow"
printf 'do not touch\n' > "$OUTSIDE/sentinel"
cd "$WORK" || exit 2
export HALLMARK_CACHE="$WORK/cache"

# The image every attack starts from: a base tree, its signed manifest.
mkdir -p base/etc base/opt base/usr/bin
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:*:19000:0:99999:7:::\n' > base/etc/shadow
chmod 640 base/etc/shadow
printf '#!/bin/sh\n' > base/usr/bin/tool && chmod 755 base/usr/bin/tool
ln -s etc base/etc-link
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
"$HALLMARK" manifest dir:base --name t7 --serial 1 -o base.manifest 2>/dev/null
"$HALLMARK" sign base.manifest --key ops.key >/dev/null 2>&1
V="--manifest base.manifest --pubkey ops.pub"

# mktar OUT SPEC...: a pax tar with exactly these members, in this order.
# SPEC is NAME:TYPE[:ARG]: f file (ARG: content), d dir, l symlink (ARG:
# target), h hard link (ARG: target), H hard link carrying data (ARG:
# TARGET=DATA), s sparse file (ARG: logical size; GNU pax 1.0 sparse map
# with one 512-byte chunk), P file with pax records (ARG: K=V,K=V; no
# data).  NAME and ARG may use @OUT@ for $OUTSIDE and @LONGn@ for n
# bytes "n" (past the kernel's limit on one argument).
cat > "$WORK/mktar.py" <<'PY'
import io, os, re, sys, tarfile
out = os.environ["OUTSIDE"]
def x(s):
    return re.sub(r"@LONG(\d+)@", lambda m: "n" * int(m.group(1)), s.replace("@OUT@", out))
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for spec in sys.argv[2:]:
        name, kind, *rest = spec.split(":", 2)
        arg = x(rest[0]) if rest else ""
        name = x(name)
        ti = tarfile.TarInfo(name)
        ti.mode = 0o755 if kind == "d" else 0o644
        ti.mtime = 1700000000
        data = None
        if kind == "d":
            ti.type = tarfile.DIRTYPE
        elif kind == "l":
            ti.type, ti.linkname = tarfile.SYMTYPE, arg
        elif kind == "h":
            ti.type, ti.linkname = tarfile.LNKTYPE, arg
        elif kind == "H":
            link, body = arg.split("=", 1)
            ti.type, ti.linkname = tarfile.LNKTYPE, link
            data = body.encode()
            ti.size = len(data)
            # A pax record, so that libarchive knows the size is meant.
            ti.pax_headers = {"comment": "hard link with data"}
        elif kind == "s":
            m = b"1\n0\n512\n"
            data = m + bytes(512 - len(m)) + b"x" * 512
            real = name
            ti.name = os.path.join(os.path.dirname(real) or ".", "GNUSparseFile.0",
                                   os.path.basename(real))
            ti.size = len(data)
            ti.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                              "GNU.sparse.name": real, "GNU.sparse.realsize": arg}
        elif kind == "P":
            ti.pax_headers = dict(kv.split("=", 1) for kv in arg.split(","))
        else:
            data = arg.encode()
            ti.size = len(data)
        t.addfile(ti, io.BytesIO(data) if data is not None else None)
PY
mktar() { OUTSIDE="$OUTSIDE" python3 "$WORK/mktar.py" "$@"; }

# What "nothing written outside" compares: every name, type, size, mode
# and mtime under $T_DIR except $WORK, and the contents of $OUTSIDE.
adv_snap() {
	find "$T_DIR" -path "$WORK" -prune -o -printf '%P %y %s %m %T@\n' | sort
	find "$OUTSIDE" -type f -exec sha256sum {} + | sort
}
adv_snap > "$WORK/snap0"

# untouched WHAT: nothing changed outside $WORK, no "pwned" file anywhere
# in $WORK, and the blob store (if any) holds only blobs named by digest
# and no partial blob.
untouched() {
	bad=$(find "$WORK" -name 'pwned*' 2>/dev/null)
	if [ -d "$HALLMARK_CACHE" ]; then
		bad="$bad$(find "$HALLMARK_CACHE" -type f ! -regextype posix-extended ! -regex '.*/blobs/sha256/[0-9a-f]{2}/[0-9a-f]{64}' 2>/dev/null)"
	fi
	adv_snap > "$WORK/snap1"
	if cmp -s "$WORK/snap0" "$WORK/snap1" && [ -z "$bad" ]; then
		ok "$1: nothing written outside"
	else
		fail "$1: nothing written outside"
		diff "$WORK/snap0" "$WORK/snap1" | sed 's/^/#   /' | head -n 10
		echo "$bad" | sed 's/^/#   /' | head -n 10
	fi
}

# refused CODE WHAT PATTERN CMD...: exit CODE, a message matching PATTERN
# on stderr, nothing written outside.
refused() {
	r_code=$1 r_what=$2 r_pat=$3; shift 3
	expect_exit "$r_code" "$r_what" "$@"
	expect_grep "$r_pat" err.txt "$r_what: the message says why"
	untouched "$r_what"
}

# build_from KIND FILE: a template whose base is FILE (tarball or oci),
# in a fresh folder; sets BDIR (its output folder is $BDIR/out).
ADV_NB=0
build_from() {
	ADV_NB=$((ADV_NB + 1))
	BDIR=$WORK/build$ADV_NB
	mkdir -p "$BDIR"
	cp "$2" "$BDIR/base.img"
	printf 'hallmark: 1\nname: t7-adv\nserial: 1\nbase: {%s: {path: base.img}}\n' "$1" > "$BDIR/t.yaml"
	"$HALLMARK" build "$BDIR/t.yaml" -o "$BDIR/out" --source-date-epoch 1700000000 >out.txt 2>err.txt
}

# build_refused WHAT KIND FILE PATTERN: the build fails with exit 2 and a
# message, leaves no output and nothing outside.
build_refused() {
	b_what=$1
	build_from "$2" "$3"
	b_got=$?
	if [ "$b_got" -eq 2 ]; then ok "$b_what"; else
		fail "$b_what (exit $b_got, expected 2)"; sed 's/^/#   stderr: /' err.txt | head -n 5
	fi
	expect_grep "$4" err.txt "$b_what: the message says why"
	if [ -z "$(ls -A "$BDIR/out" 2>/dev/null)" ]; then
		ok "$b_what: no output written"
	else
		fail "$b_what: no output written"; ls -A "$BDIR/out" | sed 's/^/#   /'
	fi
	untouched "$b_what"
}

# tar_refused WHAT PATTERN FILE: a tar stream read by every command that
# reads one (verify, hallmark-verify from stdin, manifest, audit, build
# from a tarball base): exit 2 each time, nothing written.
tar_refused() {
	t_what=$1 t_pat=$2 t_file=$3
	refused 2 "$t_what: verify tar:" "$t_pat" "$HALLMARK" verify "tar:$t_file" $V
	refused 2 "$t_what: hallmark-verify tar:-" "$t_pat" sh -c "'$HALLMARK_VERIFY' tar:- $V < '$t_file'"
	refused 2 "$t_what: manifest tar:" "$t_pat" "$HALLMARK" manifest "tar:$t_file" -o pwned.manifest
	refused 2 "$t_what: audit tar:" "$t_pat" "$HALLMARK" audit "tar:$t_file"
	build_refused "$t_what: build from a tarball base" tarball "$t_file" "$t_pat"
}

# layer_refused WHAT PATTERN LAYER...: the layers on top of the base, as an
# OCI archive, an OCI layout folder and a docker-archive, read by verify,
# manifest, audit and build: exit 2 each time, nothing written.
layer_refused() {
	l_what=$1 l_pat=$2; shift 2
	rm -rf img.tar img.d img-docker.tar
	# The layout folder is the archive unpacked (an OCI archive is one).
	$MKOCI oci img.tar base "$@" && mkdir img.d && tar -xf img.tar -C img.d &&
		$MKOCI docker img-docker.tar base "$@" || { fail "$l_what (cannot make the image)"; return; }
	refused 2 "$l_what: verify oci:" "$l_pat" "$HALLMARK" verify oci:img.tar $V
	refused 2 "$l_what: hallmark-verify oci-dir:" "$l_pat" "$HALLMARK_VERIFY" oci-dir:img.d $V
	refused 2 "$l_what: verify oci: (docker-archive)" "$l_pat" "$HALLMARK" verify oci:img-docker.tar $V
	refused 2 "$l_what: manifest oci:" "$l_pat" "$HALLMARK" manifest oci:img.tar -o pwned.manifest
	refused 2 "$l_what: audit oci:" "$l_pat" "$HALLMARK" audit oci:img.tar
	build_refused "$l_what: build from an OCI base" oci img.tar "$l_pat"
}

# tar_quick / layer_quick WHAT PATTERN ...: the same attack, read by
# verify only (for variants of an attack whose every entry point is
# exercised by a sibling case).
tar_quick() {
	refused 2 "$1: verify tar:" "$2" "$HALLMARK" verify "tar:$3" $V
}
layer_quick() {
	q_what=$1 q_pat=$2; shift 2
	rm -f img.tar
	$MKOCI oci img.tar base "$@" || { fail "$q_what (cannot make the image)"; return; }
	refused 2 "$q_what: verify oci:" "$q_pat" "$HALLMARK" verify oci:img.tar $V
}
