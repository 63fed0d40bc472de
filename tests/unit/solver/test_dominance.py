"""Exact pruning keeps every option an optimal plan could need, and drops the rest."""

from __future__ import annotations

from pathlib import Path

from skyplan.catalog import load_embedded_catalog
from skyplan.solver.candidates import build_candidates, prune
from skyplan.spec.resolve import load_spec


def _spec(tmp_path: Path, body: str):
    path = tmp_path / "sky.yaml"
    path.write_text("version: 1\nname: dom\n" + body, encoding="utf-8")
    return load_spec(path, load_embedded_catalog())


def test_job_next_to_big_data_keeps_only_cheaper_regions(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        "datasets:\n  big: {size: 2TB, location: 'aws:eu-west-1'}\n"
        "jobs:\n  read: {run: x, hours: 1, resources: {cpus: 2}, inputs: [big]}\n",
    )
    cat = load_embedded_catalog()
    before = build_candidates(spec, cat)["read"]
    after = prune(spec, cat).jobs[0].options
    home = next(o for o in after if o.region == "aws:eu-west-1")
    assert len(after) < len(before) / 2
    # moving next to the data costs no copy, so anything dearer than running there is dropped
    assert all(o.micro <= home.micro for o in after)


def test_producer_with_readers_keeps_regions_a_move_could_not_beat(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        "jobs:\n"
        "  make: {run: x, hours: 1, resources: {cpus: 2}, outputs: {blob: 5TB}}\n"
        "  use: {run: y, hours: 1, resources: {cpus: 2}, inputs: [blob], regions: ['gcp:*']}\n",
    )
    cat = load_embedded_catalog()
    make = {o.region for o in prune(spec, cat).jobs[0].options}
    # the reader is pinned to gcp: the producer must keep gcp regions, where the 5 TB copy is
    # cheapest or free, even though other clouds have cheaper machines
    assert any(r.startswith("gcp:") for r in make)


def test_pruning_does_not_change_the_optimum(tmp_path: Path) -> None:
    from skyplan.solver.solve import solve

    spec = _spec(
        tmp_path,
        "datasets:\n  a: {size: 800GB, location: 'azure:westeurope'}\n"
        "  b: {size: 50GB, location: 'gcp:us-central1'}\n"
        "jobs:\n"
        "  one: {run: x, hours: 3, resources: {cpus: 16}, inputs: [a], outputs: {mid: 300GB}}\n"
        "  two: {run: y, hours: 2, resources: {accelerators: 'T4:1'}, inputs: [mid, b]}\n",
    )
    cat = load_embedded_catalog()
    plan = solve(spec, cat)
    # brute force over the unpruned candidates of both jobs
    from skyplan.solver.costs import transfers_for

    opts = build_candidates(spec, cat)
    best = min(
        o1.usd
        + o2.usd
        + sum(t.usd for t in transfers_for(spec, cat, {"one": o1.region, "two": o2.region}))
        for o1 in opts["one"]
        for o2 in opts["two"]
    )
    assert abs(plan.total_usd - best) < 1e-5
