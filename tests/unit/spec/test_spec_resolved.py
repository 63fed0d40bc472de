"""The resolved SkySpec: inherited jurisdictions, job order, env names, defaults, catalog dir."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from skyplan.catalog import load_catalog
from skyplan.errors import Problem
from skyplan.spec.load import load_raw_spec
from skyplan.spec.model import SkySpec, describe, satisfies
from skyplan.spec.resolve import catalog_dir_of, env_name

ProblemsOf = Callable[..., tuple[Problem, ...]]
ResolveOk = Callable[[str], SkySpec]

EU = frozenset({"EU"})
DE = frozenset({"DE"})


def test_output_of_eu_only_input_is_eu_only(resolve_ok: ResolveOk) -> None:
    spec = resolve_ok(
        """\
        version: 1
        name: demo
        datasets:
          patients: {size: 2TB, location: "aws:eu-central-1", jurisdictions: [EU]}
        jobs:
          align: {run: x, hours: 1, inputs: [patients], outputs: {aligned: 400GB}}
          train: {run: x, hours: 1, inputs: [aligned], outputs: {model: 1GB}}
        """
    )
    assert spec.dataset("patients").restriction == frozenset({EU})
    assert spec.job("align").restriction == frozenset({EU})
    assert spec.dataset("aligned").restriction == frozenset({EU})
    assert spec.job("train").restriction == frozenset({EU})
    assert spec.dataset("model").restriction == frozenset({EU})


def test_eu_only_and_de_only_inputs_give_both(resolve_ok: ResolveOk) -> None:
    spec = resolve_ok(
        """\
        version: 1
        name: demo
        datasets:
          eu: {size: 1GB, location: "aws:eu-central-1", jurisdictions: [EU]}
          de: {size: 1GB, location: "gcp:europe-west3", jurisdictions: [DE]}
          free: {size: 1GB, location: "aws:us-east-1"}
        jobs:
          a: {run: x, hours: 1, inputs: [eu], outputs: {a_out: 1GB}}
          b: {run: x, hours: 1, inputs: [a_out, de], outputs: {b_out: 1GB}}
          c: {run: x, hours: 1, inputs: [free], outputs: {c_out: 1GB}}
          d: {run: x, hours: 1, inputs: [b_out, c_out]}
        """
    )
    both = frozenset({EU, DE})
    assert spec.job("a").restriction == frozenset({EU})
    assert spec.job("b").restriction == both
    assert spec.dataset("b_out").restriction == both
    assert spec.job("c").restriction == frozenset()
    assert spec.dataset("c_out").restriction == frozenset()
    assert spec.job("d").restriction == both
    assert describe(both) == "DE and EU"


def test_alternative_jurisdictions_stay_alternatives(resolve_ok: ResolveOk) -> None:
    spec = resolve_ok(
        """\
        version: 1
        name: demo
        datasets:
          d: {size: 1GB, location: "aws:eu-west-2", jurisdictions: [EU, GB]}
        jobs:
          a: {run: x, hours: 1, inputs: [d]}
        """
    )
    restriction = spec.job("a").restriction
    assert restriction == frozenset({frozenset({"EU", "GB"})})
    assert describe(restriction) == "EU or GB"


def test_region_tags_satisfy_restrictions(catalog) -> None:
    frankfurt = catalog.region_by_key["aws:eu-central-1"].tags
    ireland = catalog.region_by_key["aws:eu-west-1"].tags
    assert {"DE", "EU", "EEA"} <= frankfurt  # catalog tags plus the ISO country code
    both = frozenset({EU, DE})
    assert satisfies(frankfurt, both)
    assert not satisfies(ireland, both)
    assert satisfies(ireland, frozenset({EU}))
    assert satisfies(ireland, frozenset())


def test_jobs_are_in_topological_order_ties_by_name(resolve_ok: ResolveOk) -> None:
    spec = resolve_ok(
        """\
        version: 1
        name: demo
        jobs:
          report: {run: x, hours: 1, inputs: [model], after: [zeta]}
          train: {run: x, hours: 1, inputs: [clean], outputs: {model: 1GB}}
          zeta: {run: x, hours: 1}
          prep: {run: x, hours: 1, outputs: {clean: 1GB}}
          alpha: {run: x, hours: 1}
        """
    )
    assert [j.name for j in spec.jobs] == ["alpha", "prep", "zeta", "train", "report"]
    assert spec.job("report").depends_on == ("train", "zeta")
    assert spec.job("report").after == ("zeta",)
    assert spec.job("train").depends_on == ("prep",)
    assert spec.job("alpha").depends_on == ()


def test_resolved_values(resolve_ok: ResolveOk, tmp_path: Path) -> None:
    spec = resolve_ok(
        """\
        version: 1
        name: genomics
        budget_usd: 900
        policy:
          jurisdictions: [EU]
          avoid: [azure, "aws:us-east-1"]
        peering:
          - {clouds: [aws, gcp], usd_per_gb: 0.01}
        datasets:
          patients: {size: 2TB, location: "aws:eu-west-1", uri: "s3://acme/raw/"}
        jobs:
          align:
            run: ./align.sh
            resources: {cpus: 16, memory: 64GB, accelerators: "A100:1", spot: true}
            nodes: 2
            hours: 3.5
            inputs: [patients]
            outputs: {aligned: 400GB}
            regions: ["aws:*", "gcp:europe-west4"]
          train: {run: python train.py, hours: 10, inputs: [aligned]}
        """
    )
    assert spec.name == "genomics"
    assert spec.source == str(tmp_path / "sky.yaml")
    assert spec.clouds == ("aws", "gcp", "azure")
    assert spec.budget_usd == Decimal(900)
    assert spec.jurisdictions == frozenset({"EU"})
    assert spec.avoid == ("azure", "aws:us-east-1")
    (peer,) = spec.peering
    assert peer.clouds == frozenset({"aws", "gcp"})
    assert peer.usd_per_gb == Decimal("0.01")
    patients = spec.dataset("patients")
    assert patients.size_gb == Decimal(2000)
    assert patients.location == "aws:eu-west-1"
    assert patients.producer is None
    assert patients.readers == ("align",)
    aligned = spec.dataset("aligned")
    assert (aligned.size_gb, aligned.location, aligned.producer) == (Decimal(400), None, "align")
    assert aligned.readers == ("train",)
    align = spec.job("align")
    assert align.cpus == Decimal(16)
    assert align.memory_gib == Decimal("59.604644775390625")
    assert (align.accelerator, align.accelerator_count) == ("A100", 1)
    assert align.spot is True
    assert align.nodes == 2
    assert align.hours == Decimal("3.5")
    assert align.regions == ("aws:*", "gcp:europe-west4")
    train = spec.job("train")
    assert (train.cpus, train.memory_gib, train.accelerator) == (0, 0, None)
    assert train.regions is None


def test_omitted_cpus_and_memory_resolve_to_decimal_zero(resolve_ok: ResolveOk) -> None:
    spec = resolve_ok("version: 1\nname: demo\njobs:\n  a: {run: x, hours: 1}\n")
    job = spec.job("a")
    assert isinstance(job.cpus, Decimal)
    assert isinstance(job.memory_gib, Decimal)


def test_clouds_keep_order_without_duplicates_and_local_only_when_named(
    resolve_ok: ResolveOk,
) -> None:
    spec = resolve_ok(
        "version: 1\nname: demo\nclouds: [local, aws, local]\njobs:\n  a: {run: x, hours: 1}\n"
    )
    assert spec.clouds == ("local", "aws")


@pytest.mark.parametrize(
    ("name", "env"), [("patients", "PATIENTS"), ("a-b", "A_B"), ("x.y-z", "X_Y_Z"), ("A_b", "A_B")]
)
def test_env_name(name: str, env: str) -> None:
    assert env_name(name) == env


def test_env_name_collision_between_inputs_is_reported(
    problems_of: ProblemsOf, tmp_path: Path
) -> None:
    problems = problems_of(
        """\
        version: 1
        name: demo
        datasets:
          a-b: {size: 1, location: "aws:eu-west-1"}
          a.b: {size: 1, location: "aws:eu-west-1"}
        jobs:
          j: {run: x, hours: 1, inputs: [a-b, a.b]}
        """
    )
    assert problems
    assert {(p.where.line, p.where.field) for p in problems} == {(7, "jobs.j")}
    assert {p.message for p in problems} == {
        "inputs 'a-b' and 'a.b' collide in the job environment as SKYPLAN_INPUT_A_B"
    }
    assert {p.hint for p in problems} == {"rename one of them"}


def test_env_name_collision_is_reported_once_naming_both(problems_of: ProblemsOf) -> None:
    problems = problems_of(
        """\
        version: 1
        name: demo
        datasets:
          a-b: {size: 1, location: "aws:eu-west-1"}
          a.b: {size: 1, location: "aws:eu-west-1"}
        jobs:
          j: {run: x, hours: 1, inputs: [a-b, a.b]}
        """
    )
    (p,) = problems
    assert "'a-b'" in p.message
    assert "'a.b'" in p.message


def test_input_and_output_with_same_env_name_do_not_collide(resolve_ok: ResolveOk) -> None:
    spec = resolve_ok(
        """\
        version: 1
        name: demo
        datasets:
          a-b: {size: 1GB, location: "aws:eu-west-1"}
        jobs:
          j: {run: x, hours: 1, inputs: [a-b], outputs: {a.b: 1GB}}
        """
    )
    assert spec.job("j").inputs == ("a-b",)


def test_env_name_collision_between_outputs_is_reported(problems_of: ProblemsOf) -> None:
    (p,) = problems_of(
        """\
        version: 1
        name: demo
        jobs:
          j: {run: x, hours: 1, outputs: {a-b: 1, a.b: 1, A_b: 1}}
        """
    )
    assert p.message == (
        "outputs 'a-b', 'a.b' and 'A_b' collide in the job environment as SKYPLAN_OUTPUT_A_B"
    )


def test_input_listed_twice_is_reported_once(problems_of: ProblemsOf) -> None:
    (p,) = problems_of(
        """\
        version: 1
        name: demo
        datasets:
          d: {size: 1, location: "aws:eu-west-1"}
        jobs:
          j: {run: x, hours: 1, inputs: [d, d]}
        """
    )
    assert (p.where.field, p.message, p.hint) == (
        "jobs.j.inputs[1]",
        "input 'd' is listed twice",
        "list it once",
    )


def _tiny_catalog(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "regions.csv").write_text(
        "cloud,region,country,jurisdictions,continent,lat,lon\n"
        "aws,eu-west-1,IE,EU;EEA,europe,53.35,-6.26\n",
        encoding="utf-8",
    )
    (root / "offerings.csv").write_text(
        "cloud,region,instance_type,vcpus,memory_gib,accelerator,accelerator_count,"
        "price_usd_hour,spot_price_usd_hour\n"
        "aws,eu-west-1,m.large,2,8,,0,0.10,\n",
        encoding="utf-8",
    )
    (root / "egress.csv").write_text(
        "cloud,scope,usd_per_gb\naws,internet,0.09\n", encoding="utf-8"
    )
    return root


def test_catalog_dir_is_relative_to_the_spec(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_spec(
        "version: 1\nname: demo\ncatalog: ../prices\njobs:\n  a: {run: x, hours: 1}\n",
        name="project/sky.yaml",
    )
    raw, _ = load_raw_spec(path)
    assert catalog_dir_of(raw, path) == (tmp_path / "prices").resolve()


def test_no_catalog_dir_means_none(write_spec: Callable[..., Path]) -> None:
    path = write_spec("version: 1\nname: demo\njobs:\n  a: {run: x, hours: 1}\n")
    raw, _ = load_raw_spec(path)
    assert catalog_dir_of(raw, path) is None


def test_regions_are_checked_against_the_given_catalog(
    problems_of: ProblemsOf, tmp_path: Path
) -> None:
    tiny = load_catalog(_tiny_catalog(tmp_path / "cat"))
    problems = problems_of(
        """\
        version: 1
        name: demo
        clouds: [aws, gcp]
        datasets:
          d: {size: 1, location: "aws:eu-west-2"}
        jobs:
          a: {run: x, hours: 1, inputs: [d]}
        """,
        tiny,
    )
    assert [(p.where.line, p.message, p.hint) for p in problems] == [
        (3, "unknown cloud 'gcp'", "known clouds: aws"),
        (5, "unknown region 'aws:eu-west-2'", "did you mean 'aws:eu-west-1'?"),
    ]
