"""One frozen Config: every knob of the model and its training run, validated on creation.

The whole library reads its hyper-parameters from this single dataclass. It is frozen
(hashable, safe to close over inside `jax.jit`) and validated in `__post_init__`, so a typo
or an impossible shape fails at construction with a message that names the field, the value
and what was expected, instead of as a shape error deep inside a compiled function.

Fields that default to `None` are derived from the others (`n_kv_heads = n_heads`,
`head_dim = d_model // n_heads`, `d_ff = 4 * d_model`, `lr_decay_iters = max_iters`).
Later architecture variants (RoPE, RMSNorm, SwiGLU, grouped-query attention, mixture of
experts) slot in as new fields with GPT-2 defaults, so existing presets keep their meaning.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

ATTENTION_BACKENDS = ("auto", "naive", "xla", "blockwise", "pallas")
POSITION_KINDS = ("learned",)
NORM_KINDS = ("layernorm",)
MLP_KINDS = ("gelu",)
DTYPES = ("float32", "bfloat16")


# --8<-- [start:config]
@dataclass(frozen=True)
class Config:
    """Model shape and training recipe of one run. All fields are validated on creation."""

    # --- model shape ---
    vocab_size: int = 65
    """V: number of distinct tokens (65 characters in tiny Shakespeare)."""
    context_len: int = 64
    """Longest sequence the model sees (T max); learned positions exist for 0..context_len-1."""
    n_layers: int = 4
    """L: number of transformer blocks."""
    n_heads: int = 4
    """N: query heads per attention layer."""
    d_model: int = 128
    """D: width of the residual stream."""
    n_kv_heads: int | None = None
    """K: key/value heads (grouped-query attention when K < N). Default: n_heads."""
    head_dim: int | None = None
    """H: width of one head. Default: d_model // n_heads."""
    d_ff: int | None = None
    """F: hidden width of the MLP. Default: 4 * d_model."""
    dropout: float = 0.0
    """Dropout rate on attention output, MLP output and embeddings during training."""
    bias: bool = False
    """Whether linear layers and LayerNorms carry a bias (GPT-2: True; nanoGPT default: False)."""
    tie_embeddings: bool = True
    """Whether the output projection reuses the token embedding matrix (GPT-2 does)."""
    position: str = "learned"
    """How positions enter the model: 'learned' absolute embeddings (GPT-2)."""
    norm: str = "layernorm"
    """Normalisation layer kind: 'layernorm'."""
    norm_eps: float = 1e-5
    """Epsilon added to the variance inside the normalisation."""
    mlp: str = "gelu"
    """MLP kind: 'gelu' (two matrices with a tanh-approximated GELU between, as GPT-2)."""
    attention: str = "auto"
    """Attention backend: 'auto', 'naive', 'xla', 'blockwise' or 'pallas'."""
    init_std: float = 0.02
    """Standard deviation of the normal initialisation of weight matrices."""
    compute_dtype: str = "float32"
    """Dtype of the forward/backward computation ('bfloat16' keeps float32 master weights)."""

    # --- training recipe ---
    batch_size: int = 12
    """B: sequences per optimizer step (per micro-batch when grad_accum > 1)."""
    grad_accum: int = 1
    """Micro-batches whose gradients are averaged into one optimizer step."""
    max_iters: int = 2000
    """Optimizer steps of a full run."""
    lr: float = 1e-3
    """Peak learning rate, reached after warm-up."""
    min_lr: float = 1e-4
    """Learning rate at the end of the cosine decay."""
    warmup_iters: int = 100
    """Steps of linear warm-up from 0 to lr."""
    lr_decay_iters: int | None = None
    """Step at which the cosine reaches min_lr. Default: max_iters."""
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

    def __post_init__(self) -> None:
        derived = {
            "n_kv_heads": self.n_heads,
            "head_dim": self.d_model // self.n_heads if _is_pos_int(self.n_heads) else None,
            "d_ff": 4 * self.d_model if _is_pos_int(self.d_model) else None,
            "lr_decay_iters": self.max_iters,
        }
        for name, value in derived.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        self._validate()
# --8<-- [end:config]

    # ----------------------------------------------------------------------------------
    def _validate(self) -> None:
        positive = ("vocab_size", "context_len", "n_layers", "n_heads", "d_model", "n_kv_heads",
                    "head_dim", "d_ff", "batch_size", "grad_accum", "max_iters", "eval_interval",
                    "eval_iters", "steps_per_dispatch", "lr_decay_iters")
        for name in positive:
            value = getattr(self, name)
            if not _is_pos_int(value):
                _bad(name, value, "a positive integer")
        for name in ("warmup_iters", "seed"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                _bad(name, value, "an integer >= 0")
        for name in ("lr", "min_lr", "init_std", "norm_eps"):
            value = getattr(self, name)
            if not (_is_number(value) and value > 0):
                _bad(name, value, "a number > 0")
        for name in ("weight_decay", "grad_clip"):
            value = getattr(self, name)
            if not (_is_number(value) and value >= 0):
                _bad(name, value, "a number >= 0")
        for name in ("dropout", "beta1", "beta2"):
            value = getattr(self, name)
            if not (_is_number(value) and 0 <= value < 1):
                _bad(name, value, "a number in [0, 1)")
        for name in ("bias", "tie_embeddings"):
            if not isinstance(getattr(self, name), bool):
                _bad(name, getattr(self, name), "True or False")
        for name, allowed in (("attention", ATTENTION_BACKENDS), ("position", POSITION_KINDS),
                              ("norm", NORM_KINDS), ("mlp", MLP_KINDS),
                              ("compute_dtype", DTYPES)):
            if getattr(self, name) not in allowed:
                _bad(name, getattr(self, name), "one of " + ", ".join(map(repr, allowed)))
        if self.n_heads % self.n_kv_heads:
            _bad("n_kv_heads", self.n_kv_heads, f"a divisor of n_heads={self.n_heads}")
        if self.min_lr > self.lr:
            _bad("min_lr", self.min_lr, f"at most lr={self.lr}")
        if self.warmup_iters > self.lr_decay_iters:
            _bad("warmup_iters", self.warmup_iters,
                 f"at most lr_decay_iters={self.lr_decay_iters}")

    # ----------------------------------------------------------------------------------
    @property
    def tokens_per_iter(self) -> int:
        """Tokens consumed by one optimizer step: batch_size * grad_accum * context_len."""
        return self.batch_size * self.grad_accum * self.context_len

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (derived fields are re-derived unless given)."""
        base = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name, default in _DERIVED_FROM.items():
            if name not in changes and any(src in changes for src in default):
                base[name] = None
        unknown = set(changes) - set(base)
        if unknown:
            raise ValueError(f"unknown Config field(s): {', '.join(sorted(unknown))}")
        base.update(changes)
        return Config(**base)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        """Build a Config from a plain dict; unknown keys are an error naming them."""
        if not isinstance(values, dict):
            raise ValueError(f"config must be a JSON object, got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown Config field(s): {', '.join(unknown)}")
        try:
            return cls(**values)
        except TypeError as err:   # a wrongly typed value tripped arithmetic in derivation
            raise ValueError(f"invalid config: {err}") from None


# A derived field is re-derived by `replace` when one of the fields it comes from changes.
_DERIVED_FROM = {
    "n_kv_heads": ("n_heads",),
    "head_dim": ("d_model", "n_heads"),
    "d_ff": ("d_model",),
    "lr_decay_iters": ("max_iters",),
}


def _is_pos_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bad(name: str, value: Any, expected: str) -> None:
    raise ValueError(f"Config.{name}={value!r} is invalid: expected {expected}")


# --8<-- [start:presets]
PRESETS: dict[str, Config] = {
    # nanoGPT's README configuration for a CPU (shakespeare_char, "baby GPT" shrunk for a laptop).
    "shakespeare-char-cpu": Config(
        vocab_size=65, context_len=64, n_layers=4, n_heads=4, d_model=128, dropout=0.0,
        batch_size=12, max_iters=2000, lr=1e-3, min_lr=1e-4, warmup_iters=100,
        beta2=0.99, weight_decay=0.1, grad_clip=1.0, eval_interval=250, eval_iters=20),
    # nanoGPT's config/train_shakespeare_char.py, the GPU "baby GPT" (about 10.7M parameters).
    "shakespeare-char": Config(
        vocab_size=65, context_len=256, n_layers=6, n_heads=6, d_model=384, dropout=0.2,
        batch_size=64, max_iters=5000, lr=1e-3, min_lr=1e-4, warmup_iters=100,
        beta2=0.99, weight_decay=0.1, grad_clip=1.0, eval_interval=250, eval_iters=200),
    # GPT-2 small (124M): the published shape, with biases and a 50257-token vocabulary
    # (padded to 50304, a multiple of 64, for faster matrix products as nanoGPT does).
    "gpt2-small": Config(
        vocab_size=50304, context_len=1024, n_layers=12, n_heads=12, d_model=768, dropout=0.0,
        bias=True, batch_size=16, grad_accum=32, max_iters=600000, lr=6e-4, min_lr=6e-5,
        warmup_iters=2000, beta2=0.95, weight_decay=0.1, grad_clip=1.0, eval_interval=1000,
        eval_iters=200, compute_dtype="bfloat16", steps_per_dispatch=1),
}
# --8<-- [end:presets]


def preset(name: str) -> Config:
    """The named preset Config; an unknown name raises ValueError listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}: expected one of "
                         + ", ".join(sorted(PRESETS))) from None
