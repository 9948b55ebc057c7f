/* The book's interactive controls in the static HTML pages (issue 14). No kernel, no network.
 *
 * Each control is a <div class="cnn-control" data-kind="..."> written by
 * book_utils/static_controls.py, holding JSON computed in Python when the page was executed:
 *   "sliding-window"  every result of book_utils.anim.controls (kernel / window, padding,
 *                     stride, position), switched between and drawn as grids here;
 *   "output-size"     book_utils.architecture.output_size_calculator: the formula
 *                     floor((d + 2p - f) / s) + 1 computed here, nn.Conv2d's answers from Python.
 * The drawn elements carry data-* attributes (state, frame, origin, value) for the browser tests.
 */
(function () {
  "use strict";

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A labelled range slider; onChange runs on every move.
  function slider(name, label, min, max, value, onChange) {
    const row = el("label", "cnnc-field");
    row.appendChild(el("span", "cnnc-label", label));
    const input = el("input");
    Object.assign(input, { type: "range", min: String(min), max: String(max), step: "1" });
    input.value = String(value);
    input.dataset.control = name;
    const shown = el("span", "cnnc-value", String(value));
    input.addEventListener("input", () => { shown.textContent = input.value; onChange(); });
    row.append(input, shown);
    return { row, input, shown,
             setMax(m) { input.max = String(m); if (+input.value > m) input.value = String(m);
                         shown.textContent = input.value; } };
  }

  function dropdown(name, label, options, value, onChange) {
    const row = el("label", "cnnc-field");
    row.appendChild(el("span", "cnnc-label", label));
    const select = el("select");
    select.dataset.control = name;
    options.forEach((o) => { const opt = el("option", "", o); opt.value = o; select.appendChild(opt); });
    select.value = value;
    select.addEventListener("change", onChange);
    row.appendChild(select);
    return { row, values: () => [select.value] };
  }

  function checkboxes(name, label, options, values, onChange) {
    const row = el("fieldset", "cnnc-field cnnc-multi");
    row.dataset.control = name;
    row.appendChild(el("legend", "cnnc-label", label));
    const boxes = options.map((o) => {
      const item = el("label", "cnnc-check");
      const box = el("input");
      box.type = "checkbox";
      box.value = o;
      box.checked = values.includes(o);
      box.addEventListener("change", onChange);
      item.append(box, document.createTextNode(" " + o));
      row.appendChild(item);
      return box;
    });
    return { row, values: () => boxes.filter((b) => b.checked).map((b) => b.value) };
  }

  // "z_{1,2} = ..." -> z<sub>1,2</sub> = ...
  function caption(node, text) {
    node.textContent = "";
    const m = /^z_\{([^}]*)\}/.exec(text);
    if (!m) { node.textContent = text; return; }
    node.append("z", el("sub", "", m[1]), text.slice(m[0].length));
  }

  // Cell colours: pale blues for non-negative grids, red/blue around zero otherwise.
  function shader(labels) {
    const nums = labels.flat().map(parseFloat).filter(Number.isFinite);
    const lo = nums.length ? Math.min(...nums) : 0;
    const hi = nums.length ? Math.max(...nums) : 1;
    return (label) => {
      const v = parseFloat(label);
      if (!Number.isFinite(v)) return "";
      if (lo >= 0) {
        const u = hi > lo ? (v - lo) / (hi - lo) : 0;
        return `rgba(31, 119, 180, ${(0.06 + 0.42 * u).toFixed(3)})`;
      }
      const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
      const u = v / m;
      return u >= 0 ? `rgba(214, 39, 40, ${(0.5 * u).toFixed(3)})`
                    : `rgba(31, 119, 180, ${(-0.5 * u).toFixed(3)})`;
    };
  }

  // One grid of cells. opts: pad [ph, pw] (grey border cells), box [r, c, h, w] (red outline),
  // upto (outputs after this raster index stay empty).
  function grid(labels, cls, opts) {
    const rows = labels.length, cols = labels[0].length;
    const wrap = el("div", "cnnc-grid " + cls);
    wrap.style.gridTemplateColumns = `repeat(${cols}, var(--cnnc-cell))`;
    wrap.dataset.shape = `${rows}x${cols}`;
    const shade = shader(labels);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const cell = el("div", "cnnc-cell");
        const index = r * cols + c;
        const pad = opts.pad && (r < opts.pad[0] || r >= rows - opts.pad[0] ||
                                 c < opts.pad[1] || c >= cols - opts.pad[1]);
        if (opts.upto !== undefined && index > opts.upto) {
          cell.classList.add("cnnc-empty");
        } else {
          cell.textContent = labels[r][c];
          if (pad) cell.classList.add("cnnc-pad");
          else cell.style.background = shade(labels[r][c]);
        }
        const b = opts.box;
        if (b && r >= b[0] && r < b[0] + b[2] && c >= b[1] && c < b[1] + b[3]) {
          cell.classList.add("cnnc-win");
        }
        wrap.appendChild(cell);
      }
    }
    if (opts.box) {
      const outline = el("div", "cnnc-outline");
      const [r, c, h, w] = opts.box;
      Object.assign(outline.style, { top: `calc(var(--cnnc-cell) * ${r})`,
        left: `calc(var(--cnnc-cell) * ${c})`, height: `calc(var(--cnnc-cell) * ${h})`,
        width: `calc(var(--cnnc-cell) * ${w})` });
      wrap.appendChild(outline);
    }
    return wrap;
  }

  function block(label, node) {
    const b = el("div", "cnnc-block");
    if (label) b.appendChild(el("div", "cnnc-name", label));
    b.appendChild(node);
    return b;
  }

  // ------------------------------------------------------------------ sliding window
  function slidingWindow(root, spec) {
    const panel = el("div", "cnnc-controls");
    const figure = el("div", "cnnc-figure");
    const message = el("div", "cnnc-message");
    const sel = spec.select;
    const label = { kernel: "kernel", kernels: "kernels", window: "window f" }[sel.name];
    const chooser = sel.multiple ? checkboxes(sel.name, label, sel.options, sel.value, draw)
                                 : dropdown(sel.name, label, sel.options, sel.value[0], draw);
    const pad = slider("padding", "padding p", spec.padding.min, spec.padding.max,
                       spec.padding.value, draw);
    const stride = slider("stride", "stride s", spec.stride.min, spec.stride.max,
                          spec.stride.value, draw);
    const pos = slider("position", "position", 0, 0, 0, draw);
    panel.append(chooser.row, pad.row, stride.row, pos.row);
    root.append(panel, message, figure);
    const channels = spec.dim === "1d" ? 1 : (Array.isArray(spec.x[0][0]) ? spec.x.length : 1);
    const names = spec.channel_names ||
      (channels > 1 ? [...Array(channels).keys()].map((c) => `x[${c}]`) : ["x"]);

    function fail(text) {
      message.textContent = text;
      figure.hidden = true;
      figure.dataset.state = "";
      root.dataset.error = text;
    }

    function shapeText(s) { return `(${s.join(", ")})`; }

    function draw() {
      const p = +pad.input.value, s = +stride.input.value;
      const chosen = chooser.values();
      if (!chosen.length) return fail("No valid window: select at least one kernel");
      if (spec.several) {
        const shapes = [...new Set(chosen.map((n) => JSON.stringify(spec.kernels[n].shape)))];
        if (shapes.length > 1) {
          const list = shapes.map(JSON.parse).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
          return fail("No valid window: the selected kernels have different shapes [" +
                      list.map(shapeText).join(", ") + "]");
        }
      }
      const states = chosen.map((n) => spec.states[`${n}|${p}|${s}`]);
      const bad = states.find((st) => st.error);
      if (bad) return fail(bad.error);
      message.textContent = "";
      delete root.dataset.error;
      figure.hidden = false;
      const st = states[0];
      const [, ow] = [st.z[0].length, st.z[0][0].length];
      const frames = st.z[0].length * ow;
      pos.setMax(frames - 1);
      const t = +pos.input.value;
      const i = Math.floor(t / ow), j = t % ow;
      const r0 = i * st.stride[0], c0 = j * st.stride[1];
      const [fh, fw] = st.window;
      figure.dataset.state = `${chosen.join("+")}|${p}|${s}`;
      figure.dataset.frame = String(t);
      figure.dataset.origin = `${r0},${c0}`;
      figure.dataset.outShape = `${states.reduce((n, x) => n + x.z.length, 0)}x${st.z[0].length}x${ow}`;
      figure.textContent = "";

      let title = st.title, text = st.captions[t];
      if (spec.several && states.length > 1) {
        const [h, w] = [spec.x.length, spec.x[0].length];
        const oh = st.z[0].length, k = states.length;
        title = spec.title || `2D convolution: input ${h}x${w}, ${k} kernels ${fh}x${fw}, ` +
          `p=${p}, s=${s}  ->  output ${k}x${oh}x${ow}`;
        const sub = `z_{${i + 1},${j + 1}}`;
        text = `${sub}: ` + chosen.map((n, m) => `${n}: ${states[m].z[0][i][j]}`).join(",  ");
      }
      figure.appendChild(el("div", "cnnc-title", title));
      const inputs = spec.inputs[String(p)];
      const padCells = [st.padding[0], st.padding[1]];
      const winBox = [r0, c0, fh, fw];

      if (spec.dim === "1d") {
        const rows = el("div", "cnnc-rows");
        const xRow = grid(inputs[0], "cnnc-in", { pad: padCells, box: winBox });
        rows.appendChild(block("x", xRow));
        if (spec.op === "sum") {
          const w = grid(spec.kernels[chosen[0]].labels[0], "cnnc-kernel", {});
          w.style.marginLeft = `calc(var(--cnnc-cell) * ${c0})`;
          rows.appendChild(block("w", w));
        }
        const z = grid(st.z[0], "cnnc-out", { box: [0, j, 1, 1], upto: t });
        const shift = (inputs[0][0].length - ow) / 2;
        z.style.marginLeft = `calc(var(--cnnc-cell) * ${shift})`;
        rows.appendChild(block("z", z));
        figure.appendChild(rows);
      } else {
        const top = el("div", "cnnc-row");
        const padded = p > 0 ? " (padded)" : "";
        inputs.forEach((labels, c) => top.appendChild(
          block(names[c] + padded, grid(labels, "cnnc-in", { pad: padCells, box: winBox }))));
        figure.appendChild(top);
        const second = el("div", "cnnc-row");
        const outGrid = (zz) => grid(zz, "cnnc-out", { box: [i, j, 1, 1], upto: t });
        if (spec.op !== "sum") {
          st.z.forEach((zz, m) => second.appendChild(
            block(channels > 1 ? `z[${m}]` : "z", outGrid(zz))));
        } else if (spec.several && states.length > 1) {
          chosen.forEach((n, m) => {
            const col = el("div", "cnnc-column");
            col.append(block(n, grid(spec.kernels[n].labels[0], "cnnc-kernel", {})),
                       block(`z (${n})`, outGrid(states[m].z[0])));
            second.appendChild(col);
          });
        } else {
          const w = spec.kernels[chosen[0]].labels;
          w.forEach((slice, c) => second.appendChild(
            block(channels > 1 ? `w[${c}]` : "w", grid(slice, "cnnc-kernel", {}))));
          second.appendChild(block("z", outGrid(st.z[0])));
        }
        figure.appendChild(second);
      }
      const cap = el("div", "cnnc-caption");
      caption(cap, text);
      cap.dataset.text = text;
      figure.appendChild(cap);
    }
    draw();
  }

  // ------------------------------------------------------------------ output size
  function outputSize(root, spec) {
    const panel = el("div", "cnnc-controls cnnc-stack");
    const result = el("div", "cnnc-result");
    const labels = { d: "input size d", f: "kernel size f", p: "padding p", s: "stride s" };
    const sl = {};
    ["d", "f", "p", "s"].forEach((k) => {
      const o = spec.sliders[k];
      sl[k] = slider(k, labels[k], o.min, o.max, o.value, draw);
      panel.appendChild(sl[k].row);
    });
    root.append(panel, result);
    const fMax = spec.sliders.f.max, pMax = spec.sliders.p.max, sMax = spec.sliders.s.max;

    function draw() {
      const d = +sl.d.input.value, f = +sl.f.input.value;
      const p = +sl.p.input.value, s = +sl.s.input.value;
      result.textContent = "";
      if (f > d + 2 * p) {
        result.dataset.value = "none";
        result.dataset.torch = "none";
        result.append(el("b", "", "No output:"), ` the kernel (f=${f}) is larger than the ` +
                      `padded input (d+2p=${d + 2 * p}).`);
        return;
      }
      const n = Math.floor((d + 2 * p - f) / s) + 1;
      const torch = spec.torch[(((d - 1) * fMax + (f - 1)) * (pMax + 1) + p) * sMax + s - 1];
      const rest = (d + 2 * p - f) % s;
      result.dataset.value = String(n);
      result.dataset.torch = String(torch);
      const line = el("div", "cnnc-formula");
      line.append(`floor((${d} + 2·${p} − ${f}) / ${s}) + 1 = floor(${d + 2 * p - f}/${s}) + 1 = `,
                  el("b", "", String(n)));
      if (rest) line.append(` (the floor drops ${rest} input column${rest > 1 ? "s" : ""} at the end)`);
      const check = el("div", "cnnc-check-torch",
        `nn.Conv2d gives ${torch}: ${torch === n ? "agrees" : "DISAGREES"} ` +
        "(torch ran when the page was built)");
      result.append(line, check);
    }
    draw();
  }

  const KINDS = { "sliding-window": slidingWindow, "output-size": outputSize };

  function start(root) {
    if (root.dataset.ready) return;
    const data = root.querySelector("script.cnn-control-data");
    const draw = KINDS[root.dataset.kind];
    if (!data || !draw) return;
    const fallback = root.querySelector(".cnn-control-fallback");
    if (fallback) fallback.remove();
    draw(root, JSON.parse(data.textContent));
    root.dataset.ready = "1";
  }

  function startAll() { document.querySelectorAll("div.cnn-control").forEach(start); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAll);
  else startAll();
})();
