"""Emission benchmark: the plan of the 1,000-job synthetic spec becomes its stack folder.

Run: .venv/bin/python benchmarks/emit_scale.py [--jobs 1000] [--time-limit 10] [--repeat 3]

Solves the synthetic spec of benchmarks/synthetic.py (the solver is not what is timed here),
then times emit_stack (plan -> every generated file in memory: plan.json, manifest.json, one
Terraform module per cloud, the startup scripts) and writing the folder to disk. Prints the best
of --repeat runs, the number and size of the files and their clouds. Target: <= 5 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Solve, then time emission and writing."""
    import yaml

    from benchmarks.synthetic import synthetic_spec
    from skyplan.catalog import load_embedded_catalog
    from skyplan.cli.stack_files import write_stack
    from skyplan.emit.stack import emit_stack
    from skyplan.solver.solve import solve
    from skyplan.spec.resolve import load_spec

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--time-limit", type=float, default=10.0, help="solver seconds (untimed)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    catalog = load_embedded_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sky.yaml"
        path.write_text(yaml.safe_dump(synthetic_spec(args.jobs, catalog)), encoding="utf-8")
        spec = load_spec(path, catalog)
        t0 = time.perf_counter()
        plan = solve(spec, catalog, time_limit=args.time_limit)
        solve_s = time.perf_counter() - t0
        emit_times, write_times = [], []
        files = ()
        for i in range(args.repeat):
            t0 = time.perf_counter()
            files = emit_stack(spec, plan)
            emit_times.append(time.perf_counter() - t0)
            out = Path(tmp) / f"out{i}"
            t0 = time.perf_counter()
            write_stack(out, files)
            write_times.append(time.perf_counter() - t0)
    clouds = sorted({f.path.split("/", 1)[0] for f in files if "/" in f.path})
    size = sum(len(f.text.encode()) for f in files)
    print(f"jobs {args.jobs}  placements {len(plan.placements)}  transfers {len(plan.transfers)}")
    print(f"solve (untimed target) {solve_s:.1f} s, status {plan.solver.status}")
    print(f"files {len(files)}  ({size / 1e6:.1f} MB)  modules: {', '.join(clouds)}")
    runs = ", ".join(f"{t:.2f}" for t in emit_times)
    print(f"emit  best {min(emit_times):.2f} s  (runs: {runs})")
    print(f"write best {min(write_times):.2f} s")
    print(f"emit + write {min(emit_times) + min(write_times):.2f} s  (target <= 5 s)")


if __name__ == "__main__":
    main()
