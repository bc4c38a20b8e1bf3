"""Stretching RoPE to a longer context: the frequencies of plain, linear, Llama 3 and YaRN.

Llama 3.1 8B's rotary setup (base 500,000, 64 pairs per head, pre-trained at 8,192 tokens,
stretched 8x) with each of the library's scaling rules in turn, from `rope_frequencies`.
A pair's wavelength is how many positions it takes to turn once: 2 pi / inv_freq.

Run on its own: python snippets/arch/pos_scaling.py   (a few seconds)
"""

import matplotlib.pyplot as plt
import numpy as np

from rawweights_jax.analysis.zoo import zoo_model
from rawweights_jax.nn.rope import rope_frequencies

# --8<-- [start:rules]
llama = zoo_model("llama-3.1-8b").config         # rope_scaling='llama3', factor 8, from 8192
old, factor = llama.rope_original_context, llama.rope_factor
rules = {name: llama.replace(rope_scaling=name) for name in ("none", "linear", "llama3", "yarn")}
freqs = {name: rope_frequencies(cfg) for name, cfg in rules.items()}
plain = freqs["none"][0]
# --8<-- [end:rules]

print(f"Llama 3.1 8B: base {llama.rope_theta:,.0f}, {len(plain)} pairs, "
      f"pre-trained at {old:,} tokens,")
print(f"  stretched by {factor:g} -> {int(old * factor):,} "
      f"(its config allows {llama.context_len:,} positions)")
print(f"{'rule':8}{'pairs kept':>12}{'divided by 8':>14}{'in between':>12}"
      f"{'cos/sin x':>11}")
for name, (inv_freq, magnitude) in freqs.items():
    ratio = inv_freq / plain
    kept = np.isclose(ratio, 1).sum()
    full = np.isclose(ratio, 1 / factor).sum() if name != "none" else 0
    print(f"{name:8}{kept:>12}{full:>14}{len(ratio) - kept - full:>12}{magnitude:>11.4f}")
turns = old * plain / (2 * np.pi)
print(f"pairs that turn less than once over {old:,} tokens: {(turns < 1).sum()} of {len(plain)}")

fig, (ax_w, ax_r) = plt.subplots(1, 2, figsize=(9, 3.6))
styles = {"none": dict(linewidth=3, alpha=0.35), "linear": dict(linestyle="--"),
          "llama3": dict(), "yarn": dict(linestyle=":", linewidth=2)}
pairs = np.arange(len(plain))
for i, (name, (inv_freq, _)) in enumerate(freqs.items()):
    ax_w.plot(pairs, 2 * np.pi / inv_freq, color=f"C{i}", label=name, **styles[name])
    ax_r.plot(pairs, inv_freq / plain, color=f"C{i}", label=name, **styles[name])
for y, text in ((old, f"pre-training context {old:,}"),
                (old * factor, f"extended context {int(old * factor):,}")):
    ax_w.axhline(y, color="C7", linewidth=0.8, linestyle="--")
    ax_w.text(1, y * 1.4, text, fontsize=8, color="C7")
ax_w.set_yscale("log")
ax_w.set_xlabel("pair index i (fast pairs on the left)")
ax_w.set_ylabel("wavelength, positions per turn")
ax_w.set_title("Wavelength of every pair")
ax_r.set_xlabel("pair index i")
ax_r.set_ylabel("scaled / plain frequency")
ax_r.set_title(f"What each rule does (1/{factor:g}: fully stretched)")
ax_r.set_ylim(0, 1.08)
ax_r.legend(fontsize=8, loc="lower left")
fig.tight_layout()
plt.show()
