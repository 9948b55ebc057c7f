"""book_utils.static_controls and the build side (_ext/cnn_book_controls.py): one display with
the widget view and the static text/html view; the HTML build ranks the static view first."""
import json
import re
import sys
from pathlib import Path

import pytest

from book_utils import static_controls as sc

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "_ext"))
import cnn_book_controls  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _payload(html_text):
    match = re.search(r'<script type="application/json" class="cnn-control-data">(.*?)</script>',
                      html_text, re.S)
    assert match, html_text[:200]
    return json.loads(match.group(1))


def test_static_html_round_trips_the_spec_and_escapes_script_ends():
    spec = {"kind": "output-size", "note": "a </script> inside", "n": [1, 2.5]}
    text = sc.static_html(spec)
    assert text.startswith('<div class="cnn-control" data-kind="output-size">')
    assert "</script> inside" not in text and text.count("</script>") == 1
    assert _payload(text) == spec
    assert "cnn-control-fallback" in text


def test_static_html_lines_fit_the_output_width():
    spec = {"kind": "sliding-window", "states": {f"k{i}|0|1": {"z": [[str(i)] * 9] * 9,
                                                               "caption": "z_{1,1} = " + "x" * 60}
                                                 for i in range(30)}}
    text = sc.static_html(spec)
    assert max(len(line) for line in text.splitlines()) <= sc.LINE_WIDTH
    assert _payload(text) == spec


@pytest.mark.parametrize("spec, error, match", [
    ([1, 2], TypeError, "mapping"),
    ({"kind": "spinner"}, ValueError, "kind"),
    ({"kind": "output-size", "x": float("inf")}, ValueError, "non-finite"),
    ({"kind": "output-size", "x": {1, 2}}, TypeError, "JSON types"),
])
def test_static_html_rejects_bad_specs(spec, error, match):
    with pytest.raises(error, match=match):
        sc.static_html(spec)


def test_static_html_refuses_an_oversized_page(monkeypatch):
    monkeypatch.setattr(sc, "MAX_SPEC_BYTES", 100)
    with pytest.raises(ValueError, match="fewer choices"):
        sc.static_html({"kind": "output-size", "torch": list(range(100))})


def test_panel_bundle_holds_widget_and_static_view_and_builds_the_spec_once():
    widgets = pytest.importorskip("ipywidgets")
    calls = []

    def make():
        calls.append(1)
        return {"kind": "output-size", "value": 3}

    box = sc.panel([widgets.IntSlider(3)], make)
    assert isinstance(box, widgets.VBox) and calls == []       # nothing computed before display
    bundle = box._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and "text/plain" in bundle
    assert _payload(bundle["text/html"]) == {"kind": "output-size", "value": 3}
    box._repr_mimebundle_()
    assert calls == [1]
    with pytest.raises(TypeError, match="make_spec"):
        sc.panel([], {"kind": "output-size"})


def test_ipython_display_formatter_sees_both_views():
    pytest.importorskip("ipywidgets")
    from IPython.core.formatters import DisplayFormatter

    box = sc.panel([], lambda: {"kind": "output-size"})
    data, _ = DisplayFormatter().format(box)
    assert WIDGET_VIEW in data and data["text/html"].startswith('<div class="cnn-control"')


def test_build_ranks_text_html_above_the_widget_view_for_html_only():
    from myst_nb.core.render import get_mime_priority

    overrides = cnn_book_controls.mime_overrides([("latex", "image/png", 1)])
    html = get_mime_priority("html", overrides)
    assert html.index("text/html") < html.index(WIDGET_VIEW)
    assert ("latex", "image/png", 1) in overrides
    latex = get_mime_priority("latex", overrides)
    assert "text/html" not in latex
    # idempotent: a second config-inited (sphinx-autobuild) adds nothing
    assert cnn_book_controls.mime_overrides(overrides) == overrides


def test_extension_registers_the_script_and_style(tmp_path):
    class Config:
        nb_mime_priority_overrides = ()
        html_js_files = ["cnn-book.js"]
        html_css_files = []

    class App:
        srcdir = str(REPO)

    config = Config()
    cnn_book_controls._configure(App(), config)
    assert "cnn-book-controls.js" in config.html_js_files
    assert "cnn-book-controls.css" in config.html_css_files
    assert ("html", "text/html", cnn_book_controls.HTML_RANK) in config.nb_mime_priority_overrides
    cnn_book_controls._configure(App(), config)
    assert config.html_js_files.count("cnn-book-controls.js") == 1
    App.srcdir = str(tmp_path)
    from sphinx.errors import ExtensionError
    with pytest.raises(ExtensionError, match="missing"):
        cnn_book_controls._configure(App(), Config())


def test_config_loads_the_extension_and_script_has_no_network():
    import yaml

    cfg = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf8"))
    assert "cnn_book_controls" in cfg["sphinx"]["local_extensions"]
    script = (REPO / "_static" / "cnn-book-controls.js").read_text(encoding="utf8")
    assert not re.search(r"https?://|fetch\(|XMLHttpRequest|import\(", script)
    for kind in sc.KINDS:
        assert f'"{kind}"' in script
