"""Weight names from pytree paths, written once for every user: checkpoints, weight decay,
sharding rules, Hugging Face loading and the analysis pages all name a weight the same way.

A path is what `jax.tree_util.tree_flatten_with_path` or `nnx.to_flat_state` gives: a tuple of
keys (`DictKey`, `SequenceKey`, `GetAttrKey`, or plain strings and integers). The name of
`model.blocks[0].attn.wqkv_DKJH` is `blocks.0.attn.wqkv_DKJH`; its leaf name is `wqkv_DKJH`,
whose suffix letters say its shape (core/dims.py).
"""

from __future__ import annotations

from typing import Any, Iterable


def path_parts(path: Iterable[Any]) -> list[str]:
    """Each key of a pytree path as a string, in order."""
    parts = []
    for entry in path:
        for attr in ("key", "idx", "name"):
            if hasattr(entry, attr):
                parts.append(str(getattr(entry, attr)))
                break
        else:
            parts.append(str(entry))
    return parts


def weight_name(path: Iterable[Any], sep: str = ".") -> str:
    """The whole name of the weight at `path`: `blocks.0.attn.wqkv_DKJH`."""
    return sep.join(path_parts(path))


def leaf_name(path: Iterable[Any]) -> str:
    """The weight's own name (`wqkv_DKJH`), skipping the `value` key NNX variables add."""
    return next((p for p in reversed(path_parts(path)) if p and p != "value"), "")


def is_matrix(path: Iterable[Any]) -> bool:
    """Whether the weight at `path` is a matrix of a product: named `w...` (wqkv_DKJH, w_in_DF,
    wte_VD) or `lm_head...`, as opposed to biases `b...` and norm scales `scale_D`. The name,
    not the shape, decides: a per-head bias such as bqkv_KJH is 3-D."""
    leaf = leaf_name(path)
    return leaf.startswith("w") or leaf.startswith("lm_head")
