"""Print what is clipped, raw or out of place on each page of a built book, per viewport.

Usage (from the repository root, with the build environment)::

    .venv/bin/python -m tests.browser.layout_report _build/html
    .venv/bin/python -m tests.browser.layout_report /tmp/build/_build/html --viewport phone \\
        --page chapters/04_backprop --shots /tmp/shots --json /tmp/layout.json

It opens every page of ``_toc.yml`` (or the pages given with ``--page``) in headless Chromium
at 1280x900 and 390x844, runs the checks of :mod:`tests.browser.layout`, prints the offenders
page by page and a table of counts (check x viewport), and exits with status 1 when anything
was found. The browser suite (``test_layout.py``) runs the same checks as tests.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

import yaml

from .layout import CHECKS, VIEWPORTS, inspect_layout
from .pages import toc_docnames

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _pages(html: Path, src: Path, wanted: list[str]) -> list[str]:
    if wanted:
        return [w[:-5] if w.endswith(".html") else w for w in wanted]
    toc = src / "_toc.yml"
    if toc.is_file():
        return toc_docnames(yaml.safe_load(toc.read_text(encoding="utf8")))
    return sorted(str(p.relative_to(html).with_suffix("")) for p in html.rglob("*.html")
                  if p.name not in ("genindex.html", "search.html") and "_static" not in p.parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", type=Path, help="the built HTML folder (holds index.html)")
    parser.add_argument("--src", type=Path, default=Path(os.environ.get("CNN_BOOK_SRC") or REPO),
                        help="book sources with _toc.yml (default: this repository)")
    parser.add_argument("--viewport", choices=sorted(VIEWPORTS), action="append",
                        help="desktop (1280 px) and/or phone (390 px); default: both")
    parser.add_argument("--page", action="append", default=[],
                        help="a docname such as chapters/04_backprop (repeatable); default: all")
    parser.add_argument("--shots", type=Path, help="save full-page screenshots in this folder")
    parser.add_argument("--json", type=Path, help="also write every offender to this JSON file")
    parser.add_argument("--chromium", default=os.environ.get("CNN_BOOK_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args(argv)

    html = args.html.resolve()
    if not (html / "index.html").is_file():
        parser.error(f"{html} holds no index.html: pass the html folder of a built book")
    if not Path(args.chromium).is_file():
        parser.error(f"Chromium not found at {args.chromium}: run `make browser` or pass --chromium")
    viewports = args.viewport or list(VIEWPORTS)
    pages = _pages(html, args.src, args.page)
    missing = [p for p in pages if not (html / f"{p}.html").is_file()]
    if missing:
        parser.error(f"no HTML for {missing} in {html}")
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    reports = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            for page in pages:
                for vp in viewports:
                    shot = None
                    if args.shots:
                        shot = args.shots / f"{page.replace('/', '__')}@{VIEWPORTS[vp][0]}.png"
                    reports.append(inspect_layout(browser, (html / f"{page}.html").as_uri(), page, vp, shot))
        finally:
            browser.close()

    offenders = [o for r in reports for o in r.offenders]
    for page in pages:
        mine = [o for o in offenders if o.page == page]
        print(f"== {page}: {len(mine) or 'nothing'} found")
        for o in mine:
            print(f"   @{VIEWPORTS[o.viewport][0]} [{o.check}] {o.where}: {o.detail}")
    checks = list(dict.fromkeys(c for vp in viewports for c in CHECKS[vp]))
    counts = Counter((o.check, o.viewport) for o in offenders)
    pages_hit = {(c, vp): len({o.page for o in offenders if o.check == c and o.viewport == vp})
                 for c in checks for vp in viewports}
    print()
    print(f"{'check':<15}" + "".join(f"{f'@{VIEWPORTS[vp][0]} items (pages)':>24}" for vp in viewports))
    for c in checks:
        cells = []
        for vp in viewports:
            cells.append(f"{counts[(c, vp)]} ({pages_hit[(c, vp)]})" if c in CHECKS[vp] else "-")
        print(f"{c:<15}" + "".join(f"{cell:>24}" for cell in cells))
    desk = [r for r in reports if r.viewport == "desktop" and r.code_column_chars]
    if desk:
        print(f"\ncode block at 1280 px holds {min(r.code_column_chars for r in desk):.1f} monospace "
              "characters per line")
    if args.json:
        args.json.write_text(json.dumps([o.__dict__ for o in offenders], ensure_ascii=False, indent=1),
                             encoding="utf8")
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main())
