"""Layout checks of the built book in Chromium: what a reader finds clipped, raw or out of place.

Shared by the browser suite (``test_layout.py``) and the stand-alone report
(``python -m tests.browser.layout_report``). Each check returns :class:`Offender` records that
name the page, the viewport width, the element (code cell number, section heading, the
offending line or formula) and by how much it misses, so that a page's owner can find it.

Checks, per page and viewport:

``raw_math``       TeX left as text outside code and rendered math (a ``$`` or ``\\frac``
                   that MyST did not parse), e.g. a ``$$`` block inside a list item.
``wide_equation``  a display equation wider than its column (clipped or scrolled).
``wide_block``     a code or output block (``pre``, an HTML output) whose content is wider
                   than its box (the reader must scroll sideways or loses the right end).
``wide_table``     a table wider than its column.
``machine_path``   an absolute path of the machine that built the book (``/tmp/...``,
                   ``/root/...``, ``/home/...``, ``/work/...``) anywhere in the page text,
                   folded cells included.
``bold_glue``      a glued value (``{glue:text}``) drawn bolder than the sentence around it.
``page_overflow``  (phone) prose, a heading or an image that reaches past the right edge of
                   the text column (cut at the screen's edge, or pushing the page sideways);
                   code blocks, tables and equations scroll in their own boxes and are not
                   counted here.
``sidebar``        on a phone, tapping the menu button does not show the navigation sidebar,
                   or tapping the contents button does not show the page's contents; on a
                   desktop, clicking the menu button does not fold the sidebar (and back).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

#: Viewports of the checks: a desktop window and a phone (iPhone 12-15 size, CSS pixels).
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}
#: Checks that apply at each viewport. Code/output/table widths are a desktop promise (on a
#: phone, 80-column code scrolls sideways by design); equations must fit at both widths.
CHECKS = {
    "desktop": ("raw_math", "wide_equation", "wide_block", "wide_table", "machine_path", "bold_glue",
                "sidebar"),
    "phone": ("raw_math", "wide_equation", "sidebar", "page_overflow"),
}
#: Overflow below this many CSS pixels is rounding, not clipping.
TOLERANCE_PX = 2

#: An absolute path of a build machine, as it would appear in printed output.
MACHINE_PATH = re.compile(r"(?<![\w.~/:-])/(?:tmp|root|home|work|Users|mnt|var/folders)/[^\s'\"<>)\],;]*")


@dataclass(frozen=True)
class Offender:
    """One thing a reader sees wrong: which page, at which width, which check, where, what."""

    page: str
    viewport: str
    check: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page} @{VIEWPORTS[self.viewport][0]}px [{self.check}] {self.where}: {self.detail}"


@dataclass
class LayoutReport:
    """Everything :func:`inspect_layout` found on one page at one viewport."""

    page: str
    viewport: str
    offenders: list[Offender] = field(default_factory=list)
    screenshot: object = None
    n_equations: int = 0
    n_blocks: int = 0
    n_tables: int = 0
    code_column_chars: float = 0.0

    def of(self, check: str) -> list[Offender]:
        return [o for o in self.offenders if o.check == check]


# Runs in the page after MathJax has finished; folded cells are opened first so that their
# code is measured as a reader who unfolds it would see it.
_LAYOUT_JS = r"""
(tolerance) => {
  const article = document.querySelector('article.bd-article') || document.body;
  const clip = (s, n) => (s || '').replace(/\s+/g, ' ').trim().slice(0, n || 90);
  const cols = (s) => [...s].reduce((n, ch) => n + (/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1), 0);
  const cells = [...article.querySelectorAll('div.cell')];
  const heading = (el) => {
    let sec = el.closest('section');
    while (sec) {
      const h = sec.querySelector(':scope > h1, :scope > h2, :scope > h3, :scope > h4');
      if (h) return clip(h.textContent.replace(/#\s*$/, ''), 30);
      sec = sec.parentElement && sec.parentElement.closest('section');
    }
    return '';
  };
  const where = (el) => {
    const cell = el.closest('div.cell');
    const sec = heading(el);
    let w = '';
    if (cell) {
      const part = el.closest('.cell_output') ? 'output' : 'input';
      w = `code cell ${cells.indexOf(cell) + 1}/${cells.length} ${part}`;
    } else {
      w = el.tagName.toLowerCase() + ' in prose';
    }
    return sec ? `${w}, section "${sec}"` : w;
  };
  const out = {raw_math: [], wide_equation: [], wide_block: [], wide_table: [], machine_path: [], bold_glue: [],
               page_overflow: []};

  // --- Anything in the flow of the page past the right edge of the window -----------------
  const scrolls = (el) => {
    for (let e = el.parentElement; e && e !== article; e = e.parentElement) {
      const ox = getComputedStyle(e).overflowX;
      if (ox === 'auto' || ox === 'scroll' || ox === 'hidden' || ox === 'clip') return true;
    }
    return false;
  };
  const artBox = article.getBoundingClientRect();
  const edge = Math.min(document.documentElement.clientWidth,
                        artBox.right - parseFloat(getComputedStyle(article).paddingRight || 0));
  article.querySelectorAll('h1, h2, h3, h4, p, li, dt, dd, img, figure, blockquote, .admonition').forEach(el => {
    if (el.closest('pre, table, mjx-container, .highlight') || scrolls(el)) return;
    const r = el.getBoundingClientRect();
    const right = r.left + Math.max(r.width, el.scrollWidth || 0);   // content spilling out of its box
    if (r.width && right > edge + tolerance) {
      out.page_overflow.push({where: where(el), detail:
        `${el.tagName.toLowerCase()} ends at ${Math.round(right)} px, column ends at ${Math.round(edge)} px: ${clip(el.innerText || el.getAttribute('src'), 60)}`});
    }
  });

  // --- TeX left as text -----------------------------------------------------------------
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .math, .MathJax';
  const texRe = /\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\frac\{|\\sum_|\\mathrm\{|\\partial|\\delta/;
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const p = n.parentElement;
    if (!p || p.closest(skip)) continue;
    const t = n.textContent;
    const m = texRe.exec(t);
    if (m) {
      const block = p.closest('p, li, td, dd, dt, div') || p;
      out.raw_math.push({where: where(p), detail: clip(t.slice(Math.max(0, m.index - 30)), 100) ||
                         clip(block.textContent, 100)});
    }
  }

  // --- Display equations wider than their column ------------------------------------------
  const texOf = new Map();
  try {
    for (const item of MathJax.startup.document.math) {
      if (item.typesetRoot) texOf.set(item.typesetRoot, item.math);
    }
  } catch (e) { /* no MathJax: the math test reports that */ }
  const equations = [...article.querySelectorAll('mjx-container[display="true"]')];
  equations.forEach(c => {
    if (!c.offsetParent && c.getClientRects().length === 0) return;
    const math = c.querySelector(':scope > mjx-math') || c.firstElementChild || c;
    const box = c.closest('div.math, .math, .MathJax_Display') || c.parentElement;
    const need = Math.max(math.getBoundingClientRect().width, c.scrollWidth);
    const have = Math.min(box.clientWidth || box.getBoundingClientRect().width, article.clientWidth);
    if (need > have + tolerance) {
      out.wide_equation.push({where: where(c), detail:
        `${Math.round(need)} px in a ${Math.round(have)} px column: ${clip(texOf.get(c) || c.textContent, 90)}`});
    }
  });

  // --- Code and output blocks -------------------------------------------------------------
  const blocks = [...article.querySelectorAll('pre')];
  blocks.forEach(pre => {
    if (pre.clientWidth === 0) return;
    const over = pre.scrollWidth - pre.clientWidth;
    if (over > tolerance) {
      const lines = pre.textContent.split('\n');
      let widest = '';
      lines.forEach(l => { if (cols(l) > cols(widest)) widest = l; });
      out.wide_block.push({where: where(pre), detail:
        `${over} px too wide; widest line ${cols(widest)} columns: ${clip(widest, 70)}`});
    }
  });
  // HTML outputs (DataFrames, rich reprs) that overflow their output area
  article.querySelectorAll('.cell_output .output.text_html').forEach(o => {
    const over = o.scrollWidth - o.clientWidth;
    if (o.clientWidth && over > tolerance) {
      out.wide_block.push({where: where(o), detail: `HTML output ${over} px too wide`});
    }
  });

  // --- Tables -----------------------------------------------------------------------------
  const tables = [...article.querySelectorAll('table')].filter(t => !t.closest('pre, .highlight'));
  tables.forEach(t => {
    const box = t.closest('.pst-scrollable-table-container, .table-wrapper, .output') || t.parentElement;
    const need = Math.max(t.scrollWidth, t.getBoundingClientRect().width);
    const have = Math.min(box.clientWidth, article.clientWidth);
    if (have && need > have + tolerance) {
      const head = t.querySelector('tr');
      out.wide_table.push({where: where(t), detail:
        `${Math.round(need)} px in a ${Math.round(have)} px column; first row: ${clip(head && head.innerText, 60)}`});
    }
  });

  // --- Paths of the build machine ---------------------------------------------------------
  const pathRe = new RegExp(__PATH_RE__, 'g');
  const all = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = all.nextNode(); n; n = all.nextNode()) {
    const p = n.parentElement;
    if (!p || p.closest('script, style')) continue;
    const found = n.textContent.match(pathRe);
    if (found) found.forEach(f => out.machine_path.push({where: where(p), detail: clip(f, 90)}));
  }

  // --- Glued values bolder than their sentence -------------------------------------------
  article.querySelectorAll('.pasted-text, .pasted-inline').forEach(g => {
    const own = Number(getComputedStyle(g).fontWeight);
    const around = Number(getComputedStyle(g.parentElement).fontWeight);
    if (own >= 600 && around < 600) {
      out.bold_glue.push({where: where(g), detail: `"${clip(g.textContent, 40)}" weight ${own}, text ${around}`});
    }
  });

  // How many 80-column lines fit a code block (for the record)
  const probePre = article.querySelector('div.highlight pre') || article.querySelector('pre');
  let perLine = 0;
  if (probePre) {
    const s = document.createElement('span');
    s.textContent = 'x'.repeat(100);
    probePre.appendChild(s);
    const charW = s.getBoundingClientRect().width / 100;
    s.remove();
    const cs = getComputedStyle(probePre);
    const inner = probePre.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    perLine = charW ? inner / charW : 0;
  }
  out.counts = {equations: equations.length, blocks: blocks.length, tables: tables.length,
                code_column_chars: perLine};
  return out;
}
""".replace("__PATH_RE__", json.dumps(MACHINE_PATH.pattern))

# Tap the visible menu (primary) or contents (secondary) button; report what appeared.
_TAP_SIDEBAR_JS = r"""
async (which) => {
  const sel = which === 'primary' ? '.primary-toggle' : '.secondary-toggle';
  const dialogId = which === 'primary' ? 'pst-primary-sidebar-modal' : 'pst-secondary-sidebar-modal';
  const visible = [...document.querySelectorAll(sel)].filter(b => b.offsetParent !== null &&
                    b.getBoundingClientRect().width > 0);
  if (!visible.length) return {button: false};
  return {button: true, label: (visible[0].getAttribute('aria-label') || visible[0].title || '').trim(),
          dialog: dialogId};
}
"""

_SIDEBAR_SHOWN_JS = r"""
(dialogId) => {
  const d = document.getElementById(dialogId);
  if (!d) return {open: false, links: 0, why: 'no ' + dialogId};
  const r = d.getBoundingClientRect();
  const links = [...d.querySelectorAll('a')].filter(a => {
    const b = a.getBoundingClientRect();
    return a.offsetParent !== null && b.width > 0 && b.height > 0 && b.right > 0 && b.left < window.innerWidth;
  }).length;
  return {open: !!d.open, links: links, width: Math.round(r.width)};
}
"""


def load_page(page, url: str) -> None:
    """Open ``url``, load every image, wait for MathJax to finish typesetting."""
    page.goto(url, wait_until="load")
    page.evaluate(
        """async () => {
          const imgs = [...document.images];
          imgs.forEach(i => { i.loading = 'eager'; });
          await Promise.all(imgs.map(i => i.complete ? null :
              new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
          if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
            await MathJax.startup.promise;
          }
        }"""
    )
    page.wait_for_timeout(300)


def measure(page, docname: str, viewport: str) -> LayoutReport:
    """Run the layout checks of ``viewport`` on a loaded page (see :func:`load_page`).

    Opens every folded cell first (``<details>``), as a reader who unfolds it would see it.
    """
    page.evaluate("() => document.querySelectorAll('article details').forEach(d => { d.open = true; })")
    page.wait_for_timeout(100)
    found = page.evaluate(_LAYOUT_JS, TOLERANCE_PX)
    counts = found.pop("counts")
    report = LayoutReport(docname, viewport, n_equations=counts["equations"], n_blocks=counts["blocks"],
                          n_tables=counts["tables"], code_column_chars=counts["code_column_chars"])
    for check in CHECKS[viewport]:
        for item in found.get(check, []):
            report.offenders.append(Offender(docname, viewport, check, item["where"], item["detail"]))
    return report


def fold_sidebar(page, docname: str, viewport: str) -> list[Offender]:
    """Desktop: the visible ☰ button folds the navigation sidebar, a second click unfolds it."""
    state = ("() => { const s = document.getElementById('pst-primary-sidebar');"
             " if (!s) return 'missing'; const r = s.getBoundingClientRect();"
             " const gone = s.classList.contains('pst-sidebar-hidden') || !s.offsetParent ||"
             " r.right <= 0 || r.width === 0 || getComputedStyle(s).visibility === 'hidden';"
             " return gone ? 'folded' : 'shown'; }")
    buttons = page.locator(".primary-toggle").locator("visible=true")
    if buttons.count() == 0:
        return [Offender(docname, viewport, "sidebar", "menu button", "no visible ☰ button")]
    states = [page.evaluate(state)]
    for _ in range(2):
        buttons.first.click()
        page.wait_for_timeout(300)
        states.append(page.evaluate(state))
    if states != ["shown", "folded", "shown"]:
        return [Offender(docname, viewport, "sidebar", "menu (☰) button",
                         f"sidebar before / after a click / after a second click: {' / '.join(states)}")]
    return []


def tap_sidebars(page, docname: str, viewport: str) -> list[Offender]:
    """Tap the menu and the contents buttons as a phone reader would; offenders if nothing shows.

    The menu button (primary sidebar) must exist on every page; the contents button only on
    pages that have an in-page table of contents. After each tap the dialog must be open and
    show at least one link; Escape closes it again.
    """
    problems = []
    for which in ("primary", "secondary"):
        info = page.evaluate(_TAP_SIDEBAR_JS, which)
        if not info["button"]:
            if which == "primary":
                problems.append(Offender(docname, viewport, "sidebar", "menu button", "no visible ☰ button"))
            continue
        sel = ".primary-toggle" if which == "primary" else ".secondary-toggle"
        button = page.locator(sel).locator("visible=true").first
        button.tap() if _has_touch(page) else button.click()
        page.wait_for_timeout(400)
        shown = page.evaluate(_SIDEBAR_SHOWN_JS, info["dialog"])
        name = "menu (☰) button" if which == "primary" else "contents button"
        if not (shown["open"] and shown["links"] > 0):
            problems.append(Offender(docname, viewport, "sidebar", name,
                                     f"tapped {info['label']!r}: dialog open={shown['open']}, "
                                     f"visible links={shown['links']}"))
        page.keyboard.press("Escape")
        page.wait_for_timeout(200)
    return problems


def _has_touch(page) -> bool:
    return bool(page.evaluate("() => 'ontouchstart' in window || navigator.maxTouchPoints > 0"))


def inspect_layout(browser, url: str, docname: str, viewport: str, screenshot=None) -> LayoutReport:
    """Open ``url`` at ``viewport`` in a fresh context, screenshot it, run every check.

    ``browser`` is a Playwright ``Browser``; the context has no network beyond local files.
    """
    width, height = VIEWPORTS[viewport]
    phone = viewport == "phone"
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  is_mobile=phone, has_touch=phone,
                                  device_scale_factor=1)
    context.route(re.compile(r"^(https?|wss?)://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    page = context.new_page()
    try:
        load_page(page, url)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        sidebar = []
        if "sidebar" in CHECKS[viewport]:
            sidebar = (tap_sidebars if phone else fold_sidebar)(page, docname, viewport)
        report = measure(page, docname, viewport)
        report.offenders.extend(sidebar)
        report.screenshot = screenshot
    finally:
        context.close()
    return report
