"""What failed applies ruled out: an offering in a region (capacity) or a capacity kind (quota)."""

from __future__ import annotations

from dataclasses import dataclass

from skyplan.catalog.models import Offering


@dataclass(frozen=True, order=True)
class Block:
    """A capacity block names an instance type; a quota block a resource (`vcpus`, `gpus:A100`)."""

    region: str  # cloud:region
    instance_type: str | None = None
    resource: str | None = None
    reason: str = "capacity"

    def covers(self, offering: Offering) -> bool:
        """Whether this block rules out `offering`."""
        if offering.region_key != self.region:
            return False
        if self.instance_type is not None:
            return offering.instance_type == self.instance_type
        if self.resource is None or self.resource == "vcpus":
            return True
        return self.resource == f"gpus:{offering.accelerator.upper()}"

    def describe(self) -> str:
        """`aws:eu-west-1 p4d.24xlarge (capacity)` for messages."""
        what = self.instance_type or self.resource or "all capacity"
        return f"{self.region} {what} ({self.reason})"
