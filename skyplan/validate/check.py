"""Validate the .tf files of a folder, or of a tree of folders, against the shipped schemas."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from skyplan.errors import InputError, Problem, Where, did_you_mean
from skyplan.validate.body import Scope, check_body
from skyplan.validate.hcl import HclBlock, HclFile, parse_file
from skyplan.validate.schema import ProviderSchema, all_types, provider_names, provider_schema
from skyplan.validate.types import provider_name

META_ARGS = {
    "resource": frozenset({"count", "for_each", "provider", "depends_on"}),
    "data": frozenset({"count", "for_each", "provider", "depends_on"}),
}
META_BLOCKS = {
    "resource": frozenset({"lifecycle", "provisioner", "connection"}),
    "data": frozenset({"lifecycle"}),
}
PROVIDER_META_ARGS = frozenset({"alias", "version"})


@dataclass(frozen=True)
class ValidationReport:
    """What validating a tree checked (folders, top-level blocks) and every problem found."""

    root: str
    folders: tuple[str, ...]
    blocks: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


@dataclass
class _Folder:
    """What one folder's files add up to (local to a single validate_dir call)."""

    blocks: int = 0
    problems: list[Problem] = field(default_factory=list)
    used: dict[str, Where] = field(default_factory=dict)
    required: dict[str, tuple[object, Where]] = field(default_factory=dict)


def _typed_block(block: HclBlock, file: str, folder: _Folder) -> None:
    """Check one `resource` or `data` block against the schema of its provider."""
    kind = block.type
    if len(block.labels) != 2:
        hint = f'write {kind} "TYPE" "NAME" {{ ... }}'
        folder.problems.append(Problem(Where(file, block.line), f"{kind} needs two labels", hint))
        return
    type_name, name = block.labels
    address = f"{type_name}.{name}" if kind == "resource" else f"data.{type_name}.{name}"
    where = Where(file, block.line, field=address)
    word = "resource" if kind == "resource" else "data source"
    schema = provider_schema(provider_name(type_name))
    if schema is None:
        hint = did_you_mean(type_name, all_types()) or (
            f"skyplan checks only the providers {', '.join(provider_names())}"
        )
        msg = f"no offline schema for the provider of {word} type {type_name!r}"
        folder.problems.append(Problem(where, msg, hint))
        return
    if not schema.builtin:
        folder.used.setdefault(schema.name, where)
    table, other = (
        (schema.resources, schema.data_sources)
        if kind == "resource"
        else (schema.data_sources, schema.resources)
    )
    found = table.get(type_name)
    if found is None:
        folder.problems.append(_unknown_type(type_name, word, where, schema, type_name in other))
        return
    scope = Scope(file, address, meta_args=META_ARGS[kind], meta_blocks=META_BLOCKS[kind])
    folder.problems += check_body(block, found, scope)


def _unknown_type(
    type_name: str, word: str, where: Where, schema: ProviderSchema, other_kind: bool
) -> Problem:
    """The problem of a type missing from the shipped schema of its provider."""
    table = schema.resources if word == "resource" else schema.data_sources
    if other_kind:
        block, what = ("data", "data source") if word == "resource" else ("resource", "resource")
        hint = f'{type_name} is a {what}: write {block} "{type_name}" ...'
    else:
        hint = did_you_mean(type_name, table) or (
            f"if it is a real {schema.source} type, add it to skyplan/validate/types.py and run "
            "scripts/build_provider_schemas.py"
        )
    return Problem(where, f"unknown {word} type {type_name!r} in {schema.label}", hint)


def _provider_block(block: HclBlock, file: str, folder: _Folder) -> None:
    """Check a `provider` block's arguments when the provider's configuration schema is shipped."""
    if len(block.labels) != 1:
        hint = 'write provider "NAME" { ... }'
        folder.problems.append(Problem(Where(file, block.line), "provider needs one label", hint))
        return
    schema = provider_schema(block.labels[0])
    if schema is None:
        return
    address = f"provider.{schema.name}"
    if not schema.builtin:
        folder.used.setdefault(schema.name, Where(file, block.line, field=address))
    if schema.provider is not None:
        scope = Scope(file, address, meta_args=PROVIDER_META_ARGS)
        folder.problems += check_body(block, schema.provider, scope)


def _required_providers(block: HclBlock, file: str, folder: _Folder) -> None:
    """Record the entries of `terraform { required_providers { ... } }`."""
    for inner in block.blocks:
        if inner.type != "required_providers":
            continue
        for attr in inner.attributes:
            source = attr.value.get("source") if isinstance(attr.value, dict) else None
            where = Where(file, attr.line, field=f"terraform.required_providers.{attr.name}")
            folder.required.setdefault(attr.name, (source, where))


def _normal_source(source: str) -> str:
    """A provider source address without its default registry host, lower case."""
    return source.lower().removeprefix("registry.terraform.io/")


def _check_required(folder: _Folder) -> None:
    """Every provider used must have a required_providers entry with the expected source."""
    for name in sorted(folder.used):
        schema = provider_schema(name)
        if schema is None:
            continue
        entry = folder.required.get(name)
        if entry is None:
            major = schema.version.split(".")[0]
            hint = (
                f'add {name} = {{ source = "{schema.source}", version = "~> {major}.0" }} '
                "to terraform { required_providers { ... } }"
            )
            msg = f"provider {name!r} has no entry in required_providers"
            folder.problems.append(Problem(folder.used[name], msg, hint))
            continue
        source, where = entry
        # A version-only entry (legacy string form) means hashicorp/<name>, as Terraform reads it.
        if source is not None and _normal_source(str(source)) != schema.source:
            msg = f"provider {name!r} has source {source!r}, expected {schema.source!r}"
            folder.problems.append(Problem(where, msg, f'set source = "{schema.source}"'))


def _check_files(files: list[HclFile]) -> _Folder:
    """Every problem of a folder's parsed files, and how many blocks were checked."""
    folder = _Folder()
    for parsed in files:
        for block in parsed.blocks:
            if block.type in ("resource", "data"):
                folder.blocks += 1
                _typed_block(block, parsed.path, folder)
            elif block.type == "provider":
                folder.blocks += 1
                _provider_block(block, parsed.path, folder)
            elif block.type == "terraform":
                _required_providers(block, parsed.path, folder)
    _check_required(folder)
    return folder


def _check_folder(path: Path) -> tuple[int, tuple[Problem, ...]]:
    """(blocks checked, problems) for the .tf files directly inside `path`."""
    parsed: list[HclFile] = []
    unparsed: list[Problem] = []
    for tf in sorted(p for p in path.glob("*.tf") if p.is_file()):
        result = parse_file(tf)
        if isinstance(result, Problem):
            unparsed.append(result)
        else:
            parsed.append(result)
    folder = _check_files(parsed)
    found = sorted((*unparsed, *folder.problems), key=_file_order)
    return folder.blocks, tuple(found)


def _file_order(problem: Problem) -> tuple[str, int]:
    """Sort key putting problems in file, then line order (stable for problems on one line)."""
    where = problem.where
    return (where.file, where.line or 0) if where is not None else ("", 0)


def _folder_of(path: str | Path) -> Path:
    """`path` as a folder, or an InputError saying it is not one."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(
            f"{folder} is not a folder",
            where=Where(str(folder)),
            hint="pass the folder that holds the generated .tf files",
        )
    return folder


def validate_dir(path: str | Path) -> tuple[Problem, ...]:
    """Every problem of the .tf files directly inside folder `path` (not its subfolders)."""
    return _check_folder(_folder_of(path))[1]


def tf_folders(root: str | Path) -> tuple[Path, ...]:
    """`root` and each folder below it that holds .tf files, in walk order (sorted, hidden
    folders like .terraform skipped): every Terraform module of a stack folder, the modules of
    its environments (`stacks/genomics/prod/gcp`) included."""
    found: list[Path] = []
    for here, dirs, files in os.walk(_folder_of(root)):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if any(f.endswith(".tf") for f in files):
            found.append(Path(here))
    return tuple(found)


def validate_tree(root: str | Path) -> ValidationReport:
    """Validate `root` and each subfolder with .tf files (hidden ones like .terraform skipped)."""
    top = _folder_of(root)
    folders: list[str] = []
    blocks = 0
    problems: list[Problem] = []
    for here in tf_folders(top):
        count, found = _check_folder(here)
        folders.append(str(here))
        blocks += count
        problems += found
    return ValidationReport(str(top), tuple(folders), blocks, tuple(problems))
