"""YAML to plain data plus a map from each value's path to its line and column."""

from __future__ import annotations

from pathlib import Path

import yaml

from skyplan.errors import Problem, SpecError, Where

PathKey = tuple[str | int, ...]
MAX_DEPTH = 40
MAX_VALUES = 500_000


class Located:
    """Parsed YAML data with positions: `where(path)` names the line of any value or key."""

    def __init__(self, file: str, data: object, positions: dict[PathKey, tuple[int, int]]):
        self.file = file
        self.data = data
        self._positions = positions

    def where(self, path: PathKey, field: str | None = None) -> Where:
        """The closest known position of `path` (walking up to its parents)."""
        idx = self._positions
        p = tuple(path)
        while p and p not in idx:
            p = p[:-1]
        line, col = idx.get(p, (None, None))
        name = field if field is not None else dotted(path)
        return Where(self.file, line, col, name or None)


def dotted(path: PathKey) -> str:
    """`jobs.align.resources.cpus` / `jobs.align.inputs[1]` from a path tuple."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _entries(
    node: yaml.MappingNode,
    path: PathKey,
    loader: yaml.SafeLoader,
    problems: list[Problem],
    file: str,
) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """A mapping's key -> (key node, value node), with `<<: *anchor` merge keys applied."""
    own = {id(key_node) for key_node, _ in node.value}
    # as PyYAML's SafeConstructor does: merged pairs go first, so the mapping's own keys win
    loader.flatten_mapping(node)
    entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
        if not isinstance(key, str | int | float | bool) or key is None:
            problems.append(Problem(Where(file, line), "keys must be plain names"))
            continue
        key = str(key) if not isinstance(key, str) else key
        if key in entries and id(key_node) in own and id(entries[key][0]) in own:
            problems.append(
                Problem(
                    Where(file, line, col, dotted((*path, key))),
                    f"duplicate key {key!r}",
                    "each key may appear once in a mapping; merge the two entries",
                )
            )
            continue
        entries[key] = (key_node, value_node)
    return entries


def _walk(
    node: yaml.Node,
    path: PathKey,
    loader: yaml.SafeLoader,
    pos: list[tuple[PathKey, int, int]],
    problems: list[Problem],
    file: str,
) -> object:
    pos.append((path, node.start_mark.line + 1, node.start_mark.column + 1))
    if len(path) > MAX_DEPTH or len(pos) > MAX_VALUES:
        # a recursive alias, or aliases that multiply into a huge document ("billion laughs")
        what = "is nested too deeply" if len(path) > MAX_DEPTH else "has too many values"
        raise SpecError(
            [
                Problem(
                    Where(file, node.start_mark.line + 1, node.start_mark.column + 1),
                    f"the document {what} (a recursive or repeated alias?)",
                    "write the values out instead of through aliases",
                )
            ]
        )
    if isinstance(node, yaml.MappingNode):
        out: dict[object, object] = {}
        for key, (key_node, value_node) in _entries(node, path, loader, problems, file).items():
            pos.append(((*path, key), key_node.start_mark.line + 1, key_node.start_mark.column + 1))
            out[key] = _walk(value_node, (*path, key), loader, pos, problems, file)
            # the value's own position wins for scalars written on the key's line
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _walk(child, (*path, i), loader, pos, problems, file)
            for i, child in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def load_yaml(path: Path, text: str | None = None) -> Located:
    """Parse YAML; syntax errors and duplicate keys become a SpecError with line and column."""
    file = str(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError(
                [Problem(Where(file), "file not found", "check the path to sky.yaml")]
            ) from None
        except (OSError, UnicodeDecodeError) as e:
            raise SpecError([Problem(Where(file), f"cannot read: {e}")]) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError(
                [Problem(Where(file, 1), "the file is empty", "start with `version: 1`")]
            )
        pos: list[tuple[PathKey, int, int]] = []
        problems: list[Problem] = []
        data = _walk(node, (), loader, pos, problems, file)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = Where(file, mark.line + 1, mark.column + 1) if mark else Where(file)
        msg = f"invalid YAML: {e.problem or e.context}"
        raise SpecError(
            [Problem(where, msg, "check the indentation and quoting on that line")]
        ) from None
    except yaml.YAMLError as e:
        raise SpecError([Problem(Where(file), f"invalid YAML: {e}")]) from None
    finally:
        loader.dispose()
    if problems:
        raise SpecError(problems)
    # keys point at the key; keep the first position recorded per path (the key's)
    first: dict[PathKey, tuple[int, int]] = {}
    for p, line, col in pos:
        first.setdefault(p, (line, col))
    return Located(file, data, first)
