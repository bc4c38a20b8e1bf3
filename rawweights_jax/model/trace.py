"""Looking inside one forward pass: the residual stream after every sub-layer, and the
attention weights of every head.

`trace(model, tokens_BT)` runs the model's own parts in the model's own order (embedding,
then each block's attention and MLP branches through `Block.residual`, then `unembed`), the
way `model(tokens_BT)` runs them without a cache or dropout, and keeps what passes by: the
stream before the first block, after each attention branch and after each MLP branch, and the
logits at the end, and each layer's largest attention logit (training watches it grow,
train/monitor.py).

The attention backends return outputs, not weights (the fast ones never hold the whole T x S
matrix), so `attention_weights` recomputes the weights from the layer's own projections:
softmax(scale q k^T) over the keys the mask leaves visible. `tests/test_lib_trace.py` checks
that these weights, applied to the layer's values and projected out, give the attention output
the model itself computed, and that the traced logits are the model's.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from rawweights_jax.model.gpt import GPT
from rawweights_jax.nn.attention.mask import NEG_INF, Mask, causal_mask
from rawweights_jax.nn.attention.mha import Attention


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Trace:
    """What one forward pass left behind, layer by layer (L layers, one row per text); a
    pytree, so `nnx.jit(trace)` compiles the whole pass."""

    embed_BTD: jax.Array         # token embedding + position: what the first block reads
    after_attn_LBTD: jax.Array   # the stream after each layer's attention branch
    after_mlp_LBTD: jax.Array    # the stream after each layer's MLP branch (the layer's output)
    probs_LBNTS: jax.Array       # attention weights: layer, row, head, query t, key s
    max_logit_L: jax.Array       # each layer's largest attention logit (scaled q.k) over visible keys
    logits_BTV: jax.Array        # the scores `model(tokens_BT)` returns

    def stream(self) -> jax.Array:
        """[2L + 1, B, T, D]: the embedding, then after attention and after the MLP, per layer."""
        pairs = jnp.stack([self.after_attn_LBTD, self.after_mlp_LBTD], axis=1)
        return jnp.concatenate([self.embed_BTD[None], pairs.reshape(-1, *pairs.shape[2:])])


# --8<-- [start:weights]
def attention_weights(attn: Attention, h_BTD, mask: Mask, rope=None):
    """probs_BNTS of one attention layer reading h_BTD (the normed stream), without a cache."""
    return jax.nn.softmax(attention_logits(attn, h_BTD, mask, rope), axis=-1)


def attention_logits(attn: Attention, h_BTD, mask: Mask, rope=None):
    """The scaled scores q.k of one attention layer, NEG_INF where the mask hides a key."""
    q_BTNH, k_BTKH, _ = attn.project(h_BTD, rope)    # the layer's own projections
    H = q_BTNH.shape[-1]
    k_BTNH = jnp.repeat(k_BTKH, q_BTNH.shape[2] // k_BTKH.shape[2], axis=2)   # a key head serves G = N/K
    scale = 1.0 / math.sqrt(H) if attn.scale is None else attn.scale
    scores_BNTS = jnp.einsum("btnh,bsnh->bnts", q_BTNH, k_BTNH).astype(jnp.float32) * scale
    return jnp.where(mask.dense()[:, None], scores_BNTS, NEG_INF)
# --8<-- [end:weights]


def _recorded_attention(block, mask: Mask, ropes: dict, probs: list, max_logits: list):
    """The block's attention branch as `Block.__call__` builds it, keeping its weights in `probs`
    and its largest logit in `max_logits`."""
    if not isinstance(block.attn, Attention):
        raise TypeError(f"a layer uses {type(block.attn).__name__}: trace reads multi-head / "
                        "grouped-query attention (Attention) layers only")
    if block.window is not None:
        mask = dataclasses.replace(mask, window=block.window)
    rope = ropes[block.local]

    def attn(h_BTD):
        logits_BNTS = attention_logits(block.attn, h_BTD, mask, rope)
        probs.append(jax.nn.softmax(logits_BNTS, axis=-1))
        max_logits.append(logits_BNTS.max())     # a visible key always beats NEG_INF
        return block.attn(h_BTD, mask, rope)
    return attn


def trace(model: GPT, tokens_BT) -> Trace:
    """Run `model` on tokens_BT (no cache, no dropout) and keep the stream and the weights."""
    B, T = tokens_BT.shape
    mask = causal_mask(B, T)
    ropes = {local: model.rope(mask.q_pos_BT, local) for local in {b.local for b in model.blocks}}
    probs, max_logits = [], []
    # --8<-- [start:layers]
    x_BTD = model.embed(tokens_BT, mask.q_pos_BT)         # token + position vectors
    stream = [x_BTD]
    for block in model.blocks:
        attn = _recorded_attention(block, mask, ropes, probs, max_logits)
        x_BTD, _ = block.residual(x_BTD, attn, block.norm_attn, block.post_attn, None, 0.0)
        stream.append(x_BTD)                               # pre-norm: x + attn(norm(x))
        x_BTD, _ = block.residual(x_BTD, block.mlp, block.norm_mlp, block.post_mlp, None, 0.0)
        stream.append(x_BTD)                               # pre-norm: x + mlp(norm(x))
    logits_BTV = model.unembed(x_BTD)                      # final norm, then a score per token
    # --8<-- [end:layers]
    return Trace(stream[0], jnp.stack(stream[1::2]), jnp.stack(stream[2::2]), jnp.stack(probs),
                 jnp.stack(max_logits), logits_BTV)
