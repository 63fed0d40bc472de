"""`skyplan diff`, `plan --against`, environments and `promote`, through the real CLI."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

Cli = Callable[..., subprocess.CompletedProcess[str]]
Write = Callable[[str, str], Path]

SPEC = """\
version: 1
name: promo
clouds: [aws, gcp]
datasets:
  raw: {size: 200GB, location: "aws:eu-west-1", uri: "s3://acme-raw/in/", jurisdictions: [EU]}
jobs:
  prep:
    run: ./prep.sh
    resources: {cpus: 8, memory: 32GB}
    hours: 2
    inputs: [raw]
    outputs: {clean: 20GB}
  train:
    run: ./train.sh
    resources: {cpus: 16, memory: 64GB, spot: true}
    hours: 4
    inputs: [clean]
envs:
  staging:
    budget_usd: 50
  prod:
    nodes: {train: 2}
    budget_usd: 100
    policy: {jurisdictions: [EU]}
  strict:
    policy: {avoid: ["gcp"]}
  tight:
    budget_usd: 3
"""


def git(work: Path, *args: str) -> None:
    """Run git in `work` (an author is set so commits work on a bare CI machine)."""
    subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
        cwd=work, check=True, capture_output=True,
    )  # fmt: skip


def test_diff_of_two_plans_in_every_format(cli: Cli, work: Path, write: Write) -> None:
    spec = write("work/sky.yaml", SPEC)
    assert cli("plan", spec, "--out", "old", cwd=work).returncode == 0
    write("work/sky.yaml", SPEC.replace("hours: 4", "hours: 40"))
    assert cli("plan", spec, "--out", "new", cwd=work).returncode == 0
    md = cli("diff", "old/plan.json", "new", "--format", "markdown", cwd=work)
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("<!-- skyplan:promo -->\n### skyplan · `promo` · **$")
    assert "▲ +$" in md.stdout and "Compared with `old/plan.json`" in md.stdout
    assert "| `train` |" in md.stdout
    assert "✅ every rule holds" in md.stdout  # sky.yaml beside the new plan
    assert "<details><summary>All placements (2)</summary>" in md.stdout
    data = json.loads(cli("diff", "old", "new", "--format", "json", cwd=work).stdout)
    assert data["change_usd"] > 0 and data["previous_total_usd"] < data["total_usd"]
    assert [(p["job"], p["change"]) for p in data["placements"]] == [("train", "changed")]
    table = cli("diff", "old", "new", cwd=work)
    assert table.returncode == 0 and "Placements" in table.stdout
    bad = cli("diff", "old", "nowhere", cwd=work)
    assert bad.returncode == 2 and "no plan.json here" in bad.stderr


def test_plan_against_a_git_ref(cli: Cli, work: Path, write: Write) -> None:
    spec = write("work/sky.yaml", SPEC)
    assert cli("plan", spec, "--out", "stacks/promo", cwd=work).returncode == 0
    git(work, "init", "-q")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "reviewed")
    write("work/sky.yaml", SPEC.replace("clouds: [aws, gcp]", "clouds: [aws]"))
    proc = cli("plan", spec, "--out", "stacks/promo", "--format", "markdown", "--against", "HEAD",
               cwd=work)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Compared with `HEAD -> working tree`" in proc.stdout
    assert "| `train` | moved |" in proc.stdout
    assert "gcp: `google_compute_instance.train`" in proc.stdout  # destroyed with its module
    assert "| `gcp/` | 0 | 0 |" in proc.stdout
    unknown = cli("plan", spec, "--out", "stacks/promo", "--against", "nope", cwd=work)
    assert unknown.returncode == 2 and "unknown git ref 'nope'" in unknown.stderr


def test_environments_write_their_own_folders(cli: Cli, work: Path, write: Write) -> None:
    spec = write("work/sky.yaml", SPEC)
    for env in ("staging", "prod"):
        proc = cli("plan", spec, "--env", env, "--format", "json", cwd=work)
        assert proc.returncode == 0, proc.stderr
    staging = json.loads((work / "stacks/promo/staging/plan.json").read_text())
    prod = json.loads((work / "stacks/promo/prod/plan.json").read_text())
    assert (staging["stack"], prod["stack"]) == ("promo-staging", "promo-prod")
    assert {p["job"]: p["nodes"] for p in prod["placements"]}["train"] == 2
    assert "skyplan-promo-prod-" in (work / "stacks/promo/prod/manifest.json").read_text()
    bad = cli("plan", spec, "--env", "prodd", cwd=work)
    assert bad.returncode == 2
    assert "unknown environment 'prodd'" in bad.stderr and "did you mean 'prod'?" in bad.stderr


def test_promote_pins_the_reviewed_placements(cli: Cli, work: Path, write: Write) -> None:
    spec = write("work/sky.yaml", SPEC)
    assert cli("plan", spec, "--env", "staging", cwd=work).returncode == 0
    proc = cli("promote", spec, "--from", "staging", "--to", "prod", "--format", "json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    staging = json.loads((work / "stacks/promo/staging/plan.json").read_text())
    prod = json.loads((work / "stacks/promo/prod/plan.json").read_text())
    where = {p["job"]: (p["region"], p["instance_type"]) for p in staging["placements"]}
    assert {p["job"]: (p["region"], p["instance_type"]) for p in prod["placements"]} == where
    assert prod["solver"] == {"status": "PINNED", "from": "staging"}
    # a pinned environment keeps its placements when planned again, and --check agrees
    check = cli("plan", spec, "--env", "prod", "--check", cwd=work)
    assert check.returncode == 0, check.stderr
    fresh = cli("plan", spec, "--env", "prod", "--replan", "--format", "json", cwd=work)
    assert json.loads(fresh.stdout)["solver"]["status"] == "OPTIMAL"


def test_promote_refuses_when_the_target_rules_would_break(
    cli: Cli, work: Path, write: Write
) -> None:
    spec = write("work/sky.yaml", SPEC)
    assert cli("plan", spec, "--env", "staging", cwd=work).returncode == 0
    staging = json.loads((work / "stacks/promo/staging/plan.json").read_text())
    assert any(p["cloud"] == "gcp" for p in staging["placements"])
    avoid = cli("promote", spec, "--from", "staging", "--to", "strict", cwd=work)
    assert avoid.returncode == 3
    assert "cannot promote staging to strict" in avoid.stderr
    assert "breaks policy.avoid: [gcp]" in avoid.stderr and "--replan" in avoid.stderr
    assert not (work / "stacks/promo/strict").exists()
    budget = cli("promote", spec, "--from", "staging", "--to", "tight", cwd=work)
    assert budget.returncode == 3 and "budget $3.00" in budget.stderr and "over" in budget.stderr
    replanned = cli("promote", spec, "--from", "staging", "--to", "strict", "--replan", cwd=work)
    assert replanned.returncode == 0, replanned.stderr
    strict = json.loads((work / "stacks/promo/strict/plan.json").read_text())
    assert {p["cloud"] for p in strict["placements"]} == {"aws"}
    missing = cli("promote", spec, "--from", "prod", "--to", "strict", cwd=work)
    assert missing.returncode == 2 and "no reviewed plan for prod" in missing.stderr


def test_a_huge_diff_stays_under_githubs_comment_limit(cli: Cli, work: Path, write: Write) -> None:
    jobs = "".join(
        f"  job-with-a-long-name-{i:03d}:\n    run: ./x.sh\n    resources: {{cpus: 2}}\n"
        f'    hours: {1 + i % 3}\n    regions: ["aws:*"]\n'
        for i in range(400)
    )
    spec = write("work/sky.yaml", f"version: 1\nname: huge\nclouds: [aws, gcp]\njobs:\n{jobs}")
    assert cli("plan", spec, "--out", "old", cwd=work).returncode == 0
    write("work/sky.yaml", spec.read_text().replace('regions: ["aws:*"]', 'regions: ["gcp:*"]'))
    assert cli("plan", spec, "--out", "new", cwd=work).returncode == 0
    proc = cli("diff", "old", "new", "--format", "markdown", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) <= 65_000
    assert "Summarised to stay under GitHub's comment limit" in proc.stdout
    assert "more rows" in proc.stdout
    # rules that alone exceed the limit: every job breaks a 60-region avoid list (and its
    # allow-list) under a strict spec; they are summarised too, never cut mid-line
    from skyplan.catalog import load_embedded_catalog

    gcp = sorted(r.key for r in load_embedded_catalog().regions if r.cloud == "gcp")
    avoid = ", ".join(f'"{key}"' for key in gcp)
    policy = f"policy: {{avoid: [{avoid}], jurisdictions: [EU, US]}}\njobs:\n"
    text = spec.read_text().replace('regions: ["gcp:*"]', 'regions: ["aws:*"]')
    strict = write("strict/sky.yaml", text.replace("jobs:\n", policy, 1))
    strict_md = cli("diff", "old", "new", "--spec", strict, "--format", "markdown", cwd=work)
    assert strict_md.returncode == 0, strict_md.stderr
    text = strict_md.stdout
    broken = json.loads(cli("diff", "old", "new", "--spec", strict, "-f", "json", cwd=work).stdout)
    assert sum(len(r["text"]) for r in broken["rules"]) > 65_000
    assert len(text) <= 65_000 and text.endswith("._\n")
    tail = text.splitlines()[-1]
    assert tail.startswith("_Summarised to stay under GitHub's comment limit") and tail.endswith(
        "_"
    )
    assert "broken (the first" in text and "more broken rules" in text
    assert text.count("<details>") == text.count("</details>") and text.count("```") % 2 == 0


def test_inside_the_stack_folder_the_stack_is_the_specs_folder(
    cli: Cli, work: Path, write: Write
) -> None:
    spec = write("work/stacks/promo/sky.yaml", SPEC)
    folder = spec.parent
    # from the repository's top: stacks/<name>/ as ever
    assert cli("plan", "stacks/promo/sky.yaml", cwd=work).returncode == 0
    assert cli("plan", "stacks/promo/sky.yaml", "--env", "staging", cwd=work).returncode == 0
    assert (folder / "plan.json").is_file() and (folder / "staging/plan.json").is_file()
    git(work, "init", "-q")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "reviewed")
    # from inside stacks/<name>/: the same folder, never stacks/<name>/stacks/<name>/
    assert cli("plan", "sky.yaml", "--check", cwd=folder).returncode == 0
    assert cli("plan", "sky.yaml", "--env", "staging", "--check", cwd=folder).returncode == 0
    write("work/stacks/promo/sky.yaml", SPEC.replace("clouds: [aws, gcp]", "clouds: [aws]"))
    proc = cli("plan", "sky.yaml", "--format", "markdown", "--against", "HEAD", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert "new stack" not in proc.stdout and "| `train` | moved |" in proc.stdout
    env = cli("plan", "sky.yaml", "--env", "staging", "-f", "json", "--against", "HEAD", cwd=folder)
    assert env.returncode == 0, env.stderr
    assert [p["change"] for p in json.loads(env.stdout)["placements"]] == ["moved"]
    promoted = cli("promote", "sky.yaml", "--from", "staging", "--to", "prod", cwd=folder)
    assert promoted.returncode == 0, promoted.stderr
    assert json.loads((folder / "prod/plan.json").read_text())["solver"]["from"] == "staging"
    assert not (folder / "stacks").exists()


def test_diff_says_when_it_cannot_check_the_rules(cli: Cli, work: Path, write: Write) -> None:
    spec = write("spec/sky.yaml", SPEC)
    for out in ("a", "b"):
        assert cli("plan", spec, "--out", out, cwd=work).returncode == 0
    why = "rules not checked: no sky.yaml beside b (or above it); pass --spec"
    md = cli("diff", "a", "b", "--format", "markdown", cwd=work)
    assert md.returncode == 0, md.stderr
    assert f"⚠️ {why}" in md.stdout and "every rule holds" not in md.stdout
    data = json.loads(cli("diff", "a", "b", "--format", "json", cwd=work).stdout)
    assert (data["rules"], data["rules_unchecked"]) == ([], why)
    assert why in cli("diff", "a", "b", cwd=work).stdout
    checked = cli("diff", "a", "b", "--spec", spec, "--format", "markdown", cwd=work)
    assert "✅ every rule holds" in checked.stdout and "rules not checked" not in checked.stdout


def test_diff_of_two_different_stacks_warns_but_diffs(cli: Cli, work: Path, write: Write) -> None:
    spec = write("work/sky.yaml", SPEC)
    other = write("other/sky.yaml", SPEC.replace("name: promo", "name: other"))
    assert cli("plan", spec, "--out", "old", cwd=work).returncode == 0
    assert cli("plan", other, "--out", "new", cwd=work).returncode == 0
    md = cli("diff", "old", "new", "--spec", other, "--format", "markdown", cwd=work)
    assert md.returncode == 0, md.stderr
    assert "warning: comparing two different stacks: promo (old) and other (new)" in md.stderr
    title = md.stdout.splitlines()[1]
    assert title.startswith("### skyplan · `other` · ") and "different stack" in title
    assert "compared with `promo`" in title
    table = cli("diff", "old", "new", "--spec", other, cwd=work)
    assert table.returncode == 0 and "warning: comparing two different stacks" in table.stderr
    # environments of one spec are compared on purpose (promotion): no warning
    for env in ("staging", "prod"):
        assert cli("plan", spec, "--env", env, cwd=work).returncode == 0
    pair = ("stacks/promo/staging", "stacks/promo/prod")
    envs = cli("diff", *pair, "--spec", spec, "--format", "markdown", cwd=work)
    assert envs.returncode == 0 and "warning" not in envs.stderr
    assert "different stack" not in envs.stdout and "budget $100.00" in envs.stdout  # prod's rules
