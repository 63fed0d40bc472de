"""The raw sky spec: pydantic models shaped exactly like the YAML (extra keys forbidden)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)

from skyplan.units import UnitError, memory_gib, parse_accelerators, positive, size_gb, to_decimal

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,38}$"
BUCKET_PREFIX_PATTERN = r"^[a-z][a-z0-9-]{0,19}$"
ITEM_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$"


def _unit(parse: Any) -> Any:
    """Wrap a units parser so that its UnitError becomes a pydantic validation message."""

    def check(value: object) -> object:
        try:
            return parse(value)
        except UnitError as e:
            raise ValueError(str(e)) from None

    return check


# Upper bounds keep every cost an exact 64-bit integer of micro-dollars in the solver.
SizeGB = Annotated[Decimal, BeforeValidator(_unit(size_gb)), Field(le=10**9)]  # 1 EB
MemoryGiB = Annotated[Decimal, BeforeValidator(_unit(memory_gib)), Field(le=10**7)]
Hours = Annotated[
    Decimal, BeforeValidator(_unit(lambda v: positive(v, "hours"))), Field(le=100_000)
]
Cpus = Annotated[Decimal, BeforeValidator(_unit(lambda v: positive(v, "cpus"))), Field(le=100_000)]
Usd = Annotated[Decimal, BeforeValidator(_unit(to_decimal)), Field(le=10**12)]


class _Raw(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class RawResources(_Raw):
    """`jobs.<name>.resources`."""

    cpus: Cpus | None = None
    memory: MemoryGiB | None = None
    accelerators: tuple[str, int] | None = None
    spot: bool = False

    @field_validator("accelerators", mode="before")
    @classmethod
    def _accel(cls, value: object) -> object:
        try:
            return parse_accelerators(value)
        except UnitError as e:
            raise ValueError(str(e)) from None


class RawJob(_Raw):
    """`jobs.<name>`."""

    run: str = Field(min_length=1)
    resources: RawResources = RawResources()
    nodes: StrictInt = Field(default=1, ge=1, le=10_000)
    hours: Hours
    inputs: tuple[str, ...] = ()
    outputs: dict[Annotated[str, Field(pattern=ITEM_PATTERN)], SizeGB] = {}
    regions: tuple[str, ...] | None = None
    after: tuple[str, ...] = ()


class RawDataset(_Raw):
    """`datasets.<name>`."""

    size: SizeGB
    location: str
    uri: str | None = None
    jurisdictions: tuple[str, ...] | None = Field(default=None, min_length=1)


class RawPolicy(_Raw):
    """`policy`."""

    jurisdictions: tuple[str, ...] | None = Field(default=None, min_length=1)
    avoid: tuple[str, ...] = ()


class RawPeering(_Raw):
    """One `peering` entry."""

    clouds: tuple[str, str]
    usd_per_gb: Usd = Field(ge=0)


#: Settings each `backend.type` accepts, and which of them are required.
BACKEND_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "local": (frozenset(), frozenset()),
    "s3": (
        frozenset({"bucket", "region", "key_prefix", "use_lockfile", "encrypt", "kms_key_id"}),
        frozenset({"bucket", "region"}),
    ),
    "gcs": (frozenset({"bucket", "prefix", "kms_encryption_key"}), frozenset({"bucket"})),
    "azurerm": (
        frozenset(
            {
                "resource_group_name",
                "storage_account_name",
                "container_name",
                "key_prefix",
                "use_azuread_auth",
            }
        ),
        frozenset({"resource_group_name", "storage_account_name", "container_name"}),
    ),
}
BackendValue = Annotated[str, Field(min_length=1, max_length=1024)]


class RawBackend(_Raw):
    """`backend`: where Terraform keeps the state of each cloud's root module."""

    type: Literal["local", "s3", "gcs", "azurerm"] = "local"
    bucket: BackendValue | None = None
    region: BackendValue | None = None
    key_prefix: BackendValue | None = None
    prefix: BackendValue | None = None
    use_lockfile: bool | None = None
    encrypt: bool | None = None
    kms_key_id: BackendValue | None = None
    kms_encryption_key: BackendValue | None = None
    resource_group_name: BackendValue | None = None
    storage_account_name: BackendValue | None = None
    container_name: BackendValue | None = None
    use_azuread_auth: bool | None = None

    @model_validator(mode="after")
    def _fields_of_type(self) -> RawBackend:
        allowed, required = BACKEND_FIELDS[self.type]
        given = {k for k in type(self).model_fields if k != "type" and getattr(self, k) is not None}
        if extra := sorted(given - allowed):
            raise ValueError(
                f"backend type {self.type!r} does not take {', '.join(extra)} "
                f"(it takes: {', '.join(sorted(allowed)) or 'nothing'})"
            )
        if missing := sorted(required - given):
            raise ValueError(f"backend type {self.type!r} needs {', '.join(missing)}")
        return self


class RawEnv(_Raw):
    """`envs.<name>`: fields that replace the top-level ones in that environment."""

    budget_usd: Usd | None = Field(default=None, gt=0)
    clouds: tuple[str, ...] | None = Field(default=None, min_length=1)
    policy: RawPolicy | None = None
    backend: RawBackend | None = None
    bucket_prefix: str | None = Field(default=None, pattern=BUCKET_PREFIX_PATTERN)
    nodes: dict[str, Annotated[StrictInt, Field(ge=1, le=10_000)]] = {}


class RawSpec(_Raw):
    """The whole `sky.yaml`."""

    version: Literal[1]
    name: str = Field(pattern=NAME_PATTERN)
    clouds: tuple[str, ...] | None = Field(default=None, min_length=1)
    budget_usd: Usd | None = Field(default=None, gt=0)
    catalog: str | None = None
    policy: RawPolicy = RawPolicy()
    peering: tuple[RawPeering, ...] = ()
    backend: RawBackend = RawBackend()
    bucket_prefix: str = Field(default="skyplan", pattern=BUCKET_PREFIX_PATTERN)
    envs: dict[Annotated[str, Field(pattern=NAME_PATTERN)], RawEnv] = {}

    @field_validator("envs", mode="before")
    @classmethod
    def _empty_envs(cls, value: object) -> object:
        # `envs: {dev: }` is an environment that changes nothing
        if isinstance(value, dict):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value

    datasets: dict[Annotated[str, Field(pattern=ITEM_PATTERN)], RawDataset] = {}
    jobs: dict[Annotated[str, Field(pattern=ITEM_PATTERN)], RawJob] = Field(min_length=1)


def model_at(path: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model of the mapping at `path` of the YAML; None where it is a dict of names, a list
    or a value."""
    match path:
        case ():
            return RawSpec
        case ("policy",):
            return RawPolicy
        case ("backend",) | ("envs", str(), "backend"):
            return RawBackend
        case ("envs", str()):
            return RawEnv
        case ("envs", str(), "policy"):
            return RawPolicy
        case ("peering", int()):
            return RawPeering
        case ("datasets", str()):
            return RawDataset
        case ("jobs", str()):
            return RawJob
        case ("jobs", str(), "resources"):
            return RawResources
    return None


def model_fields_at(path: tuple[str | int, ...]) -> tuple[str, ...]:
    """The keys allowed in the mapping at `path` of the YAML, for 'did you mean' on unknown keys."""
    model = model_at(path)
    return tuple(model.model_fields) if model is not None else ()
