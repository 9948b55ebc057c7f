"""The interactive controls of the static book, operated in headless Chromium (issue 14).

Every control on a concept page is a ``div.cnn-control`` (``book_utils/static_controls.py``,
drawn by ``_static/cnn-book-controls.js``). These tests open the built pages from disk with the
network cut off (the ``inspector`` fixture's pages), move every slider and pick every option
of each control, and compare what the page then shows with what Python computes for that
choice *now*, independently of the numbers stored in the page: ``book_utils.anim`` and
``torch`` for the sliding-window explorers, ``ops.output_size`` and ``nn.Conv2d`` for the
output-size calculator.

The build to test is ``CNN_BOOK_HTML`` (see ``conftest.py``); a partial build (for example one
with only some pages) is fine: the concept pages that are absent are skipped.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

#: Concept pages (issue 14: none of them may show a "needs a kernel" note for a control).
CONCEPT_PAGES = ["chapters/01_why_convolution", "chapters/02_convolution",
                 "chapters/03_cnn_architecture", "chapters/04_backprop",
                 "chapters/05_classic_cnns"]

_STATE_JS = r"""
(root) => {
  const fig = root.querySelector('.cnnc-figure');
  const grids = (sel) => [...root.querySelectorAll(sel)].map(g => {
    const [rows, cols] = g.dataset.shape.split('x').map(Number);
    const cells = [...g.querySelectorAll('.cnnc-cell')].map(c => c.textContent);
    return [...Array(rows).keys()].map(r => cells.slice(r * cols, (r + 1) * cols));
  });
  const cap = root.querySelector('.cnnc-caption');
  const msg = root.querySelector('.cnnc-message');
  return {
    hidden: fig.hidden, state: fig.dataset.state || '', frame: Number(fig.dataset.frame),
    origin: (fig.dataset.origin || '').split(',').map(Number),
    out: grids('.cnnc-out'), inputs: grids('.cnnc-in'),
    win: root.querySelectorAll('.cnnc-in .cnnc-win').length,
    caption: cap ? cap.dataset.text : '', message: msg ? msg.textContent : '',
    posMax: Number(root.querySelector('input[data-control=position]').max),
  };
}
"""


def _pages_with_html(site):
    return [d for d in CONCEPT_PAGES if site.page_file(d).is_file()]


def _open(inspector, docname):
    context, page = inspector.new_page()
    page.goto(inspector.site.url(docname), wait_until="load")
    page.wait_for_function("() => [...document.querySelectorAll('div.cnn-control')]"
                           ".every(c => c.dataset.ready === '1')")
    return context, page


def _controls(page, kind):
    roots = page.locator(f'div.cnn-control[data-kind="{kind}"]')
    return [roots.nth(i) for i in range(roots.count())]


def _spec(root) -> dict:
    return json.loads(root.locator("script.cnn-control-data").text_content())


def _expected(spec, names, p, s):
    """What Python computes for this choice: (SlidingWindow per kernel, output maps via torch)."""
    import torch
    import torch.nn.functional as F

    from book_utils import anim

    x = np.asarray(spec["x"], dtype=float)
    sws, maps = [], []
    for name in names:
        if spec["op"] == "sum":
            w = np.asarray(spec["kernels"][name]["w"], dtype=float)
            sw = anim.SlidingWindow(x, w, padding=p, stride=s, bias=spec["bias"])
            xt = torch.tensor(x.reshape((1,) * (4 - x.ndim) + x.shape))
            if x.ndim == 1:
                out = F.conv1d(xt[0], torch.tensor(w).view(1, 1, -1), stride=s, padding=p)
                out = out.numpy()[None]
            else:
                wt = torch.tensor(w.reshape((1,) * (4 - w.ndim) + w.shape))
                bias = None if spec["bias"] is None else torch.full((wt.shape[0],),
                                                                       float(spec["bias"]),
                                                                       dtype=torch.float64)
                out = F.conv2d(xt, wt, bias, stride=s, padding=p).numpy()[0]
        else:
            f = int(name)
            sw = anim.SlidingWindow(x, op=spec["op"], window=f, padding=p, stride=s)
            xt = torch.tensor(x.reshape((1,) * (4 - x.ndim) + x.shape))
            pool = F.max_pool2d if spec["op"] == "max" else F.avg_pool2d
            out = pool(xt, f, s, padding=p).numpy()[0]
        sws.append(sw)
        maps.extend(out.reshape(sw.out_shape))
    return sws, maps


def _labels(values):
    from book_utils import anim

    return [[anim.format_value(v) for v in row] for row in np.asarray(values)]


def _set_slider(root, name, value):
    root.locator(f"input[data-control={name}]").fill(str(value))


def _choose(root, spec, names):
    sel = spec["select"]
    if sel["multiple"]:
        for option in sel["options"]:
            box = root.locator(f'fieldset[data-control={sel["name"]}] input[value="{option}"]')
            box.set_checked(option in names)
    else:
        root.locator(f'select[data-control={sel["name"]}]').select_option(names[0])


def _check_setting(root, spec, names, p, s):
    """Show the last and a middle window position of one setting; compare with Python."""
    from book_utils import anim

    sws, maps = _expected(spec, names, p, s)
    last = sws[0].n_frames - 1
    _set_slider(root, "position", last)
    shown = root.evaluate(_STATE_JS)
    where = f"{spec['op']} {names} p={p} s={s}"
    assert not shown["hidden"] and shown["message"] == "", where
    assert shown["state"] == f"{'+'.join(names)}|{p}|{s}", where
    assert shown["posMax"] == last, f"{where}: position slider offers {shown['posMax'] + 1} frames"
    assert shown["out"] == [_labels(m) for m in maps], f"{where}: outputs differ from torch"
    channels = sws[0].padded.shape[0]
    assert [np.shape(g) for g in shown["inputs"]] == [sws[0].padded.shape[1:]] * channels
    middle = last // 2
    _set_slider(root, "position", middle)
    shown = root.evaluate(_STATE_JS)
    assert shown["frame"] == middle
    assert tuple(shown["origin"]) == sws[0].origin(middle), where
    fh, fw = sws[0].window
    assert shown["win"] == channels * fh * fw, where
    i, j = sws[0].position(middle)
    for m, out in enumerate(shown["out"]):     # outputs appear as they are computed
        flat = [c for row in out for c in row]
        assert all(flat[: middle + 1]) and not any(flat[middle + 1:]), where
        assert out[i][j] == _labels(maps[m])[i][j]
    if len(names) == 1:
        assert shown["caption"] == sws[0].describe(middle).replace("$", ""), where
    else:
        assert all(f"{n}: {anim.format_value(mp[i, j])}" in shown["caption"]
                   for n, mp in zip(names, maps)), where
    return shown["state"], json.dumps(shown["out"])


def test_concept_pages_show_controls_not_kernel_notes(site, inspector):
    pages = _pages_with_html(site)
    if not pages:
        pytest.skip(f"no concept page in {site.html}")
    total = 0
    for docname in pages:
        context, page = _open(inspector, docname)
        try:
            notes = page.locator(".cnn-widget-note").count()
            assert notes == 0, f"{docname}: {notes} 'needs a kernel' notes in place of controls"
            n = page.locator("div.cnn-control").count()
            ready = page.locator('div.cnn-control[data-ready="1"]').count()
            assert n == ready, f"{docname}: {n - ready} controls were not drawn"
            assert page.locator(".cnn-control-fallback").count() == 0
            total += n
        finally:
            context.close()
    if "chapters/02_convolution" in pages and "chapters/03_cnn_architecture" in pages:
        assert total >= 7, f"expected the 7 controls of pages 02 and 03, found {total}"


def _sliding_controls(site, inspector):
    for docname in _pages_with_html(site):
        context, page = _open(inspector, docname)
        try:
            for index, root in enumerate(_controls(page, "sliding-window")):
                yield docname, index, root
        finally:
            context.close()


def test_every_sliding_window_choice_matches_python(site, inspector):
    """Each kernel / window, padding and stride of every explorer, as torch computes it."""
    operated = 0
    for docname, index, root in _sliding_controls(site, inspector):
        spec = _spec(root)
        where = f"{docname} control {index}"
        initial = root.evaluate(_STATE_JS)
        first = spec["select"]["value"]
        assert initial["state"] == (f"{'+'.join(first)}|{spec['padding']['value']}|"
                                    f"{spec['stride']['value']}"), where
        seen = set()
        options = spec["select"]["options"]
        for p in range(spec["padding"]["min"], spec["padding"]["max"] + 1):
            _set_slider(root, "padding", p)
            for s in range(spec["stride"]["min"], spec["stride"]["max"] + 1):
                _set_slider(root, "stride", s)
                for option in options:
                    _choose(root, spec, [option])
                    state = spec["states"][f"{option}|{p}|{s}"]
                    if "error" in state:
                        shown = root.evaluate(_STATE_JS)
                        assert shown["hidden"] and "No valid window" in shown["message"], where
                        continue
                    seen.add(_check_setting(root, spec, [option], p, s))
                    operated += 1
        n_settings = len(options) * (spec["padding"]["max"] - spec["padding"]["min"] + 1) * \
            (spec["stride"]["max"] - spec["stride"]["min"] + 1)
        assert len({out for _, out in seen}) > 1, f"{where}: no choice changed the picture"
        assert len(seen) > n_settings // 2, f"{where}: most settings showed nothing"
        if spec["several"]:
            _check_several(root, spec, where)
    if operated == 0:
        pytest.skip("no sliding-window control in this build")


def _check_several(root, spec, where):
    """Several kernels at once: one map per selected kernel; mixed shapes and none refused."""
    shapes = {n: tuple(k["shape"]) for n, k in spec["kernels"].items()}
    first = spec["select"]["options"][0]
    same = [n for n in spec["select"]["options"] if shapes[n] == shapes[first]][:3]
    p, s = spec["padding"]["min"], spec["stride"]["min"]
    _set_slider(root, "padding", p)
    _set_slider(root, "stride", s)
    if len(same) > 1:
        _choose(root, spec, same)
        _check_setting(root, spec, same, p, s)
    other = [n for n in spec["select"]["options"] if shapes[n] != shapes[first]]
    if other:
        _choose(root, spec, [first, other[0]])
        shown = root.evaluate(_STATE_JS)
        assert shown["hidden"] and "different shapes" in shown["message"], where
    _choose(root, spec, [])
    assert "select at least one kernel" in root.evaluate(_STATE_JS)["message"], where


def test_output_size_calculator_matches_ops_and_torch(site, inspector):
    import torch

    from book_utils import ops

    found = 0
    for docname in _pages_with_html(site):
        context, page = _open(inspector, docname)
        try:
            for root in _controls(page, "output-size"):
                found += 1
                spec = _spec(root)
                sliders = spec["sliders"]
                result = root.locator(".cnnc-result")
                start = {k: sliders[k]["value"] for k in "dfps"}
                n0 = ops.output_size(start["d"], start["f"], start["p"], start["s"])
                assert result.get_attribute("data-value") == str(n0)
                shown_before = result.text_content()
                for d in sorted({sliders["d"]["min"], 3, 28, sliders["d"]["max"]}):
                    _set_slider(root, "d", d)
                    for f in range(sliders["f"]["min"], sliders["f"]["max"] + 1):
                        _set_slider(root, "f", f)
                        for p in range(sliders["p"]["min"], sliders["p"]["max"] + 1):
                            _set_slider(root, "p", p)
                            for s in range(sliders["s"]["min"], sliders["s"]["max"] + 1):
                                _set_slider(root, "s", s)
                                value = result.get_attribute("data-value")
                                text = result.text_content()
                                where = f"{docname}: d={d} f={f} p={p} s={s}"
                                if f > d + 2 * p:
                                    with pytest.raises(ValueError):
                                        ops.output_size(d, f, p, s)
                                    assert value == "none" and "No output" in text, where
                                    continue
                                n = ops.output_size(d, f, p, s)
                                conv = torch.nn.Conv2d(1, 1, (1, f), stride=(1, s),
                                                       padding=(0, p))
                                width = conv(torch.zeros(1, 1, 1, d)).shape[-1]
                                assert value == str(n), where
                                assert result.get_attribute("data-torch") == str(width), where
                                assert f"= {n}" in text and f"gives {width}: agrees" in text
                assert result.text_content() != shown_before
        finally:
            context.close()
    if not found:
        pytest.skip("no output-size calculator in this build")
