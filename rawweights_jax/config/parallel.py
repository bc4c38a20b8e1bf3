"""The parallel config: how one training step is spread over devices (the mesh and its uses).

Separate from the model (what is computed) and the recipe (how it learns): the same model and
recipe give the same losses whichever way they are spread, to rounding, and the tests hold the
strategies to that. The product of the axis sizes is the number of devices used.
"""

from __future__ import annotations

from dataclasses import dataclass

from rawweights_jax.config.base import FrozenConfig, is_pos_int

SCHEDULES = ("gpipe", "1f1b")
COMPRESSIONS = ("none", "int8")


@dataclass(frozen=True)
class ParallelConfig(FrozenConfig):
    """One strategy, or a combination: data x model devices (GSPMD) or a pipeline of stages."""

    data: int = 1
    """Devices that split the batch rows (data parallelism; with `fsdp`, also the state)."""
    model: int = 1
    """Devices that split every weight matrix Megatron-style (tensor parallelism)."""
    fsdp: bool = False
    """Shard parameters, gradients and optimizer state over the `data` devices (ZeRO-3):
    each weight is gathered whole just before use and its gradient reduced back to shards."""
    experts: int = 1
    """Devices that split a mixture of experts' experts, and the batch rows (expert parallelism:
    tokens go to their experts' devices and back by all-to-all)."""
    stages: int = 1
    """Pipeline stages: each device holds n_layers / stages consecutive layers."""
    microbatches: int = 1
    """Pieces each batch is cut into for the pipeline (more: a smaller bubble)."""
    schedule: str = "gpipe"
    """Pipeline order: 'gpipe' (all forwards, then all backwards) or '1f1b' (alternating)."""
    compress: str = "none"
    """Gradient all-reduce payload: 'none' (float32) or 'int8' (one scale per device)."""

    @property
    def devices(self) -> int:
        return self.data * self.model * self.stages * self.experts

    def validate(self) -> None:
        self.check(("data", "model", "experts", "stages", "microbatches"), is_pos_int, "a positive integer")
        self.check(("fsdp",), lambda v: isinstance(v, bool), "True or False")
        self.check_choices({"schedule": SCHEDULES, "compress": COMPRESSIONS})
        if self.fsdp and self.data < 2:
            self.bad("fsdp", self.fsdp, "data >= 2 devices to shard over")
        if self.stages > 1 and (self.model > 1 or self.fsdp):
            self.bad("stages", self.stages, "1 when model > 1 or fsdp (pipelines here combine "
                     "with data parallelism only)")
        if self.experts > 1 and self.devices != self.experts:
            self.bad("experts", self.experts, "the only axis above 1 (expert parallelism alone)")
        if self.compress != "none" and (self.model > 1 or self.fsdp or self.stages > 1):
            self.bad("compress", self.compress, "'none' unless plain data parallelism")
