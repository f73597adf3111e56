#!/bin/sh
# Duplicate YAML keys (the parser-differential trick of CVE-2017-12635,
# CouchDB's duplicate "roles" key; YAML 1.2 says keys are unique, but
# many loaders keep the last value silently): a policy with two "ignore"
# lists, a template with two serials or two paths, an audit exception with
# two rules.  Every spelling of the same key (plain, quoted, escaped,
# explicit "?") is a duplicate: exit 2 naming the second one by
# file:line:col, for verify, hallmark-verify, audit and build; no output.
. "$(dirname "$0")/lib.sh"
. "$HM_TOP/tests/cli/adv-lib.sh"

mkdir -p tpl
mktar tpl/base.tar './:d' 'etc/:d' 'etc/passwd:f:root:x:0:0:root:/root:/bin/sh
'
head='hallmark: 1
name: t7-dup
base: {tarball: {path: base.tar}}'

policy_dup() {   # WHAT LINE:COL KEY BODY
	printf 'version: 1\n%s\n' "$4" > policy.yaml
	refused 2 "$1: verify --policy" "^hallmark: policy\.yaml:$2: duplicate key '$3'$" "$HALLMARK" verify dir:base $V --policy policy.yaml
	refused 2 "$1: hallmark-verify --policy" "policy\.yaml:$2: duplicate key '$3'" "$HALLMARK_VERIFY" tar:- $V --policy policy.yaml
}
tpl_dup() {      # WHAT LINE:COL KEY BODY
	printf '%s\n%s\n' "$head" "$4" > tpl/t.yaml
	refused 2 "$1: build" "^hallmark: tpl/t\.yaml:$2: duplicate key '$3'$" "$HALLMARK" build tpl/t.yaml -o out
	[ -z "$(ls -A out 2>/dev/null)" ] && ok "$1: no output" || fail "$1: no output"
}
rules_dup() {    # WHAT LINE:COL KEY BODY
	printf '%s\n' "$4" > rules.yaml
	refused 2 "$1: audit --rules" "^hallmark: rules\.yaml:$2: duplicate key '$3'$" "$HALLMARK" audit dir:base --rules rules.yaml
}

policy_dup "two ignore lists" 3:1 ignore 'ignore: [/proc/**]
ignore: [/etc/**]'
policy_dup "plain and quoted" 3:1 ignore 'ignore: [/proc/**]
"ignore": [/etc/**]'
policy_dup "plain and single-quoted" 3:1 may_add "may_add: [/opt/**]
'may_add': [/**]"
policy_dup "plain and escaped" 3:1 ignore 'ignore: [/proc/**]
"\x69gnore": [/etc/**]'
policy_dup "an explicit ? key" 3:3 may_change 'may_change: [/etc/motd]
? may_change
: [/etc/shadow]'
policy_dup "in a flow mapping" 2:25 ignore 'x: {ignore: [/proc/**], ignore: [/etc/**]}'
policy_dup "far apart" 4:1 version 'ignore: [/proc/**]
may_add: [/opt/**]
version: 1'

tpl_dup "two serials" 5:1 serial 'serial: 1
serial: 99'
tpl_dup "two paths in one file" 6:23 path 'serial: 1
files:
  - {path: /etc/motd, path: /etc/shadow, content: "x"}'
tpl_dup "two modes in block style" 9:5 mode 'serial: 1
files:
  - path: /etc/motd
    mode: "0644"
    content: "x"
    mode: "4755"'
tpl_dup "two exception rules" 7:27 rule 'serial: 1
audit:
  exceptions:
    - {rule: HM-FILE-001, rule: HM-SECRET-001, reason: "x"}'

rules_dup "two fail_on" 2:1 fail_on 'fail_on: critical
fail_on: info'
rules_dup "two rules in one exception" 2:25 rule 'exceptions:
  - {rule: HM-FILE-001, rule: HM-SECRET-001, reason: "x"}'
done_testing
