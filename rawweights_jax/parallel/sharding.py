"""Spreading one model over several devices: the batch for training, the weights for decoding.

Two ways to use several devices (here: the cores of one CPU, see devices.py):

- *Data parallelism* (training): every device holds all the weights and takes a slice of the
  batch; the gradients are summed across devices once per step. Cheap to communicate (one
  gradient per step) and simple. train/trainer.py writes it out with `jax.shard_map`: each device
  computes the gradient of its rows, and one `pmean` of all gradients flattened into a single
  vector averages them. (Left to itself, XLA sums each weight's gradient separately; on the
  CPU every such sum is a meeting of the devices' threads, and 27 meetings a step cost 3 ms.)
- *Tensor parallelism* (decoding): every device holds a slice of every weight matrix. Batch-1
  decoding reads every weight once per token, so it is bound by memory bandwidth, and one
  core cannot use all of it: two cores each streaming half of the model's matrices ran at
  2.6x the rate of one core streaming all of them (a standalone measurement on the 2-core
  development machine). The split follows Megatron-LM: the first matrix of each pair is
  split by output columns (attention head groups, MLP hidden units), the second by input
  rows, so each layer needs one sum across devices after attention and one after the MLP.
  XLA inserts those sums itself (GSPMD) from the shardings given here. Their cost on a CPU is
  not small: `rawweights bench decode` measures what is left of the gain.
"""

from __future__ import annotations

import dataclasses

import jax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from rawweights_jax.core.names import leaf_name

# Which axis of each weight is split across devices, by the weight's name (its dimension letters).
# Heads (N, K) and MLP hidden units (F) are split; the model width D and embeddings are not.
SPLIT_AXIS = {"wqkv_DKJH": 1, "bqkv_KJH": 0, "wo_NHD": 0, "w_in_DF": 1, "b_in_F": 0,
              "w_up_DF": 1, "b_up_F": 0, "w_out_FD": 0}


def shard_weights(params, mesh: Mesh | None):
    """Place each weight split (tensor parallel) or replicated, per SPLIT_AXIS and divisibility."""
    if mesh is None:
        return params
    n = mesh.devices.size

    def put(x, axis):
        spec = [None] * x.ndim
        if axis is not None and x.shape[axis] % n == 0:
            spec[axis] = mesh.axis_names[0]
        return jax.device_put(x, NamedSharding(mesh, P(*spec)))

    def place(path, x):
        axis = SPLIT_AXIS.get(leaf_name(path))
        if hasattr(type(x), "split_axes"):       # a quantized weight (nn/quant.py, a layer above)
            if axis is None:
                return jax.tree.map(lambda a: put(a, None), x)
            axes = x.split_axes(axis)
            return dataclasses.replace(x, q=put(x.q, axes["q"]), scale=put(x.scale, axes["scale"]))
        return put(x, axis)

    return jax.tree_util.tree_map_with_path(place, params,
                                            is_leaf=lambda x: hasattr(type(x), "split_axes"))


def shard_model(model: nnx.Module, mesh: Mesh | None) -> nnx.Module:
    """Place `model`'s weights on `mesh` as `shard_weights` does, in place; returns the model."""
    if mesh is not None:
        nnx.update(model, shard_weights(nnx.state(model, nnx.Param), mesh))
    return model
