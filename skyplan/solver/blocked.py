"""What failed applies ruled out: an offering in a region (capacity) or a capacity kind (quota),
in one region or, for a cloud-wide quota, in every region of a cloud (`gcp:*`)."""

from __future__ import annotations

from dataclasses import dataclass

from skyplan.catalog.models import Offering


@dataclass(frozen=True, order=True)
class Block:
    """A capacity block names an instance type; a quota block a resource (`vcpus`, `gpus:A100`)."""

    region: str  # cloud:region, or cloud:* for every region of the cloud
    instance_type: str | None = None
    resource: str | None = None  # vcpus (everything), gpus (any GPU), gpus:<NAME>
    reason: str = "capacity"

    @property
    def whole_cloud(self) -> bool:
        """Whether the block holds in every region of its cloud (a cloud-wide quota)."""
        return self.region.endswith(":*")

    def covers_region(self, region_key: str) -> bool:
        """Whether this block applies in `cloud:region`."""
        if self.whole_cloud:
            return region_key.split(":", 1)[0] == self.region[:-2]
        return region_key == self.region

    def covers(self, offering: Offering) -> bool:
        """Whether this block rules out `offering`."""
        if not self.covers_region(offering.region_key):
            return False
        if self.instance_type is not None:
            return offering.instance_type == self.instance_type
        if self.resource is None or self.resource == "vcpus":
            return True
        if self.resource == "gpus":
            return bool(offering.accelerator) and offering.accelerator_count > 0
        return self.resource == f"gpus:{offering.accelerator.upper()}"

    def describe(self) -> str:
        """`aws:eu-west-1 p4d.24xlarge (capacity)`, `gcp (every region) gpus (quota)`."""
        what = self.instance_type or self.resource or "all capacity"
        where = f"{self.region[:-2]} (every region)" if self.whole_cloud else self.region
        return f"{where} {what} ({self.reason})"
