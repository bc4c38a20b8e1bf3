"""The one matrix-product path of the library, dropout, and how parameters are created.

Every weight product goes through `dense`, so quantized weights (nn/quant.py) and sharding
have one place to hook in. Parameters are created by `normal_param` / `zeros_param` (an optional bias is a
`None` parameter, so the module's pytree holds only what the model has).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from rawweights_jax.nn.quant import QuantizedWeight, quantized_dense


# --8<-- [start:dense]
def dense(x, w, contract: int = 1):
    """Contract the last `contract` axes of x with the first axes of w, as one 2-D matmul.

    `dense(x_BTD, wq_DNH)` is `einsum("btd,dnh->btnh")`. Flattening to [B*T, D] @ [D, N*H] first
    matters on CPU: XLA's backward pass of a 3-D product (a weight gradient contracting both
    batch and time) ran about 1.8x slower than the same product in 2-D here. A `QuantizedWeight`
    is multiplied from its integers (nn/quant.py), so a model takes quantized weights as is.
    """
    if isinstance(w, QuantizedWeight):
        return quantized_dense(x, w, contract)
    lead, inner = x.shape[:x.ndim - contract], x.shape[x.ndim - contract:]
    size = math.prod(inner)
    y = x.reshape(-1, size) @ w.reshape(size, -1)
    return y.reshape(*lead, *w.shape[contract:])
# --8<-- [end:dense]


def dropout(x, rate: float, key: jax.Array | None):
    """Zero each entry with probability `rate` and rescale the rest; identity without a key."""
    if key is None or rate == 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0).astype(x.dtype)



def normal_param(rngs: nnx.Rngs, std: float, *shape: int) -> nnx.Param:
    return nnx.Param(jax.random.normal(rngs.params(), shape, jnp.float32) * std)


def zeros_param(on: bool, *shape: int) -> nnx.Param | None:
    return nnx.Param(jnp.zeros(shape, jnp.float32)) if on else None


def value(param):
    """The array of an optional parameter (None stays None)."""
    return None if param is None else param[...]
