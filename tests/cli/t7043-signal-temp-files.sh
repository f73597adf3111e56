#!/bin/sh
# SIGINT, SIGTERM or SIGHUP in the middle of `manifest -o F` leaves no
# temporary file and no F (issue 11, item 16): the temporary file is in
# a registry that a signal handler empties before the process dies of
# the signal (exit status 128+N as before).
. "$(dirname "$0")/lib.sh"

# A tree that takes a while to hash: sparse files read as zeros.
mkdir -p tree/a
for i in 1 2 3; do truncate -s 2G tree/a/big$i; done
printf 'x\n' > tree/small

cat > sig.py <<'P'
import os, signal, subprocess, sys, time
sig, out = getattr(signal, sys.argv[1]), sys.argv[2]
d = os.path.dirname(out) or "."
# Start with the signal's default action (a shell's background job would
# ignore SIGINT).
p = subprocess.Popen(sys.argv[3:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     preexec_fn=lambda: [signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)])
base = "." + os.path.basename(out) + ".tmp-"
deadline = time.time() + 30
seen = False
while time.time() < deadline and p.poll() is None:
    if any(n.startswith(base) for n in os.listdir(d)):
        seen = True
        time.sleep(0.2)          # well inside the scan
        break
    time.sleep(0.002)
p.send_signal(sig)
rc = p.wait()
print("seen" if seen else "not-seen", rc, -int(sig))
P

for s in SIGINT SIGTERM SIGHUP; do
	mkdir -p o-$s
	set -- $(python3 sig.py $s o-$s/tree.manifest "$HALLMARK" manifest dir:tree -o o-$s/tree.manifest)
	[ "$1" = seen ] && ok "$s: sent while the temporary file existed" || fail "$s: the temporary file was never seen"

	[ "$2" -eq "$3" ] && ok "$s: the process died of $s" || fail "$s: exit $2 (wanted the signal)"
	[ -z "$(ls -A o-$s)" ] && ok "$s: no temporary file and no output left" || { fail "$s: left $(ls -A o-$s | tr '\n' ' ')"; }
done
expect_exit 0 "undisturbed, the manifest is written" "$HALLMARK" manifest dir:tree -o o-SIGINT/tree.manifest
[ "$(ls -A o-SIGINT)" = tree.manifest ] && ok "and only it" || fail "and only it"
done_testing
