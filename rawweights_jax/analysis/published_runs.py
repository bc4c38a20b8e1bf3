"""Published training runs to hold the planner against: the model, the split, the measured speed.

A planner that cannot come near a run someone actually made is a toy. Llama 3 405B is the best
documented large run: Meta's paper (Grattafiori et al., "The Llama 3 Herd of Models", arXiv
2407.21783) gives the architecture (Table 3), the split and the throughput per GPU of its 8K-context
pre-training on H100s (section 3.3, Table 4: 38-43% BF16 MFU). The same rows appear on a slide of
Pavan Balaji's SC'24 talk, summarised at https://glennklockwood.com/garden/llama-3.1 (checked
2026-12-04).

Left out: the long-context row (131,072 tokens with 16-way context parallelism), which the
planner does not model.
"""

from __future__ import annotations

from dataclasses import dataclass

from rawweights_jax.analysis.accelerators import accelerator
from rawweights_jax.analysis.zoo import zoo_model
from rawweights_jax.config import ModelConfig
from rawweights_jax.families.hf_config import config_from_hf

LLAMA3_405B_SIZES = {"hidden_size": 16384, "intermediate_size": 53248, "num_hidden_layers": 126,
                     "num_attention_heads": 128, "num_key_value_heads": 8}
"""Llama 3 405B's sizes from the paper's Table 3 (its vocabulary, 128,256 entries, and every other
field are those of the shipped Llama 3.1 70B config, which shares them)."""


def llama3_405b() -> ModelConfig:
    """Llama 3 405B: the 70B's config.json with the 405B's sizes."""
    return config_from_hf({**zoo_model("llama-3.1-70b").hf, **LLAMA3_405B_SIZES})


@dataclass(frozen=True)
class PublishedRun:
    """One row of a paper's training-throughput table."""

    model: str
    gpu: str
    """A key of accelerators.json."""
    gpus: int
    tp: int
    pp: int
    dp: int
    sequences: int
    """Sequences per step (tokens per step / context)."""
    context: int
    tflops_per_gpu: float
    """Achieved model TFLOP/s per GPU, as published."""
    source: str

    @property
    def mfu(self) -> float:
        """The published throughput as a fraction of the table's BF16 peak (989.4 TFLOP/s)."""
        return self.tflops_per_gpu * 1e12 / accelerator(self.gpu).peak_flops


_LLAMA3 = "arXiv 2407.21783, section 3.3, Table 4 (8,192-token rows)"
LLAMA3_RUNS = (
    # 16M tokens per step = 2,048 sequences of 8,192 tokens; dp = GPUs / (tp x pp), context parallel 1
    PublishedRun("llama3-405b", "h100-sxm", 8192, 8, 16, 64, 2048, 8192, 430, _LLAMA3),
    PublishedRun("llama3-405b", "h100-sxm", 16384, 8, 16, 128, 2048, 8192, 400, _LLAMA3),
)
