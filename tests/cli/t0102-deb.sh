#!/bin/sh
# The Debian packages: dpkg-buildpackage -us -uc -b in a copy of the tree
# (it writes into ../), what each package holds, hallmark-verify's
# dependencies (no libguestfs, no qemu, even through other packages),
# lintian without errors, and a second build, in another folder under
# another umask, byte-identical to the first.
# Slow tier (HM_SLOW=0 skips it): two builds of everything, 60 to 110 s on a
# busy 2-core machine.
. "$(dirname "$0")/lib.sh"

if [ "${HM_SLOW:-1}" = 0 ]; then
	skip "two package builds: slow tier (HM_SLOW=0)"; done_testing; exit 0
fi

for tool in dpkg-buildpackage dh dpkg-deb lintian; do
	if ! command -v $tool >/dev/null 2>&1; then
		skip "$tool is not installed (.ci/install-deps installs debhelper, lintian, dpkg-dev)"
		done_testing; exit 0
	fi
done

# A copy of the tree as it is (committed or not), without build outputs.
copy() {  # copy DIR
	mkdir -p "$1"
	if git -C "$HM_TOP" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$HM_TOP" && git ls-files -z -c -o --exclude-standard | xargs -0 sh -c \
			'for f; do [ -e "$f" ] && printf "%s\n" "$f"; done' sh) > files.txt
		tar -C "$HM_TOP" -cf - -T files.txt | tar -C "$1" -xf -
	else
		tar -C "$HM_TOP" --anchored --exclude=./build --exclude='./build-*' --exclude=./bin \
			--exclude='./images/*' --exclude=./.git -cf - . |
			tar -C "$1" -xf -
	fi
}
build() {  # build DIR: the packages land in DIR/..
	(cd "$1" && DEB_BUILD_OPTIONS="parallel=$(nproc 2>/dev/null || echo 2)" \
		dpkg-buildpackage -us -uc -b) > "$1.log" 2>&1
}

start=$(date +%s)
copy one/hallmark
if build one/hallmark; then ok "dpkg-buildpackage -us -uc -b builds"
else fail "dpkg-buildpackage -us -uc -b builds"; sed 's/^/#   /' one/hallmark.log | tail -n 20
	done_testing; exit 1; fi
version=$(cd one/hallmark && dpkg-parsechangelog -SVersion)
arch=$(dpkg --print-architecture)
V=one/hallmark-verify_${version}_$arch.deb
F=one/hallmark_${version}_$arch.deb
[ -f "$V" ] && [ -f "$F" ] && ok "two packages: hallmark and hallmark-verify" ||
	{ fail "two packages: hallmark and hallmark-verify"; ls one | sed 's/^/#   /'; }

# ---- what each holds --------------------------------------------------------
dpkg-deb -c "$V" | awk '{print $6}' | sed 's|^\./|/|' > verify-files.txt
dpkg-deb -c "$F" | awk '{print $6}' | sed 's|^\./|/|' > full-files.txt
missing=
for f in /usr/bin/hallmark-verify /usr/share/man/man1/hallmark-verify.1.gz \
	/lib/systemd/system/hallmark-verify.service /lib/systemd/system/hallmark-verify.timer \
	/etc/hallmark/phoenix.yaml /usr/share/bash-completion/completions/hallmark-verify; do
	grep -qx "$f" verify-files.txt || missing="$missing $f"
done
grep -qx /usr/bin/hallmark verify-files.txt && missing="$missing (and not /usr/bin/hallmark)"
[ -z "$missing" ] && ok "hallmark-verify: the verifier, its man page, the timer and service, the policy" ||
	fail "hallmark-verify lacks:$missing"
missing=
for f in /usr/bin/hallmark /usr/share/man/man1/hallmark.1.gz \
	/usr/share/bash-completion/completions/hallmark \
	/usr/share/hallmark/templates/debian-12-minimal.yaml \
	/usr/share/hallmark/templates/debian-12-hardened.yaml \
	/usr/share/hallmark/templates/policies/phoenix.yaml; do
	grep -qx "$f" full-files.txt || missing="$missing $f"
done
[ -z "$missing" ] && ok "hallmark: the program, its man page, the templates" || fail "hallmark lacks:$missing"
# Every unit of contrib/ in one package: hallmark-verify's with it, any
# other (a unit of a command only hallmark has) with hallmark.
bad=
for u in "$HM_TOP"/contrib/*.service "$HM_TOP"/contrib/*.timer; do
	u=/lib/systemd/system/${u##*/}
	case ${u##*/} in hallmark-verify.*) in=verify-files.txt out=full-files.txt ;;
	*) in=full-files.txt out=verify-files.txt ;; esac
	grep -qx "$u" $in && ! grep -qx "$u" $out || bad="$bad ${u##*/}"
done
[ -z "$bad" ] && ok "each unit of contrib/ is in the package of the program it runs" ||
	fail "units in the wrong package:$bad"
dpkg-deb -e "$V" ctl
grep -qx /etc/hallmark/phoenix.yaml ctl/conffiles && ok "the policy is a conffile" || fail "the policy is a conffile"
# The timer checks against a manifest the admin installs first: the
# package must not enable or start anything by itself.
# (dh_installsystemd --no-enable --no-start: nothing is started, and the
# timer is enabled again only where the admin had enabled it before.)
if [ -f ctl/postinst ] && grep -q deb-systemd-invoke ctl/postinst; then
	fail "nothing is started at install"
else
	ok "nothing is started at install"
fi
if [ -f ctl/postinst ] && grep -q 'deb-systemd-helper enable' ctl/postinst &&
	! grep -q "deb-systemd-helper debian-installed 'hallmark-verify.timer'" ctl/postinst; then
	fail "the timer is not enabled at install"
else
	ok "the timer is not enabled at install"
fi
dpkg-deb -x "$V" xv && dpkg-deb -x "$F" xf
if command -v man >/dev/null 2>&1; then
	for p in xv/usr/share/man/man1/hallmark-verify.1.gz xf/usr/share/man/man1/hallmark.1.gz; do
		LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$p" > page.txt 2> man-err.txt
		[ -s page.txt ] && [ ! -s man-err.txt ] && ok "man -l ${p##*/}" ||
			{ fail "man -l ${p##*/}"; sed 's/^/#   /' man-err.txt | head -n 3; }
	done
else
	skip "man(1) is not installed"
fi
"$PWD/xv/usr/bin/hallmark-verify" --help >/dev/null 2>&1 &&
	ok "the packaged hallmark-verify runs" || fail "the packaged hallmark-verify runs"

# ---- dependencies --------------------------------------------------------------
deps() {  # deps DEB: the package names of its Depends, one a line
	dpkg-deb -f "$1" Depends | tr ',|' '\n\n' | sed 's/^ *//; s/[ (].*//; /^$/d' | LC_ALL=C sort -u
}
deps "$V" > verify-deps.txt
deps "$F" > full-deps.txt
sed 's/^/#   hallmark-verify Depends: /' verify-deps.txt
if grep -Eq 'guestfs|qemu|supermin' verify-deps.txt; then
	fail "hallmark-verify's Depends name no libguestfs, qemu or supermin"
else
	ok "hallmark-verify's Depends name no libguestfs, qemu or supermin"
fi
# The other side, so the check above can fail: hallmark does pull them.
grep -qx libguestfs0 full-deps.txt && grep -qx hallmark-verify full-deps.txt &&
	ok "hallmark depends on hallmark-verify and libguestfs0" ||
	fail "hallmark depends on hallmark-verify and libguestfs0 ($(tr '\n' ' ' < full-deps.txt))"
# And through the libraries they depend on, as apt would resolve them.
if command -v apt-cache >/dev/null 2>&1 && apt-cache show $(cat verify-deps.txt) >/dev/null 2>&1; then
	apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances $(cat verify-deps.txt) 2>/dev/null |
		sed -n 's/^ *\(Pre\)\{0,1\}Depends: //p; /^[^ ]/p' | tr -d '<>' | LC_ALL=C sort -u > closure.txt
	if grep -Eq 'guestfs|qemu|supermin' closure.txt; then
		fail "nothing hallmark-verify depends on pulls libguestfs or qemu"
		grep -E 'guestfs|qemu|supermin' closure.txt | sed 's/^/#   /'
	else
		ok "nothing hallmark-verify depends on pulls libguestfs or qemu ($(wc -l < closure.txt) packages)"
	fi
else
	skip "apt-cache does not know hallmark-verify's dependencies: no transitive check"
fi

# ---- lintian -----------------------------------------------------------------
changes=one/hallmark_${version}_$arch.changes
lintian "$changes" > lintian.txt 2>&1
grep -v 'running with root privileges' lintian.txt | sed 's/^/#   /'
if grep -q '^E:' lintian.txt; then fail "lintian: no errors"; else ok "lintian: no errors"; fi

# ---- reproducible ---------------------------------------------------------------
# Another folder name and another umask: the packages must not record either.
copy two/other-name
(umask 077 && build two/other-name) && ok "a second build" ||
	{ fail "a second build"; sed 's/^/#   /' two/other-name.log | tail -n 20; }
n=0
for deb in one/*.deb; do
	n=$((n + 1))
	if cmp -s "$deb" "two/${deb#one/}"; then ok "${deb#one/} is byte-identical across builds"
	else fail "${deb#one/} is byte-identical across builds"
		command -v diffoscope >/dev/null 2>&1 && diffoscope "$deb" "two/${deb#one/}" | head -n 20 | sed 's/^/#   /'
	fi
done
[ $n -ge 2 ] && ok "$n packages compared" || fail "$n packages compared"
echo "# $(($(date +%s) - start)) s for two package builds, lintian and the checks"

done_testing
