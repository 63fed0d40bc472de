"""The `local` cloud: built-in `terraform_data` only, so init and apply need no network."""

from __future__ import annotations

from typing import Any

from skyplan.emit.base import CloudInput, RenderedFile, module_files, region_record, register
from skyplan.emit.naming import tf_id

MKDIR = 'mkdir -p "$SKYPLAN_PATH"'
REMOVE_BUCKET = (
    'if [ "$SKYPLAN_FORCE" = true ]; then rm -rf "$SKYPLAN_PATH"; '
    'else rmdir "$SKYPLAN_PATH" 2>/dev/null || '
    'echo "skyplan: keeping $SKYPLAN_PATH: it holds data (set force_destroy = true)"; fi'
)
REMOVE_NODE = 'rm -rf "$SKYPLAN_PATH"'


@register("local")
class LocalEmitter:
    """Folders for buckets and nodes, made and removed by local-exec provisioners."""

    cloud = "local"

    def files(self, given: CloudInput) -> tuple[RenderedFile, ...]:
        """versions.tf, main.tf, variables.tf and outputs.tf of the local module."""
        ids, hosts = given.job_ids(), given.host_names()
        variables: dict[str, Any] = {
            "regions": [region_record(b) for b in given.buckets],
            "jobs": [
                {
                    "id": ids[j.job.name],
                    "name": j.job.name,
                    "host": hosts[j.job.name],
                    "instance": j.instance,
                    "instance_type": j.placement.instance_type,
                    "nodes": j.placement.nodes,
                    "hours": j.placement.hours,
                    "spot": j.placement.spot,
                    "region": j.placement.region,
                    "region_id": tf_id(j.placement.region),
                }
                for j in given.jobs
            ],
            "mkdir": MKDIR,
            "remove_bucket": REMOVE_BUCKET,
            "remove_node": REMOVE_NODE,
        }
        return module_files(given, variables, providers=())
