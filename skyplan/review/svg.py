"""A plan as a deterministic SVG: clouds as coloured bands of region boxes, copies as lanes."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from skyplan.review.graph import (
    CloudGroup,
    DataSet,
    Edge,
    PlanGraph,
    RegionBox,
    data_detail,
    job_detail,
    plain_text,
    readers_text,
)
from skyplan.units import fmt_usd

FONT = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
MARGIN, BAND_GAP, BOX_GAP, BAND_PAD = 24, 20, 16, 14
BAND_HEAD, BOX_HEAD, ROW, LINE, BOX_PAD = 40, 30, 36, 14, 10
LANE = 34
MIN_BOX, MAX_BOX = 230, 360


@dataclass(frozen=True)
class Palette:
    """Colours of one cloud: band fill, band stroke, strong (headers, arrows)."""

    fill: str
    stroke: str
    strong: str


PALETTES = {
    "aws": Palette("#FFF4E5", "#FF9900", "#B35C00"),
    "gcp": Palette("#E8F0FE", "#4285F4", "#1A5BC4"),
    "azure": Palette("#E3F6FC", "#00A4EF", "#00739E"),
    "local": Palette("#F1F1F1", "#9E9E9E", "#555555"),
}
OTHER = Palette("#F3EEF8", "#9575CD", "#5E35B1")

# Advance widths of DejaVu Sans (the widest of the fonts named in FONT) in hundredths of an em,
# rounded up, for ASCII 32..126: text measured here fits whichever of those fonts draws it.
_REGULAR = (
    "32 41 46 84 64 96 78 28 40 40 50 84 32 37 32 34 64 64 64 64 64 64 64 64 64 64 34 34 "
    "84 84 84 54 100 69 69 70 78 64 58 78 76 30 30 66 56 87 75 79 61 79 70 64 62 74 69 99 "
    "69 62 69 40 34 40 84 50 50 62 64 55 64 62 36 64 64 28 28 58 28 98 64 62 64 64 42 53 "
    "40 64 60 82 60 60 53 64 34 64 84"
)
_BOLD = (
    "35 46 53 84 70 101 88 31 46 46 53 84 38 42 38 37 70 70 70 70 70 70 70 70 70 70 40 40 "
    "84 84 84 59 100 78 77 74 84 69 69 83 84 38 38 78 64 100 84 86 74 86 78 73 69 82 78 "
    "111 78 73 73 46 37 46 84 50 50 68 72 60 72 68 44 72 72 35 35 67 35 105 72 69 72 72 "
    "50 60 48 72 66 93 65 66 59 72 37 72 84"
)
_EXTRA = {"×": 84, "·": 38, "…": 100}  # anything else: a full em


def _table(widths: str) -> dict[str, int]:
    return {chr(32 + i): int(w) for i, w in enumerate(widths.split())} | _EXTRA


_EM = {False: _table(_REGULAR), True: _table(_BOLD)}


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in pixels of `text` at font `size` in DejaVu Sans (an upper bound for the others)."""
    table = _EM[bold]
    return sum(table.get(ch, 100) for ch in text) * size / 100


def fit(text: str, width: float, size: float, bold: bool = False) -> str:
    """`text`, cut with an ellipsis when wider than `width`."""
    if text_width(text, size, bold) <= width:
        return text
    while text and text_width(text + "…", size, bold) > width:
        text = text[:-1]
    return text + "…"


def wrap(text: str, width: float, size: float) -> list[str]:
    """`text` broken at spaces into lines no wider than `width` (long words are cut)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and text_width(lines[-1] + " " + word, size) <= width:
            lines[-1] += " " + word
        else:
            lines.append(fit(word, width, size))
    return lines


@dataclass(frozen=True)
class Placed:
    """A region box at its place, with the height its rows need."""

    box: RegionBox
    x: int
    y: int
    w: int
    h: int


def _data_lines(d: DataSet, inner: float) -> list[str]:
    return (
        [data_detail(d), *wrap(readers_text(d), inner - 22, 11)] if d.readers else [data_detail(d)]
    )


def _box_width(graph: PlanGraph) -> int:
    widths = [float(MIN_BOX)]
    for cloud in graph.clouds:
        for box in cloud.regions:
            widths.append(text_width(box.region, 13, True) + text_width("$00,000.00", 12) + 36)
            for p in box.jobs:
                widths.append(text_width(p.job, 12, True) + text_width(fmt_usd(p.usd), 12) + 36)
                widths.append(text_width(job_detail(p), 11) + 2 * BOX_PAD)
            for d in box.datasets:
                widths.append(text_width(d.name, 12, True) + 22 + 2 * BOX_PAD)
                widths.append(text_width(data_detail(d), 11) + 22 + 2 * BOX_PAD)
    return int(min(max(widths), MAX_BOX)) // 2 * 2 + 2


def _box_height(box: RegionBox, w: int) -> int:
    rows = ROW * len(box.jobs)
    rows += sum(22 + LINE * len(_data_lines(d, w - 2 * BOX_PAD)) for d in box.datasets)
    gap = 8 if box.jobs and box.datasets else 0
    return BOX_HEAD + 6 + max(rows + gap, 20) + 6


@dataclass(frozen=True)
class Band:
    """One cloud's coloured band holding its region boxes side by side."""

    cloud: CloudGroup
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class Route:
    """One copy drawn as: down from its source box, along its lane, up into its target box."""

    edge: Edge
    sx: int
    sy: int
    dx: int
    dy: int
    lane_y: int
    label_x: int
    label_w: int
    color: str


@dataclass(frozen=True)
class Layout:
    """Where everything goes; the SVG only draws it."""

    graph: PlanGraph
    bands: tuple[Band, ...]
    boxes: tuple[Placed, ...]
    routes: tuple[Route, ...]
    note: str
    width: int
    height: int


def layout(graph: PlanGraph) -> Layout:
    """Clouds as bands left to right, regions as boxes in them, copies on lanes below."""
    w = _box_width(graph)
    inner = max((_box_height(b, w) for c in graph.clouds for b in c.regions), default=40)
    band_h, y = BAND_HEAD + inner + BAND_PAD, MARGIN + 62
    bands, placed = [], []
    x = MARGIN
    for cloud in graph.clouds:
        n = len(cloud.regions)
        head = text_width(cloud.title, 15, True) + text_width(_cloud_cost(cloud), 12)
        band_w = max(2 * BAND_PAD + n * w + (n - 1) * BOX_GAP, int(head) + 40)
        bx = x + (band_w - (n * w + (n - 1) * BOX_GAP)) // 2
        for box in cloud.regions:
            placed.append(Placed(box, bx, y + BAND_HEAD, w, _box_height(box, w)))
            bx += w + BOX_GAP
        bands.append(Band(cloud, x, y, band_w, band_h))
        x += band_w + BAND_GAP
    routes = _routes(graph, placed, y + band_h)
    note = "Boxes: regions, their jobs (instance × nodes · hours) and the data sets kept there. "
    note += (
        "Arrows: copies (size, cost)." if routes else "No copies: every job reads data in place."
    )
    if not graph.detailed:
        note += " Only copied data sets are shown (no manifest.json beside plan.json)."
    right = max(
        [b.x + b.w for b in bands]
        + [r.label_x + r.label_w // 2 for r in routes]
        + [int(MARGIN + text_width(graph.title, 20, True)), int(MARGIN + text_width(note, 11))]
        + [int(MARGIN + text_width(graph.subtitle, 13))]
    )
    bottom = y + band_h + LANE * len(routes) + (16 if routes else 12)
    return Layout(graph, tuple(bands), tuple(placed), routes, note, right + MARGIN, bottom + 44)


def _cloud_cost(cloud: CloudGroup) -> str:
    return fmt_usd(cloud.usd) + " compute" if any(b.jobs for b in cloud.regions) else "no jobs"


def _attach(
    edges: tuple[Edge, ...], placed: list[Placed]
) -> dict[tuple[int, str], tuple[int, int]]:
    """Where each edge leaves (`out`) and enters (`in`) a box, spread along the box's bottom.
    Lines to boxes on the left start on the left; the farther the other end, the nearer the
    middle, so that the longer line (on a deeper lane) encloses the shorter one."""
    boxes = {p.box.key: p for p in placed}
    ends: dict[str, list[tuple[int, int, int, int, str]]] = {}
    for i, e in enumerate(edges):
        src, dst = boxes[e.src], boxes[e.dst]
        right = dst.x > src.x
        ends.setdefault(e.src, []).append((int(right), -dst.x, -i if right else i, i, "out"))
        ends.setdefault(e.dst, []).append((int(not right), -src.x, i if right else -i, i, "in"))
    points = {}
    for key, items in ends.items():
        p = boxes[key]
        step = (p.w - 24) / len(items)
        for k, (_, _, _, i, role) in enumerate(sorted(items)):
            points[(i, role)] = (int(p.x + 12 + step * (k + 0.5)), p.y + p.h)
    return points


def _routes(graph: PlanGraph, placed: list[Placed], lanes_top: int) -> tuple[Route, ...]:
    """Every copy on its own lane below the bands, shortest first; labels kept off the lines."""
    points = _attach(graph.edges, placed)
    order = sorted(
        range(len(graph.edges)),
        key=lambda i: (abs(points[(i, "out")][0] - points[(i, "in")][0]), i),
    )
    lane_of = {i: lanes_top + 18 + LANE * n for n, i in enumerate(order)}
    clouds = {p.box.key: p.box.cloud for p in placed}
    routes = []
    for i, e in enumerate(graph.edges):
        (sx, sy), (dx, dy) = points[(i, "out")], points[(i, "in")]
        lane_y = lane_of[i]
        # labels hang below their line: only lines going down to deeper lanes pass there
        posts = [points[(j, r)][0] for j in lane_of if lane_of[j] > lane_y for r in ("out", "in")]
        width = int(text_width(e.label, 11)) + 10
        label_x = _label_x(min(sx, dx), max(sx, dx), width, posts)
        color = PALETTES.get(clouds[e.src], OTHER).strong
        routes.append(Route(e, sx, sy, dx, dy, lane_y, label_x, width, color))
    return tuple(routes)


def _label_x(lo: int, hi: int, width: float, posts: list[int]) -> int:
    """The label centre on [lo, hi] nearest its middle that covers no post; when every place
    covers one, the place covering fewest. The label always touches its own line."""
    half = int(width / 2) + 4
    mid = (lo + hi) // 2
    xs = sorted(set(posts))

    def covered(c: int) -> int:
        return bisect.bisect_right(xs, c + half) - bisect.bisect_left(xs, c - half)

    candidates = {mid, lo + half, hi - half} | {x + s * (half + 1) for x in xs for s in (-1, 1)}
    near = [c for c in candidates if c - half >= MARGIN and c - half <= hi and c + half >= lo]
    scored = [(covered(c), not lo + half - 4 <= c <= hi - half + 4, abs(c - mid), c) for c in near]
    return min(scored)[3] if scored else max(mid, MARGIN + half)


def _t(x: float, y: float, text: str, size: int, **attrs: str) -> str:
    extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in sorted(attrs.items()))
    text = escape(plain_text(text))
    return f'<text x="{int(x)}" y="{int(y)}" font-size="{size}"{extra}>{text}</text>'


def _box_svg(p: Placed, pal: Palette) -> list[str]:
    b, x, y, w = p.box, p.x, p.y, p.w
    inner = w - 2 * BOX_PAD
    subtotal = fmt_usd(b.usd) if b.jobs else "data only"
    region = fit(b.region, inner - text_width(subtotal, 12) - 8, 13, True)
    out = [
        f'<rect x="{x}" y="{y}" width="{w}" height="{p.h}" rx="10" fill="#FFFFFF" '
        f'stroke="{pal.stroke}" stroke-width="1.5"/>',
        f'<path d="M{x + 10},{y} H{x + w - 10} A10,10 0 0 1 {x + w},{y + 10} V{y + BOX_HEAD} '
        f'H{x} V{y + 10} A10,10 0 0 1 {x + 10},{y} Z" fill="{pal.fill}"/>',
        f'<line x1="{x}" y1="{y + BOX_HEAD}" x2="{x + w}" y2="{y + BOX_HEAD}" '
        f'stroke="{pal.stroke}"/>',
        _t(x + BOX_PAD, y + 20, region, 13, font_weight="bold"),
        _t(x + w - BOX_PAD, y + 20, subtotal, 12, text_anchor="end", fill="#444444"),
    ]
    cy = y + BOX_HEAD + 6
    for job in b.jobs:
        cost = fmt_usd(job.usd)
        name_w = inner - text_width(cost, 12) - 8
        out.append(_t(x + BOX_PAD, cy + 14, fit(job.job, name_w, 12, True), 12, font_weight="bold"))
        out.append(_t(x + w - BOX_PAD, cy + 14, cost, 12, text_anchor="end"))
        out.append(_t(x + BOX_PAD, cy + 29, fit(job_detail(job), inner, 11), 11, fill="#555555"))
        cy += ROW
    if b.jobs and b.datasets:
        out.append(
            f'<line x1="{x + BOX_PAD}" y1="{cy + 3}" x2="{x + w - BOX_PAD}" y2="{cy + 3}" '
            f'stroke="#DDDDDD" stroke-dasharray="3,3"/>'
        )
        cy += 8
    for d in b.datasets:
        out.append(_cylinder(x + BOX_PAD, cy + 4))
        name = fit(d.name, inner - 22, 12, True)
        out.append(_t(x + BOX_PAD + 22, cy + 15, name, 12, font_weight="bold", fill="#5F5A00"))
        for k, line in enumerate(_data_lines(d, inner)):
            line = fit(line, inner - 22, 11)
            out.append(_t(x + BOX_PAD + 22, cy + 29 + LINE * k, line, 11, fill="#555555"))
        cy += 22 + LINE * len(_data_lines(d, inner))
    return out


def _cylinder(x: int, y: int) -> str:
    """A small data-set icon, 14 x 16."""
    return (
        f'<path d="M{x},{y + 3} V{y + 13} A7,3 0 0 0 {x + 14},{y + 13} V{y + 3} '
        f'A7,3 0 0 0 {x},{y + 3} A7,3 0 0 0 {x + 14},{y + 3}" '
        f'fill="#FFF9C4" stroke="#9E9D24" stroke-width="1.2"/>'
    )


def _route_svg(r: Route) -> tuple[list[str], list[str]]:
    """The line (with its start dot) and the label of one copy."""
    lx = r.label_x - r.label_w // 2
    line = [
        f'<path d="M{r.sx},{r.sy} V{r.lane_y} H{r.dx} V{r.dy + 9}" fill="none" '
        f'stroke="{r.color}" stroke-width="2" marker-end="url(#arrow-{r.color[1:]})"/>',
        f'<circle cx="{r.sx}" cy="{r.sy}" r="3.5" fill="{r.color}"/>',
    ]
    label = [
        f'<rect x="{lx}" y="{r.lane_y + 3}" width="{r.label_w}" height="16" rx="3" '
        f'fill="#FFFFFF" fill-opacity="0.92"/>',
        _t(r.label_x, r.lane_y + 15, r.edge.label, 11, text_anchor="middle", fill=r.color),
    ]
    return line, label


def plan_svg(graph: PlanGraph) -> str:
    """The whole picture as SVG text; the same graph always gives the same bytes."""
    lay = layout(graph)
    width, height = lay.width, lay.height
    colors = sorted({r.color for r in lay.routes})
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}">',
        f"<title>{escape(plain_text(graph.title))}</title>",
        "<defs>",
        *(
            f'<marker id="arrow-{c[1:]}" viewBox="0 0 10 10" refX="1" refY="5" markerWidth="5" '
            f'markerHeight="5" orient="auto"><path d="M0,0 L10,5 L0,10 Z" fill="{c}"/></marker>'
            for c in colors
        ),
        "</defs>",
        f'<rect width="{width}" height="{height}" fill="#FFFFFF"/>',
        _t(MARGIN, MARGIN + 20, graph.title, 20, font_weight="bold", fill="#111111"),
        _t(MARGIN, MARGIN + 42, graph.subtitle, 13, fill="#444444"),
    ]
    for band in lay.bands:
        pal = PALETTES.get(band.cloud.cloud, OTHER)
        x, y, w = band.x, band.y, band.w
        out.append(
            f'<rect x="{x}" y="{y}" width="{w}" height="{band.h}" rx="14" '
            f'fill="{pal.fill}" stroke="{pal.stroke}" stroke-width="2"/>'
        )
        out.append(
            _t(x + BAND_PAD, y + 26, band.cloud.title, 15, font_weight="bold", fill=pal.strong)
        )
        cost = _cloud_cost(band.cloud)
        out.append(_t(x + w - BAND_PAD, y + 26, cost, 12, text_anchor="end", fill=pal.strong))
    for p in lay.boxes:
        out += _box_svg(p, PALETTES.get(p.box.cloud, OTHER))
    drawn = [_route_svg(r) for r in lay.routes]
    out += [line for lines, _ in drawn for line in lines]  # every line first, labels on top
    out += [line for _, labels in drawn for line in labels]
    out.append(_t(MARGIN, height - MARGIN - 8, lay.note, 11, fill="#777777"))
    out.append("</svg>")
    return "\n".join(out) + "\n"
