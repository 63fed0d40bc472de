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


#: Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE), for when `mv --exchange`
#: (GNU coreutils 9.5 and newer) is not there; exits non-zero where the system cannot.
EXCHANGE_PY = (
    "import ctypes,os,sys;f=ctypes.CDLL(None,use_errno=True).renameat2;"
    "a,b=(os.fsencode(p) for p in sys.argv[1:3]);sys.exit(f(-100,a,-100,b,2)!=0)"
)
#: Replace the folder "$2" by a copy of the file or folder "$1" (POSIX sh, cp, mv, mktemp): the
#: copy is made in a temporary sibling (same file system), then swapped with "$2" in one atomic
#: exchange (`mv -T --exchange`, else renameat2 through python3), so a reader always finds "$2",
#: with the old contents or the new ones, never a mix, never a file left from the last copy,
#: never missing; the old tree is deleted afterwards. Where no exchange is possible the old
#: folder is renamed away and the copy renamed in (a reader may then find "$2" missing for that
#: instant), and an interrupted copy (INT, TERM, HUP) puts the old folder back.
LOCAL_MIRROR = (
    'set -eu; dst="${2%/}"; mkdir -p "$(dirname "$dst")"; '
    'tmp=$(mktemp -d "$dst.skyplan-new.XXXXXX"); '
    'trap \'if [ -e "$tmp.old" ] && [ ! -e "$dst" ]; then mv "$tmp.old" "$dst"; fi; '
    'rm -rf "$tmp" "$tmp.old"\' EXIT; '
    "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM; "
    'chmod "$(umask -S)" "$tmp"; '
    'if [ -d "$1" ]; then cp -R "$1/." "$tmp"; else cp "$1" "$tmp"; fi; '
    'if [ ! -e "$dst" ]; then mv "$tmp" "$dst"; '
    'elif mv -T --exchange "$tmp" "$dst" 2>/dev/null; then :; '
    f'elif python3 -c "{EXCHANGE_PY}" "$tmp" "$dst" 2>/dev/null; then :; '
    'else mv "$dst" "$tmp.old"; mv "$tmp" "$dst"; fi'
)


def local_copy(src: str, dst: str) -> Command:
    """Make the folder `dst` a copy of a file, or of a folder's contents (a mirror: nothing of
    what `dst` held before is left)."""
    return ("sh", "-c", LOCAL_MIRROR, "sh", src, dst)


def download(uri: str, path: str, region: str) -> tuple[Command, ...]:
    """Make the local folder `path` a mirror of the objects under `uri`."""
    kind = scheme(uri)
    mkdir = ("mkdir", "-p", path)
    if kind == "s3":
        sync = ("aws", "s3", "sync", uri, path, "--delete", "--region", region)
        return mkdir, (*sync, "--only-show-errors")
    if kind == "gs":
        return mkdir, (
            "gcloud", "storage", "rsync", "--recursive",
            "--delete-unmatched-destination-objects", uri, path,
        )  # fmt: skip
    if kind == "az":
        pull = ("azcopy", "sync", azure_https(uri), path, "--recursive")
        return mkdir, (*pull, "--delete-destination=true")
    if kind == "file":
        return mkdir, local_copy(file_path(uri), path)
    raise InputError(f"cannot read data from {uri!r}")


def upload(path: str, uri: str, region: str, mirror: bool = True) -> tuple[Command, ...]:
    """Make the objects under `uri` a mirror of the local folder `path`: what is under `uri` and
    not in `path` is deleted. `mirror=False` only adds and overwrites (the nodes of a multi-node
    job each upload their share; the runner empties the prefix before they start)."""
    kind = scheme(uri)
    src = path.rstrip("/") + "/"
    if kind == "s3":
        delete = ("--delete",) if mirror else ()
        return (("aws", "s3", "sync", src, uri, *delete, "--region", region, "--only-show-errors"),)
    if kind == "gs":
        delete = ("--delete-unmatched-destination-objects",) if mirror else ()
        return (("gcloud", "storage", "rsync", "--recursive", *delete, src, uri),)
    if kind == "az":
        if mirror:
            sync = ("azcopy", "sync", src, azure_https(uri), "--recursive")
            return ((*sync, "--delete-destination=true"),)
        return (("azcopy", "copy", src + "*", azure_https(uri), "--recursive"),)
    if kind == "file":
        dst = file_path(uri)
        if not mirror:
            script = 'mkdir -p "$2" && cp -R "$1/." "$2"'
            return (("sh", "-c", script, "sh", path, dst),)
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
    """Make `destination` a mirror of the data set at `source` (a re-run replaces a copy, never
    merges into it): one server-side command where a standard tool reads both ends and can
    delete what the source no longer has, otherwise through a local staging folder
    (`{staging}`). azcopy mirrors only between Azure containers (`azcopy sync` does not read S3
    or Cloud Storage), so copies from S3 or Cloud Storage into Azure are staged."""
    src, dst = scheme(source), scheme(destination)
    if src == "file" or dst == "file":
        if src == "file":
            return upload(file_path(source), destination, dst_region)
        return download(source, file_path(destination), src_region)
    if src == dst == "s3":
        sync = ("aws", "s3", "sync", source, destination, "--delete", "--source-region", src_region)
        return ((*sync, "--region", dst_region, "--only-show-errors"),)
    if src == dst == "az":
        both = ("azcopy", "sync", azure_https(source), azure_https(destination), "--recursive")
        return ((*both, "--delete-destination=true"),)
    if src != "az" and dst != "az":  # gcloud storage reads and writes both gs:// and s3://
        return (
            (
                "gcloud", "storage", "rsync", "--recursive",
                "--delete-unmatched-destination-objects", source, destination,
            ),
        )  # fmt: skip
    return download(source, STAGING, src_region) + upload(STAGING, destination, dst_region)
