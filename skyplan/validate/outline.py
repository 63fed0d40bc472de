"""Where each block and argument of an HCL file starts: a light scan for line numbers.

python-hcl2 8.x drops line information from its output (`with_meta` is accepted but ignored), so
the validator takes structure and values from python-hcl2 and only the lines from this scan. The
scan understands just enough HCL for that: strings with nested interpolations, heredocs, comments,
brackets, `name = expression` arguments and `type "label" ... {` blocks. It never raises: on input
it does not understand it returns fewer nodes, and the validator falls back to the enclosing line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n")
_KINDS = {**dict.fromkeys("{[(", "open"), **dict.fromkeys("}])", "close"), "=": "eq"}


@dataclass(frozen=True)
class Node:
    """A block or an argument of a body, with its 1-based line and, for a block, its children."""

    name: str
    line: int
    is_block: bool
    labels: tuple[str, ...] = ()
    children: tuple[Node, ...] = ()

    def blocks(self, name: str) -> tuple[Node, ...]:
        """The child blocks named `name`, in file order."""
        return tuple(c for c in self.children if c.is_block and c.name == name)

    def argument(self, name: str) -> Node | None:
        """The first child argument named `name`."""
        return next((c for c in self.children if not c.is_block and c.name == name), None)


@dataclass(frozen=True)
class _Tok:
    """One token: its kind, text and 1-based line."""

    kind: str  # nl, ident, str, open, close, eq, other
    text: str
    line: int


def _template_end(text: str, i: int) -> int:
    """Index just past the `}` closing an interpolation whose body starts at `i`."""
    depth = 1
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _string_end(text, i + 1)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def _string_end(text: str, i: int) -> int:
    """Index just past the `"` closing a quoted string whose content starts at `i`."""
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        elif text.startswith(("$${", "%%{"), i):
            i += 3
        elif text.startswith(("${", "%{"), i):
            i = _template_end(text, i + 2)
        elif text[i] == "\n":
            return i
        else:
            i += 1
    return len(text)


def _tokens(text: str) -> list[_Tok]:
    """The tokens the outline needs; everything else becomes 'other'."""
    toks: list[_Tok] = []
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        end = i + 1
        heredoc = _HEREDOC.match(text, i) if c == "<" else None
        ident = _IDENT.match(text, i)
        if c == "\n":
            toks.append(_Tok("nl", c, line))
        elif c in " \t\r":
            pass
        elif c == "#" or text.startswith("//", i):
            end = n if text.find("\n", i) < 0 else text.find("\n", i)
        elif text.startswith("/*", i):
            end = n if text.find("*/", i + 2) < 0 else text.find("*/", i + 2) + 2
        elif heredoc:
            closing = re.compile(rf"^[ \t]*{re.escape(heredoc[1])}[ \t]*$", re.M)
            found = closing.search(text, heredoc.end())
            end = found.end() if found else n
            toks.append(_Tok("str", text[i:end], line))
        elif c == '"':
            end = _string_end(text, i + 1)
            toks.append(_Tok("str", text[i:end], line))
        elif ident:
            end = ident.end()
            toks.append(_Tok("ident", ident[0], line))
        elif text.startswith(("==", "=>", "!=", "<=", ">="), i):
            end = i + 2
            toks.append(_Tok("other", text[i:end], line))
        else:
            toks.append(_Tok(_KINDS.get(c, "other"), c, line))
        line += text.count("\n", i, end)
        i = end
    return toks


def _skip_expression(toks: list[_Tok], i: int) -> int:
    """Index of the newline (or closing bracket) that ends the expression starting at `i`."""
    depth = 0
    while i < len(toks):
        kind = toks[i].kind
        if kind == "open":
            depth += 1
        elif kind == "close":
            if depth == 0:
                return i
            depth -= 1
        elif kind == "nl" and depth == 0:
            return i
        i += 1
    return i


def _body(toks: list[_Tok], i: int, nested: bool) -> tuple[list[Node], int]:
    """The nodes of the body starting at `i`, and the index after its closing brace."""
    nodes: list[Node] = []
    while i < len(toks):
        tok = toks[i]
        if tok.kind == "close" and nested:
            return nodes, i + 1
        if tok.kind != "ident":
            i += 1
            continue
        j = i + 1
        if j < len(toks) and toks[j].kind == "eq":
            nodes.append(Node(tok.text, tok.line, is_block=False))
            i = _skip_expression(toks, j + 1)
            continue
        labels: list[str] = []
        while j < len(toks) and toks[j].kind in ("str", "ident"):
            label = toks[j].text
            labels.append(label[1:-1] if label.startswith('"') else label)
            j += 1
        if j < len(toks) and toks[j].text == "{":
            children, i = _body(toks, j + 1, nested=True)
            nodes.append(Node(tok.text, tok.line, True, tuple(labels), tuple(children)))
        else:
            i = j
    return nodes, i


def outline(text: str) -> Node:
    """The block and argument structure of `text`, as the children of a root node at line 1."""
    nodes, _ = _body(_tokens(text), 0, nested=False)
    return Node("", 1, is_block=True, children=tuple(nodes))
