"""Sphinx extension: make the built HTML book work offline, as a reader meets it.

Loaded from ``_config.yml`` (``sphinx.local_extensions``). It does four things (and works around two console errors of the theme stack, below):

1. **Math without internet.** MathJax 3 (``tex-chtml-full.js`` and its CHTML web fonts) is
   copied into ``<html>/_static/mathjax/`` from an installed Python package, so the pages
   never load MathJax from a CDN. ``mathjax_path`` in ``_config.yml`` must point at that
   copy. Source of the files: the PyPI package ``sphinx-mathjax-offline`` (MathJax 3.2.2,
   Apache-2.0, licence in ``_static/licenses/MathJax-LICENSE.txt``); only the two pieces the
   pages need are copied (about 1.7 MB), not the whole tree.
2. **Chinese search.** Sphinx splits Chinese text into words with ``jieba``. Its general
   dictionary cuts book terms apart (``卷积核`` becomes ``卷积`` + ``核``), and the search page
   does not split the reader's query, so a search for ``卷积核`` would find nothing. The
   Chinese terms of ``glossary.md`` are therefore given to jieba as a user dictionary.
3. **Widgets without a kernel.** ipywidgets views in notebook outputs need a live kernel to
   do anything; their embedding JavaScript comes from a CDN. Each widget view is replaced by a
   one-line note that points to the animation on the page and to the launch buttons, and
   the saved widget state (which would only be dead weight) is left out of the page.
4. **Animations without a CDN.** ``Animation.to_jshtml()`` output links Font Awesome 4 from
   a CDN for its button icons. The link is removed; the theme ships Font Awesome locally and
   draws the same ``fa fa-play`` icons.
"""
from __future__ import annotations

import logging as _stdlib_logging
import os
import re
import shutil
from importlib import metadata
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

#: Where the MathJax copy goes, relative to the HTML output folder.
MATHJAX_DIR = "_static/mathjax"
#: The one MathJax file the pages load (TeX input with every extension, CHTML output).
MATHJAX_BUNDLE = "tex-chtml-full.js"
#: Fonts of the CHTML output; MathJax finds them relative to the bundle's folder.
MATHJAX_FONTS = "output/chtml/fonts/woff-v2"
#: The installed distribution that holds the MathJax files, and their folder inside it.
MATHJAX_DIST = "sphinx-mathjax-offline"
MATHJAX_DIST_DIR = "sphinx-mathjax-offline/static/mathjax"

WIDGET_VIEW = '<script type="application/vnd.jupyter.widget-view+json">'
#: Shown in place of every ipywidgets view in the static HTML.
WIDGET_NOTE_HTML = (
    '<div class="cnn-widget-note" role="note"><p>'
    "这里是一个交互控件 (widget)，需要运行中的 Python 内核才能使用："
    '点页面顶部的火箭按钮 <i class="fas fa-rocket"></i>，在 Colab、Binder 或 Live Code 中运行本页；'
    "静态页面里，上方的动画演示了同样的内容。"
    "</p></div>"
)
# Font Awesome 4 from a CDN, as written by matplotlib's Animation.to_jshtml().
_CDN_FONT_AWESOME = re.compile(
    r'<link\s+rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*\.css"\s*/?>\s*', re.I
)
# A Chinese term in the first column of a glossary table row: | 卷积核 | ...
_GLOSSARY_ROW = re.compile(r"^\|\s*([^|]*?)\s*\|")
_CJK = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------------------------------------
# MathJax
def mathjax_source() -> Path:
    """Folder of the installed MathJax 3 files (``tex-chtml-full.js`` and ``output/...``).

    Raises ``ExtensionError`` naming the package to install when it is missing.
    """
    try:
        dist = metadata.distribution(MATHJAX_DIST)
    except metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        folder = Path(dist.locate_file(MATHJAX_DIST_DIR))
        if (folder / MATHJAX_BUNDLE).is_file() and (folder / MATHJAX_FONTS).is_dir():
            return folder
    raise ExtensionError(
        f"cnn_book_html: the offline MathJax copy was not found (Python package {MATHJAX_DIST!r} "
        f"with {MATHJAX_BUNDLE} and {MATHJAX_FONTS}). Install the book's requirements: "
        "`pip install -r requirements.txt` (or `make setup`)."
    )


def copy_mathjax(outdir: Path) -> Path:
    """Copy the MathJax bundle and its fonts into ``outdir/_static/mathjax``; return the bundle."""
    src = mathjax_source()
    dest = Path(outdir) / MATHJAX_DIR
    (dest / MATHJAX_FONTS).mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / MATHJAX_BUNDLE, dest / MATHJAX_BUNDLE)
    shutil.copytree(src / MATHJAX_FONTS, dest / MATHJAX_FONTS, dirs_exist_ok=True)
    return dest / MATHJAX_BUNDLE


def _check_mathjax_config(app: Sphinx, config) -> None:
    path = config.mathjax_path or ""
    if path.startswith(("http://", "https://", "//")):
        raise ExtensionError(
            f"cnn_book_html: mathjax_path is {path!r}, a CDN: the book must render math offline. "
            f"Set `mathjax_path: mathjax/{MATHJAX_BUNDLE}` under sphinx.config in _config.yml."
        )
    mathjax_source()  # fail early, before hours of notebook execution, if it is missing


def _copy_mathjax_on_finish(app: Sphinx, exception) -> None:
    # Copied even when the build failed: a --keep-going build still wrote its pages.
    if app.builder.format == "html" and Path(app.outdir).is_dir():
        copy_mathjax(Path(app.outdir))


# ---------------------------------------------------------------------------------------------
# Chinese search
def glossary_terms(glossary: Path) -> list[str]:
    """Chinese terms from the first column of the tables in ``glossary.md``.

    A cell may hold variants separated by ``/`` or ``、`` (``步幅 / 步长``); text in
    parentheses is dropped. Returns the terms in file order, without duplicates.
    """
    terms: list[str] = []
    lines = [line.strip() for line in Path(glossary).read_text(encoding="utf8").splitlines()]
    for i, line in enumerate(lines):
        match = _GLOSSARY_ROW.match(line)
        if not match or set(match.group(1)) <= set("-: "):
            continue
        if i + 1 < len(lines) and re.fullmatch(r"\|[\s|:-]+\|", lines[i + 1]):
            continue  # the header row of a table
        cell = re.sub(r"[（(][^)）]*[)）]", "", match.group(1)).replace("*", "")
        for term in re.split(r"[/、,，]", cell):
            term = term.strip()
            if term and _CJK.search(term) and term not in terms:
                terms.append(term)
    return terms


def _set_search_dictionary(app: Sphinx, config) -> None:
    language = (config.html_search_language or config.language or "").lower()
    if not language.startswith("zh"):
        return
    try:
        import jieba
    except ImportError as exc:
        raise ExtensionError(
            "cnn_book_html: Chinese search needs the `jieba` package (without it Sphinx indexes "
            "no Chinese words at all): `pip install -r requirements.txt`."
        ) from exc
    jieba.setLogLevel(_stdlib_logging.WARNING)
    glossary = Path(app.srcdir) / "glossary.md"
    if not glossary.is_file():
        LOGGER.warning("cnn_book_html: %s not found; search uses jieba's dictionary only", glossary)
        return
    terms = glossary_terms(glossary)
    user_dict = Path(app.doctreedir).parent / "cnn_book_search_terms.txt"
    user_dict.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{t}\n" for t in terms)
    if not user_dict.is_file() or user_dict.read_text(encoding="utf8") != text:
        user_dict.write_text(text, encoding="utf8")
    options = dict(config.html_search_options or {})
    options["dict"] = str(user_dict)
    config.html_search_options = options


# ---------------------------------------------------------------------------------------------
# Notebook outputs: widgets and animations
def _rewrite_outputs(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for node in list(doctree.findall(nodes.raw)):
        if "html" not in node.get("format", "").split():
            continue
        text = node.astext()
        if text.startswith(WIDGET_VIEW):
            node.replace_self(nodes.raw("", WIDGET_NOTE_HTML, format="html"))
        elif "font-awesome" in text:
            new = _CDN_FONT_AWESOME.sub("", text)
            if new != text:
                node.replace_self(nodes.raw("", new, format="html"))


def _drop_widget_state(app: Sphinx, pagename, templatename, context, doctree) -> None:
    # myst-nb would embed the saved widget state and the CDN scripts of the widget manager.
    nb_metadata = getattr(app.env, "nb_metadata", None)
    if nb_metadata and pagename in nb_metadata:
        js_files = nb_metadata[pagename].get("js_files", {})
        for key in [k for k in js_files if k == "ipywidgets_state" or k.startswith("ipywidgets_")]:
            js_files.pop(key)


# ---------------------------------------------------------------------------------------------
# Console errors of the theme stack on a reader's first visit
def _set_default_mode(app: Sphinx, config) -> None:
    # pydata-sphinx-theme reads the colour mode from localStorage and falls back to the
    # `default_mode` of html_context, empty unless set: a first-time reader then gets the console
    # error "Got invalid theme mode". Light suits the white-background figures; readers can
    # still switch.
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "light")
    config.html_context = context


def _dedupe_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    # sphinx-thebe registers its inline `const THEBE_JS_URL = ...` script in a way that Sphinx
    # includes twice; the second copy throws "Identifier 'THEBE_JS_URL' has already been
    # declared" on every page. Keep the first of scripts that differ only in priority.
    files = context.get("script_files")
    if not isinstance(files, list):
        return
    seen, unique = set(), []
    for js in files:
        attributes = getattr(js, "attributes", {}) or {}
        key = (str(getattr(js, "filename", js) or ""),  # None and "" both mean inline
               tuple(sorted((k, str(v)) for k, v in attributes.items() if k != "priority")))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    files[:] = unique


def setup(app: Sphinx) -> dict:
    # The notebooks are executed by kernels started from this process, so they inherit this:
    # book_utils.train then prints one line per epoch instead of drawing progress-bar widgets
    # (which a static page cannot animate, and which would otherwise become widget notes).
    os.environ.setdefault("CNN_BOOK_STATIC", "1")
    app.connect("config-inited", _check_mathjax_config)
    app.connect("config-inited", _set_search_dictionary)
    app.connect("doctree-resolved", _rewrite_outputs)
    # Before myst-nb's own html-page-context handler (priority 500) adds the widget scripts.
    app.connect("html-page-context", _drop_widget_state, priority=100)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("config-inited", _set_default_mode)
    app.connect("build-finished", _copy_mathjax_on_finish)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
