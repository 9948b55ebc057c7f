"""Every page fits the screen: at 1280x900 (desktop) and at 390x844 (phone).

The checks themselves live in :mod:`layout` (shared with ``python -m tests.browser.layout_report``,
which prints the same findings for a whole build). Each failure names the page, the width, the
element (code cell number and section heading) and what is wrong, for the page's owner:

* the navigation sidebar opens on a phone (☰ and contents buttons) and folds on a desktop;
* no TeX left as text (``$...$`` that MyST did not parse);
* on a phone, no heading or paragraph runs past the column;
* no display equation wider than its column, at both widths;
* at 1280 px, no code or output block and no table whose content is wider than its box, and a
  code block holds at least 80 monospace columns;
* no absolute path of the build machine (``/tmp``, ``/root``, ``/home``, ``/work``) in a page;
* glued values are not bolder than their sentence;
* a full-page screenshot per page and width (``<page>@1280.png``, ``<page>@390.png``).
"""
from __future__ import annotations

import pytest

from .layout import CHECKS, VIEWPORTS
from .test_pages import DOCNAMES

BOTH = pytest.mark.parametrize("viewport", list(VIEWPORTS))
DESKTOP = pytest.mark.parametrize("viewport", ["desktop"])
page_param = pytest.mark.parametrize("docname", DOCNAMES)


def _assert_none(layout, docname, viewport, check, what):
    assert check in CHECKS[viewport]
    found = layout.report(docname, viewport).of(check)
    listing = "\n  ".join(str(o) for o in found)
    assert not found, f"{docname} at {VIEWPORTS[viewport][0]} px: {len(found)} {what}:\n  {listing}"


@BOTH
@page_param
def test_sidebar_opens(layout, docname, viewport):
    """Phone: tapping ☰ shows the page list, tapping the contents button the page's sections.
    Desktop: clicking ☰ folds the sidebar and a second click brings it back."""
    _assert_none(layout, docname, viewport, "sidebar", "sidebar button(s) that do nothing")


@BOTH
@page_param
def test_no_raw_math(layout, docname, viewport):
    _assert_none(layout, docname, viewport, "raw_math", "pieces of TeX shown as text")


@BOTH
@page_param
def test_equations_fit_the_column(layout, docname, viewport):
    _assert_none(layout, docname, viewport, "wide_equation",
                 "display equation(s) wider than the column (break them with aligned/split)")


@pytest.mark.parametrize("viewport", ["phone"])
@page_param
def test_prose_stays_in_the_column_on_a_phone(layout, docname, viewport):
    _assert_none(layout, docname, viewport, "page_overflow",
                 "heading(s)/paragraph(s) past the right edge of the column")


@DESKTOP
@page_param
def test_code_and_outputs_fit(layout, docname, viewport):
    _assert_none(layout, docname, viewport, "wide_block",
                 "code/output block(s) wider than their box (keep lines to 80 columns)")


@DESKTOP
@page_param
def test_tables_fit(layout, docname, viewport):
    _assert_none(layout, docname, viewport, "wide_table", "table(s) wider than the column")


@DESKTOP
@page_param
def test_no_machine_paths(layout, docname, viewport):
    _assert_none(layout, docname, viewport, "machine_path",
                 "absolute path(s) of the build machine (print them relative to the data or cache folder)")


@DESKTOP
@page_param
def test_glued_text_not_bold(layout, docname, viewport):
    _assert_none(layout, docname, viewport, "bold_glue", "glued value(s) bolder than their sentence")


def test_code_blocks_hold_80_columns(layout):
    measured = [layout.report(d, "desktop") for d in DOCNAMES]
    measured = [r for r in measured if r.code_column_chars]
    assert measured, "no page has a code block to measure"
    report = min(measured, key=lambda r: r.code_column_chars)
    assert report.code_column_chars >= 80, (
        f"a code block at 1280 px holds only {report.code_column_chars:.1f} monospace columns; "
        "see the pre rule in _static/cnn-book.css"
    )


@BOTH
def test_layout_screenshots_saved(layout, site, viewport):
    for docname in site.docnames:
        shot = layout.report(docname, viewport).screenshot
        assert shot is not None and shot.is_file() and shot.stat().st_size > 5_000, (
            f"{docname}: no {VIEWPORTS[viewport][0]}-px screenshot at {shot}"
        )
