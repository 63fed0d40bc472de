"""Terraform's error output split into blocks, each classified: capacity, quota, transient..."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from skyplan.apply.failure_table import (
    AZURE_GPUS,
    CLOUD_HINTS,
    DEFAULT_SCOPE,
    REGION_PATTERNS,
    RULES,
    TYPE_PATTERNS,
    ZONE_PATTERNS,
    Kind,
    Scope,
)
from skyplan.solver.blocked import Block

#: Capacity codes that mean "this type is not offered there": blocked for good, not for a TTL.
UNSUPPORTED = frozenset({"Unsupported", "RESOURCE_NOT_FOUND"})
#: Permanent failures of a place rather than of the configuration: the region is blocked for
#: good (reason `unsupported`) and the plan moves, as the failure table says.
UNUSABLE_LOCATION = frozenset({"LOCATION_NOT_FOUND"})
_MESSAGE_MAX = 500
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_WITH = re.compile(r"^  with (.+),$")
_ON = re.compile(r'^  on \S.* line \d+(?:, in resource "([\w-]+)" "([\w-]+)")?')
_ADDRESS = re.compile(r"^(?:module\.[\w-]+(?:\[[^\]]*\])?\.)*(?:data\.)?([a-z][a-z0-9_]*)\.[\w-]+")
_OUTPUT = re.compile(r"Error running command '.*?': (?:exit status -?\d+|signal: [\w ]+)\. Output:")
_API_RESPONSE = re.compile(r"\s*---\s*API Response:.*$")


@dataclass(frozen=True)
class TerraformError:
    """One `Error:` block of Terraform's output, its frame (if any) removed."""

    summary: str  # the text after `Error: `, up to the source reference (may span lines)
    address: str | None  # `aws_instance.align[0]`, from the `with` line
    detail: str  # what follows the source snippet
    text: str  # the whole block


@dataclass(frozen=True)
class Failure:
    """What one Terraform error means for the plan."""

    kind: Kind
    code: str  # the cloud's code (InsufficientInstanceCapacity, QUOTA_EXCEEDED...) or "unknown"
    cloud: str  # aws | gcp | azure | local | unknown
    scope: Scope = "offering"
    address: str | None = None
    instance_type: str | None = None  # when the message names it
    zone: str | None = None
    region: str | None = None  # without the cloud prefix
    quota_resource: str | None = None  # quota only: `vcpus`, `gpus:A100` (`gpus`: not named)
    message: str = ""

    @classmethod
    def unknown(cls, output: str) -> Failure:
        """A permanent failure for output that holds no `Error:` block (its last lines)."""
        tail = " ".join(output.split())[-_MESSAGE_MAX:]
        return cls("permanent", "unknown", _cloud_of_text(output) or "unknown", message=tail)

    def describe(self) -> str:
        """`capacity InsufficientInstanceCapacity at aws_instance.align[0]: <message>`."""
        where = f" at {self.address}" if self.address else ""
        return f"{self.kind} {self.code}{where}: {self.message}"


def split_errors(output: str) -> tuple[TerraformError, ...]:
    """Every `Error:` block of Terraform's output, plain (-no-color) or framed (╷ │ ╵)."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    framed = opened = False
    prev_blank = True
    for raw in _ANSI.sub("", output).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw.startswith(("╷", "╵")):
            current, framed, opened, prev_blank = None, raw.startswith("╷"), True, True
            continue
        line = raw
        if raw.startswith("│"):
            line = raw[2:] if raw.startswith("│ ") else raw[1:]
        starts = opened if framed else prev_blank
        if starts and line.startswith("Error: "):
            current = [line]
            blocks.append(current)
        elif starts and line.startswith("Warning: "):
            current = None
        elif current is not None:
            current.append(line)
        opened, prev_blank = False, not line.strip()
    return tuple(_parse(lines) for lines in blocks)


def _parse(lines: list[str]) -> TerraformError:
    """Summary up to the `with`/`on` lines (or the first blank line), then snippet, then detail."""
    ref = next((i for i, s in enumerate(lines) if i and (_WITH.match(s) or _ON.match(s))), None)
    address = None
    if ref is None:
        end = next((i for i, s in enumerate(lines) if not s.strip()), len(lines))
        summary, rest = lines[:end], lines[end:]
    else:
        summary, i = lines[:ref], ref
        if m := _WITH.match(lines[i]):
            address, i = m.group(1), i + 1
        if i < len(lines) and (on := _ON.match(lines[i])):
            if address is None and on.group(1):
                address = f"{on.group(1)}.{on.group(2)}"
            while i < len(lines) and lines[i].strip():  # the snippet ends at a blank line
                i += 1
        rest = lines[i:]
    summary[0] = summary[0].removeprefix("Error: ")
    return TerraformError(
        "\n".join(summary).strip(), address, "\n".join(rest).strip(), "\n".join(lines).strip()
    )


def classify(output: str) -> tuple[Failure, ...]:
    """One Failure per `Error:` block of `output` (identical ones once); empty when none."""
    return tuple(dict.fromkeys(classify_error(e) for e in split_errors(output)))


def classify_output(output: str) -> tuple[Failure, ...]:
    """What a failed Terraform command's output means: one Failure per `Error:` block; output
    without any (a crash, a killed process) is transient only when it matches a transient
    pattern (a dropped connection, throttling), else one permanent `unknown` failure."""
    found = classify(output)
    if found:
        return found
    text = " ".join(_ANSI.sub("", output).split())
    for rule in RULES:
        if rule.kind == "transient" and (hit := rule.pattern.search(text)):
            code = rule.code or hit.group("code")
            code = f"HTTP {code}" if code.isdigit() else code
            cloud = _cloud_of_text(output) or (rule.clouds[0] if rule.clouds else "unknown")
            return (Failure("transient", code, cloud, message=_trim(text[-_MESSAGE_MAX:])),)
    return (Failure.unknown(output),)


def classify_error(error: TerraformError) -> Failure:
    """Classify one error block by the first matching rule; anything else is permanent."""
    body = f"{error.summary}\n{error.detail}"
    message = _API_RESPONSE.sub("", " ".join(error.summary.split()))
    if m := _OUTPUT.search(" ".join(body.split())):  # a local-exec provisioner: only its output
        body = " ".join(body.split())[m.end() :]
        message = f"{message}: {body.strip()}"
    text = " ".join(body.split())
    known = _cloud_of_address(error.address)
    hinted = _cloud_of_text(error.text)
    cloud, code = known or hinted or "unknown", "unknown"
    kind: Kind = "permanent"
    scope: Scope | None = None
    for rule in RULES:
        if known and rule.clouds and known not in rule.clouds:
            continue
        if hit := rule.pattern.search(text):
            kind, code, scope = rule.kind, rule.code or hit.group("code"), rule.scope
            code = f"HTTP {code}" if code.isdigit() else code
            if not known and rule.clouds and hinted not in rule.clouds:
                cloud = rule.clouds[0]
            break
    zone = _first(ZONE_PATTERNS, text)
    resource = _quota_resource(text) if kind == "quota" else None
    if kind == "quota" and scope is None and _global_quota(text):
        scope = "cloud"
    return Failure(
        kind=kind,
        code=code,
        cloud=cloud,
        scope=scope or DEFAULT_SCOPE[kind],
        address=error.address,
        instance_type=_first(TYPE_PATTERNS, text),
        zone=zone,
        region=_first(REGION_PATTERNS, text) or _region_of_zone(cloud, zone),
        quota_resource=resource,
        message=_trim(message),
    )


def blocks_for(
    failure: Failure, region_of_address: Callable[[str], tuple[str, str] | None]
) -> frozenset[Block]:
    """The solver blocks a failure calls for; empty when it calls for none (then the apply stops).

    `region_of_address` gives the (cloud:region, instance_type) a resource address was placed
    at (the instance type is empty for a region's own resources: its network, its bucket);
    without one the failure's own region and instance type are used. A cloud-scope quota
    (`GPUS_ALL_REGIONS`, `CPUS_ALL_REGIONS`, a subscription's resource groups, a disabled
    subscription) blocks its kind of capacity in every region of that cloud (`gcp:*`).
    Capacity without a known instance type blocks the whole region (with the capacity TTL);
    `Unsupported`/`RESOURCE_NOT_FOUND` blocks carry the reason `unsupported`, which does not
    expire, and so does the block of an unusable location (a permanent failure of the place).
    """
    if failure.kind == "quota" and failure.scope == "cloud":
        if failure.cloud not in ("aws", "gcp", "azure", "local"):
            return frozenset()
        every = f"{failure.cloud}:*"
        return frozenset({Block(every, resource=failure.quota_resource or "vcpus", reason="quota")})
    location = failure.kind == "permanent" and failure.code in UNUSABLE_LOCATION
    if (failure.kind not in ("capacity", "quota") and not location) or failure.scope == "cloud":
        return frozenset()
    placed = region_of_address(failure.address) if failure.address else None
    if placed is not None:
        region, instance_type = placed[0], placed[1] or failure.instance_type
    elif failure.region and failure.cloud != "unknown":
        region, instance_type = f"{failure.cloud}:{failure.region}", failure.instance_type
    else:
        return frozenset()
    if location:
        return frozenset({Block(region, reason="unsupported")})
    if failure.kind == "capacity":
        reason = "unsupported" if failure.code in UNSUPPORTED else "capacity"
        return frozenset({Block(region, instance_type, reason=reason)})
    narrow = failure.scope == "offering" or failure.quota_resource == "gpus"
    if narrow and instance_type:
        return frozenset({Block(region, instance_type, reason="quota")})
    resource = failure.quota_resource if failure.quota_resource != "gpus" else "vcpus"
    return frozenset({Block(region, resource=resource or "vcpus", reason="quota")})


def _cloud_of_address(address: str | None) -> str | None:
    m = _ADDRESS.match(address or "")
    if m is None:
        return None
    kind = m.group(1)
    if kind.startswith("aws_"):
        return "aws"
    if kind.startswith("google_"):
        return "gcp"
    if kind.startswith(("azurerm_", "azapi_")):
        return "azure"
    return "local" if kind in ("terraform_data", "null_resource") else None


def _cloud_of_text(text: str) -> str | None:
    return next((cloud for cloud, hint in CLOUD_HINTS if re.search(hint, text)), None)


def _first(patterns: tuple[str, ...], text: str) -> str | None:
    for pattern in patterns:
        if m := re.search(pattern, text):
            return m.group(1)
    return None


def _region_of_zone(cloud: str, zone: str | None) -> str | None:
    """us-east-2a -> us-east-2 (AWS), us-central1-a -> us-central1 (GCP); local zone = region."""
    if zone is None:
        return None
    if cloud == "aws" and re.fullmatch(r"[a-z]{2}(?:-[a-z]+)+-\d[a-z]", zone):
        return zone[:-1]
    if cloud == "gcp" and re.fullmatch(r"[a-z]+-[a-z]+\d+-[a-z]", zone):
        return zone[: zone.rindex("-")]
    return zone if cloud == "local" else None


def _global_quota(text: str) -> bool:
    """GCP's project-wide quotas: `GPUS_ALL_REGIONS`, `CPUS_ALL_REGIONS`, `Limit: 1.0 globally`."""
    return bool(re.search(r"Quota '\w+_ALL_REGIONS' exceeded|Limit: [\d.]+ globally", text))


def _quota_resource(text: str) -> str:
    """`gpus:<NAME>` (catalog spelling) for a GPU quota, else `vcpus`."""
    if m := re.search(r"Quota '([\w-]+)' exceeded", text):
        name = m.group(1)
        if "GPU" not in name:
            return "vcpus"
        family = re.search(r"gpu_family:(NVIDIA_\w+)", text)
        gpu = _gcp_gpu(family.group(1) if family else name)
        return f"gpus:{gpu}" if gpu else "gpus"
    if m := re.search(r"approved (\w+) Cores quota", text):
        family_name = m.group(1).upper()
        if family_name.startswith("STANDARDN"):  # NC, ND, NV: Azure's GPU families
            gpu = next((g for g in AZURE_GPUS if g in family_name), None)
            return f"gpus:{gpu}" if gpu else "gpus"
    return "vcpus"


def _gcp_gpu(name: str) -> str | None:
    """NVIDIA_A100_80GB_GPUS -> A100-80GB, PREEMPTIBLE_NVIDIA_T4_GPUS -> T4."""
    name = re.sub(r"^(?:PREEMPTIBLE_|COMMITTED_)+", "", name).removesuffix("_GPUS")
    if not name.startswith("NVIDIA_"):
        return None
    return name.removeprefix("NVIDIA_").replace("_", "-") or None


def _trim(message: str) -> str:
    return message if len(message) <= _MESSAGE_MAX else message[: _MESSAGE_MAX - 1] + "…"
