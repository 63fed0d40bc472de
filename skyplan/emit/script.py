"""The startup script of a job's nodes: fetch inputs, run, upload outputs, mark done, power off."""

from __future__ import annotations

import shlex

from skyplan.emit.layout import JobLayout
from skyplan.emit.render import render
from skyplan.emit.tools import Command, download, get_file, put_file, upload

#: Where AzCopy releases are published: `<this>/v<version>/azcopy_linux_<arch>_<version>.tar.gz`.
AZCOPY_RELEASES = "https://github.com/Azure/azure-storage-azcopy/releases/download"
#: Terraform template variables of every startup script (the rest of `${...}` is the shell's).
TEMPLATE_VARS = ("node", "identity_client_id", "azcopy_version", "azcopy_sha256")

#: How each cloud's node gets its storage tool (Ubuntu images ship snapd; AzCopy, which has no
#: package there, comes from its pinned, checksum-verified release).
INSTALL = {
    "aws": ("command -v aws >/dev/null || snap install aws-cli --classic",),
    "gcp": (
        "command -v gcloud >/dev/null || snap install google-cloud-cli --classic",
        "# No parallel composite uploads: their parts go to gcloud/tmp/ at the bucket's root,",
        "# outside the job's prefixes, so a file of 150 MiB or more would fail with 403.",
        "export CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_ENABLED=False",
    ),
    "azure": (
        "if ! command -v azcopy >/dev/null; then",
        "  # The pinned release (var.azcopy_version), checked against var.azcopy_sha256 before",
        "  # anything in it is unpacked: a download that does not match fails the job.",
        '  case "$(uname -m)" in aarch64) arch=arm64 ;; *) arch=amd64 ;; esac',
        '  tarball="azcopy_linux_${arch}_${azcopy_version}.tar.gz"',
        f'  retry curl -fsSL -o "/tmp/$tarball" "{AZCOPY_RELEASES}/v${{azcopy_version}}/$tarball"',
        '  echo "${azcopy_sha256}  /tmp/$tarball" | sha256sum --check --strict -',
        "  tar -xzf \"/tmp/$tarball\" -C /tmp --strip-components=1 --wildcards '*/azcopy'",
        "  install -m 0755 /tmp/azcopy /usr/local/bin/azcopy",
        "fi",
        "export AZCOPY_AUTO_LOGIN_TYPE=MSI AZCOPY_MSI_CLIENT_ID=${identity_client_id}",
    ),
}
#: How a node powers off when its job is done. On Azure a VM that shuts itself down stays
#: allocated and billed, so the node first asks Resource Manager to deallocate it (its identity
#: holds a role allowing exactly that, on the job's own VMs; retried, as fresh role assignments
#: take minutes to apply); `shutdown` remains the fallback.
POWER_OFF = {
    "aws": ("shutdown -h now",),
    "gcp": ("shutdown -h now",),
    "azure": (
        "imds=http://169.254.169.254/metadata",
        'token=$(curl -fsS -H Metadata:true "$imds/identity/oauth2/token?api-version=2018-02-01'
        '&resource=https://management.azure.com/&client_id=${identity_client_id}" '
        "| python3 -c 'import json, sys; print(json.load(sys.stdin)[\"access_token\"])') || true",
        'vm=$(curl -fsS -H Metadata:true "$imds/instance/compute/resourceId'
        '?api-version=2021-02-01&format=text") || true',
        'if [ -n "$token" ] && [ -n "$vm" ]; then',
        '  retry curl -fsS -X POST -H "Authorization: Bearer $token" -H "Content-Length: 0" '
        '"https://management.azure.com$vm/deallocate?api-version=2024-07-01" || true',
        "fi",
        "shutdown -h now",
    ),
}
GPU_DRIVERS = (
    "if [ ! -e /proc/driver/nvidia/version ]; then",
    "  retry apt-get -o DPkg::Lock::Timeout=600 update -q",
    "  retry ubuntu-drivers install --gpgpu",
    "  modprobe nvidia || true",
    "fi",
)
#: cloud-init runs user data once per instance (AWS, Azure); GCP runs startup scripts at every
#: boot by itself. A node that boots again (a spot instance restarted) must resume its job.
PER_BOOT = (
    "per_boot=/var/lib/cloud/scripts/per-boot/skyplan-job.sh",
    'if [ "$0" != "$per_boot" ] && [ -d /var/lib/cloud/scripts/per-boot ]; then',
    '  install -m 0700 "$0" "$per_boot"',
    "fi",
)


START_WAIT_HOURS = 6
COMMAND_SLOT = "\x00SKYPLAN-JOB-COMMAND\x00"


def _lines(commands: tuple[Command, ...]) -> list[str]:
    """Shell lines; copies are retried (new identities and role grants take minutes to apply)."""
    return [shlex.join(c) if c[0] == "mkdir" else f"retry {shlex.join(c)}" for c in commands]


def tf_template(text: str) -> str:
    """Escape a shell script for Terraform's templatefile(): only `${node}` (and Azure's
    `${identity_client_id}`, `${azcopy_version}`, `${azcopy_sha256}`) stay interpolations."""
    escaped = text.replace("${", "$${").replace("%{", "%%{")
    for name in TEMPLATE_VARS:
        escaped = escaped.replace(f"$${{{name}}}", f"${{{name}}}")
    return escaped


def mount_lines(devices: tuple[str, ...]) -> list[str]:
    """Shell lines that wait for a data disk (the first of `devices` to appear), give it a file
    system the first time, and mount it as the node's working storage."""
    if not devices:
        return []
    return [
        "# Working storage: the data disk (attached after the node starts, so wait for it)",
        f"for attempt in $(seq 120); do for dev in {' '.join(devices)}; do",
        '  [ -e "$dev" ] && break 2; done; sleep 5; done',
        'blkid "$dev" >/dev/null 2>&1 || mkfs.ext4 -q -L skyplan "$dev"',
        "mkdir -p /var/lib/skyplan",
        'mountpoint -q /var/lib/skyplan || mount "$dev" /var/lib/skyplan',
    ]


def startup_script(j: JobLayout, stack: str, header: str, data_disk: tuple[str, ...] = ()) -> str:
    """The bash startup script of the nodes of `j` (a templatefile() template, see tf_template)."""
    p = j.placement
    env = [
        ("SKYPLAN_CLOUD", p.cloud),
        ("SKYPLAN_JOB", j.job.name),
        ("SKYPLAN_NODE", "${node}"),
        ("SKYPLAN_NODES", str(p.nodes)),
        ("SKYPLAN_REGION", p.region),
        ("SKYPLAN_STACK", stack),
    ]
    fetch: list[str] = []
    for i in j.inputs:
        path = f"/var/lib/skyplan/inputs/{i.dataset}"
        env.append((i.env, path))
        if i.uri is None:
            fetch.append(f"echo {shlex.quote(f'skyplan: data set {i.dataset} has no uri')} >&2")
            fetch.append("exit 2")
        else:
            fetch += _lines(download(i.uri, path, p.region))
    start = get_file(f"{j.runs_uri}start", "/var/lib/skyplan/start", p.region)
    gate = [
        "# Wait until the runner starts this run (every input is in place by then); a node nobody",
        f"# starts within {START_WAIT_HOURS} hours reports failed and powers off rather than idle",
        f"for attempt in $(seq {START_WAIT_HOURS * 120}); do",
        f"  {shlex.join(start)} >/dev/null 2>&1 && break",
        "  sleep 30",
        "done",
        '[ -e /var/lib/skyplan/start ] || { echo "skyplan: never started by skyplan apply" >&2; '
        "exit 124; }",
    ]
    upload_lines: list[str] = []
    for o in j.outputs:
        path = f"/var/lib/skyplan/outputs/{o.dataset}"
        env.append((o.env, path))
        fetch.append(shlex.join(("mkdir", "-p", path)))
        # one node mirrors its output; several each add their share (union) to the prefix the
        # runner emptied before it started the run
        upload_lines += _lines(upload(path, o.uri or "", p.region, mirror=p.nodes == 1))
    runs = j.runs_uri
    marker = "/var/lib/skyplan/marker.json"
    log = put_file("/var/lib/skyplan/node.log", f"{runs}node-${{node}}.log", p.region)
    report = [f"retry {shlex.join(log)}", 'case "$marker" in']
    for state in ("done", "failed", "interrupted"):
        put = put_file(marker, f"{runs}node-${{node}}.{state}", p.region)
        report.append(f"  {state}) retry {shlex.join(put)} ;;")
    report.append("esac")
    install = list(INSTALL[p.cloud])
    prepare = list(GPU_DRIVERS) if j.job.accelerator else []
    delimiter = "SKYPLAN_JOB_COMMAND"
    while delimiter in j.job.run:
        delimiter += "_"
    text = render(
        "scripts/startup.sh.j2",
        {
            "header": header,
            "job": j.job.name,
            "instance": j.instance,
            "runs_uri": runs,
            "env": [(k, v if v == "${node}" else shlex.quote(v)) for k, v in sorted(env)],
            "report": report,
            "prepare": prepare,
            "per_boot": list(PER_BOOT) if p.cloud in ("aws", "azure") else [],
            "mount": mount_lines(data_disk),
            "install": install,
            "power_off": list(POWER_OFF[p.cloud]),
            "fetch": gate + fetch,
            "upload": upload_lines,
            "command": COMMAND_SLOT,
            "delimiter": delimiter,
        },
    )
    # The job's own text is escaped whole: a `${node}` in it belongs to the job, not Terraform.
    command = j.job.run.rstrip("\n").replace("${", "$${").replace("%{", "%%{")
    return tf_template(text).replace(COMMAND_SLOT, command)
