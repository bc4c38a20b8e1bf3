"""The training config: the recipe of a run, apart from the model it trains.

Batch and run length, the optimizer (AdamW or Muon) and learning-rate schedule (cosine,
warm-up-stable-decay, constant), evaluation, the seed, dropout, the mixture-of-experts balancing
terms, the z-loss, the compute dtype, loss-spike detection and which checkpoints are kept. A checkpoint stores
it beside the model config; changing it never changes the shapes of the weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rawweights_jax.config.base import FrozenConfig, is_int, is_number, is_pos_int

DTYPES = ("float32", "bfloat16")
SCHEDULES = ("cosine", "wsd", "constant")
OPTIMIZERS = ("adamw", "muon")


@dataclass(frozen=True)
class TrainConfig(FrozenConfig):
    """How a model is trained. All fields are validated on creation."""

    batch_size: int = 12
    """B: sequences per optimizer step (per micro-batch when grad_accum > 1)."""
    grad_accum: int = 1
    """Micro-batches whose gradients are averaged into one optimizer step."""
    max_iters: int = 2000
    """Optimizer steps of a full run."""
    lr: float = 1e-3
    """Peak learning rate, reached after warm-up."""
    min_lr: float = 1e-4
    """Learning rate at the end of the decay (cosine and wsd schedules)."""
    schedule: str = "cosine"
    """After warm-up: 'cosine' decays to min_lr at lr_decay_iters; 'wsd' (warm-up, stable,
    decay) holds lr, then decays linearly to min_lr over the last `decay_frac` of
    lr_decay_iters; 'constant' holds lr."""
    decay_frac: float = 0.2
    """wsd only: the fraction of lr_decay_iters spent decaying (0 < decay_frac <= 1)."""
    warmup_iters: int = 100
    """Steps of linear warm-up from 0 to lr."""
    lr_decay_iters: int | None = None
    """Step at which the cosine reaches min_lr. Default: max_iters."""
    optimizer: str = "adamw"
    """'adamw', or 'muon': Muon (optax.contrib.muon) for the blocks' matrices, AdamW for the
    embeddings, norms and biases (train/optimizer.py)."""
    muon_lr: float = 0.02
    """Muon only: peak learning rate of the matrices Muon moves (the schedule scales it as lr)."""
    beta1: float = 0.9
    """AdamW first-moment decay."""
    beta2: float = 0.99
    """AdamW second-moment decay."""
    weight_decay: float = 0.1
    """Decoupled weight decay, applied to matrices only (not to biases, norms)."""
    grad_clip: float = 1.0
    """Global gradient-norm clip; 0 disables clipping."""
    eval_interval: int = 250
    """Evaluate train and validation loss every this many steps."""
    eval_iters: int = 20
    """Batches averaged per evaluation."""
    steps_per_dispatch: int = 10
    """Optimizer steps run inside one compiled call (fewer Python round-trips)."""
    seed: int = 1337
    """Seed of initialisation, batch sampling and dropout: equal seeds give equal runs."""
    dropout: float = 0.0
    """Dropout rate on attention output, MLP output and embeddings during training."""
    aux_loss_coef: float = 0.0
    """Weight of the load-balancing loss E * sum_e(fraction routed to e * mean score of e)."""
    router_bias_rate: float = 0.0
    """Step size of that nudge per optimizer step (DeepSeek-V3: 0.001); 0 keeps it fixed."""
    z_loss: float = 0.0
    """Weight of PaLM's z-loss, mean(log Z)^2 of the output logits' normaliser; 0 disables it."""
    compute_dtype: str = "float32"
    """Dtype of the forward/backward computation ('bfloat16' keeps float32 master weights)."""

    spike_factor: float = 2.0
    """A step's loss above spike_factor x the median of the previous spike_window losses counts
    as a loss spike (logged and counted in the history)."""
    spike_window: int = 50
    """Steps in the running median that loss-spike detection compares against."""
    keep_last: int = 0
    """Checkpoints `ckpt_last_step{N}.safetensors` kept from the last this many evaluations (0: only
    the rolling ckpt.safetensors)."""
    keep_best: bool = False
    """Also keep `ckpt_best.safetensors`, the evaluation with the lowest validation loss."""

    DERIVE: ClassVar[dict[str, Any]] = {"lr_decay_iters": lambda c: c.max_iters}
    DERIVED_FROM: ClassVar[dict[str, tuple[str, ...]]] = {"lr_decay_iters": ("max_iters",)}

    def validate(self) -> None:
        self.check(("batch_size", "grad_accum", "max_iters", "eval_interval", "eval_iters",
                    "steps_per_dispatch", "lr_decay_iters", "spike_window"), is_pos_int, "a positive integer < 2**31")
        self.check(("warmup_iters", "seed"), lambda v: is_int(v) and 0 <= v < 2**63, "an integer >= 0")
        self.check(("keep_last",), lambda v: is_int(v) and 0 <= v < 2**31, "an integer >= 0")
        self.check(("keep_best",), lambda v: isinstance(v, bool), "True or False")
        self.check(("lr", "min_lr", "muon_lr"), lambda v: is_number(v) and v > 0, "a number > 0")
        self.check(("weight_decay", "grad_clip", "router_bias_rate", "aux_loss_coef", "z_loss"),
                   lambda v: is_number(v) and v >= 0, "a number >= 0")
        self.check(("dropout", "beta1", "beta2"), lambda v: is_number(v) and 0 <= v < 1,
                   "a number in [0, 1)")
        self.check(("decay_frac",), lambda v: is_number(v) and 0 < v <= 1, "a number in (0, 1]")
        self.check(("spike_factor",), lambda v: is_number(v) and v > 1, "a number > 1")
        self.check_choices({"compute_dtype": DTYPES, "schedule": SCHEDULES, "optimizer": OPTIMIZERS})
        if self.min_lr > self.lr:
            self.bad("min_lr", self.min_lr, f"at most lr={self.lr}")
        if self.warmup_iters > self.lr_decay_iters:
            self.bad("warmup_iters", self.warmup_iters, f"at most lr_decay_iters={self.lr_decay_iters}")
