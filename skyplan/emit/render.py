"""Render the templates shipped in the package (jinja2, StrictUndefined): they only place values."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from skyplan.emit.hclfmt import format_hcl

LIST_WIDTH = 72  # longer lists are written one item per line


def hcl_string(value: str) -> str:
    """A quoted HCL string literal: JSON escapes plus `${` and `%{` kept literal."""
    return json.dumps(value, ensure_ascii=False).replace("${", "$${").replace("%{", "%%{")


def hcl_value(value: Any) -> str:
    """An HCL literal for a str, bool, int, list or map (maps with sorted keys)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return hcl_string(value)
    if isinstance(value, list | tuple):
        items = [hcl_value(v) for v in value]
        one_line = "[" + ", ".join(items) + "]"
        if len(items) < 2 or len(one_line) <= LIST_WIDTH:
            return one_line
        return "[\n" + "".join(f"{i},\n" for i in items) + "]"  # one per line: diffs well
    if isinstance(value, dict):
        if not value:
            return "{}"
        body = "\n".join(f"{hcl_string(str(k))} = {hcl_value(v)}" for k, v in sorted(value.items()))
        return "{\n" + body + "\n}"
    raise TypeError(f"no HCL literal for {type(value).__name__}")


def bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs (compiling them costs a fifth of a second per
    `skyplan plan`), in `$XDG_CACHE_HOME/skyplan/` (default `~/.cache/skyplan/`).

    jinja2 keys each entry by the template's source checksum, so an edited or upgraded template
    is compiled afresh. The cache is used only when the folder is this user's and nobody else
    can write to it (it holds code); otherwise, or with SKYPLAN_NO_CACHE set, templates are
    compiled every run."""
    if os.environ.get("SKYPLAN_NO_CACHE"):
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "skyplan" / f"jinja2-{jinja2.__version__}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja2 environment over `skyplan/templates/`."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("skyplan", "templates"),
        bytecode_cache=bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["hcl"] = hcl_value
    env.filters["q"] = hcl_string
    return env


def render(template: str, variables: dict[str, Any]) -> str:
    """Render one template with the emitter's variables."""
    return environment().get_template(template).render(**variables)


def render_hcl(template: str, variables: dict[str, Any]) -> str:
    """Render a `.tf.j2` template into canonical `terraform fmt` layout."""
    return format_hcl(render(template, variables))
