"""CP-SAT must leave skyplan's SIGINT handler in place: after a solve, Ctrl-C still reaches it."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os, signal, sys
from ortools.sat.python import cp_model_helper as cmh
from skyplan.solver.sat import run_cp_sat

seen = []
signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
proto = cmh.CpModelProto()
var = proto.variables.add()
var.domain.extend([0, 5])
for _ in range(2):  # a first plan and a re-plan
    response = run_cp_sat(proto, 5.0)
    os.kill(os.getpid(), signal.SIGINT)
print("handled", len(seen), flush=True)
"""


def test_sigint_reaches_the_python_handler_after_each_solve() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    # before: CP-SAT reset SIGINT to its default action and the process died of it (-2)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert proc.stdout.split() == ["handled", "2"]
