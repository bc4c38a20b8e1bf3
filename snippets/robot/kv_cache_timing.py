"""Why a KV cache: the trained student writes 32 characters with and without one, timed.

Both paths are one compiled loop (`generate(..., use_cache=True/False)`); compilation is timed
separately and left out of the per-token figures. Greedy decoding, so both must write exactly
the same characters.

Run on its own: python snippets/robot/kv_cache_timing.py  (trains the student first if needed)
"""

import functools
import math
import time

import jax
import numpy as np

from _student import load_student
from rwsite.claims import value
from rawweights_jax.config import preset
from rawweights_jax.inference.generate import generate
from rawweights_jax.kvcache.cache import KVCache

model, tok, run, _ = load_student()
prompt = tok.encode("ROMEO:\nBut, soft! what light thr")   # 32 characters
N_NEW = run.model.context_len - len(prompt)             # 32: fill the context exactly


def timed(fn, repeat=7):
    t0 = time.perf_counter()
    fn()                                         # the first call compiles
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return first, float(np.median(times))


# --8<-- [start:timing]
print(f"{len(prompt)}-token prompt, {N_NEW} new tokens per row, greedy")
for batch in (1, 8):
    def decode(cache):
        return generate(model, [prompt] * batch, N_NEW, temperature=0.0,
                        use_cache=cache)
    c_first, cached = timed(lambda: decode(True))
    u_first, uncached = timed(lambda: decode(False))
    print(f"batch {batch}:")
    for name, first, total in [("with cache", c_first, cached),
                               ("without cache", u_first, uncached)]:
        print(f"  {name:14} {1000 * total / N_NEW:7.3f} ms per step "
              f"(first call, compiling: {first:.1f} s)")
    print(f"  {uncached / cached:.1f}x faster with the cache; "
          f"identical text: {decode(True) == decode(False)}")
with_cache, without = len(prompt) + N_NEW, N_NEW * run.model.context_len
print(f"positions run through the model per row: {with_cache} with the "
      f"cache, {without} without")
# --8<-- [end:timing]

# --8<-- [start:memory]
def cache_bytes(c, slots):      # shapes only: nothing is allocated
    shapes = jax.eval_shape(functools.partial(KVCache.empty, c, 1, slots))
    return sum(math.prod(x.shape) * x.dtype.itemsize
               for x in jax.tree.leaves(shapes))

print("cache memory per sequence, float32:")
student_kib = value("student_cache_kib", f"{cache_bytes(run.model, run.model.context_len) / 2**10:.0f}")
print(f"  this student, {run.model.context_len} slots: {student_kib} KiB")
print(f"  gpt2-small preset, 1024 slots: "
      f"{cache_bytes(preset('gpt2-small').model, 1024) / 2**20:.1f} MiB")
# --8<-- [end:memory]
