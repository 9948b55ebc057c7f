"""The built book as a reader meets it, page by page, in headless Chromium.

Reuses the HTML of ``make book`` (``_build/html``); run with ``make browser-test`` or
``pytest tests/browser``. Every page listed in ``_toc.yml`` is opened from disk (``file://``)
with every other address blocked, as for a reader with no internet, and must show:
no JavaScript errors, every image loaded, every formula typeset by the local MathJax and no
TeX left as text, no traceback, animations whose Play button plays them, each ipywidgets
control either rendered or replaced by the note, and (on notebook pages) the launch buttons
with the right Colab/Binder targets. Full-page screenshots go to
``_build/browser-screenshots/`` (CI artefacts).
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from .pages import BookSite, PageReport, search_url, toc_docnames

_SRC = Path(os.environ.get("CNN_BOOK_SRC") or Path(__file__).resolve().parents[2])
DOCNAMES = toc_docnames(yaml.safe_load((_SRC / "_toc.yml").read_text(encoding="utf8")))
#: The page a search for 卷积核 (convolution kernel) must find.
CONVOLUTION_PAGE = "chapters/02_convolution"


def _is_chapter(docname: str) -> bool:
    return BookSite(_SRC, _SRC, _SRC).is_chapter(docname)


CHAPTERS = [d for d in DOCNAMES if _is_chapter(d)]
NOTEBOOKS = [d for d in DOCNAMES if BookSite(_SRC, _SRC, _SRC).is_notebook(d)]
page_param = pytest.mark.parametrize("docname", DOCNAMES)
chapter_param = pytest.mark.parametrize("docname", CHAPTERS)


def test_every_toc_page_is_built(site):
    missing = [d for d in site.docnames if not site.page_file(d).is_file()]
    assert not missing, f"pages in _toc.yml with no HTML in {site.html} (stale build? run `make book`): {missing}"


@page_param
def test_no_javascript_errors(inspector, docname):
    report = inspector.report(docname)
    assert not report.console_errors, f"{docname}: console errors: {report.console_errors}"
    assert not report.failed_requests, f"{docname}: local files that failed to load: {report.failed_requests}"


@page_param
def test_works_offline(inspector, docname):
    """Opening a page asks for nothing outside the build (no CDN, no web fonts, no analytics)."""
    report = inspector.report(docname)
    assert not report.external_requests, (
        f"{docname}: the page requested addresses outside the build; without internet these "
        f"fail: {sorted(set(report.external_requests))}"
    )


@page_param
def test_images_load(inspector, docname):
    report = inspector.report(docname)
    assert not report.broken_images, f"{docname}: images that did not load: {report.broken_images}"


@page_param
def test_math_rendered_by_local_mathjax(inspector, docname):
    report = inspector.report(docname)
    if report.n_math:
        assert report.mathjax_version and report.mathjax_version.startswith("3."), (
            f"{docname}: {report.n_math} formulas but MathJax did not load "
            f"(version {report.mathjax_version!r}); is _build/html/_static/mathjax/ there?"
        )
    assert not report.unrendered_math, f"{docname}: formulas left untypeset: {report.unrendered_math}"
    assert not report.math_errors, f"{docname}: MathJax errors (bad TeX): {report.math_errors}"
    assert not report.raw_tex, f"{docname}: TeX shown as plain text (e.g. an unparsed $...$): {report.raw_tex}"


@page_param
def test_no_traceback_text(inspector, docname):
    report = inspector.report(docname)
    assert not report.traceback_text, f"{docname}: traceback shown to readers: {report.traceback_text}"


@page_param
def test_no_warning_text(inspector, docname):
    report = inspector.report(docname)
    assert not report.warning_text, f"{docname}: Python warnings shown in outputs: {report.warning_text}"


@page_param
def test_widgets_rendered_or_noted(inspector, docname):
    report = inspector.report(docname)
    assert report.widget_scripts_unrendered == 0, (
        f"{docname}: {report.widget_scripts_unrendered} ipywidgets views render as blank gaps "
        "(neither drawn nor replaced by the note; is _ext/cnn_book_html.py loaded?)"
    )
    if report.widget_notes:
        assert report.animations, (
            f"{docname}: the widget note points readers to an animation, but the page has none"
        )


@page_param
def test_no_blank_outputs(inspector, docname):
    report = inspector.report(docname)
    assert not report.blank_outputs, (
        f"{docname}: output areas that show nothing (cells: {report.blank_outputs})"
    )


@page_param
def test_animations_play(inspector, docname):
    report = inspector.report(docname)
    for anim in report.animations:
        label = f"{docname}: animation #{anim['index']}"
        assert anim["img_ok"], f"{label}: first frame not shown"
        assert anim["frames"] >= 2, f"{label}: only {anim['frames']} frame(s)"
        assert anim["has_play"] and anim["has_pause"], f"{label}: no Play/Pause buttons"
        assert anim["play_icon"], f"{label}: the Play button has no icon (Font Awesome missing?)"
        assert anim["advanced"], f"{label}: clicking Play did not advance the frames"
        assert anim["pauses"], f"{label}: clicking Pause did not stop it"


def test_book_has_animations(inspector):
    counts = {d: len(inspector.report(d).animations) for d in CHAPTERS}
    assert sum(counts.values()) > 0, f"no animation anywhere in the book: {counts}"


@pytest.mark.parametrize("docname", NOTEBOOKS)
def test_launch_buttons(inspector, site, docname):
    report = inspector.report(docname)
    expected = site.expected_launch_links(docname)
    assert expected, "_config.yml sets no launch_buttons (binderhub_url / colab_url)"
    for name, url in expected.items():
        assert report.launch_links.get(name) == url, (
            f"{docname}: launch button {name} links to {report.launch_links.get(name)!r}, expected {url!r}"
        )
    if site.config["launch_buttons"].get("thebe"):
        assert report.thebe_button, f"{docname}: no Thebe 'Live Code' button"
    shown = set(report.launch_menu_visible)
    assert set(expected) <= shown, f"{docname}: launch menu opened but showed only {sorted(shown)}"


@chapter_param
def test_exercises_with_hidden_hints(inspector, docname):
    report = inspector.report(docname)
    assert report.exercise_headings, f"{docname}: no exercise section (a heading with 练习)"
    assert report.exercise_dropdowns >= 1, f"{docname}: the exercises have no dropdown hint/solution"
    assert report.dropdowns_opened >= 1, f"{docname}: clicking a hint toggle showed nothing"


@chapter_param
def test_prose_numbers_are_glued(inspector, docname):
    report = inspector.report(docname)
    assert report.glue_values, f"{docname}: no number in the prose comes from code (myst-nb glue)"
    empty = [v for v in report.glue_values if not v.strip()]
    assert not empty, f"{docname}: glue placeholders that show nothing"
    assert not report.raw_roles, f"{docname}: MyST roles shown as literal text: {report.raw_roles}"


def test_screenshots_saved(inspector, site):
    for docname in site.docnames:
        shot = inspector.report(docname).screenshot
        assert shot is not None and shot.is_file() and shot.stat().st_size > 5_000, (
            f"{docname}: no screenshot at {shot}"
        )


def test_glossary_page(inspector, site):
    assert "glossary" in site.docnames, "glossary.md is not in _toc.yml"
    report = inspector.report("glossary")
    assert report.body_text_chars > 1000


def _search(inspector, url: str):
    """Submit a query as the search box does; return the result pages and the console errors."""
    report = PageReport("search")
    context, page = inspector.new_page(report)
    try:
        page.goto(url, wait_until="load")
        # The summary line is written once the search has finished listing its results.
        page.wait_for_function(
            "() => { const s = document.querySelector('#search-results .search-summary');"
            " return !!s && s.innerText.trim().length > 0; }",
            timeout=30_000,
        )
        page.wait_for_timeout(300)  # snippets (when served over http) arrive after the list
        hrefs = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.getAttribute('href'))")
        snippets = page.eval_on_selector_all("#search-results ul.search li p.context", "els => els.length")
    finally:
        context.close()
    pages = [re.sub(r"\.html.*$", "", h or "") for h in hrefs]
    return pages, snippets, report.console_errors + report.failed_requests


@pytest.mark.parametrize("query", ["卷积核", "池化", "stride"])
def test_search_finds_chinese_terms(inspector, site, query):
    """From disk (file://), the search page lists the page that teaches the term, without errors."""
    expected = {"卷积核": CONVOLUTION_PAGE, "池化": "chapters/03_cnn_architecture",
                "stride": CONVOLUTION_PAGE}[query]
    if expected not in site.docnames:
        pytest.skip(f"{expected} is not in this book's _toc.yml")
    pages, _, errors = _search(inspector, search_url(site, query))
    assert expected in pages, f"search for {query!r} returned {pages}, not {expected}"
    assert not errors, f"search page errors: {errors}"


def test_search_over_http_shows_snippets(inspector, site):
    """Served by a web server (here one on 127.0.0.1), hits come with text snippets."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site.html))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/search.html?q=" + quote("卷积核")
        pages, snippets, errors = _search(inspector, url)
    finally:
        server.shutdown()
        server.server_close()
    assert CONVOLUTION_PAGE in pages, pages
    assert snippets >= 1, "no search snippet shown"
    assert not errors, errors
