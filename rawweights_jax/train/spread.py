"""One training step spread over a mesh of devices by shardings alone (GSPMD): data parallelism,
FSDP, Megatron tensor parallelism, and their combinations; and expert parallelism, whose loss
is written per device (`shard_map`) around the MoE layers' all-to-all dispatch.

The step itself is the plain one (loss, gradient, AdamW) written for one device. What changes
is where each array lives, said once per array with a `NamedSharding` over a 2-D mesh whose
axes are `data` (batch rows) and `model` (weight matrices); XLA's partitioner then inserts the
collectives that keep the arithmetic equal to one device's:

- dp: weights and optimizer state replicated, rows split; each device's gradient is summed
  across devices (one all-reduce of every gradient per step).
- fsdp: every weight, its gradient and its two AdamW moments split over `data` on their first
  divisible axis, so each device stores 1/n of the state. Inside the loss each weight is
  gathered whole (one all-gather, reused by the backward pass); its gradient is summed and each
  device keeps its slice. (On the CPU, XLA sums with an all-reduce and slices, rather than a
  reduce-scatter; the formula in analysis/comm.py counts what the CPU does.)
- tp: the pairs of matrices split Megatron-style (parallel/sharding.py): the first of each pair
  by columns (attention heads, MLP hidden units), the second by rows, so each layer's
  attention and MLP end in one all-reduce of the activations, forward and backward.

The loss of each strategy is held to one device's on the same batch (tests, and `rawweights
bench parallel`), and its communication is read from the compiled program (parallel/hlo.py).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from rawweights_jax.config.parallel import ParallelConfig
from rawweights_jax.core.names import leaf_name
from rawweights_jax.parallel.mesh import DATA, EXPERT, MODEL
from rawweights_jax.parallel.sharding import SPLIT_AXIS
from rawweights_jax.train.loss import cross_entropy


def spread_mesh(par: ParallelConfig, devices=None) -> Mesh:
    """A `data` x `model` mesh over the first par.devices devices (default: the local ones)."""
    devices = list(jax.devices() if devices is None else devices)
    if len(devices) < par.devices:
        raise ValueError(f"{par} needs {par.devices} devices, only {len(devices)} are available "
                         "(on a CPU: XLA_FLAGS=--xla_force_host_platform_device_count=N)")
    return Mesh(np.array(devices[:par.devices]).reshape(par.data, par.model), (DATA, MODEL))


# --8<-- [start:weight_spec]
def weight_spec(path, x, par: ParallelConfig, gathered: bool = False) -> P:
    """Where one weight (or one of its optimizer moments: same name, same shape) lives.
    `gathered`: the layout inside the loss, where fsdp's split over `data` is undone."""
    spec = [None] * np.ndim(x)
    axis = SPLIT_AXIS.get(leaf_name(path))
    if par.model > 1 and axis is not None and x.shape[axis] % par.model == 0:
        spec[axis] = MODEL
    if par.fsdp and not gathered:
        # the first axis the data devices divide, other than the one the model devices split
        free = [a for a in range(np.ndim(x)) if spec[a] is None and x.shape[a] % par.data == 0]
        if free:
            spec[free[0]] = DATA
    return P(*spec)
# --8<-- [end:weight_spec]


def state_shardings(tree, mesh: Mesh, par: ParallelConfig, gathered: bool = False):
    """A NamedSharding for every leaf of params or optimizer state (scalars replicated)."""
    return jax.tree_util.tree_map_with_path(
        lambda path, x: NamedSharding(mesh, weight_spec(path, x, par, gathered)), tree)


def batch_sharding(mesh: Mesh, par: ParallelConfig) -> NamedSharding:
    return NamedSharding(mesh, P(DATA) if par.data > 1 else P())


def make_step(graphdef: nnx.GraphDef, optimizer: optax.GradientTransformation,
              params, opt_state, mesh: Mesh, par: ParallelConfig):
    """The jitted step `(params, opt_state, x_BT, y_BT) -> (params, opt_state, loss)` for `par`
    on `mesh`, with its input and output shardings fixed (the state stays where it lives)."""
    p_sh, o_sh = state_shardings(params, mesh, par), state_shardings(opt_state, mesh, par)
    whole = state_shardings(params, mesh, par, gathered=True)
    b_sh, scalar = batch_sharding(mesh, par), NamedSharding(mesh, P())

    # --8<-- [start:fsdp_gather]
    def loss_fn(params, x_BT, y_BT):
        if par.fsdp:   # gather each weight before its use; its gradient goes back to shards
            params = jax.lax.with_sharding_constraint(params, whole)
        return cross_entropy(nnx.merge(graphdef, params)(x_BT), y_BT)
    # --8<-- [end:fsdp_gather]

    def step(params, opt_state, x_BT, y_BT):
        loss, grads = jax.value_and_grad(loss_fn)(params, x_BT, y_BT)
        with jax.numpy_dtype_promotion("standard"):    # optax mixes int32 counts and floats
            updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return jax.jit(step, in_shardings=(p_sh, o_sh, b_sh, b_sh), out_shardings=(p_sh, o_sh, scalar),
                   donate_argnums=(0, 1))


EXPERT_WEIGHTS = ("w_in_EDF", "w_up_EDF", "w_out_EFD")


def make_expert_step(graphdef: nnx.GraphDef, optimizer: optax.GradientTransformation,
                     params, opt_state, mesh: Mesh):
    """Expert parallelism on a 1-D `expert` mesh: each device keeps E/n experts of every MoE
    layer (and a copy of everything else) and its rows of the batch. `graphdef` must be built
    with Runtime(moe_dispatch='all-to-all'), whose dispatch moves tokens to their experts'
    devices and back (nn/moe.py). The loss is written per device under `shard_map`, the
    gradient taken outside it, so JAX sums the copies' gradients across devices (an
    all-reduce, as in dp) and each device's experts get theirs through the all-to-alls."""
    def spec(path, x):
        return P(EXPERT) if leaf_name(path) in EXPERT_WEIGHTS and np.ndim(x) else P()
    p_spec = jax.tree_util.tree_map_with_path(spec, params)
    to_sharding = lambda specs: jax.tree.map(lambda s: NamedSharding(mesh, s), specs)
    o_sh = to_sharding(jax.tree_util.tree_map_with_path(spec, opt_state))
    p_sh, rows = to_sharding(p_spec), NamedSharding(mesh, P(EXPERT))

    def local_loss(params, x_BT, y_BT):
        return jax.lax.pmean(cross_entropy(nnx.merge(graphdef, params)(x_BT), y_BT), EXPERT)
    loss_fn = jax.shard_map(local_loss, mesh=mesh, in_specs=(p_spec, P(EXPERT), P(EXPERT)),
                            out_specs=P())

    def step(params, opt_state, x_BT, y_BT):
        loss, grads = jax.value_and_grad(loss_fn)(params, x_BT, y_BT)
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return jax.jit(step, in_shardings=(p_sh, o_sh, rows, rows),
                   out_shardings=(p_sh, o_sh, NamedSharding(mesh, P())), donate_argnums=(0, 1)), (p_sh, o_sh)


def place_state(params, opt_state, mesh: Mesh, par: ParallelConfig) -> tuple[Any, Any]:
    """Copy params and optimizer state to where `par` keeps them."""
    return (jax.device_put(params, state_shardings(params, mesh, par)),
            jax.device_put(opt_state, state_shardings(opt_state, mesh, par)))


def bytes_per_device(tree) -> int:
    """Bytes of `tree`'s arrays held by one device (the first): its shards, not the whole."""
    device = None
    total = 0
    for x in jax.tree.leaves(tree):
        shards = x.addressable_shards
        device = device or shards[0].device
        total += sum(s.data.nbytes for s in shards if s.device == device)
    return total
