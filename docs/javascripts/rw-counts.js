/* Raw Weights: the library's sizes in the browser. Parameters, KV-cache bytes and FLOPs per
 * token from a model config's fields alone, by the formulas of
 * rawweights_jax/analysis/counts.py, which this file mirrors function by function (same names
 * in camelCase, same order of operations, so that integer counts are equal, not close).
 *
 * `cfg` holds the ModelConfig fields by their Python names, derived ones resolved (n_kv_heads,
 * head_dim, d_ff, qkv_bias, v_head_dim, d_expert) and the two per-layer lists spelled out
 * (layer_kinds: "global" / "local"; mlp_layers: "dense" / "moe"), as
 * `dataclasses.asdict(cfg)` gives them. Every count stays below 2**53, where a JavaScript
 * number is an exact integer: DeepSeek-V3's 671 billion parameters are far from it.
 *
 * Plain JavaScript, no dependency: defines `RawWeights.counts` on the page (mkdocs.yml,
 * extra_javascript) and is a CommonJS module under Node. If counts.py changes, change this
 * file with it: tests/test_site_browser_calculator.py compares the two on every zoo config.
 */
(function (root) {
  "use strict";

  const DTYPE_BYTES = { float32: 4, fp32: 4, bfloat16: 2, bf16: 2, float16: 2, fp16: 2,
                        int8: 1, fp8: 1, int4: 0.5 };

  function dtypeBytes(dtype) {
    if (!Object.prototype.hasOwnProperty.call(DTYPE_BYTES, dtype)) {
      throw new RangeError("unknown dtype " + JSON.stringify(dtype) + ": expected one of "
                           + Object.keys(DTYPE_BYTES).join(", "));
    }
    return DTYPE_BYTES[dtype];
  }

  // ModelConfig's properties: mla, qk_head_dim, n_moe_layers.
  const mla = (cfg) => cfg.kv_lora_rank !== null && cfg.kv_lora_rank !== undefined;
  const qkHeadDim = (cfg) => (mla(cfg) ? cfg.head_dim + (cfg.qk_rope_dim || 0) : cfg.head_dim);
  const count = (list, kind) => list.filter((k) => k === kind).length;
  const nMoeLayers = (cfg) => count(cfg.mlp_layers, "moe");

  // ---- parameters (counts.py, region params) ---------------------------------------------

  function attentionParams(cfg) {
    const D = cfg.d_model, N = cfg.n_heads, K = cfg.n_kv_heads, H = cfg.head_dim;
    if (mla(cfg)) {
      const C = cfg.kv_lora_rank, P = cfg.head_dim, R = cfg.qk_rope_dim, V = cfg.v_head_dim;
      const Q = cfg.q_lora_rank;
      const queries = Q ? D * Q + Q + Q * N * (P + R) : D * N * (P + R);
      return queries + D * (C + R) + C + C * N * (P + V) + N * V * D;
    }
    let n = D * (N + 2 * K) * H + N * H * D;
    n += cfg.qkv_bias ? (N + 2 * K) * H : 0;
    n += cfg.bias ? D : 0;
    return n + (cfg.qk_norm ? 2 * H : 0);
  }

  function mlpParams(cfg, width, bias) {
    const D = cfg.d_model, gated = cfg.mlp !== "gelu";
    const withBias = bias === undefined ? cfg.bias : bias;
    const n = (gated ? 3 : 2) * D * width;
    return n + (withBias ? (gated ? 2 : 1) * width + D : 0);
  }

  const expertParams = (cfg) => mlpParams(cfg, cfg.d_expert, false);

  function moeParams(cfg) {
    let n = cfg.d_model * cfg.n_experts + (cfg.router_bias ? cfg.n_experts : 0);
    n += cfg.n_experts * expertParams(cfg);
    if (cfg.n_shared_experts) n += mlpParams(cfg, cfg.n_shared_experts * cfg.d_expert, false);
    return n;
  }

  const normParams = (cfg) => cfg.d_model * (cfg.bias && cfg.norm === "layernorm" ? 2 : 1);

  function paramCounts(cfg) {
    let embedding = cfg.vocab_size * cfg.d_model;
    embedding += cfg.position === "learned" ? cfg.context_len * cfg.d_model : 0;
    const lmHead = cfg.tie_embeddings ? 0 : cfg.d_model * cfg.vocab_size;
    const nMoe = nMoeLayers(cfg);
    const attention = cfg.n_layers * attentionParams(cfg);
    const mlp = (cfg.n_layers - nMoe) * mlpParams(cfg, cfg.d_ff) + nMoe * moeParams(cfg);
    const perLayerNorms = cfg.norm_placement === "sandwich" ? 4 : 2;
    const norms = (cfg.n_layers * perLayerNorms + (cfg.norm_placement !== "post" ? 1 : 0)) * normParams(cfg);
    const total = embedding + lmHead + attention + mlp + norms;
    const idle = nMoe ? nMoe * (cfg.n_experts - cfg.experts_per_token) * expertParams(cfg) : 0;
    return { embedding, lm_head: lmHead, attention, mlp, norms, total,
             non_embedding: total - embedding - lmHead, active: total - idle };
  }

  // ---- KV cache (region kv) ----------------------------------------------------------------

  function kvBytesPerTokenLayer(cfg, dtype) {
    const width = mla(cfg) ? cfg.kv_lora_rank + cfg.qk_rope_dim : 2 * cfg.n_kv_heads * cfg.head_dim;
    return width * dtypeBytes(dtype === undefined ? "bfloat16" : dtype);
  }

  function kvBytes(cfg, context, batch, dtype) {
    let tokens = 0;
    for (const kind of cfg.layer_kinds) {
      tokens += kind === "local" ? Math.min(context, cfg.sliding_window) : context;
    }
    return (batch === undefined ? 1 : batch) * tokens * kvBytesPerTokenLayer(cfg, dtype);
  }

  function attentionKind(cfg) {
    const kind = mla(cfg) ? "MLA" : cfg.n_kv_heads === cfg.n_heads ? "MHA"
      : cfg.n_kv_heads === 1 ? "MQA" : "GQA";
    const nLocal = count(cfg.layer_kinds, "local");
    return kind + (nLocal ? " + window " + cfg.sliding_window + " on " + nLocal + "/" + cfg.n_layers + " layers" : "");
  }

  // ---- FLOPs (region flops) ----------------------------------------------------------------

  function matmulFlopsPerToken(cfg) {
    const counts = paramCounts(cfg);
    const lookups = cfg.vocab_size * cfg.d_model + (cfg.position === "learned" ? cfg.context_len * cfg.d_model : 0);
    const small = counts.norms + vectors(cfg);          // scales and biases: not matrix products
    let matrices = counts.active - lookups - small;
    if (cfg.tie_embeddings) matrices += cfg.vocab_size * cfg.d_model;   // also the lm_head
    return 2 * matrices;
  }

  function vectors(cfg) {
    const nMoe = nMoeLayers(cfg);
    let perLayer = 0;
    if (mla(cfg)) {
      perLayer += cfg.kv_lora_rank + (cfg.q_lora_rank || 0);
    } else {
      const H = cfg.head_dim, N = cfg.n_heads, K = cfg.n_kv_heads;
      perLayer += (cfg.qkv_bias ? (N + 2 * K) * H : 0) + (cfg.bias ? cfg.d_model : 0);
      perLayer += cfg.qk_norm ? 2 * H : 0;
    }
    let n = cfg.n_layers * perLayer;
    const gated = cfg.mlp !== "gelu";
    if (cfg.bias) n += (cfg.n_layers - nMoe) * ((gated ? 2 : 1) * cfg.d_ff + cfg.d_model);
    return n + (cfg.router_bias ? nMoe * cfg.n_experts : 0);
  }

  function attentionFlopsPerToken(cfg, context, average) {
    const widths = cfg.n_heads * (qkHeadDim(cfg) + cfg.v_head_dim);
    let total = 0.0;
    for (const kind of cfg.layer_kinds) {
      const window = kind === "local" ? cfg.sliding_window : null;
      total += 2 * widths * meanKeys(context, window, Boolean(average));
    }
    return total;
  }

  function meanKeys(context, window, average) {
    if (!average) return window ? Math.min(context, window) : context;
    if (!window || window >= context) return (context + 1) / 2;
    // positions 1..W see 1..W keys, the rest see W each
    return (window * (window + 1) / 2 + (context - window) * window) / context;
  }

  function flopsPerToken(cfg, context) {
    const matmul = matmulFlopsPerToken(cfg);
    const attnLast = attentionFlopsPerToken(cfg, context);
    const attnAvg = attentionFlopsPerToken(cfg, context, true);
    return { matmul, attention: attnLast, forward: matmul + attnLast,
             train: 3 * (matmul + attnAvg), train_attention: 3 * attnAvg };
  }

  const api = { DTYPE_BYTES, dtypeBytes, attentionParams, mlpParams, expertParams, moeParams, normParams,
                paramCounts, kvBytesPerTokenLayer, kvBytes, attentionKind, matmulFlopsPerToken,
                attentionFlopsPerToken, flopsPerToken };
  if (typeof module === "object" && module.exports) module.exports = api;
  else (root.RawWeights = root.RawWeights || {}).counts = api;
})(typeof self !== "undefined" ? self : this);
