"""Read docs/cli.md: its sections, the programs' help texts, and the
markdown subset it is written in.  Shared by cli2man.py (the manual pages)
and cli2completion.py (bash completion), so that both are made from the
one text tests/cli/t0000-usage.sh keeps equal to the programs' --help.

Nothing here knows a command by name: a new `## cmd` section with its help
block reaches the man page and the completion without touching this file.
"""

import re


class Section:
    def __init__(self, title):
        self.title = title
        self.lines = []

    @property
    def help(self):
        """The first fenced block, if it is a help text (starts with usage:)."""
        block = first_block(self.lines)
        if block and block[0].startswith("usage: "):
            return block
        return None

    @property
    def program(self):
        """'hallmark build' for a command section, 'hallmark' or
        'hallmark-verify' for a program's, else None."""
        h = self.help
        if not h:
            return None
        words = h[0][len("usage: "):].split()
        if len(words) > 1 and words[0] == "hallmark" and re.fullmatch(r"[a-z][a-z-]*", words[1]) \
                and words[1] != "COMMAND":
            return "hallmark " + words[1]
        return words[0]

    def prose(self):
        """The lines after the help block (or all of them without one)."""
        if not self.help:
            return self.lines
        i = self.lines.index("```")
        j = self.lines.index("```", i + 1)
        return self.lines[j + 1:]


def first_block(lines):
    for i, line in enumerate(lines):
        if line.strip():
            if line == "```":
                try:
                    j = lines.index("```", i + 1)
                except ValueError:
                    raise SystemExit("docs/cli.md: unclosed ``` block")
                return lines[i + 1:j]
            return None
    return None


def read(path):
    """(title, intro lines, [Section]) of a cli.md."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = text.split("\n")
    title, intro, sections = None, [], []
    fence = False
    for line in lines:
        if line.startswith("```"):
            fence = not fence
        if not fence and line.startswith("# ") and title is None:
            title = line[2:].strip()
            continue
        if not fence and line.startswith("## "):
            sections.append(Section(line[3:].strip()))
            continue
        (sections[-1].lines if sections else intro).append(line)
    return title, intro, sections


# ---- help texts -----------------------------------------------------------

OPT_START = re.compile(r"^ {2,6}-")
# "-o, --output DIR   text" / "--source-date-epoch T every..." / "-h, --help"
OPT_TERM = re.compile(
    r"^\s+((?:-[A-Za-z0-9], )?--?[A-Za-z0-9][A-Za-z0-9-]*(?:[ =][A-Z]\S*)?)(?:\s+(.*))?$")
ITEM = re.compile(r"^  ([a-z][a-z0-9-]*)\s{2,}(\S.*)$")


class Help:
    """A help text cut in parts: usage lines, then a list of paragraphs,
    each ('text', [lines]) or ('items', [(term, description)])."""

    def __init__(self, block):
        self.usage = []
        self.parts = []
        rest = list(block)
        while rest and (not self.usage or rest[0].startswith(" ")) and rest[0].strip():
            self.usage.append(rest.pop(0))
        item = None
        for line in rest:
            if not line.strip():
                item = None
                self.parts.append(None)
                continue
            m = OPT_TERM.match(line) if OPT_START.match(line) else None
            n = ITEM.match(line) if not m else None
            if m or n:
                term, desc = (m.group(1), m.group(2) or "") if m else (n.group(1), n.group(2))
                if not self.parts or not self.parts[-1] or self.parts[-1][0] != "items":
                    self.parts.append(("items", []))
                item = [term, desc]
                self.parts[-1][1].append(item)
            elif item is not None and line.startswith("    "):
                item[1] = (item[1] + " " + line.strip()).strip()
            else:
                item = None
                if not self.parts or not self.parts[-1] or self.parts[-1][0] != "text":
                    self.parts.append(("text", []))
                self.parts[-1][1].append(line)
        self.parts = [p for p in self.parts if p]

    def options(self):
        """[(names, argument or None, description)] of the option lines."""
        out = []
        for kind, body in self.parts:
            if kind != "items":
                continue
            for term, desc in body:
                if not term.startswith("-"):
                    continue
                m = re.match(r"^(.*?--?[A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](\S+))?$", term)
                names = [n.strip() for n in m.group(1).split(",")]
                out.append((names, m.group(2), desc))
        return out

    def items(self):
        """[(word, description)] of the non-option items (a command list)."""
        return [(t, d) for kind, body in self.parts if kind == "items"
                for t, d in body if not t.startswith("-")]

    def usage_text(self):
        return " ".join(l.strip() for l in self.usage)[len("usage: "):]
