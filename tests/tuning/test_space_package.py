"""The default search spaces ship inside the package, so `tune` without --space works from a wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tuning_helpers import REPO

SPACES = ["sketchrnn/tuning/spaces/draw.yaml", "sketchrnn/tuning/spaces/predict.yaml",
          "sketchrnn/tuning/spaces/README.md"]
# Run from the unpacked wheel, far from the checkout: which files does it use, and do they load?
PROBE = """\
import sketchrnn
from sketchrnn.tuning.space import default_space, load_default_space
print(sketchrnn.__file__)
for task in ("draw", "predict"):
    print(default_space(task), len(load_default_space(task).params))
"""


def _has_build_backend() -> bool:
    """Whether the setuptools here satisfies pyproject's build-system requirement (>= 77)."""
    try:
        from importlib.metadata import version

        return int(version("setuptools").split(".")[0]) >= 77
    except Exception:  # noqa: BLE001 - not installed, or an odd version string: let pip provide it
        return False


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy of what the wheel is made of, so that setuptools' build/ and egg-info
    # folders never land in the checkout.
    src = out / "src"
    shutil.copytree(REPO / "sketchrnn", src / "sketchrnn", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    # This environment's setuptools when it is new enough (works offline), else pip's isolated one.
    isolation = ["--no-build-isolation"] if _has_build_backend() else []
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "--quiet",
                           str(src), "-w", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (found,) = out.glob("sketchrnn-*.whl")
    return found


def test_the_wheel_holds_the_spaces_unchanged(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for name in SPACES:
            assert name in names, sorted(n for n in names if "tuning" in n)
            assert archive.read(name) == (REPO / name).read_bytes()


def test_an_installed_wheel_finds_its_spaces_through_importlib_resources(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)  # what pip install puts in site-packages
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert Path(lines[0]).is_relative_to(site), lines[0]  # not the checkout's package
    for line, task in zip(lines[1:], ("draw", "predict")):
        path, count = line.rsplit(" ", 1)
        assert Path(path) == site / "sketchrnn" / "tuning" / "spaces" / f"{task}.yaml"
        assert int(count) >= 5
