/* Raw Weights: small widgets that let a reader move what a figure can only show at a few
 * settings. Each reads the data its snippet exported when the site was built
 * (`rwsite.claims.data` / `heatmap`, embedded as <script type="application/json"
 * data-rw-data="name">), so what it draws is what the build computed:
 *
 * - temperature: <div class="rw-widget" data-rw-widget="temperature" data-rw-data="ballot" hidden>
 *   the trained student's ballot ({labels, logits}) re-drawn as the temperature, top-k and
 *   top-p sliders move (the math is RawWeights.sampling, rw-sampling.js);
 * - rope: data-rw-widget="rope", a head's query and key ({q, k, width, base}) and its score
 *   against distance at any base, with how far one pair has turned, cos(d theta_i);
 * - heatmap: set on a figure's <image> by the build (rwsite/fence.py); the cell under the pointer (or the keyboard
 *   cursor) shows its row, its column and its value;
 * - calculator: in its own file (rw-calculator.js), registered in RawWeights.widgets.
 *
 * The static figure stays on the page for print and for readers without JavaScript: a widget
 * element is `hidden` until this script fills it, and the stylesheet hides widgets in print.
 */
(function () {
  "use strict";

  const sampling = window.RawWeights && window.RawWeights.sampling;
  let uid = 0;

  function dataFor(ref) {
    for (const script of document.querySelectorAll('script[type="application/json"][data-rw-data]')) {
      if (script.getAttribute("data-rw-data") === ref) return JSON.parse(script.textContent);
    }
    throw new Error("rw-widgets: no data " + ref + " on this page");
  }

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svgEl(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    return node;
  }

  /** A labelled slider: <label> with a live <output>, and the range input it names. */
  function slider(box, label, options) {
    const id = "rw-slider-" + ++uid;
    const output = el("output", { for: id, class: "rw-value-out" });
    const input = el("input", {
      type: "range", id, min: options.min, max: options.max, step: options.step, value: options.value,
    });
    box.append(el("div", { class: "rw-control" }, [
      el("label", { for: id }, [label + " ", output]),
      input,
    ]));
    const show = () => {
      const text = options.format(Number(input.value));
      output.textContent = text;
      input.setAttribute("aria-valuetext", label + " " + text);
    };
    input.addEventListener("input", show);
    input.rwRefresh = show;   // for a widget that moves the slider's range or value itself
    show();
    return input;
  }

  function probabilityText(p) {
    if (p === 0) return "0 (cut)";
    if (p >= 0.0995) return p.toFixed(2);
    if (p >= 0.001) return p.toFixed(3);
    return p.toExponential(1);
  }

  // ---- temperature: the voting box ----------------------------------------------------------

  const SHOWN = 10;  // rows of the ballot drawn; the rest are summed in one line

  function temperatureWidget(box, ballot) {
    const n = ballot.logits.length;
    const order = ballot.logits.map((_, i) => i).sort((a, b) => ballot.logits[b] - ballot.logits[a]);
    box.classList.add("rw-temperature");
    box.append(el("p", { class: "rw-widget-title",
      text: "Try it: the same ballot after " + JSON.stringify(ballot.prompt) + ", at any setting" }));
    const controls = el("div", { class: "rw-controls" });
    box.append(controls);
    // The temperature slider moves log10(T), so 0.01 to 10 each get room; 0 is the greedy limit.
    const temperature = slider(controls, "Temperature", {
      min: -2, max: 1, step: 0.01, value: 0, format: (x) => fmtT(temperatureAt(x)),
    });
    const topK = slider(controls, "Top-k", {
      min: 1, max: n, step: 1, value: n, format: (k) => (k >= n ? "off (all " + n + ")" : String(k)),
    });
    const topP = slider(controls, "Top-p", {
      min: 0.05, max: 1, step: 0.01, value: 1, format: (p) => (p >= 1 ? "off (1.00)" : p.toFixed(2)),
    });
    const readout = el("p", { class: "rw-readout", "aria-live": "polite" });
    const body = el("tbody");
    const table = el("table", { class: "rw-ballot" }, [
      el("caption", { text: "The " + SHOWN + " highest scores, best first, and what they get" }),
      el("thead", {}, [el("tr", {}, [
        el("th", { scope: "col", text: "next" }),
        el("th", { scope: "col", text: "score" }),
        el("th", { scope: "col", text: "probability" }),
      ])]),
      body,
    ]);
    box.append(readout, el("div", { class: "rw-table" }, [table]));
    const rows = order.slice(0, SHOWN).map((i) => row(ballot.labels[i], ballot.logits[i].toFixed(2), i));
    const rest = row("other " + (n - SHOWN), "", -1);
    rows.forEach((r) => body.append(r.tr));
    body.append(rest.tr);

    function row(label, score, index) {
      const bar = el("span", { class: "rw-bar" });
      const text = el("span", { class: "rw-p" });
      const cell = el("td", { class: "rw-pcell" }, [el("span", { class: "rw-track" }, [bar]), text]);
      const tr = el("tr", { "data-index": index }, [
        el("th", { scope: "row", text: label }), el("td", { class: "rw-num", text: score }), cell,
      ]);
      return { tr, bar, text, cell };
    }

    function update() {
      const T = temperatureAt(Number(temperature.value));
      const k = Number(topK.value), pCut = Number(topP.value);
      const p = sampling.probabilities(ballot.logits, { temperature: T, topK: k >= n ? null : k,
                                                       topP: pCut >= 1 ? null : pCut });
      order.slice(0, SHOWN).forEach((i, j) => paint(rows[j], p[i]));
      paint(rest, order.slice(SHOWN).reduce((s, i) => s + p[i], 0));
      const kept = p.filter((x) => x > 0).length;
      const top = sampling.argmax(p);
      readout.textContent = "T = " + fmtT(T) + ": top choice " + JSON.stringify(ballot.labels[top]) + " gets "
        + probabilityText(p[top]) + "; entropy " + sampling.entropyBits(p).toFixed(2) + " bits; "
        + kept + " of " + n + " characters can be drawn.";
      box.dataset.temperature = String(T);
    }

    function paint(r, p) {
      r.bar.style.width = (100 * p).toFixed(2) + "%";
      r.text.textContent = probabilityText(p);
      r.cell.dataset.p = String(p);
    }

    for (const input of [temperature, topK, topP]) input.addEventListener("input", update);
    update();
  }

  function fmtT(T) {
    return T < 0.1 ? T.toFixed(3) : T.toFixed(2);
  }

  /** The temperature at slider position x (log10 T), rounded as shown: the shown T is the T used. */
  function temperatureAt(x) {
    return Number(fmtT(Math.pow(10, x)));
  }

  // ---- rope: a head's score against distance, at any base ------------------------------------

  /** Radians per position of each of the width/2 pairs: base^(-2i/width) (rope_frequencies). */
  function ropeFrequencies(base, width) {
    const theta = [];
    for (let i = 0; i < width / 2; i++) theta.push(Math.pow(base, -2 * i / width));
    return theta;
  }

  /** Pair i's share of the score q_m . k_(m-d) / sqrt(H) at each distance d: the key's pair
   * (k_i, k_(i+R/2)) turned back by d * theta_i against the query's (apply_rope's layout). */
  function ropePairScores(q, k, theta, i, distances) {
    const half = q.length / 2, scale = Math.sqrt(q.length);
    const a = q[i], b = q[i + half], c = k[i], e = k[i + half];
    const along = a * c + b * e, across = a * e - b * c;
    return distances.map((d) => (along * Math.cos(d * theta[i]) + across * Math.sin(d * theta[i])) / scale);
  }

  function ropeScores(q, k, theta, distances) {
    const total = distances.map(() => 0);
    for (let i = 0; i < theta.length; i++) {
      ropePairScores(q, k, theta, i, distances).forEach((s, j) => { total[j] += s; });
    }
    return total;
  }

  const DISTANCES = Array.from({ length: 128 }, (_, d) => d);

  /** An SVG line chart against distance 0..127, with a fixed vertical range [-ymax, ymax]:
   * moving a slider never rescales it. Returns the <svg> and its line. */
  function distanceChart(ymax, lineClass, width) {
    // As wide in units as on screen (within reason): text of 12 units reads as 12 pixels.
    const W = Math.max(300, Math.min(560, width || 400)), H = 166, left = 40, right = 16, top = 8, bottom = 38;
    const svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H, class: "rw-chart", role: "img" });
    const x = (d) => left + (W - left - right) * d / (DISTANCES.length - 1);
    const y = (s) => top + (H - top - bottom) * (ymax - s) / (2 * ymax);
    svg.append(svgEl("line", { x1: left, x2: W - right, y1: y(0), y2: y(0), class: "rw-axis" }));
    svg.append(svgEl("line", { x1: left, x2: left, y1: top, y2: H - bottom, class: "rw-axis" }));
    const text = (content, attributes) => {
      const t = svgEl("text", attributes);
      t.textContent = content;
      svg.append(t);
    };
    for (const d of [0, 32, 64, 96, 127]) text(String(d), { x: x(d), y: H - bottom + 15, "text-anchor": "middle" });
    for (const s of [-ymax, 0, ymax]) {
      text(s === 0 ? "0" : (s > 0 ? "+" : "\u2212") + fmtTick(Math.abs(s)), { x: left - 5, y: y(s) + 4, "text-anchor": "end" });
    }
    text("distance d between query and key", { x: (left + W - right) / 2, y: H - 5, "text-anchor": "middle" });
    const line = svgEl("polyline", { class: "rw-line " + lineClass });
    svg.append(line);
    const draw = (values) => line.setAttribute("points",
      values.map((s, d) => x(d).toFixed(1) + "," + y(s).toFixed(1)).join(" "));
    return { svg, draw };
  }

  function fmtTick(v) {
    return Number.isInteger(v) ? String(v) : v.toFixed(1);
  }

  function ropeWidget(box, head) {
    box.classList.add("rw-rope");
    box.append(el("p", { class: "rw-widget-title", text: "Try it: the head above at another base" }));
    const controls = el("div", { class: "rw-controls" });
    box.append(controls);
    const base = slider(controls, "Base b", {
      min: 2, max: 6, step: 0.05, value: Math.log10(head.base), format: (x) => fmtBase(baseAt(x)),
    });
    const pair = slider(controls, "Pair i", {
      min: 0, max: head.width / 2 - 1, step: 1, value: 0, format: (i) => i + " of 0\u2013" + (head.width / 2 - 1),
    });
    // One vertical range for every base, so that the curve moves and the axes stay.
    let ymax = 0;
    for (const b of [1e2, 1e3, 1e4, 1e5, 1e6]) {
      for (const s of ropeScores(head.q, head.k, ropeFrequencies(b, head.width), DISTANCES)) {
        ymax = Math.max(ymax, Math.abs(s));
      }
    }
    const width = box.clientWidth - 32;   // less the padding; the box is shown while it is built
    const whole = distanceChart(Math.ceil(ymax * 1.05 * 2) / 2, "rw-line-head", width);
    const one = distanceChart(1, "rw-line-pair", width);
    const pairCaption = el("p", { class: "rw-chart-caption" });
    const readout = el("p", { class: "rw-readout", "aria-live": "polite" });
    box.append(
      el("p", { class: "rw-chart-caption", text: "The head's score q\u00b7k/\u221aH, all its pairs together" }),
      el("div", { class: "rw-chart-box" }, [whole.svg]),
      pairCaption, el("div", { class: "rw-chart-box" }, [one.svg]), readout);

    function update() {
      const b = baseAt(Number(base.value)), i = Number(pair.value);
      const theta = ropeFrequencies(b, head.width);
      const scores = ropeScores(head.q, head.k, theta, DISTANCES);
      const turned = DISTANCES.map((d) => Math.cos(d * theta[i]));
      whole.draw(scores);
      one.draw(turned);
      pairCaption.textContent = "Pair " + i + " alone: cos(d\u00b7\u03b8" + subscript(i)
        + "), how far it has turned between query and key";
      const turn = 2 * Math.PI / theta[i];
      readout.textContent = "Base " + fmtBase(b) + ": pair " + i + " turns " + fmtNumber(theta[i])
        + " radians per position, a full turn every " + fmtNumber(turn) + " positions. "
        + "Score at distance 1: " + scores[1].toFixed(3) + ", at 64: " + scores[64].toFixed(3) + ".";
      whole.svg.setAttribute("aria-label", "The head's score against distance 0 to 127 at base " + fmtBase(b));
      one.svg.setAttribute("aria-label", "cos of pair " + i + "'s angle against distance 0 to 127 at base "
        + fmtBase(b) + ": a full turn every " + fmtNumber(turn) + " positions");
      box.dataset.scores = JSON.stringify(scores.map((s) => Number(s.toFixed(6))));
      box.dataset.theta = JSON.stringify(theta);
      box.dataset.pair = JSON.stringify(turned.map((c) => Number(c.toFixed(6))));
    }
    base.addEventListener("input", update);
    pair.addEventListener("input", update);
    update();
  }

  const SUBSCRIPT = "\u2080\u2081\u2082\u2083\u2084\u2085\u2086\u2087\u2088\u2089";
  function subscript(n) {
    return [...String(n)].map((c) => SUBSCRIPT[Number(c)]).join("");
  }

  /** The base at slider position x (log10 b), to two significant digits, as shown. */
  function baseAt(x) {
    return Number(Math.pow(10, x).toPrecision(2));
  }

  function fmtBase(b) {
    return Math.round(b).toLocaleString("en-US");
  }

  const SUPERSCRIPT = { "-": "\u207b", 0: "\u2070", 1: "\u00b9", 2: "\u00b2", 3: "\u00b3", 4: "\u2074",
                       5: "\u2075", 6: "\u2076", 7: "\u2077", 8: "\u2078", 9: "\u2079" };

  /** 2,084,765 / 6.28 / 0.032 / 3.0 × 10⁻⁶: what a reader reads without counting zeros. */
  function fmtNumber(v) {
    if (v >= 100) return Math.round(v).toLocaleString("en-US");
    if (v >= 1) return v.toPrecision(3);
    if (v >= 0.01) return v.toPrecision(2);
    return scientific(v, 2);
  }

  /** 2.82 × 10⁻⁶ for 0.00000282, with `digits` significant digits. */
  function scientific(v, digits) {
    const [mantissa, exponent] = v.toExponential(digits - 1).split("e");
    return mantissa + " \u00d7 10" + [...String(Number(exponent))].map((c) => SUPERSCRIPT[c]).join("");
  }

  /** A heatmap cell's value as exported (three significant digits), tiny ones as powers of ten. */
  function cellText(v) {
    return v !== 0 && Math.abs(v) < 0.001 ? scientific(v, 3).replace(/\.?0+ \u00d7/, " \u00d7") : String(v);
  }

  // ---- heatmap: hover (or arrow keys) for a cell's labels and value -------------------------

  function heatmapFigure(figure) {
    const maps = [...figure.querySelectorAll('image[data-rw-widget="heatmap"]')].map((image) => ({
      image, data: dataFor(image.getAttribute("data-rw-data")),
    }));
    if (!maps.length) return;
    figure.classList.add("rw-hoverable");
    figure.tabIndex = 0;
    const perDrawing = figure.querySelector("svg").querySelectorAll('image[data-rw-widget="heatmap"]').length;
    const hint = el("span", { class: "rw-sr-only", id: "rw-hint-" + ++uid,
      text: "Hover a cell, or use the arrow keys, to read its value"
        + (perDrawing > 1 ? "; Page Up and Page Down go from one map to the next." : ".") });
    figure.setAttribute("aria-describedby", hint.id);  // its caption stays its name
    const tip = el("div", { class: "rw-tip", role: "status", "aria-live": "polite", hidden: "" });
    const mark = el("div", { class: "rw-cell-mark", hidden: "" });
    figure.append(hint, mark, tip);
    let cursor = null;  // {map, r, c} of the keyboard's cell

    const shown = () => maps.filter((m) => m.image.getBoundingClientRect().width > 0);

    function cellAt(clientX, clientY) {
      for (const m of shown()) {
        const box = m.image.getBoundingClientRect();
        const rows = m.data.values.length, cols = m.data.values[0].length;
        const c = Math.floor((clientX - box.left) / box.width * cols);
        const r = Math.floor((clientY - box.top) / box.height * rows);
        if (r >= 0 && r < rows && c >= 0 && c < cols) return { map: m, r, c };
      }
      return null;
    }

    function show(cell) {
      if (!cell) { tip.hidden = true; mark.hidden = true; return; }
      const d = cell.map.data, v = d.values[cell.r][cell.c];
      tip.replaceChildren(
        el("span", { text: d.row_title + " " + JSON.stringify(d.rows[cell.r]) + " (" + cell.r + ")" }), el("br"),
        el("span", { text: d.col_title + " " + JSON.stringify(d.cols[cell.c]) + " (" + cell.c + ")" }), el("br"),
        el("strong", { class: "rw-tip-value", text: v === null ? d.blank : cellText(v) }));
      tip.dataset.value = v === null ? "" : String(v);
      tip.dataset.row = cell.r;
      tip.dataset.col = cell.c;
      const frame = figure.getBoundingClientRect(), box = cell.map.image.getBoundingClientRect();
      const w = box.width / d.values[0].length, h = box.height / d.values.length;
      const cx = box.left - frame.left + cell.c * w, cy = box.top - frame.top + cell.r * h;
      Object.assign(mark.style, { left: cx + "px", top: cy + "px", width: w + "px", height: h + "px" });
      mark.hidden = false;
      tip.hidden = false;
      // Beside the cell, kept inside the figure (a phone's column is narrow).
      const tw = tip.offsetWidth, th = tip.offsetHeight;
      let tx = cx + w + 8, ty = cy - th - 6;
      if (tx + tw > frame.width) tx = Math.max(0, cx - tw - 8);
      if (ty < 0) ty = cy + h + 6;
      Object.assign(tip.style, { left: tx + "px", top: ty + "px" });
    }

    figure.addEventListener("pointermove", (event) => show(cellAt(event.clientX, event.clientY)));
    figure.addEventListener("pointerdown", (event) => show(cellAt(event.clientX, event.clientY)));
    figure.addEventListener("pointerleave", () => show(cursor));
    figure.addEventListener("blur", () => { cursor = null; show(null); });
    figure.addEventListener("focus", () => {
      const first = shown()[0];
      cursor = cursor || (first && { map: first, r: 0, c: 0 });
      show(cursor);
    });
    figure.addEventListener("keydown", (event) => {
      const visible = shown();
      if (!cursor || !visible.includes(cursor.map)) cursor = visible[0] && { map: visible[0], r: 0, c: 0 };
      if (!cursor) return;
      const rows = cursor.map.data.values.length, cols = cursor.map.data.values[0].length;
      const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      if (moves[event.key]) {
        cursor.r = Math.min(rows - 1, Math.max(0, cursor.r + moves[event.key][0]));
        cursor.c = Math.min(cols - 1, Math.max(0, cursor.c + moves[event.key][1]));
      } else if (event.key === "PageDown" || event.key === "PageUp") {
        const j = visible.indexOf(cursor.map) + (event.key === "PageDown" ? 1 : -1);
        if (j < 0 || j >= visible.length) return;
        cursor = { map: visible[j], r: 0, c: 0 };
      } else if (event.key === "Escape") {
        show(null);
        return;
      } else {
        return;
      }
      event.preventDefault();
      show(cursor);
    });
  }

  // ---- start ---------------------------------------------------------------------------------

  const WIDGETS = { temperature: temperatureWidget, rope: ropeWidget };
  // Widgets of their own files (rw-calculator.js) register in RawWeights.widgets, before this
  // file runs (mkdocs.yml lists them first), and build with the same helpers.
  window.RawWeights = window.RawWeights || {};
  window.RawWeights.ui = { el, slider, dataFor };

  function init() {
    for (const box of document.querySelectorAll("div.rw-widget[data-rw-widget]:not([data-rw-ready])")) {
      box.setAttribute("data-rw-ready", "");
      const kind = box.getAttribute("data-rw-widget");
      const make = WIDGETS[kind] || (window.RawWeights.widgets || {})[kind];
      if (!make) throw new Error("rw-widgets: no widget " + kind);
      box.hidden = false;
      make(box, dataFor(box.getAttribute("data-rw-data")));
    }
    const figures = new Set();
    for (const image of document.querySelectorAll('image[data-rw-widget="heatmap"]')) {
      figures.add(image.closest("figure"));
    }
    for (const figure of figures) {
      if (figure && !figure.hasAttribute("data-rw-ready")) {
        figure.setAttribute("data-rw-ready", "");
        heatmapFigure(figure);
      }
    }
  }

  // Material's instant loading swaps pages without a reload and announces each on document$;
  // without it (or before Material's bundle), the page's own load is enough.
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }

  window.RawWeights = window.RawWeights || {};
  window.RawWeights.rope = { frequencies: ropeFrequencies, scores: ropeScores, pairScores: ropePairScores };
})();
