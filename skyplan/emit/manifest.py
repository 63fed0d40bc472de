"""manifest.json: what the job runner executes, in order (schema: docs/manifest.md)."""

from __future__ import annotations

import json
from graphlib import TopologicalSorter
from typing import Any

from skyplan.emit.layout import DataRef, StackLayout, TransferStep
from skyplan.emit.naming import dataset_tag
from skyplan.emit.tools import copy
from skyplan.units import round_usd

MANIFEST_VERSION = 1


def _ref(r: DataRef) -> dict[str, Any]:
    return {"dataset": r.dataset, "env": r.env, "gb": float(r.gb), "uri": r.uri}


def _transfer(t: TransferStep) -> dict[str, Any]:
    src_region, dst_region = t.src.split(":", 1)[1], t.dst.split(":", 1)[1]
    commands = (
        [list(c) for c in copy(t.source, t.destination, src_region, dst_region)] if t.source else []
    )
    return {
        "id": t.id,
        "dataset": t.dataset,
        "from": t.src,
        "to": t.dst,
        "gb": float(t.gb),
        "source": t.source,
        "destination": t.destination,
        "after": [f"job:{j}" for j in t.after],
        "commands": commands,
        "run": t.run,
    }


def steps(layout: StackLayout) -> list[str]:
    """Every transfer and job as `transfer:<id>` / `job:<name>`, dependencies first; ties break
    by name so the order is stable."""
    graph: dict[str, set[str]] = {}
    for t in layout.transfers:
        graph[f"transfer:{t.id}"] = {f"job:{j}" for j in t.after}
    for j in layout.jobs:
        graph[f"job:{j.job.name}"] = {f"job:{d}" for d in j.depends_on} | {
            f"transfer:{t}" for t in j.transfers
        }
    order: list[str] = []
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += ready
        sorter.done(*ready)
    return order


def manifest_dict(layout: StackLayout) -> dict[str, Any]:
    """The manifest as plain data."""
    hosts = {c: layout.host_names(c) for c in layout.clouds()}
    return {
        "version": MANIFEST_VERSION,
        "stack": layout.stack,
        "storage": [
            {
                "cloud": b.cloud,
                "region": b.region,
                "bucket": b.name,
                "uri": b.uri,
                "datasets": list(layout.datasets_in(b)),
                "dataset_tag": dataset_tag(b.cloud, layout.datasets_in(b)),
            }
            for b in layout.buckets
        ],
        "jobs": [
            {
                "name": j.job.name,
                "instance": j.instance,
                "cloud": j.placement.cloud,
                "region": j.placement.region,
                "instance_type": j.placement.instance_type,
                "spot": j.placement.spot,
                "nodes": j.placement.nodes,
                "hosts": [
                    f"{hosts[j.placement.cloud][j.job.name]}-{i}" for i in range(j.placement.nodes)
                ],
                "hours": float(j.placement.hours),
                "usd": round_usd(j.placement.usd),
                "command": j.job.run,
                "inputs": [_ref(i) for i in j.inputs],
                "outputs": [_ref(o) for o in j.outputs],
                "dataset_tag": dataset_tag(j.placement.cloud, (o.dataset for o in j.outputs)),
                "after": [f"job:{d}" for d in j.depends_on]
                + [f"transfer:{t}" for t in j.transfers],
                "runs": j.runs_uri,
                "run": j.run,
            }
            for j in layout.jobs
        ],
        "transfers": [_transfer(t) for t in layout.transfers],
        "steps": steps(layout),
    }


def manifest_json(layout: StackLayout) -> str:
    """manifest.json text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(manifest_dict(layout), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
