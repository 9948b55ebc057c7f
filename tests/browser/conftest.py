"""Real-browser tests of the built book: fixtures and the opt-in switch.

These tests open the HTML from ``make book`` in headless Chromium (Debian's ``chromium``,
driven by Playwright for Python). They are *not* part of ``make test``: pytest collects them
only when ``CNN_BOOK_BROWSER=1`` is set or when this folder (or a file in it) is named on the
command line, e.g. ``pytest tests/browser`` or ``make browser-test``.

Environment variables:

``CNN_BOOK_HTML``      the built HTML folder (default ``_build/html`` of the book).
``CNN_BOOK_SRC``       the book's source folder with ``_config.yml`` and ``_toc.yml``
                       (default: the repository root).
``CNN_BOOK_CHROMIUM``  the Chromium binary (default ``/usr/bin/chromium``).
``CNN_BOOK_SHOTS``     where full-page screenshots go (default ``_build/browser-screenshots``
                       beside the HTML folder): ``<page>.png`` from the page tests and
                       ``<page>@1280.png`` / ``<page>@390.png`` from the layout tests.

To test a build made elsewhere (e.g. ``jupyter-book build . --path-output /tmp/b``)::

    CNN_BOOK_HTML=/tmp/b/_build/html .venv/bin/python -m pytest tests/browser

and for a plain list of what is clipped or raw, page by page (no pytest)::

    .venv/bin/python -m tests.browser.layout_report /tmp/b/_build/html
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .pages import BookSite, Inspector

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

#: Launch flags for this closed network: without the networking ones, Chromium's own
#: background connections are refused and logged; no sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_tests_requested(config) -> bool:
    if os.environ.get("CNN_BOOK_BROWSER") == "1":
        return True
    start = Path(config.invocation_params.dir)
    for arg in config.args:
        path = (start / str(arg).split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    """Keep ``pytest tests`` (``make test``) free of browser tests."""
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        if not _browser_tests_requested(config):
            return True
    return None


@pytest.fixture(scope="session")
def site() -> BookSite:
    """The book's sources and its build; stops the run with a clear message if no build."""
    src = Path(os.environ.get("CNN_BOOK_SRC") or REPO).resolve()
    html = Path(os.environ.get("CNN_BOOK_HTML") or src / "_build" / "html").resolve()
    if not (html / "index.html").is_file():
        pytest.exit(
            f"No built book at {html} (index.html is missing). The browser tests read the HTML "
            "that `make book` writes: run `make book` first (or set CNN_BOOK_HTML to a built "
            "book's html folder).",
            returncode=1,
        )
    shots = Path(os.environ.get("CNN_BOOK_SHOTS") or html.parent / "browser-screenshots")
    if shots.exists():
        shutil.rmtree(shots)
    shots.mkdir(parents=True)
    return BookSite(src=src, html=html, shots=shots)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium, launched once per test session."""
    executable = os.environ.get("CNN_BOOK_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).is_file():
        pytest.exit(
            f"Chromium not found at {executable}: install it with `make browser` (Debian package "
            "`chromium`) or set CNN_BOOK_CHROMIUM. Playwright's own browser download is not used.",
            returncode=1,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def inspector(site, browser) -> Inspector:
    """Opens each page once and remembers what a reader would see there."""
    return Inspector(site, browser)


class LayoutInspector:
    """Opens each page once per viewport (desktop 1280 px, phone 390 px) for the layout checks.

    Screenshots: ``<shots>/<page>@1280.png`` and ``<page>@390.png`` (full page, as loaded).
    """

    def __init__(self, site: BookSite, browser):
        self.site = site
        self.browser = browser
        self._reports = {}

    def report(self, docname: str, viewport: str):
        from .layout import VIEWPORTS, inspect_layout

        key = (docname, viewport)
        if key not in self._reports:
            shot = self.site.shots / f"{docname.replace('/', '__')}@{VIEWPORTS[viewport][0]}.png"
            self._reports[key] = inspect_layout(self.browser, self.site.url(docname), docname, viewport, shot)
        return self._reports[key]


@pytest.fixture(scope="session")
def layout(site, browser) -> LayoutInspector:
    """Layout reports (what is clipped or raw) per page and viewport; see ``layout.py``."""
    return LayoutInspector(site, browser)
