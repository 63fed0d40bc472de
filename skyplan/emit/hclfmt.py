"""Canonical `terraform fmt` layout for the HCL skyplan renders, without needing terraform.

terraform fmt (hclwrite) indents by two spaces per open bracket and aligns the `=` of runs of
consecutive one-line attribute assignments. A line whose value opens a multi-line expression, a
block header, a closing bracket, a blank line or a comment ends a run. The tests check every file
skyplan emits against the real `terraform fmt -check`.
"""

from __future__ import annotations

import re

_ASSIGN = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_-]*|\"[^\"]*\")\s*=(?!=)\s*(?P<value>.*)$")


#: A string literal without interpolations (its brackets never count): emptied in one pass.
_PLAIN_STRING = re.compile(r'"(?:[^"\\$%]|\\.|\$(?!\{)|%(?!\{))*"')


def _strip_strings(text: str) -> str:
    """`text` with the contents of string literals blanked out, keeping `${`/`%{` brackets."""
    if '"' in text:
        text = _PLAIN_STRING.sub('""', text)
    if '"' not in text.replace('""', "") and "#" not in text and "//" not in text:
        return text
    out: list[str] = []
    i, in_str, depth = 0, False, 0
    while i < len(text):
        c = text[i]
        if not in_str:
            if c == '"':
                in_str = True
            elif c == "#" or text.startswith("//", i):
                break
            out.append(c)
        elif depth == 0 and c == "\\":
            i += 1
        elif text.startswith(("${", "%{"), i) and not text.startswith(("$${", "%%{"), i - 1):
            out.append("{")
            depth += 1
            i += 1
        elif depth and c == "}":
            out.append("}")
            depth -= 1
        elif depth == 0 and c == '"':
            in_str = False
        i += 1
    return "".join(out)


def _net_brackets(text: str) -> int:
    bare = _strip_strings(text)
    return sum(bare.count(c) for c in "([{") - sum(bare.count(c) for c in ")]}")


def _indent(text: str) -> list[tuple[int, str, int]]:
    """(depth, stripped line, net brackets) per line, depth -1 for one kept blank line;
    hclwrite's rule: a line with more openers than closers indents what follows by one level,
    however many it opens."""
    lines: list[tuple[int, str, int]] = []
    stack: list[int] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            if lines and lines[-1][0] >= 0 and lines[-1][2] <= 0:
                lines.append((-1, "", 0))
            continue
        net = _net_brackets(line)
        if net < 0:
            closed = -net
            while closed > 0 and stack:
                if closed >= stack[-1]:
                    closed -= stack.pop()
                else:
                    stack[-1] -= closed
                    closed = 0
            if lines and lines[-1][0] < 0:
                lines.pop()  # no blank line before a closing bracket
        lines.append((len(stack), line, net))
        if net > 0:
            stack.append(net)
    while lines and lines[-1][0] < 0:
        lines.pop()
    return lines


def format_hcl(text: str) -> str:
    """Re-indent `text` and align the `=` of attribute runs the way terraform fmt does."""
    lines = _indent(text)
    out: list[str] = []
    run: list[tuple[int, str, str]] = []

    def flush() -> None:
        width = max((len(k) for _, k, _ in run), default=0)
        out.extend(f"{'  ' * d}{k.ljust(width)} = {v}" for d, k, v in run)
        run.clear()

    for d, line, net in lines:
        m = _ASSIGN.match(line)
        # an assignment's key holds no brackets (strings are blanked), so the line's count is
        # its value's
        if m and net == 0:
            if run and run[-1][0] != d:
                flush()
            run.append((d, m.group("key"), m.group("value")))
            continue
        flush()
        if m:
            line = f"{m.group('key')} = {m.group('value')}"
        out.append("" if d < 0 else "  " * d + line)
    flush()
    return "\n".join(out).rstrip("\n") + "\n"
