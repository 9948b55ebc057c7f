"""book_utils.glue: glues with myst-nb, and runs without it (a reader's kernel)."""
import builtins
import json
from pathlib import Path

import pytest

from book_utils import glue as glue_mod

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.ipynb"))


def _block_myst_nb(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "myst_nb" or name.startswith("myst_nb."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr(glue_mod, "myst_nb_available", lambda: False)


def test_without_myst_nb_hidden_glue_shows_nothing(monkeypatch):
    _block_myst_nb(monkeypatch)
    shown = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda v: shown.append(v))
    glue_mod.glue("p00_x", "1,234", display=False)
    assert shown == []
    glue_mod.glue("p00_y", 42)
    assert shown == [42]


def test_with_myst_nb_calls_it(monkeypatch):
    calls = []
    import types
    import sys

    fake = types.ModuleType("myst_nb")
    fake.glue = lambda name, value, display=True: calls.append((name, value, display))
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    monkeypatch.setattr(glue_mod, "myst_nb_available", lambda: True)
    glue_mod.glue("p00_z", 3.5, display=False)
    assert calls == [("p00_z", 3.5, False)]


@pytest.mark.parametrize("bad", ["", None, 3])
def test_bad_name(bad):
    with pytest.raises(TypeError, match="name must be a non-empty str"):
        glue_mod.glue(bad, 1, display=False)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_need_no_build_tools_and_hide_test_markers(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        for tool in ("myst_nb", "jupyter_book", "sphinx"):
            assert f"import {tool}" not in src and f"from {tool}" not in src, (
                f"{path.name} cell {cell.get('id')}: imports build-time tool {tool}")
        assert "NBVAL" not in src, (
            f"{path.name} cell {cell.get('id')}: nbval marker in the code; use a cell tag")
