"""Run Terraform (or OpenTofu) in a root module: init, plan to a file, show, apply, destroy."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skyplan.apply import children
from skyplan.apply.scrub import Scrubber
from skyplan.errors import ApplyError, InputError

MIN_VERSION = (1, 5)
#: Environment for every run: no prompts, no update checks, output meant for machines.
AUTOMATION_ENV = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
#: How often a running terraform's output file is read.
FOLLOW_S = 0.1


@dataclass(frozen=True)
class Terraform:
    """A Terraform-compatible binary and its version."""

    path: str
    version: str
    name: str  # terraform | tofu


@dataclass(frozen=True)
class Run:
    """One finished Terraform command: its exit code and its (scrubbed) output."""

    args: tuple[str, ...]
    returncode: int
    output: str
    log: Path

    @property
    def ok(self) -> bool:
        """Exit code 0."""
        return self.returncode == 0


@dataclass(frozen=True)
class PlanSummary:
    """What a saved plan would do, by action."""

    create: int
    update: int
    replace: int
    delete: int

    @property
    def changes(self) -> bool:
        """Whether applying it changes anything."""
        return bool(self.create or self.update or self.replace or self.delete)

    def describe(self) -> str:
        """`3 to add, 0 to change, 1 to replace, 0 to destroy`."""
        return (
            f"{self.create} to add, {self.update} to change, {self.replace} to replace, "
            f"{self.delete} to destroy"
        )


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def find_terraform(env: dict[str, str] | None = None) -> Terraform:
    """SKYPLAN_TERRAFORM (a name or a path), else `terraform`, else `tofu`; at least 1.5."""
    env = dict(os.environ) if env is None else env
    wanted = env.get("SKYPLAN_TERRAFORM")
    candidates = [wanted] if wanted else ["terraform", "tofu"]
    for name in candidates:
        path = shutil.which(name, path=env.get("PATH"))
        if path is None:
            continue
        proc = subprocess.run(
            [path, "version", "-json"], capture_output=True, text=True, timeout=60, check=False
        )
        try:
            version = json.loads(proc.stdout)["terraform_version"]
        except (ValueError, KeyError):
            raise InputError(f"{path} did not report its version: {proc.stderr.strip()}") from None
        if _version_tuple(version) < MIN_VERSION:
            raise InputError(
                f"{path} is version {version}; skyplan needs Terraform or OpenTofu 1.5 or newer",
                hint="install a newer one, or point SKYPLAN_TERRAFORM at it",
            )
        return Terraform(path, version, "tofu" if "tofu" in Path(path).name else "terraform")
    raise InputError(
        f"{wanted or 'terraform'} not found on PATH",
        hint="install Terraform >= 1.5 (or OpenTofu) or set SKYPLAN_TERRAFORM to its path",
    )


def run(
    tf: Terraform,
    args: tuple[str, ...],
    module: Path,
    log: Path,
    scrub: Scrubber,
    on_line: Callable[[str], None] | None = None,
) -> Run:
    """Run `terraform ARGS` in `module`; its scrubbed output goes to `log` and `on_line`.

    Terraform writes to a file of its own (opened O_APPEND, mode 0600, beside `log`), never to a
    pipe: a pipe only skyplan reads would kill it (SIGPIPE) at its next line once skyplan is
    gone, in the middle of an apply. skyplan follows that file, scrubs each line into `log`,
    and removes it once terraform has ended. When skyplan is interrupted, terraform (which got
    SIGINT) is still followed until it has saved its state; a second interrupt stops following
    and leaves it running (the next skyplan waits for it, and appends what it printed to `log`).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **AUTOMATION_ENV}
    lines: list[str] = []
    fd, raw_name = tempfile.mkstemp(prefix=f".{log.stem}.", suffix=".out", dir=log.parent)
    os.close(fd)  # mkstemp made it 0600; terraform gets it again with O_APPEND
    raw = Path(raw_name)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ {Path(tf.path).name} {' '.join(args)}\n")
        fh.flush()
        out = os.open(raw, os.O_WRONLY | os.O_APPEND)
        try:
            proc = children.spawn(
                [tf.path, *args],
                "terraform",
                f"terraform {args[0]} in {module.name}/",
                cwd=module,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                log=str(log.resolve()),
                raw=str(raw.resolve()),
            )
        except BaseException:
            raw.unlink(missing_ok=True)
            raise
        finally:
            os.close(out)

        def show(line: str) -> None:
            lines.append(line)
            fh.write(line + "\n")
            fh.flush()
            if on_line is not None:
                on_line(line)

        follow = _Follow(raw, scrub, show)
        try:
            code = _follow(proc, follow)
        except (children.Abandoned, children.Stopping):
            raise  # still running: its output file and its record stay for the next skyplan
        except BaseException:  # interrupted here (the main thread): terraform got SIGINT
            if proc.poll() is None:
                children.note(
                    f"waiting for terraform {args[0]} in {module.name}/ (pid {proc.pid}) to "
                    "save its state and stop"
                )
            _follow(proc, follow)  # a second interrupt ends this wait
            raise
        finally:
            if proc.poll() is not None:
                children.release(proc)
                follow.read(final=True)
                fh.write(f"[exit {proc.returncode}]\n")
                raw.unlink(missing_ok=True)
    return Run(args, code, "\n".join(lines), log)


class _Follow:
    """Reads what a command appends to its output file, line by line, scrubbed."""

    def __init__(self, path: Path, scrub: Scrubber, emit: Callable[[str], None]):
        self.path, self.scrub, self.emit = path, scrub, emit
        self.offset = 0
        self.partial = b""

    def read(self, final: bool = False) -> None:
        """Emit the complete lines written since the last read (and a last partial one when
        `final`)."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            data = b""
        self.offset += len(data)
        *complete, self.partial = (self.partial + data).split(b"\n")
        if final and self.partial:
            complete.append(self.partial)
            self.partial = b""
        for raw in complete:
            self.emit(self.scrub(raw.decode("utf-8", errors="replace").rstrip("\r")))


def _follow(proc: subprocess.Popen[Any], follow: _Follow) -> int:
    """Follow the command's output until it ends; its exit code."""
    while True:
        follow.read()
        try:
            code = proc.wait(timeout=FOLLOW_S)
        except subprocess.TimeoutExpired:
            if children.abandoned():
                raise children.Abandoned(f"left pid {proc.pid} running") from None
            continue
        follow.read()
        return code


def init(tf: Terraform, module: Path, log: Path, scrub: Scrubber) -> Run:
    """`terraform init -input=false`."""
    return run(tf, ("init", "-input=false", "-no-color"), module, log, scrub)


def plan(
    tf: Terraform,
    module: Path,
    planfile: Path,
    log: Path,
    scrub: Scrubber,
    destroy: bool = False,
    variables: tuple[str, ...] = (),
    targets: tuple[str, ...] = (),
) -> Run:
    """`terraform plan -out PLANFILE` (or a destroy plan), with `-var` settings (`NAME=VALUE`)
    and `-target` addresses."""
    args: tuple[str, ...] = ("plan", "-input=false", "-no-color", "-out", str(planfile))
    args += ("-destroy",) if destroy else ()
    args += (*_vars(variables), *(f"-target={t}" for t in targets))
    return run(tf, args, module, log, scrub)


def resource_changes(tf: Terraform, module: Path, planfile: Path) -> list[dict[str, Any]]:
    """The `resource_changes` of a saved plan (`terraform show -json`); an error when it cannot
    be read (never approve or apply a plan nobody could read)."""
    proc = _capture(tf, ("show", "-json", str(planfile)), module)
    try:
        if proc.returncode != 0:
            raise ValueError(proc.stderr.strip() or f"exit {proc.returncode}")
        changes = json.loads(proc.stdout).get("resource_changes") or []
        if not isinstance(changes, list):
            raise ValueError("resource_changes is not a list")
    except (ValueError, AttributeError) as e:
        raise ApplyError(
            f"cannot read the saved plan {planfile}: {e}",
            hint="run `terraform show` on it by hand to see why",
        ) from None
    return [c for c in changes if isinstance(c, dict)]


def show(tf: Terraform, module: Path, planfile: Path) -> PlanSummary:
    """Count what a saved plan creates, updates, replaces and destroys (`terraform show -json`)."""
    changes = resource_changes(tf, module, planfile)
    counts = {"create": 0, "update": 0, "replace": 0, "delete": 0}
    for change in changes:
        actions = change.get("change", {}).get("actions", [])
        if "create" in actions and "delete" in actions:
            counts["replace"] += 1
        elif actions in (["create"], ["update"], ["delete"]):
            counts[actions[0]] += 1
    return PlanSummary(**counts)


def _capture(
    tf: Terraform, args: tuple[str, ...], module: Path
) -> subprocess.CompletedProcess[str]:
    """Run a read-only Terraform command and keep its output (not logged: machine-readable)."""
    return subprocess.run(
        [tf.path, *args], cwd=module, env={**os.environ, **AUTOMATION_ENV},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def apply(tf: Terraform, module: Path, planfile: Path, log: Path, scrub: Scrubber) -> Run:
    """`terraform apply PLANFILE`: exactly the reviewed plan, nothing else."""
    return run(tf, ("apply", "-input=false", "-no-color", str(planfile)), module, log, scrub)


def destroy(
    tf: Terraform, module: Path, log: Path, scrub: Scrubber, variables: tuple[str, ...] = ()
) -> Run:
    """`terraform destroy -auto-approve` (the caller has asked already); `variables` are
    `NAME=VALUE` settings passed with -var."""
    args = ("destroy", "-input=false", "-no-color", "-auto-approve")
    return run(tf, (*args, *_vars(variables)), module, log, scrub)


def _vars(variables: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(a for v in variables for a in ("-var", v))


def declares_variable(module: Path, name: str) -> bool:
    """Whether the module's .tf files declare `variable "<name>"`."""
    pattern = re.compile(rf'^variable\s+"{re.escape(name)}"\s*\{{', re.MULTILINE)
    return any(pattern.search(p.read_text(encoding="utf-8")) for p in module.glob("*.tf"))


def state_resources(tf: Terraform, module: Path, strict: bool = False) -> tuple[str, ...]:
    """Addresses in a module's state (`terraform state list`); empty when there is none. A
    failure (a backend that cannot be read) is empty too, unless `strict`: an ApplyError."""
    proc = _capture(tf, ("state", "list"), module)
    if proc.returncode == 0:
        return tuple(line for line in proc.stdout.splitlines() if line)
    if strict and "No state file was found" not in proc.stderr:
        detail = " ".join(proc.stderr.split())[-400:] or f"exit {proc.returncode}"
        raise ApplyError(
            f"cannot list the resources in the state of {module.name}/ (terraform state list): "
            f"{detail}",
            hint=f"run `terraform -chdir={module} state list` to see why (credentials, backend "
            "access), then run skyplan again",
        )
    return ()


#: Buckets in a module's state (with count/for_each indexes, inside modules): S3 and GCS delete a
#: bucket that holds objects only with force_destroy; the local cloud's bucket folders likewise.
_INDEX = r"(?:\[[^\]]+\])?"
BUCKETS = re.compile(
    rf"^(?:module\.[\w-]+{_INDEX}\.)*"
    rf"(?:(?:aws_s3_bucket|google_storage_bucket)\.[\w-]+|terraform_data\.bucket_[\w-]+){_INDEX}$"
)


def force_destroy_only(change: dict[str, Any]) -> bool:
    """Whether a planned resource change does nothing but set `force_destroy` in place (or
    nothing at all). terraform_data's `output` follows its `input`, so it is not counted."""
    detail = change.get("change") or {}
    actions = detail.get("actions") or []
    if actions in (["no-op"], ["read"]):
        return True
    if actions != ["update"]:
        return False
    paths = changed_paths(detail.get("before"), detail.get("after"), detail.get("after_unknown"))
    derived = ("output",) if change.get("type") == "terraform_data" else ()
    return all(p and (p[-1] == "force_destroy" or p[0] in derived) for p in paths)


def changed_paths(
    before: Any, after: Any, unknown: Any, at: tuple[str, ...] = ()
) -> set[tuple[str, ...]]:
    """The attribute paths a planned update changes (or leaves unknown until apply)."""
    if unknown is True:
        return {at}
    if isinstance(before, dict) and isinstance(after, dict):
        keys = set(before) | set(after) | (set(unknown) if isinstance(unknown, dict) else set())
        out: set[tuple[str, ...]] = set()
        for key in keys:
            sub = unknown.get(key) if isinstance(unknown, dict) else None
            out |= changed_paths(before.get(key), after.get(key), sub, (*at, str(key)))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = set()
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            sub = unknown[i] if isinstance(unknown, list) and i < len(unknown) else None
            out |= changed_paths(b, a, sub, (*at, str(i)))
        return out
    return set() if before == after else {at}


def describe_change(change: dict[str, Any]) -> str:
    """`aws_s3_bucket.b: update (force_destroy, tags)`, `terraform_data.bucket_a: delete`."""
    detail = change.get("change") or {}
    actions = "/".join(detail.get("actions") or ["?"])
    text = f"{change.get('address', '?')}: {actions}"
    if detail.get("actions") == ["update"]:
        paths = changed_paths(
            detail.get("before"), detail.get("after"), detail.get("after_unknown")
        )
        names = sorted({".".join(p) for p in paths if p})
        text += f" ({', '.join(names[:6])}{', ...' if len(names) > 6 else ''})" if names else ""
    return text


def outputs(tf: Terraform, module: Path) -> dict[str, dict[str, object]]:
    """A module's root outputs from its state (`terraform output -json`, read-only): name ->
    {"value", "sensitive", "type"}; empty when there are none or they cannot be read."""
    proc = _capture(tf, ("output", "-json", "-no-color"), module)
    if proc.returncode != 0:
        return {}
    try:
        data = json.loads(proc.stdout or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}
