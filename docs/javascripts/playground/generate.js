/* Raw Weights playground: continuing a text one character at a time.
 *
 * `continuation` cuts the work exactly where the library's `generate` does
 * (rawweights_jax/inference/generate.py, `next_chunk`): the prompt's last context_len - 1
 * characters are read first, and when the context is full the latest half-context is read
 * again and writing goes on. A cache cannot slide (with learned positions every cached key
 * was computed at its old position; with rotary ones, rotated by it), so this is the library's
 * way past the context too, and
 * following the library's cuts makes a greedy continuation here the library's, character
 * for character.
 *
 * Choosing a character uses the site's shared sampling rules (rw-sampling.js: temperature,
 * top-k, top-p, as the library's `sample_logits`), drawing from a seeded generator, so a seed
 * repeats a text (the draws are not JAX's, so a sampled text differs from the library's).
 */

/** A repeatable stream of uniform numbers in [0, 1) from an integer seed (xorshift32 after
 * an integer hash of the seed, so that nearby seeds start far apart). */
export function uniforms(seed) {
  let s = (Number(seed) | 0) ^ 0x5bd1e995;
  s = Math.imul(s ^ (s >>> 16), 0x45d9f3b);
  s = Math.imul(s ^ (s >>> 16), 0x45d9f3b);
  s = (s ^ (s >>> 16)) | 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function samplingRules() {
  const rules = globalThis.RawWeights && globalThis.RawWeights.sampling;
  if (!rules) throw new Error("rw-sampling.js is not loaded (mkdocs.yml extra_javascript)");
  return rules;
}

/** The sampler's options, checked: {temperature >= 0, topK integer >= 1 or null,
 * topP in (0, 1] or null, seed integer}. */
export function samplingOptions(options) {
  const o = Object.assign({ temperature: 1, topK: null, topP: null, seed: 0 }, options || {});
  const t = Number(o.temperature);
  if (!(t >= 0)) throw new RangeError(`temperature ${o.temperature}: expected a number >= 0`);
  const k = o.topK == null || o.topK === "" ? null : Number(o.topK);
  if (k !== null && !(Number.isInteger(k) && k >= 1)) throw new RangeError(`topK ${o.topK}: expected an integer >= 1`);
  const p = o.topP == null || o.topP === "" ? null : Number(o.topP);
  if (p !== null && !(p > 0 && p <= 1)) throw new RangeError(`topP ${o.topP}: expected a number in (0, 1]`);
  return { temperature: t, topK: k, topP: p, seed: Number(o.seed) | 0 };
}

/** The probabilities the next character is drawn from (the first `vocab` logits). */
export function distribution(logits, vocab, options) {
  const scores = Array.from(logits.subarray(0, vocab));
  return samplingRules().probabilities(scores, options);
}

/** A function logits -> token id for these options (greedy at temperature 0). */
export function chooser(vocab, options) {
  const o = samplingOptions(options);
  const rules = samplingRules();
  const next = uniforms(o.seed);
  if (o.temperature === 0) return (logits) => rules.argmax(Array.from(logits.subarray(0, vocab)));
  return (logits) => rules.draw(distribution(logits, vocab, o), next());
}

/** Yields {token, logits} for each new character after `promptIds`: `logits` are the scores
 * the character was chosen from. `choose(logits) -> id` picks it. */
export function* continuation(session, promptIds, maxNew, choose) {
  const S = session.model.S;
  if (!promptIds.length) throw new RangeError("give at least one character to continue");
  const text = promptIds.slice();
  let made = 0, first = true;
  while (made < maxNew) {
    const history = text.slice(-(first ? S - 1 : Math.floor(S / 2)));
    const n = Math.min(maxNew - made, S - history.length);
    let logits = session.prefill(history);
    for (let i = 0; i < n; i++) {
      const token = choose(logits);
      text.push(token);
      made++;
      yield { token, logits };
      if (i < n - 1) logits = session.step(token);
    }
    first = false;
  }
}

/** The teacher's score of a text: for each character after the first, how surprised the
 * student was to see it, -log2 p(character | the characters before it), in bits (the first
 * character has no prediction: NaN). Reads as `continuation` writes: one cache from the first
 * character and, once the context is full, the latest half-context read again, so a text
 * within the context is scored exactly as one forward pass of the library scores it. */
export function surprisal(session, ids) {
  const S = session.model.S;
  const bits = new Float32Array(ids.length).fill(NaN);
  if (!ids.length) return bits;
  let logits = session.prefill(ids.slice(0, 1));
  for (let i = 1; i < ids.length; i++) {
    let peak = -Infinity;
    for (const z of logits) if (z > peak) peak = z;
    let total = 0;
    for (const z of logits) total += Math.exp(z - peak);
    bits[i] = (Math.log(total) + peak - logits[ids[i]]) / Math.LN2;
    if (i === ids.length - 1) break;
    logits = session.length < S ? session.step(ids[i]) : session.prefill(ids.slice(i + 1 - Math.floor(S / 2), i + 1));
  }
  return bits;
}
