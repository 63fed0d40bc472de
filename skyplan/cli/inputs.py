"""Loading what a command needs: the catalog (flag, spec's `catalog:`, or embedded) and the spec."""

from __future__ import annotations

from pathlib import Path

from skyplan.catalog.models import Catalog
from skyplan.spec.model import SkySpec


def load_catalog_option(catalog_dir: Path | None) -> Catalog:
    """The catalog in `catalog_dir`, or the embedded default."""
    from skyplan.catalog.load import load_catalog, load_embedded_catalog

    return load_catalog(catalog_dir) if catalog_dir is not None else load_embedded_catalog()


def load_spec_and_catalog(
    spec_path: Path, catalog_dir: Path | None, env: str | None = None
) -> tuple[SkySpec, Catalog]:
    """Read sky.yaml, pick its catalog (--catalog wins over `catalog:`), resolve the spec as
    environment `env` sees it."""
    import contextlib

    from skyplan.errors import InputError
    from skyplan.spec.envs import env_view
    from skyplan.spec.load import load_parsed_spec
    from skyplan.spec.resolve import catalog_dir_of, raise_spec_problems, resolve

    parsed = load_parsed_spec(spec_path)
    if parsed.problems or parsed.raw is None:
        # check what did validate against the catalog too, so one run shows every problem
        partial: Catalog | None = None
        if parsed.raw is not None and ("catalog",) not in parsed.dropped:
            # a catalog that does not load: the spec's own problems first, the catalog's later
            with contextlib.suppress(InputError):
                partial = load_catalog_option(catalog_dir or catalog_dir_of(parsed.raw, spec_path))
        raise_spec_problems(parsed, partial)
    raw, located = env_view(parsed.raw, parsed.located, env)
    catalog = load_catalog_option(catalog_dir or catalog_dir_of(raw, spec_path))
    return resolve(raw, located, catalog), catalog


def default_out(spec_path: Path, stack: str, env: str | None) -> Path:
    """Where a stack's files go without --out: the spec's own folder when the spec already is
    `stacks/<name>/sky.yaml` (from whatever folder the user runs skyplan), else `stacks/<name>/`
    under the current folder; an environment (whose stack is `<name>-<env>`) adds `<env>/`."""
    import os

    name = stack.removesuffix(f"-{env}") if env is not None else stack
    folder = Path(os.path.abspath(spec_path)).parent  # no symlink resolution: where it is named
    home = spec_path.parent if folder.name == name and folder.parent.name == "stacks" else None
    base = home if home is not None else Path("stacks") / name
    return base if env is None else base / env
