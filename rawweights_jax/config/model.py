"""The model config: the architecture only, what a Hugging Face `config.json` holds.

It says which function the weights compute and what shapes they have, nothing about how a run
trains them (train.py) or which kernels compute it (runtime.py). `families/` reads and writes
it from each family's `config.json`; `analysis/` computes parameters, cache bytes and FLOPs
from it alone. Fields that default to `None` are derived (`n_kv_heads = n_heads`,
`head_dim = d_model // n_heads`, `d_ff = 4 * d_model`, ...). Later architecture variants
(RoPE, RMSNorm, SwiGLU, grouped-query attention, experts) are fields with GPT-2 defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rawweights_jax.config.base import FrozenConfig, is_int, is_number, is_pos_int

POSITION_KINDS = ("learned", "sinusoidal", "rope", "none")
ROPE_SCALINGS = ("none", "linear", "llama3", "yarn")
NORM_KINDS = ("layernorm", "rmsnorm")
NORM_PLACEMENTS = ("pre", "post", "sandwich")
MLP_KINDS = ("gelu", "swiglu", "geglu")
LAYER_KINDS = ("global", "local")
MLP_LAYER_KINDS = ("dense", "moe")
ROUTER_SCORES = ("softmax", "sigmoid")
MAX_LAYERS = 10_000
"""More layers than any published model by two orders of magnitude; more is a typo."""


# --8<-- [start:config]
@dataclass(frozen=True)
class ModelConfig(FrozenConfig):
    """The architecture of a model. All fields are validated on creation."""

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
    mlp_layers: tuple[str, ...] | None = None
    """'dense' or 'moe' per layer: which layers have a mixture-of-experts MLP. Default: all 'moe'
    when n_experts > 0, else all 'dense'. DeepSeek-V3 keeps its first 3 dense; Qwen3-MoE names
    its dense layers (mlp_only_layers) or makes every k-th layer sparse (decoder_sparse_step)."""
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
    init_std: float = 0.02
    """Standard deviation of the normal initialisation of weight matrices."""

    TUPLES: ClassVar[tuple[str, ...]] = ("layer_kinds", "mlp_layers")
# --8<-- [end:config]

    DERIVE: ClassVar[dict[str, Any]] = {
        "n_kv_heads": lambda c: c.n_heads,
        "head_dim": lambda c: c.d_model // c.n_heads,
        "d_ff": lambda c: 4 * c.d_model,
        "qkv_bias": lambda c: c.bias,
        "v_head_dim": lambda c: c.head_dim,
        "d_expert": lambda c: c.d_ff,
        "layer_kinds": lambda c: (("global",) if c.sliding_window is None else ("local",)) * c.n_layers,
        "mlp_layers": lambda c: ("moe" if c.n_experts else "dense",) * c.n_layers,
        "rope_dim": lambda c: c.qk_rope_dim if c.kv_lora_rank is not None else c.head_dim,
        "rope_original_context": lambda c: c.context_len,
    }
    DERIVED_FROM: ClassVar[dict[str, tuple[str, ...]]] = {
        "n_kv_heads": ("n_heads",), "head_dim": ("d_model", "n_heads"), "d_ff": ("d_model",),
        "qkv_bias": ("bias",), "v_head_dim": ("head_dim",), "d_expert": ("d_ff",),
        "layer_kinds": ("sliding_window", "n_layers"), "mlp_layers": ("n_experts", "n_layers"),
        "rope_dim": ("head_dim", "qk_rope_dim", "kv_lora_rank"),
        "rope_original_context": ("context_len",),
    }

    def check_before_deriving(self) -> None:
        self.check(("n_layers",), lambda v: is_int(v) and 0 < v <= MAX_LAYERS,
                   f"a positive integer <= {MAX_LAYERS:,}")
        self.check(("n_heads", "d_model"), is_pos_int, "a positive integer < 2**31")
        if self.head_dim is None and self.d_model % self.n_heads:
            self.bad("d_model", self.d_model, f"a multiple of n_heads={self.n_heads} (or give head_dim)")

    def validate(self) -> None:
        self.check(("vocab_size", "context_len", "n_kv_heads", "head_dim", "d_ff", "v_head_dim",
                    "d_expert", "rope_dim", "rope_original_context", "experts_per_token",
                    "router_groups", "router_groups_per_token"), is_pos_int, "a positive integer < 2**31")
        self.check(("sliding_window", "kv_lora_rank", "q_lora_rank", "qk_rope_dim"),
                   lambda v: v is None or is_pos_int(v), "None or a positive integer < 2**31")
        self.check(("n_experts", "n_shared_experts"), lambda v: is_int(v) and 0 <= v <= 2**20,
                   "an integer in [0, 2**20]")
        self.check(("init_std", "norm_eps", "rope_theta", "rope_factor", "rope_low_freq_factor",
                    "rope_high_freq_factor", "yarn_beta_fast", "yarn_beta_slow", "router_scale"),
                   lambda v: is_number(v) and v > 0, "a number > 0")
        self.check(("rope_local_theta", "attn_scale"), lambda v: v is None or (is_number(v) and v > 0),
                   "None or a number > 0")
        self.check(("yarn_mscale", "yarn_mscale_all_dim"), lambda v: is_number(v) and v >= 0,
                   "a number >= 0")
        self.check(("bias", "qkv_bias", "tie_embeddings", "norm_zero_centered", "qk_norm",
                    "embed_scale", "router_norm_topk", "router_bias"), lambda v: isinstance(v, bool),
                   "True or False")
        self.check_choices({"position": POSITION_KINDS, "rope_scaling": ROPE_SCALINGS,
                            "norm": NORM_KINDS, "norm_placement": NORM_PLACEMENTS, "mlp": MLP_KINDS,
                            "router_score": ROUTER_SCORES})
        self.validate_attention()
        self.validate_experts()

    def validate_attention(self) -> None:
        """Constraints between the attention fields: each error names the field it blames."""
        if self.n_heads % self.n_kv_heads:
            self.bad("n_kv_heads", self.n_kv_heads, f"a divisor of n_heads={self.n_heads}")
        kinds = self.layer_kinds
        if not (isinstance(kinds, tuple) and len(kinds) == self.n_layers
                and all(k in LAYER_KINDS for k in kinds)):
            self.bad("layer_kinds", kinds, f"{self.n_layers} (n_layers) entries, each 'global' or 'local'")
        if "local" in kinds and self.sliding_window is None:
            self.bad("sliding_window", None, "a window size, since layer_kinds has 'local' layers")
        rotary_width = self.qk_rope_dim if self.mla else self.head_dim
        if self.position == "rope" and (self.rope_dim > rotary_width or self.rope_dim % 2):
            self.bad("rope_dim", self.rope_dim, f"an even number <= {rotary_width}")
        if self.position == "learned" and self.rope_scaling != "none":
            self.bad("rope_scaling", self.rope_scaling, "'none' unless position='rope'")
        if not self.mla and self.v_head_dim != self.head_dim:
            self.bad("v_head_dim", self.v_head_dim,
                     f"head_dim={self.head_dim} (only latent attention has other value widths)")
        if self.mla and self.qk_rope_dim is None:
            self.bad("qk_rope_dim", None, "a positive integer, since kv_lora_rank is set (MLA)")
        if self.mla and "local" in kinds:
            self.bad("layer_kinds", kinds, "all 'global' under multi-head latent attention")
        if self.mla and self.position != "rope":
            self.bad("position", self.position, "'rope' under multi-head latent attention")

    def validate_experts(self) -> None:
        """Constraints between the mixture-of-experts fields."""
        layers = self.mlp_layers
        if not (isinstance(layers, tuple) and len(layers) == self.n_layers
                and all(k in MLP_LAYER_KINDS for k in layers)):
            self.bad("mlp_layers", layers, f"{self.n_layers} (n_layers) entries, each 'dense' or 'moe'")
        if "moe" in layers and not self.n_experts:
            self.bad("mlp_layers", layers, "no 'moe' layer when n_experts=0")
        if not self.n_experts:
            return
        if self.experts_per_token > self.n_experts:
            self.bad("experts_per_token", self.experts_per_token, f"at most n_experts={self.n_experts}")
        if self.n_experts % self.router_groups:
            self.bad("router_groups", self.router_groups, f"a divisor of n_experts={self.n_experts}")
        per_group = self.n_experts // self.router_groups
        if self.router_groups_per_token > self.router_groups or (
                self.router_groups_per_token * per_group < self.experts_per_token):
            self.bad("router_groups_per_token", self.router_groups_per_token,
                     f"at most router_groups={self.router_groups} and enough groups to hold "
                     f"experts_per_token={self.experts_per_token} experts")

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
        return self.mlp_layers[layer] == "moe"

    @property
    def n_moe_layers(self) -> int:
        """How many layers have a mixture-of-experts MLP (the others keep a dense one)."""
        return self.mlp_layers.count("moe")
