"""Template rendering: HCL literals, and the compiled-template cache kept between runs."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pytest

from skyplan.emit import render


def test_hcl_literals() -> None:
    assert render.hcl_value("a ${b} %{c}") == '"a $${b} %%{c}"'
    assert render.hcl_value([1, True]) == "[1, true]"
    assert render.hcl_value({"b": 1, "a": "x"}) == '{\n"a" = "x"\n"b" = 1\n}'


def test_the_cache_lives_in_the_users_cache_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SKYPLAN_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = render.bytecode_cache()
    assert isinstance(cache, jinja2.FileSystemBytecodeCache)
    folder = tmp_path / "skyplan" / f"jinja2-{jinja2.__version__}"
    assert folder.is_dir() and folder.stat().st_mode & 0o777 == 0o700


def test_no_cache_when_others_could_write_it_or_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "skyplan" / f"jinja2-{jinja2.__version__}"
    folder.mkdir(parents=True)
    os.chmod(folder, 0o777)  # a compiled template is code: never load it from there
    monkeypatch.delenv("SKYPLAN_NO_CACHE", raising=False)
    assert render.bytecode_cache() is None
    os.chmod(folder, 0o700)
    monkeypatch.setenv("SKYPLAN_NO_CACHE", "1")
    assert render.bytecode_cache() is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.delenv("SKYPLAN_NO_CACHE")
    assert render.bytecode_cache() is None  # unusable: templates are compiled every run


def test_cached_templates_render_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("SKYPLAN_NO_CACHE", raising=False)
    name = "terraform/local/outputs.tf.j2"
    variables = {
        "header": "generated",
        "regions": [{"id": "local_a", "name": "local-a"}],
        "jobs": [{"id": "prep", "name": "prep"}],
    }
    outputs = []
    for _ in range(2):  # the first run fills the cache, the second reads it
        render.environment.cache_clear()
        outputs.append(render.render(name, variables))
    render.environment.cache_clear()
    assert list((tmp_path / "skyplan").rglob("__jinja2_*"))
    assert outputs[0] == outputs[1]
    assert "terraform_data.job_prep[*].output.work" in outputs[0]
