"""Re-plan benchmark: one capacity failure in the 100-job plan, then solve and emit again.

Run: .venv/bin/python benchmarks/replan.py [--jobs 100] [--repeat 5]

Solves the synthetic spec of benchmarks/synthetic.py, blocks the offering of its most expensive
placement (what a capacity failure of that job does), and times what `skyplan apply` does next:
solve without the blocked offering, then emit every file.
Prints the best and median of
--repeat runs. Target: <= 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Solve once, block one offering, time solve + emit."""
    import yaml

    from benchmarks.synthetic import synthetic_spec
    from skyplan.catalog import load_embedded_catalog
    from skyplan.emit.stack import emit_stack
    from skyplan.solver.blocked import Block
    from skyplan.solver.solve import solve
    from skyplan.spec.resolve import load_spec

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    catalog = load_embedded_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sky.yaml"
        path.write_text(yaml.safe_dump(synthetic_spec(args.jobs, catalog)), encoding="utf-8")
        spec = load_spec(path, catalog)
    plan = solve(spec, catalog)
    worst = max(plan.placements, key=lambda p: p.usd)
    blocked = frozenset({Block(worst.region_key, worst.instance_type)})
    times, replanned = [], plan
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        replanned = solve(spec, catalog, blocked)
        emit_stack(spec, replanned)
        times.append(time.perf_counter() - t0)
    moved = [p.job for p in replanned.placements if p != plan.placement(p.job)]
    print(f"jobs {args.jobs}  plan ${plan.total_usd:,.2f} ({plan.solver.status})")
    print(f"blocked {worst.region_key} {worst.instance_type} (job {worst.job})")
    print(f"re-plan ${replanned.total_usd:,.2f} ({replanned.solver.status}), {len(moved)} moved")
    print(
        f"solve + emit  best {min(times):.2f} s  median {statistics.median(times):.2f} s"
        "  (target <= 1 s)"
    )


if __name__ == "__main__":
    main()
