"""Shared fixtures: where the offline dataset copy lives, and a private cache per test session."""
import importlib.util
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _shared_data() -> Path | None:
    for candidate in [*(os.environ.get("CNN_BOOK_DATA", "").split(os.pathsep)), REPO.parent / "shared" / "data"]:
        if candidate and (Path(candidate) / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def real_data_root() -> Path:
    """Folder holding the real MNIST / CIFAR-10 copies (skips the test when there is none)."""
    root = _shared_data()
    if root is None:
        pytest.skip("no local dataset copy: set CNN_BOOK_DATA to a folder with MNIST/raw and cifar10-jpg")
    return root


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A fresh CNN_BOOK_CACHE and no CNN_BOOK_DATA, so tests see only what they set up."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("CNN_BOOK_CACHE", str(cache))
    monkeypatch.delenv("CNN_BOOK_DATA", raising=False)
    from book_utils import data
    monkeypatch.setattr(data, "_MEMO", {})
    return cache


@pytest.fixture(scope="session")
def load_script():
    """A loader for the command-line scripts under ``scripts/``: ``load_script("name")`` imports
    ``scripts/name.py`` as a module (they are files, not a package) and returns it."""
    def load(name: str):
        path = REPO / "scripts" / f"{name}.py"
        if not path.is_file():
            raise FileNotFoundError(f"no script {path}")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load
