"""Sphinx extension: the book's interactive controls work in the static HTML pages (issue 14).

Each control of the book (``book_utils.anim.controls``,
``book_utils.architecture.output_size_calculator``) is displayed as one output with two views
(``book_utils/static_controls.py``): the ipywidgets view, which needs a running kernel, and a
``text/html`` view holding every result the control can show, computed when the notebook ran.
myst-nb normally prefers the widget view; this extension ranks ``text/html`` above it for the
HTML builders, so the pages get the static control, drawn by ``_static/cnn-book-controls.js``
(the book's own script, no CDN). Outputs with no ``text/html`` view (any other widget) keep
the widget view, which ``cnn_book_html`` turns into its note as before.

Loaded from ``_config.yml`` (``sphinx.local_extensions``).
"""
from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

#: Builders that write HTML pages (the static control needs the page's JavaScript).
HTML_BUILDERS = ("html", "dirhtml", "singlehtml")
#: Rank given to ``text/html``; myst-nb ranks the widget view 10 (lower wins).
HTML_RANK = 5
SCRIPT = "cnn-book-controls.js"
STYLE = "cnn-book-controls.css"


def mime_overrides(existing) -> list:
    """``nb_mime_priority_overrides`` with ``text/html`` ahead of the widget view in HTML."""
    overrides = [tuple(o) for o in (existing or [])]
    for builder in HTML_BUILDERS:
        if not any(o[0] == builder and o[1] == "text/html" for o in overrides):
            overrides.append((builder, "text/html", HTML_RANK))
    return overrides


def _configure(app: Sphinx, config) -> None:
    config.nb_mime_priority_overrides = mime_overrides(
        getattr(config, "nb_mime_priority_overrides", None))
    static = Path(app.srcdir) / "_static"
    for name, setting in ((SCRIPT, "html_js_files"), (STYLE, "html_css_files")):
        if not (static / name).is_file():
            raise ExtensionError(f"cnn_book_controls: {static / name} is missing; the static "
                                 "controls cannot be drawn without it (restore it from git)")
        # Jupyter Book lists every file of _static itself; a plain Sphinx build does not.
        files = list(getattr(config, setting, None) or [])
        names = [f[0] if isinstance(f, (tuple, list)) else f for f in files]
        if name not in names:
            files.append(name)
            setattr(config, setting, files)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _configure)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
