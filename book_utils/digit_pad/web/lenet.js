/* LeNet-5 in plain JavaScript, written for the CNN book (page 06: draw a digit).
 *
 * The network trained on page 06 (LeNet5(activation='relu', pooling='max', input_size=28)):
 *   input 1x28x28 -> C1 conv 5x5, 6 maps, zero padding 2, ReLU -> S2 max pool 2x2
 *   -> C3 conv 5x5, 16 maps, ReLU -> S4 max pool 2x2 -> C5 conv 5x5, 120 maps, ReLU
 *   -> F6 linear 120->84, ReLU -> output linear 84->10 (logits).
 * Weights come from book_utils/results/lenet_weights.json (float16, base64), handed to
 * cnnBook.lenet.useWeights(content). Arithmetic is in float64.
 *
 * API (window.cnnBook.lenet):
 *   useWeights(content)   load the weights file's content (an object)
 *   predict(pixels)       784 numbers in [0, 1] (28x28, row by row, white digit on black)
 *                         -> Array of the 10 logits
 *   forward(pixels)       -> {logits, probs, maps: {c1, s2, c3, s4}}; a map is
 *                         {c, h, w, data: Float64Array(c*h*w)}
 *   softmax(logits)       -> Array of 10 probabilities
 *   prepare(gray, w, h)   a drawing (w*h numbers in [0, 1], white ink on black, row by row)
 *                         -> Float64Array(784) prepared as MNIST digits were, or null if blank
 * No fetch, no WebAssembly, no library: the page may be opened from file://.
 */
(function (root) {
  'use strict';
  var book = root.cnnBook = root.cnnBook || {};
  if (book.lenet) { return; }          // one copy per page is enough

  var SHAPES = {
    'c1.weight': [6, 1, 5, 5], 'c1.bias': [6],
    'c3.weight': [16, 6, 5, 5], 'c3.bias': [16],
    'c5.weight': [120, 16, 5, 5], 'c5.bias': [120],
    'f6.weight': [84, 120], 'f6.bias': [84],
    'output.weight': [10, 84], 'output.bias': [10]
  };
  var INK_THRESHOLD = 0.1, BOX = 20, FIELD = 28;
  var weights = null, meanStd = null;

  function halfToFloat(h) {
    var sign = (h & 0x8000) ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    if (exp === 0) { return sign * frac * Math.pow(2, -24); }
    if (exp === 31) { return frac ? NaN : sign * Infinity; }
    return sign * (1 + frac / 1024) * Math.pow(2, exp - 15);
  }

  function decodeHalfs(lines, n, name) {
    var bin = atob(lines.join(''));
    if (bin.length !== 2 * n) {
      throw new Error('lenet: ' + name + ' needs ' + n + ' float16 values, got ' + bin.length / 2);
    }
    var out = new Float64Array(n);
    for (var i = 0; i < n; i++) {
      out[i] = halfToFloat(bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8));
    }
    return out;
  }

  function useWeights(content) {
    if (!content || content.dtype !== 'float16' || !content.tensors) {
      throw new Error('lenet.useWeights: expected the content of lenet_weights.json');
    }
    var w = {};
    content.tensors.forEach(function (t) {
      var shape = SHAPES[t.name];
      if (!shape || shape.join('x') !== t.shape.join('x')) {
        throw new Error('lenet.useWeights: unexpected tensor ' + t.name + ' ' + t.shape);
      }
      w[t.name] = decodeHalfs(t.data, shape.reduce(function (a, b) { return a * b; }, 1), t.name);
    });
    Object.keys(SHAPES).forEach(function (name) {
      if (!w[name]) { throw new Error('lenet.useWeights: missing tensor ' + name); }
    });
    weights = w;
    meanStd = [content.normalize.mean, content.normalize.std];
  }

  // x: {c, h, w, data}; weight (oc, x.c, k, k); zero padding pad; stride 1
  function conv2d(x, weight, bias, oc, k, pad) {
    var ic = x.c, H = x.h, W = x.w, oh = H + 2 * pad - k + 1, ow = W + 2 * pad - k + 1;
    var out = new Float64Array(oc * oh * ow), d = x.data;
    for (var o = 0; o < oc; o++) {
      for (var i = 0; i < oh; i++) {
        for (var j = 0; j < ow; j++) {
          var s = bias[o];
          for (var c = 0; c < ic; c++) {
            for (var u = 0; u < k; u++) {
              var y = i + u - pad;
              if (y < 0 || y >= H) { continue; }
              var rowIn = (c * H + y) * W, rowW = ((o * ic + c) * k + u) * k;
              for (var v = 0; v < k; v++) {
                var xx = j + v - pad;
                if (xx >= 0 && xx < W) { s += d[rowIn + xx] * weight[rowW + v]; }
              }
            }
          }
          out[(o * oh + i) * ow + j] = s;
        }
      }
    }
    return {c: oc, h: oh, w: ow, data: out};
  }

  function relu(x) {
    for (var i = 0; i < x.data.length; i++) { if (x.data[i] < 0) { x.data[i] = 0; } }
    return x;
  }

  function maxPool2(x) {
    var oh = Math.floor(x.h / 2), ow = Math.floor(x.w / 2), out = new Float64Array(x.c * oh * ow);
    for (var c = 0; c < x.c; c++) {
      for (var i = 0; i < oh; i++) {
        for (var j = 0; j < ow; j++) {
          var base = (c * x.h + 2 * i) * x.w + 2 * j;
          out[(c * oh + i) * ow + j] = Math.max(x.data[base], x.data[base + 1],
                                                x.data[base + x.w], x.data[base + x.w + 1]);
        }
      }
    }
    return {c: x.c, h: oh, w: ow, data: out};
  }

  function linear(x, weight, bias, nOut) {
    var nIn = x.length, out = new Float64Array(nOut);
    for (var o = 0; o < nOut; o++) {
      var s = bias[o];
      for (var i = 0; i < nIn; i++) { s += weight[o * nIn + i] * x[i]; }
      out[o] = s;
    }
    return out;
  }

  function softmax(logits) {
    var m = Math.max.apply(null, logits), e = logits.map(function (z) { return Math.exp(z - m); });
    var s = e.reduce(function (a, b) { return a + b; }, 0);
    return e.map(function (v) { return v / s; });
  }

  function checkPixels(pixels) {
    if (!pixels || pixels.length !== 784) {
      throw new Error('lenet.predict: expected 784 pixels (28x28, row by row), got ' +
                      (pixels ? pixels.length : pixels));
    }
    for (var i = 0; i < 784; i++) {
      var p = pixels[i];
      if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
        throw new Error('lenet.predict: pixel ' + i + ' is ' + p + '; pixels must be numbers in [0, 1]');
      }
    }
    if (!weights) { throw new Error('lenet: no weights loaded (call useWeights first)'); }
  }

  function forward(pixels) {
    checkPixels(pixels);
    var w = weights, x = new Float64Array(784);
    for (var i = 0; i < 784; i++) { x[i] = (pixels[i] - meanStd[0]) / meanStd[1]; }
    var c1 = relu(conv2d({c: 1, h: 28, w: 28, data: x}, w['c1.weight'], w['c1.bias'], 6, 5, 2));
    var s2 = maxPool2(c1);
    var c3 = relu(conv2d(s2, w['c3.weight'], w['c3.bias'], 16, 5, 0));
    var s4 = maxPool2(c3);
    var c5 = relu(conv2d(s4, w['c5.weight'], w['c5.bias'], 120, 5, 0));
    var f6 = linear(c5.data, w['f6.weight'], w['f6.bias'], 84);
    for (i = 0; i < f6.length; i++) { if (f6[i] < 0) { f6[i] = 0; } }
    var logits = Array.prototype.slice.call(linear(f6, w['output.weight'], w['output.bias'], 10));
    return {logits: logits, probs: softmax(logits), maps: {c1: c1, s2: s2, c3: c3, s4: s4}};
  }

  function predict(pixels) { return forward(pixels).logits; }

  // (n_out, n_in) area-averaging weights, rows sum to 1 (as prepare.area_matrix in Python)
  function areaMatrix(nIn, nOut) {
    var step = nIn / nOut, m = [];
    for (var i = 0; i < nOut; i++) {
      var lo = i * step, hi = (i + 1) * step, row = new Float64Array(nIn), sum = 0;
      for (var p = Math.floor(lo); p < Math.min(nIn, Math.ceil(hi)); p++) {
        row[p] = Math.max(0, Math.min(hi, p + 1) - Math.max(lo, p));
        sum += row[p];
      }
      for (p = 0; p < nIn; p++) { row[p] /= sum; }
      m.push(row);
    }
    return m;
  }

  // the steps of book_utils.digit_pad.prepare.prepare_drawing, in the same order
  function prepare(gray, width, height) {
    var r0 = height, r1 = -1, c0 = width, c1 = -1, i, j, p;
    for (i = 0; i < height; i++) {
      for (j = 0; j < width; j++) {
        if (gray[i * width + j] > INK_THRESHOLD) {
          if (i < r0) { r0 = i; } if (i > r1) { r1 = i; }
          if (j < c0) { c0 = j; } if (j > c1) { c1 = j; }
        }
      }
    }
    if (r1 < 0) { return null; }
    var bh = r1 - r0 + 1, bw = c1 - c0 + 1, scale = BOX / Math.max(bh, bw);
    var oh = Math.max(1, Math.floor(bh * scale + 0.5)), ow = Math.max(1, Math.floor(bw * scale + 0.5));
    var ry = areaMatrix(bh, oh), rx = areaMatrix(bw, ow);
    var tmp = [];                                   // ry @ crop: (oh, bw)
    for (i = 0; i < oh; i++) {
      var row = new Float64Array(bw);
      for (p = 0; p < bh; p++) {
        var wy = ry[i][p];
        if (wy === 0) { continue; }
        for (j = 0; j < bw; j++) { row[j] += wy * gray[(r0 + p) * width + c0 + j]; }
      }
      tmp.push(row);
    }
    var small = new Float64Array(oh * ow), total = 0, sy = 0, sx = 0;
    for (i = 0; i < oh; i++) {                      // (ry @ crop) @ rx.T: (oh, ow)
      for (j = 0; j < ow; j++) {
        var s = 0;
        for (p = 0; p < bw; p++) { s += tmp[i][p] * rx[j][p]; }
        small[i * ow + j] = s;
        total += s; sy += s * (i + 0.5); sx += s * (j + 0.5);
      }
    }
    var oy = Math.floor(FIELD / 2 - sy / total + 0.5), ox = Math.floor(FIELD / 2 - sx / total + 0.5);
    var out = new Float64Array(FIELD * FIELD);
    for (i = 0; i < oh; i++) {
      for (j = 0; j < ow; j++) {
        var y = i + oy, x = j + ox;
        if (y >= 0 && y < FIELD && x >= 0 && x < FIELD) {
          out[y * FIELD + x] = Math.min(1, Math.max(0, small[i * ow + j]));
        }
      }
    }
    return out;
  }

  book.lenet = {useWeights: useWeights, predict: predict, forward: forward, softmax: softmax,
                prepare: prepare, ready: function () { return weights !== null; }};
})(window);
