"""Quantized weights: fewer bytes per weight, read by the same `dense` as float weights.

Batch-1 decoding reads every weight once per token, so its speed limit is bytes per weight.
A `QuantizedWeight` stores a matrix as small integers and a few float scales:

- **int8, per output channel**: each output column j gets one scale, `max|w[:, j]| / 127`,
  and every weight becomes `round(w / scale)` in [-127, 127]. 4x fewer bytes than float32.
- **int8 weights and activations** (`act_bits=8`, W8A8 "dynamic range" as qwix calls it):
  each activation row is also rounded to int8 with its own scale, and the product is an
  int8 x int8 -> int32 dot. Not weight-only any more, but the one form XLA:CPU multiplies
  without first converting the whole weight to float (below).
- **int4, groupwise**: along the contraction axis, every `group` weights (32 or 64) of a
  column share one scale, `max|w| / 7`; values in [-8, 7] are packed two to a byte (the
  first half of each group in the low nibbles, the second half in the high ones, so a group
  unpacks without interleaving). 8x fewer bytes than float32, plus a scale per group.

All are symmetric (no zero point). Weight-only ones keep the activations in float, and the
product is exactly `x @ dequantize(w)` up to float rounding. Which matrices get quantized is
decided by name (`QUANTIZABLE`): those every token multiplies by, through `dense`. The
embedding table (a lookup, and the tied output layer) and the norms stay in float.

Why not qwix (the JAX ecosystem's quantization library)? Its post-training mode intercepts
`dot_general`/`einsum` calls on a module's own parameters and replaces each with a QArray in
the product's 2-D shape, while this library keeps named multi-axis weights (`wqkv_DKJH`),
reshapes them inside `dense`, and names checkpoint entries and sharding rules after them. And
on XLA:CPU qwix's weight-only product of a float32 activation with a QArray lowers to a float32
copy of the whole weight followed by the dot (its "slow path"; checked in the optimized HLO):
the same program as the few lines here, which do it without the dependency.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from flax import nnx

from rawweights_jax.core.names import leaf_name, weight_name

BITS = (8, 4)
GROUPS = (32, 64, 128)

# The matrices every token multiplies by through `dense`, and how many of their leading axes
# the product contracts. (MLA's wk_b_CNP and wv_b_CNH are also used absorbed into an einsum,
# and the experts' stacked EDF weights go through their own dispatch: both stay in float.)
QUANTIZABLE = {"wqkv_DKJH": 1, "wo_NHD": 2, "w_in_DF": 1, "w_up_DF": 1, "w_out_FD": 1,
               "lm_head_DV": 1, "wq_a_DQ": 1, "wq_b_QNI": 1, "wq_DNI": 1, "wkv_a_DX": 1}


# --8<-- [start:weight]
@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class QuantizedWeight:
    """A weight of logical `shape` stored as integers: `q` holds the contracted axes flattened
    to I rows and the rest to O columns ([I, O] int8, or [I/2, O] packed int4); `scale` has one
    row per group of rows along I ([1, O] for per-channel int8, [I/group, O] for int4)."""
    q: jax.Array
    scale: jax.Array
    shape: tuple[int, ...] = dataclasses.field(metadata=dict(static=True))
    contract: int = dataclasses.field(metadata=dict(static=True))
    bits: int = dataclasses.field(metadata=dict(static=True))
    group: int = dataclasses.field(metadata=dict(static=True))    # rows per scale
    act_bits: int | None = dataclasses.field(default=None, metadata=dict(static=True))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, index):
        """`param[...]` is how modules read a weight; a quantized one is read whole."""
        if index is not Ellipsis:
            raise TypeError(f"a QuantizedWeight is read whole (w[...]), not indexed by {index!r}")
        return self

    @property
    def nbytes(self) -> int:
        return self.q.nbytes + self.scale.nbytes

    def split_axes(self, axis: int) -> dict[str, int]:
        """Where logical `axis` lies in `q` and `scale` (for tensor parallelism): a contracted
        axis splits the rows, any other the columns. Valid for the leading axis of each side,
        which is the one parallel/sharding.py splits."""
        return {"q": 0, "scale": 0} if axis < self.contract else {"q": 1, "scale": 1}
# --8<-- [end:weight]


def check_quant(bits: int, group: int | None, rows: int | None = None, name: str = "weight",
                act_bits: int | None = None) -> int:
    """The group size to use for `bits`, or a ValueError naming what is wrong."""
    if bits not in BITS:
        raise ValueError(f"bits={bits!r}: expected one of {', '.join(map(str, BITS))}")
    if act_bits not in (None, 8) or (act_bits and bits != 8):
        raise ValueError(f"act_bits={act_bits!r}: int8 activations (8) go with int8 weights only")
    if bits == 8:
        if group is not None:
            raise ValueError(f"group={group}: int8 has one scale per output channel, no groups")
        return rows or 0
    group = 32 if group is None else group
    if group not in GROUPS:
        raise ValueError(f"group={group!r}: expected one of {', '.join(map(str, GROUPS))}")
    if rows is not None and rows % group:
        raise ValueError(f"group={group} does not divide the {rows} contracted rows of {name}")
    return group


# --8<-- [start:quantize]
def quantize(w, bits: int, group: int | None = None, contract: int = 1,
             act_bits: int | None = None) -> QuantizedWeight:
    """Symmetric quantization of `w`, whose first `contract` axes are contracted by `dense`.
    `act_bits=8` (int8 weights only) also rounds the activations to int8 in the product."""
    shape = tuple(w.shape)
    I = math.prod(shape[:contract])
    group = check_quant(bits, group, I, act_bits=act_bits)
    top = 2 ** (bits - 1) - 1                              # 127 or 7
    w_GgO = jnp.asarray(w, jnp.float32).reshape(I // group, group, -1)
    scale_G1O = jnp.max(jnp.abs(w_GgO), axis=1, keepdims=True) / top
    scale_G1O = jnp.where(scale_G1O == 0, 1.0, scale_G1O)  # an all-zero group stays zero
    q_GgO = jnp.clip(jnp.round(w_GgO / scale_G1O), -top - 1, top).astype(jnp.int8)
    if bits == 4:
        q_GgO = pack_int4(q_GgO)
    return QuantizedWeight(q_GgO.reshape(-1, q_GgO.shape[-1]), scale_G1O[:, 0], shape, contract,
                           bits, group, act_bits)


def pack_int4(q_GgO):
    """Two int4 values per byte: the first half of each group low, the second half high."""
    lo, hi = jnp.split(q_GgO, 2, axis=1)
    return (hi << 4) | (lo & 0xF)


def unpack_int4(p_GhO):
    """The int8 values [-8, 7] of packed groups: shifts on int8 extend the sign."""
    return jnp.concatenate([(p_GhO << 4) >> 4, p_GhO >> 4], axis=1)


def int_values(w: QuantizedWeight):
    """The stored integers as int8 [groups, group, O] (unpacked for int4)."""
    q = w.q.reshape(w.scale.shape[0], -1, w.q.shape[-1])
    return unpack_int4(q) if w.bits == 4 else q


def dequantize(w: QuantizedWeight, dtype=jnp.float32):
    """The float weight that `w` stands for, in its logical shape."""
    return (int_values(w).astype(dtype) * w.scale[:, None].astype(dtype)).reshape(w.shape)
# --8<-- [end:quantize]


# --8<-- [start:product]
def quantized_dense(x, w: QuantizedWeight, contract: int):
    """`dense(x, dequantize(w), contract)`, computed from the integers.

    int8: the per-column scale comes out of the sum, so the product runs on the integers
    (converted to x's float type) and the scale multiplies the [.., O] result, not the matrix.
    int4: each group has its own scale, so the weight is dequantized (unpack, convert, scale)
    and multiplied. XLA:CPU materializes the converted copy in both cases; it does not fuse a
    convert into its dot (see the module docstring and `rawweights bench quant`).
    """
    if contract != w.contract:
        raise ValueError(f"a weight quantized for {w.contract} contracted axes was used with "
                         f"contract={contract}")
    lead = x.shape[:x.ndim - contract]
    x_MI = x.reshape(-1, w.q.shape[0] * (2 if w.bits == 4 else 1))
    if w.bits == 8 and w.act_bits == 8:
        y_MO = int8_product(x_MI, w.q, w.scale)
    elif w.bits == 8:
        y_MO = (x_MI @ w.q.astype(x.dtype)) * w.scale.astype(x.dtype)
    else:
        w_IO = (int_values(w).astype(x.dtype) * w.scale[:, None].astype(x.dtype))
        y_MO = x_MI @ w_IO.reshape(x_MI.shape[1], -1)
    return y_MO.reshape(*lead, *w.shape[contract:])
# --8<-- [end:product]


def int8_product(x_MI, q_IO, scale_1O):
    """x @ (q * scale) with x rounded to int8 per row (dynamic, symmetric): an int8 x int8 -> int32
    dot, which XLA:CPU hands to YNNPACK, reading the int8 weight as is. A single row is padded
    to two: a one-row product is lowered as a matrix-vector product that converts the weight."""
    M = x_MI.shape[0]
    x_MI = jnp.pad(x_MI, ((0, 1), (0, 0))) if M == 1 else x_MI
    xs_M1 = jnp.max(jnp.abs(x_MI), axis=1, keepdims=True) / 127
    xs_M1 = jnp.where(xs_M1 == 0, 1.0, xs_M1)
    xq_MI = jnp.round(x_MI / xs_M1).astype(jnp.int8)
    y_MO = jax.lax.dot_general(xq_MI, q_IO, (((1,), (0,)), ((), ())),
                               preferred_element_type=jnp.int32)
    return (y_MO.astype(x_MI.dtype) * xs_M1 * scale_1O.astype(x_MI.dtype))[:M]


# --8<-- [start:model]
def quantize_params(params, bits: int, group: int | None = None, act_bits: int | None = None):
    """`params` (a pytree named like the model's) with every QUANTIZABLE matrix quantized."""
    check_quant(bits, group, act_bits=act_bits)

    def one(path, w):
        name = leaf_name(path)
        if name not in QUANTIZABLE or isinstance(w, QuantizedWeight):
            return w
        contract = QUANTIZABLE[name]
        check_quant(bits, group, math.prod(w.shape[:contract]),
                    weight_name(path).removesuffix(".value"))
        return quantize(w, bits, group, contract, act_bits)

    return jax.tree_util.tree_map_with_path(one, params,
                                            is_leaf=lambda x: isinstance(x, QuantizedWeight))


def quantize_model(model: nnx.Module, bits: int, group: int | None = None,
                   act_bits: int | None = None) -> nnx.Module:
    """A copy of `model` whose matrices are quantized: the same class, the same forward pass,
    because every product goes through `dense`."""
    graphdef, params = nnx.split(model, nnx.Param)
    return nnx.merge(graphdef, quantize_params(params, bits, group, act_bits))
# --8<-- [end:model]


def is_quantized(x) -> bool:
    return isinstance(x, QuantizedWeight)


def weight_bytes(params) -> int:
    """Bytes of every weight in `params`, quantized ones as stored (integers and scales)."""
    leaves = jax.tree.leaves(params, is_leaf=is_quantized)
    return sum(x.nbytes for x in leaves)
