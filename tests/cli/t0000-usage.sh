#!/bin/sh
# The usage texts and docs/cli.md must not drift: every command's --help
# output appears verbatim in docs/cli.md, in a fenced block.
. "$(dirname "$0")/lib.sh"

check() {  # check NAME CMD...
	name=$1; shift
	"$@" > help.txt 2>&1
	if python3 - "$HM_TOP/docs/cli.md" help.txt <<'PY'
import sys
doc = open(sys.argv[1]).read()
text = open(sys.argv[2]).read()
sys.exit(0 if "```\n" + text + "```\n" in doc else 1)
PY
	then ok "docs/cli.md has the help of '$name' verbatim"
	else fail "docs/cli.md has the help of '$name' verbatim"; sed 's/^/#   /' help.txt
	fi
}

check hallmark "$HALLMARK" --help
# Every command the top-level help lists, so a new one cannot escape.
cmds=$("$HALLMARK" --help 2>&1 | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
if [ -n "$cmds" ]; then ok "hallmark --help lists commands"
else fail "hallmark --help lists commands"; fi
for c in $cmds; do
	check "$c" "$HALLMARK" "$c" --help
done
check hallmark-verify "$HALLMARK_VERIFY" --help
expect_exit 0 "hallmark-verify --help" "$HALLMARK_VERIFY" --help
expect_grep '^      --version  ' out.txt "lists --version"
expect_exit 0 "hallmark-verify --version" "$HALLMARK_VERIFY" --version
expect_grep '^hallmark-verify [0-9]' out.txt "prints its name and version"
"$HALLMARK" verify --help > help.txt 2>&1
if grep -q -- '--version' help.txt; then fail "hallmark verify --help has no --version (hallmark --version is)"
else ok "hallmark verify --help has no --version (hallmark --version is)"; fi
expect_exit 2 "an unknown command is a usage error" "$HALLMARK" frobnicate
expect_grep "'frobnicate' is not a hallmark command" err.txt "and is named"
expect_exit 2 "no command is a usage error" "$HALLMARK"
# The option syntax the commands have always had (getopt_long's), now
# from one table-driven parser (lib/options.c): messages word for word.
first_line() {  # first_line WHAT TEXT: err.txt's first line is TEXT
	if [ "$(head -n 1 err.txt)" = "$2" ]; then ok "$1"
	else fail "$1"; sed 's/^/#   /' err.txt | head -n 3; fi
}
expect_exit 2 "an unknown option is a usage error" "$HALLMARK" verify --frobnicate
first_line "named as getopt did, after the program" "hallmark: verify: unrecognized option '--frobnicate'"
expect_grep "^Try 'hallmark verify --help'.\$" err.txt "and one line points at --help"
expect_exit 2 "an ambiguous abbreviation is refused" "$HALLMARK_VERIFY" --p x
first_line "with the candidates" "hallmark-verify: option '--p' is ambiguous; possibilities: '--pubkey' '--policy' '--prometheus'"
expect_exit 2 "a missing value is a usage error" "$HALLMARK" audit dir:. --format
first_line "named by its long name" "hallmark: audit: option '--format' requires an argument"
expect_exit 2 "a bad letter in a bundle" "$HALLMARK" history -Dx
first_line "is named" "hallmark: history: invalid option -- 'x'"
expect_exit 2 "keygen's own words" "$HALLMARK" keygen --no-passphrase -o
first_line "name the option" "hallmark: keygen: option '-o' needs a value"
expect_exit 2 "sign: unknown option" "$HALLMARK" sign m --frob
first_line "named" "hallmark: sign: unknown option '--frob'"
expect_exit 2 "a bad word" "$HALLMARK" verify t -m m -k k -f yaml
first_line "lists the good ones" "hallmark: unknown report format 'yaml' (text, json, junit, sarif)"
expect_exit 2 "a number out of range" "$HALLMARK" manifest . --threads=257
first_line "says the range" "hallmark: --threads takes a number from 1 to 256"
for c in build keygen sign; do
	expect_exit 2 "$c refuses --passphrase" "$HALLMARK" $c --passphrase s3cret
	if grep -q s3cret err.txt; then fail "$c does not echo the passphrase"
	else ok "$c does not echo the passphrase"; fi
done
expect_exit 0 "an abbreviation of --help" "$HALLMARK" history --he
expect_grep '^usage: hallmark history' out.txt "shows the help"
mkdir -p opt-tree && echo x > opt-tree/f
expect_exit 0 "options after the target, bundled and attached" \
	"$HALLMARK" manifest dir:opt-tree -omt.m --name=t -s7 -j1
expect_grep '^serial 7$' mt.m "and all taken"
expect_exit 2 "-- ends the options" "$HALLMARK" diff -- -x -y
expect_grep "cannot open '-x'" err.txt "what follows is a positional argument"
done_testing
