"""Glue a value into the book's prose, in the build and in a plain kernel alike.

When the book is built, myst-nb's ``glue`` stores a value under a name so that the prose can
show it (``{glue:text}`\\`name\\```). A reader's kernel (Colab, a laptop) has only this package
installed, not myst-nb; there :func:`glue` shows the value when asked to (``display=True``)
and otherwise does nothing, so every page runs the same code in both places.

This module holds only that switch; it imports myst-nb lazily and never requires it.
"""
from __future__ import annotations

import importlib.util
from typing import Any

__all__ = ["glue", "myst_nb_available"]


def myst_nb_available() -> bool:
    """Whether myst-nb can be imported here (True in the book build, usually False elsewhere)."""
    return importlib.util.find_spec("myst_nb") is not None


def glue(name: str, value: Any, display: bool = True) -> None:
    """Store ``value`` under ``name`` for the book's prose; harmless without myst-nb.

    Args:
        name: the key the prose refers to, e.g. ``"p06_test_acc"``. Must be a non-empty str.
        value: any object myst-nb can display (a str, a number, a matplotlib figure, ...).
        display: also show the value in the cell's output (myst-nb's default is True).

    Raises:
        TypeError: if ``name`` is not a non-empty string.

    With myst-nb installed this is exactly ``myst_nb.glue(name, value, display)``. Without it
    (a kernel that has only ``pip install`` of this repository), the value is shown with
    ``IPython.display.display`` when ``display`` is True and nothing happens otherwise.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"glue: name must be a non-empty str, got {name!r}")
    if myst_nb_available():
        from myst_nb import glue as _myst_glue

        _myst_glue(name, value, display=display)
        return
    if display:
        from IPython.display import display as _display

        _display(value)
