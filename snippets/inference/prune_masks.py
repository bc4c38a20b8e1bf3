"""What each pruning mask keeps: 2:4 on a small matrix, and where global magnitude pruning
takes its zeros from in the trained robot student.

Run on its own: python snippets/inference/prune_masks.py   (a few seconds, once the student exists)
"""

import os
import sys
from pathlib import Path

import jax
import numpy as np
from flax import nnx
from jax.experimental import sparse

from rawweights_jax.core.names import leaf_name
from rawweights_jax.inference.prune import PRUNABLE, apply_masks, magnitude_masks, n_of_m_mask, sparsity
from rwsite.claims import claim, value

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "robot"))
from _student import load_student  # noqa: E402  (the robot student, a shared result)

key = jax.random.key(int(os.environ.get("RWSITE_SEED", 0)))

# --8<-- [start:two_of_four]
w_IO = np.round(np.asarray(jax.random.normal(key, (8, 3))), 2)   # 8 inputs, 3 outputs
keep_IO = np.asarray(n_of_m_mask(w_IO))
print("weights (rows: the contracted input axis; groups: rows 0-3 and 4-7)")
print(w_IO)
print("after 2:4 (in each column, 2 of every 4 rows kept: the larger |w|)")
print(np.where(keep_IO, w_IO, 0.0))
# --8<-- [end:two_of_four]

claim(bool((keep_IO.reshape(2, 4, 3).sum(axis=1) == 2).all()), "two of every four are kept")

# --8<-- [start:global]
model, *_ = load_student()
params = nnx.state(model, nnx.Param)
pruned = apply_masks(params, magnitude_masks(params, 0.7, scope="global"))
by_kind = {}
for name, share in sparsity(pruned)["matrices"].items():      # blocks.<i>.<part>.<matrix>
    by_kind.setdefault(name.split(".")[-1], []).append(share)
print("global magnitude pruning to 70%: the share of zeros in each layer's matrix")
for kind, shares in by_kind.items():
    print(f"  {kind:10}" + "".join(f"{s:7.0%}" for s in shares))
# --8<-- [end:global]

flat = jax.tree_util.tree_flatten_with_path(params)[0]
whole = sum(w.size for p, w in flat if leaf_name(p) not in PRUNABLE)
value("kept_share", f"{whole / sum(w.size for _, w in flat):.1%}")
spread = {k: (min(v), max(v)) for k, v in by_kind.items()}
value("global_low", f"{min(lo for lo, _ in spread.values()):.0%}")
value("global_high", f"{max(hi for _, hi in spread.values()):.0%}")
claim(max(hi for _, hi in spread.values()) - min(lo for lo, _ in spread.values()) > 0.1,
      "global pruning leaves different matrices at different sparsities")

# --8<-- [start:bytes]
w_DF = model.blocks[0].mlp.w_in_DF[...]
print(f"one {w_DF.shape[0]}x{w_DF.shape[1]} matrix: {w_DF.nbytes:,} bytes dense (float32)")
stored = {}
for s in (0.5, 0.7, 0.9):
    kept = apply_masks({"w_in_DF": w_DF}, magnitude_masks({"w_in_DF": w_DF}, s))["w_in_DF"]
    as_bcoo = sparse.BCOO.fromdense(kept)      # the values, and a (row, column) per value
    stored[s] = as_bcoo.data.nbytes + as_bcoo.indices.nbytes
    print(f"  {s:.0%} zeros as BCOO: {as_bcoo.nse:,} values, {stored[s]:,} bytes "
          f"({stored[s] / w_DF.nbytes:.2f}x dense)")
# --8<-- [end:bytes]

value("bcoo_bytes_50", f"{stored[0.5] / w_DF.nbytes:.1f}")
value("bcoo_bytes_90", f"{stored[0.9] / w_DF.nbytes:.1f}")
claim(stored[0.5] > w_DF.nbytes > stored[0.7] > stored[0.9], "BCOO is larger than dense at 50% zeros, smaller from 70%")
