#!/bin/sh
# Tar members with huge pax records (pax extended headers carry sizes,
# names, link targets, owners and xattrs as decimal strings of any
# length): a size of a petabyte with no data behind it, sizes that
# overflow or are negative, names and link targets longer than any path,
# names thousands of components deep, owners past 32 bits, xattr values
# of 100 kB, a pax header of 5 MB.  Each is a named limit or an input
# error (exit 2) from the header alone, for every command; nothing is
# allocated to the claimed size and nothing is written.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

# A size of 1 PiB with no data: the whole matrix.
mktar size.tar './:d' 'opt/:d' 'opt/pwned:P:size=1125899906842624'
tar_refused "a pax size of 1 PiB" \
	"tar member '/opt/pwned' is larger than 1099511627776 bytes \(HM_LIMIT_TAR_MEMBER_BYTES\)" size.tar
mktar size-layer.tar 'opt/:d' 'opt/pwned:P:size=1125899906842624'
layer_refused "a layer's pax size of 1 PiB" \
	"member 'opt/pwned': size 1125899906842624 exceeds the limit of 68719476736 bytes \(HM_LIMIT_OCI_FILE_BYTES\)" size-layer.tar
[ "$(wc -c < size.tar)" -lt 20000 ] && ok "the stream is $(wc -c < size.tar) bytes" || fail "the stream is small"

# A name of 70,000 bytes: the whole matrix.
long=$(python3 -c "print('n' * 70000)")
mktar name.tar './:d' 'opt/:d' "opt/$long:f:x"
tar_refused "a pax name of 70,000 bytes" \
	"tar member 'opt/n{60}\.\.\.' is longer than 65536 bytes \(HM_LIMIT_PATH_BYTES\)" name.tar
mktar name-layer.tar 'opt/:d' "opt/$long:f:x"
layer_refused "a layer's pax name of 70,000 bytes" \
	"a member name exceeds 65536 bytes \(HM_LIMIT_PATH_BYTES\)" name-layer.tar

# Other records, through verify.
q() {   # WHAT TAR-PATTERN LAYER-PATTERN SPEC
	mktar q.tar './:d' 'opt/:d' "$4"
	tar_quick "$1" "$2" q.tar
	mktar q-layer.tar 'opt/:d' "$4"
	layer_quick "$1 in a layer" "$3" q-layer.tar
}
q "a pax size past 2^64" "Tar size attribute overflow" "not a readable tar stream: Tar size attribute overflow" \
	'opt/pwned:P:size=99999999999999999999'
q "a negative pax size" "Tar size attribute is negative" "not a readable tar stream: Tar size attribute is negative" \
	'opt/pwned:P:size=-1'
q "a pax uid of 2^40" "tar member '/opt/pwned': uid 1099511627776 out of range" "member 'opt/pwned': uid 1099511627776 out of range" \
	'opt/pwned:P:uid=1099511627776'
q "a pax gid of 2^40" "tar member '/opt/pwned': gid 1099511627776 out of range" "member 'opt/pwned': gid 1099511627776 out of range" \
	'opt/pwned:P:gid=1099511627776'
q "a symlink target of 70,000 bytes" "tar member '/opt/pwned': symlink target of 70000 bytes \(1 to 65536 allowed, HM_LIMIT_TARGET_BYTES\)" \
	"member 'opt/pwned': symlink target of 70000 bytes \(1 to 65536 allowed, HM_LIMIT_TARGET_BYTES\)" \
	"opt/pwned:l:$long"
q "an xattr value of 100 kB" "tar member '/opt/pwned': xattr values exceed the limits \(HM_LIMIT_XATTR_VALUE_BYTES" \
	"member 'opt/pwned': xattr values exceed the limits \(HM_LIMIT_XATTR_VALUE_BYTES" \
	"opt/pwned:P:SCHILY.xattr.user.pwned=$(python3 -c "print('v' * 100000)")"
deep=$(python3 -c "print('/'.join(['a'] * 5000))")
q "a name 5,000 components deep" "path deeper than the limit of 4096 components \(HM_LIMIT_DEPTH\)" \
	"path deeper than the limit of 4096 components \(HM_LIMIT_DEPTH\)" "opt/$deep:f:x"
q "a pax header of 5 MB" "Special header too large" "not a readable tar stream: Special header too large" \
	"opt/@LONG5242880@:f:x"
done_testing
