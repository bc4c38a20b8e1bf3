/* Raw Weights: the model-size calculator. Start from a shipped config (the zoo), move its
 * layers, width, heads, KV heads, experts, experts per token, context and dtype, and read the
 * total and active parameters, the KV cache and the FLOPs per token.
 *
 * The arithmetic is RawWeights.counts (rw-counts.js), which mirrors
 * rawweights_jax/analysis/counts.py; this file is the page around it. The page places it with
 *   <div class="rw-widget" data-rw-widget="calculator" data-rw-data="calculator" hidden></div>
 * where `calculator` is what snippets/arch/calculator.py exported: each zoo model's fields (its
 * per-layer lists as two rules: `layer_pattern`, repeated over the layers, and `dense_first`,
 * the leading layers that keep a dense MLP) and the library's own numbers for it, which the
 * widget checks its own against when it starts (a mismatch is a console error).
 *
 * Test hook: `window.rawweights.calculator.compute(fields)` -> {total, active, kvBytesPerToken,
 * flopsPerToken, ...}, where `fields` are ModelConfig fields (lists or rules) plus `context`
 * (tokens, default 8192) and `dtype` (default "bfloat16").
 */
(function () {
  "use strict";

  const RW = (window.RawWeights = window.RawWeights || {});
  const counts = RW.counts;
  const CONTEXTS = Array.from({ length: 14 }, (_, i) => 2 ** (i + 7));   // 128 to 1,048,576

  /** The fields with layer_kinds and mlp_layers spelled out (from the rules when absent). */
  function expand(fields) {
    const L = fields.n_layers;
    const pattern = fields.layer_pattern || ["global"], dense = fields.dense_first || 0;
    return Object.assign({}, fields, {
      layer_kinds: fields.layer_kinds || Array.from({ length: L }, (_, i) => pattern[i % pattern.length]),
      mlp_layers: fields.mlp_layers
        || Array.from({ length: L }, (_, i) => (fields.n_experts && i >= dense ? "moe" : "dense")),
    });
  }

  /** What the sliders can break, refused as ModelConfig refuses it: naming the field. */
  function check(cfg, context) {
    const bad = (name, value, expected) => {
      throw new RangeError(name + "=" + JSON.stringify(value) + " is invalid: expected " + expected);
    };
    for (const name of ["n_layers", "d_model", "n_heads", "n_kv_heads"]) {
      if (!(Number.isInteger(cfg[name]) && cfg[name] > 0)) bad(name, cfg[name], "a positive integer");
    }
    if (cfg.n_heads % cfg.n_kv_heads) bad("n_kv_heads", cfg.n_kv_heads, "a divisor of n_heads=" + cfg.n_heads);
    if (!(Number.isInteger(cfg.n_experts) && cfg.n_experts >= 0)) bad("n_experts", cfg.n_experts, "an integer >= 0");
    if (cfg.n_experts && !(cfg.experts_per_token >= 1 && cfg.experts_per_token <= cfg.n_experts)) {
      bad("experts_per_token", cfg.experts_per_token, "1 to n_experts=" + cfg.n_experts);
    }
    for (const name of ["layer_kinds", "mlp_layers"]) {
      if (cfg[name].length !== cfg.n_layers) bad(name, cfg[name], cfg.n_layers + " (n_layers) entries");
    }
    if (!(Number.isInteger(context) && context > 0)) bad("context", context, "a positive integer");
  }

  /** The calculator's numbers for `fields` (see the header): counts.py's, through rw-counts.js. */
  function compute(fields) {
    const cfg = expand(fields);
    const context = fields.context === undefined ? 8192 : fields.context;
    const dtype = fields.dtype || "bfloat16";
    check(cfg, context);
    const params = counts.paramCounts(cfg), flops = counts.flopsPerToken(cfg, context);
    const kv = counts.kvBytes(cfg, context, 1, dtype);
    return {
      total: params.total, active: params.active, params,
      weightBytes: params.total * counts.dtypeBytes(dtype),            // memory_bytes' weights
      kvBytesPerToken: counts.kvBytes(cfg, 1, 1, dtype),               // what one token adds
      kvBytesPerTokenLayer: counts.kvBytesPerTokenLayer(cfg, dtype),
      kvBytes: kv, kvBytesPerTokenAtContext: kv / context,             // the whole cache
      flopsPerToken: flops.forward, attentionFlopsPerToken: flops.attention,
      trainFlopsPerToken: flops.train, attention: counts.attentionKind(cfg),
    };
  }

  /** 1234567 -> "1.23M", 131072 bytes -> "128 KiB": the inspector's `human`. */
  function human(n, unit) {
    const bytes = unit === "B";
    const base = bytes ? 1024 : 1000;
    const prefixes = bytes ? ["", "Ki", "Mi", "Gi", "Ti", "Pi"] : ["", "K", "M", "B", "T"];
    for (let i = 0; i < prefixes.length; i++) {
      const rounded = Number(n.toPrecision(3));
      if (Math.abs(rounded) < 1000 || i === prefixes.length - 1) {
        return bytes ? rounded + " " + prefixes[i] + "B" : rounded + prefixes[i] + (unit || "");
      }
      n /= base;
    }
    return String(n);
  }

  const full = (n) => n.toLocaleString("en-US");
  const divisors = (n) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

  // ---- the widget --------------------------------------------------------------------------

  function calculatorWidget(box, data) {
    const { el, slider } = RW.ui;
    const models = data.models;
    box.classList.add("rw-calculator");
    box.append(el("p", { class: "rw-widget-title", text: "Try it: size a model from its config" }));
    const selectId = "rw-calc-model";
    const pick = el("select", { id: selectId }, models.map((m, i) => el("option", { value: i, text: m.name })));
    box.append(el("div", { class: "rw-control rw-calc-pick" }, [el("label", { for: selectId, text: "Start from" }), pick]));
    // The numbers first, the sliders under them: on a phone the table stays near the top.
    const results = el("div", { class: "rw-table" });
    const controls = el("div", { class: "rw-controls" });
    box.append(results, controls);
    let base = models[0].fields, kvChoices = [1], nExperts = 0;
    const s = {
      layers: slider(controls, "Layers", { min: 1, max: 160, step: 1, value: 1, format: String }),
      width: slider(controls, "Width D", { min: 64, max: 16384, step: 64, value: 64, format: full }),
      heads: slider(controls, "Query heads", { min: 1, max: 256, step: 1, value: 1, format: String }),
      kvHeads: slider(controls, "KV heads", { min: 0, max: 0, step: 1, value: 0,
        format: (i) => (base.kv_lora_rank ? "unused (latent cache)" : String(kvChoices[i])) }),
      experts: slider(controls, "Routed experts", { min: 0, max: 512, step: 1, value: 0,
        format: (e) => (e ? String(e) : "0 (dense MLP)") }),
      perToken: slider(controls, "Experts per token", { min: 1, max: 1, step: 1, value: 1,
        format: (k) => (nExperts ? String(k) : "unused (no experts)") }),
      context: slider(controls, "Context", { min: 0, max: CONTEXTS.length - 1, step: 1, value: 6,
        format: (i) => full(CONTEXTS[i]) + " tokens" }),
      dtype: slider(controls, "Data type", { min: 0, max: data.dtypes.length - 1, step: 1, value: 1,
        format: (i) => data.dtypes[i] + ", " + counts.dtypeBytes(data.dtypes[i]) + " bytes" }),
    };
    const kept = el("p", { class: "rw-readout rw-calc-kept" });
    const body = el("tbody");
    const table = el("table", { class: "rw-calc-out" }, [
      el("caption", { text: "What these settings give, by the formulas of rawweights_jax/analysis/counts.py" }), body]);
    const status = el("p", { class: "rw-readout", "aria-live": "polite" });
    results.append(table, status);
    box.append(kept);
    const cells = {};
    for (const [key, label] of [["total", "Parameters, total"], ["active", "Active per token"],
                                ["weights", "Weights in memory"], ["kvToken", "KV cache, one new token"],
                                ["kvContext", "KV cache at the context"], ["flops", "Forward FLOPs per token"],
                                ["train", "Training FLOPs per token"]]) {
      cells[key] = el("td", { class: "rw-num" });
      body.append(el("tr", {}, [el("th", { scope: "row", text: label }), cells[key]]));
    }

    function set(input, value) {
      input.value = String(value);
      input.rwRefresh();
    }

    /** KV heads offered: the divisors of the query heads (a KV head serves a whole group). */
    function offerKvHeads(wanted) {
      kvChoices = divisors(Number(s.heads.value));
      const i = kvChoices.filter((d) => d <= wanted).length - 1;
      s.kvHeads.max = String(kvChoices.length - 1);
      s.kvHeads.disabled = Boolean(base.kv_lora_rank);
      set(s.kvHeads, Math.max(0, i));
    }

    function offerPerToken(wanted) {
      const E = (nExperts = Number(s.experts.value));
      s.perToken.max = String(Math.max(1, E));
      s.perToken.disabled = !E;
      set(s.perToken, Math.min(Math.max(1, wanted), Math.max(1, E)));
    }

    function start(model) {
      base = model.fields;
      set(s.layers, base.n_layers);
      set(s.width, base.d_model);
      set(s.heads, base.n_heads);
      offerKvHeads(base.n_kv_heads);
      set(s.experts, base.n_experts);
      offerPerToken(base.experts_per_token);
      const mla = base.kv_lora_rank ? "query rank " + base.q_lora_rank + ", latent " + base.kv_lora_rank
        + " + rotary " + base.qk_rope_dim + " (MLA), " : "";
      kept.textContent = "Kept from " + model.name + ": head width " + base.head_dim + ", " + mla
        + "MLP width " + full(base.d_ff) + (base.n_experts || base.d_expert !== base.d_ff ? ", expert width "
        + full(base.d_expert) : "") + ", vocabulary " + full(base.vocab_size)
        + (base.sliding_window ? ", window " + full(base.sliding_window) : "") + ", " + base.mlp + " MLP"
        + (base.tie_embeddings ? ", tied embeddings" : "") + (base.bias || base.qkv_bias ? ", biases" : "") + ".";
    }

    function current() {
      return Object.assign({}, base, {
        n_layers: Number(s.layers.value), d_model: Number(s.width.value), n_heads: Number(s.heads.value),
        // Under latent attention the KV heads are nominal (the zoo's MLA configs give n_heads).
        n_kv_heads: base.kv_lora_rank ? Number(s.heads.value) : kvChoices[Number(s.kvHeads.value)],
        n_experts: Number(s.experts.value),
        experts_per_token: Number(s.experts.value) ? Number(s.perToken.value) : base.experts_per_token,
        context: CONTEXTS[Number(s.context.value)], dtype: data.dtypes[Number(s.dtype.value)],
      });
    }

    function update() {
      const fields = current();
      const r = compute(fields), model = models[Number(pick.value)];
      cells.total.textContent = human(r.total) + " (" + full(r.total) + ")";
      cells.active.textContent = human(r.active) + " (" + (100 * r.active / r.total).toFixed(1) + "%)";
      cells.weights.textContent = human(r.weightBytes, "B") + " in " + fields.dtype;
      cells.kvToken.textContent = human(r.kvBytesPerToken, "B") + " (" + human(r.kvBytesPerTokenLayer, "B")
        + " \u00d7 " + fields.n_layers + " layers)";
      cells.kvContext.textContent = human(r.kvBytes, "B") + " (" + human(r.kvBytesPerTokenAtContext, "B") + " a token)";
      cells.flops.textContent = human(r.flopsPerToken) + " (attention " + (100 * r.attentionFlopsPerToken
        / r.flopsPerToken).toFixed(0) + "%)";
      cells.train.textContent = human(r.trainFlopsPerToken);
      const unchanged = ["n_layers", "d_model", "n_heads", "n_kv_heads", "n_experts", "experts_per_token"]
        .every((name) => fields[name] === base[name]);
      status.textContent = r.attention + ". " + (unchanged
        ? "These are " + model.name + "'s own numbers: the library's, as rawweights inspect prints them."
        : "Changed from " + model.name + ".");
      const expanded = expand(fields);
      for (const name of ["layer_pattern", "dense_first", "context", "dtype"]) delete expanded[name];
      box.dataset.fields = JSON.stringify(expanded);
      box.dataset.context = String(fields.context);
      box.dataset.dtype = fields.dtype;
      box.dataset.result = JSON.stringify(r);
    }

    pick.addEventListener("change", () => { start(models[Number(pick.value)]); update(); });
    s.heads.addEventListener("input", () => offerKvHeads(kvChoices[Number(s.kvHeads.value)]));
    s.experts.addEventListener("input", () => offerPerToken(Number(s.perToken.value)));
    for (const input of Object.values(s)) input.addEventListener("input", update);
    box.dataset.checked = String(selfCheck(data));
    const first = models.findIndex((m) => m.key === "llama-3.1-8b");
    pick.value = String(Math.max(0, first));
    start(models[Number(pick.value)]);
    update();
  }

  /** Every model at every exported dtype and context against the library's numbers. */
  function selfCheck(data) {
    let checked = 0;
    for (const model of data.models) {
      const lib = model.library, r = compute(model.fields);
      const wrong = [];
      if (r.total !== lib.total) wrong.push("total " + r.total + " != " + lib.total);
      if (r.active !== lib.active) wrong.push("active " + r.active + " != " + lib.active);
      for (const dtype of data.dtypes) {
        const kv = compute(Object.assign({}, model.fields, { dtype })).kvBytesPerToken;
        if (kv !== lib.kv_bytes_per_token[dtype]) wrong.push(dtype + " KV " + kv + " != " + lib.kv_bytes_per_token[dtype]);
      }
      for (const context of data.contexts) {
        const f = compute(Object.assign({}, model.fields, { context })).flopsPerToken;
        const want = lib.forward_flops[String(context)];
        if (Math.abs(f / want - 1) > 1e-9) wrong.push("FLOPs at " + context + ": " + f + " != " + want);
      }
      if (wrong.length) console.error("rw-calculator: " + model.key + " differs from the library: " + wrong.join("; "));
      else checked += 1;
    }
    return checked;
  }

  (RW.widgets = RW.widgets || {}).calculator = calculatorWidget;
  (window.rawweights = window.rawweights || {}).calculator = { compute, expand, human };
})();
