"""The commands that move data, with each cloud's standard tool: aws s3, gcloud storage, azcopy."""

from __future__ import annotations

from collections.abc import Iterable

from skyplan.errors import InputError

Command = tuple[str, ...]

#: Placeholder the job runner replaces with a fresh local folder for two-step copies.
STAGING = "{staging}"


def scheme(uri: str) -> str:
    """`s3`, `gs`, `az` or `file`."""
    return uri.split("://", 1)[0]


def split_uri(uri: str) -> tuple[str, str]:
    """(store, key) of an object-store URI: the bucket (`s3://`, `gs://`) or `ACCOUNT/CONTAINER`
    (`az://`), and the object key or key prefix below it."""
    rest = uri.split("://", 1)[1]
    if scheme(uri) == "az":
        account, _, rest = rest.partition("/")
        container, _, key = rest.partition("/")
        return f"{account}/{container}", key
    store, _, key = rest.partition("/")
    return store, key


def by_store(uris: Iterable[str], kind: str) -> dict[str, tuple[str, ...]]:
    """The key prefixes of the `kind` (`s3`, `gs`, `az`) URIs among `uris`, by store, sorted."""
    out: dict[str, set[str]] = {}
    for uri in uris:
        if scheme(uri) == kind:
            store, key = split_uri(uri)
            out.setdefault(store, set()).add(key)
    return {store: tuple(sorted(keys)) for store, keys in sorted(out.items())}


def file_path(uri: str) -> str:
    """The path of a `file://` URI (relative paths are relative to the manifest's folder)."""
    return uri[len("file://") :]


def azure_https(uri: str) -> str:
    """`az://ACCOUNT/CONTAINER/path` as the blob endpoint URL azcopy takes."""
    account, _, rest = uri[len("az://") :].partition("/")
    return f"https://{account}.blob.core.windows.net/{rest}"


def azcopy_source(uri: str, region: str) -> str:
    """A source URL azcopy can read directly: Azure blobs, S3 or Google Cloud Storage."""
    kind = scheme(uri)
    if kind == "az":
        return azure_https(uri)
    bucket_path = uri.split("://", 1)[1]
    if kind == "s3":
        return f"https://s3.{region}.amazonaws.com/{bucket_path}"
    return f"https://storage.cloud.google.com/{bucket_path}"


def local_copy(src: str, dst: str) -> Command:
    """Copy a file, or a folder's contents, into the folder `dst` (POSIX sh and cp only)."""
    script = 'if [ -d "$1" ]; then cp -R "$1/." "$2"; else cp "$1" "$2"; fi'
    return ("sh", "-c", script, "sh", src, dst)


def download(uri: str, path: str, region: str) -> tuple[Command, ...]:
    """Copy the objects under `uri` into the local folder `path`."""
    kind = scheme(uri)
    mkdir = ("mkdir", "-p", path)
    if kind == "s3":
        return mkdir, ("aws", "s3", "sync", uri, path, "--region", region, "--only-show-errors")
    if kind == "gs":
        return mkdir, ("gcloud", "storage", "rsync", "--recursive", uri, path)
    if kind == "az":
        return mkdir, ("azcopy", "copy", azure_https(uri) + "*", path, "--recursive")
    if kind == "file":
        return mkdir, local_copy(file_path(uri), path)
    raise InputError(f"cannot read data from {uri!r}")


def upload(path: str, uri: str, region: str) -> tuple[Command, ...]:
    """Copy the contents of the local folder `path` to the objects under `uri`."""
    kind = scheme(uri)
    src = path.rstrip("/") + "/"
    if kind == "s3":
        return (("aws", "s3", "sync", src, uri, "--region", region, "--only-show-errors"),)
    if kind == "gs":
        return (("gcloud", "storage", "rsync", "--recursive", src, uri),)
    if kind == "az":
        return (("azcopy", "copy", src + "*", azure_https(uri), "--recursive"),)
    if kind == "file":
        dst = file_path(uri)
        return ("mkdir", "-p", dst), local_copy(path, dst)
    raise InputError(f"cannot write data to {uri!r}")


def put_file(path: str, uri: str, region: str) -> Command:
    """Copy one local file to the object `uri` (a completion marker, a log)."""
    kind = scheme(uri)
    if kind == "s3":
        return ("aws", "s3", "cp", path, uri, "--region", region, "--only-show-errors")
    if kind == "gs":
        return ("gcloud", "storage", "cp", path, uri)
    if kind == "az":
        return ("azcopy", "copy", path, azure_https(uri))
    return ("cp", path, file_path(uri))


def get_file(uri: str, path: str, region: str) -> Command:
    """Copy the object `uri` to the local file `path` (fails when it does not exist)."""
    kind = scheme(uri)
    if kind == "s3":
        return ("aws", "s3", "cp", uri, path, "--region", region, "--only-show-errors")
    if kind == "gs":
        return ("gcloud", "storage", "cp", uri, path)
    if kind == "az":
        return ("azcopy", "copy", azure_https(uri), path)
    return ("cp", file_path(uri), path)


def copy(source: str, destination: str, src_region: str, dst_region: str) -> tuple[Command, ...]:
    """Copy a data set between two stores: one server-side command where a standard tool reads
    both ends, otherwise through a local staging folder (`{staging}`)."""
    src, dst = scheme(source), scheme(destination)
    if src == "file" or dst == "file":
        if src == "file":
            return upload(file_path(source), destination, dst_region)
        return download(source, file_path(destination), src_region)
    if src == dst == "s3":
        sync = ("aws", "s3", "sync", source, destination, "--source-region", src_region)
        return ((*sync, "--region", dst_region, "--only-show-errors"),)
    if dst == "az":
        src_url = azcopy_source(source, src_region) + "*"
        return (("azcopy", "copy", src_url, azure_https(destination), "--recursive"),)
    if src != "az":  # gcloud storage reads and writes both gs:// and s3://
        return (("gcloud", "storage", "rsync", "--recursive", source, destination),)
    return download(source, STAGING, src_region) + upload(STAGING, destination, dst_region)
