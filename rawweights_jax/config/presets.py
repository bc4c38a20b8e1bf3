"""Named runs: nanoGPT's CPU and GPU Shakespeare models, GPT-2 small, and the CPU shape in
today's styles (Llama, mixture of experts). Each is a model config and a training config."""

from __future__ import annotations

from rawweights_jax.config.model import ModelConfig
from rawweights_jax.config.run import RunConfig
from rawweights_jax.config.train import TrainConfig

# nanoGPT's recipe for the Shakespeare characters, shared by the CPU presets.
_CPU_RECIPE = TrainConfig(batch_size=12, max_iters=2000, lr=1e-3, min_lr=1e-4, warmup_iters=100,
                          beta2=0.99, weight_decay=0.1, grad_clip=1.0, eval_interval=250, eval_iters=20)
# The CPU preset's width in today's style: about the same parameters with SwiGLU's third matrix
# (d_ff 8/3 * D rounded to 32), rotary positions, RMSNorm and two key/value heads for four.
_MODERN_CPU = dict(vocab_size=65, context_len=64, n_layers=4, n_heads=4, n_kv_heads=2, d_model=128,
                   d_ff=352, position="rope", norm="rmsnorm", mlp="swiglu", tie_embeddings=False)

# --8<-- [start:presets]
PRESETS: dict[str, RunConfig] = {
    # nanoGPT's README configuration for a CPU (shakespeare_char, "baby GPT" shrunk for a laptop).
    "shakespeare-char-cpu": RunConfig(
        ModelConfig(vocab_size=65, context_len=64, n_layers=4, n_heads=4, d_model=128),
        _CPU_RECIPE),
    # nanoGPT's config/train_shakespeare_char.py, the GPU "baby GPT" (about 10.7M parameters).
    "shakespeare-char": RunConfig(
        ModelConfig(vocab_size=65, context_len=256, n_layers=6, n_heads=6, d_model=384),
        TrainConfig(batch_size=64, max_iters=5000, lr=1e-3, min_lr=1e-4, warmup_iters=100,
                    beta2=0.99, weight_decay=0.1, grad_clip=1.0, eval_interval=250,
                    eval_iters=200, dropout=0.2)),
    # GPT-2 small (124M): the published shape, with biases and a 50257-token vocabulary
    # (padded to 50304, a multiple of 64, for faster matrix products as nanoGPT does).
    "gpt2-small": RunConfig(
        ModelConfig(vocab_size=50304, context_len=1024, n_layers=12, n_heads=12, d_model=768,
                    bias=True),
        TrainConfig(batch_size=16, grad_accum=32, max_iters=600000, lr=6e-4, min_lr=6e-5,
                    warmup_iters=2000, beta2=0.95, weight_decay=0.1, grad_clip=1.0,
                    eval_interval=1000, eval_iters=200, compute_dtype="bfloat16",
                    steps_per_dispatch=1)),
    # The CPU preset's shape in today's style (Llama).
    "llama-char-cpu": RunConfig(ModelConfig(**_MODERN_CPU), _CPU_RECIPE),
    # Its mixture-of-experts sibling: 8 experts of width 128 per layer, 2 per token, softmax
    # router with the load-balancing loss (Mixtral / Qwen3-MoE style).
    "moe-char-cpu": RunConfig(
        ModelConfig(**_MODERN_CPU, n_experts=8, experts_per_token=2, d_expert=128),
        _CPU_RECIPE.replace(aux_loss_coef=0.01)),
}
# --8<-- [end:presets]


def preset(name: str) -> RunConfig:
    """The named preset; an unknown name raises ValueError listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}: expected one of "
                         + ", ".join(sorted(PRESETS))) from None
