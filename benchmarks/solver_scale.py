"""Solver scale benchmark: synthetic specs of 10 to 5,000 jobs over the full embedded catalog.

Run: .venv/bin/python benchmarks/solver_scale.py [--sizes 10,100,1000,5000] [--time-limit 30]

The time limit defaults to 30 s per size, the setting of the README's performance table (and the
target: 1,000 jobs OPTIMAL within 30 s), so a bare run reproduces that table. Each size runs in
its own process so that peak memory (max RSS) is that size's alone. Prints per size: load, solve
and total seconds, solver status and gap, model variables and peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TIME_LIMIT = 30.0  # seconds per size: the README's performance table uses --time-limit 30


def run_one(n_jobs: int, time_limit: float, workers: int) -> dict[str, object]:
    """Generate, load and solve one size in this process; return its figures."""
    sys.path.insert(0, str(ROOT))
    import yaml

    from benchmarks.synthetic import synthetic_spec
    from skyplan.catalog import load_embedded_catalog
    from skyplan.catalog.load import load_catalog
    from skyplan.errors import SkyplanError
    from skyplan.solver.solve import Limits, solve_detailed
    from skyplan.spec.resolve import load_spec

    load_embedded_catalog()  # the generator needs it; timed separately below
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sky.yaml"
        path.write_text(yaml.safe_dump(synthetic_spec(n_jobs, load_embedded_catalog())))
        t0 = time.perf_counter()
        catalog = load_catalog(Path(ROOT / "skyplan/catalog/data"))
        spec = load_spec(path, catalog)
        t1 = time.perf_counter()
        try:
            result = solve_detailed(
                spec, catalog, limits=Limits(time_limit=time_limit, workers=workers)
            )
            stats = result.stats
            status, gap, nvars = stats.status, stats.gap, stats.variables
            total = float(result.plan.total_usd)
        except SkyplanError as e:
            status, gap, nvars, total = f"ERROR: {e.message[:60]}", None, None, None
        t2 = time.perf_counter()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "jobs": n_jobs,
        "datasets": len(spec.datasets),
        "load_s": round(t1 - t0, 2),
        "solve_s": round(t2 - t1, 2),
        "total_s": round(t2 - t0, 2),
        "status": status,
        "gap": None if gap is None else round(gap, 4),
        "variables": nvars,
        "plan_usd": total,
        "peak_mb": round(rss_mb),
    }


def main() -> None:
    """Run every size in a child process and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,100,1000,5000")
    ap.add_argument(
        "--time-limit",
        type=float,
        default=DEFAULT_TIME_LIMIT,
        help="wall seconds per size (default: %(default)g, as in the README's table)",
    )
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.time_limit, args.workers)))
        return
    cols = [
        "jobs",
        "datasets",
        "load_s",
        "solve_s",
        "total_s",
        "status",
        "gap",
        "variables",
        "plan_usd",
        "peak_mb",
    ]
    print(" ".join(f"{c:>10}" for c in cols))
    for n in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(n),
                "--time-limit",
                str(args.time_limit),
                "--workers",
                str(args.workers),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(f"{n:>10} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(" ".join(f"{row[c]!s:>10}" for c in cols), flush=True)


if __name__ == "__main__":
    main()
