"""The container image's install, made on this machine without docker, once per session.

What the Dockerfile copies (and .dockerignore lets in) goes into a folder of its own, its
``RUN pip install ...`` line runs there in a new virtual environment, and the sources are
removed, as the image removes them: the environment is what the image's ``introbot`` is,
short of its base image and its user. Tests that use it are slow (they run processes).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def dockerfile(instruction: str) -> list[str]:
    """The arguments of each of the Dockerfile's ``instruction`` lines (continuations
    joined)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return [
        line.split(None, 1)[1].strip()
        for line in text.splitlines()
        if line.split(None, 1)[:1] == [instruction]
    ]


def install_image(folder: Path) -> Path:
    """The image's install made in ``folder``: its virtual environment."""
    src = folder / "src"
    for copied in dockerfile("COPY"):
        *sources, _ = copied.split()
        for source in sources:
            path = ROOT / source
            if path.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(path, src / source, ignore=ignore)
            else:
                src.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, src / source)
    (install,) = [run for run in dockerfile("RUN") if run.startswith("pip install")]
    args = shlex.split(install.split("&&")[0])[2:]
    venv = folder / "image"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    built = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", *args],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    shutil.rmtree(src)  # as the image does: the install must not need its sources
    return venv


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's install (its virtual environment), made once per session."""
    return install_image(tmp_path_factory.mktemp("image"))
