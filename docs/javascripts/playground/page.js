/* Raw Weights playground page (docs/playground/index.md): the trained robot student writing in
 * the reader's browser, with the sampler's settings and its next-character ballot as bars,
 * where each attention head looks (views.js), the teacher's score of a text the reader types,
 * and the same student at earlier training steps.
 *
 * Loads the bundle the build published beside the page (the element's data-model), or the one
 * `?model=URL` names (same site only: nothing is fetched from another host). For tests and for
 * the curious, `window.rawweights.playground` offers
 *   ready                       a Promise of the loaded model (rejects with the load error)
 *   predict(text)               Promise<Float32Array>: the logits for the next character
 *   generate(text, {maxNewTokens, temperature, topK, topP, seed})   Promise<string>
 *   surprise(text)              Promise<Float32Array>: bits of surprise per character (first NaN)
 *   attention(text)             Promise<{tokens, layers}>: each head's weights after reading text
 *   snapshots, snapshot(step)   the training steps offered; show the student after one of them
 *   firstPredictionMs           when the first ballot was drawn (ms after navigation start)
 * predict, generate, surprise and attention use the model on show (the snapshot chosen).
 */
import { BundleError, loadBundle } from "./model.js";
import { chooser, continuation, distribution, samplingOptions, surprisal } from "./generate.js";
import { el, shown } from "./dom.js";
import { attentionView, surpriseView } from "./views.js";

const SHOWN = 10;           // bars drawn: the likeliest characters
const DEFAULT_PROMPT = "ROMEO:\n";
const DEFAULT_SCORED = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer";

let uid = 0;
function control(box, label, input, format) {
  const id = "rw-pg-" + ++uid;
  input.id = id;
  if (!format) {           // a number field says its value itself
    box.append(el("div", { class: "rw-control" }, [el("label", { for: id, text: label }), input]));
    return input;
  }
  const output = el("output", { for: id });
  box.append(el("div", { class: "rw-control" }, [el("label", { for: id }, [label + " ", output]), input]));
  const show = () => {
    const text = format(input.value);
    output.textContent = text;
    input.setAttribute("aria-valuetext", text);
  };
  input.addEventListener("input", show);
  show();
  return input;
}

/** The bundle to load: ?model=URL (same origin only) or the page's default. */
function bundleUrl(root) {
  const asked = new URLSearchParams(location.search).get("model");
  const url = new URL(asked || root.dataset.model, document.baseURI);
  if (url.origin !== location.origin) {
    throw new BundleError(`?model=${asked} is on another site (${url.origin}); this page loads models from its own site only`);
  }
  return url.href;
}

function build(root) {
  root.hidden = false;
  root.classList.add("rw-widget");
  const status = el("p", { class: "rw-pg-status", role: "status", text: "Loading the robot student…" });
  const prompt = el("textarea", { id: "rw-pg-prompt", rows: "3", spellcheck: "false", autocomplete: "off" });
  prompt.value = DEFAULT_PROMPT;
  const go = el("button", { type: "button", class: "md-button md-button--primary", text: "Generate", disabled: "" });
  const stop = el("button", { type: "button", class: "md-button", text: "Stop", disabled: "" });
  const controls = el("div", { class: "rw-controls" });
  const range = (min, max, step, value) => el("input", { type: "range", min, max, step, value });
  const ui = {
    temperature: control(controls, "Temperature", range(0, 2, 0.05, 0.8),
      (v) => (Number(v) === 0 ? "0 (greedy)" : Number(v).toFixed(2))),
    topK: control(controls, "Top-k", range(1, 65, 1, 65), (v) => (Number(v) >= 65 ? "off" : v)),
    topP: control(controls, "Top-p", range(0.05, 1, 0.05, 1), (v) => (Number(v) >= 1 ? "off" : Number(v).toFixed(2))),
    speed: control(controls, "Speed", range(1, 61, 1, 30), (v) => (Number(v) > 60 ? "as fast as it can" : v + " characters/s")),
    seed: control(controls, "Seed", el("input", { type: "number", min: "0", step: "1", value: "0", inputmode: "numeric" })),
    length: control(controls, "Characters to write", el("input", { type: "number", min: "1", max: "2000", step: "1", value: "300" })),
  };
  const output = el("pre", { class: "rw-pg-output", "aria-live": "off", tabindex: "0", "aria-label": "The text so far" });
  const written = el("span", { class: "rw-pg-new" });
  const readout = el("p", { class: "rw-readout", "aria-live": "polite" });
  const body = el("tbody");
  const table = el("table", { class: "rw-ballot rw-pg-ballot" }, [
    el("caption", { text: `The voting box: the ${SHOWN} likeliest next characters at these settings` }),
    el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: "next" }), el("th", { scope: "col", text: "probability" })])]),
    body,
  ]);
  const rows = Array.from({ length: SHOWN }, () => {
    const bar = el("span", { class: "rw-bar", style: "width: 0" });
    const p = el("span", { class: "rw-p" });
    const label = el("th", { scope: "row" });
    const tr = el("tr", {}, [label, el("td", { class: "rw-pcell" }, [el("span", { class: "rw-track" }, [bar]), p])]);
    body.append(tr);
    return { tr, bar, p, label };
  });
  const snapshot = el("select", { id: "rw-pg-snapshot" });
  const snapshotBox = el("div", { class: "rw-control rw-pg-snapshot", hidden: "" }, [
    el("label", { for: "rw-pg-snapshot", text: "The student after " }), snapshot]);
  const attention = attentionView();
  const surprise = surpriseView(DEFAULT_SCORED);
  root.append(
    status, snapshotBox,
    el("label", { for: "rw-pg-prompt", class: "rw-pg-label", text: "Prompt (Ctrl+Enter writes, Escape stops)" }), prompt,
    el("div", { class: "rw-pg-buttons" }, [go, stop]), controls,
    output, readout, el("div", { class: "rw-table" }, [table]), attention.node, surprise.node);
  return { status, snapshot, snapshotBox, prompt, go, stop, ui, output, written, readout, rows, attention, surprise };
}

/** The training snapshots the page offers ({step, url}, the final model last), from the data
 * the build exported for the element (data-rw-data: {steps, model: "...{step}..."}); none
 * under ?model=. */
function snapshotList(root, finalUrl) {
  if (new URLSearchParams(location.search).has("model") || !root.dataset.rwData) return [];
  const script = [...document.querySelectorAll('script[type="application/json"][data-rw-data]')]
    .find((s) => s.dataset.rwData === root.dataset.rwData);
  const exported = script ? JSON.parse(script.textContent) : {};
  const steps = Array.isArray(exported.steps) ? exported.steps : [];
  if (!steps.length || !String(exported.model).includes("{step}")) return [];
  return steps.filter((n) => Number.isInteger(n) && n >= 0)
    .map((step) => ({ step, url: new URL(exported.model.replace("{step}", String(step)), document.baseURI).href }))
    .concat([{ step: null, url: finalUrl }]);
}

function settings(ui) {
  const k = Number(ui.topK.value), p = Number(ui.topP.value);
  return samplingOptions({ temperature: Number(ui.temperature.value), topK: k >= 65 ? null : k,
    topP: p >= 1 ? null : p, seed: Math.max(0, Math.floor(Number(ui.seed.value) || 0)) });
}

function drawBallot(view, model, logits, options, chosen) {
  const vocab = model.vocab.length;
  const p = distribution(logits, vocab, options.temperature === 0 ? { temperature: 0 } : options);
  const order = p.map((_, i) => i).sort((a, b) => p[b] - p[a] || a - b).slice(0, SHOWN);
  order.forEach((i, r) => {
    const row = view.rows[r];
    row.label.textContent = shown(model.vocab[i]);
    row.bar.style.width = (100 * p[i]).toFixed(1) + "%";
    row.p.textContent = (100 * p[i]).toFixed(1) + "%";
    row.tr.classList.toggle("rw-pg-chosen", i === chosen);
  });
  const top = order[0];
  view.readout.textContent = `Likeliest next: ${JSON.stringify(model.vocab[top])} at ${(100 * p[top]).toFixed(1)}%` +
    (chosen == null ? "" : `; drawn: ${JSON.stringify(model.vocab[chosen])}`);
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const root = document.getElementById("rw-playground");
  if (!root) return;
  const view = build(root);
  const api = (window.rawweights = window.rawweights || {}).playground = {};
  let model = null;              // the model on show (the final student, or a snapshot)
  const loaded = new Map();      // url -> Promise of its model: each bundle fetched once
  const load = (url) => {
    if (!loaded.has(url)) loaded.set(url, loadBundle(url));
    return loaded.get(url);
  };
  let firstUrl;
  api.ready = (async () => load((firstUrl = bundleUrl(root))))();
  const current = async () => model || api.ready;
  api.predict = async (text) => (await current()).predict(text);
  api.generate = async (text, options) => {
    const m = await current();
    const o = Object.assign({ maxNewTokens: 100 }, options || {});
    const n = Number(o.maxNewTokens);
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`maxNewTokens ${o.maxNewTokens}: expected an integer >= 1`);
    const out = [];
    for (const { token } of continuation(m.session(), m.encode(text), n, chooser(m.vocab.length, o))) {
      out.push(token);
      if (out.length % 256 === 0) await pause(0);    // let the page breathe on long runs
    }
    return m.decode(out);
  };
  /** Bits of surprise for each character of `text` after the first (the first is NaN). */
  api.surprise = async (text) => {
    const m = await current();
    return surprisal(m.session(), m.encode(text));
  };
  /** The attention weights after reading `text` (its last context_len characters):
   * {tokens, layers: [layer][head] -> Float32Array over the positions read}. */
  api.attention = async (text) => {
    const m = await current();
    const session = m.session();
    session.prefill(m.encode(text).slice(-m.S));
    const { tokens, rows } = session.attention();
    return { tokens, layers: Array.from({ length: m.L }, (_, l) => rows(l).map((w) => Float32Array.from(w))) };
  };
  try {
    model = await api.ready;
  } catch (err) {
    view.status.textContent = "The model could not be loaded: " + err.message;
    view.status.classList.add("rw-pg-error");
    view.status.setAttribute("role", "alert");
    // nothing to play with: only the message stays
    for (const child of root.children) if (child !== view.status) child.hidden = true;
    return;
  }
  const final = model;
  let running = null;
  let typing, scoring;

  const describe = (m) => {
    const c = m.config;
    const params = m.manifest.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    return `Ready: the robot student after ${m.manifest.source.step} training steps, ` +
      `${(params / 1e6).toFixed(2)} M parameters (${c.n_layers} layers, width ${c.d_model}, ${c.n_heads} heads), ` +
      `${m.manifest.dtype} weights, reading the last ${c.context_len} characters.`;
  };
  const showPrompt = () => {
    if (running) return;           // the ballot and the text are the writer's now
    try {
      const logits = model.predict(view.prompt.value || "\n");
      drawBallot(view, model, logits, settings(view.ui), null);
      view.attention.draw(model, model.own);
      view.output.replaceChildren(el("span", { class: "rw-pg-prompt", text: view.prompt.value }));
      view.prompt.removeAttribute("aria-invalid");
      if (api.firstPredictionMs === undefined) api.firstPredictionMs = performance.now();
    } catch (err) {
      view.readout.textContent = err.message;
      view.prompt.setAttribute("aria-invalid", "true");
    }
  };
  const score = () => view.surprise.draw(model, model.session());
  const use = (m) => {
    model = m;
    view.status.textContent = describe(m);
    view.status.classList.remove("rw-pg-error");
    view.ui.topK.max = String(m.vocab.length);
    view.attention.reset(m.L);
    showPrompt();
    score();
  };

  async function write() {
    const text = view.prompt.value || "\n";
    let ids;
    try {
      ids = model.encode(text);
    } catch (err) {
      view.readout.textContent = err.message;
      return;
    }
    clearTimeout(typing);
    const token = (running = {});
    view.go.disabled = true;
    view.stop.disabled = false;
    view.written.textContent = "";
    view.output.replaceChildren(el("span", { class: "rw-pg-prompt", text }), view.written);
    const options = settings(view.ui);
    const length = Math.min(2000, Math.max(1, Math.floor(Number(view.ui.length.value) || 300)));
    const writer = model, session = writer.session();
    let sinceFrame = performance.now();
    const draw = (step) => {
      drawBallot(view, writer, step.logits, options, step.token);
      view.attention.draw(writer, session);
    };
    for (const step of continuation(session, ids, length, chooser(writer.vocab.length, options))) {
      if (running !== token) break;
      view.written.textContent += writer.vocab[step.token];
      const speed = Number(view.ui.speed.value);
      if (speed <= 60) {
        draw(step);
        await pause(1000 / speed);
      } else if (performance.now() - sinceFrame > 30) {   // as fast as it can: draw now and then
        draw(step);
        await pause(0);
        sinceFrame = performance.now();
      }
    }
    if (running === token) running = null;
    view.go.disabled = false;
    view.stop.disabled = true;
  }

  const halt = () => {
    running = null;
    view.go.disabled = false;
    view.stop.disabled = true;
  };

  // the training snapshots: the same student earlier in its training
  const snapshots = snapshotList(root, firstUrl);
  api.snapshots = snapshots.map((s) => s.step ?? final.manifest.source.step);
  /** Show the student after `step` training steps (one of api.snapshots). */
  api.snapshot = async (step) => {
    const i = api.snapshots.indexOf(Number(step));
    if (i < 0) throw new RangeError(`no snapshot at step ${step}: this page has ${api.snapshots.join(", ") || "none"}`);
    view.snapshot.value = String(i);
    halt();
    view.status.textContent = `Loading the student after ${api.snapshots[i]} steps…`;
    try {
      use(await load(snapshots[i].url));
    } catch (err) {
      view.status.textContent = "That snapshot could not be loaded: " + err.message;
      view.status.classList.add("rw-pg-error");
      throw err;
    }
    return model;
  };
  if (snapshots.length > 1) {
    view.snapshot.replaceChildren(...api.snapshots.map((step, i) => el("option", { value: String(i),
      text: `${step} training steps` + (i === snapshots.length - 1 ? " (final)" : "") })));
    view.snapshot.value = String(snapshots.length - 1);
    view.snapshotBox.hidden = false;
    view.snapshot.addEventListener("change", () => api.snapshot(api.snapshots[Number(view.snapshot.value)]).catch(() => {}));
  }

  view.go.disabled = false;
  view.go.addEventListener("click", write);
  view.stop.addEventListener("click", halt);
  view.prompt.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(showPrompt, 120);
  });
  view.surprise.input.addEventListener("input", () => {
    clearTimeout(scoring);
    scoring = setTimeout(score, 200);
  });
  for (const name of ["temperature", "topK", "topP"]) view.ui[name].addEventListener("input", () => running || showPrompt());
  root.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !view.go.disabled && event.target !== view.surprise.input) {
      event.preventDefault();
      write();
    } else if (event.key === "Escape" && running) {
      halt();
    }
  });
  use(model);
}

main();
