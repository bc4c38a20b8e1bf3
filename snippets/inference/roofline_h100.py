"""The same arithmetic for published configs on a published accelerator: when does decoding
on an NVIDIA H100 SXM turn compute-bound?

Spec (NVIDIA H100 Tensor Core GPU datasheet): 989 TFLOP/s dense BF16 tensor-core math (1,979
with 2:4 sparsity), 3.35 TB/s of HBM3 bandwidth. Weights and cache in bfloat16.

Run on its own: python snippets/inference/roofline_h100.py   (a second)
"""

import math

from rawweights_jax.analysis.roofline import critical_batch, phase_cost, ridge_point
from rawweights_jax.analysis.zoo import zoo_model
from rwsite.claims import claim, value

# --8<-- [start:h100]
PEAK, BANDWIDTH = 989e12, 3.35e12            # H100 SXM: dense BF16 FLOP/s, HBM3 bytes/s
MODELS = ("llama-3.2-1b", "llama-3.1-8b", "llama-3.1-70b", "qwen3-30b-a3b", "deepseek-v3")
CONTEXTS = (128, 512, 2048, 8192, 32768)
ridge = ridge_point(PEAK, BANDWIDTH)
print(f"ridge point: {ridge:.0f} FLOP per byte\n")
print("smallest decode batch that is compute-bound, by tokens already in each sequence's cache")
print(f"{'model':15}" + "".join(f"{c:>8}" for c in CONTEXTS))
table = {}
for name in MODELS:
    cfg = zoo_model(name).config
    table[name] = [critical_batch(cfg, c, PEAK, BANDWIDTH, "bfloat16") for c in CONTEXTS]
    print(f"{name:15}" + "".join(f"{'never' if math.isinf(b) else b:>8}" for b in table[name]))
# --8<-- [end:h100]

llama8 = zoo_model("llama-3.1-8b").config
b1 = phase_cost(llama8, "decode", 1, 2048, "bfloat16")
value("h100_ridge", f"{ridge:.0f}")
value("llama8_b1_intensity", f"{b1['arithmetic_intensity']:.2f}")
value("llama8_b1_tokens_per_second", f"{BANDWIDTH / b1['bytes']:.0f}")
value("llama8_crit_128", str(table["llama-3.1-8b"][0]))
value("llama70_crit_2048", str(table["llama-3.1-70b"][2]))
value("dsv3_crit_2048", str(table["deepseek-v3"][2]))
claim(math.isinf(table["llama-3.1-8b"][2]), "Llama 3.1 8B never turns compute-bound at 2,048 cached tokens")
claim(all(math.isfinite(b) for b in table["deepseek-v3"][:3]) and math.isinf(table["llama-3.2-1b"][2]),
      "at 2,048 cached tokens DeepSeek-V3's latent cache still allows a compute-bound batch, "
      "Llama 3.2 1B's does not")
