"""The resolved sky spec: what the solver needs, with sizes in GB and jurisdictions inherited."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from skyplan.catalog.models import Peering

#: A conjunction of alternatives: a region must carry at least one tag of every inner set.
Restriction = frozenset[frozenset[str]]


def satisfies(tags: frozenset[str], restriction: Restriction) -> bool:
    """Whether a region carrying `tags` may hold data or jobs under `restriction`."""
    return all(tags & alternatives for alternatives in restriction)


def describe(restriction: Restriction) -> str:
    """`EU and DE` / `EU or UK` for messages."""
    parts = [" or ".join(sorted(alts)) for alts in sorted(restriction, key=sorted)]
    return " and ".join(f"({p})" if " or " in p and len(parts) > 1 else p for p in parts)


@dataclass(frozen=True)
class Dataset:
    """A data set: external (a `location`) or produced by a job (`producer`)."""

    name: str
    size_gb: Decimal
    location: str | None
    producer: str | None
    uri: str | None
    restriction: Restriction
    readers: tuple[str, ...]


@dataclass(frozen=True)
class Output:
    """A data set a job creates where it runs."""

    name: str
    size_gb: Decimal


@dataclass(frozen=True)
class Job:
    """A job with its needs, its data and everything that restricts where it may run."""

    name: str
    run: str
    cpus: Decimal
    memory_gib: Decimal
    accelerator: str | None
    accelerator_count: int
    spot: bool
    nodes: int
    hours: Decimal
    inputs: tuple[str, ...]
    outputs: tuple[Output, ...]
    after: tuple[str, ...]
    depends_on: tuple[str, ...]
    regions: tuple[str, ...] | None
    restriction: Restriction
    line: int | None = field(default=None, compare=False)  # where sky.yaml defines the job


@dataclass(frozen=True)
class Backend:
    """Where Terraform state lives: `local` (the default) or a remote backend and its settings."""

    type: str = "local"
    settings: tuple[tuple[str, str | bool], ...] = ()


@dataclass(frozen=True)
class SkySpec:
    """A validated sky spec; jobs are in a deterministic topological order."""

    name: str
    source: str
    clouds: tuple[str, ...]
    budget_usd: Decimal | None
    jurisdictions: frozenset[str] | None
    avoid: tuple[str, ...]
    peering: tuple[Peering, ...]
    datasets: tuple[Dataset, ...]
    jobs: tuple[Job, ...]
    backend: Backend = Backend()
    bucket_prefix: str = "skyplan"

    def job(self, name: str) -> Job:
        """The job called `name`."""
        return next(j for j in self.jobs if j.name == name)

    def dataset(self, name: str) -> Dataset:
        """The data set called `name`."""
        return next(d for d in self.datasets if d.name == name)
