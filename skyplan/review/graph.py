"""A plan as a picture's model (clouds, regions, jobs, data sets, copies) and as mermaid text."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from skyplan.errors import InputError, Where
from skyplan.plan import Placement, Plan
from skyplan.units import fmt_usd

#: Clouds in the order they are drawn; any other cloud follows, by name.
CLOUD_ORDER = ("aws", "gcp", "azure", "local")
CLOUD_TITLES = {"aws": "AWS", "gcp": "GCP", "azure": "Azure", "local": "local"}


@dataclass(frozen=True)
class DataSet:
    """A data set where it lives; producer and readers are known only from manifest.json."""

    name: str
    home: str  # cloud:region
    gb: Decimal | None
    producer: str | None = None
    readers: tuple[str, ...] = ()
    external: bool | None = None  # None: unknown (plan.json alone)


@dataclass(frozen=True)
class RegionBox:
    """One region: the jobs placed there and the data sets that live there."""

    cloud: str
    region: str
    jobs: tuple[Placement, ...]
    datasets: tuple[DataSet, ...]

    @property
    def key(self) -> str:
        """`cloud:region`."""
        return f"{self.cloud}:{self.region}"

    @property
    def usd(self) -> Decimal:
        """Compute cost of the jobs here."""
        return sum((p.usd for p in self.jobs), Decimal(0))


@dataclass(frozen=True)
class CloudGroup:
    """The regions of one cloud, sorted by name."""

    cloud: str
    regions: tuple[RegionBox, ...]

    @property
    def title(self) -> str:
        """`AWS`, `GCP`, `Azure`, `local`, or the cloud's own name."""
        return CLOUD_TITLES.get(self.cloud, self.cloud)

    @property
    def usd(self) -> Decimal:
        """Compute cost of the jobs in this cloud."""
        return sum((r.usd for r in self.regions), Decimal(0))


@dataclass(frozen=True)
class Edge:
    """One copy of a data set between two regions."""

    dataset: str
    src: str
    dst: str
    gb: Decimal
    usd: Decimal

    @property
    def label(self) -> str:
        """`patients · 1,800 GB · $162.00`."""
        return f"{self.dataset} · {fmt_gb(self.gb)} · {fmt_usd(self.usd)}"


@dataclass(frozen=True)
class PlanGraph:
    """Everything a picture of a plan shows, in drawing order."""

    plan: Plan
    clouds: tuple[CloudGroup, ...]
    edges: tuple[Edge, ...]
    detailed: bool  # data sets from manifest.json (homes, producers, readers)

    @property
    def title(self) -> str:
        """The headline: stack and total."""
        return f"{self.plan.stack}: {fmt_usd(self.plan.total_usd)} total"

    @property
    def subtitle(self) -> str:
        """How the total splits, and the solver's status."""
        p = self.plan
        return (
            f"{fmt_usd(p.compute_usd)} compute + {fmt_usd(p.transfer_usd)} transfer · "
            f"{_count(len(p.placements), 'job')} · {_count(len(p.transfers), 'copy', 'copies')}"
            f" · {p.solver.status}"
        )


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def fmt_gb(gb: Decimal) -> str:
    """Sizes for people: `1,800 GB`, `2.5 GB`, `120 MB`, `1 KB` (never `0 GB` for real data)."""
    if gb >= 1:
        value, unit = gb, "GB"
    elif gb >= Decimal("0.001"):
        value, unit = gb * 1000, "MB"
    else:
        value, unit = max(gb * 10**6, Decimal(1 if gb > 0 else 0)), "KB"
    return f"{value:,.1f}".removesuffix(".0") + f" {unit}"


def cloud_rank(cloud: str) -> tuple[int, str]:
    """Sort key drawing AWS, GCP, Azure, local first, then other clouds by name."""
    return (CLOUD_ORDER.index(cloud) if cloud in CLOUD_ORDER else len(CLOUD_ORDER), cloud)


def datasets_from_plan(plan: Plan) -> tuple[DataSet, ...]:
    """Data sets plan.json alone reveals: each copied one, at the region it is copied from."""
    found: dict[tuple[str, str], Decimal] = {}
    for t in plan.transfers:
        found[(t.dataset, t.src)] = max(found.get((t.dataset, t.src), t.gb), t.gb)
    return tuple(DataSet(name, home, gb) for (name, home), gb in sorted(found.items()))


def datasets_from_manifest(data: Any, source: str = "manifest.json") -> tuple[DataSet, ...]:
    """Every data set of manifest.json with its home, size, producer and readers."""
    try:
        homes: dict[str, str] = {}
        sizes: dict[str, Decimal] = {}
        producers: dict[str, str] = {}
        readers: dict[str, set[str]] = {}
        read_at: dict[str, set[str]] = {}
        for job in data["jobs"]:
            key = f"{job['cloud']}:{job['region']}"
            for out in job["outputs"]:
                producers[out["dataset"]] = job["name"]
                homes[out["dataset"]] = key
                sizes[out["dataset"]] = Decimal(str(out["gb"]))
            for inp in job["inputs"]:
                readers.setdefault(inp["dataset"], set()).add(job["name"])
                read_at.setdefault(inp["dataset"], set()).add(key)
                sizes.setdefault(inp["dataset"], Decimal(str(inp["gb"])))
        for t in data["transfers"]:
            homes.setdefault(t["dataset"], t["from"])
            sizes.setdefault(t["dataset"], Decimal(str(t["gb"])))
        for name, keys in read_at.items():
            homes.setdefault(name, min(keys))  # neither made nor copied: read where it lives
    except (KeyError, TypeError, ValueError, ArithmeticError) as e:
        raise InputError(f"not a skyplan manifest.json: {e!r}", where=Where(source)) from None
    return tuple(
        DataSet(
            name,
            homes[name],
            sizes.get(name),
            producers.get(name),
            tuple(sorted(readers.get(name, ()))),
            name not in producers,
        )
        for name in sorted(homes)
    )


def manifest_matches(plan: Plan, data: Any) -> bool:
    """True when manifest.json describes this plan (same stack, jobs and regions)."""
    try:
        jobs = {(j["name"], j["cloud"], j["region"]) for j in data["jobs"]}
        return bool(data["stack"] == plan.stack) and jobs == {
            (p.job, p.cloud, p.region) for p in plan.placements
        }
    except (KeyError, TypeError):
        return False


def plan_graph(plan: Plan, datasets: Iterable[DataSet] | None = None) -> PlanGraph:
    """Group the plan by cloud and region; `datasets` (from manifest.json) adds full data detail."""
    for t in plan.transfers:
        if ":" not in t.src or ":" not in t.dst:
            raise InputError(
                f"transfer of {t.dataset!r} from {t.src!r} to {t.dst!r}: not cloud:region",
                where=Where("plan.json", field="transfers"),
                hint="re-run skyplan plan to write a valid plan.json",
            )
    data = tuple(datasets) if datasets is not None else datasets_from_plan(plan)
    keys = {p.region_key for p in plan.placements} | {d.home for d in data}
    keys |= {t.src for t in plan.transfers} | {t.dst for t in plan.transfers}
    boxes = [
        RegionBox(
            key.split(":", 1)[0],
            key.split(":", 1)[1] if ":" in key else key,
            tuple(sorted((p for p in plan.placements if p.region_key == key), key=_job_key)),
            tuple(sorted((d for d in data if d.home == key), key=lambda d: d.name)),
        )
        for key in keys
    ]
    clouds = tuple(
        CloudGroup(c, tuple(sorted((b for b in boxes if b.cloud == c), key=lambda b: b.region)))
        for c in sorted({b.cloud for b in boxes}, key=cloud_rank)
    )
    edges = tuple(
        sorted(
            (Edge(t.dataset, t.src, t.dst, t.gb, t.usd) for t in plan.transfers),
            key=lambda e: (e.dataset, e.src, e.dst),
        )
    )
    return PlanGraph(plan, clouds, edges, detailed=datasets is not None)


def _job_key(p: Placement) -> str:
    return p.job


def hours_text(p: Placement) -> str:
    """`6 h`, `0.5 h`."""
    text = f"{p.hours:f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + " h"


def job_detail(p: Placement) -> str:
    """`a2-highgpu-1g × 2 · 6 h` (with `· spot`)."""
    return f"{p.instance_type} × {p.nodes} · {hours_text(p)}" + (" · spot" if p.spot else "")


def data_detail(d: DataSet) -> str:
    """`1,800 GB · external`, `900 GB · made by align`, or the size alone."""
    size = fmt_gb(d.gb) if d.gb is not None else "size unknown"
    if d.producer is not None:
        return f"{size} · made by {d.producer}"
    return f"{size} · external" if d.external else size


def readers_text(d: DataSet) -> str:
    """`read by call-variants, report`, or empty when no reader is known."""
    return "read by " + ", ".join(d.readers) if d.readers else ""


# --- mermaid --------------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_TITLE = str.maketrans({"<": "‹", ">": "›", "&": "+", '"': "'", "`": "'"})
_ENTITIES = {'"': "#quot;", "#": "#35;", "&": "#amp;", "<": "#lt;", ">": "#gt;", "`": "#96;"}


def node_id(kind: str, *parts: str) -> str:
    """A mermaid id that depends only on the names (stable diffs) and never collides: plain
    names read as they are (`j_call_variants`); any other gets a digest (`jx_a_b_1f2e3d4c`)."""
    if all(_PLAIN.fullmatch(p) for p in parts):
        return f"{kind}_" + "__".join(p.replace("-", "_") for p in parts)
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:8]
    words = re.sub(r"[^A-Za-z0-9]+", "_", "_".join(parts)).strip("_")[:40]
    return f"{kind}x_{words}_{digest}" if words else f"{kind}x_{digest}"


def plain_text(text: str) -> str:
    """`text` on one line without control characters (which XML forbids and labels break on)."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def mermaid_text(text: str) -> str:
    """`text` safe inside a quoted mermaid label: entity codes for quotes, markup and `#`."""
    return "".join(_ENTITIES.get(ch, ch) for ch in plain_text(text))


def _label(*lines: str) -> str:
    return '"' + "<br/>".join(mermaid_text(line) for line in lines if line) + '"'


#: Subgraph fill and stroke per cloud (AWS orange, GCP blue, Azure cyan, local grey).
MERMAID_STYLES = {
    "aws": "fill:#FFF4E5,stroke:#FF9900,color:#232F3E",
    "gcp": "fill:#E8F0FE,stroke:#4285F4,color:#174EA6",
    "azure": "fill:#E5F6FD,stroke:#0089D6,color:#004578",
    "local": "fill:#F2F2F2,stroke:#8A8A8A,color:#333333",
}
OTHER_STYLE = "fill:#F3EEF8,stroke:#7E57C2,color:#311B92"


def plan_mermaid(graph: PlanGraph) -> str:
    """`flowchart LR` text: one subgraph per cloud and region, copies as labelled edges."""
    # mermaid shows the title as text: markup characters would appear escaped twice
    title = plain_text(f"{graph.title} ({graph.subtitle})".translate(_TITLE))
    title = json.dumps(title, ensure_ascii=False)
    out = ["---", f"title: {title}", "---", "flowchart LR"]
    jobs, data, links = [], [], []
    for cloud in graph.clouds:
        cid = node_id("c", cloud.cloud)
        jobs_here = any(b.jobs for b in cloud.regions)
        head = f"{cloud.title} · {fmt_usd(cloud.usd)}" if jobs_here else cloud.title
        out.append(f"  subgraph {cid}[{_label(head)}]")
        out.append("    direction TB")
        for box in cloud.regions:
            rid = node_id("r", box.cloud, box.region)
            head = f"{box.region} · {fmt_usd(box.usd)}" if box.jobs else box.region
            out.append(f"    subgraph {rid}[{_label(head)}]")
            for p in box.jobs:
                jid = node_id("j", p.job)
                jobs.append(jid)
                size = f"{p.instance_type} × {p.nodes}" + (" · spot" if p.spot else "")
                cost = f"{hours_text(p)} · {fmt_usd(p.usd)}"
                out.append(f"      {jid}[{_label(p.job, size, cost)}]")
            for d in box.datasets:
                did = node_id("d", box.cloud, box.region, d.name)
                data.append(did)
                out.append(f"      {did}[({_label(d.name, data_detail(d))})]")
                if d.producer is not None:
                    links.append(f"  {node_id('j', d.producer)} --> {did}")
                local = {p.job for p in box.jobs}
                links += [f"  {did} -.-> {node_id('j', r)}" for r in d.readers if r in local]
            out.append("    end")
        out.append("  end")
    homes = {(d.name, b.key) for c in graph.clouds for b in c.regions for d in b.datasets}
    for e in graph.edges:
        src_cloud, src_region = e.src.split(":", 1)
        dst_cloud, dst_region = e.dst.split(":", 1)
        src = (
            node_id("d", src_cloud, src_region, e.dataset)
            if (e.dataset, e.src) in homes
            else node_id("r", src_cloud, src_region)
        )
        links.append(f"  {src} ==>|{_label(e.label)}| {node_id('r', dst_cloud, dst_region)}")
    out += links
    out.append("  classDef job fill:#FFFFFF,stroke:#555555,color:#111111")
    out.append("  classDef data fill:#FFFDE7,stroke:#9E9D24,color:#33330A")
    if jobs:
        out.append(f"  class {','.join(jobs)} job")
    if data:
        out.append(f"  class {','.join(data)} data")
    for cloud in graph.clouds:
        style = MERMAID_STYLES.get(cloud.cloud, OTHER_STYLE)
        out.append(f"  style {node_id('c', cloud.cloud)} {style}")
        stroke = style.split(",")[1]
        for box in cloud.regions:
            out.append(f"  style {node_id('r', box.cloud, box.region)} fill:#FFFFFF,{stroke}")
    return "\n".join(out) + "\n"
