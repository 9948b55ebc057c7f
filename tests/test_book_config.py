"""The book's settings and chapter notebooks follow the rules that make it readable and runnable.

Fast checks on files only (no build, no browser): launch buttons and the offline set-up in
``_config.yml``, the build extension ``_ext/cnn_book_html.py``, the glossary, and each chapter
notebook of ``_toc.yml`` (Colab install cell first, kernelspec, stored outputs without errors,
size, prose before code, exercises with hidden hints, glued numbers, widget notes).
The real-browser tests of the built HTML live in ``tests/browser`` (``make browser-test``).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf8"))
TOC = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf8"))

sys.path.insert(0, str(REPO / "_ext"))
import cnn_book_html  # noqa: E402  (the book's Sphinx extension, imported for its helpers)
sys.path.insert(0, str(REPO / "tests"))
from browser.pages import toc_docnames  # noqa: E402  (one reader of _toc.yml for both suites)

MAX_NOTEBOOK_BYTES = 1_500_000
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


DOCNAMES = toc_docnames(TOC)
CHAPTERS = [d for d in DOCNAMES if d.startswith("chapters/")]


def load_nb(docname: str) -> dict:
    return json.loads((REPO / f"{docname}.ipynb").read_text(encoding="utf8"))


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def install_cell_source() -> str:
    """The first code cell every chapter starts with, for the repository in _config.yml."""
    return (
        "# Set-up: on Colab (or any kernel without book_utils) install it first.\n"
        "import importlib.util, subprocess, sys\n"
        'if importlib.util.find_spec("book_utils") is None:\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q",\n'
        f'                    "git+{CONFIG["repository"]["url"]}"], check=True)'
    )


# ---------------------------------------------------------------------------------------------
# _config.yml
def test_launch_buttons_configured():
    launch = CONFIG["launch_buttons"]
    assert launch["colab_url"] == "https://colab.research.google.com"
    assert launch["binderhub_url"] == "https://mybinder.org"
    assert launch["thebe"] is True
    assert launch["notebook_interface"] in {"classic", "jupyterlab"}
    repo = CONFIG["repository"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repo["url"]), repo["url"]
    assert repo.get("branch"), "repository.branch is needed for the Colab/Binder links"


def test_repository_url_written_once():
    """The repository URL lives in _config.yml; the install cells and README must agree with it."""
    url = CONFIG["repository"]["url"]
    others = {m for m in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", (REPO / "README.md").read_text())
              if "cnn" in m.lower()}
    assert others <= {url, url + ".git"}, f"README names another book repository: {others - {url}}"


def test_offline_html_settings():
    sphinx = CONFIG["sphinx"]
    cfg = sphinx["config"]
    assert not re.match(r"(https?:)?//", cfg["mathjax_path"]), "MathJax must come from the build, not a CDN"
    assert cfg["mathjax_path"] == f"mathjax/{cnn_book_html.MATHJAX_BUNDLE}"
    assert sphinx["local_extensions"] == {"cnn_book_html": "_ext", "cnn_book_controls": "_ext"}
    widget_js = cfg.get("nb_ipywidgets_js", None)
    assert widget_js is not None and not any(str(k).startswith("http") for k in widget_js), (
        "nb_ipywidgets_js would load the widget manager from a CDN"
    )
    assert str(cfg.get("html_search_language", cfg.get("language"))).startswith("zh")


def test_static_folder_has_no_stray_scripts():
    # Jupyter Book adds every .js/.css under _static to every page: MathJax must not live there.
    scripts = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "_static").rglob("*.js"))
    assert not any("mathjax" in s.lower() for s in scripts), scripts


# ---------------------------------------------------------------------------------------------
# The build extension
def test_mathjax_copy_is_installed(tmp_path):
    bundle = cnn_book_html.copy_mathjax(tmp_path)
    assert bundle.stat().st_size > 500_000
    fonts = list((tmp_path / cnn_book_html.MATHJAX_DIR / cnn_book_html.MATHJAX_FONTS).glob("*.woff"))
    assert len(fonts) >= 20
    assert b"MathJax" in bundle.read_bytes()[:20_000]
    assert (REPO / "_static" / "licenses" / "MathJax-LICENSE.txt").is_file()


def test_glossary_terms_feed_search():
    terms = cnn_book_html.glossary_terms(REPO / "glossary.md")
    assert "卷积核" in terms and "特征图" in terms and "池化" in terms
    assert "中文" not in terms, "table header taken for a term"
    assert len(terms) == len(set(terms)) >= 30


def test_jieba_keeps_glossary_terms_whole(tmp_path):
    jieba = pytest.importorskip("jieba", reason="jieba is in requirements.txt; Chinese search needs it")
    tokenizer = jieba.Tokenizer()
    words = tmp_path / "terms.txt"
    words.write_text("\n".join(cnn_book_html.glossary_terms(REPO / "glossary.md")), encoding="utf8")
    tokenizer.load_userdict(str(words))
    tokens = list(tokenizer.cut_for_search("每个卷积核在输入上滑动，得到一张特征图。"))
    assert "卷积核" in tokens and "特征图" in tokens, tokens


def test_widget_views_become_notes_and_cdn_links_go():
    from docutils import nodes
    from docutils.utils import new_document
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser

    doc = new_document("test", get_default_settings(Parser))
    view = f'<script type="{WIDGET_VIEW}">{{"model_id": "abc"}}</script>'
    anim = ('<link rel="stylesheet"\nhref="https://maxcdn.bootstrapcdn.com/font-awesome/4.4.0/css/'
            'font-awesome.min.css">\n<div class="animation">frames</div>')
    doc += nodes.raw("", view, format="html")
    doc += nodes.raw("", anim, format="html")
    doc += nodes.raw("", "<p>kept</p>", format="html")
    cnn_book_html._rewrite_outputs(None, doc, "test")
    texts = [n.astext() for n in doc.findall(nodes.raw)]
    assert texts[0] == cnn_book_html.WIDGET_NOTE_HTML
    assert "内核" in texts[0] and "动画" in texts[0]
    assert "maxcdn" not in texts[1] and '<div class="animation">' in texts[1]
    assert texts[2] == "<p>kept</p>"


def test_browser_tests_stay_out_of_make_test(monkeypatch):
    sys.path.insert(0, str(REPO / "tests"))
    from browser.conftest import _browser_tests_requested

    def config(*args):
        return SimpleNamespace(args=list(args), invocation_params=SimpleNamespace(dir=REPO))

    monkeypatch.delenv("CNN_BOOK_BROWSER", raising=False)
    assert not _browser_tests_requested(config("tests", "chapters"))
    assert _browser_tests_requested(config("tests/browser"))
    assert _browser_tests_requested(config("tests/browser/test_pages.py::test_images_load"))
    monkeypatch.setenv("CNN_BOOK_BROWSER", "1")
    assert _browser_tests_requested(config("tests"))


def test_ci_runs_browser_tests_after_the_build():
    ci = (REPO / ".ci" / "run").read_text()
    make = (REPO / "Makefile").read_text()
    assert re.search(r"^browser-test:", make, re.M) and re.search(r"^browser:", make, re.M)
    assert ci.index("make book") < ci.index("make browser-test")


# ---------------------------------------------------------------------------------------------
# Glossary
def test_glossary_in_toc_and_links_resolve():
    assert "glossary" in DOCNAMES
    text = (REPO / "glossary.md").read_text(encoding="utf8")
    targets = set(re.findall(r"\]\(([^)#]+\.(?:ipynb|md))", text))
    assert targets, "the glossary links no page"
    missing = [t for t in targets if not (REPO / t).is_file()]
    assert not missing, missing


def _page_text(docname: str) -> str:
    nb = load_nb(docname)
    parts = []
    for cell in nb["cells"]:
        parts.append(source(cell))
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            for mime in ("text/plain", "text/markdown", "text/html"):
                parts.append("".join(out.get("data", {}).get(mime, "")))
    return "\n".join(parts)


@pytest.mark.parametrize("docname", CHAPTERS)
def test_glossary_terms_appear_on_their_page(docname):
    """Each glossary row points at a page that really uses the term (any of its variants)."""
    rows = []
    for line in (REPO / "glossary.md").read_text(encoding="utf8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and f"({docname}.ipynb)" in cells[3]:
            variants = [v.strip() for v in re.split(r"[/、]", re.sub(r"\(.*?\)", "", cells[0]))]
            rows.append([v for v in variants if v])
    text = _page_text(docname)
    absent = [" / ".join(v) for v in rows if not any(t in text for t in v)]
    assert not absent, f"glossary terms said to be explained on {docname} but not found there: {absent}"


# ---------------------------------------------------------------------------------------------
# Chapter notebooks
chapter_param = pytest.mark.parametrize("docname", CHAPTERS)


@chapter_param
def test_chapter_is_a_notebook_with_python3_kernel(docname):
    path = REPO / f"{docname}.ipynb"
    assert path.is_file(), f"{docname}: chapter pages are .ipynb (Colab opens them)"
    nb = load_nb(docname)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES, f"{docname}: {path.stat().st_size} bytes"


@chapter_param
def test_first_code_cell_installs_book_utils(docname):
    code = [c for c in load_nb(docname)["cells"] if c["cell_type"] == "code"]
    assert code, f"{docname}: no code cell"
    first = code[0]
    assert source(first).strip() == install_cell_source(), (
        f"{docname}: the first code cell must be the Colab install cell (see CONTRIBUTING.md), "
        f"installing from {CONFIG['repository']['url']}"
    )
    assert "hide-input" in first.get("metadata", {}).get("tags", []), f"{docname}: install cell not tagged hide-input"


@chapter_param
def test_outputs_stored_without_errors(docname):
    for i, cell in enumerate(load_nb(docname)["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell.get("execution_count") is not None, f"{docname}: cell {i} has no stored output (execute the notebook)"
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{docname}: cell {i} stores an error: {out.get('ename')}"
            text = "".join(out.get("text", ""))
            assert "Traceback (most recent call last)" not in text, f"{docname}: cell {i} stores a traceback"


@chapter_param
def test_prose_before_every_code_cell(docname):
    """Every code cell a reader sees follows a sentence of prose. A cell tagged remove-input
    (it only glues numbers for the prose) shows no code, so it may follow another cell."""
    cells = load_nb(docname)["cells"]
    shown = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
             or "remove-input" not in c.get("metadata", {}).get("tags", [])]
    bad = []
    for k, i in enumerate(shown):
        if cells[i]["cell_type"] == "code" and (k == 0 or cells[shown[k - 1]]["cell_type"] != "markdown"):
            bad.append(i)
    assert not bad, f"{docname}: code cells without a sentence of prose before them: {bad}"


@chapter_param
def test_exercises_with_dropdown_hints(docname):
    cells = load_nb(docname)["cells"]
    markdown = [source(c) for c in cells if c["cell_type"] == "markdown"]
    start = next((i for i, m in enumerate(markdown) if re.search(r"^#{2,4} .*练习", m, re.M)), None)
    assert start is not None, f"{docname}: no exercise section (a '## 练习' heading)"
    rest = "\n".join(markdown[start:])
    assert re.search(r":class:\s*dropdown|\{dropdown\}|\{toggle\}|class=\"?dropdown", rest), (
        f"{docname}: the exercises have no hint or solution in a dropdown"
    )


def _glued_names(nb: dict) -> list[str]:
    names = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            names += re.findall(r"\bglue\(\s*[\"']([^\"']+)[\"']", source(cell))
    return names


def _glue_refs(nb: dict) -> list[str]:
    refs = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            refs += [m.split(":")[0] for m in re.findall(r"\{glue(?::\w+)?\}`([^`]+)`", source(cell))]
            refs += re.findall(r"```\{glue(?::\w+)?\}\s+(\S+)", source(cell))
    return refs


@chapter_param
def test_prose_numbers_come_from_glue(docname):
    nb = load_nb(docname)
    names, refs = _glued_names(nb), _glue_refs(nb)
    assert refs, f"{docname}: no number in the prose is inserted with myst-nb glue"
    page = re.match(r"chapters/(\d\d)_", docname).group(1)
    local = [r for r in refs if "::" not in r]
    missing = sorted(set(local) - set(names))
    assert not missing, f"{docname}: glue references with no glue() call on the page: {missing}"
    badly_named = [n for n in names if not n.startswith(f"p{page}_")]
    assert not badly_named, f"{docname}: glue names must start with p{page}_: {badly_named}"


def test_glue_names_unique_across_book():
    seen: dict[str, str] = {}
    clashes = []
    for docname in CHAPTERS:
        for name in set(_glued_names(load_nb(docname))):
            if name in seen:
                clashes.append((name, seen[name], docname))
            seen[name] = docname
    assert not clashes, clashes


@chapter_param
def test_widget_cells_carry_a_static_view(docname):
    """Every ipywidgets output also holds the static control the HTML book shows."""
    cells = load_nb(docname)["cells"]
    for i, cell in enumerate(cells):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                html_view = "".join(data.get("text/html", ""))
                assert '<div class="cnn-control"' in html_view, (
                    f"{docname}: widget cell {i} has no static view; build the control with "
                    "book_utils.static_controls.panel so the HTML book can show it")

# ---------------------------------------------------------------------------------------------
# Exercises (issue 24): sphinx-exercise markup, solutions folded, code cells inside them
_EXERCISE = re.compile(r"^```\{exercise\}[^\n]*\n:label:\s*(\S+)", re.M)
_SOLUTION_START = re.compile(r"^```\{solution-start\}\s+(\S+)\s*\n((?::[\w-]+:[^\n]*\n)*)```", re.M)


def test_sphinx_exercise_is_enabled_for_the_build_only():
    assert "sphinx_exercise" in CONFIG["sphinx"]["extra_extensions"]
    requirements = (REPO / "requirements.txt").read_text(encoding="utf8")
    assert re.search(r"^sphinx-exercise\b", requirements, re.M)
    # a reader's kernel installs only the package: no build tool among its dependencies
    assert "sphinx" not in (REPO / "pyproject.toml").read_text(encoding="utf8").lower()


def _exercise_blocks(nb: dict):
    """``(exercise label, solution label, options text, code cells)`` per exercise, in order;
    raises AssertionError where the markup is broken (nesting, a missing start or end)."""
    blocks, open_block = [], None
    pending = None          # an exercise whose solution has not started yet
    for i, cell in enumerate(nb["cells"]):
        text = source(cell)
        if cell["cell_type"] == "code":
            if open_block is not None:
                open_block[3].append(text)
            continue
        for label in _EXERCISE.findall(text):
            assert open_block is None, f"cell {i}: exercise {label} inside a solution"
            assert pending is None, f"cell {i}: exercise {pending} has no solution before {label}"
            pending = label
        start = _SOLUTION_START.search(text)
        if start:
            assert open_block is None, f"cell {i}: solution-start inside another solution"
            assert start.group(1) == pending, (
                f"cell {i}: solution-start names {start.group(1)}, the exercise above is {pending}")
            options = start.group(2)
            label = re.search(r":label:\s*(\S+)", options)
            open_block = [pending, label.group(1) if label else None, options, []]
            pending = None
        if "{solution-end}" in text:
            assert open_block is not None, f"cell {i}: solution-end without solution-start"
            assert text.strip() == "```{solution-end}\n```", (
                f"cell {i}: the solution-end cell must hold only the directive")
            blocks.append(tuple(open_block))
            open_block = None
    assert open_block is None, f"solution of {open_block[0]} is never closed (solution-end)"
    assert pending is None, f"exercise {pending} has no solution"
    return blocks


@chapter_param
def test_exercises_use_the_book_markup(docname):
    """Pages in the sphinx-exercise form (CONTRIBUTING.md): >= 4 exercises, each followed by a
    folded, labelled solution; at least one solution computes its answer and asserts it; the
    old hint admonitions are gone. Pages still in the old form are left to the other test."""
    nb = load_nb(docname)
    blocks = _exercise_blocks(nb)
    if not blocks:
        pytest.skip(f"{docname} has no {{exercise}} yet")
    page = re.match(r"chapters/(\d\d)_", docname).group(1)
    assert len(blocks) >= 4, f"{docname}: {len(blocks)} exercises, the book asks for at least 4"
    for ex_label, sol_label, options, _ in blocks:
        assert ex_label.startswith(f"ex-p{page}-"), f"{docname}: exercise label {ex_label}"
        assert sol_label == "sol-" + ex_label[3:], f"{docname}: {ex_label} has solution {sol_label}"
        assert re.search(r"^:class:\s*dropdown\s*$", options, re.M), (
            f"{docname}: solution of {ex_label} is not folded (:class: dropdown)")
    asserting = [b[0] for b in blocks if any(re.search(r"^\s*assert\b", c, re.M) for c in b[3])]
    assert asserting, f"{docname}: no solution checks its answer with assert in a code cell"
    text = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "提示 (hint)" not in text, f"{docname}: an old hint dropdown is left"
    assert "hide_solutions" not in (REPO / "_config.yml").read_text(encoding="utf8")


def test_exercise_labels_unique_across_book():
    seen: dict[str, str] = {}
    clashes = []
    for docname in CHAPTERS:
        for ex_label, sol_label, _, _ in _exercise_blocks(load_nb(docname)):
            for label in (ex_label, sol_label):
                if label in seen:
                    clashes.append((label, seen[label], docname))
                seen[label] = docname
    assert not clashes, clashes


# ---------------------------------------------------------------------------------------------
# Static controls: every slider can move (issue 21 item 10)
def _stored_control_specs(docname: str):
    for i, cell in enumerate(load_nb(docname)["cells"]):
        for out in cell.get("outputs", []):
            html_view = "".join(out.get("data", {}).get("text/html", ""))
            match = re.search(r'class="cnn-control-data">\n(.*?)\n</script>', html_view, re.S)
            if match:
                yield i, json.loads(match.group(1).replace("<\\/", "</"))


@chapter_param
def test_every_control_slider_can_move(docname):
    for i, spec in _stored_control_specs(docname):
        if spec["kind"] == "sliding-window":
            sliders = {"padding": spec["padding"], "stride": spec["stride"]}
        else:
            sliders = spec.get("sliders", {})
        for name, rng in sliders.items():
            assert rng["min"] < rng["max"], (
                f"{docname}: cell {i}: the {name} slider runs from {rng['min']} to {rng['max']} "
                "and cannot move; offer at least two values")
        if spec["kind"] == "sliding-window" and spec["op"] != "sum":
            smallest = min(int(f) for f in spec["select"]["options"])
            assert spec["padding"]["max"] <= smallest // 2, (
                f"{docname}: cell {i}: pooling padding up to {spec['padding']['max']}, but PyTorch "
                f"allows at most half the window ({smallest // 2} for f={smallest})")
