"""Controls that also work in the static HTML book, where no Python kernel is running.

An ``ipywidgets`` control recomputes its picture in Python on every change, so on its own it
needs a live kernel. Each control of the book is therefore one display that carries two views:

* the ipywidgets view (``application/vnd.jupyter.widget-view+json``), which Jupyter, JupyterLab
  and Colab show while a kernel runs;
* a ``text/html`` view: a ``<div class="cnn-control">`` holding, as JSON, the result of *every*
  choice the control offers, computed in Python when the page was executed. The book's own
  small script ``_static/cnn-book-controls.js`` turns it into the same dropdowns and sliders,
  switching between those precomputed results (or, for a formula as simple as the output
  size, computing it in the page). No kernel, no network, no CDN.

The book build ranks ``text/html`` above the widget view (``_ext/cnn_book_controls.py``), so
the HTML pages show the static control; Jupyter keeps showing the widget. Without the book's
script (e.g. an HTML export of the notebook) the ``text/html`` view shows a one-line note.

One mechanism serves every control: :func:`panel` makes an ``ipywidgets.VBox`` whose display
bundle holds both views; the ``text/html`` part is built the first time the panel is displayed,
from a function that returns a JSON-ready ``spec`` (``spec["kind"]`` names the drawing routine
of the script: ``"sliding-window"`` for :func:`book_utils.anim.controls`, ``"output-size"`` for
:func:`book_utils.architecture.output_size_calculator`).

Example::

    from book_utils import static_controls
    box = static_controls.panel([slider, result], lambda: {"kind": "output-size", ...})
    box                         # widget in Jupyter, static control in the HTML book
"""
from __future__ import annotations

import html
import json
import textwrap
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

__all__ = ["KINDS", "MIME_HTML", "MAX_SPEC_BYTES", "static_html", "panel"]

#: Drawing routines the book's script knows (``_static/cnn-book-controls.js``).
KINDS = ("sliding-window", "output-size")
MIME_HTML = "text/html"
#: Largest JSON payload of one control (bytes); keeps the pages light (issue 14: < 8 MB a page).
MAX_SPEC_BYTES = 1_500_000
#: Longest line of the ``text/html`` view (the book's limit for stored outputs).
LINE_WIDTH = 80

#: Shown by the ``text/html`` view where the book's script is not loaded.
_NO_SCRIPT_NOTE = ("Interactive control: in the HTML book it runs in the page; in Jupyter it "
                   "is an ipywidgets panel (needs a running kernel).")


def static_html(spec: Mapping[str, Any]) -> str:
    """The ``text/html`` view of a control: its ``spec`` as JSON inside a ``div``.

    Args:
        spec: JSON-serialisable mapping; ``spec["kind"]`` must be one of :data:`KINDS`.
            Numbers must be finite (JSON has no ``inf``/``nan``).

    Returns:
        ``<div class="cnn-control" data-kind="...">`` holding a
        ``<script type="application/json">`` with the spec and a fallback note.

    Raises:
        TypeError: ``spec`` is not a mapping or holds something JSON cannot store.
        ValueError: an unknown ``kind``, a non-finite number, or a payload over
            :data:`MAX_SPEC_BYTES` (offer fewer choices).
    """
    if not isinstance(spec, Mapping):
        raise TypeError(f"spec must be a mapping (dict), got {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"spec['kind'] must be one of {KINDS}, got {kind!r}")
    try:
        text = _wrapped_json(spec)
    except ValueError as exc:
        raise ValueError(f"spec holds a non-finite number ({exc}); store inf/nan as text") from None
    except TypeError as exc:
        raise TypeError(f"spec must hold only JSON types (dict, list, str, int, float, bool, "
                        f"None): {exc}") from None
    size = len(text.encode("utf8"))
    if size > MAX_SPEC_BYTES:
        raise ValueError(f"the static view of this control would be {size:,} bytes (more than "
                         f"MAX_SPEC_BYTES={MAX_SPEC_BYTES:,}); offer fewer choices")
    # "</" would end the <script> element early; "<\/" means the same in JSON.
    text = text.replace("</", "<\\/")
    note = "\n".join(textwrap.wrap(html.escape(_NO_SCRIPT_NOTE), LINE_WIDTH))
    return (f'<div class="cnn-control" data-kind="{html.escape(kind)}">\n'
            f'<script type="application/json" class="cnn-control-data">\n{text}\n</script>\n'
            f'<p class="cnn-control-fallback">\n{note}\n</p>\n</div>')


def _wrapped_json(spec: Mapping[str, Any]) -> str:
    """Compact JSON broken into lines of at most :data:`LINE_WIDTH` characters where it can be
    (between tokens, which JSON allows), so the stored notebook output stays readable."""
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    lines, line = [], ""
    for chunk in encoder.iterencode(spec):
        if line and len(line) + len(chunk) > LINE_WIDTH:
            lines.append(line)
            line = ""
        line += chunk
    lines.append(line)
    return "\n".join(lines)


_PANEL_CLASS = None


def _panel_class():
    """The VBox subclass whose display bundle adds the ``text/html`` view (built lazily)."""
    global _PANEL_CLASS
    if _PANEL_CLASS is None:
        import ipywidgets as widgets

        class ControlPanel(widgets.VBox):
            """``ipywidgets.VBox`` that also carries a static ``text/html`` view."""

            def static_spec(self) -> Dict[str, Any]:
                """The JSON-ready description of every choice (computed once)."""
                if self._static_spec is None:
                    self._static_spec = self._make_spec()
                return self._static_spec

            def static_html(self) -> str:
                """The ``text/html`` view (see :func:`static_html`)."""
                return static_html(self.static_spec())

            def _repr_mimebundle_(self, **kwargs):
                bundle = super()._repr_mimebundle_(**kwargs)
                if bundle is None:
                    bundle = {}
                if isinstance(bundle, tuple):          # (data, metadata)
                    data, meta = bundle
                    return {**data, MIME_HTML: self.static_html()}, meta
                return {**bundle, MIME_HTML: self.static_html()}

        _PANEL_CLASS = ControlPanel
    return _PANEL_CLASS


def panel(children: Sequence, make_spec: Callable[[], Mapping[str, Any]]):
    """An ``ipywidgets.VBox`` of ``children`` that is displayed with a static view as well.

    Args:
        children: the widgets of the live control, top to bottom.
        make_spec: called with no arguments the first time the panel is displayed (or
            :meth:`static_spec` is called); returns the spec for :func:`static_html`. Deferred
            because computing every choice costs time that a live session may never need.

    Returns:
        A ``ControlPanel`` (subclass of ``ipywidgets.VBox``) with methods ``static_spec()``
        and ``static_html()``. Displaying it gives a bundle with the widget view, ``text/plain``
        and ``text/html``.

    Raises:
        TypeError: ``make_spec`` is not callable.
    """
    if not callable(make_spec):
        raise TypeError(f"make_spec must be a function returning the spec, got "
                        f"{type(make_spec).__name__}")
    box = _panel_class()(list(children))
    box._static_spec = None
    box._make_spec = make_spec
    return box
