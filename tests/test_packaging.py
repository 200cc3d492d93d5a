"""The wheel must carry grammar/ and specs/ so that an installed, non-editable copy works."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True,
    )
    (found,) = out.glob("ddengine-*.whl")
    return found


def test_wheel_carries_grammar_and_specs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    repo_files = [p for d in ("grammar", "specs", "examples") for p in (ROOT / d).rglob("*") if p.is_file()]
    assert repo_files, "grammar/, specs/ and examples/ should not be empty"
    for path in repo_files:
        rel = path.relative_to(ROOT).as_posix()
        assert f"engine/_data/{rel}" in names, f"{rel} missing from the wheel"


def test_installed_copy_finds_its_data_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = (
        "import engine, engine._resources as r;"
        "print(engine.__file__);"
        "print((r.grammar_dir() / 'trigger.lark').is_file(), (r.specs_dir() / 'meta').is_dir(),"
        " (r.examples_dir() / 'config.json').is_file())"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[0].startswith(str(target)), out
    assert out[1:] == ["True", "True", "True"]
