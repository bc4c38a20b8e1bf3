"""Where a token sits: rotary position embeddings (RoPE), their context-extension rules, and
the fixed sinusoidal embeddings of the original Transformer.

RoPE turns each pair of a query's (and key's) dimensions by an angle proportional to the
token's position: pair i turns `inv_freq[i]` radians per position. A query at position m and a
key at position n then meet at an angle that depends only on m - n, so attention scores see
*relative* distance although each vector was rotated by its own absolute position.

Pairs are the two halves of the rotated width R (dimension j pairs with j + R/2), the layout of
the Hugging Face reference code; a checkpoint laid out as interleaved pairs (DeepSeek's) is
permuted once when it is loaded (families/hf_weights.py), so one rotation serves every family.

Context extension changes only the frequencies (and, for YaRN, a magnitude factor):
- 'linear': every frequency divided by the factor (positions squeezed uniformly);
- 'llama3': low frequencies (long wavelengths) divided by the factor, high ones kept, a smooth
  blend between (Llama 3.1);
- 'yarn': the same idea with a linear ramp over pair index, plus cos/sin scaled by
  0.1 ln(factor) + 1 to keep attention sharp (DeepSeek-V3, Qwen's long-context variants).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from rawweights_jax.config import ModelConfig


# --8<-- [start:frequencies]
def rope_frequencies(cfg: ModelConfig, local: bool = False) -> tuple[np.ndarray, float]:
    """Radians per position of each rotated pair, and the factor applied to cos and sin.

    `local` selects the base of sliding-window layers when the model has its own for them
    (Gemma 3: 10,000 locally, 1,000,000 with linear scaling globally); those are never scaled.
    """
    R = cfg.rope_dim
    theta = cfg.rope_local_theta if local and cfg.rope_local_theta else cfg.rope_theta
    # float32 arithmetic, as the reference implementations do: the frequencies then agree to
    # the last bit, and so do angles at large positions.
    inv_freq = (1.0 / np.float32(theta) ** (np.arange(0, R, 2).astype(np.float32) / R)).astype(np.float64)
    kind = "none" if local and cfg.rope_local_theta else cfg.rope_scaling
    factor, old_context = cfg.rope_factor, cfg.rope_original_context
    if kind == "linear":
        return inv_freq / factor, 1.0
    if kind == "llama3":
        wavelen = 2 * math.pi / inv_freq
        low, high = cfg.rope_low_freq_factor, cfg.rope_high_freq_factor
        smooth = np.clip((old_context / wavelen - low) / (high - low), 0.0, 1.0)
        return (1 - smooth) * inv_freq / factor + smooth * inv_freq, 1.0
    if kind == "yarn":
        def turns_to_pair(turns):   # index of the pair that turns `turns` times over old_context
            return R * math.log(old_context / (turns * 2 * math.pi)) / (2 * math.log(theta))
        lo = max(math.floor(turns_to_pair(cfg.yarn_beta_fast)), 0)
        hi = min(math.ceil(turns_to_pair(cfg.yarn_beta_slow)), R - 1)
        ramp = np.clip((np.arange(R // 2) - lo) / max(hi - lo, 1e-3), 0.0, 1.0)
        inv_freq = inv_freq / factor * ramp + inv_freq * (1 - ramp)
        return inv_freq, yarn_magnitude(cfg)
    return inv_freq, 1.0
# --8<-- [end:frequencies]


def yarn_mscale(factor: float, coefficient: float = 1.0) -> float:
    """YaRN's attention temperature correction 0.1 * coefficient * ln(factor) + 1 (1 if factor <= 1)."""
    return 1.0 if factor <= 1 else 0.1 * coefficient * math.log(factor) + 1.0


def yarn_magnitude(cfg: ModelConfig) -> float:
    """The factor YaRN puts on cos and sin: mscale ratio when both coefficients are set."""
    if cfg.yarn_mscale and cfg.yarn_mscale_all_dim:
        return yarn_mscale(cfg.rope_factor, cfg.yarn_mscale) / yarn_mscale(
            cfg.rope_factor, cfg.yarn_mscale_all_dim)
    return yarn_mscale(cfg.rope_factor)


# --8<-- [start:rope]
def rope_table(pos_BT, inv_freq: np.ndarray, magnitude: float = 1.0):
    """cos and sin of every (position, pair) angle, [B, T, R/2] each, computed in float32."""
    angle_BTR = pos_BT.astype(jnp.float32)[..., None] * jnp.asarray(inv_freq, jnp.float32)
    return jnp.cos(angle_BTR) * magnitude, jnp.sin(angle_BTR) * magnitude


def apply_rope(x_BTNH, table):
    """Rotate the first R dimensions of every head: pair (j, j + R/2) turns by its angle."""
    cos_BTR, sin_BTR = (t[:, :, None, :] for t in table)      # broadcast over heads
    half = cos_BTR.shape[-1]
    x1, x2, rest = x_BTNH[..., :half], x_BTNH[..., half:2 * half], x_BTNH[..., 2 * half:]
    x32 = lambda a: a.astype(jnp.float32)
    rotated = (x32(x1) * cos_BTR - x32(x2) * sin_BTR, x32(x2) * cos_BTR + x32(x1) * sin_BTR)
    return jnp.concatenate([r.astype(x_BTNH.dtype) for r in rotated] + [rest], axis=-1)
# --8<-- [end:rope]


def sinusoidal_embedding(pos_BT, width: int):
    """The fixed position code of 'Attention is all you need': sin and cos at geometric wavelengths."""
    inv_freq = 1.0 / 10000.0 ** (np.arange(0, width, 2, dtype=np.float64) / width)
    angle_BTR = pos_BT.astype(jnp.float32)[..., None] * jnp.asarray(inv_freq, jnp.float32)
    return jnp.concatenate([jnp.sin(angle_BTR), jnp.cos(angle_BTR)], axis=-1)[..., :width]
