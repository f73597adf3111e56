#!/usr/bin/env python3
"""Make the manual pages hallmark(1) and hallmark-verify(1) from docs/cli.md.

    tools/cli2man.py hallmark|hallmark-verify VERSION docs/cli.md > OUT.1

docs/cli.md holds every help text verbatim (tests/cli/t0000-usage.sh
checks it against the programs), so a page made from it at build time
cannot drift from the programs.  The date is $SOURCE_DATE_EPOCH's, so
two builds of one source give the same bytes; without it, the page has
no date.

hallmark(1): the introduction, the top-level help, every `## cmd` section
(its help, then its text) and every other section (Targets...).
hallmark-verify(1): the introduction, its help, the text of `## verify`
and the Targets.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clidoc  # noqa: E402

NAMES = {
    "hallmark": "build signed gold images and verify trees against their manifests",
    "hallmark-verify": "verify a tree against a signed hallmark manifest",
}

NON_ASCII = {"\u2014": r"\(em", "\u2013": r"\(en", "\u2018": r"\(oq", "\u2019": r"\(cq",
             "\u201c": r"\(lq", "\u201d": r"\(rq", "\u2026": "...", "\u00a0": r"\ ",
             "\u2192": r"\(->", "\u2190": r"\(<-", "\u2264": r"\(<=", "\u2265": r"\(>=",
             "\u00d7": r"\(mu"}


def esc(s, code=False):
    """Escape text for roff; in code, dashes are minus signs."""
    s = s.replace("\\", r"\e")
    if code:
        s = s.replace("-", r"\-")
    out = []
    for ch in s:
        if ord(ch) < 128:
            out.append(ch)
        else:
            out.append(NON_ASCII.get(ch, r"\[u%04X]" % ord(ch)))
    return "".join(out)


def line_start(s):
    """A line must not start with a control character or a space."""
    s = s.lstrip()
    if s[:1] in (".", "'"):
        return r"\&" + s
    return s


def option_dashes(s):
    """Dashes of options in plain help text are minus signs."""
    return re.sub(r"(?<![A-Za-z0-9])--?(?=[A-Za-z])", lambda m: m.group(0).replace("-", r"\-"), s)


def inline(s):
    """Markdown inline markup (code, bold, links) to roff fonts."""
    out, pos = [], 0
    pat = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)]+)\)|(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])")
    for m in pat.finditer(s):
        out.append(esc(s[pos:m.start()]))
        if m.group(1) is not None:
            out.append(r"\fB" + esc(m.group(1), code=True) + r"\fR")
        elif m.group(2) is not None:
            out.append(r"\fB" + inline(m.group(2)) + r"\fR")
        elif m.group(3) is not None:
            target = m.group(4)
            text = inline(m.group(3))
            out.append(text if target.endswith(".md") or target == m.group(3)
                       else text + " <" + esc(target) + ">")
        else:
            out.append(r"\fI" + inline(m.group(5)) + r"\fR")
        pos = m.end()
    out.append(esc(s[pos:]))
    return "".join(out)


def text_lines(lines, markup=True):
    out = []
    for l in lines:
        l = l.strip()
        if not l:
            continue
        out.append(line_start(inline(l) if markup else option_dashes(esc(l))))
    return out


# ---- markdown blocks ------------------------------------------------------

LIST_ITEM = re.compile(r"^( *)([-*]|\d+\.) (.*)$")


def markdown(lines, heading=".SS"):
    """roff for markdown lines: paragraphs, lists (nested by indent),
    tables, fenced code, ### headings."""
    out = []
    i = 0
    depth = []          # indents of the open lists
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        m = LIST_ITEM.match(line)
        indent = len(line) - len(line.lstrip())
        # Leave the lists this line is not inside of.
        while depth and (indent < depth[-1] or (indent == depth[-1] and not m)):
            depth.pop()
            if depth:
                out.append(".RE")
        if line.startswith("```") or line.lstrip().startswith("```"):
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            base = len(line) - len(line.lstrip())
            out += [".IP" if depth else ".PP", ".nf", ".RS 2" if depth else ".RS 4"]
            out += [r"\&" + esc(l[base:] if l[:base].isspace() else l.lstrip(), code=True)
                    for l in lines[i + 1:j]]
            out += [".RE", ".fi"]
            i = j + 1
            continue
        if line.startswith("#"):
            out += [heading + ' "' + esc(line.lstrip("#").strip()) + '"']
            i += 1
            continue
        if line.lstrip().startswith("|"):
            j = i
            rows = []
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                cells = re.split(r"(?<!\\)\|", lines[j].strip().strip("|"))
                rows.append([c.strip().replace(r"\|", "|") for c in cells])
                j += 1
            body = [r for r in rows[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            if len(rows) > 1 and all(re.fullmatch(r":?-+:?", c) for c in rows[1]):
                body = rows[2:]
                head = rows[0]
            else:
                body, head = rows, None
            if head and len(head) > 2:
                out += [".PP", r"\fI" + inline(head[0]) + r"\fR: " +
                        "; ".join(inline(h) for h in head[1:])]
            for r in body:
                out += [".TP", line_start(inline(r[0])),
                        line_start("; ".join(inline(c) for c in r[1:] if c))]
            i = j
            continue
        if m:
            if not depth or indent > depth[-1]:
                if depth:
                    out.append(".RS")
                depth.append(indent)
            bullet = r"\(bu" if m.group(2) in "-*" else m.group(2)
            width = 2 if bullet == r"\(bu" else 4
            para = [m.group(3)]
            i += 1
            inner = indent + len(m.group(2)) + 1
            while i < len(lines) and lines[i].strip() and not LIST_ITEM.match(lines[i]) \
                    and not lines[i].lstrip().startswith(("```", "|")) \
                    and len(lines[i]) - len(lines[i].lstrip()) >= inner:
                para.append(lines[i])
                i += 1
            out += [".IP %s %d" % (bullet, width)] + text_lines(para)
            continue
        para = []
        while i < len(lines) and lines[i].strip() and not LIST_ITEM.match(lines[i]) \
                and not lines[i].lstrip().startswith(("```", "|", "#")):
            para.append(lines[i])
            i += 1
        out += [".IP" if depth else ".PP"] + text_lines(para)
    while len(depth) > 1:
        depth.pop()
        out.append(".RE")
    return out


# ---- help texts -----------------------------------------------------------

def usage(h, synopsis=False):
    """The usage lines: the program in bold, options as written."""
    out = [".nf"] if not synopsis else []
    if synopsis:
        # One line per command, roff fills and indents it.
        prog = h.usage_text().split()
        n = 2 if len(prog) > 1 and prog[0] == "hallmark" and prog[1].islower() else 1
        out += [".PP", r"\fB" + esc(" ".join(prog[:n]), True) + r"\fR " +
                option_dashes(esc(" ".join(prog[n:])))]
        return out
    for k, l in enumerate(h.usage):
        l = l[len("usage: "):] if k == 0 else l.strip()
        if k == 0:
            first, rest = (l.split(" ", 1) + [""])[:2]
            out.append(r"\fB" + esc(first, True) + r"\fR " + option_dashes(esc(rest)))
        else:
            out.append(r"\&       " + option_dashes(esc(l)))
    return out + [".fi"]


def help_body(h):
    out = []
    for kind, body in h.parts:
        if kind == "text":
            out += [".PP"] + text_lines(body, markup=False)
        else:
            for term, desc in body:
                if term.startswith("-"):
                    m = re.match(r"^(.*?)(?:([ =])([A-Z]\S*))?$", term)
                    names = ", ".join(r"\fB" + esc(n.strip(), True) + r"\fR"
                                      for n in m.group(1).split(","))
                    arg = (" " + r"\fI" + esc(m.group(3)) + r"\fR") if m.group(3) else ""
                    out += [".TP", names + arg]
                else:
                    out += [".TP", r"\fB" + esc(term, True) + r"\fR"]
                out.append(line_start(option_dashes(esc(desc))))
    return out


# ---- the pages ------------------------------------------------------------

def page(prog, version, doc):
    title, intro, sections = doc
    by_prog = {s.program: s for s in sections if s.program}
    if prog not in by_prog:
        raise SystemExit("cli2man: docs/cli.md has no help of '%s'" % prog)
    own = clidoc.Help(by_prog[prog].help)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    date = time.strftime("%Y-%m-%d", time.gmtime(int(epoch))) if epoch else ""
    out = [r'.\" Generated from docs/cli.md by tools/cli2man.py: do not edit.',
           '.TH %s 1 "%s" "hallmark %s" "hallmark manual"' % (prog.upper(), date, esc(version)),
           # No hyphenation, ragged right: option names and paths stay whole.
           ".nh", ".ad l",
           ".SH NAME", r"%s \- %s" % (esc(prog, True), NAMES.get(prog, esc(title or prog))),
           ".SH SYNOPSIS"]
    commands = [s for s in sections if s.program and s.program.startswith("hallmark ")]
    if prog == "hallmark":
        out += usage(own, synopsis=True)
        for s in commands:
            out += usage(clidoc.Help(s.help), synopsis=True)
        out += [".SH DESCRIPTION"] + help_body(own) + markdown(intro)
        out += [".SH COMMANDS"]
        for s in commands:
            h = clidoc.Help(s.help)
            out += ['.SS "%s"' % esc(s.program, True)] + usage(h) + help_body(h)
            out += markdown(s.prose(), heading=".SS")
        for s in sections:
            if not s.program:
                out += ['.SH "%s"' % esc(s.title.upper())] + markdown(s.lines)
        out += [".SH SEE ALSO", r"\fBhallmark\-verify\fR(1)"]
    else:
        out += usage(own, synopsis=True)
        out += [".SH DESCRIPTION"] + help_body(own)
        verify = by_prog.get("hallmark verify")
        if verify:
            out += markdown(verify.prose())
        out += markdown(by_prog[prog].prose())
        out += [".SH GENERAL"] + markdown(intro)
        for s in sections:
            if not s.program:
                out += ['.SH "%s"' % esc(s.title.upper())] + markdown(s.lines)
        out += [".SH SEE ALSO", r"\fBhallmark\fR(1)"]
    out += [r"The documents in \fI/usr/share/doc/hallmark\fR (or the source's "
            r"\fIdocs/\fR folder): manifest\-format.md, policy\-format.md, "
            r"report\-format.md, template\-format.md, audit\-rules.md, history.md."]
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 4:
        raise SystemExit("usage: cli2man.py hallmark|hallmark-verify VERSION CLI.md")
    doc = clidoc.read(sys.argv[3])
    sys.stdout.write(page(sys.argv[1], sys.argv[2], doc))


if __name__ == "__main__":
    main()
