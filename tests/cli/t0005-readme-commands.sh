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
rm -f rec/sudo.args
as_nobody sh -c "cd '$T_DIR' && '$HM_TOP/.ci/install-deps'" > out.txt 2>&1
if [ -f rec/sudo.args ] && grep -q "install-deps" rec/sudo.args; then
	ok "install-deps runs itself again through sudo when not root"
else fail "install-deps runs itself again through sudo when not root"; fi
rm -f rec/sudo.args
as_nobody sh -c "cd '$T_DIR' && '$HM_TOP/tests/demo.sh' '$T_DIR/demo'" > out.txt 2>&1
if [ -f rec/sudo.args ] && grep -q "demo.sh" rec/sudo.args; then
	ok "the demo runs itself again through sudo when not root"
else fail "the demo runs itself again through sudo when not root"; fi
rm fakebin/sudo
setpriv --reuid=nobody --regid=nogroup --clear-groups \
	env PATH="$T_DIR/fakebin:/usr/bin:/bin" "$HM_TOP/.ci/install-deps" > out.txt 2>&1
rc=$?
if [ "$rc" -eq 2 ] && grep -q "run it as root" out.txt; then
	ok "without sudo, a user who is not root is told to run it as root"
else fail "without sudo, a user who is not root is told to run it as root (exit $rc)"; fi
done_testing
