#!/bin/sh
# disk: against hostile and broken images, named after the attacks: a raw
# disk whose first sector is a qcow2 header naming a host file (must stay
# raw bytes: the host file is never opened), qcow2 backing files and
# external data files (refused before anything starts), truncated qcow2,
# things that are not disks, no filesystem, several filesystems and no
# OS, a damaged inode table, a corrupt root inode, and an appliance that
# cannot start.  Every one is an exit 2 with a message, never a crash.
. "$(dirname "$0")/lib.sh"

export LIBGUESTFS_BACKEND=direct
PATH=$PATH:/sbin:/usr/sbin
for tool in mkfs.ext4 sfdisk qemu-img debugfs; do
	if ! command -v $tool >/dev/null; then
		skip "hostile disks: $tool is missing (e2fsprogs, fdisk, qemu-utils)"
		done_testing; exit
	fi
done
# libguestfs's temporary files go here, to check that none are left (its
# appliance cache stays where it was: rebuilding it costs a minute).
export LIBGUESTFS_CACHEDIR=${LIBGUESTFS_CACHEDIR:-${TMPDIR:-/var/tmp}}
mkdir tmp
export TMPDIR=$T_DIR/tmp
"$HALLMARK" keygen -o ops --no-passphrase >/dev/null 2>&1
mkdir -p empty
"$HALLMARK" manifest dir:empty -o e.manifest 2>/dev/null
"$HALLMARK" sign e.manifest --key ops.key >/dev/null 2>&1
V="--manifest e.manifest --pubkey ops.pub"
printf 'root:$y$j9T$secret:19000:0:99999:7:::\n' > hostfile
HOST=$T_DIR/hostfile

# no_signal DESCRIPTION: the last command ended by exit, not by a signal.
no_signal() {
	if [ "$got" -lt 128 ]; then ok "$1"; else fail "$1 (exit $got: a signal)"; fi
}
# never_opened DESCRIPTION TRACE: the host file appears in no file syscall.
never_opened() {
	if [ -s "$2" ] && ! grep -q "$HOST" "$2"; then ok "$1"; else
		fail "$1"; grep "$HOST" "$2" | sed 's/^/#   /' | head -n 5
	fi
}
have_strace=0
command -v strace >/dev/null && strace -f --seccomp-bpf -e trace=%file -o /dev/null true 2>/dev/null &&
	have_strace=1
traced() {  # traced TRACEFILE CMD...: run CMD under strace if there is one
	t=$1; shift
	if [ $have_strace -eq 1 ]; then
		# LeakSanitizer cannot run under ptrace (make asan runs this too).
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
			strace -f --seccomp-bpf -e trace=%file -o "$t" "$@"
	else
		"$@"
	fi
}

# --- Refused before the appliance starts: these runs set an hypervisor
# that cannot start, so reaching a launch would give another message.
qemu-img create -q -f qcow2 -b "$HOST" -F raw backing.qcow2 64M
expect_exit 2 "backing-file attack: a qcow2 naming a host file as backing is refused" \
	traced bk.trace env LIBGUESTFS_HV=/bin/false "$HALLMARK" verify disk:backing.qcow2 $V
expect_grep "'backing.qcow2' has a backing file '$HOST': refused" err.txt \
	"the message names the image and the backing path"
if [ $have_strace -eq 1 ]; then
	never_opened "and the host file is never opened" bk.trace
	grep -q 'execve("[^"]*qemu' bk.trace && fail "and neither qemu-img nor qemu ran" ||
		ok "and neither qemu-img nor qemu ran"
else
	skip "host file never opened (strace missing)"
fi
qemu-img create -q -f qcow2 -F raw -b "$HOST" backing2.img 64M
expect_exit 2 "backing-file attack with format=qcow2 on a neutral name" \
	env LIBGUESTFS_HV=/bin/false "$HALLMARK" manifest disk:backing2.img,format=qcow2 -o m.out
expect_grep "has a backing file '$HOST'" err.txt "is refused the same way"
[ ! -e m.out ] && ok "and no manifest is written" || fail "and no manifest is written"
if qemu-img create -q -f qcow2 -o data_file="$HOST" datafile.qcow2 64M 2>/dev/null; then
	expect_exit 2 "data-file attack: a qcow2 with an external data file is refused" \
		env LIBGUESTFS_HV=/bin/false "$HALLMARK" verify disk:datafile.qcow2 $V
	expect_grep "has an external data file '$HOST': refused" err.txt "naming it"
else
	skip "external data file (qemu-img cannot make one)"
fi
qemu-img create -q -f qcow2 good.qcow2 64M
head -c 100000 good.qcow2 > truncated.qcow2
expect_exit 2 "truncated qcow2 is refused" \
	env LIBGUESTFS_HV=/bin/false "$HALLMARK" verify disk:truncated.qcow2 $V
expect_grep "'truncated.qcow2' is truncated" err.txt "as truncated"
# A header whose virtual size does not fit its L1 table: qemu-img refuses
# it while making the overlay, still before any appliance.
python3 -c "
import shutil, struct
shutil.copy('good.qcow2', 'lying.qcow2')
f = open('lying.qcow2', 'r+b'); f.seek(24); f.write(struct.pack('>Q', 1 << 50))"
expect_exit 2 "a qcow2 header lying about the disk size is refused" \
	env LIBGUESTFS_HV=/bin/false "$HALLMARK" verify disk:lying.qcow2 $V
expect_grep "cannot open 'lying.qcow2' as a qcow2 image: .*'qemu-img info -f qcow2' on it says why" \
	err.txt "said so"
printf 'just some text\n' > notes.txt
expect_exit 2 "a text file is not a disk" \
	env LIBGUESTFS_HV=/bin/false "$HALLMARK" verify disk:notes.txt $V
expect_grep "'notes.txt' is not a raw disk image" err.txt "said so"
head -c 65536 /dev/urandom > random.qcow2
expect_exit 2 "random bytes named .qcow2 are not a qcow2 image" \
	env LIBGUESTFS_HV=/bin/false "$HALLMARK" verify disk:random.qcow2 $V
expect_grep "'random.qcow2' is not a qcow2 image" err.txt "said so"
: > empty.raw
expect_exit 2 "an empty file is not a disk" \
	env LIBGUESTFS_HV=/bin/false "$HALLMARK" verify disk:empty.raw $V
ln -s good.qcow2 link.qcow2
expect_exit 2 "symlink swap: a symlink is refused, not followed" \
	env LIBGUESTFS_HV=/bin/false "$HALLMARK" verify disk:link.qcow2 $V
expect_grep "'link.qcow2' is a symlink" err.txt "said so"
mkfifo fifo.raw
expect_exit 2 "a FIFO is refused without blocking" \
	timeout 20 env LIBGUESTFS_HV=/bin/false "$HALLMARK" verify disk:fifo.raw $V
expect_grep "'fifo.raw' is not a disk image" err.txt "said so"
expect_exit 2 "an unknown disk option is a usage error" \
	"$HALLMARK" verify disk:good.qcow2,format=vmdk $V
expect_grep "unknown option 'format=vmdk'" err.txt "naming it"
expect_exit 2 "an empty file name is a usage error" "$HALLMARK" verify disk:,format=raw $V

if [ "${HM_SLOW:-1}" = 0 ]; then
	skip "hostile disks through the libguestfs appliance: slow tier (HM_SLOW=0)"
	done_testing; exit
fi

appliance_or_skip() {
	if grep -q 'cannot start the libguestfs appliance' err.txt; then
		sed 's/^/# /' err.txt
		skip "hostile disks: the libguestfs appliance cannot start here (see above; try libguestfs-test-tool)"
		done_testing; exit
	fi
}

# --- Format-probe attack: a raw disk whose first sector is a qcow2 header
# naming the host file as its backing file, then random bytes.  Read as
# raw it has no filesystem; were it probed, qemu would open the host file
# and show its bytes as the guest's disk.
python3 - "$HOST" <<'PY'
import os, subprocess, sys
subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", sys.argv[1],
                "-F", "raw", "hdr.qcow2", "64M"], check=True)
hdr = open("hdr.qcow2", "rb").read()
open("probe.raw", "wb").write(hdr + os.urandom((4 << 20) - len(hdr)))
PY
if [ $have_strace -eq 1 ]; then
	# The trace can fail: a probing reader opens the host file.
	strace -f --seccomp-bpf -e trace=%file -o control.trace \
		qemu-img info --backing-chain probe.raw >/dev/null 2>&1
	if grep -q "$HOST" control.trace; then
		ok "(control: probing the format of probe.raw opens the host file)"
	else
		fail "(control: probing the format of probe.raw opens the host file)"
	fi
fi
expect_exit 2 "format-probe attack: a raw disk with a qcow2 header stays raw bytes" \
	traced probe.trace "$HALLMARK" verify disk:probe.raw $V
appliance_or_skip
expect_grep "no filesystem found on 'probe.raw'" err.txt "and has no filesystem"
if [ $have_strace -eq 1 ]; then
	grep -q 'execve("[^"]*qemu-system' probe.trace &&
		ok "(the appliance did run under the trace)" ||
		fail "(the appliance did run under the trace)"
	never_opened "and neither hallmark, qemu-img nor qemu opened the host file" probe.trace
else
	skip "host file never opened (strace missing)"
fi

# --- Ambiguity: two filesystems, no operating system.
mkdir -p fa fb && printf 'a\n' > fa/a && printf 'b\n' > fb/b
mkfs.ext4 -q -F -L fa -d fa a.img 4M >/dev/null
mkfs.ext4 -q -F -L fb -d fb b.img 4M >/dev/null
truncate -s 10M two.raw
printf 'label: dos\nstart=2048, size=8192, type=83\nstart=10240, size=8192, type=83\n' |
	sfdisk -q two.raw >/dev/null
dd if=a.img of=two.raw bs=512 seek=2048 conv=notrunc status=none
dd if=b.img of=two.raw bs=512 seek=10240 conv=notrunc status=none
expect_exit 2 "ambiguous-root attack: several filesystems and no OS are refused" \
	"$HALLMARK" verify disk:two.raw $V
expect_grep "several filesystems and no operating system on 'two.raw': /dev/sda1 \(ext4\), /dev/sda2 \(ext4\)" \
	err.txt "naming them"

# --- Corrupt filesystems: the inode of one file overwritten (its checksum
# fails), and the root inode overwritten (the filesystem does not mount).
mkdir -p tree/data && for i in 1 2 3 4 5; do printf '%s\n' $i > tree/data/f$i; done
mkfs.ext4 -q -F -d tree inode.raw 16M >/dev/null
cp inode.raw root.raw
smash() {  # smash IMAGE INODE-SPEC: overwrite that inode's bytes on disk
	bs=$(debugfs -R stats "$1" 2>/dev/null | sed -n 's/^Block size: *//p')
	debugfs -R "imap $2" "$1" 2>/dev/null |
		sed -n 's/.*located at block \([0-9]*\), offset \(0x[0-9a-f]*\).*/\1 \2/p' |
		python3 -c "
import sys
blk, off = sys.stdin.read().split()
f = open('$1', 'r+b'); f.seek(int(blk) * $bs + int(off, 16)); f.write(b'\xa5' * 128)"
}
smash inode.raw /data/f3
smash root.raw '<2>'
expect_exit 2 "damaged inode table: an input error, not a crash" \
	"$HALLMARK" verify disk:inode.raw $V
no_signal "(no signal)"
expect_grep "cannot read the files of 'inode.raw'" err.txt "naming the disk"
grep -q 'Bad message\|f3' err.txt && ok "and quoting tar's own complaint" ||
	fail "and quoting tar's own complaint"
expect_exit 2 "corrupt root inode: the filesystem does not mount" \
	"$HALLMARK" verify disk:root.raw $V
no_signal "(no signal)"
expect_grep "cannot mount the filesystem of 'root.raw' \(/dev/sda\)" err.txt "said so"

# --- An appliance that cannot start: a clear message saying what it needs.
expect_exit 2 "an appliance that cannot start is an error" \
	env LIBGUESTFS_HV=/bin/false "$HALLMARK" verify disk:inode.raw $V
expect_grep "cannot start the libguestfs appliance: .*linux-image-amd64, supermin and qemu-system-x86; 'libguestfs-test-tool'" \
	err.txt "saying what it needs"

if [ -z "$(ls -A tmp)" ]; then ok "no temporary file is left behind"; else
	fail "no temporary file is left behind"; ls -la tmp | sed 's/^/#   /'
fi
done_testing
