"""Synthetic sky specs for the benchmarks: N jobs, N/5 data sets, a DAG about 5 deep."""

from __future__ import annotations

import random
from typing import Any

from skyplan.catalog.models import Catalog

GPUS = [
    ("T4", 1),
    ("T4", 4),
    ("A10G", 1),
    ("L4", 1),
    ("V100", 1),
    ("A100", 1),
    ("A100", 8),
    ("H100", 8),
]
SIZES = ["20GB", "150GB", "500GB", "1TB", "2TB", "5TB"]
LAYERS = 5
DATA_REGIONS = 12


def synthetic_spec(n_jobs: int, catalog: Catalog, seed: int = 7) -> dict[str, Any]:
    """A spec dict shaped like sky.yaml, deterministic for a given size and seed."""
    rng = random.Random(seed * 1_000_003 + n_jobs)
    # An organisation keeps its data in a handful of regions (its "data regions"), spread over
    # the three clouds and continents; jobs may run anywhere in the catalog.
    offered = sorted({o.region_key for o in catalog.offerings if o.cloud != "local"})
    homes = rng.sample(offered, k=min(len(offered), DATA_REGIONS))
    eu = [k for k in homes if "EU" in catalog.region_by_key[k].tags] or sorted(
        k for k in offered if "EU" in catalog.region_by_key[k].tags
    )[:2]
    n_data = max(1, n_jobs // 5)
    n_external = max(1, n_data // 2)
    datasets: dict[str, Any] = {}
    for i in range(n_external):
        sovereign = rng.random() < 0.2
        datasets[f"src{i}"] = {
            "size": rng.choice(SIZES),
            "location": rng.choice(eu if sovereign else homes),
            **({"jurisdictions": ["EU"]} if sovereign else {}),
        }
    readable: list[list[str]] = [list(datasets)] + [[] for _ in range(LAYERS)]
    jobs: dict[str, Any] = {}
    produced = 0
    for i in range(n_jobs):
        layer = i * LAYERS // n_jobs
        pool = [d for lay in readable[: layer + 1] for d in lay]
        job: dict[str, Any] = {"run": f"./step{i}.sh", "hours": rng.choice([0.5, 1, 2, 4, 8])}
        job["inputs"] = sorted(set(rng.sample(pool, k=min(len(pool), rng.choice([1, 1, 2])))))
        kind = rng.random()
        if kind < 0.2:
            name, count = rng.choice(GPUS)
            job["resources"] = {"accelerators": f"{name}:{count}", "cpus": 4}
        elif kind < 0.3:
            job["resources"] = {
                "cpus": rng.choice([8, 16]),
                "memory": rng.choice(["128GB", "256GB"]),
            }
        else:
            job["resources"] = {
                "cpus": rng.choice([2, 4, 8, 16, 32]),
                "memory": rng.choice([4, 16, 32]),
            }
        if rng.random() < 0.2:
            job["resources"]["spot"] = True
        if rng.random() < 0.1:
            job["nodes"] = rng.choice([2, 4])
        if produced < n_data - n_external and layer < LAYERS - 1 and rng.random() < 0.4:
            out = f"out{produced}"
            produced += 1
            job["outputs"] = {out: rng.choice(SIZES)}
            readable[layer + 1].append(out)
        jobs[f"job{i}"] = job
    return {"version": 1, "name": f"bench-{n_jobs}", "datasets": datasets, "jobs": jobs}
