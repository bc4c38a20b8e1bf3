"""Tiny random Hugging Face models of every supported family (rawweights_jax/families.py).

Every parameter (norm scales and router biases included) is perturbed away from its initial
value, so a weight mapped to the wrong place cannot go unnoticed.
"""

from __future__ import annotations

from rawweights_jax.families.tiny import TINY_HF


def make_hf_model(family: str, seed: int = 0):
    """A float32, eager-attention transformers model of `family` with perturbed weights."""
    import torch
    import transformers

    torch.manual_seed(seed)
    config = transformers.AutoConfig.for_model(**TINY_HF[family])
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    model = model.float().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * (0.1 if p.ndim == 1 else 0.02))
        for name, b in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                b.copy_(torch.randn_like(b) * 0.1)
    return model
