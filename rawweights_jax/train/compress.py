"""Gradient compression: data parallelism whose gradient all-reduce moves int8 instead of float32.

The plain all-reduce hands every device's float32 gradient (4 bytes a parameter) to the
collective. Here each device's flat gradient is cut into n chunks and rounded to int8 with one
scale (its largest magnitude / 127); an all-to-all gives device j every device's chunk j (1
byte a parameter in all); device j sums its chunk in float32, rounds the sum to int8 again,
and an all-gather returns every summed chunk to every device (1/n byte a parameter). That is
the reduce-scatter + all-gather of a ring all-reduce with a quarter of the bytes, at the cost
of two roundings: each gradient entry moves by up to half a step of its scale, twice.
`rawweights bench parallel` reports what that does to the loss against exact float32.
"""

from __future__ import annotations

import jax
import jax.flatten_util
import jax.numpy as jnp
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from rawweights_jax.parallel.mesh import DATA
from rawweights_jax.train.loss import cross_entropy


def to_int8(x):
    """(int8 values, float32 scale) with x ~ values * scale; zeros stay exact."""
    scale = jnp.max(jnp.abs(x)) / 127.0
    safe = jnp.where(scale > 0, scale, 1.0)
    return jnp.clip(jnp.round(x / safe), -127, 127).astype(jnp.int8), scale


# --8<-- [start:int8_mean]
def int8_mean(flat_Z, axis: str):
    """The mean over `axis` of every device's flat float32 vector, moved as int8 (see above).
    Call inside `shard_map`; the vector's length need not divide the axis size."""
    n = jax.lax.axis_size(axis)
    size = flat_Z.shape[0]
    chunks_NC = jnp.pad(flat_Z, (0, -size % n)).reshape(n, -1)
    q_NC, scale = to_int8(chunks_NC)
    mine_NC = jax.lax.all_to_all(q_NC, axis, 0, 0, tiled=True)        # chunk j of every device
    scales_N = jax.lax.all_gather(scale, axis)
    sum_C = jnp.einsum("nc,n->c", mine_NC.astype(jnp.float32), scales_N) / n
    q_C, scale_sum = to_int8(sum_C)
    all_NC = jax.lax.all_gather(q_C, axis)
    scales_sum_N = jax.lax.all_gather(scale_sum, axis)
    return (all_NC.astype(jnp.float32) * scales_sum_N[:, None]).reshape(-1)[:size]
# --8<-- [end:int8_mean]


def make_int8_step(graphdef: nnx.GraphDef, optimizer: optax.GradientTransformation, mesh: Mesh):
    """A data-parallel step over the `data` axis of `mesh` (weights and optimizer state
    replicated) whose gradient mean is `int8_mean`; same signature as spread.make_step's."""
    def grads_on_each(params, x_BT, y_BT):
        loss, grads = jax.value_and_grad(
            lambda p: cross_entropy(nnx.merge(graphdef, p)(x_BT), y_BT))(params)
        flat, unflatten = jax.flatten_util.ravel_pytree(grads)
        return jax.lax.pmean(loss, DATA), unflatten(int8_mean(flat, DATA))
    grads_fn = jax.shard_map(grads_on_each, mesh=mesh, in_specs=(P(), P(DATA), P(DATA)),
                             out_specs=(P(), P()), check_vma=False)

    def step(params, opt_state, x_BT, y_BT):
        loss, grads = grads_fn(params, x_BT, y_BT)
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    rep, rows = NamedSharding(mesh, P()), NamedSharding(mesh, P(DATA))
    return jax.jit(step, in_shardings=(rep, rep, rows, rows), out_shardings=(rep, rep, rep),
                   donate_argnums=(0, 1))
