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
from dataclasses import dataclass
from typing import Any

from rawweights_jax.config.checks import (ATTENTION_BACKENDS, DTYPES, LAYER_KINDS, MLP_KINDS,
                                          MOE_DISPATCHES, NORM_KINDS, NORM_PLACEMENTS,
                                          POSITION_KINDS, ROPE_SCALINGS, ROUTER_SCORES, bad,
                                          check, is_int, is_number, is_pos_int)


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
    """How positions enter: 'learned' absolute embeddings (GPT-2; sequences are limited to
    context_len), fixed 'sinusoidal' ones (the original Transformer; pair with embed_scale, as
    it did, or the unit-size waves drown token embeddings of std init_std), 'rope' rotations of
    queries and keys (Llama and after), 'none'."""
    rope_theta: float = 10000.0
    """RoPE base: pair i of a head turns by position * rope_theta**(-2i/rope_dim) radians."""
    rope_dim: int | None = None
    """Leading dimensions of each query/key head that RoPE rotates (partial rotary when smaller
    than the head). Default: head_dim, or qk_rope_dim under multi-head latent attention."""
    rope_scaling: str = "none"
    """Context extension of RoPE: 'none', 'linear' (all frequencies / rope_factor), 'llama3'
    (only the low frequencies, smoothly), 'yarn' (ramp between the two, plus attention scaling)."""
    rope_factor: float = 1.0
    """How many times longer than rope_original_context the scaled RoPE should reach."""
    rope_original_context: int | None = None
    """Context length the model was pre-trained with before scaling. Default: context_len."""
    rope_low_freq_factor: float = 1.0
    """Llama 3 scaling: wavelengths above rope_original_context / this are fully scaled."""
    rope_high_freq_factor: float = 4.0
    """Llama 3 scaling: wavelengths below rope_original_context / this are left alone."""
    yarn_beta_fast: float = 32.0
    """YaRN: pairs turning more than this many times over the original context are kept."""
    yarn_beta_slow: float = 1.0
    """YaRN: pairs turning fewer than this many times are fully interpolated."""
    yarn_mscale: float = 1.0
    """YaRN: numerator coefficient of the cos/sin magnitude correction 0.1*m*ln(factor)+1
    (used with yarn_mscale_all_dim; when either is 0 the plain 0.1*ln(factor)+1 applies)."""
    yarn_mscale_all_dim: float = 0.0
    """YaRN: denominator coefficient of that correction (0: use the plain formula)."""
    rope_local_theta: float | None = None
    """RoPE base of 'local' (sliding-window) layers, unscaled (Gemma 3). Default: as global."""
    norm: str = "layernorm"
    """Normalisation: 'layernorm' (GPT-2) or 'rmsnorm' (Llama and after: no mean, no bias)."""
    norm_zero_centered: bool = False
    """Store a norm's scale as 1 + w with w starting at 0 (Gemma's RMSNorm)."""
    norm_placement: str = "pre"
    """'pre': x + f(norm(x)) (GPT-2 on); 'post': norm(x + f(x)) (the 2017 Transformer);
    'sandwich': x + norm(f(norm(x))) (Gemma 2 and 3)."""
    norm_eps: float = 1e-5
    """Epsilon added to the variance inside the normalisation."""
    qk_norm: bool = False
    """RMS-normalise every query and key head before RoPE (Qwen3, Gemma 3)."""
    embed_scale: bool = False
    """Multiply token embeddings by sqrt(d_model) (Gemma)."""
    mlp: str = "gelu"
    """MLP kind: 'gelu' (GPT-2: two matrices, tanh-approximated GELU between), 'swiglu'
    (SiLU(x W_gate) * (x W_up), then W_down: Llama), 'geglu' (the same with GELU: Gemma)."""
    qkv_bias: bool | None = None
    """Whether the query/key/value projections carry a bias (Qwen2). Default: bias."""
    attn_scale: float | None = None
    """Softmax scale of attention scores. None: 1/sqrt(width of a query/key head)."""
    sliding_window: int | None = None
    """W: a 'local' layer's query sees the W most recent positions (itself included)."""
    layer_kinds: tuple[str, ...] | None = None
    """'global' or 'local' (sliding window) per layer. Default: all local when sliding_window
    is set (Mistral), else all global. Gemma 3 has five local layers per global one."""
    kv_lora_rank: int | None = None
    """C: multi-head latent attention (DeepSeek-V2/V3) when set: keys and values are rebuilt
    from one cached latent of width C per token."""
    q_lora_rank: int | None = None
    """MLA: width of the low-rank query bottleneck (None: queries straight from x)."""
    qk_rope_dim: int | None = None
    """MLA: width of the rotary part of each query/key head, whose key is shared by all heads.
    Under MLA, head_dim is the width of the position-free part."""
    v_head_dim: int | None = None
    """Width of one value head. Default: head_dim."""
    n_experts: int = 0
    """E: routed experts of a mixture-of-experts MLP (0: a dense MLP in every layer)."""
    experts_per_token: int = 2
    """k: experts each token is sent to (top-k of the router's scores)."""
    d_expert: int | None = None
    """Hidden width of one expert's (gated) MLP. Default: d_ff."""
    n_shared_experts: int = 0
    """Experts every token always uses (DeepSeek), as one MLP of width n_shared * d_expert."""
    dense_layers: int = 0
    """The first this many layers keep a dense MLP of width d_ff (DeepSeek-V3: 3)."""
    router_score: str = "softmax"
    """How router logits become scores: 'softmax' over experts (Mixtral, Qwen) or
    'sigmoid' per expert (DeepSeek-V3)."""
    router_norm_topk: bool = True
    """Renormalise the k chosen scores to sum to 1."""
    router_scale: float = 1.0
    """Multiply the routed experts' combined output by this (DeepSeek-V3: 2.5)."""
    router_groups: int = 1
    """Experts form this many groups; a token may only pick from its best groups (DeepSeek-V3)."""
    router_groups_per_token: int = 1
    """Groups a token may pick from, ranked by the sum of each group's two best scores."""
    router_bias: bool = False
    """A per-expert bias added to the scores for choosing only (DeepSeek-V3's aux-loss-free
    load balancing): training nudges it up for underloaded experts, down for overloaded ones."""
    router_bias_rate: float = 0.0
    """Step size of that nudge per optimizer step (DeepSeek-V3: 0.001); 0 keeps it fixed."""
    aux_loss_coef: float = 0.0
    """Weight of the load-balancing loss E * sum_e(fraction routed to e * mean score of e)."""
    moe_dispatch: str = "sorted"
    """'sorted': each expert computes only its tokens (sorted, grouped in tiles); 'dense':
    every expert computes every token and unchosen results are zeroed (the reference)."""
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
        if isinstance(self.layer_kinds, list):        # from JSON
            object.__setattr__(self, "layer_kinds", tuple(self.layer_kinds))
        if (self.head_dim is None and is_pos_int(self.d_model) and is_pos_int(self.n_heads)
                and self.d_model % self.n_heads):
            bad("d_model", self.d_model, f"a multiple of n_heads={self.n_heads} (or give head_dim)")
        for name, derive in _DERIVE.items():          # in order: later ones use earlier ones
            if getattr(self, name) is None:
                try:
                    object.__setattr__(self, name, derive(self))
                except TypeError:                      # a wrongly typed source: validation names it
                    pass
        self._validate()
# --8<-- [end:config]

    # ----------------------------------------------------------------------------------
    def _validate(self) -> None:
        positive = ("vocab_size", "context_len", "n_layers", "n_heads", "d_model", "n_kv_heads",
                    "head_dim", "d_ff", "v_head_dim", "d_expert", "rope_dim",
                    "rope_original_context", "experts_per_token", "router_groups",
                    "router_groups_per_token", "batch_size", "grad_accum", "max_iters",
                    "eval_interval", "eval_iters", "steps_per_dispatch", "lr_decay_iters")
        for name in positive:
            check(self, name, is_pos_int, "a positive integer")
        for name in ("sliding_window", "kv_lora_rank", "q_lora_rank", "qk_rope_dim"):
            check(self, name, lambda v: v is None or is_pos_int(v), "None or a positive integer")
        for name in ("warmup_iters", "seed", "n_experts", "n_shared_experts", "dense_layers"):
            check(self, name, lambda v: is_int(v) and v >= 0, "an integer >= 0")
        for name in ("lr", "min_lr", "init_std", "norm_eps", "rope_theta", "rope_factor",
                     "rope_low_freq_factor", "rope_high_freq_factor", "yarn_beta_fast",
                     "yarn_beta_slow", "router_scale"):
            check(self, name, lambda v: is_number(v) and v > 0, "a number > 0")
        for name in ("rope_local_theta", "attn_scale"):
            check(self, name, lambda v: v is None or (is_number(v) and v > 0), "None or a number > 0")
        for name in ("weight_decay", "grad_clip", "yarn_mscale", "yarn_mscale_all_dim", "router_bias_rate",
                     "aux_loss_coef"):
            check(self, name, lambda v: is_number(v) and v >= 0, "a number >= 0")
        for name in ("dropout", "beta1", "beta2"):
            check(self, name, lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)")
        for name in ("bias", "qkv_bias", "tie_embeddings", "norm_zero_centered", "qk_norm",
                     "embed_scale", "router_norm_topk", "router_bias"):
            check(self, name, lambda v: isinstance(v, bool), "True or False")
        for name, allowed in (("attention", ATTENTION_BACKENDS), ("position", POSITION_KINDS),
                              ("rope_scaling", ROPE_SCALINGS), ("norm", NORM_KINDS),
                              ("norm_placement", NORM_PLACEMENTS), ("mlp", MLP_KINDS),
                              ("router_score", ROUTER_SCORES), ("moe_dispatch", MOE_DISPATCHES),
                              ("compute_dtype", DTYPES)):
            check(self, name, lambda v: v in allowed, "one of " + ", ".join(map(repr, allowed)))
        self._validate_relations()

    def _validate_relations(self) -> None:
        """Constraints between fields: each error names the field it blames."""
        if self.n_heads % self.n_kv_heads:
            bad("n_kv_heads", self.n_kv_heads, f"a divisor of n_heads={self.n_heads}")
        if self.min_lr > self.lr:
            bad("min_lr", self.min_lr, f"at most lr={self.lr}")
        if self.warmup_iters > self.lr_decay_iters:
            bad("warmup_iters", self.warmup_iters,
                 f"at most lr_decay_iters={self.lr_decay_iters}")
        kinds = self.layer_kinds
        if not (isinstance(kinds, tuple) and len(kinds) == self.n_layers
                and all(k in LAYER_KINDS for k in kinds)):
            bad("layer_kinds", kinds, f"{self.n_layers} (n_layers) entries, each 'global' or 'local'")
        if "local" in kinds and self.sliding_window is None:
            bad("sliding_window", None, "a window size, since layer_kinds has 'local' layers")
        rotary_width = self.qk_rope_dim if self.mla else self.head_dim
        if self.position == "rope" and (self.rope_dim > rotary_width or self.rope_dim % 2):
            bad("rope_dim", self.rope_dim, f"an even number <= {rotary_width}")
        if self.position == "learned" and self.rope_scaling != "none":
            bad("rope_scaling", self.rope_scaling, "'none' unless position='rope'")
        if not self.mla and self.v_head_dim != self.head_dim:
            bad("v_head_dim", self.v_head_dim,
                 f"head_dim={self.head_dim} (only latent attention has other value widths)")
        if self.mla and self.qk_rope_dim is None:
            bad("qk_rope_dim", None, "a positive integer, since kv_lora_rank is set (MLA)")
        if self.mla and "local" in kinds:
            bad("layer_kinds", kinds, "all 'global' under multi-head latent attention")
        if self.mla and self.position != "rope":
            bad("position", self.position, "'rope' under multi-head latent attention")
        if self.n_experts:
            if self.experts_per_token > self.n_experts:
                bad("experts_per_token", self.experts_per_token,
                     f"at most n_experts={self.n_experts}")
            if self.n_experts % self.router_groups:
                bad("router_groups", self.router_groups, f"a divisor of n_experts={self.n_experts}")
            per_group = self.n_experts // self.router_groups
            if self.router_groups_per_token > self.router_groups or (
                    self.router_groups_per_token * per_group < self.experts_per_token):
                bad("router_groups_per_token", self.router_groups_per_token,
                     f"at most router_groups={self.router_groups} and enough groups to hold "
                     f"experts_per_token={self.experts_per_token} experts")
            if self.dense_layers > self.n_layers:
                bad("dense_layers", self.dense_layers, f"at most n_layers={self.n_layers}")

    # ----------------------------------------------------------------------------------
    @property
    def mla(self) -> bool:
        """Whether attention is multi-head latent attention (kv_lora_rank is set)."""
        return self.kv_lora_rank is not None

    @property
    def qk_head_dim(self) -> int:
        """Width of one query/key head: head_dim, plus qk_rope_dim under MLA."""
        return self.head_dim + (self.qk_rope_dim or 0) if self.mla else self.head_dim

    def is_moe_layer(self, layer: int) -> bool:
        """Whether layer `layer` (from 0) has a mixture-of-experts MLP."""
        return self.n_experts > 0 and layer >= self.dense_layers

    @property
    def n_moe_layers(self) -> int:
        """How many layers have a mixture-of-experts MLP (the others keep a dense one)."""
        return sum(self.is_moe_layer(i) for i in range(self.n_layers))

    # ----------------------------------------------------------------------------------
    @property
    def tokens_per_iter(self) -> int:
        """Tokens consumed by one optimizer step: batch_size * grad_accum * context_len."""
        return self.batch_size * self.grad_accum * self.context_len

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (derived fields are re-derived unless given)."""
        base = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        changed = set(changes)
        while True:
            stale = {name for name, sources in _DERIVED_FROM.items()
                     if name not in changes and changed.intersection(sources)} - changed
            if not stale:
                break
            changed |= stale
            for name in stale:
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


# Fields left None are derived from others, in this order (later ones read earlier ones).
_DERIVE = {
    "n_kv_heads": lambda c: c.n_heads,
    "head_dim": lambda c: c.d_model // c.n_heads,
    "d_ff": lambda c: 4 * c.d_model,
    "lr_decay_iters": lambda c: c.max_iters,
    "qkv_bias": lambda c: c.bias,
    "v_head_dim": lambda c: c.head_dim,
    "d_expert": lambda c: c.d_ff,
    "layer_kinds": lambda c: (("global",) if c.sliding_window is None else ("local",)) * c.n_layers,
    "rope_dim": lambda c: c.qk_rope_dim if c.kv_lora_rank is not None else c.head_dim,
    "rope_original_context": lambda c: c.context_len,
}

# A derived field is re-derived by `replace` when a field it comes from changes (transitively).
_DERIVED_FROM = {
    "n_kv_heads": ("n_heads",),
    "head_dim": ("d_model", "n_heads"),
    "d_ff": ("d_model",),
    "lr_decay_iters": ("max_iters",),
    "qkv_bias": ("bias",),
    "v_head_dim": ("head_dim",),
    "d_expert": ("d_ff",),
    "layer_kinds": ("sliding_window", "n_layers"),
    "rope_dim": ("head_dim", "qk_rope_dim", "kv_lora_rank"),
    "rope_original_context": ("context_len",),
}


# Fields that change how a run trains or runs, not which function the weights compute.
NON_ARCHITECTURE = ("dropout", "attention", "init_std", "compute_dtype", "moe_dispatch",
                    "router_bias_rate", "aux_loss_coef")


def architecture_fields() -> tuple[str, ...]:
    """Config fields that define the model's parameters and function (checkpoints must agree)."""
    names = [f.name for f in dataclasses.fields(Config)]
    return tuple(n for n in names[:names.index("batch_size")] if n not in NON_ARCHITECTURE)
