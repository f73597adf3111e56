#!/usr/bin/env python3
"""Make the bash completion of hallmark and hallmark-verify from docs/cli.md.

    tools/cli2completion.py hallmark|hallmark-verify docs/cli.md > FILE

The commands come from `hallmark --help`'s list, each command's options
from its help, the values of an option from its description ("text
(default), json, junit or sarif") or its usage ("[--format
text|json]"), the TARGET prefixes from the Targets table.  docs/cli.md
holds the programs' help verbatim (tests/cli/t0000-usage.sh), and
tests/cli/t0101-install.sh checks the installed completion against the
installed programs' --help.

Installed as .../bash-completion/completions/hallmark and
.../hallmark-verify: bash-completion loads a file by the command's name,
and the two programs ship in two Debian packages.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clidoc  # noqa: E402

# What an option's argument names: the files it completes.
DIR_ARGS = {"DIR", "PATH"}
FILE_ARGS = {"FILE", "KEY", "SIG", "REPORT", "F", "PREFIX", "TEMPLATE", "MANIFEST",
             "OSV.json", "FILE..."}


def values(desc, usage, names):
    """The words an option takes, when its help lists them."""
    m = re.match(r"^((?:[a-z0-9-]+(?: \(default\))?, )*[a-z0-9-]+(?: \(default\))?) or ([a-z0-9-]+)\b",
                 desc)
    if m:
        return [w.replace(" (default)", "") for w in m.group(1).split(", ")] + [m.group(2)]
    for n in names:
        m = re.search(r"\[" + re.escape(n) + r" ([a-z0-9-]+(?:\|[a-z0-9-]+)+)\]", usage)
        if m:
            return m.group(1).split("|")
    return None


def targets(sections):
    """The TARGET prefixes (dir:, tar:...) from the Targets table, and
    which of them name a folder."""
    out, dirs = [], []
    for s in sections:
        if s.title != "Targets":
            continue
        for line in s.lines:
            m = re.match(r"^\| `([a-z-]+:)([A-Z]*)", line)
            if m:
                out.append(m.group(1))
                if m.group(2) in DIR_ARGS:
                    dirs.append(m.group(1))
    return out, dirs


def shq(words):
    return "'" + " ".join(words).replace("'", "'\\''") + "'"


def command_block(name, h):
    """A case branch: the options, and per option what follows it."""
    opts, lines = [], []
    for names, arg, desc in h.options():
        opts += names
        if not arg:
            continue
        vals = values(desc, h.usage_text(), names)
        pat = "|".join(names)
        if vals:
            lines.append("\t\t%s) COMPREPLY=($(compgen -W %s -- \"$cur\")); return ;;"
                         % (pat, shq(vals)))
        elif arg in DIR_ARGS:
            lines.append("\t\t%s) _hallmark_files -d; return ;;" % pat)
        elif set(re.split(r"[|,\[\]]", arg)) & FILE_ARGS:   # FILE|URI too
            lines.append("\t\t%s) _hallmark_files; return ;;" % pat)
        else:
            lines.append("\t\t%s) return ;;" % pat)
    positional = "target" if "TARGET" in h.usage_text().split() else "file"
    return opts, lines, positional


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("hallmark", "hallmark-verify"):
        raise SystemExit("usage: cli2completion.py hallmark|hallmark-verify CLI.md")
    prog = sys.argv[1]
    _, _, sections = clidoc.read(sys.argv[2])
    progs = {s.program: clidoc.Help(s.help) for s in sections if s.program}
    top = progs.get("hallmark")
    if not top or "hallmark-verify" not in progs:
        raise SystemExit("cli2completion: docs/cli.md lacks the help of hallmark or hallmark-verify")
    tgts, dir_tgts = targets(sections)
    if not tgts:
        raise SystemExit("cli2completion: docs/cli.md has no Targets table")
    commands = [w for w, _ in top.items()]
    topts = [n for names, _, _ in top.options() for n in names] + ["--help", "--version"]

    out = ["# bash completion for %s." % prog,
           "# Generated from docs/cli.md by tools/cli2completion.py: do not edit.",
           "",
           "_hallmark_files() {   # [-d]: files (or folders) for $cur",
           "\tlocal IFS=$'\\n'",
           "\tif [ \"${1-}\" = -d ]; then COMPREPLY=($(compgen -d -- \"$cur\"))",
           "\telse COMPREPLY=($(compgen -f -- \"$cur\")); fi",
           "\tcompopt -o filenames 2>/dev/null",
           "}",
           "",
           "# A TARGET: its prefix first (no space after it), then a path.",
           "_hallmark_target() {   # PREFIXES",
           "\tlocal IFS=$'\\n' p=\"${cur%%:*}:\" path",
           "\tcase $cur in",
           "\t*:*)",
           "\t\tpath=${cur#*:}",
           "\t\tcase \" %s \" in *\" $p \"*) COMPREPLY=($(compgen -d -- \"$path\")) ;;" % " ".join(dir_tgts),
           "\t\t*) COMPREPLY=($(compgen -f -- \"$path\")) ;; esac",
           "\t\tCOMPREPLY=(\"${COMPREPLY[@]/#/$p}\")",
           "\t\t;;",
           "\t*) COMPREPLY=($(IFS=' '; compgen -W \"$1\" -- \"$cur\")) ;;",
           "\tesac",
           "\tcompopt -o nospace 2>/dev/null",
           "\t# bash splits words at ':' (COMP_WORDBREAKS): offer what follows it.",
           "\tif [[ $COMP_WORDBREAKS == *:* && $cur == *:* ]]; then",
           "\t\tlocal colon=${cur%\"${cur##*:}\"} i",
           "\t\tfor i in \"${!COMPREPLY[@]}\"; do COMPREPLY[i]=${COMPREPLY[i]#\"$colon\"}; done",
           "\tfi",
           "}",
           "",
           "# The current word, whole (a TARGET holds a ':').",
           "_hallmark_cur() {",
           "\tif declare -F _get_comp_words_by_ref >/dev/null; then",
           "\t\t_get_comp_words_by_ref -n : cur prev words cword",
           "\telse",
           "\t\tcur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}",
           "\t\twords=(\"${COMP_WORDS[@]}\") cword=$COMP_CWORD",
           "\tfi",
           "}",
           ""]

    def function(fname, cmd_words, h, first, tprefixes):
        opts, lines, positional = command_block(cmd_words, h)
        body = ["%s() {   # %s" % (fname, cmd_words),
                "\tlocal cur prev words cword",
                "\t_hallmark_cur",
                "\tCOMPREPLY=()"]
        body += ["\tcase $prev in"] + lines + ["\tesac"] if lines else []
        body += ["\tif [[ $cur == -* ]]; then",
                 "\t\tCOMPREPLY=($(compgen -W %s -- \"$cur\"))" % shq(opts),
                 "\telif [ \"$cword\" -ge %d ]; then" % first]
        if positional == "target":
            body += ["\t\t_hallmark_target %s" % shq(tprefixes)]
        else:
            body += ["\t\t_hallmark_files"]
        body += ["\tfi", "}", ""]
        return body

    if prog == "hallmark":
        cases = []
        for c in commands:
            h = progs.get("hallmark " + c)
            if not h:
                raise SystemExit("cli2completion: docs/cli.md has no help of 'hallmark %s'" % c)
            fname = "_hallmark_" + c.replace("-", "_")
            out += function(fname, "hallmark " + c, h, 2, tgts)
            cases.append("\t%s) %s ;;" % (c, fname))
        out += ["_hallmark() {",
                "\tlocal cur prev words cword",
                "\t_hallmark_cur",
                "\tCOMPREPLY=()",
                "\tif [ \"$cword\" -le 1 ]; then",
                "\t\tCOMPREPLY=($(compgen -W %s -- \"$cur\"))" % shq(commands + topts),
                "\t\treturn",
                "\tfi",
                "\tcase ${words[1]} in"] + cases + ["\tesac", "}", "",
                                                     "complete -F _hallmark hallmark", ""]
    else:
        # No disk: here (its help says "disk:... ('hallmark verify' only)").
        own = progs["hallmark-verify"]
        text = " ".join(" ".join(b) for k, b in own.parts if k == "text")
        only = re.findall(r"([a-z-]+:)\S* \([^)]*'hallmark verify' only", text)
        out += function("_hallmark_verify_program", "hallmark-verify", own, 1,
                        [t for t in tgts if t not in only])
        out += ["complete -F _hallmark_verify_program hallmark-verify", ""]
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
