#!/bin/sh
# Every command that takes a TARGET names, in its usage text, every kind
# of target docs/cli.md lists (the list tests/unit/test_target.c checks
# against lib/target.c's table); and hallmark-verify contains neither
# libguestfs nor anything of disk/ or builder/.
. "$(dirname "$0")/lib.sh"

# The TARGET column of docs/cli.md's table, one syntax a line.
sed -n 's/^| `\([a-z-]*:[^`]*\)` | .*/\1/p' "$HM_TOP/docs/cli.md" | sed 's/\\|/|/g' > kinds.txt
if [ "$(wc -l < kinds.txt)" -ge 5 ]; then ok "docs/cli.md lists the kinds of target"
else fail "docs/cli.md lists the kinds of target"; cat kinds.txt; fi

names_all() {  # names_all NAME CMD...: the help names every kind
	name=$1; shift
	"$@" --help 2>&1 | tr '\n' ' ' > help.txt
	missing=
	while read -r k; do
		grep -qF -- "$k" help.txt || missing="$missing $k"
	done < kinds.txt
	if [ -z "$missing" ]; then ok "'$name --help' names every kind of target"
	else fail "'$name --help' names every kind of target (not:$missing)"; fi
}

cmds=$("$HALLMARK" --help 2>&1 | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
n=0
for c in $cmds; do
	"$HALLMARK" "$c" --help 2>&1 | head -1 | grep -q ' TARGET' || continue
	n=$((n + 1))
	names_all "hallmark $c" "$HALLMARK" "$c"
done
if [ "$n" -ge 4 ]; then ok "four commands or more take a TARGET ($n)"
else fail "four commands or more take a TARGET ($n)"; fi
names_all hallmark-verify "$HALLMARK_VERIFY"

# hallmark-verify links only the core: no libguestfs, no disk/ or builder/.
if ldd "$HALLMARK_VERIFY" | grep -q guestfs; then
	fail "hallmark-verify does not link libguestfs"
else
	ok "hallmark-verify does not link libguestfs"
fi
if command -v nm >/dev/null 2>&1; then
	nm "$HALLMARK_VERIFY" | grep -E ' [TtDdRr] (hm_disk_|hm_appliance_|hm_watchdog_|hm_emit_|hm_target_disk)' > syms.txt
	if [ -s syms.txt ]; then fail "hallmark-verify has no disk/ or builder/ code"; cat syms.txt
	else ok "hallmark-verify has no disk/ or builder/ code"; fi
	nm "$HALLMARK" | grep -q ' [TtDdRr] hm_target_disk$' &&
		ok "hallmark has the disk: target" || fail "hallmark has the disk: target"
	# It runs verify only, so it holds no other command and no code only
	# they reach (README: "hallmark-verify contains what it runs").
	nm "$HALLMARK_VERIFY" | grep -E ' [TtDdRr] (cmd_(audit|history|sbom|diff|build|manifest|sign|keygen)|hm_osv_|hm_audit_run|hm_sbom_)' > cmds.txt
	if [ -s cmds.txt ]; then fail "hallmark-verify contains no command but verify"; cat cmds.txt
	else ok "hallmark-verify contains no command but verify"; fi
else
	skip "nm is not installed: symbols not checked"
fi
done_testing
