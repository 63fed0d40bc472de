"""The startup script's control flow, run for real by bash with the cloud tools stubbed.

The rendered script (as Terraform's templatefile() renders it) runs with `/var/lib/skyplan`
moved to a temporary folder and `aws`, `snap` and `shutdown` replaced by stubs that log their
arguments: a finished job reports `.done` and powers off, a failed one `.failed` without
uploading, a node that boots again never runs a finished job twice, and a node stopped in the
middle of its job reports `.interrupted` and runs the job again at its next boot.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "$SKYPLAN_TEST_LOG"
# `aws s3 cp .../start FILE`: the runner has started the run (unless the test says not yet)
if [ "$2" = cp ] && [ "${3##*/}" = start ]; then
  [ -e "$SKYPLAN_TEST_NOT_STARTED" ] && exit 1
  echo started > "$4"
fi
exit 0
"""

SPEC = """\
version: 1
name: boot
clouds: [aws]
datasets:
  raw: {size: 1GB, location: "aws:eu-west-1", uri: "s3://acme-raw/in/"}
jobs:
  work:
    run: |
RUN
    resources: {cpus: 2}
    hours: 1
    inputs: [raw]
    outputs: {result: 1GB}
    regions: ["aws:eu-west-1"]
"""


def render(script: str, node: int) -> str:
    """What templatefile() makes of a .sh.tftpl: `${node}` replaced, `$${`/`%%{` unescaped."""
    return script.replace("${node}", str(node)).replace("$${", "${").replace("%%{", "%{")


@pytest.fixture
def node(tmp_path: Path, emitted: Callable[[str], dict[str, str]]) -> Callable[..., Path]:
    """Write the job's rendered script for a given `run:` into a sandbox; returns its path."""

    def make(run: str) -> Path:
        files = emitted(SPEC.replace("RUN", textwrap.indent(run.rstrip("\n"), " " * 6)))
        text = render(files["aws/scripts/work.sh.tftpl"], 0)
        text = text.replace("/var/lib/skyplan", str(tmp_path / "state"))
        text = text.replace("/var/lib/cloud/scripts/per-boot", str(tmp_path / "per-boot"))
        script = tmp_path / "node.sh"
        script.write_text(text, encoding="utf-8")
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        for tool in ("aws", "snap", "shutdown"):
            (bin_dir / tool).write_text(STUB, encoding="utf-8")
            (bin_dir / tool).chmod(0o755)
        (tmp_path / "per-boot").mkdir(exist_ok=True)
        return script

    return make


def boot(script: Path, wait: bool = True) -> subprocess.Popen[str]:
    """Run the script as a node's boot would (bash, its stubs first on PATH)."""
    root = script.parent
    env = {
        **os.environ,
        "PATH": f"{root / 'bin'}:{os.environ['PATH']}",
        "SKYPLAN_TEST_LOG": str(root / "calls.log"),
        "SKYPLAN_TEST_NOT_STARTED": str(root / "not-started"),
    }
    proc = subprocess.Popen(
        ["bash", str(script)], env=env, text=True, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    if wait:
        proc.wait(timeout=60)
    return proc


def calls(script: Path) -> list[str]:
    """The stubbed commands the node ran, in order."""
    log = script.parent / "calls.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def markers(script: Path) -> list[str]:
    """The completion markers the node uploaded (node-0.done, ...)."""
    found = (re.search(r"/_skyplan/work/[0-9a-f]+/(node-0\.\w+)", c) for c in calls(script))
    return [m.group(1) for m in found if m]


def test_a_finished_job_reports_done_uploads_and_powers_off(node: Callable[..., Path]) -> None:
    script = node(
        'echo "$SKYPLAN_JOB $SKYPLAN_NODE $SKYPLAN_INPUT_RAW" > "$SKYPLAN_OUTPUT_RESULT/r"'
    )
    assert boot(script).returncode == 0
    log = calls(script)
    assert any(c.startswith("aws s3 sync s3://acme-raw/in/ ") for c in log)
    assert any(c.startswith("aws s3 sync ") and "outputs/result/" in c for c in log)
    assert markers(script) == ["node-0.log", "node-0.done"]
    assert log[-1] == "shutdown -h now"
    state = script.parent / "state"
    assert (state / "outputs" / "result" / "r").read_text().split()[:2] == ["work", "0"]
    assert (script.parent / "per-boot" / "skyplan-job.sh").exists()  # resumes at every boot


def test_a_node_that_boots_again_does_not_run_the_job_twice(node: Callable[..., Path]) -> None:
    script = node('echo run >> "$SKYPLAN_OUTPUT_RESULT/../../runs"')
    boot(script)
    boot(script)
    assert (script.parent / "state" / "runs").read_text().split() == ["run"]
    uploads = [c for c in calls(script) if "outputs/result/" in c]
    assert len(uploads) == 1
    assert markers(script) == ["node-0.log", "node-0.done", "node-0.log", "node-0.done"]


def test_a_failed_job_reports_failed_and_uploads_nothing(node: Callable[..., Path]) -> None:
    script = node("echo broken >&2\nexit 7")
    assert boot(script).returncode == 7
    assert not [c for c in calls(script) if "outputs/result/" in c]
    assert markers(script) == ["node-0.log", "node-0.failed"]
    assert calls(script)[-1] == "shutdown -h now"
    marker = (script.parent / "state" / "marker.json").read_text()
    assert '"exit_status": 7' in marker and '"state": "failed"' in marker


def test_an_interrupted_job_runs_again_at_the_next_boot(node: Callable[..., Path]) -> None:
    script = node(
        textwrap.dedent(
            """\
            echo started >> "$SKYPLAN_OUTPUT_RESULT/../../runs"
            [ -e "$SKYPLAN_OUTPUT_RESULT/../../second" ] || sleep 30
            """
        )
    )
    proc = boot(script, wait=False)
    runs = script.parent / "state" / "runs"
    for _ in range(200):
        if runs.exists():
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)  # what a spot preemption or a stop does
    proc.wait(timeout=60)
    assert markers(script) == ["node-0.log", "node-0.interrupted"]
    assert "shutdown -h now" not in calls(script)
    (script.parent / "state" / "second").touch()
    assert boot(script).returncode == 0
    assert runs.read_text().split() == ["started", "started"]
    assert markers(script)[-1] == "node-0.done"


def test_a_node_waits_for_the_runner_and_gives_up_after_hours(node: Callable[..., Path]) -> None:
    """Nodes fetch nothing before the run's start object exists; never started, they fail."""
    script = node("echo ran")
    text = script.read_text()
    assert text.index("/start /") < text.index("aws s3 sync s3://acme-raw/in/")
    # never started: the wait is cut to one try here (it is hours on a real node)
    script.write_text(text.replace("$(seq 720)", "$(seq 1)").replace("sleep 30", "true"))
    (script.parent / "not-started").touch()
    assert boot(script).returncode == 124
    assert markers(script) == ["node-0.log", "node-0.failed"]
    assert not any("acme-raw" in c for c in calls(script))


CURL_STUB = """#!/bin/sh
# curl -fsSL -o FILE URL: log the URL, serve the tarball the test made
echo "curl $*" >> "$SKYPLAN_TEST_LOG"
cp "$SKYPLAN_TEST_TARBALL" "$3"
"""


@pytest.mark.parametrize("genuine", [True, False], ids=["checksum-matches", "checksum-differs"])
def test_azcopy_is_installed_only_when_its_checksum_matches(tmp_path: Path, genuine: bool) -> None:
    """Azure nodes download the pinned AzCopy release and check its SHA-256 before unpacking
    anything: a download that does not match is never run, and the job fails."""
    import hashlib
    import tarfile

    from skyplan.emit.script import AZCOPY_RELEASES, INSTALL

    arch = "arm64" if os.uname().machine == "aarch64" else "amd64"
    folder = tmp_path / "release" / f"azcopy_linux_{arch}_10.99.1"
    folder.mkdir(parents=True)
    (folder / "azcopy").write_text("#!/bin/sh\necho azcopy 10.99.1\n", encoding="utf-8")
    tarball = tmp_path / "release.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    lines = [line for line in INSTALL["azure"] if not line.startswith("export ")]
    script = render("\n".join(lines), 0)
    script = script.replace("${azcopy_version}", "10.99.1")
    script = script.replace("${azcopy_sha256}", digest if genuine else "0" * 64)
    work = tmp_path / "work"
    work.mkdir()
    script = script.replace("/tmp", str(work)).replace("/usr/local/bin", str(tmp_path / "bin"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(CURL_STUB, encoding="utf-8")
    (bin_dir / "curl").chmod(0o755)
    node = tmp_path / "install.sh"
    node.write_text('set -euo pipefail\nretry() { "$@"; }\n' + script + "\n", encoding="utf-8")
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "SKYPLAN_TEST_LOG": str(tmp_path / "calls.log"),
        "SKYPLAN_TEST_TARBALL": str(tarball),
    }
    proc = subprocess.run(["bash", str(node)], env=env, capture_output=True, text=True, timeout=60)
    url = f"{AZCOPY_RELEASES}/v10.99.1/azcopy_linux_{arch}_10.99.1.tar.gz"
    assert url in (tmp_path / "calls.log").read_text(encoding="utf-8")
    installed = bin_dir / "azcopy"
    if genuine:
        assert proc.returncode == 0, proc.stderr
        assert installed.read_text(encoding="utf-8").startswith("#!/bin/sh\necho azcopy")
    else:
        assert proc.returncode != 0
        assert "FAILED" in proc.stdout + proc.stderr
        assert not installed.exists() and not (work / "azcopy").exists()  # nothing unpacked


@pytest.mark.parametrize(("nodes", "mirror"), [(1, True), (3, False)])
def test_one_node_mirrors_its_output_several_add_their_share(
    emitted: Callable[[str], dict[str, str]], nodes: int, mirror: bool
) -> None:
    spec = SPEC.replace("RUN", "      true").replace(
        "resources: {cpus: 2}", f"resources: {{cpus: 2}}\n    nodes: {nodes}"
    )
    script = emitted(spec)["aws/scripts/work.sh.tftpl"]
    (upload,) = [
        line for line in script.splitlines() if "aws s3 sync" in line and "outputs/" in line
    ]
    download = next(line for line in script.splitlines() if "s3://acme-raw/in/" in line)
    assert ("--delete" in upload) is mirror  # several nodes: the runner empties the prefix
    assert "--delete" in download  # inputs are always a mirror of the data set
