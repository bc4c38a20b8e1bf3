"""What int8 and int4 do to one matrix: bytes, the error of each weight, the error of a product.

Quantizes a random 384 x 1536 matrix (the robot student's MLP shape in the larger preset) with
the library's own functions, and checks that `dense` on the quantized weight gives the same
product as `dense` on its dequantized copy.

Run on its own: python snippets/inference/quant_round_trip.py   (a few seconds)
"""

import os

import jax
import jax.numpy as jnp

from rawweights_jax.nn.dense import dense
from rawweights_jax.nn.quant import dequantize, quantize
from rwsite.claims import claim, value

key = jax.random.key(int(os.environ.get("RWSITE_SEED", 0)))
w_DF = jax.random.normal(key, (384, 1536)) * 0.02
x_BD = jax.random.normal(jax.random.fold_in(key, 1), (8, 384))

# --8<-- [start:round_trip]
rows = {}
for name, q in {"int8": quantize(w_DF, 8), "int4, group 32": quantize(w_DF, 4, 32),
                "int4, group 128": quantize(w_DF, 4, 128)}.items():
    y_ref, y = x_BD @ w_DF, dense(x_BD, q)
    rows[name] = (q.nbytes, jnp.linalg.norm(dequantize(q) - w_DF) / jnp.linalg.norm(w_DF),
                  jnp.linalg.norm(y - y_ref) / jnp.linalg.norm(y_ref))
    assert jnp.allclose(y, dense(x_BD, dequantize(q)), atol=1e-5)   # same product
print(f"{'':16} {'bytes':>9} {'weight error':>13} {'output error':>13}")
print(f"{'float32':16} {w_DF.nbytes:>9,} {0:>13.4f} {0:>13.4f}")
for name, (nbytes, w_err, y_err) in rows.items():
    print(f"{name:16} {nbytes:>9,} {float(w_err):>13.4f} {float(y_err):>13.4f}")
# --8<-- [end:round_trip]

value("int8_matrix_error", f"{float(rows['int8'][1]) * 100:.1f}%")
value("int4_matrix_error", f"{float(rows['int4, group 32'][1]) * 100:.1f}%")
claim(rows["int4, group 32"][1] < rows["int4, group 128"][1],
      "smaller groups give a smaller int4 error")
