"""AWS: a private VPC, an S3 bucket and per-job IAM roles and EC2 instances in each region."""

from __future__ import annotations

import re
from typing import Any

from skyplan.emit.base import (
    CloudInput,
    RenderedFile,
    bucket_tag,
    job_record,
    module_files,
    region_record,
    register,
    script_files,
)
from skyplan.emit.layout import JobLayout
from skyplan.emit.tools import by_store

UBUNTU = "24.04"
DISK_MAX_GB = 16_384  # gp3
AMI_OWNER = "099720109477"  # Canonical
AMI_NAMES = {
    "x86_64": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
    "arm64": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*",
}
GRAVITON = re.compile(r"^[a-z]+\d+[a-z]*g[a-z]*\.")  # m7g.large, c7gn.xlarge, r8gd.2xlarge


def architecture(instance_type: str) -> str:
    """`arm64` for Graviton instance types, else `x86_64`."""
    return "arm64" if GRAVITON.match(instance_type) else "x86_64"


def statements(j: JobLayout) -> list[dict[str, Any]]:
    """The job's IAM policy: read its inputs, write its outputs and run markers, nothing else
    (every run's markers, not just this one's, so a new run changes no IAM policy). Writing
    includes deleting an object there: a single node mirrors its outputs (`aws s3 sync
    --delete`), and one that resumes with a changed file set deletes what it no longer has; the
    bucket keeps versions and s3:DeleteObjectVersion is not granted, so it stays recoverable."""
    reads = [(b, k) for b, keys in by_store(j.reads(), "s3").items() for k in keys]
    writes = [(b, k) for b, keys in by_store(j.writes(), "s3").items() for k in keys]
    out: list[dict[str, Any]] = []
    if reads:
        out.append(
            {
                "sid": "ReadInputs",
                "actions": ["s3:GetObject"],
                "resources": sorted({f"arn:aws:s3:::{b}/{k}*" for b, k in reads}),
                "prefixes": None,
            }
        )
    listed = reads + writes
    for bucket in sorted({b for b, _ in listed}):
        prefixes = sorted(
            {k for b, k in listed if b == bucket} | {f"{k}*" for b, k in listed if b == bucket}
        )
        out.append(
            {
                "sid": f"List{len(out)}",
                "actions": ["s3:ListBucket"],
                "resources": [f"arn:aws:s3:::{bucket}"],
                "prefixes": prefixes,
            }
        )
    out.append(
        {
            "sid": "WriteOutputs",
            "actions": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"],
            "resources": sorted({f"arn:aws:s3:::{b}/{k}*" for b, k in writes}),
            "prefixes": None,
        }
    )
    return out


@register("aws")
class AwsEmitter:
    """EC2 on a private VPC per region; S3 for data; IAM limited to each job's own prefixes."""

    cloud = "aws"

    def files(self, given: CloudInput) -> tuple[RenderedFile, ...]:
        """versions.tf, main.tf, variables.tf, outputs.tf and the startup scripts."""
        ids = given.job_ids()
        arches: dict[str, set[str]] = {}
        jobs = []
        for j in given.jobs:
            arch = architecture(j.placement.instance_type)
            arches.setdefault(j.placement.region, set()).add(arch)
            record = job_record(given, j, ids[j.job.name], disk_max=DISK_MAX_GB)
            record |= {
                "arch": arch,
                "statements": statements(j),
                "role_prefix": f"{given.spec.name}-{ids[j.job.name]}"[:30] + "-",
            }
            jobs.append(record)
        regions = [
            region_record(
                b,
                label=f"skyplan-{given.spec.name}",
                datasets=bucket_tag(given, b),
                architectures=[
                    {"id": a, "name": a, "ami_name": AMI_NAMES[a]}
                    for a in sorted(arches.get(b.region, ()))
                ],
            )
            for b in given.buckets
        ]
        variables = {
            "regions": regions,
            "jobs": jobs,
            "ami_owner": AMI_OWNER,
            "ubuntu": UBUNTU,
            "flow_logs_prefix": f"{given.spec.name}-flow-logs"[:37] + "-",
        }
        return module_files(given, variables, ("aws",), script_files(given))
