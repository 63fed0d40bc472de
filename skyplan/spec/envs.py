"""Environments: `envs.<name>` overlays budget, clouds, policy, backend and nodes on the spec."""

from __future__ import annotations

from skyplan.errors import Problem, SpecError, Where, did_you_mean
from skyplan.spec.schema import RawSpec
from skyplan.spec.yamlpos import Located, PathKey


class EnvLocated(Located):
    """Positions for an environment's view: a field the environment overrides is reported where
    the environment sets it (`envs.prod.policy.avoid[0]`), not at the top level."""

    def __init__(self, base: Located, env: str, overridden: frozenset[str]):
        super().__init__(base.file, base.data, base._positions)
        self.env, self.overridden = env, overridden

    def where(self, path: PathKey, field: str | None = None) -> Where:
        """The position in `envs.<env>` for overridden fields, else the top-level one."""
        if path and path[0] in self.overridden:
            return super().where(("envs", self.env, *path), field)
        if len(path) >= 3 and path[0] == "jobs" and path[2] == "nodes" and self.overridden:
            return super().where(("envs", self.env, "nodes", path[1]), field)
        return super().where(path, field)


def env_view(raw: RawSpec, located: Located, env: str | None) -> tuple[RawSpec, Located]:
    """The raw spec and positions as environment `env` sees them (unchanged when None)."""
    if env is None:
        return raw, located
    viewed = apply_env(raw, located, env)
    overlay = raw.envs[env]
    keys = {"budget_usd", "clouds", "policy", "backend", "bucket_prefix"}
    overridden = frozenset(k for k in keys if getattr(overlay, k) is not None)
    return viewed, EnvLocated(located, env, overridden)


def apply_env(raw: RawSpec, located: Located, env: str | None) -> RawSpec:
    """The raw spec as environment `env` sees it (unchanged when `env` is None). Fields the
    environment sets replace the top-level ones; `nodes` sets a job's node count; the stack is
    named `<name>-<env>` so that its resources never collide with another environment's."""
    if env is None:
        return raw
    if env not in raw.envs:
        hint = did_you_mean(env, list(raw.envs)) or (
            f"environments in this spec: {', '.join(sorted(raw.envs))}"
            if raw.envs
            else "add an `envs:` section (see the README)"
        )
        raise SpecError([Problem(located.where(("envs",)), f"unknown environment {env!r}", hint)])
    overlay = raw.envs[env]
    problems = [
        Problem(
            located.where(("envs", env, "nodes", job)),
            f"unknown job {job!r} in envs.{env}.nodes",
            did_you_mean(job, list(raw.jobs)),
        )
        for job in overlay.nodes
        if job not in raw.jobs
    ]
    if problems:
        raise SpecError(problems)
    update: dict[str, object] = {
        key: value
        for key in ("budget_usd", "clouds", "backend", "bucket_prefix")
        if (value := getattr(overlay, key)) is not None
    }
    if overlay.policy is not None:  # field by field: an environment never drops a rule it omits
        fields = {k: getattr(overlay.policy, k) for k in overlay.policy.model_fields_set}
        update["policy"] = raw.policy.model_copy(update=fields)
    if overlay.nodes:
        update["jobs"] = {
            name: job.model_copy(update={"nodes": overlay.nodes[name]})
            if name in overlay.nodes
            else job
            for name, job in raw.jobs.items()
        }
    update["name"] = f"{raw.name}-{env}"
    return raw.model_copy(update=update)
