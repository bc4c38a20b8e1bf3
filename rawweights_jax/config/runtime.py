"""The runtime config: which kernels compute a model, never what it computes.

The attention backend and the mixture-of-experts dispatch change speed and memory, not the
function (tests check every backend and both dispatches against the references). A model
takes them when it is built (`init_model(cfg, runtime=...)`); checkpoints do not store them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rawweights_jax.config.base import FrozenConfig

ATTENTION_BACKENDS = ("auto", "naive", "xla", "blockwise", "pallas")
MOE_DISPATCHES = ("sorted", "dense", "all-to-all")


@dataclass(frozen=True)
class Runtime(FrozenConfig):
    """Kernel choices of one model instance."""

    attention: str = "auto"
    """Attention backend: 'auto', 'naive', 'xla', 'blockwise' or 'pallas'."""
    moe_dispatch: str = "sorted"
    """'sorted': each expert computes only its tokens (sorted, grouped in tiles); 'dense':
    every expert computes every token and unchosen results are zeroed (the reference);
    'all-to-all': experts spread over the devices of a `shard_map` axis `expert`, tokens sent
    to them and back (expert parallelism; only inside that shard_map)."""

    def validate(self) -> None:
        self.check_choices({"attention": ATTENTION_BACKENDS, "moe_dispatch": MOE_DISPATCHES})
