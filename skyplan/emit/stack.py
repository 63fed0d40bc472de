"""emit: a solved plan becomes every file of the stack folder (plan.json, manifest, modules)."""

from __future__ import annotations

from skyplan.emit.base import CloudInput, RenderedFile, emitter_for
from skyplan.emit.layout import stack_layout
from skyplan.emit.manifest import manifest_json
from skyplan.plan import Plan, plan_to_json
from skyplan.spec.model import SkySpec


def emit_stack(spec: SkySpec, plan: Plan, data_root: str = ".") -> tuple[RenderedFile, ...]:
    """Every generated file, sorted by path; `data_root` is the spec's folder relative to the
    output folder."""
    layout = stack_layout(spec, plan, data_root)
    files = [
        RenderedFile("plan.json", plan_to_json(plan)),
        RenderedFile("manifest.json", manifest_json(layout)),
    ]
    for cloud in layout.clouds():
        files += emitter_for(cloud).files(CloudInput(spec, layout, cloud))
    return tuple(sorted(files, key=lambda f: f.path))
