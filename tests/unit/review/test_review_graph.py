"""The picture of a plan: its model, mermaid text and SVG (skyplan/review/graph.py, svg.py)."""

from __future__ import annotations

import json
import random
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest

from skyplan.errors import InputError
from skyplan.plan import Placement, Plan, SolverInfo, Transfer, read_plan
from skyplan.review.graph import (
    DataSet,
    datasets_from_manifest,
    datasets_from_plan,
    fmt_gb,
    manifest_matches,
    mermaid_text,
    node_id,
    plain_text,
    plan_graph,
    plan_mermaid,
)
from skyplan.review.svg import fit, layout, plan_svg, text_width, wrap

STACKS = Path(__file__).resolve().parents[3] / "stacks"
SVG = "{http://www.w3.org/2000/svg}"
ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def job(name: str, region: str = "aws:us-east-1", usd: str = "1.5", nodes: int = 1) -> Placement:
    cloud, reg = region.split(":", 1)
    return Placement(
        name, cloud, reg, "m6i.large", False, nodes, Decimal(2), Decimal("0.75"), Decimal(usd)
    )


def copy(dataset: str, src: str, dst: str, gb: str = "100", usd: str = "2") -> Transfer:
    return Transfer(dataset, src, dst, Decimal(gb), Decimal("0.02"), Decimal(usd))


def plan(placements: list[Placement], transfers: list[Transfer] = ()) -> Plan:  # type: ignore[assignment]
    return Plan("demo", tuple(placements), tuple(transfers), SolverInfo("OPTIMAL"))


ODD = [
    'quote"job',
    "bell\x07and\x00nul",
    "a<b>&c",
    "hash#1",
    "back`tick",
    "dots.and_underscores",
    "new\nline",
    "end",
    "ünïcode-名前",
]


def odd_plan() -> Plan:
    regions = ["aws:us-east-1", "gcp:europe-west4", "azure:eastus2", "local:local-a"]
    placements = [job(n, regions[i % 4], usd=f"{i + 1}.25") for i, n in enumerate(ODD)]
    transfers = [
        copy('data"set', "aws:us-east-1", "gcp:europe-west4"),
        copy("a<b>", "gcp:europe-west4", "azure:eastus2"),
        copy("x#y", "aws:eu-west-1", "local:local-a", gb="0.000001", usd="0"),
    ]
    return plan(placements, transfers)


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [t.text or "" for t in root.iter(f"{SVG}text")]


# --- the model -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gb", "text"),
    [
        ("1800", "1,800 GB"),
        ("2.5", "2.5 GB"),
        ("1", "1 GB"),
        ("0.12", "120 MB"),
        ("0.000001", "1 KB"),
        ("9.48e-7", "1 KB"),
        ("0", "0 KB"),
    ],
)
def test_sizes_read_as_people_write_them(gb: str, text: str) -> None:
    assert fmt_gb(Decimal(gb)) == text


def test_regions_are_grouped_by_cloud_in_a_fixed_order() -> None:
    p = plan(
        [
            job("z", "oracle:eu-frankfurt-1"),
            job("y", "local:local-b"),
            job("x", "azure:eastus2"),
            job("w", "gcp:us-central1"),
            job("v", "aws:us-west-2"),
            job("u", "aws:eu-west-1"),
        ]
    )
    g = plan_graph(p)
    assert [c.cloud for c in g.clouds] == ["aws", "gcp", "azure", "local", "oracle"]
    assert [b.region for b in g.clouds[0].regions] == ["eu-west-1", "us-west-2"]


def test_data_homes_from_plan_json_alone_are_where_copies_start() -> None:
    p = plan(
        [job("a", "gcp:europe-west4")],
        [
            copy("patients", "aws:eu-west-1", "gcp:europe-west4", gb="1800"),
            copy("reference", "aws:us-east-1", "gcp:europe-west4", gb="60"),
        ],
    )
    data = datasets_from_plan(p)
    assert [(d.name, d.home, d.gb, d.external) for d in data] == [
        ("patients", "aws:eu-west-1", Decimal(1800), None),
        ("reference", "aws:us-east-1", Decimal(60), None),
    ]
    g = plan_graph(p)
    assert not g.detailed
    # the homes get boxes of their own even though no job runs there
    assert [b.key for c in g.clouds for b in c.regions] == [
        "aws:eu-west-1",
        "aws:us-east-1",
        "gcp:europe-west4",
    ]


def test_manifest_gives_every_data_set_its_home_producer_and_readers() -> None:
    manifest = json.loads((STACKS / "genomics" / "manifest.json").read_text("utf-8"))
    p = read_plan(STACKS / "genomics" / "plan.json")
    assert manifest_matches(p, manifest)
    data = {d.name: d for d in datasets_from_manifest(manifest)}
    assert data["patients"] == DataSet(
        "patients", "aws:eu-west-1", Decimal(1800), None, ("align",), True
    )
    assert data["aligned"].home == "gcp:europe-west4"
    assert data["aligned"].producer == "align"
    assert data["aligned"].readers == ("call-variants",)
    assert data["aligned"].external is False
    assert data["reference"].readers == ("align", "call-variants")
    assert data["report"].readers == ()  # a final output: made, never read


def test_a_data_set_read_in_place_lives_where_it_is_read() -> None:
    manifest = json.loads((STACKS / "local-demo" / "manifest.json").read_text("utf-8"))
    data = {d.name: d for d in datasets_from_manifest(manifest)}
    assert data["stopwords"].home == "local:local-a"
    assert data["stopwords"].external is True
    assert data["words"].home == "local:local-b"  # copied to local-a from its home


def test_a_manifest_of_another_plan_is_not_used() -> None:
    manifest = json.loads((STACKS / "genomics" / "manifest.json").read_text("utf-8"))
    other = read_plan(STACKS / "analytics" / "plan.json")
    assert not manifest_matches(other, manifest)
    assert not manifest_matches(other, {"jobs": "nonsense"})


def test_a_copy_between_malformed_regions_is_an_input_error() -> None:
    with pytest.raises(InputError) as e:
        plan_graph(plan([job("a")], [copy("x", "nowhere", "aws:us-east-1")]))
    assert "not cloud:region" in e.value.message


def test_a_broken_manifest_is_an_input_error() -> None:
    with pytest.raises(InputError) as e:
        datasets_from_manifest({"jobs": [{"name": "a"}], "transfers": []}, "m.json")
    assert "manifest.json" in e.value.message
    assert e.value.exit_code == 2


# --- mermaid -------------------------------------------------------------------------------


def test_ids_are_stable_valid_and_never_collide() -> None:
    assert node_id("j", "call-variants") == "j_call_variants"
    assert node_id("r", "aws", "us-east-1") == "r_aws__us_east_1"
    names = ["a-b", "a_b", "a.b", "a b", "a--b", "-a", "a-", *ODD]
    ids = [node_id("j", n) for n in names]
    assert len(set(ids)) == len(ids)
    assert all(ID.fullmatch(i) for i in ids)
    assert ids == [node_id("j", n) for n in names]  # a function of the name alone


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ('say "hi"', "say #quot;hi#quot;"),
        ("a<b>&c", "a#lt;b#gt;#amp;c"),
        ("#1", "#35;1"),
        ("`md`", "#96;md#96;"),
        ("two\nlines", "two lines"),
    ],
)
def test_label_text_is_escaped(raw: str, safe: str) -> None:
    assert mermaid_text(raw) == safe


def test_mermaid_of_odd_names_is_well_formed() -> None:
    text = plan_mermaid(plan_graph(odd_plan()))
    lines = text.splitlines()
    assert lines[:4] == [lines[0], lines[1], "---", "flowchart LR"]
    assert lines[0] == "---"
    assert lines[1].startswith('title: "demo: ')
    body = lines[4:]
    for line in body:
        # every quoted label holds no raw quote, markup or newline
        for label in re.findall(r'"([^"]*)"', line):
            assert not set(label.replace("<br/>", "")) & set("<>&`"), line
        assert line.count('"') % 2 == 0, line
    subgraphs = sum(1 for line in body if line.strip().startswith("subgraph "))
    ends = sum(1 for line in body if line.strip() == "end")
    assert subgraphs == ends
    for name in ODD:
        assert mermaid_text(name) in text  # every job appears, escaped
    assert text.count(" ==>|") == 3  # every copy appears as an edge


def test_mermaid_and_svg_do_not_depend_on_input_order() -> None:
    p = odd_plan()
    rng = random.Random(7)
    for _ in range(5):
        placements, transfers = list(p.placements), list(p.transfers)
        rng.shuffle(placements)
        rng.shuffle(transfers)
        shuffled = Plan(p.stack, tuple(placements), tuple(transfers), p.solver)
        assert plan_mermaid(plan_graph(shuffled)) == plan_mermaid(plan_graph(p))
        assert plan_svg(plan_graph(shuffled)) == plan_svg(plan_graph(p))


def test_a_plan_without_copies() -> None:
    p = plan([job("a"), job("b", "gcp:us-central1")])
    text = plan_mermaid(plan_graph(p))
    assert "==>" not in text
    svg = plan_svg(plan_graph(p))
    assert "marker-end" not in svg
    assert any("No copies" in t for t in svg_texts(svg))


def test_manifest_detail_adds_producer_and_reader_edges() -> None:
    manifest = json.loads((STACKS / "genomics" / "manifest.json").read_text("utf-8"))
    p = read_plan(STACKS / "genomics" / "plan.json")
    text = plan_mermaid(plan_graph(p, datasets_from_manifest(manifest)))
    aligned = node_id("d", "gcp", "europe-west4", "aligned")
    assert f"  {node_id('j', 'align')} --> {aligned}" in text
    assert f"  {aligned} -.-> {node_id('j', 'call-variants')}" in text
    patients = node_id("d", "aws", "eu-west-1", "patients")
    assert f'  {patients} ==>|"patients · 1,800 GB · $162.00"| r_gcp__europe_west4' in text


# --- SVG -----------------------------------------------------------------------------------


def test_svg_is_well_formed_and_shows_every_job_and_copy() -> None:
    p = odd_plan()
    svg = plan_svg(plan_graph(p))
    texts = svg_texts(svg)
    shown = "\n".join(texts)
    for pl in p.placements:
        assert plain_text(pl.job) in shown, pl.job
    for t in p.transfers:
        assert any(x.startswith(f"{t.dataset} · ") for x in texts), t.dataset
    assert texts[0] == f"demo: ${p.total_usd:,.2f} total"
    assert ET.fromstring(svg).find(f"{SVG}title") is not None


def test_svg_of_the_example_stacks_has_no_timestamps_and_is_stable() -> None:
    for path in sorted(STACKS.glob("*/plan.json")):
        g = plan_graph(read_plan(path))
        assert plan_svg(g) == plan_svg(g)
        assert not re.search(r"20\d\d-\d\d-\d\d", plan_svg(g))


def overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def random_plan(seed: int) -> Plan:
    rng = random.Random(seed)
    keys = [f"{c}:r{i}" for c in ("aws", "gcp", "azure", "local") for i in range(rng.randint(0, 3))]
    keys = keys or ["aws:r0"]
    placements = [job(f"job-{i}", rng.choice(keys)) for i in range(rng.randint(1, 12))]
    transfers = []
    for i in range(rng.randint(0, 10)):
        src, dst = rng.sample(keys, 2) if len(keys) > 1 else (keys[0], keys[0])
        if src != dst:
            transfers.append(copy(f"data-{i}", src, dst, gb=str(rng.randint(1, 5000))))
    return plan(placements, transfers)


@pytest.mark.parametrize("seed", range(30))
def test_nothing_overlaps(seed: int) -> None:
    """Boxes never overlap each other; a label never covers a box or a line it does not
    belong to, except where no free place exists on its line."""
    lay = layout(plan_graph(random_plan(seed)))
    boxes = [(p.x, p.y, p.w, p.h) for p in lay.boxes]
    for i, a in enumerate(boxes):
        assert all(not overlaps(a, b) for b in boxes[i + 1 :])
    bands = [(b.x, b.y, b.w, b.h) for b in lay.bands]
    for i, a in enumerate(bands):
        assert all(not overlaps(a, b) for b in bands[i + 1 :])
    for r in lay.routes:
        label = (r.label_x - r.label_w // 2, r.lane_y + 3, r.label_w, 16)
        assert all(not overlaps(label, b) for b in boxes + bands)
        assert label[0] + label[2] <= lay.width
        # the label touches its own line
        assert label[0] <= max(r.sx, r.dx) and label[0] + label[2] >= min(r.sx, r.dx)
    labels = [(r.label_x - r.label_w // 2, r.lane_y + 3, r.label_w, 16) for r in lay.routes]
    for i, a in enumerate(labels):
        assert all(not overlaps(a, b) for b in labels[i + 1 :])


def test_example_labels_cover_no_line() -> None:
    for path in sorted(STACKS.glob("*/plan.json")):
        lay = layout(plan_graph(read_plan(path)))
        for r in lay.routes:
            lo, hi = r.label_x - r.label_w // 2, r.label_x + r.label_w // 2
            for other in lay.routes:
                if other.lane_y > r.lane_y:  # its vertical lines pass the label's band
                    assert not lo <= other.sx <= hi and not lo <= other.dx <= hi, path


def test_text_is_cut_or_wrapped_to_fit() -> None:
    long = "a_very_long_job_name_that_goes_on_and_on.v2"
    cut = fit(long, 120, 12, bold=True)
    assert cut.endswith("…") and text_width(cut, 12, bold=True) <= 120
    assert fit("short", 120, 12) == "short"
    lines = wrap("read by " + ", ".join(f"job-{i}" for i in range(20)), 200, 11)
    assert len(lines) > 1 and all(text_width(line, 11) <= 200 for line in lines)
