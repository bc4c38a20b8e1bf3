"""One attention layer of the trained student, step by step, with the shape of every array.

Queries, keys and values come out of one matrix product; scores are query-key dot products,
softmax turns them into weights, the weights average the values, and one more product mixes
the heads back into the model's width. The last line checks that these steps give what the
library's `Attention` module computes.

Run on its own: python snippets/robot/queries_keys_values.py  (trains the student first if needed)
"""

import jax
import jax.numpy as jnp
import numpy as np

from _reading import TEXT
from _student import load_student
from rawweights_jax.nn.attention.mask import NEG_INF, causal_mask
from rawweights_jax.nn.dense import dense
from rwsite.claims import claim, value

model, tok, run, _ = load_student()
ids_BT = jnp.asarray([tok.encode(TEXT)])
B, T = ids_BT.shape
x_BTD = model.embed(ids_BT, jnp.arange(T)[None])
block = model.blocks[0]
shape = lambda name, a, says: print(f"{name:11} {str(tuple(a.shape)):18} {says}")

# --8<-- [start:qkv]
h_BTD = block.norm_attn(x_BTD)                       # the layer reads a normalised copy
wqkv_DKJH = block.attn.wqkv_DKJH[...]                # per head: a query, a key, a value map
qkv_BTKJH = dense(h_BTD, wqkv_DKJH)                  # one product for all three
q_BTNH = qkv_BTKJH[:, :, :, 0]                       # (K = N here: each head has its own key)
k_BSNH, v_BSNH = qkv_BTKJH[:, :, :, 1], qkv_BTKJH[:, :, :, 2]
H = q_BTNH.shape[-1]
scores_BNTS = jnp.einsum("btnh,bsnh->bnts", q_BTNH, k_BSNH) / np.sqrt(H)
seen_BTS = causal_mask(B, T).dense()                 # key s <= query t
probs_BNTS = jax.nn.softmax(jnp.where(seen_BTS[:, None], scores_BNTS, NEG_INF), axis=-1)
mixed_BTNH = jnp.einsum("bnts,bsnh->btnh", probs_BNTS, v_BSNH)
out_BTD = dense(mixed_BTNH, block.attn.wo_NHD[...], contract=2)   # heads mixed back to D
# --8<-- [end:qkv]

for name, a, says in [
        ("x_BTD", x_BTD, "the text, embedded"),
        ("wqkv_DKJH", wqkv_DKJH, "width D -> K heads x (query, key, value) x H"),
        ("qkv_BTKJH", qkv_BTKJH, "all three, for every character"),
        ("q_BTNH", q_BTNH, "a question per character and head"),
        ("k_BSNH", k_BSNH, "a label per character and head (S = T keys)"),
        ("scores_BNTS", scores_BNTS, "every question against every label"),
        ("probs_BNTS", probs_BNTS, "softmax over s: weights that add up to 1"),
        ("mixed_BTNH", mixed_BTNH, "each head's weighted average of values"),
        ("out_BTD", out_BTD, "back to the stream's width")]:
    shape(name, a, says)

library_BTD, _ = block.attn(h_BTD, causal_mask(B, T))
gap = float(jnp.abs(out_BTD - library_BTD).max())
print(f"largest difference from the library's Attention: {gap:.1e}")
claim(gap < 1e-5, "the steps above compute what the library's Attention computes", gap=gap)
claim(np.allclose(probs_BNTS.sum(-1), 1, atol=1e-5), "every row of weights adds up to 1")
value("N", str(q_BTNH.shape[2]))
value("H", str(H))
value("T", str(T))
value("sqrt_H", f"{np.sqrt(H):.2f}")
