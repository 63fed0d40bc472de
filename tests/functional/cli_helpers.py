"""Helpers for the functional tests: run the real `skyplan` console script, write a tiny catalog.

Test modules import these from here (`from cli_helpers import run_cli`), never from `conftest`:
pytest loads several conftest.py files under that one module name, so `from conftest import`
picks up whichever was loaded last (tests/unit/spec's when it is collected first).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SKYPLAN = Path(sys.executable).with_name("skyplan")

TINY_REGIONS = """\
cloud,region,country,jurisdictions,continent,lat,lon
aws,eu-west-1,IE,EU;EEA,europe,53.35,-6.26
aws,us-east-1,US,,north-america,38.9,-77.4
gcp,europe-west3,DE,EU;EEA,europe,50.1,8.7
"""
TINY_OFFERINGS = """\
cloud,region,instance_type,vcpus,memory_gib,accelerator,accelerator_count,price_usd_hour,spot_price_usd_hour
aws,eu-west-1,m.large,2,8,,0,0.10,0.03
aws,us-east-1,m.large,2,8,,0,0.05,
gcp,europe-west3,g.gpu,8,32,H100,1,3.00,1.00
"""
TINY_EGRESS = """\
cloud,scope,usd_per_gb
aws,inter-region-same-continent,0.02
aws,inter-region-other-continent,0.05
aws,internet,0.09
gcp,internet,0.12
"""


def run_cli(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `skyplan ARGS` in `cwd` and capture its output (never raises on a non-zero exit)."""
    full_env = {k: v for k, v in os.environ.items() if k != "SKYPLAN_DEBUG"}
    full_env.update(env or {})
    return subprocess.run(
        [str(SKYPLAN), *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write_tiny_catalog(root: Path) -> Path:
    """A three-region catalog where aws:us-east-1 is the cheapest place to compute."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "regions.csv").write_text(TINY_REGIONS, encoding="utf-8")
    (root / "offerings.csv").write_text(TINY_OFFERINGS, encoding="utf-8")
    (root / "egress.csv").write_text(TINY_EGRESS, encoding="utf-8")
    return root
