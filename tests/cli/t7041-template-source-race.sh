#!/bin/sh
# A template's `source:` swapped for a symlink to a host file between the
# loader's check and the build's read must never put the host file into
# the image (issue 11, item 13): the file is opened beneath the
# template's folder with no symlink followed, and only that descriptor
# is read.
. "$(dirname "$0")/lib.sh"

mkdir -p base/etc
printf 'root:x:0:0:root:/root:/bin/sh\n' > base/etc/passwd
printf 'root:x:0:\n' > base/etc/group
tar --numeric-owner -C base -cf tpl-base.tar .
mkdir -p tpl/files && mv tpl-base.tar tpl/base.tar
printf 'HOST-SENTINEL-7041\n' > sentinel
printf 'template file\n' > tpl/files/real
cat > tpl/app.yaml <<'T'
hallmark: 1
name: t7041
serial: 1
base:
  tarball:
    path: base.tar
files:
  - {path: /etc/motd, source: files/motd}
outputs: [tar]
T
export HALLMARK_CACHE="$T_DIR/cache"

# Swap files/motd between a regular file and a symlink to the sentinel,
# as fast as rename(2) goes (no LD_PRELOAD, no timing guess).
cat > swap.py <<'P'
import os, sys
d = sys.argv[1]
stop = sys.argv[3]
while not os.path.exists(stop):
    try:
        os.symlink(sys.argv[2], d + "/.e")
    except FileExistsError:
        pass
    os.rename(d + "/.e", d + "/motd")
    try:
        os.link(d + "/real", d + "/.g")
    except FileExistsError:
        pass
    os.rename(d + "/.g", d + "/motd")
P
cp tpl/files/real tpl/files/motd
python3 swap.py "$T_DIR/tpl/files" "$T_DIR/sentinel" "$T_DIR/stop" &
swapper=$!

n=0 leaked=0 built=0 refused=0
while [ $n -lt 80 ]; do
	n=$((n + 1))
	rm -rf out
	if "$HALLMARK" build tpl/app.yaml -o out --source-date-epoch 1700000000 >/dev/null 2>"err$n.txt"; then
		built=$((built + 1))
		if grep -q HOST-SENTINEL out/t7041.rootfs.tar; then
			leaked=$((leaked + 1))
		fi
	else
		refused=$((refused + 1))
	fi
done
touch stop
wait $swapper
echo "# $n builds under the swap: $built built, $refused refused, $leaked with the host file"
[ $leaked -eq 0 ] && ok "no build put the host file into the image ($leaked of $n)" || fail "no build put the host file into the image ($leaked of $n)"
[ $built -gt 0 ] && ok "some builds still succeeded ($built of $n)" || fail "some builds still succeeded"
grep -h "hallmark:" err*.txt | sed 's/err[0-9]*//' | sort | uniq -c | sed 's/^/# /' | head -5

# Without the race: a symlink swapped in after loading is refused by
# name; the error names the source.
rm -f tpl/files/motd && ln -s "$T_DIR/sentinel" tpl/files/motd
expect_exit 2 "a source that is a symlink out of the folder is refused" \
	"$HALLMARK" build tpl/app.yaml -o out2 --source-date-epoch 1700000000
expect_grep "files/motd" err.txt "naming the source"
done_testing
