#!/bin/sh
# make install into a DESTDIR: the file list, the installed programs,
# their man pages (made from docs/cli.md), the bash completion against
# each program's --help, the units pointing at the installed programs, a
# kept policy, and builds from the installed templates with the installed
# programs.
. "$(dirname "$0")/lib.sh"

# Install what is under test: the build folder of HM_BUILD (build, or
# build-asan with its programs in build-asan/bin), relative to the tree,
# as the Makefile names it.
HM_BUILD=${HM_BUILD:-build}
case $HM_BUILD in "$HM_TOP"/*) o=${HM_BUILD#"$HM_TOP"/} ;; *) o=$HM_BUILD ;; esac
root=$T_DIR/root
prefix=/opt/hm
install_it() {
	make -s -C "$HM_TOP" O="$o" PREFIX=$prefix DESTDIR="$root" install >install.log 2>&1
}
if install_it; then ok "make install into a DESTDIR"
else fail "make install into a DESTDIR"; sed 's/^/#   /' install.log | tail -n 15; done_testing; exit 1; fi

# ---- the file list ----------------------------------------------------------
{
	echo "$prefix/bin/hallmark"
	echo "$prefix/bin/hallmark-verify"
	echo "$prefix/share/man/man1/hallmark.1"
	echo "$prefix/share/man/man1/hallmark-verify.1"
	echo "$prefix/share/bash-completion/completions/hallmark"
	echo "$prefix/share/bash-completion/completions/hallmark-verify"
	echo "$prefix/share/doc/hallmark/README.md"
	echo "$prefix/share/doc/hallmark/systemd.md"
	for f in "$HM_TOP"/docs/*.md; do echo "$prefix/share/doc/hallmark/${f##*/}"; done
	(cd "$HM_TOP/templates" && find . -type f) | sed "s|^\./|$prefix/share/hallmark/templates/|"
	for f in "$HM_TOP"/contrib/*.service "$HM_TOP"/contrib/*.timer; do
		echo "$prefix/lib/systemd/system/${f##*/}"
	done
	echo /etc/hallmark/phoenix.yaml
} | LC_ALL=C sort > want.txt
(cd "$root" && find . ! -type d) | sed 's|^\.||' | LC_ALL=C sort > got.txt
if cmp -s want.txt got.txt; then ok "the installed files are the expected ones"
else fail "the installed files are the expected ones"; diff want.txt got.txt | sed 's/^/#   /'; fi

cmp -s "$HALLMARK" "$root$prefix/bin/hallmark" && cmp -s "$HALLMARK_VERIFY" "$root$prefix/bin/hallmark-verify" &&
	ok "the installed programs are the ones under test" || fail "the installed programs are the ones under test"
bad=$(cd "$root" && find . -type f -perm /022 | head -n 3)
[ -z "$bad" ] && ok "nothing installed is group- or world-writable" || fail "writable: $bad"

H=$root$prefix/bin/hallmark
HV=$root$prefix/bin/hallmark-verify
expect_exit 0 "the installed hallmark --help" "$H" --help
"$HALLMARK" --help > help-built.txt 2>&1
cmp -s out.txt help-built.txt && ok "says what the built one says" || fail "says what the built one says"
expect_exit 0 "the installed hallmark-verify --help" "$HV" --help

# ---- man pages ---------------------------------------------------------------
# Rendered by man(1) itself, without a warning from groff; every command
# and every option of every --help is in them.
render() {  # render PAGE > TEXT; groff's warnings to man-err.txt
	LC_ALL=C.UTF-8 MANWIDTH=200 man --warnings -l "$1" 2>man-err.txt | col -b
}
opts_of() {  # opts_of PROGRAM...: the options of its --help, one a line
	"$@" --help 2>&1 | awk '/^ {2,6}-/ { for (i = 1; i <= NF; i++) {
		t = $i; sub(/,$/, "", t); sub(/=.*/, "", t)
		if (t !~ /^-/) break; print t } }' | LC_ALL=C sort -u
}
cmds=$("$H" --help 2>&1 | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$cmds" ] && ok "hallmark --help lists commands" || fail "hallmark --help lists commands"
if command -v man >/dev/null 2>&1; then
	render "$root$prefix/share/man/man1/hallmark.1" > hallmark.txt
	[ -s hallmark.txt ] && [ ! -s man-err.txt ] && ok "man -l hallmark.1 renders without a warning" ||
		{ fail "man -l hallmark.1 renders without a warning"; sed 's/^/#   /' man-err.txt | head -n 5; }
	missing=
	for c in $cmds; do
		grep -q "^   hallmark $c\$" hallmark.txt || missing="$missing $c"
		for opt in $(opts_of "$H" "$c"); do
			grep -q -- "$opt\\b" hallmark.txt || missing="$missing $c:$opt"
		done
	done
	[ -z "$missing" ] && ok "hallmark(1) has every command and option" || fail "hallmark(1) lacks:$missing"
	render "$root$prefix/share/man/man1/hallmark-verify.1" > verify.txt
	[ -s verify.txt ] && [ ! -s man-err.txt ] && ok "man -l hallmark-verify.1 renders without a warning" ||
		{ fail "man -l hallmark-verify.1 renders without a warning"; sed 's/^/#   /' man-err.txt | head -n 5; }
	missing=
	for opt in $(opts_of "$HV"); do grep -q -- "$opt\\b" verify.txt || missing="$missing $opt"; done
	grep -q '^NAME' verify.txt && grep -q 'hallmark-verify - ' verify.txt || missing="$missing NAME"
	[ -z "$missing" ] && ok "hallmark-verify(1) has every option" || fail "hallmark-verify(1) lacks:$missing"
else
	skip "man(1) is not installed (man-db)"
fi

# ---- bash completion --------------------------------------------------------
# The completion functions run as bash runs them on TAB: COMP_WORDS split
# at COMP_WORDBREAKS (':' included), with bash-completion's helpers when
# installed.
complete_line() {  # complete_line PROGRAM WORD...: the candidates, one a line
	# The words as bash splits them (a:b is a : b); COMP_LINE is the line typed.
	prog=$1; shift
	line=$(printf '%s ' "$@" | sed 's/ : /:/g; s/ $//')
	bash -c '
		comp=$1 prog=$2 COMP_LINE=$3; shift 3
		[ -f /usr/share/bash-completion/bash_completion ] &&
			. /usr/share/bash-completion/bash_completion >/dev/null 2>&1
		. "$comp/$prog" || exit 2
		COMP_POINT=${#COMP_LINE}
		COMP_WORDS=("$@") COMP_CWORD=$(($# - 1))
		fn=$(complete -p "$prog" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		"$fn" "$prog" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' \
		sh "$root$prefix/share/bash-completion/completions" "$prog" "$line" "$@" | LC_ALL=C sort -u
}
if command -v bash >/dev/null 2>&1; then
	complete_line hallmark hallmark '' > got.txt
	{ for c in $cmds; do echo "$c"; done; echo --help; echo --version; } | LC_ALL=C sort -u > want.txt
	cmp -s want.txt got.txt && ok "completion: the commands of hallmark --help" ||
		{ fail "completion: the commands of hallmark --help"; diff want.txt got.txt | sed 's/^/#   /'; }
	bad=
	for c in $cmds; do
		complete_line hallmark hallmark "$c" - > got.txt
		opts_of "$H" "$c" > want.txt
		cmp -s want.txt got.txt || { bad="$bad $c"; diff want.txt got.txt | sed "s/^/#   $c: /"; }
	done
	[ -z "$bad" ] && ok "completion: each command's options are those of its --help" ||
		fail "completion: options differ for:$bad"
	complete_line hallmark-verify hallmark-verify - > got.txt
	opts_of "$HV" > want.txt
	cmp -s want.txt got.txt && ok "completion: hallmark-verify's options are those of its --help" ||
		{ fail "completion: hallmark-verify's options"; diff want.txt got.txt | sed 's/^/#   /'; }
	# --format's words, as the usage lists them ([--format text|json|...]).
	bad=
	for c in $cmds; do
		words=$("$H" "$c" --help 2>&1 | tr -d '\n' | sed -n 's/.*\[--format \([a-z|]*\)\].*/\1/p' | tr '|' '\n')
		[ -n "$words" ] || continue
		complete_line hallmark hallmark "$c" --format '' > got.txt
		[ "$(echo "$words" | LC_ALL=C sort)" = "$(cat got.txt)" ] || bad="$bad $c"
	done
	[ -z "$bad" ] && ok "completion: --format offers the usage's words" || fail "completion: --format words for:$bad"
	complete_line hallmark hallmark verify d > got.txt
	[ "$(tr '\n' ' ' < got.txt)" = "dir: disk: " ] && ok "completion: TARGET prefixes of hallmark" ||
		fail "completion: TARGET prefixes of hallmark ($(tr '\n' ' ' < got.txt))"
	complete_line hallmark-verify hallmark-verify d > got.txt
	[ "$(tr '\n' ' ' < got.txt)" = "dir: " ] && ok "completion: hallmark-verify offers no disk:" ||
		fail "completion: hallmark-verify offers no disk: ($(tr '\n' ' ' < got.txt))"
	if [ -f /usr/share/bash-completion/bash_completion ]; then
		mkdir -p tree/sub && : > tree/file
		complete_line hallmark hallmark verify dir : tree/ > got.txt
		[ "$(tr '\n' ' ' < got.txt)" = "tree/sub " ] && ok "completion: a folder after dir:" ||
			fail "completion: a folder after dir: ($(tr '\n' ' ' < got.txt))"
		complete_line hallmark hallmark verify tar : tree/f > got.txt
		[ "$(tr '\n' ' ' < got.txt)" = "tree/file " ] && ok "completion: a file after tar:" ||
			fail "completion: a file after tar: ($(tr '\n' ' ' < got.txt))"
	else
		skip "bash-completion is not installed: no path after a TARGET prefix"
	fi
else
	skip "bash is not installed"
fi

# ---- units, policy ----------------------------------------------------------
units=$(ls "$root$prefix"/lib/systemd/system/*.service)
bad=
for u in $units; do
	for exe in $(sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p' "$u"); do
		[ -x "$root$exe" ] || bad="$bad ${u##*/}:$exe"
	done
	grep -q '/usr/local' "$u" && bad="$bad ${u##*/}:/usr/local"
done
[ -n "$units" ] && [ -z "$bad" ] && ok "the units run the installed programs" || fail "the units run the installed programs:$bad"
sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$root$prefix/lib/systemd/system/hallmark-verify.service" |
	grep -q "^ExecStart=$prefix/bin/hallmark-verify .*--policy /etc/hallmark/phoenix.yaml" &&
	ok "hallmark-verify.service reads the installed default policy" ||
	fail "hallmark-verify.service reads the installed default policy"
cmp -s "$HM_TOP/templates/policies/phoenix.yaml" "$root/etc/hallmark/phoenix.yaml" &&
	ok "the default policy is the phoenix policy" || fail "the default policy is the phoenix policy"
printf '# edited by the admin\n' >> "$root/etc/hallmark/phoenix.yaml"
install_it && grep -q 'edited by the admin' "$root/etc/hallmark/phoenix.yaml" &&
	ok "a second make install keeps an edited policy" || fail "a second make install keeps an edited policy"

# ---- the installed templates --------------------------------------------------
tpl=$root$prefix/share/hallmark/templates
bad=
for t in "$tpl"/*.yaml; do
	for s in $(sed -n 's/^ *\(- \)\{0,1\}source: *\([^ #]*\).*/\2/p' "$t"); do
		[ -f "$tpl/$s" ] || bad="$bad ${t##*/}:$s"
	done
done
[ -z "$bad" ] && ok "every source file the installed templates name is installed beside them" ||
	fail "installed templates name missing files:$bad"
"$H" keygen -o ops --no-passphrase >/dev/null 2>&1
export HALLMARK_CACHE="$T_DIR/cache"

# A tarball-base template beside the installed ones takes the installed
# template files by their relative paths (quick: no Debian base).
mkdir -p base/etc/ssh/sshd_config.d base/usr/bin
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:x:0:\n' > base/etc/group
printf 'root:*:19000:0:99999:7:::\n' > base/etc/shadow && chmod 640 base/etc/shadow
printf '#!/bin/sh\n' > base/usr/bin/true && chmod 755 base/usr/bin/true
tar --numeric-owner --owner=0 --group=0 -C base -cf "$tpl/t0101-base.tar" .
cat > "$tpl/t0101.yaml" <<'T'
hallmark: 1
name: t0101
serial: 3
base:
  tarball:
    path: t0101-base.tar
files:
  - {path: /etc/ssh/sshd_config.d/50-hallmark.conf, source: files/sshd-hardening.conf, mode: "0644"}
T
expect_exit 0 "the installed hallmark builds a template among the installed ones" \
	"$H" build "$tpl/t0101.yaml" -o out --key ops.key
tar -xOf out/t0101.rootfs.tar etc/ssh/sshd_config.d/50-hallmark.conf > conf.txt 2>/dev/null
cmp -s conf.txt "$HM_TOP/templates/files/sshd-hardening.conf" &&
	ok "with the installed template file in it" || fail "with the installed template file in it"
expect_exit 0 "the installed hallmark verifies the OCI image" \
	"$H" verify oci:out/t0101.oci.tar --manifest out/t0101.manifest --pubkey ops.pub
expect_exit 0 "the installed hallmark-verify verifies the rootfs under the installed policy" \
	"$HV" tar:out/t0101.rootfs.tar --manifest out/t0101.manifest --pubkey ops.pub --policy "$root/etc/hallmark/phoenix.yaml"

# The installed debian-12-minimal template itself, when this machine has
# its Debian base cached (t1901 and the README make it; a bootstrap takes
# minutes, so this test never starts one): the base is linked into a
# private cache, and an mmdebstrap that only tells its version stands in
# for the real one, so a cache miss fails at once instead.
real=$(command -v mmdebstrap 2>/dev/null)
version=$([ -n "$real" ] && "$real" --version 2>/dev/null | head -n 1)
cached=
for dir in "${HM_SHARED_CACHE:-}" /var/cache/hallmark "${HOME:-/nonexistent}/.cache/hallmark"; do
	[ -n "$dir" ] && [ -d "$dir" ] || continue
	for i in "$dir"/debian-*.inputs; do
		[ -r "$i" ] && [ -r "${i%.inputs}.tar" ] || continue
		grep -qx 'suite=bookworm' "$i" && grep -qx 'variant=minbase' "$i" &&
			grep -qx 'packages=' "$i" && grep -qx 'mirror=' "$i" &&
			grep -qx "version=$version" "$i" && grep -qx "machine=$(uname -m)" "$i" &&
			{ cached=${i%.inputs}.tar; break 2; }
	done
done
if [ -z "$real" ]; then
	skip "mmdebstrap is not installed: no build of the installed debian-12-minimal"
elif [ -z "$cached" ]; then
	skip "no cached debian-12-minimal base ($version) in /var/cache/hallmark or ~/.cache/hallmark"
else
	mkdir -p mcache fakebin
	ln -s "$cached" "mcache/${cached##*/}"
	cat > fakebin/mmdebstrap <<EOF
#!/bin/sh
[ "\$1" = --version ] && exec "$real" --version
echo "t0101: the cached base was not used (mmdebstrap \$*)" >&2
: > "$T_DIR/bootstrapped"
exit 99
EOF
	chmod 755 fakebin/mmdebstrap
	PATH=$T_DIR/fakebin:$PATH HALLMARK_CACHE=$T_DIR/mcache \
		"$H" build "$tpl/debian-12-minimal.yaml" -o mout --key ops.key >out.txt 2>err.txt
	rc=$?
	if [ -e bootstrapped ]; then
		skip "the cached base's key is not this hallmark's ($cached): no build"
	elif [ $rc -eq 0 ]; then
		ok "the installed hallmark builds the installed debian-12-minimal (cached base)"
		expect_grep '^/etc/dpkg/dpkg.cfg.d/90-hallmark-nodoc type=file' mout/debian-12-minimal.manifest \
			"with its file from the installed templates/files"
		expect_exit 0 "the installed hallmark-verify verifies its rootfs" \
			"$HV" tar:mout/debian-12-minimal.rootfs.tar --manifest mout/debian-12-minimal.manifest --pubkey ops.pub
	else
		fail "the installed hallmark builds the installed debian-12-minimal (exit $rc)"
		sed 's/^/#   /' err.txt | tail -n 5
	fi
fi

done_testing
