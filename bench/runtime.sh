#!/bin/sh
# Runtime check of 500 processes sharing 50 executables (copies of a small
# binary under a temporary root, started in a PID namespace): `hallmark
# verify runtime:PID` against a shell + sha256sum loop over /proc/*/exe
# doing the same per-process checks (in the namespace, executable in the
# manifest, content matches, listed in processes, uid has an account).
# osquery is not in Debian.  Needs root (unshare, chroot).
#
#   sh bench/runtime.sh            (HM_BIN=bin/ by default)
#
# Prints both medians and the ratio (GNU time, /usr/bin/time).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
HM_BIN=${HM_BIN:-$TOP/bin/}
case $HM_BIN in /*) ;; *) HM_BIN=$TOP/$HM_BIN ;; esac
HALLMARK=${HM_BIN%/}/hallmark
NPROC=${NPROC:-500}
NEXE=${NEXE:-50}
W=$(mktemp -d /tmp/hm-bench-runtime-XXXXXX)
US=
cleanup() {
	if [ -n "$US" ]; then
		init=$(cat /proc/$US/task/$US/children 2>/dev/null | tr -d ' ')
		[ -n "$init" ] && kill -9 "$init" 2>/dev/null
		kill -9 "$US" 2>/dev/null
		wait 2>/dev/null || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP
cd "$W"

# The root: dash, NEXE copies of sleep (each one byte longer, so each is
# a distinct file with its own digest), their libraries.
mkdir -p base/etc base/usr/bin base/tmp
cp /usr/bin/dash base/usr/bin/dash
i=0
while [ $i -lt "$NEXE" ]; do
	cp /usr/bin/sleep "base/usr/bin/s$i"
	printf '%d' "$i" >> "base/usr/bin/s$i"
	i=$((i + 1))
done
for b in /usr/bin/dash /usr/bin/sleep; do
	ldd "$b" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p' |
	while read -r l; do mkdir -p "base$(dirname "$l")"; cp -L "$l" "base$l"; done
done
printf 'root:x:0:0:root:/root:/usr/bin/dash\n' > base/etc/passwd
mkdir tpl && tar --numeric-owner -C base -cf tpl/base.tar .
cat > tpl/bench.yaml <<'T'
hallmark: 1
name: bench-runtime
serial: 1
base:
  tarball:
    path: base.tar
runtime:
  processes: [/usr/bin/dash, /usr/bin/s*]
T
"$HALLMARK" keygen -o k --no-passphrase >/dev/null 2>&1
HALLMARK_CACHE=$W/cache "$HALLMARK" build tpl/bench.yaml -o out --key k.key >/dev/null 2>&1
M=$W/out/bench-runtime.manifest
mkdir root && tar -C root -xf out/bench-runtime.rootfs.tar
# dash sends the stdin of a background job to /dev/null.
mkdir -p root/dev && mknod root/dev/null c 1 3

unshare --pid --net --fork --mount-proc chroot root /usr/bin/dash -c "
	i=0
	while [ \$i -lt $NPROC ]; do /usr/bin/s\$((i % $NEXE)) 600 & i=\$((i + 1)); done
	wait" &
US=$!
INIT=
while [ -z "$INIT" ]; do
	sleep 0.1
	INIT=$(cat /proc/$US/task/$US/children 2>/dev/null | tr -d ' ')
done
n=0
while [ "$n" -lt "$NPROC" ]; do
	sleep 0.2
	n=$(cat /proc/$INIT/task/$INIT/children | wc -w)
done

# The shell loop: the same checks, one process at a time.
cat > loop.sh <<'S'
#!/bin/sh
# loop.sh INIT MANIFEST: exit 1 on any finding
init=$1 m=$2 bad=0
ns=$(readlink /proc/$init/ns/pid)
root=$(readlink /proc/$init/root)
users=$(cut -d: -f3 "/proc/$init/root/etc/passwd")
for d in /proc/[0-9]*; do
	[ "$(readlink $d/ns/pid 2>/dev/null)" = "$ns" ] || continue
	exe=$(readlink $d/exe 2>/dev/null) || continue
	exe=${exe#"$root"}
	want=$(grep -m1 "^$exe type=file " "$m" | sed -n 's/.* sha256=\([0-9a-f]*\).*/\1/p')
	got=$(sha256sum < $d/exe | cut -d' ' -f1)
	[ -n "$want" ] && [ "$want" = "$got" ] || { echo "content $exe"; bad=1; }
	case $exe in /usr/bin/dash|/usr/bin/s*) ;; *) echo "unlisted $exe"; bad=1 ;; esac
	uid=$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' $d/status)
	echo "$users" | grep -qx "$uid" || { echo "user $uid"; bad=1; }
done
exit $bad
S

V="$HALLMARK verify runtime:$INIT --manifest $M --pubkey $W/k.pub"
$V >/dev/null || { echo "hallmark found drift in the clean namespace" >&2; $V | head >&2; exit 2; }
sh loop.sh "$INIT" "$M" >/dev/null || { echo "the loop found drift" >&2; exit 2; }
echo "processes in the namespace: $(($n + 1)), distinct executables: $((NEXE + 1))"
# Five interleaved rounds (hallmark, then the loop), medians, and the
# ratio taken round by round, so a machine whose speed drifts still
# compares like with like.
. "$TOP/bench/lib.sh"
: > "$W/times"
for _ in 1 2 3 4 5; do
	/usr/bin/time -f '%e' -o "$W/a" $V >/dev/null
	/usr/bin/time -f '%e' -o "$W/b" sh loop.sh "$INIT" "$M" >/dev/null
	echo "$(cat "$W/a") $(cat "$W/b")" >> "$W/times"
done
printf 'hallmark verify runtime: %s s, shell loop: %s s (medians of 5); loop / hallmark: %s\n' \
	"$(awk '{print $1}' "$W/times" | median)" "$(awk '{print $2}' "$W/times" | median)" \
	"$(awk '$1 > 0 {print $2 / $1}' "$W/times" | median)"
