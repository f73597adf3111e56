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
expect_exit 2 "an unknown command is a usage error" "$HALLMARK" frobnicate
expect_grep "'frobnicate' is not a hallmark command" err.txt "and is named"
expect_exit 2 "no command is a usage error" "$HALLMARK"
done_testing
