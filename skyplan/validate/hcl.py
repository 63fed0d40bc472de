"""Read a .tf file with python-hcl2 (7.x or 8.x) into one frozen, version-independent block tree."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skyplan.errors import Problem, Where
from skyplan.validate.outline import Node, outline

# Labels per block type, used only when python-hcl2 marks no blocks (7.x) and the scan failed.
_LABELS = {"resource": 2, "data": 2, "provider": 1, "dynamic": 1, "provisioner": 1, "module": 1}
_MARK = "__is_block__"
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class HclAttribute:
    """One `name = value` argument; strings are unquoted, expressions stay as `${...}` text."""

    name: str
    value: object
    line: int | None


@dataclass(frozen=True)
class HclBlock:
    """One block: type, labels, arguments and nested blocks, with the line of its header."""

    type: str
    labels: tuple[str, ...]
    attributes: tuple[HclAttribute, ...]
    blocks: tuple[HclBlock, ...]
    line: int | None

    def attribute(self, name: str) -> HclAttribute | None:
        """The argument named `name`, if set."""
        return next((a for a in self.attributes if a.name == name), None)


@dataclass(frozen=True)
class HclFile:
    """The top-level blocks of one parsed .tf file."""

    path: str
    blocks: tuple[HclBlock, ...]


def _loads(text: str) -> dict[str, Any]:
    """python-hcl2's dict for `text`, asking 8.x to leave comments out."""
    import hcl2  # loads a lark grammar: only when validating

    options = getattr(hcl2, "SerializationOptions", None)  # 8.x; 7.x has no options object
    if options is not None and "serialization_options" in inspect.signature(hcl2.loads).parameters:
        return dict(hcl2.loads(text, serialization_options=options(with_comments=False)))
    return dict(hcl2.loads(text))


def _unquote(text: str) -> str:
    """A quoted HCL string literal as its value (8.x keeps the quotes, 7.x strips them)."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return _ESCAPE.sub(lambda m: _ESCAPES.get(m[1], m[1]), text[1:-1])
    return text


def _plain(value: object) -> object:
    """A value with every quoted string literal unquoted, recursively."""
    if isinstance(value, str):
        return _unquote(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {
            _unquote(str(k)): _plain(v) for k, v in value.items() if not str(k).startswith("__")
        }
    return value


def _keys(raw: Mapping[str, Any]) -> list[str]:
    """The keys of a python-hcl2 dict without its metadata entries (`__is_block__`, comments)."""
    return [k for k in raw if not k.startswith("__")]


def _marked(item: object) -> bool:
    """True when `item` is a block python-hcl2 8.x marked as such (possibly under its labels)."""
    while isinstance(item, dict):
        if _MARK in item:
            return True
        keys = _keys(item)
        if len(keys) != 1:
            return False
        item = item[keys[0]]
    return False


def _is_blocks(value: object, name: str, node: Node | None, explicit: bool) -> bool:
    """True when the entry `name: value` of a body holds blocks rather than an argument."""
    if not (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
        return False
    if explicit:
        return all(_marked(v) for v in value)
    # 7.x: a list of objects is either blocks or an argument; the scanned text decides.
    return node is None or bool(node.blocks(name))


def _block(kind: str, item: Mapping[str, Any], node: Node | None, explicit: bool) -> HclBlock:
    """One block from its python-hcl2 dict (labels nested as single-key dicts around the body)."""
    labels: list[str] = []
    body = item
    want = len(node.labels) if node is not None else _LABELS.get(kind, 0)
    while (_MARK not in body) if explicit else (len(labels) < want):
        keys = _keys(body)
        if len(keys) != 1 or not isinstance(body[keys[0]], dict):
            break
        labels.append(_unquote(keys[0]))
        body = body[keys[0]]
    attrs, blocks = _body(body, node, explicit)
    return HclBlock(kind, tuple(labels), attrs, blocks, node.line if node else None)


def _body(
    raw: Mapping[str, Any], node: Node | None, explicit: bool
) -> tuple[tuple[HclAttribute, ...], tuple[HclBlock, ...]]:
    """Arguments and nested blocks of one body, each with its line from the scan."""
    attrs: list[HclAttribute] = []
    blocks: list[HclBlock] = []
    for key in _keys(raw):
        value = raw[key]
        if _is_blocks(value, key, node, explicit):
            found = node.blocks(key) if node is not None else ()
            for i, item in enumerate(value):
                blocks.append(_block(key, item, found[i] if i < len(found) else None, explicit))
        else:
            arg = node.argument(key) if node is not None else None
            line = arg.line if arg is not None else (node.line if node is not None else None)
            attrs.append(HclAttribute(key, _plain(value), line))
    return tuple(attrs), tuple(blocks)


def _parse_problem(path: str, exc: Exception) -> Problem:
    """A parse failure as a problem, with the line and column lark reports when it has them."""
    line = getattr(exc, "line", None)
    column = getattr(exc, "column", None)
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    first = re.sub(r",? at line \d+, column \d+\.?$", "", first)
    return Problem(
        Where(path, line if isinstance(line, int) and line > 0 else None, column or None),
        f"not valid HCL: {first}",
        "fix the syntax here; `terraform fmt` reports the same place",
    )


def parse_file(path: Path) -> HclFile | Problem:
    """The blocks of one .tf file, or the problem that stops it from being parsed."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Problem(Where(name), f"cannot read: {exc}", "save the file as UTF-8 text")
    try:
        raw = _loads(text)
    except Exception as exc:  # lark raises several error types; 7.x raises RuntimeError too
        return _parse_problem(name, exc)
    explicit = any(_is_blocks(v, k, None, True) for k, v in raw.items())
    _, blocks = _body(raw, outline(text), explicit)
    return HclFile(name, blocks)
