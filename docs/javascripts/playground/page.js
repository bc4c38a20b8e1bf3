/* Raw Weights playground page (docs/playground/index.md): the trained robot student writing in
 * the reader's browser, with the sampler's settings and its next-character ballot as bars.
 *
 * Loads the bundle the build published beside the page (the element's data-model), or the one
 * `?model=URL` names (same site only: nothing is fetched from another host). For tests and for
 * the curious, `window.rawweights.playground` offers
 *   ready                       a Promise of the loaded model (rejects with the load error)
 *   predict(text)               Promise<Float32Array>: the logits for the next character
 *   generate(text, {maxNewTokens, temperature, topK, topP, seed})   Promise<string>
 *   firstPredictionMs           when the first ballot was drawn (ms after navigation start)
 */
import { BundleError, loadBundle } from "./model.js";
import { chooser, continuation, distribution, samplingOptions } from "./generate.js";

const SHOWN = 10;           // bars drawn: the likeliest characters
const DEFAULT_PROMPT = "ROMEO:\n";

function el(tag, attributes, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children || []) node.append(child);
  return node;
}

/** How a character reads on a bar: the invisible ones named. */
function shown(ch) {
  return ch === "\n" ? "↵ newline" : ch === " " ? "␣ space" : ch;
}

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
  root.append(
    status,
    el("label", { for: "rw-pg-prompt", class: "rw-pg-label", text: "Prompt (Ctrl+Enter writes, Escape stops)" }), prompt,
    el("div", { class: "rw-pg-buttons" }, [go, stop]), controls,
    output, readout, el("div", { class: "rw-table" }, [table]));
  return { status, prompt, go, stop, ui, output, written, readout, rows };
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
  api.ready = (async () => loadBundle(bundleUrl(root)))();
  api.predict = async (text) => (await api.ready).predict(text);
  api.generate = async (text, options) => {
    const model = await api.ready;
    const o = Object.assign({ maxNewTokens: 100 }, options || {});
    const n = Number(o.maxNewTokens);
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`maxNewTokens ${o.maxNewTokens}: expected an integer >= 1`);
    const out = [];
    for (const { token } of continuation(model.session(), model.encode(text), n, chooser(model.vocab.length, o))) {
      out.push(token);
      if (out.length % 256 === 0) await pause(0);    // let the page breathe on long runs
    }
    return model.decode(out);
  };
  let model;
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
  const c = model.config;
  const params = model.manifest.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  view.status.textContent = `Ready: the robot student after ${model.manifest.source.step} training steps, ` +
    `${(params / 1e6).toFixed(2)} M parameters (${c.n_layers} layers, width ${c.d_model}, ${c.n_heads} heads), ` +
    `${model.manifest.dtype} weights, reading the last ${c.context_len} characters.`;
  view.go.disabled = false;
  view.ui.topK.max = String(model.vocab.length);
  let running = null;

  let typing;
  const showPrompt = () => {
    if (running) return;           // the ballot and the text are the writer's now
    try {
      const logits = model.predict(view.prompt.value || "\n");
      drawBallot(view, model, logits, settings(view.ui), null);
      view.output.replaceChildren(el("span", { class: "rw-pg-prompt", text: view.prompt.value }));
      view.prompt.removeAttribute("aria-invalid");
      if (api.firstPredictionMs === undefined) api.firstPredictionMs = performance.now();
    } catch (err) {
      view.readout.textContent = err.message;
      view.prompt.setAttribute("aria-invalid", "true");
    }
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
    let sinceFrame = performance.now();
    for (const step of continuation(model.session(), ids, length, chooser(model.vocab.length, options))) {
      if (running !== token) break;
      view.written.textContent += model.vocab[step.token];
      const speed = Number(view.ui.speed.value);
      if (speed <= 60) {
        drawBallot(view, model, step.logits, options, step.token);
        await pause(1000 / speed);
      } else if (performance.now() - sinceFrame > 30) {   // as fast as it can: draw now and then
        drawBallot(view, model, step.logits, options, step.token);
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
  view.go.addEventListener("click", write);
  view.stop.addEventListener("click", halt);
  view.prompt.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(showPrompt, 120);
  });
  for (const name of ["temperature", "topK", "topP"]) view.ui[name].addEventListener("input", () => running || showPrompt());
  root.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !view.go.disabled) {
      event.preventDefault();
      write();
    } else if (event.key === "Escape" && running) {
      halt();
    }
  });
  showPrompt();
}

main();
