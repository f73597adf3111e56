#!/bin/sh
# The README's two commands work as written for root (often without sudo)
# and for a sudo user: they name no sudo themselves, and the scripts that
# need root (.ci/install-deps, the demo) elevate themselves through sudo
# only when they are not root.
. "$(dirname "$0")/lib.sh"

awk '/^```/ { n++; next } n == 1' "$HM_TOP/README.md" > cmds.txt
[ "$(sed -n '/^```sh$/=' "$HM_TOP/README.md" | head -n 1)" = 3 ] &&
	[ "$(wc -l < cmds.txt)" -eq 2 ] &&
	ok "the README starts with exactly two commands" ||
	fail "the README starts with exactly two commands"
if grep -qw sudo cmds.txt; then
	fail "the README's commands do not call sudo (root may not have it)"
	sed 's/^/#   /' cmds.txt
else
	ok "the README's commands do not call sudo (root may not have it)"
fi
grep -q '^\.ci/install-deps && make -j2 && make demo$' cmds.txt &&
	ok "the first builds and runs the demo" || fail "the first builds and runs the demo"
grep -q '^\.ci/install-deps && make -j2 WERROR=1 check && make -j2 WERROR=1 asan$' cmds.txt &&
	ok "the second runs the suite" || fail "the second runs the suite"

# The "Using it" commands as a new user meets them: hallmark on PATH (or
# bin/), a mkdir before the key's folder, keys outside the repository
# (and keys/ ignored by git for who puts them there anyway), honest times,
# the qemu line saying how to log in and how to quit.
awk '/^## Using it/ { u = 1 } u && /^```/ { n++; next } u && n == 1' "$HM_TOP/README.md" |
	sed -e ':a' -e '/\\$/N; s/\\\n *//; ta' > using.txt
grep -q '^export PATH="\$PWD/bin:\$PATH"' using.txt &&
	ok "'hallmark' is put on PATH before it is used" || fail "'hallmark' is put on PATH before it is used"
kg=$(grep -n 'hallmark keygen' using.txt | head -n 1 | cut -d: -f1)
mk=$(grep -n '^mkdir -p ~/.hallmark' using.txt | head -n 1 | cut -d: -f1)
[ -n "$kg" ] && [ -n "$mk" ] && [ "$mk" -lt "$kg" ] &&
	ok "the keys' folder is made before keygen writes into it" || fail "the keys' folder is made before keygen writes into it"
if grep -E -- '(-o|--key|--pubkey) +keys/' using.txt; then
	fail "no key inside the repository"
else ok "no key inside the repository"; fi
(cd "$HM_TOP" && git check-ignore -q keys/ops.key) 2>/dev/null &&
	ok "keys/ is ignored by git" || fail "keys/ is ignored by git"
grep -q 'Ctrl-A X quits' using.txt && grep -q 'log in as root' using.txt &&
	ok "the qemu line says how to log in and how to quit" ||
	fail "the qemu line says how to log in and how to quit"
grep -q '10 minutes or more' "$HM_TOP/README.md" &&
	ok "the README gives the first bootstrap's real time" || fail "the README gives the first bootstrap's real time"
grep -q 'sudo env PATH="\$PATH"' "$HM_TOP/README.md" &&
	ok "the README says how a sudo user runs build" || fail "the README says how a sudo user runs build"
if grep -q -- '--cache' "$HM_TOP/tests/demo.sh"; then
	fail "the demo uses the default cache, which later builds share"
else ok "the demo uses the default cache, which later builds share"; fi

# Run the ones that need no image: keygen, then manifest, sign and verify
# of a tree standing in for /srv/root, word for word but for that path.
mkdir -p home srv-root/etc && echo hello > srv-root/etc/motd
ln -s "$HM_TOP/templates" templates
grep -E '^(export PATH|mkdir -p ~/.hallmark|hallmark (keygen|manifest dir:/srv/root|sign web-base|verify dir:/srv/root))' using.txt |
	sed "s|/srv/root|$T_DIR/srv-root|g; s|\$PWD/bin|${HM_BIN%/}|" > run.sh
[ "$(wc -l < run.sh)" -eq 6 ] && ok "six runnable commands found" || { fail "six runnable commands found"; sed 's/^/#   /' run.sh; }
HOME=$T_DIR/home sh -e run.sh > out.txt 2>&1 && ok "they run as written" ||
	{ fail "they run as written"; sed 's/^/#   /' out.txt | tail -n 10; }
[ "$(stat -c %a home/.hallmark/ops.key 2>/dev/null)" = 600 ] && [ -f report.json ] &&
	ok "the key is 0600 outside the repository, the report is written" ||
	fail "the key is 0600 outside the repository, the report is written"

# As another user, each script runs itself again through sudo (a stand-in
# sudo records how it was called and stops there).
if ! id nobody >/dev/null 2>&1 || ! command -v setpriv >/dev/null 2>&1 ||
   [ "$(id -u)" -ne 0 ]; then
	skip "elevation through sudo (needs root, setpriv and user nobody)"
	skip "the demo elevates itself"
	skip "without sudo, a clear refusal"
	done_testing
	exit
fi
mkdir -p fakebin rec
chmod 777 rec
cat > fakebin/sudo <<SH
#!/bin/sh
echo "\$@" > $T_DIR/rec/sudo.args
exit 0
SH
chmod 755 fakebin/sudo
chmod 755 "$T_DIR"
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env PATH="$T_DIR/fakebin:/usr/bin:/bin" "$@"
}
# A clone in a folder only root may enter (mktemp -d makes them 0700)
# is out of nobody's reach: the two scripts then run from copies here,
# where their own first lines, the ones under test, read the same.
src=$HM_TOP
if ! as_nobody test -r "$HM_TOP/.ci/install-deps"; then
	src=$T_DIR/top
	mkdir -p "$src/.ci" "$src/tests"
	cp "$HM_TOP/.ci/install-deps" "$src/.ci/"
	cp "$HM_TOP/tests/demo.sh" "$src/tests/"
	chmod -R a+rX "$src"
fi
rm -f rec/sudo.args
as_nobody sh -c "cd '$T_DIR' && '$src/.ci/install-deps'" > out.txt 2>&1
if [ -f rec/sudo.args ] && grep -q "install-deps" rec/sudo.args; then
	ok "install-deps runs itself again through sudo when not root"
else fail "install-deps runs itself again through sudo when not root"; fi
rm -f rec/sudo.args
as_nobody sh -c "cd '$T_DIR' && '$src/tests/demo.sh' '$T_DIR/demo'" > out.txt 2>&1
if [ -f rec/sudo.args ] && grep -q "demo.sh" rec/sudo.args; then
	ok "the demo runs itself again through sudo when not root"
else fail "the demo runs itself again through sudo when not root"; fi
rm fakebin/sudo
as_nobody "$src/.ci/install-deps" > out.txt 2>&1
rc=$?
if [ "$rc" -eq 2 ] && grep -q "run it as root" out.txt; then
	ok "without sudo, a user who is not root is told to run it as root"
else fail "without sudo, a user who is not root is told to run it as root (exit $rc)"; fi
done_testing
