"""Where the trained student's weights are: the two tables it reads with, then, in each of its
layers, a norm and attention, a norm and an MLP, and a last norm before the vote.

Run on its own: python snippets/robot/block_parts.py  (trains the student first if needed)
"""

import numpy as np
from flax import nnx

from _student import load_student
from rawweights_jax.model.gpt import count_params
from rwsite.claims import claim, value

model, tok, run, _ = load_student()

# --8<-- [start:parts]
ORDER = ["wte_VD", "wpe_TD", "norm_attn", "wqkv_DKJH", "wo_NHD", "norm_mlp", "w_in_DF",
         "w_out_FD", "norm_out"]                   # the order a character meets them
rank = lambda item: (item[0][0] == "norm_out", [ORDER.index(p) for p in item[0] if p in ORDER])
sizes = {}                                         # (layer or None, part) -> number of weights
for path, weight in sorted(nnx.to_flat_state(nnx.state(model, nnx.Param)), key=rank):
    layer = path[1] if path[0] == "blocks" else None
    part = path[2] if layer is not None else path[0]
    sizes[layer, part] = sizes.get((layer, part), 0) + weight[...].size
    if layer in (None, 0):                         # every layer has the same shapes
        print(f"{'layer 0' if layer == 0 else '':8}{'.'.join(map(str, path[-2:])):22}"
              f"{str(weight[...].shape):18}{weight[...].size:>8,}")
total = sum(sizes.values())
print(f"{'':8}{'all weights':40}{total:>8,}")
# --8<-- [end:parts]

per_layer = {part: n for (layer, part), n in sizes.items() if layer == 0}
layer_total = sum(per_layer.values())
L = len(model.blocks)
print(f"one layer: attention {per_layer['attn']:,}, MLP {per_layer['mlp']:,}, "
      f"norms {per_layer['norm_attn'] + per_layer['norm_mlp']:,} weights")
print(f"{L} layers hold {L * layer_total / total:.0%} of the weights, the two tables "
      f"{(sizes[None, 'wte_VD'] + sizes[None, 'wpe_TD']) / total:.0%}")
claim(total == count_params(model), "the parts add up to the model's parameter count")
claim(per_layer["mlp"] == 2 * per_layer["attn"], "an MLP holds twice the weights of an attention layer")
value("params", f"{total:,}")
value("attn_params", f"{per_layer['attn']:,}")
value("mlp_params", f"{per_layer['mlp']:,}")
value("layers_share", f"{L * layer_total / total:.0%}")
value("L", str(L))
value("F", str(model.blocks[0].mlp.w_in_DF.shape[1]))
