"""Exercise solutions in the built book: collapsed until the reader clicks them (issue 24).

Every exercise is a sphinx-exercise ``{exercise}``; its worked solution follows between
``{solution-start}`` (with ``:class: dropdown``) and ``{solution-end}``, so that the code cells
in between belong to the solution (CONTRIBUTING.md, "Exercises"). In the HTML each solution is a
``div.solution.dropdown`` that sphinx-togglebutton folds. These tests open each chapter page at
1280 px and at 390 px with the network cut off and check, for every solution on the page:

* it is folded when the page loads: only its title shows, the exercise above it is open;
* its title names and links to its exercise, which carries a number;
* the code cells of the notebook between its start and end are rendered inside it;
* one click on the title unfolds it, and then its text and its code cells are visible.

Pages without solutions are skipped (so is the whole file when there is no build); run after
``make book``, or point ``CNN_BOOK_HTML`` at a build, e.g. one made with execution off.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from .layout import VIEWPORTS
from .pages import BookSite, Inspector, toc_docnames

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SRC = Path(os.environ.get("CNN_BOOK_SRC") or REPO).resolve()
CHAPTERS = [d for d in toc_docnames(yaml.safe_load((SRC / "_toc.yml").read_text(encoding="utf8")))
            if d.startswith("chapters/")]

_START = re.compile(r"```\{solution-start\}\s+(\S+)(?P<opts>.*?)```", re.S)
_LABEL = re.compile(r"^:label:\s*(\S+)", re.M)


def solution_code_cells(notebook: Path) -> dict[str, int]:
    """``solution label -> number of code cells`` between its start and end, from the notebook."""
    cells = json.loads(notebook.read_text(encoding="utf8"))["cells"]
    counts: dict[str, int] = {}
    current = None
    for cell in cells:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            start = _START.search(text)
            if start:
                label = _LABEL.search(start.group("opts"))
                current = label.group(1) if label else start.group(1)
                counts[current] = 0
            if "{solution-end}" in text:
                current = None
        elif current is not None:
            counts[current] += 1
    return counts


@pytest.fixture(scope="module")
def built_site() -> BookSite:
    html = Path(os.environ.get("CNN_BOOK_HTML") or SRC / "_build" / "html").resolve()
    if not (html / "index.html").is_file():
        pytest.skip(f"no built book at {html} (index.html is missing): run `make book` first, "
                    "or set CNN_BOOK_HTML to a built book's html folder")
    return BookSite(src=SRC, html=html, shots=html.parent / "browser-screenshots")


# Seen by a reader: laid out, not hidden (sphinx-togglebutton folds with height 0 and
# visibility hidden, so offsetParent alone is not enough), with some height.
_SEEN = r"""
  const seen = (el) => {
    if (!el || el.offsetParent === null) return false;
    const style = getComputedStyle(el);
    return style.visibility !== 'hidden' && Number(style.opacity) > 0 &&
           el.getBoundingClientRect().height > 0;
  };
"""

# Per solution, before any click: is each part shown, and where does its title link to?
_SOLUTIONS_JS = "() => {" + _SEEN + r"""
  return [...document.querySelectorAll('div.solution')].map(sol => {
    const title = sol.querySelector(':scope > .admonition-title');
    const link = title ? title.querySelector('a.reference.internal') : null;
    const target = link ? document.getElementById(link.getAttribute('href').slice(1)) : null;
    const number = target ? target.querySelector('.caption-number') : null;
    const body = [...sol.children].filter(c => c !== title);
    return {
      id: sol.id,
      dropdown: sol.classList.contains('dropdown'),
      folded: sol.classList.contains('toggle-hidden'),
      title_shown: seen(title),
      body_shown: body.filter(seen).length,
      cells: sol.querySelectorAll('.cell').length,
      link: link ? link.getAttribute('href') : null,
      target_is_exercise: !!target && target.classList.contains('exercise'),
      target_number: number ? number.textContent : '',
      target_shown: seen(target),
    };
  });
}"""

# After the click: how much of the solution a reader sees.
_SHOWN_JS = "(sol) => {" + _SEEN + r"""
  const title = sol.querySelector(':scope > .admonition-title');
  const body = [...sol.children].filter(c => c !== title);
  return {
    text: body.filter(seen).map(c => c.innerText || '').join('').trim().length,
    cells_shown: [...sol.querySelectorAll('.cell')].filter(seen).length,
  };
}"""


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("docname", CHAPTERS)
def test_solutions_fold_and_open_on_click(built_site, browser, docname, viewport):
    if not built_site.page_file(docname).is_file():
        pytest.skip(f"{docname} is not in this build")
    expected_cells = solution_code_cells(built_site.source(docname))
    if not expected_cells:
        pytest.skip(f"{docname} has no {{solution-start}} yet")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    width, height = VIEWPORTS[viewport]
    inspector = Inspector(built_site, browser, viewport=(width, height))
    context, page = inspector.new_page()
    where = f"{docname} at {width} px"
    try:
        page.goto(built_site.url(docname), wait_until="load")
        page.wait_for_function("() => [...document.querySelectorAll('div.solution')]"
                               ".every(s => s.querySelector('.toggle-button'))")
        found = page.evaluate(_SOLUTIONS_JS)
        assert sorted(s["id"] for s in found) == sorted(expected_cells), (
            f"{where}: solutions in the page differ from the notebook's solution-start labels")
        for sol in found:
            name = f"{where}, {sol['id']}"
            assert sol["dropdown"] and sol["folded"], f"{name}: not folded when the page loads"
            assert sol["title_shown"] and sol["body_shown"] == 0, f"{name}: body shown before a click"
            assert sol["target_is_exercise"] and sol["target_shown"], (
                f"{name}: title links to {sol['link']!r}, not to a visible exercise")
            assert re.search(r"\d", sol["target_number"]), f"{name}: its exercise has no number"
            assert sol["cells"] == expected_cells[sol["id"]], (
                f"{name}: {sol['cells']} code cells inside, the notebook has "
                f"{expected_cells[sol['id']]} between solution-start and solution-end")
        for sol in found:
            box = page.locator(f"div.solution#{sol['id']}")
            title = box.locator(":scope > .admonition-title")
            title.scroll_into_view_if_needed()
            title.click()
            name = f"{where}, {sol['id']}"
            try:
                page.wait_for_function("(s) => !s.classList.contains('toggle-hidden')",
                                       arg=box.element_handle(), timeout=3000)
            except PlaywrightTimeout:
                pytest.fail(f"{name}: a click on its title did not unfold it")
            # the unfolding is animated: on a loaded machine the body can still be at zero
            # height right after the class changes, so wait (up to 5 s) for it to show
            try:
                page.wait_for_function(
                    "([s, n]) => { const r = (" + _SHOWN_JS + ")(s);"
                    " return r.text > 0 && r.cells_shown === n; }",
                    arg=[box.element_handle(), sol["cells"]], timeout=5000)
            except PlaywrightTimeout:
                pass                              # the asserts below say what is missing
            shown = box.evaluate(_SHOWN_JS)
            assert shown["text"] > 0, f"{name}: opened but shows no text"
            assert shown["cells_shown"] == sol["cells"], f"{name}: code cells still hidden"
    finally:
        context.close()
