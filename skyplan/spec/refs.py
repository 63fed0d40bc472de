"""The names a spec refers to (inputs, outputs, after), checked without catalog or schema."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from graphlib import TopologicalSorter

from skyplan.errors import Problem, did_you_mean
from skyplan.spec.schema import RawSpec
from skyplan.spec.yamlpos import Located, PathKey

#: Records one problem at a path of the YAML: add(path, message, hint).
Add = Callable[[PathKey, str, str | None], None]


def env_name(name: str) -> str:
    """The upper-cased form used in SKYPLAN_INPUT_<NAME> / SKYPLAN_OUTPUT_<NAME>."""
    return re.sub(r"[-.]", "_", name).upper()


@dataclass(frozen=True)
class JobRefs:
    """The names one job refers to; None where the YAML there is not a list of names."""

    name: str
    inputs: tuple[str, ...] | None
    outputs: tuple[str, ...]
    after: tuple[str, ...] | None


@dataclass(frozen=True)
class Refs:
    """Data set and job names; `complete` is False when some data set names could not be read."""

    datasets: tuple[str, ...]
    jobs: tuple[JobRefs, ...]
    complete: bool = True


def refs_of_raw(raw: RawSpec) -> Refs:
    """The names of a schema-valid spec."""
    return Refs(
        datasets=tuple(raw.datasets),
        jobs=tuple(
            JobRefs(name, tuple(job.inputs), tuple(job.outputs), tuple(job.after))
            for name, job in raw.jobs.items()
        ),
    )


def _names(value: object) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def refs_of_data(data: object) -> Refs:
    """The names in the well-formed parts of YAML data that failed the schema."""
    if not isinstance(data, dict):
        return Refs((), (), complete=False)
    datasets, jobs = data.get("datasets") or {}, data.get("jobs")
    complete = isinstance(datasets, dict)
    found: list[JobRefs] = []
    for name, job in jobs.items() if isinstance(jobs, dict) else ():
        if not isinstance(job, dict):
            complete = False  # its outputs, if any, are unknown
            found.append(JobRefs(name, None, (), None))
            continue
        outputs = job.get("outputs") or {}
        complete = complete and isinstance(outputs, dict)
        outs = tuple(outputs) if isinstance(outputs, dict) else ()
        found.append(JobRefs(name, _names(job.get("inputs")), outs, _names(job.get("after"))))
    names = tuple(datasets) if isinstance(datasets, dict) else ()
    return Refs(names, tuple(found), complete)


def check_refs(refs: Refs, add: Add) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Check every reference; returns data set -> producing job ('' for external) and job deps."""
    owner: dict[str, str] = dict.fromkeys(refs.datasets, "")
    for job in refs.jobs:
        for out in job.outputs:
            if out in owner:
                first = f"job {owner[out]}" if owner[out] else "datasets"
                add(
                    ("jobs", job.name, "outputs", out),
                    f"data set {out!r} is defined twice (also in {first})",
                    "give it one definition",
                )
            else:
                owner[out] = job.name
    jobs = [j.name for j in refs.jobs]
    deps: dict[str, set[str]] = {}
    for job in refs.jobs:
        deps[job.name] = set()
        path = ("jobs", job.name)
        for i, inp in enumerate(job.inputs or ()):
            if inp in owner:
                if owner[inp]:
                    deps[job.name].add(owner[inp])
            elif refs.complete:
                hint = did_you_mean(inp, owner)
                add(
                    (*path, "inputs", i),
                    f"unknown data set {inp!r}",
                    hint or "define it under datasets or as some job's output",
                )
        for i, other in enumerate(job.after or ()):
            if other in jobs:
                deps[job.name].add(other)
            else:
                add((*path, "after", i), f"unknown job {other!r}", did_you_mean(other, jobs))
        _check_env(job, add)
    return owner, deps


def _check_env(job: JobRefs, add: Add) -> None:
    """Inputs (and outputs) must keep distinct SKYPLAN_INPUT_* (SKYPLAN_OUTPUT_*) names."""
    for i, inp in enumerate(job.inputs or ()):
        if inp in (job.inputs or ())[:i]:
            add(("jobs", job.name, "inputs", i), f"input {inp!r} is listed twice", "list it once")
    for kind, names in (("input", job.inputs or ()), ("output", job.outputs)):
        by_env: dict[str, list[str]] = {}
        for name in dict.fromkeys(names):
            by_env.setdefault(env_name(name), []).append(name)
        for env, same in by_env.items():
            if len(same) > 1:
                add(
                    ("jobs", job.name),
                    f"{kind}s {', '.join(map(repr, same[:-1]))} and {same[-1]!r} collide in the "
                    f"job environment as SKYPLAN_{kind.upper()}_{env}",
                    "rename one of them",
                )


def _components(deps: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of the dependency graph (Tarjan's, iterative, so a long
    chain of jobs cannot overflow the stack); nodes visited in `deps` order, edges sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in deps:
        if root in index:
            continue
        work = [(root, iter(sorted(deps[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in deps:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(deps[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    found.append(component)
    return found


def _shortest_cycle(start: str, members: set[str], deps: dict[str, set[str]]) -> list[str]:
    """The shortest walk start -> ... -> start along dependencies inside one component (ties
    broken by name), so the same spec always names the same cycle."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for nxt in sorted(deps[node] & members):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if nxt not in came_from:
                    came_from[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"{start} is on no cycle")  # pragma: no cover


def dependency_cycles(deps: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per group of jobs that depend on each other (a strongly connected component with
    a cycle), each starting and ending at the group's first job in `deps` order (the spec's),
    the groups in that order too; `a -> b` means a waits for b."""
    position = {job: i for i, job in enumerate(deps)}
    cycles = []
    for component in _components(deps):
        members = set(component)
        if len(component) == 1 and component[0] not in deps[component[0]]:
            continue
        start = min(component, key=position.__getitem__)
        cycles.append(_shortest_cycle(start, members, deps))
    return sorted(cycles, key=lambda c: position[c[0]])


def job_order(deps: dict[str, set[str]], add: Add) -> list[str]:
    """Jobs in topological order, ties broken by name; every cycle is a problem."""
    cycles = dependency_cycles(deps)
    for cycle in cycles:
        add(
            ("jobs", cycle[0]),
            f"jobs form a cycle: {' -> '.join(cycle)}",
            "break the cycle in inputs or after",
        )
    if cycles:
        return sorted(deps)
    ts: TopologicalSorter[str] = TopologicalSorter({j: sorted(d) for j, d in sorted(deps.items())})
    order: list[str] = []
    ts.prepare()
    while ts.is_active():
        ready = sorted(ts.get_ready())
        order.extend(ready)
        ts.done(*ready)
    return order


def reference_problems(located: Located) -> list[Problem]:
    """Reference problems in YAML data the schema rejected, so that one run reports them all."""
    problems: list[Problem] = []

    def add(path: PathKey, message: str, hint: str | None) -> None:
        problems.append(Problem(located.where(path), message, hint))

    _, deps = check_refs(refs_of_data(located.data), add)
    job_order(deps, add)
    return problems
