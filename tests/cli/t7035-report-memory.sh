#!/bin/sh
# Issue 11, item 17: a report's memory does not grow with its findings.
# 150,000 findings with long paths are reported in each of the four
# formats and recorded in the history under an address-space limit a few
# MiB above what a run with one finding needs.  Kept in a list, as they
# were, they need tens of MiB more in text and hundreds in JSON.
. "$(dirname "$0")/lib.sh"

N=150000
"$HALLMARK" keygen -o k --no-passphrase >/dev/null 2>&1
python3 - "$N" <<'PY'
import sys
n = int(sys.argv[1])
head = ("hallmark-manifest 1\nname flat\nserial 1\ncreated 2026-01-01T00:00:00Z\n"
        "expires never\ntemplate none\nhash sha256\nentries %d\n"
        "/ type=dir mode=0755 uid=0 gid=0\n")
line = ("/f%07d" + "x" * 240 + " type=file mode=0644 uid=0 gid=0 size=0 "
        "sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n")
for name, count in (("big", n), ("small", 1)):
    with open(name, "w") as f:
        f.write(head % (count + 1))
        f.writelines(line % i for i in range(count))
PY
"$HALLMARK" sign big --key k.key >/dev/null 2>&1
"$HALLMARK" sign small --key k.key >/dev/null 2>&1
mkdir empty

# What a run with one finding needs on this machine (libraries, one
# hashing thread, SQLite): the first limit, in 8 MiB steps, it runs under.
base=
lim=48
while [ $lim -le 1024 ]; do
	(ulimit -v $((lim * 1024)) && exec "$HALLMARK" verify dir:empty --manifest small \
		--pubkey k.pub --threads 1 --format json --db cal.db) >cal.json 2>/dev/null
	# Exit 1 and the report: a sanitizer that cannot start exits 1 too.
	if [ $? -eq 1 ] && grep -q '"total_findings": 1,' cal.json; then
		base=$lim
		break
	fi
	lim=$((lim + 8))
done
if [ -z "$base" ]; then
	# An ASan build reserves terabytes of address space.
	skip "no address-space limit under 1 GiB runs hallmark here"
	done_testing
	exit
fi
ok "a run with one finding runs in $base MiB of address space"
bound=$((base + 24))

for fmt in text json junit sarif; do
	(ulimit -v $((bound * 1024)) && exec "$HALLMARK" verify dir:empty --manifest big \
		--pubkey k.pub --threads 1 --format $fmt --db h.db) >out.$fmt 2>err.txt
	rc=$?
	if [ $rc -eq 1 ]; then
		ok "$N findings reported as $fmt within $bound MiB"
	else
		fail "$N findings reported as $fmt within $bound MiB (exit $rc)"
		sed 's/^/#   stderr: /' err.txt | head -n 5
	fi
done
expect_grep "^missing $N\$" out.text "the text report counts them all"
n=$(grep -c '"kind": "missing"' out.json)
[ "$n" = $N ] && ok "the JSON report lists them all" || fail "the JSON report lists them all (got $n)"
python3 -c 'import json,sys; d=json.load(open("out.json")); sys.exit(not (len(d["findings"]) == d["stats"]["total_findings"] == int(sys.argv[1])))' $N 2>/dev/null \
	&& ok "and it is valid JSON" || fail "and it is valid JSON"
expect_grep "<failure message=\"$N paths\" type=\"missing\">" out.junit "the JUnit report counts them all"
n=$(grep -c '"ruleId": "HM-DRIFT-MISSING"' out.sarif)
[ "$n" = $N ] && ok "the SARIF report lists them all" || fail "the SARIF report lists them all (got $n)"
# Into a file with -o: streamed into the temporary file, not gathered.
for fmt in json sarif; do
	(ulimit -v $((bound * 1024)) && exec "$HALLMARK" verify dir:empty --manifest big \
		--pubkey k.pub --threads 1 --format $fmt -o file.$fmt) 2>err.txt
	rc=$?
	if [ $rc -eq 1 ] && cmp -s file.$fmt out.$fmt 2>/dev/null ||
	   { [ $rc -eq 1 ] && [ "$(grep -c '"kind": "missing"\|HM-DRIFT-MISSING' file.$fmt)" -ge $N ]; }; then
		ok "$N findings written as $fmt with -o within $bound MiB"
	else
		fail "$N findings written as $fmt with -o within $bound MiB (exit $rc)"
		sed 's/^/#   stderr: /' err.txt | head -n 5
	fi
done
n=$(python3 -c "import sqlite3; print(sqlite3.connect('h.db').execute('select count(*) from findings').fetchone()[0])")
[ "$n" = $((4 * N)) ] && ok "the history recorded every finding of the 4 runs" \
	|| fail "the history recorded every finding of the 4 runs (got $n)"
done_testing
