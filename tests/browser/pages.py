"""What a reader sees on each page of the built book, gathered once per page in Chromium.

:class:`BookSite` knows the book's pages (from ``_toc.yml``) and settings (``_config.yml``).
:class:`Inspector` opens a page with network access to anything but local files cut off,
waits for MathJax, plays the animations, opens the launch menu and the exercise hints, takes
a full-page screenshot, and returns a :class:`PageReport` that the tests assert on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import yaml


# ---------------------------------------------------------------------------------------------
# The book's sources
def toc_docnames(toc: dict) -> list[str]:
    """Every page of a Jupyter Book ``_toc.yml`` (root first), in reading order."""
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    walk(toc.get("sections"))
    return [re.sub(r"\.(ipynb|md)$", "", n) for n in names]


@dataclass
class BookSite:
    src: Path
    html: Path
    shots: Path

    @property
    def config(self) -> dict:
        return yaml.safe_load((self.src / "_config.yml").read_text(encoding="utf8"))

    @property
    def docnames(self) -> list[str]:
        return toc_docnames(yaml.safe_load((self.src / "_toc.yml").read_text(encoding="utf8")))

    def source(self, docname: str) -> Path:
        for suffix in (".ipynb", ".md"):
            path = self.src / f"{docname}{suffix}"
            if path.is_file():
                return path
        raise FileNotFoundError(f"{docname} in _toc.yml has no .ipynb or .md file in {self.src}")

    def is_notebook(self, docname: str) -> bool:
        return self.source(docname).suffix == ".ipynb"

    def is_chapter(self, docname: str) -> bool:
        """A chapter page: a notebook under ``chapters/`` (intro and glossary are not)."""
        return docname.startswith("chapters/") and self.is_notebook(docname)

    def page_file(self, docname: str) -> Path:
        return self.html / f"{docname}.html"

    def url(self, docname: str, query: str = "") -> str:
        url = self.page_file(docname).as_uri()
        return f"{url}?{query}" if query else url

    def expected_launch_links(self, docname: str) -> dict[str, str]:
        """The Binder and Colab addresses a notebook page must link to, from ``_config.yml``."""
        cfg = self.config
        repo = cfg["repository"]
        launch = cfg["launch_buttons"]
        org, name = repo["url"].rstrip("/").split("/")[-2:]
        branch = repo.get("branch", "main")
        rel = (repo.get("path_to_book") or "").strip("/")
        path = f"{rel + '/' if rel else ''}{docname}.ipynb"
        ui = {"classic": "tree", "jupyterlab": "lab/tree"}[launch.get("notebook_interface", "classic")]
        links = {}
        if launch.get("binderhub_url"):
            hub = launch["binderhub_url"].rstrip("/")
            links["Binder"] = f"{hub}/v2/gh/{org}/{name}/{branch}?urlpath={ui}/{path}"
        if launch.get("colab_url"):
            colab = launch["colab_url"].rstrip("/")
            links["Colab"] = f"{colab}/github/{org}/{name}/blob/{branch}/{path}"
        return links


# ---------------------------------------------------------------------------------------------
# One page as a reader meets it
@dataclass
class PageReport:
    docname: str
    screenshot: Path | None = None
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    n_images: int = 0
    mathjax_version: str | None = None
    n_math: int = 0
    unrendered_math: list[str] = field(default_factory=list)
    math_errors: list[str] = field(default_factory=list)
    raw_tex: list[str] = field(default_factory=list)
    traceback_text: list[str] = field(default_factory=list)
    warning_text: list[str] = field(default_factory=list)
    widget_scripts_unrendered: int = 0
    widget_notes: int = 0
    widgets_rendered: int = 0
    blank_outputs: list[str] = field(default_factory=list)
    animations: list[dict] = field(default_factory=list)
    launch_links: dict[str, str] = field(default_factory=dict)
    launch_menu_visible: list[str] = field(default_factory=list)
    thebe_button: bool = False
    exercise_headings: list[str] = field(default_factory=list)
    exercise_dropdowns: int = 0
    dropdowns_opened: int = 0
    glue_values: list[str] = field(default_factory=list)
    raw_roles: list[str] = field(default_factory=list)
    body_text_chars: int = 0


# Run in the page after MathJax is done: everything that needs no clicking.
_SNAPSHOT_JS = r"""
() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const textOf = (el) => (el.innerText || '').trim();
  const out = {};

  // Images (animation frames included).
  const imgs = [...document.querySelectorAll('img')];
  out.n_images = imgs.length;
  out.broken_images = imgs.filter(i => !i.complete || i.naturalWidth === 0)
                          .map(i => (i.getAttribute('src') || '').slice(0, 120));

  // Math: Sphinx wraps every formula in .math; MathJax puts an mjx-container inside.
  const maths = [...article.querySelectorAll('.math')];
  out.n_math = maths.length;
  out.unrendered_math = maths.filter(m => !m.querySelector('mjx-container'))
                             .map(m => textOf(m).slice(0, 80));
  out.math_errors = [...article.querySelectorAll('mjx-merror')]
      .map(e => (e.getAttribute('data-mjx-error') || textOf(e)).slice(0, 120));
  out.mathjax_version = (window.MathJax && typeof MathJax.version === 'string') ? MathJax.version : null;

  // TeX left as text in prose (not in code, not in rendered math).
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .math';
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const raw = [];
  const roles = [];
  const texRe = /\$[^$\s][^$]*\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\frac\{|\\sum_|\\mathrm\{/;
  // a MyST role or directive that was not parsed shows up as literal text such as {glue:text}
  const roleRe = /\{(glue|cite|ref|doc|numref|eq|math)(:[a-z]+)?\}/;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const p = n.parentElement;
    if (!p || p.closest(skip)) continue;
    const t = n.textContent;
    if (texRe.test(t)) raw.push(t.trim().slice(0, 120));
    if (roleRe.test(t)) roles.push(t.trim().slice(0, 120));
  }
  // ...or, when a role got wrapped in extra backticks, as inline code followed by stray backticks
  article.querySelectorAll('p code, li code, td code').forEach(c => {
    const t = textOf(c);
    const after = (c.nextSibling && c.nextSibling.textContent) || '';
    if (roleRe.test(t) && /^\{[a-z:]+\}$/.test(t)) roles.push(t + after.slice(0, 40));
  });
  out.raw_tex = raw;
  out.raw_roles = roles;

  // Tracebacks and warnings shown to the reader.
  const tb = [];
  article.querySelectorAll('.output.traceback, .output.error').forEach(e => tb.push(textOf(e).slice(0, 200)));
  const full = article.innerText || '';
  const tbRe = /Traceback \(most recent call last\)|-{20,}\s*\n\s*\w+(Error|Exception)\b/g;
  let m; while ((m = tbRe.exec(full)) !== null) tb.push(full.slice(m.index, m.index + 200));
  out.traceback_text = tb;
  out.warning_text = [...article.querySelectorAll('.output.stderr, .cell_output .stderr')]
      .map(textOf).filter(t => /Warning\b/.test(t)).map(t => t.slice(0, 200));

  // Widgets: the build turns each view into a note; a view left as a bare script is a blank gap.
  const views = [...article.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  out.widgets_rendered = article.querySelectorAll('.jupyter-widgets, .widget-area, .lm-Widget').length;
  out.widget_scripts_unrendered = views.filter(s => {
      const next = s.nextElementSibling;
      return !(next && next.classList && (next.classList.contains('jupyter-widgets') ||
                                           next.classList.contains('widget-area')));
  }).length;
  out.widget_notes = article.querySelectorAll('.cnn-widget-note').length;

  // Output areas that show nothing at all.
  const visual = 'img, svg, canvas, iframe, video, table, .animation, .cnn-widget-note, mjx-container, .jupyter-widgets';
  out.blank_outputs = [...article.querySelectorAll('.cell_output')]
      .filter(o => textOf(o) === '' && !o.querySelector(visual))
      .map(o => {
        const cell = o.closest('.cell');
        const code = cell ? textOf(cell.querySelector('.cell_input') || cell).slice(0, 80) : '';
        return code;
      });

  // Exercises: a section whose heading says 练习, with dropdown hints (sphinx-togglebutton).
  const heads = [...article.querySelectorAll('h1, h2, h3, h4')].filter(h => /练习/.test(textOf(h)));
  out.exercise_headings = heads.map(textOf);
  let dropdowns = 0;
  heads.forEach(h => {
    const sec = h.closest('section');
    if (sec) dropdowns += sec.querySelectorAll('.toggle, details.dropdown, details').length;
  });
  out.exercise_dropdowns = dropdowns;

  // Glue: numbers pasted into the prose from code.
  out.glue_values = [...article.querySelectorAll('.pasted-text, .pasted-inline')].map(textOf);

  // Launch buttons in the header.
  const links = {};
  document.querySelectorAll('.dropdown-launch-buttons a.dropdown-item').forEach(a => {
    links[textOf(a)] = a.getAttribute('href');
  });
  out.launch_links = links;
  out.thebe_button = !!document.querySelector('.dropdown-launch-buttons .btn-launch-thebe, .dropdown-launch-buttons [onclick*="Thebe"]');
  out.body_text_chars = full.length;
  return out;
}
"""

_ANIMATIONS_JS = r"""
() => [...document.querySelectorAll('div.animation')].map((a, i) => {
  a.setAttribute('data-test-index', String(i));
  const slider = a.querySelector('input[type=range]');
  const play = a.querySelector('button[title="Play"]');
  const pause = a.querySelector('button[title="Pause"]');
  const img = a.querySelector('img');
  return {
    index: i,
    frames: slider ? Number(slider.max) + 1 : 0,
    has_play: !!play, has_pause: !!pause,
    play_icon: !!(play && play.querySelector('svg, i')) &&
               !!(play && (play.querySelector('svg') ||
                           getComputedStyle(play.querySelector('i'), '::before').content !== 'none')),
    img_ok: !!(img && img.complete && img.naturalWidth > 0),
  };
})
"""


class Inspector:
    """Opens pages in Chromium and caches one :class:`PageReport` per page."""

    def __init__(self, site: BookSite, browser, viewport=(1280, 900)):
        self.site = site
        self.browser = browser
        self.viewport = {"width": viewport[0], "height": viewport[1]}
        self._reports: dict[str, PageReport] = {}

    def new_page(self, report: PageReport | None = None):
        """A page in a fresh context whose only network is the local files."""
        context = self.browser.new_context(viewport=self.viewport, locale="zh-CN")
        page = context.new_page()
        sink = report if report is not None else PageReport("")

        def block(route):
            sink.external_requests.append(route.request.url)
            route.abort()

        # Everything but local files and a test server on the loopback address is cut off.
        context.route(re.compile(r"^(https?|wss?)://(?!127\.0\.0\.1[:/])"), block)
        page.on("console", lambda msg: sink.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: sink.console_errors.append(f"uncaught: {exc}"))
        page.on(
            "requestfailed",
            lambda req: sink.failed_requests.append(f"{req.url} ({req.failure})")
            if req.url.startswith(("file:", "http://127.0.0.1")) else None,
        )
        return context, page

    def report(self, docname: str) -> PageReport:
        if docname not in self._reports:
            self._reports[docname] = self._inspect(docname)
        return self._reports[docname]

    def _inspect(self, docname: str) -> PageReport:
        report = PageReport(docname)
        context, page = self.new_page(report)
        try:
            page.goto(self.site.url(docname), wait_until="load")
            # Images load lazily: make them eager and wait for every one of them.
            page.evaluate(
                """async () => {
                  const imgs = [...document.images];
                  imgs.forEach(i => { i.loading = 'eager'; });
                  await Promise.all(imgs.map(i => i.complete ? null :
                      new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
                }"""
            )
            page.evaluate(
                """async () => {
                  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
                    await MathJax.startup.promise;
                  }
                }"""
            )
            page.wait_for_timeout(300)  # let the theme's icon script draw
            for key, value in page.evaluate(_SNAPSHOT_JS).items():
                setattr(report, key, value)
            report.screenshot = self.site.shots / (docname.replace("/", "__") + ".png")
            page.screenshot(path=str(report.screenshot), full_page=True)
            report.animations = self._play_animations(page)
            report.launch_menu_visible = self._open_launch_menu(page)
            report.dropdowns_opened = self._open_exercise_hints(page)
        finally:
            context.close()
        return report

    @staticmethod
    def _play_animations(page) -> list[dict]:
        """Click Play on each animation, wait for a new frame, click Pause, check it stays."""
        animations = page.evaluate(_ANIMATIONS_JS)
        for anim in animations:
            anim["advanced"] = anim["pauses"] = False
            if not (anim["has_play"] and anim["frames"] >= 2):
                continue
            box = page.locator(f'div.animation[data-test-index="{anim["index"]}"]')
            box.scroll_into_view_if_needed()
            play = box.locator('button[title="Play"]')
            # matplotlib names the player object in the button: onclick="anim<id>.play_animation()"
            player = play.get_attribute("onclick").split(".")[0]
            interval = page.evaluate(f"() => window.{player} ? window.{player}.interval : 200")
            slider = box.locator("input[type=range]")
            before = slider.input_value()
            play.click()
            try:
                slider.evaluate(
                    "(s, before) => new Promise((ok, fail) => {"
                    "  const t0 = Date.now();"
                    "  const poll = () => s.value !== before ? ok() :"
                    "    (Date.now() - t0 > 8000 ? fail(new Error('no frame change')) : setTimeout(poll, 50));"
                    "  poll(); })",
                    before,
                )
                anim["advanced"] = True
            except Exception:  # noqa: BLE001 - reported by the test as "did not advance"
                anim["advanced"] = False
            if anim["has_pause"]:
                box.locator('button[title="Pause"]').click()
                stopped = slider.input_value()
                page.wait_for_timeout(int(min(max(1.5 * interval, 300), 3000)))
                anim["pauses"] = slider.input_value() == stopped
        return animations

    @staticmethod
    def _open_launch_menu(page) -> list[str]:
        toggle = page.locator(".dropdown-launch-buttons > button.dropdown-toggle")
        if toggle.count() == 0:
            return []
        toggle.first.click()
        page.wait_for_timeout(200)
        items = page.locator(".dropdown-launch-buttons .dropdown-item")
        return [items.nth(i).inner_text().strip() for i in range(items.count()) if items.nth(i).is_visible()]

    @staticmethod
    def _open_exercise_hints(page) -> int:
        """Click every hint toggle in the exercise sections; count those that then show text."""
        page.keyboard.press("Escape")
        buttons = page.locator("section:has(> h2:has-text('练习')) .toggle-button, "
                               "section:has(> h3:has-text('练习')) .toggle-button")
        opened = 0
        for i in range(buttons.count()):
            button = buttons.nth(i)
            button.scroll_into_view_if_needed()
            button.click()
            page.wait_for_timeout(150)
            shown = button.evaluate(
                """b => { const box = b.closest('.toggle, .admonition, details') || b.parentElement;
                          const body = [...box.children].filter(c => !c.contains(b) && !c.matches('.admonition-title, summary'));
                          return body.some(c => c.offsetParent !== null && (c.innerText || '').trim().length > 0); }"""
            )
            opened += bool(shown)
        return opened


def search_url(site: BookSite, query: str) -> str:
    return site.url("search", "q=" + quote(query))
