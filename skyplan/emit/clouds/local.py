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
#: Creating a node runs scripts/create-node.sh: SKYPLAN_LOCAL_FAIL (SPEC section 3), a
#: comma-separated list of REGION[:INSTANCE_TYPE]=capacity|quota|permanent, makes it fail the
#: way EC2 would, which is how tests drive skyplan's re-planning with real Terraform.
CREATE_NODE = 'sh "$SKYPLAN_MODULE/scripts/create-node.sh"'
CREATE_NODE_SCRIPT = """\
#!/bin/sh
# {header}
# Creates a local node's working folder, unless SKYPLAN_LOCAL_FAIL says this region (or this
# instance type in it) has no capacity, no quota, or rejects the request.
for rule in $(printf '%s' "${{SKYPLAN_LOCAL_FAIL:-}}" | tr ',' ' '); do
  case "${{rule%%=*}}" in
    "$SKYPLAN_REGION" | "$SKYPLAN_REGION:$SKYPLAN_TYPE") ;;
    *) continue ;;
  esac
  case "${{rule#*=}}" in
    capacity)
      echo "InsufficientInstanceCapacity: We currently do not have sufficient $SKYPLAN_TYPE" \\
        "capacity in the Availability Zone you requested ($SKYPLAN_REGION). Our system will be" \\
        "working on provisioning additional capacity." ;;
    quota)
      echo "VcpuLimitExceeded: You have requested more vCPU capacity than your current vCPU" \\
        "limit of 0 allows for the instance bucket that the specified instance type belongs" \\
        "to in $SKYPLAN_REGION." ;;
    *)
      echo "InvalidParameterValue: Invalid value '$SKYPLAN_TYPE' for InstanceType." ;;
  esac
  exit 1
done
mkdir -p "$SKYPLAN_PATH"
"""


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
            "create_node": CREATE_NODE,
        }
        script = RenderedFile(
            "local/scripts/create-node.sh", CREATE_NODE_SCRIPT.format(header=given.header())
        )
        return module_files(given, variables, providers=(), extra=(script,))
