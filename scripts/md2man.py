#!/usr/bin/env python3
"""md2man.py - turns a man page written in markdown (docs/*.1.md) into roff.

    python3 scripts/md2man.py docs/heapanalyze.1.md > docs/heapanalyze.1

Handles the subset the project's pages use: a "# name(1)" title, "##"
sections, "###" subsections, paragraphs, `code`, *emphasis*, **strong**,
"- " lists, definition lists ("`term`" then ":   text" lines), indented code
blocks and pipe tables (rendered as indented rows). Nothing else.
"""
import re
import sys


def esc(text):
    """Escapes roff's special characters in running text."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return text


def inline(text):
    """Markdown inline markup to roff font changes."""
    out = []
    pos = 0
    for m in re.finditer(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*", text):
        out.append(esc(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + esc(m.group(1)) + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fB" + esc(m.group(2)) + "\\fR")
        else:
            out.append("\\fI" + esc(m.group(3)) + "\\fR")
        pos = m.end()
    out.append(esc(text[pos:]))
    line = "".join(out)
    if line.startswith(".") or line.startswith("'"):
        line = "\\&" + line
    return line


def convert(lines, source):
    out = []
    title = re.match(r"#\s+([\w.-]+)\((\d)\)", lines[0]) if lines else None
    if not title:
        sys.exit(f"{source}: the first line must be '# name(N)'")
    name, sect = title.group(1), title.group(2)
    out.append(f'.\\" Generated from {source} by scripts/md2man.py; edit that file.')
    out.append(f'.TH {name.upper()} {sect} "" "heapprof" "User Commands"')
    i = 1
    para = []

    def flush():
        if para:
            out.append(".PP")
            out.append(inline(" ".join(para)))
            para.clear()

    while i < len(lines):
        line = lines[i].rstrip("\n")
        if line.startswith("### "):
            flush()
            out.append(".SS " + inline(line[4:]))
        elif line.startswith("## "):
            flush()
            out.append(".SH " + inline(line[3:].upper()))
        elif line.startswith("    ") and not para:
            block = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                block.append(lines[i].rstrip("\n")[4:])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            out.append(".PP")
            out.append(".RS 4")
            out.append(".nf")
            out.extend(esc(b) if not b.startswith(".") else "\\&" + esc(b) for b in block)
            out.append(".fi")
            out.append(".RE")
            continue
        elif line.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            for r, cells in enumerate(rows):
                if r == 0:
                    continue  # the header row: the cells speak for themselves
                out.append(".TP")
                out.append(inline(cells[0]))
                out.append(inline(" \u2014 ".join(cells[1:]) if len(cells) > 2 else cells[1]))
            continue
        elif line.startswith("- "):
            flush()
            item = [line[2:]]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                item.append(lines[i].strip())
                i += 1
            out.append(".IP \\(bu 2")
            out.append(inline(" ".join(item)))
            continue
        elif i + 1 < len(lines) and lines[i + 1].startswith(":   ") and line.strip():
            flush()
            out.append(".TP")
            out.append(inline(line.strip()))
            i += 1
            body = [lines[i][4:].strip()]
            i += 1
            while i < len(lines) and lines[i].startswith("    ") and lines[i].strip():
                body.append(lines[i].strip())
                i += 1
            out.append(inline(" ".join(body)))
            continue
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: md2man.py PAGE.N.md > PAGE.N")
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = f.readlines()
    sys.stdout.write(convert(lines, sys.argv[1]))


if __name__ == "__main__":
    main()
