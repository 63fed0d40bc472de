"""Check one block body against its schema: arguments, nested and dynamic blocks, counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from skyplan.errors import Problem, Where, did_you_mean
from skyplan.validate.hcl import HclBlock
from skyplan.validate.schema import Attribute, Block

DYNAMIC_ARGS = frozenset({"for_each", "iterator", "labels"})


@dataclass(frozen=True)
class Scope:
    """Where a body sits: its file, block address, path inside the block and meta-arguments."""

    file: str
    address: str
    path: tuple[str, ...] = ()
    meta_args: frozenset[str] = frozenset()
    meta_blocks: frozenset[str] = frozenset()

    def where(self, line: int | None, *names: str) -> Where:
        """The place of `names` inside this body (the body itself when none)."""
        return Where(self.file, line, field=".".join((self.address, *self.path, *names)))

    def inner(self, name: str) -> Scope:
        """The scope of a nested block `name`, where meta-arguments no longer apply."""
        return replace(
            self, path=(*self.path, name), meta_args=frozenset(), meta_blocks=frozenset()
        )


def _allowed(names: Iterable[str]) -> str:
    """A short list of names for a hint."""
    items = sorted(names)
    more = ", ..." if len(items) > 12 else ""
    return ", ".join(items[:12]) + more if items else "none"


def _check_argument(name: str, line: int | None, schema: Block, scope: Scope) -> list[Problem]:
    """An argument must be a settable attribute or a meta-argument."""
    if name in scope.meta_args:
        return []
    attr = schema.attributes.get(name)
    where = scope.where(line, name)
    if attr is None:
        if name in schema.block_types or name in scope.meta_blocks:
            return [
                Problem(where, f"{name!r} is a block, not an argument", f"write {name} {{ ... }}")
            ]
        options = [n for n, a in schema.attributes.items() if a.settable]
        options += [*schema.block_types, *scope.meta_args]
        hint = did_you_mean(name, options) or f"remove it; arguments here: {_allowed(options)}"
        return [Problem(where, f"unknown argument {name!r}", hint)]
    if not attr.settable:
        read = ".".join((scope.address, *scope.path, name))
        hint = f"remove it; the provider sets it (read it as {read})"
        return [Problem(where, f"{name!r} is computed by the provider and cannot be set", hint)]
    return []


def _unwrap_dynamic(
    block: HclBlock, scope: Scope
) -> tuple[str | None, HclBlock | None, list[Problem]]:
    """(generated block name, content block, problems) of a `dynamic "name" {...}` block."""
    if len(block.labels) != 1:
        hint = 'write dynamic "BLOCK" { for_each = ... content { ... } }'
        return (
            None,
            None,
            [Problem(scope.where(block.line, "dynamic"), "dynamic needs one label", hint)],
        )
    name = block.labels[0]
    where = scope.where(block.line, name)
    problems: list[Problem] = []
    for attr in block.attributes:
        if attr.name not in DYNAMIC_ARGS:
            hint = did_you_mean(attr.name, DYNAMIC_ARGS) or f"allowed: {_allowed(DYNAMIC_ARGS)}"
            msg = f"unknown argument {attr.name!r} in dynamic {name!r}"
            problems.append(Problem(scope.where(attr.line, name, attr.name), msg, hint))
    if block.attribute("for_each") is None:
        problems.append(Problem(where, f"dynamic {name!r} has no for_each", "add for_each = ..."))
    contents = [b for b in block.blocks if b.type == "content"]
    for extra in block.blocks:
        if extra.type != "content":
            msg = f"unknown block {extra.type!r} in dynamic {name!r}"
            problems.append(Problem(scope.where(extra.line, name, extra.type), msg, "use content"))
    if len(contents) != 1:
        msg = f"dynamic {name!r} needs exactly one content block, found {len(contents)}"
        problems.append(Problem(where, msg, "put the generated arguments in one content { ... }"))
    return name, (contents[0] if contents else None), problems


def _check_child(
    name: str, body: HclBlock, line: int | None, schema: Block, scope: Scope
) -> list[Problem]:
    """A nested (or dynamic content) block must be a block type or an object-typed attribute."""
    if name in scope.meta_blocks:
        return []
    kind = schema.block_types.get(name)
    if kind is not None:
        return check_body(body, kind.block, scope.inner(name))
    attr: Attribute | None = schema.attributes.get(name)
    where = scope.where(line, name)
    if attr is not None and attr.fields is not None and attr.settable:
        # Terraform accepts list/set-of-object attributes written as blocks (attributes as blocks).
        return check_body(body, attr.fields, scope.inner(name))
    return _not_a_block(name, where, schema, scope)


def _not_a_block(name: str, where: Where, schema: Block, scope: Scope) -> list[Problem]:
    """The problem of a block `name` that is neither a block type nor an object attribute."""
    if name in schema.attributes or name in scope.meta_args:
        return [Problem(where, f"{name!r} is an argument, not a block", f"write {name} = ...")]
    options = [*schema.block_types, *(n for n, a in schema.attributes.items() if a.fields)]
    options += scope.meta_blocks
    hint = did_you_mean(name, options) or f"remove it; blocks here: {_allowed(options)}"
    return [Problem(where, f"unknown block {name!r}", hint)]


def _check_counts(
    schema: Block,
    literal: dict[str, list[HclBlock]],
    dynamic: set[str],
    body: HclBlock,
    scope: Scope,
) -> list[Problem]:
    """Blocks given literally must respect min_items and max_items (dynamic ones are uncounted)."""
    problems: list[Problem] = []
    for name, kind in schema.block_types.items():
        if name in dynamic:
            continue
        given = literal.get(name, [])
        if len(given) < kind.min_items:
            if given:
                msg = f"at least {kind.min_items} {name!r} blocks required, found {len(given)}"
            else:
                msg = f"missing required block {name!r}"
            problems.append(Problem(scope.where(body.line, name), msg, f"add {name} {{ ... }}"))
        most = kind.most
        if most is not None and len(given) > most:
            msg = f"too many {name!r} blocks: {len(given)} given, at most {most} allowed"
            hint = "merge them into one block" if most == 1 else f"keep at most {most}"
            problems.append(Problem(scope.where(given[most].line, name), msg, hint))
    return problems


def _check_blocks(
    body: HclBlock, schema: Block, scope: Scope
) -> tuple[list[Problem], dict[str, list[HclBlock]], set[str]]:
    """Problems of the nested blocks, the literal blocks by name and the dynamic block names."""
    problems: list[Problem] = []
    literal: dict[str, list[HclBlock]] = {}
    dynamic: set[str] = set()
    for child in body.blocks:
        if child.type != "dynamic":
            literal.setdefault(child.type, []).append(child)
            problems += _check_child(child.type, child, child.line, schema, scope)
            continue
        name, content, found = _unwrap_dynamic(child, scope)
        problems += found
        if name is None:
            continue
        dynamic.add(name)
        if content is not None:
            problems += _check_child(name, content, child.line, schema, scope)
            continue
        attr = schema.attributes.get(name)
        if name not in schema.block_types and (attr is None or attr.fields is None):
            problems += _not_a_block(name, scope.where(child.line, name), schema, scope)
    return problems, literal, dynamic


def check_body(body: HclBlock, schema: Block, scope: Scope) -> list[Problem]:
    """Every problem of `body` (and its nested blocks, recursively) against `schema`."""
    problems: list[Problem] = []
    for arg in body.attributes:
        problems += _check_argument(arg.name, arg.line, schema, scope)
    args = {a.name for a in body.attributes}
    if {"count", "for_each"} <= args and "count" in scope.meta_args:
        where = scope.where(body.line, "for_each")
        problems.append(Problem(where, "count and for_each cannot both be set", "keep one of them"))
    found, literal, dynamic = _check_blocks(body, schema, scope)
    problems += found
    given = args | set(literal) | dynamic
    for name, attr in schema.attributes.items():
        if attr.required and name not in given:
            msg = f"missing required argument {name!r}"
            problems.append(Problem(scope.where(body.line, name), msg, f"set {name} = ..."))
    return problems + _check_counts(schema, literal, dynamic, body, scope)
