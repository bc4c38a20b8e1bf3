"""LayerNorm and RMSNorm on the same vectors: what each removes, and what each costs to run.

The library's `layer_norm` and `rms_norm` (scale 1, no bias) on one hand-made vector, then
both timed on a large batch of activations, in turns, compiled.

Run on its own: python snippets/arch/norm_math.py   (a few seconds)
"""

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from rawweights_jax.nn.norms import layer_norm, rms_norm

# --8<-- [start:one_vector]
x_D = jnp.array([3.0, 5.0, 4.0, 8.0, 5.0, 5.0, 2.0, 8.0])   # mean 5, all positive
ones_D = jnp.ones(8)
ln_D = layer_norm(x_D, ones_D, None, eps=1e-5)
rms_D = rms_norm(x_D, ones_D, eps=1e-5)
for name, v in (("x", x_D), ("LayerNorm(x)", ln_D), ("RMSNorm(x)", rms_D)):
    print(f"{name:13}" + " ".join(f"{float(a):+5.2f}" for a in v)
          + f"   mean {float(v.mean()):+.2f}  rms {float(jnp.sqrt(jnp.mean(v**2))):.2f}")
# --8<-- [end:one_vector]

# --8<-- [start:cost]
key = jax.random.key(int(os.environ.get("RWSITE_SEED", 0)))
x_BTD = jax.random.normal(key, (16, 1024, 1024)) + 0.5         # 16M activations, 64 MiB
scale_D = jnp.ones(1024)
norms = {"LayerNorm": jax.jit(lambda x: layer_norm(x, scale_D, None, 1e-5)),
         "RMSNorm": jax.jit(lambda x: rms_norm(x, scale_D, 1e-5))}
times = {name: [] for name in norms}
for fn in norms.values():
    fn(x_BTD).block_until_ready()                                 # compile
for _ in range(15):                                               # in turns: same conditions
    for name, fn in norms.items():
        t0 = time.perf_counter()
        fn(x_BTD).block_until_ready()
        times[name].append(time.perf_counter() - t0)
ms = {name: 1000 * float(np.median(t)) for name, t in times.items()}
print(f"on {x_BTD.shape} float32 activations ({jax.devices()[0].platform}), median of 15:")
for name in norms:
    print(f"  {name:9} {ms[name]:6.1f} ms")
print(f"  RMSNorm takes {ms['RMSNorm'] / ms['LayerNorm']:.0%} of LayerNorm's time")
# --8<-- [end:cost]
