/* The drawing pad of the CNN book (page 06): draw a digit, watch LeNet-5 read it.
 *
 * Brings every <div class="cnn-digit-pad" data-ready="0"> of the page to life (the markup is
 * made by book_utils/digit_pad/page.py). Needs window.cnnBook.lenet (lenet.js) and, inside
 * the pad, two JSON script elements: class "cdp-weights" (the weights file) and
 * class "cdp-sample-data" (a few MNIST test digits). Pointer events: mouse, pen and touch.
 * After each update the pad sets data-prediction, data-updates and data-source ("drawing" or
 * "sample") and keeps {input, result} in pad.cnnPadState (for the book's browser tests).
 */
(function (root) {
  'use strict';
  var lenet = root.cnnBook && root.cnnBook.lenet;
  if (!lenet) { return; }
  var STAGES = [['c1', 2], ['s2', 3], ['c3', 4], ['s4', 6]];   // name, CSS px per map pixel

  function $(pad, role) { return pad.querySelector('[data-role="' + role + '"]'); }

  function decodeBytes(text) {
    var bin = atob(text), out = new Float64Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i) / 255; }
    return out;
  }

  // draw one (h, w) map of values into a canvas, white = hi, black = 0
  function drawGray(canvas, data, offset, h, w, hi) {
    canvas.width = w; canvas.height = h;
    var ctx = canvas.getContext('2d'), img = ctx.createImageData(w, h);
    for (var k = 0; k < h * w; k++) {
      var v = hi > 0 ? Math.round(255 * Math.min(1, Math.max(0, data[offset + k] / hi))) : 0;
      img.data[4 * k] = img.data[4 * k + 1] = img.data[4 * k + 2] = v;
      img.data[4 * k + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function setUp(pad) {
    pad.setAttribute('data-ready', 'busy');
    if (!lenet.ready()) {
      lenet.useWeights(JSON.parse(pad.querySelector('script.cdp-weights').textContent));
    }
    var samples = JSON.parse(pad.querySelector('script.cdp-sample-data').textContent);
    var canvas = $(pad, 'canvas'), ctx = canvas.getContext('2d');
    var state = {sample: null, drawing: false, last: null, pending: false, updates: 0};

    function clearCanvas() {
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
    }

    function showResult(input, result) {
      drawGray($(pad, 'input'), input, 0, 28, 28, 1);
      var best = 0;
      for (var d = 1; d < 10; d++) { if (result.probs[d] > result.probs[best]) { best = d; } }
      $(pad, 'digit').textContent = String(best);
      $(pad, 'confidence').textContent = '（概率 ' + (100 * result.probs[best]).toFixed(1) + '%）';
      pad.querySelectorAll('.cdp-bar-row').forEach(function (row, d) {
        row.querySelector('.cdp-fill').style.width = (100 * result.probs[d]).toFixed(1) + '%';
        row.querySelector('.cdp-pct').textContent = (100 * result.probs[d]).toFixed(1) + '%';
        row.classList.toggle('cdp-best', d === best);
      });
      STAGES.forEach(function (stage) {
        var m = result.maps[stage[0]], box = $(pad, 'maps-' + stage[0]), hi = 0;
        for (var k = 0; k < m.data.length; k++) { if (m.data[k] > hi) { hi = m.data[k]; } }
        var cells = box.querySelectorAll('canvas');
        for (var c = 0; c < m.c; c++) {
          var cv = cells[c];
          if (!cv) {
            cv = document.createElement('canvas');
            cv.className = 'cdp-map';
            cv.style.width = cv.style.height = (stage[1] * m.w) + 'px';
            box.appendChild(cv);
          }
          drawGray(cv, m.data, c * m.h * m.w, m.h, m.w, hi);
        }
        $(pad, 'shape-' + stage[0]).textContent = m.c + '×' + m.h + '×' + m.w;
      });
      pad.setAttribute('data-prediction', String(best));
      pad.setAttribute('data-source', state.sample ? 'sample' : 'drawing');
      pad.cnnPadState = {input: Array.prototype.slice.call(input), result: result};
    }

    function showEmpty() {
      $(pad, 'digit').textContent = '–';
      $(pad, 'confidence').textContent = '';
      pad.querySelectorAll('.cdp-bar-row').forEach(function (row) {
        row.querySelector('.cdp-fill').style.width = '0';
        row.querySelector('.cdp-pct').textContent = '';
        row.classList.remove('cdp-best');
      });
      drawGray($(pad, 'input'), new Float64Array(784), 0, 28, 28, 1);
      STAGES.forEach(function (stage) { $(pad, 'maps-' + stage[0]).textContent = ''; });
      pad.removeAttribute('data-prediction');
      pad.removeAttribute('data-source');
      pad.cnnPadState = null;
    }

    function update() {
      state.pending = false;
      var input = state.sample;
      if (!input) {
        var img = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        var gray = new Float64Array(canvas.width * canvas.height);
        for (var k = 0; k < gray.length; k++) { gray[k] = img[4 * k] / 255; }
        pad.cnnPadGray = gray;
        input = lenet.prepare(gray, canvas.width, canvas.height);
      }
      if (input) { showResult(input, lenet.forward(input)); } else { showEmpty(); }
      state.updates += 1;
      pad.setAttribute('data-updates', String(state.updates));
    }

    function schedule() {
      if (state.pending) { return; }
      state.pending = true;
      (root.requestAnimationFrame || function (f) { return setTimeout(f, 16); })(update);
    }

    function point(ev) {
      var r = canvas.getBoundingClientRect();
      return [(ev.clientX - r.left) * canvas.width / r.width,
              (ev.clientY - r.top) * canvas.height / r.height];
    }

    function stroke(from, to) {
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = canvas.width * 0.075;
      ctx.lineCap = ctx.lineJoin = 'round';
      ctx.beginPath();
      ctx.moveTo(from[0], from[1]);
      ctx.lineTo(to[0], to[1]);
      ctx.stroke();
    }

    canvas.addEventListener('pointerdown', function (ev) {
      ev.preventDefault();
      if (canvas.setPointerCapture) { try { canvas.setPointerCapture(ev.pointerId); } catch (e) {} }
      state.sample = null;
      state.drawing = true;
      state.last = point(ev);
      stroke(state.last, state.last);
      schedule();
    });
    canvas.addEventListener('pointermove', function (ev) {
      if (!state.drawing) { return; }
      ev.preventDefault();
      var p = point(ev);
      stroke(state.last, p);
      state.last = p;
      schedule();
    });
    ['pointerup', 'pointercancel', 'pointerleave'].forEach(function (name) {
      canvas.addEventListener(name, function () {
        if (state.drawing) { state.drawing = false; schedule(); }
      });
    });

    $(pad, 'clear').addEventListener('click', function () {
      state.sample = null;
      clearCanvas();
      update();
    });

    var shelf = $(pad, 'samples');
    samples.digits.forEach(function (item) {
      var pixels = decodeBytes(item.pixels), button = document.createElement('button');
      button.type = 'button';
      button.className = 'cdp-sample';
      button.setAttribute('data-label', String(item.label));
      button.title = 'MNIST 测试图片 #' + item.index + '（标签 ' + item.label + '）';
      var thumb = document.createElement('canvas');
      drawGray(thumb, pixels, 0, 28, 28, 1);
      button.appendChild(thumb);
      button.addEventListener('click', function () {
        state.sample = pixels;
        clearCanvas();
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(thumb, 0, 0, canvas.width, canvas.height);
        update();
      });
      shelf.appendChild(button);
    });

    var blank = lenet.forward(new Float64Array(784));        // the shapes, for the captions
    STAGES.forEach(function (stage) {
      var m = blank.maps[stage[0]];
      $(pad, 'shape-' + stage[0]).textContent = m.c + '×' + m.h + '×' + m.w;
    });
    clearCanvas();
    update();
    pad.setAttribute('data-ready', '1');
  }

  document.querySelectorAll('div.cnn-digit-pad[data-ready="0"]').forEach(function (pad) {
    try {
      setUp(pad);
    } catch (err) {
      pad.setAttribute('data-ready', 'error');
      var note = pad.querySelector('[data-role="status"]');
      if (note) { note.textContent = '画板无法启动：' + err.message; }
      throw err;
    }
  });
})(window);
