/* Raw Weights playground: the robot student's forward pass in plain JavaScript.
 *
 * The same function as rawweights_jax/model/gpt.py for the GPT-2 style configs (learned
 * positions, pre-LayerNorm, GELU MLP) and the Llama style ones (rotary positions, RMSNorm,
 * SwiGLU MLP), with multi-head or grouped-query attention, tied or untied head, with or
 * without biases, one token at a time with a key/value cache, so that each new
 * character costs one token's matrix-vector products. Weights come from a bundle written by
 * `rawweights export-web` (rawweights_jax/web/export.py): manifest.json and weights.bin.
 *
 * Speed habits: every buffer is a Float32Array allocated once per model or session; weight
 * matrices are stored transposed, so that each output is one dot product along memory;
 * nothing is allocated per token except the logits handed back.
 */

export const FORMAT = "rawweights-web-1";

/** A bundle that cannot be loaded or run: its message is shown to the reader as it is. */
export class BundleError extends Error {
  constructor(message) {
    super(message);
    this.name = "BundleError";
  }
}

// The fields rawweights_jax/web/export.py `unsupported` checks, with the values implemented here.
const IMPLEMENTED = {
  position: ["learned", "rope"], norm: ["layernorm", "rmsnorm"], norm_placement: ["pre"],
  mlp: ["gelu", "swiglu"], rope_scaling: ["none"], n_experts: [0], kv_lora_rank: [null],
  qk_norm: [false], sliding_window: [null], embed_scale: [false], norm_zero_centered: [false],
};

/** What of `config` this model does not implement (empty: it runs). */
export function unsupported(config) {
  const problems = [];
  for (const [field, wanted] of Object.entries(IMPLEMENTED)) {
    if (!wanted.includes(config[field])) {
      const said = wanted.map((w) => JSON.stringify(w)).join(" or ");
      problems.push(`${field}=${JSON.stringify(config[field])} (the browser model implements ${said})`);
    }
  }
  if (config.v_head_dim !== config.head_dim) {
    problems.push(`v_head_dim=${config.v_head_dim} (the browser model needs it equal to head_dim)`);
  }
  return problems;
}

/** IEEE half-precision bits to a number (subnormals, infinities and NaN included). */
function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Every tensor of the bundle as a Float32Array, by name (float16 widened once, here). */
function readTensors(manifest, buffer) {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = halfToFloat(h);
  const tensors = {};
  for (const t of manifest.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const width = t.dtype === "float16" ? 2 : t.dtype === "float32" ? 4 : 0;
    if (!width) throw new BundleError(`tensor ${t.name}: dtype ${t.dtype} (expected float16 or float32)`);
    if (t.offset % width || t.offset + n * width > buffer.byteLength) {
      throw new BundleError(`tensor ${t.name} lies outside weights.bin (offset ${t.offset}, ${n} values); the file is truncated or not this manifest's`);
    }
    const view = new DataView(buffer, t.offset, n * width);
    const out = new Float32Array(n);
    if (width === 2) for (let i = 0; i < n; i++) out[i] = table[view.getUint16(2 * i, true)];
    else for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
    tensors[t.name] = { shape: t.shape, data: out };
  }
  return tensors;
}

/** W [rows, cols] row-major, transposed to [cols, rows]: each output's weights contiguous. */
function transposed(W, rows, cols) {
  const T = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) T[j * rows + i] = W[i * cols + j];
  return T;
}

/** y = x W (+ b), given Wt = W transposed ([cols, rows]): one dot product per output, summed
 * in a local variable (faster in V8 than adding x[i] * W[i, :] into y row by row). */
function matvec(y, x, Wt, rows, cols, b) {
  for (let j = 0; j < cols; j++) {
    const base = j * rows;
    let acc = b ? b[j] : 0;
    for (let i = 0; i < rows; i++) acc += x[i] * Wt[base + i];
    y[j] = acc;
  }
}

/** LayerNorm as nn/norms.py: statistics over the row, then scale (and bias). */
function layerNorm(y, x, scale, bias, eps) {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i] - mean) * (x[i] - mean);
  const inv = 1 / Math.sqrt(variance / n + eps);
  for (let i = 0; i < n; i++) y[i] = (x[i] - mean) * inv * scale[i] + (bias ? bias[i] : 0);
}

/** RMSNorm as nn/norms.py: divide by the root-mean-square, then scale. */
function rmsNorm(y, x, scale, eps) {
  const n = x.length;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += x[i] * x[i];
  const inv = 1 / Math.sqrt(squares / n + eps);
  for (let i = 0; i < n; i++) y[i] = x[i] * inv * scale[i];
}

/** cos and sin of every (position, pair) angle, [S, R/2], as nn/rope.py `rope_frequencies`
 * and `rope_table` compute them (float32 frequencies and angles, no context extension). */
function ropeTable(S, R, theta) {
  const half = R / 2, cos = new Float32Array(S * half), sin = new Float32Array(S * half);
  for (let i = 0; i < half; i++) {
    const inv = Math.fround(1 / Math.fround(Math.pow(Math.fround(theta), Math.fround((2 * i) / R))));
    for (let p = 0; p < S; p++) {
      const angle = Math.fround(p * inv);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin, half };
}

/** Rotate the first R dimensions of the head at `x[at..at+H)` for position `pos`: pair
 * (j, j + R/2) turns by its angle (the Hugging Face layout the library uses). */
function rotate(x, at, rope, pos) {
  const { cos, sin, half } = rope, row = pos * half;
  for (let j = 0; j < half; j++) {
    const a = x[at + j], b = x[at + j + half], c = cos[row + j], s = sin[row + j];
    x[at + j] = a * c - b * s;
    x[at + j + half] = b * c + a * s;
  }
}

const GELU_C = Math.sqrt(2 / Math.PI);

export class Model {
  /** `manifest` as exported; `buffer` the ArrayBuffer of weights.bin. */
  constructor(manifest, buffer) {
    if (!manifest || manifest.format !== FORMAT) {
      throw new BundleError(`manifest format ${JSON.stringify(manifest && manifest.format)}, expected ${JSON.stringify(FORMAT)}`);
    }
    const c = manifest.model;
    const problems = unsupported(c);
    if (problems.length) throw new BundleError("this model's architecture is not implemented in the browser: " + problems.join("; "));
    if (buffer.byteLength !== manifest.weights.bytes) {
      throw new BundleError(`weights.bin has ${buffer.byteLength} bytes, the manifest says ${manifest.weights.bytes}`);
    }
    this.manifest = manifest;
    this.config = c;
    this.vocab = manifest.vocab;
    this.index = new Map(this.vocab.map((ch, i) => [ch, i]));
    const D = c.d_model, N = c.n_heads, K = c.n_kv_heads, H = c.head_dim, F = c.d_ff;
    const V = c.vocab_size, S = c.context_len;
    Object.assign(this, { D, N, K, H, F, V, S, G: N / K, J: N / K + 2, L: c.n_layers });
    this.eps = c.norm_eps;
    this.scale = c.attn_scale == null ? 1 / Math.sqrt(H) : c.attn_scale;
    const w = readTensors(manifest, buffer);
    const get = (name, shape) => {
      const t = w[name];
      if (!t) throw new BundleError(`the bundle lacks the tensor ${name}`);
      if (t.shape.join() !== shape.join()) throw new BundleError(`${name} has shape [${t.shape}], expected [${shape}]`);
      return t.data;
    };
    const bias = c.bias, qkvBias = c.qkv_bias, normBias = c.bias && c.norm === "layernorm";
    this.wte = get("wte_VD", [V, D]);
    this.wpe = c.position === "learned" ? get("wpe_TD", [S, D]) : null;
    this.rope = c.position === "rope" ? ropeTable(S, c.rope_dim, c.rope_theta) : null;
    this.rms = c.norm === "rmsnorm";
    this.gated = c.mlp === "swiglu";
    this.head = c.tie_embeddings ? null : transposed(get("lm_head_DV", [D, V]), D, V);
    this.normOut = { scale: get("norm_out/scale_D", [D]), bias: normBias ? get("norm_out/bias_D", [D]) : null };
    this.layers = [];
    for (let l = 0; l < this.L; l++) {
      const p = `blocks/${l}/`;
      this.layers.push({
        norm1: get(p + "norm_attn/scale_D", [D]), norm1b: normBias ? get(p + "norm_attn/bias_D", [D]) : null,
        wqkv: transposed(get(p + "attn/wqkv_DKJH", [D, K, this.J, H]), D, K * this.J * H), bqkv: qkvBias ? get(p + "attn/bqkv_KJH", [K, this.J, H]) : null,
        wo: transposed(get(p + "attn/wo_NHD", [N, H, D]), N * H, D), bo: bias ? get(p + "attn/bo_D", [D]) : null,
        norm2: get(p + "norm_mlp/scale_D", [D]), norm2b: normBias ? get(p + "norm_mlp/bias_D", [D]) : null,
        win: transposed(get(p + "mlp/w_in_DF", [D, F]), D, F), bin: bias ? get(p + "mlp/b_in_F", [F]) : null,
        wup: this.gated ? transposed(get(p + "mlp/w_up_DF", [D, F]), D, F) : null,
        bup: this.gated && bias ? get(p + "mlp/b_up_F", [F]) : null,
        wout: transposed(get(p + "mlp/w_out_FD", [F, D]), F, D), bout: bias ? get(p + "mlp/b_out_D", [D]) : null,
      });
    }
    this.own = new Session(this);   // predict's
  }

  /** The model's normalisation (LayerNorm or RMSNorm) of x into y. */
  norm(y, x, scale, bias) {
    if (this.rms) rmsNorm(y, x, scale, this.eps);
    else layerNorm(y, x, scale, bias, this.eps);
  }

  /** A new key/value cache with its own working buffers: several can share one model. */
  session() {
    return new Session(this);
  }

  /** Token ids of `text`; a character outside the vocabulary is a BundleError naming it. */
  encode(text) {
    const ids = [];
    for (const ch of text) {
      const id = this.index.get(ch);
      if (id === undefined) {
        throw new BundleError(`the character ${JSON.stringify(ch)} is not in this model's vocabulary (${this.vocab.length} characters)`);
      }
      ids.push(id);
    }
    return ids;
  }

  decode(ids) {
    return ids.map((i) => this.vocab[i]).join("");
  }

  /** The logits for the character after `text` (its last context_len characters). */
  predict(text) {
    const ids = this.encode(text);
    return this.own.prefill(ids.slice(-this.S));
  }
}

/** One sequence being read: the key/value cache of every layer and the buffers each token
 * reuses. Allocated once; `reset` only rewinds. */
export class Session {
  constructor(model) {
    const { D, N, K, H, J, F, S, L } = model;
    this.model = model;
    // the cache: slot s holds the key (and value) of every key/value head at position s
    this.k = Array.from({ length: L }, () => new Float32Array(S * K * H));
    this.v = Array.from({ length: L }, () => new Float32Array(S * K * H));
    this.x = new Float32Array(D);
    this.h = new Float32Array(D);
    this.qkv = new Float32Array(K * J * H);
    this.att = new Float32Array(N * H);
    this.proj = new Float32Array(D);
    this.hidden = new Float32Array(F);
    this.up = model.gated ? new Float32Array(F) : null;
    this.scores = new Float32Array(S);
    // what the last token read: its attention weights over the positions before it, for every
    // layer and head ([L, N, S], only [0, length) of each row meaningful), and the tokens held
    this.weights = new Float32Array(L * model.N * S);
    this.tokens = new Int32Array(S);
    this.length = 0;   // positions held in the cache
  }

  /** The last token's attention weights: {tokens (the ids at positions 0..length-1),
   * rows(layer) -> one Float32Array per head, the weights over those positions}. */
  attention() {
    const { N, S } = this.model, n = this.length;
    return {
      tokens: Array.from(this.tokens.subarray(0, n)),
      rows: (layer) => Array.from({ length: N }, (_, h) => this.weights.subarray((layer * N + h) * S, (layer * N + h) * S + n)),
    };
  }

  /** Forget the cache: the next token is at position 0. */
  reset() {
    this.length = 0;
  }

  /** Feed one token at the next position; returns the logits for the token after it. */
  step(token) {
    const m = this.model;
    const { D, N, K, H, G, J, F, V, S } = m;
    const pos = this.length;
    if (pos >= S) throw new BundleError(`position ${pos} is past the context of ${S} positions (context_len)`);
    if (!(token >= 0 && token < V)) throw new BundleError(`token id ${token} is outside the vocabulary [0, ${V})`);
    const x = this.x, h = this.h, qkv = this.qkv, att = this.att, scores = this.scores;
    for (let d = 0; d < D; d++) x[d] = m.wte[token * D + d] + (m.wpe ? m.wpe[pos * D + d] : 0);
    for (let l = 0; l < m.L; l++) {
      const layer = m.layers[l], cacheK = this.k[l], cacheV = this.v[l];
      // attention: queries, keys and values from one product, grouped by key/value head
      m.norm(h, x, layer.norm1, layer.norm1b);
      matvec(qkv, h, layer.wqkv, D, K * J * H, layer.bqkv);
      if (m.rope) {        // rotate queries and keys by position; the cache keeps rotated keys
        for (let k = 0; k < K; k++) for (let j = 0; j < J - 1; j++) rotate(qkv, (k * J + j) * H, m.rope, pos);
      }
      for (let k = 0; k < K; k++) {
        const slot = (pos * K + k) * H;
        for (let i = 0; i < H; i++) {
          cacheK[slot + i] = qkv[(k * J + J - 2) * H + i];
          cacheV[slot + i] = qkv[(k * J + J - 1) * H + i];
        }
      }
      for (let n = 0; n < N; n++) {
        const k = Math.floor(n / G), q = (k * J + (n % G)) * H;
        let peak = -Infinity;
        for (let s = 0; s <= pos; s++) {       // future-blind: keys up to this position only
          const key = (s * K + k) * H;
          let dot = 0;
          for (let i = 0; i < H; i++) dot += qkv[q + i] * cacheK[key + i];
          scores[s] = dot * m.scale;
          if (scores[s] > peak) peak = scores[s];
        }
        let total = 0;
        for (let s = 0; s <= pos; s++) {
          scores[s] = Math.exp(scores[s] - peak);
          total += scores[s];
        }
        const out = n * H, kept = (l * N + n) * S;
        for (let i = 0; i < H; i++) att[out + i] = 0;
        for (let s = 0; s <= pos; s++) {
          const weight = scores[s] / total, value = (s * K + k) * H;
          this.weights[kept + s] = weight;
          for (let i = 0; i < H; i++) att[out + i] += weight * cacheV[value + i];
        }
      }
      matvec(this.proj, att, layer.wo, N * H, D, layer.bo);
      for (let d = 0; d < D; d++) x[d] += this.proj[d];
      // MLP: widen, GELU (tanh approximation, as jax.nn.gelu(approximate=True)) or SwiGLU
      // (silu(gate) * up), narrow
      m.norm(h, x, layer.norm2, layer.norm2b);
      const u = this.hidden;
      matvec(u, h, layer.win, D, F, layer.bin);
      if (m.gated) {
        matvec(this.up, h, layer.wup, D, F, layer.bup);
        for (let f = 0; f < F; f++) u[f] = (u[f] / (1 + Math.exp(-u[f]))) * this.up[f];
      } else {
        for (let f = 0; f < F; f++) {
          const z = u[f];
          u[f] = 0.5 * z * (1 + Math.tanh(GELU_C * (z + 0.044715 * z * z * z)));
        }
      }
      matvec(this.proj, u, layer.wout, F, D, layer.bout);
      for (let d = 0; d < D; d++) x[d] += this.proj[d];
    }
    m.norm(h, x, m.normOut.scale, m.normOut.bias);
    const logits = new Float32Array(V);
    if (m.head) matvec(logits, h, m.head, D, V, null);
    else {    // tied: each token scored by its embedding's dot product with the final state
      for (let v = 0; v < V; v++) {
        let dot = 0;
        const row = v * D;
        for (let d = 0; d < D; d++) dot += h[d] * m.wte[row + d];
        logits[v] = dot;
      }
    }
    this.tokens[pos] = token;
    this.length = pos + 1;
    return logits;
  }

  /** Reset, feed `ids` from position 0, and return the logits after the last one. */
  prefill(ids) {
    if (!ids.length) throw new BundleError("give at least one character");
    this.reset();
    let logits = null;
    for (const id of ids) logits = this.step(id);
    return logits;
  }
}

/** Fetch and build the model of a bundle. `url` names manifest.json or the folder holding it.
 * Every failure (network, HTTP status, JSON, size, architecture) is a BundleError that says
 * what went wrong with which URL. */
export async function loadBundle(url, fetchImpl = fetch) {
  const manifestUrl = new URL(url.endsWith(".json") ? url : url.replace(/\/?$/, "/manifest.json"), document.baseURI);
  const get = async (u, what) => {
    let response;
    try {
      response = await fetchImpl(u);
    } catch (err) {
      throw new BundleError(`could not fetch the ${what} at ${u} (${err.message})`);
    }
    if (!response.ok) throw new BundleError(`the ${what} at ${u} answered HTTP ${response.status}`);
    return response;
  };
  let manifest;
  try {
    manifest = await (await get(manifestUrl, "model manifest")).json();
  } catch (err) {
    if (err instanceof BundleError) throw err;
    throw new BundleError(`the model manifest at ${manifestUrl} is not JSON (${err.message})`);
  }
  if (!manifest || manifest.format !== FORMAT || !manifest.weights || !manifest.model) {
    throw new BundleError(`${manifestUrl} is not a rawweights bundle manifest (format ${JSON.stringify(manifest && manifest.format)}, expected ${JSON.stringify(FORMAT)})`);
  }
  const weightsUrl = new URL(manifest.weights.file, manifestUrl);
  const buffer = await (await get(weightsUrl, "weights")).arrayBuffer();
  const model = new Model(manifest, buffer);
  model.url = manifestUrl.href;
  return model;
}
