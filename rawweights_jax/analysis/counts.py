"""The numbers that matter, from a ModelConfig alone: parameters, KV cache, FLOPs, memory.

Everything here is arithmetic on the ModelConfig, so it works for models far too large to build
(DeepSeek-V3, Kimi K2) and costs microseconds. For our own models it is exact: the parameter
count equals the summed sizes of the instantiated model's arrays (tests/test_lib_analysis.py
checks every family), because the formulas follow the same code paths as the model (model/, nn/).

Conventions (say what you count):
- a matrix product of an [in, out] weight costs 2 * in * out FLOPs per token (multiply + add);
- attention costs, per layer and per key a query attends to, 2 * N * (H_qk + H_v) FLOPs (the
  scores q.k and the weighted sum of values); a token at position t of a causal sequence
  attends to min(t + 1, window) keys;
- training costs 3x the forward pass (backward ~ twice forward), without recomputation;
- the KV cache holds, per token and layer, K keys and K values of width H (multi-head latent
  attention: one latent of width C plus one rotary key of width R); a sliding-window layer
  keeps at most `window` tokens however long the context grows.
"""

from __future__ import annotations

from rawweights_jax.config import ModelConfig

DTYPE_BYTES = {"float32": 4, "fp32": 4, "bfloat16": 2, "bf16": 2, "float16": 2, "fp16": 2,
               "int8": 1, "fp8": 1, "int4": 0.5}


def dtype_bytes(dtype: str) -> float:
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}: expected one of {', '.join(DTYPE_BYTES)}") from None


# ----------------------------------------------------------------------------- parameters
# --8<-- [start:params]
def attention_params(cfg: ModelConfig) -> int:
    """Weights of one attention layer (projections, their biases, QK-norm scales)."""
    D, N, K, H = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    if cfg.mla:
        C, P, R, V = cfg.kv_lora_rank, cfg.head_dim, cfg.qk_rope_dim, cfg.v_head_dim
        Q = cfg.q_lora_rank
        queries = D * Q + Q + Q * N * (P + R) if Q else D * N * (P + R)
        return queries + D * (C + R) + C + C * N * (P + V) + N * V * D
    n = D * (N + 2 * K) * H + N * H * D
    n += (N + 2 * K) * H if cfg.qkv_bias else 0
    n += D if cfg.bias else 0
    return n + (2 * H if cfg.qk_norm else 0)


def mlp_params(cfg: ModelConfig, width: int, bias: bool | None = None) -> int:
    """Weights of one dense MLP of hidden width `width` (gated: three matrices)."""
    D, gated = cfg.d_model, cfg.mlp != "gelu"
    bias = cfg.bias if bias is None else bias
    n = (3 if gated else 2) * D * width
    return n + ((2 if gated else 1) * width + D if bias else 0)


def expert_params(cfg: ModelConfig) -> int:
    """Weights of one routed expert."""
    return mlp_params(cfg, cfg.d_expert, bias=False)


def moe_params(cfg: ModelConfig) -> int:
    """One mixture-of-experts layer: router (+ choice bias), routed and shared experts."""
    n = cfg.d_model * cfg.n_experts + (cfg.n_experts if cfg.router_bias else 0)
    n += cfg.n_experts * expert_params(cfg)
    if cfg.n_shared_experts:
        n += mlp_params(cfg, cfg.n_shared_experts * cfg.d_expert, bias=False)
    return n


def norm_params(cfg: ModelConfig) -> int:
    return cfg.d_model * (2 if cfg.bias and cfg.norm == "layernorm" else 1)


def param_counts(cfg: ModelConfig) -> dict[str, int]:
    """Parameters by part: embedding, lm_head, attention, mlp (dense + MoE), norms; total, active."""
    embedding = cfg.vocab_size * cfg.d_model
    embedding += cfg.context_len * cfg.d_model if cfg.position == "learned" else 0
    lm_head = 0 if cfg.tie_embeddings else cfg.d_model * cfg.vocab_size
    n_moe = cfg.n_moe_layers
    attention = cfg.n_layers * attention_params(cfg)
    mlp = (cfg.n_layers - n_moe) * mlp_params(cfg, cfg.d_ff) + n_moe * moe_params(cfg)
    per_layer_norms = 4 if cfg.norm_placement == "sandwich" else 2
    norms = (cfg.n_layers * per_layer_norms + (cfg.norm_placement != "post")) * norm_params(cfg)
    total = embedding + lm_head + attention + mlp + norms
    idle = n_moe * (cfg.n_experts - cfg.experts_per_token) * expert_params(cfg) if n_moe else 0
    return {"embedding": embedding, "lm_head": lm_head, "attention": attention, "mlp": mlp,
            "norms": norms, "total": total, "non_embedding": total - embedding - lm_head,
            "active": total - idle}
# --8<-- [end:params]


# ----------------------------------------------------------------------------- KV cache
# --8<-- [start:kv]
def kv_bytes_per_token_layer(cfg: ModelConfig, dtype: str = "bfloat16") -> float:
    """Cache bytes one token adds to one layer: 2*K*H values, or C + R under latent attention."""
    width = cfg.kv_lora_rank + cfg.qk_rope_dim if cfg.mla else 2 * cfg.n_kv_heads * cfg.head_dim
    return width * dtype_bytes(dtype)


def kv_bytes(cfg: ModelConfig, context: int, batch: int = 1, dtype: str = "bfloat16") -> float:
    """Whole-cache bytes for `batch` sequences of `context` tokens (windows cap local layers)."""
    tokens = sum(min(context, cfg.sliding_window) if kind == "local" else context
                 for kind in cfg.layer_kinds)
    return batch * tokens * kv_bytes_per_token_layer(cfg, dtype)


def attention_kind(cfg: ModelConfig) -> str:
    """MHA, GQA, MQA or MLA, plus the sliding-window share: how the cache is shaped."""
    kind = ("MLA" if cfg.mla else "MHA" if cfg.n_kv_heads == cfg.n_heads
            else "MQA" if cfg.n_kv_heads == 1 else "GQA")
    n_local = cfg.layer_kinds.count("local")
    return kind + (f" + window {cfg.sliding_window} on {n_local}/{cfg.n_layers} layers"
                   if n_local else "")
# --8<-- [end:kv]


# ----------------------------------------------------------------------------- FLOPs
# --8<-- [start:flops]
def matmul_flops_per_token(cfg: ModelConfig) -> int:
    """Forward FLOPs of the weight matrices one token passes through (active experts only)."""
    counts = param_counts(cfg)
    lookups = cfg.vocab_size * cfg.d_model + (cfg.context_len * cfg.d_model
                                              if cfg.position == "learned" else 0)
    small = counts["norms"] + _vectors(cfg)           # scales and biases: not matrix products
    matrices = counts["active"] - lookups - small
    if cfg.tie_embeddings:                            # the tied embedding is also the lm_head
        matrices += cfg.vocab_size * cfg.d_model
    return 2 * matrices


def _vectors(cfg: ModelConfig) -> int:
    """Biases, QK-norm and latent-norm scales, router biases: parameters used elementwise."""
    n_moe = cfg.n_moe_layers
    per_layer = 0
    if cfg.mla:
        per_layer += cfg.kv_lora_rank + (cfg.q_lora_rank or 0)
    else:
        H, N, K = cfg.head_dim, cfg.n_heads, cfg.n_kv_heads
        per_layer += ((N + 2 * K) * H if cfg.qkv_bias else 0) + (cfg.d_model if cfg.bias else 0)
        per_layer += 2 * H if cfg.qk_norm else 0
    n = cfg.n_layers * per_layer
    gated = cfg.mlp != "gelu"
    if cfg.bias:
        n += (cfg.n_layers - n_moe) * ((2 if gated else 1) * cfg.d_ff + cfg.d_model)
    return n + (n_moe * cfg.n_experts if cfg.router_bias else 0)


def attention_flops_per_token(cfg: ModelConfig, context: int, average: bool = False) -> float:
    """Forward attention FLOPs of one token: the last of `context` tokens, or (average=True)
    the mean over positions 1..context, as in a training sequence."""
    widths = cfg.n_heads * (cfg.qk_head_dim + cfg.v_head_dim)
    total = 0.0
    for kind in cfg.layer_kinds:
        window = cfg.sliding_window if kind == "local" else None
        total += 2 * widths * _mean_keys(context, window, average)
    return total


def _mean_keys(context: int, window: int | None, average: bool) -> float:
    if not average:
        return min(context, window) if window else context
    if not window or window >= context:
        return (context + 1) / 2
    # positions 1..W see 1..W keys, the rest see W each
    return (window * (window + 1) / 2 + (context - window) * window) / context


def flops_per_token(cfg: ModelConfig, context: int) -> dict[str, float]:
    """Forward and training FLOPs per token at `context`, matmuls and attention apart."""
    matmul = matmul_flops_per_token(cfg)
    attn_last = attention_flops_per_token(cfg, context)
    attn_avg = attention_flops_per_token(cfg, context, average=True)
    return {"matmul": matmul, "attention": attn_last, "forward": matmul + attn_last,
            "train": 3 * (matmul + attn_avg), "train_attention": 3 * attn_avg}
# --8<-- [end:flops]


# ----------------------------------------------------------------------------- memory
def memory_bytes(cfg: ModelConfig, context: int, batch: int = 1, dtype: str = "bfloat16") -> dict:
    """Inference memory: weights, the KV cache, and the widest activations of a prefill.

    Activations: the residual stream and one layer's MLP hidden units (the active experts'
    for MoE) for every token at once, plus the last position's logits in float32; attention
    scores are never stored whole (blockwise / flash attention).
    """
    b = dtype_bytes(dtype)
    weights = param_counts(cfg)["total"] * b
    hidden = mlp_hidden_width(cfg) * (2 if cfg.mlp != "gelu" else 1)
    activations = batch * context * (2 * cfg.d_model + hidden) * b + batch * cfg.vocab_size * 4
    kv = kv_bytes(cfg, context, batch, dtype)
    return {"weights": weights, "kv_cache": kv, "activations": activations,
            "total": weights + kv + activations}


def mlp_hidden_width(cfg: ModelConfig) -> int:
    """Hidden units of the widest MLP one token passes through (its active experts' for MoE)."""
    if not cfg.n_experts:
        return cfg.d_ff
    return max(cfg.d_ff if "dense" in cfg.mlp_layers else 0,
               (cfg.experts_per_token + cfg.n_shared_experts) * cfg.d_expert)


# --8<-- [start:activations]
def train_activation_bytes(cfg: ModelConfig, recompute: bool = False,
                           dtype: str = "bfloat16") -> float:
    """Bytes one token leaves behind in one layer for the backward pass of training.

    Without recomputation a layer keeps the input of every norm and matrix product: the residual
    and its normed copy twice (attention, MLP), the queries, keys and values, the attention
    output, and the MLP's hidden units (gate, up and their product for a gated MLP; pre- and
    post-activation for GELU). Attention scores are not kept: blockwise (flash) attention rebuilds
    them. With full recomputation only the layer's input is kept and the rest is rebuilt by a
    second forward pass during the backward one. No dropout masks (these models use none).
    """
    b = dtype_bytes(dtype)
    if recompute:
        return cfg.d_model * b
    N, K = cfg.n_heads, (cfg.n_heads if cfg.mla else cfg.n_kv_heads)   # MLA expands K, V per head
    attention = (N + K) * cfg.qk_head_dim + (K + N) * cfg.v_head_dim
    mlp = (3 if cfg.mlp != "gelu" else 2) * mlp_hidden_width(cfg)
    return (4 * cfg.d_model + attention + mlp) * b
# --8<-- [end:activations]


def summary(cfg: ModelConfig, context: int = 8192, batch: int = 1, dtype: str = "bfloat16") -> dict:
    """The inspector's row for one config: parameters, cache, FLOPs and memory."""
    counts = param_counts(cfg)
    flops = flops_per_token(cfg, context)
    return {"total_params": counts["total"], "active_params": counts["active"],
            "embedding_params": counts["embedding"] + counts["lm_head"],
            "non_embedding_params": counts["non_embedding"], "attention": attention_kind(cfg),
            "kv_bytes_per_token": kv_bytes(cfg, context, 1, dtype) / context,
            "kv_bytes_per_token_layer": kv_bytes_per_token_layer(cfg, dtype),
            "flops_per_token": flops["forward"], "matmul_flops_per_token": flops["matmul"],
            "attention_flops_per_token": flops["attention"],
            "train_flops_per_token": flops["train"],
            "memory_bytes": memory_bytes(cfg, context, batch, dtype),
            "context": context, "batch": batch, "dtype": dtype}
