"""The MLP's nonlinearities, and how wide published models make their (gated) MLPs.

Left: GELU (GPT-2's, tanh form) and SiLU (the gate of SwiGLU), from the library's
`ACTIVATIONS`. Right: a gated unit's output SiLU(a) * b against its gate input a, for a few values of b.
The table reads d_ff / d_model from the published configs in `rawweights_jax/analysis/configs/`.

Run on its own: python snippets/arch/mlp_shapes.py   (a few seconds)
"""

import jax.numpy as jnp
import matplotlib.pyplot as plt

from rawweights_jax.analysis.zoo import zoo_model
from rawweights_jax.nn.mlp import ACTIVATIONS, mlp_hidden

# --8<-- [start:widths]
print(f"{'model':18}{'MLP':>8}{'D':>7}{'F':>8}{'F/D':>6}{'matrices':>10}")
for key in ("gpt2", "llama-3.1-8b", "mistral-7b-v0.1", "qwen3-8b", "gemma-3-27b",
            "deepseek-v3"):
    cfg = zoo_model(key).config
    matrices = 2 if cfg.mlp == "gelu" else 3
    print(f"{key:18}{cfg.mlp:>8}{cfg.d_model:>7,}{cfg.d_ff:>8,}{cfg.d_ff / cfg.d_model:6.2f}"
          f"{matrices:>10}")
print("(DeepSeek-V3: its first 3 dense layers; the other 58 use experts of width 2,048)")
# --8<-- [end:widths]

fig, (ax_a, ax_g) = plt.subplots(1, 2, figsize=(9, 3.6))
h = jnp.linspace(-4, 4, 401)
ax_a.plot(h, ACTIVATIONS["gelu"](h), color="C0", label="GELU (GPT-2)")
ax_a.plot(h, ACTIVATIONS["swiglu"](h), color="C1", linestyle="--", label="SiLU (SwiGLU's gate)")
ax_a.plot(h, jnp.maximum(h, 0), color="C7", linewidth=0.8, alpha=0.7, label="ReLU, for reference")
ax_a.set_xlabel("pre-activation h")
ax_a.set_title("One unit: act(h)")
ax_a.legend(fontsize=8)
for i, up in enumerate((2.0, 1.0, 0.5, -1.0)):
    out = mlp_hidden("swiglu", h, jnp.full_like(h, up))
    ax_g.plot(h, out, color=f"C{i}", label=f"b = {up:g}")
ax_g.set_xlabel("gate input a = x W_gate")
ax_g.set_title("One gated unit: SiLU(a) * b")
ax_g.legend(fontsize=8)
fig.tight_layout()
plt.show()
