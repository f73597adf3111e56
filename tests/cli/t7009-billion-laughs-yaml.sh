#!/bin/sh
# Billion laughs (CVE-2003-1564 for XML; the YAML form abuses anchors and
# aliases, as in CVE-2019-11253, Kubernetes): nine levels of aliases
# expanding to 10^9 nodes.  hallmark's YAML reader refuses every anchor
# and alias, and caps bytes, nesting and node count, so neither aliases
# nor sheer size can blow up a policy (verify, hallmark-verify), a
# template (build) or an audit rules file: exit 2 naming file:line:col,
# no output.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

laughs='lol1: &lol1 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
lol2: &lol2 [*lol1,*lol1,*lol1,*lol1,*lol1,*lol1,*lol1,*lol1,*lol1]
lol3: &lol3 [*lol2,*lol2,*lol2,*lol2,*lol2,*lol2,*lol2,*lol2,*lol2]
lol4: &lol4 [*lol3,*lol3,*lol3,*lol3,*lol3,*lol3,*lol3,*lol3,*lol3]
lol5: &lol5 [*lol4,*lol4,*lol4,*lol4,*lol4,*lol4,*lol4,*lol4,*lol4]
lol6: &lol6 [*lol5,*lol5,*lol5,*lol5,*lol5,*lol5,*lol5,*lol5,*lol5]
lol7: &lol7 [*lol6,*lol6,*lol6,*lol6,*lol6,*lol6,*lol6,*lol6,*lol6]
lol8: &lol8 [*lol7,*lol7,*lol7,*lol7,*lol7,*lol7,*lol7,*lol7,*lol7]
lol9: &lol9 [*lol8,*lol8,*lol8,*lol8,*lol8,*lol8,*lol8,*lol8,*lol8]'

mktar base.tar './:d' 'etc/:d' 'etc/passwd:f:root:x:0:0:root:/root:/bin/sh
'
tpl() {   # NAME BODY: a template NAME.yaml with a valid head, then BODY
	mkdir -p tpl
	cp base.tar tpl/base.tar
	printf 'hallmark: 1\nname: t7-yaml\nserial: 1\nbase: {tarball: {path: base.tar}}\n%s\n' "$2" > "tpl/$1.yaml"
}
# yaml_refused WHAT PATTERN POLICY-BODY: the body as a policy (hallmark
# and hallmark-verify), an audit rules file and the tail of a template.
yaml_refused() {
	printf 'version: 1\n%s\n' "$3" > policy.yaml
	refused 2 "$1: verify --policy" "policy\.yaml:$2" "$HALLMARK" verify dir:base $V --policy policy.yaml
	refused 2 "$1: hallmark-verify --policy" "policy\.yaml:$2" "$HALLMARK_VERIFY" dir:base $V --policy policy.yaml -o pwned.report
	printf 'fail_on: high\n%s\n' "$3" > rules.yaml
	refused 2 "$1: audit --rules" "rules\.yaml:$2" "$HALLMARK" audit dir:base --rules rules.yaml
	tpl t "$3"
	refused 2 "$1: build TEMPLATE" "t\.yaml:$2" "$HALLMARK" build tpl/t.yaml -o out
	[ -z "$(ls -A out 2>/dev/null)" ] && ok "$1: build wrote no output" || fail "$1: build wrote no output"
}

yaml_refused "the billion laughs" "[0-9]+:[0-9]+: anchors are not allowed" "$laughs"
# Where the anchor is decides the line: the first one is named.
printf 'version: 1\n%s\n' "$laughs" > p.yaml
expect_exit 2 "the first anchor is named by line and column" "$HALLMARK" verify dir:base $V --policy p.yaml
expect_grep '^hallmark: p\.yaml:2:7: anchors are not allowed$' err.txt "p.yaml:2:7"
yaml_refused "an alias alone (of no anchor)" "[0-9]+:[0-9]+: aliases are not allowed" 'ignore: [*lol9]'
yaml_refused "a merge key" "[0-9]+:[0-9]+: (anchors|aliases) are not allowed" 'x: &b {ignore: [/a]}
y: {<<: *b}'
yaml_refused "an anchor on a scalar" "[0-9]+:[0-9]+: anchors are not allowed" 'ignore: [&a /proc/**]'

# No aliases, just size: nodes, nesting and bytes are capped.
many=$(python3 -c "print('[' + ','.join(['lol'] * 300000) + ']')")
yaml_refused "300,000 nodes in a flow list" "[0-9]+:[0-9]+: more than HM_LIMIT_YAML_NODES \(262144\) nodes" "ignore: $many"
deep=$(python3 -c "print('[' * 200 + ']' * 200)")
yaml_refused "lists nested 200 deep" "[0-9]+:[0-9]+: nesting deeper than HM_LIMIT_YAML_DEPTH \(32\)" "ignore: $deep"
python3 -c "print('version: 1\n#' + 'lol' * (2 << 20))" > big.yaml
refused 2 "a 6 MiB policy" "'big\.yaml' is larger than 4194304 bytes" "$HALLMARK" verify dir:base $V --policy big.yaml
done_testing
