"""Render the templates shipped in the package (jinja2, StrictUndefined): they only place values."""

from __future__ import annotations

import json
from functools import lru_cache
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


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja2 environment over `skyplan/templates/`."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("skyplan", "templates"),
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
