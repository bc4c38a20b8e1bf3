/* Raw Weights: the voting box in the browser. From a ballot of scores (logits) to the
 * probabilities a sampler draws from: softmax at a temperature, then the top-k and top-p cuts,
 * by the same rules as the library's `sample_logits` (rawweights_jax/inference/sampling.py).
 *
 * Plain JavaScript, no dependency, loaded by every page (mkdocs.yml, extra_javascript) and
 * meant to be shared by anything else that samples in the browser (the playground): it
 * defines `RawWeights.sampling` on the page, and is a CommonJS module under Node.
 *
 *   const s = RawWeights.sampling;
 *   const p = s.probabilities(logits, {temperature: 0.8, topK: 20, topP: 0.95});
 *   const next = s.draw(p, Math.random());
 */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory();
  } else {
    root.RawWeights = root.RawWeights || {};
    root.RawWeights.sampling = factory();
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  /** exp(z_i / T) / sum_j exp(z_j / T), with the largest score subtracted first (the same
   * result, and exp cannot overflow). Scores of -Infinity get probability 0. Temperature 0 is
   * greedy: all the probability on the first of the top scores. */
  function softmax(logits, temperature) {
    const T = temperature === undefined ? 1 : temperature;
    if (!(T >= 0)) throw new RangeError("temperature " + T + ": expected a number >= 0");
    const top = argmax(logits);
    if (T === 0) return logits.map((_, i) => (i === top ? 1 : 0));
    const peak = logits[top] / T;
    const e = logits.map((z) => Math.exp(z / T - peak));
    const total = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / total);
  }

  function argmax(values) {
    let best = 0;
    for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
    return best;
  }

  /** The scores divided by the temperature, with the tokens top-k and top-p cut set to
   * -Infinity, as `sample_logits` does before it draws:
   * - top-k keeps every token scoring at least the k-th best score (ties are kept);
   * - top-p, applied after top-k, keeps the smallest set of best tokens whose probability
   *   reaches p: a token stays when the probability of the tokens above it is below p. */
  function filtered(logits, options) {
    const o = options || {};
    const T = o.temperature === undefined ? 1 : o.temperature;
    if (!(T > 0)) throw new RangeError("filtered needs a temperature > 0 (0 is greedy: use softmax)");
    let z = logits.map((x) => x / T);
    const sorted = z.slice().sort((a, b) => b - a);
    if (o.topK != null && o.topK < z.length) {
      if (!(o.topK >= 1)) throw new RangeError("topK " + o.topK + ": expected an integer >= 1");
      const kth = sorted[o.topK - 1];
      z = z.map((x) => (x < kth ? -Infinity : x));
    }
    if (o.topP != null && o.topP < 1) {
      if (!(o.topP > 0)) throw new RangeError("topP " + o.topP + ": expected a number in (0, 1]");
      const desc = z.slice().sort((a, b) => b - a);
      const p = softmax(desc, 1);
      let before = 0, keep = 0;
      while (keep < p.length && before < o.topP) before += p[keep++];
      const cutoff = desc[keep - 1];
      z = z.map((x) => (x < cutoff ? -Infinity : x));
    }
    return z;
  }

  /** The probabilities a sampler draws from: the filtered scores through softmax. */
  function probabilities(logits, options) {
    const o = options || {};
    if (o.temperature === 0) return softmax(logits, 0);
    return softmax(filtered(logits, o), 1);
  }

  /** Entropy in bits: 0 for a certain choice, log2(n) for n equally likely ones. */
  function entropyBits(p) {
    return p.reduce((h, x) => (x > 0 ? h - x * Math.log2(x) : h), 0);
  }

  /** The index whose share of [0, 1) holds `u` (a uniform draw, e.g. Math.random()). */
  function draw(p, u) {
    let total = 0;
    for (let i = 0; i < p.length; i++) {
      total += p[i];
      if (u < total) return i;
    }
    return argmax(p);  // u within rounding of 1
  }

  return { softmax, argmax, filtered, probabilities, entropyBits, draw };
});
