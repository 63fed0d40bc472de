"""Wall time of `skyplan plan` end to end (process start to exit) on every example stack.

Run: .venv/bin/python benchmarks/plan_wall.py [--runs 5]   (target: <= 1 s per stack)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Time each stack's plan several times and print the median and worst."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    skyplan = Path(sys.executable).with_name("skyplan")
    print(f"{'stack':>14} {'median_s':>9} {'max_s':>7}")
    for spec in sorted(ROOT.glob("stacks/*/sky.yaml")):
        times = []
        with tempfile.TemporaryDirectory() as out:
            for _ in range(args.runs):
                t0 = time.perf_counter()
                subprocess.run(
                    [str(skyplan), "plan", str(spec), "--out", out],
                    check=True,
                    capture_output=True,
                )
                times.append(time.perf_counter() - t0)
        name = spec.parent.name
        print(f"{name:>14} {statistics.median(times):>9.2f} {max(times):>7.2f}", flush=True)


if __name__ == "__main__":
    main()
