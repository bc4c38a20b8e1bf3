"""Bytes one training step communicates, by strategy: the formulas the compiled programs are
measured against (parallel/hlo.py counts the same thing from the HLO).

What is counted: the bytes each device hands to each collective (its operands), per step, for
float32 training with AdamW, B rows of T tokens. With P the parameters a device holds whole
(tensor-parallel matrices count 1/model), n_data the data devices, L layers, D the width:

- gradients (data > 1): one all-reduce of every gradient, 4 P bytes. A tied embedding table
  gets two gradients (from the lookup and from the output layer), and XLA sums each across
  devices before adding them: 4 V D more.
- fsdp: each weight all-gathered once (the backward pass reuses it), each device handing in
  its shard: 4 P / n_data; the gradients as above (on the CPU, XLA's reduce-scatter is an
  all-reduce followed by a slice).
- tensor parallelism (model > 1): the activations of each device's rows, B/n_data x T x D,
  all-reduced after attention and after the MLP, forward and backward: 4 per layer.
- a pipeline (stages > 1, train/pipeline.py): one collective-permute of a microbatch's
  activations, (B/m) x T x D, at each tick where some stage passes its output on, and one of
  the gradients at each tick where some stage passes one back (counted from the schedule's
  table: 2 (m + p - 2) ticks for GPipe, more for 1F1B, whose sends interleave); the copies of
  the embedding and output layer sum their gradients: 4 x (those parameters).
- expert parallelism (experts > 1, nn/moe.py): per MoE layer, the rows sent to the experts'
  devices and the results sent back, n x C rows of D floats each way (C = U O: a slot for
  every assignment of the sender's U tokens, so none is dropped) plus the n x C int32 expert
  ids, and the two row transfers again backward: 4 x 4 n C D + 4 n C bytes; the copies of
  everything but the experts sum their gradients as in dp. (Learned positions would add more:
  under shard_map XLA sums the position table's gradient across devices before summing it
  over the rows, B/n x T x D instead of T x D; the MoE preset has rotary positions.)
- int8 gradients (train/compress.py): each device's gradient quantized to int8, exchanged by
  an all-to-all (P bytes), its summed chunk re-quantized and all-gathered (P / n bytes), plus
  two float32 scales (all-gathered); the tied table's gradient is whole before it is sent.

Scalars (the loss, a norm for clipping) are left out; they are a few bytes.
"""

from __future__ import annotations

from rawweights_jax.analysis.counts import expert_params, norm_params, param_counts
from rawweights_jax.config import ModelConfig
from rawweights_jax.config.parallel import ParallelConfig
from rawweights_jax.parallel.schedule import schedule

F32 = 4


def split_params(cfg: ModelConfig) -> int:
    """Parameters tensor parallelism splits (parallel/sharding.py): per layer the grouped QKV
    matrix and its bias, the attention output matrix, the MLP's matrices and hidden biases."""
    if cfg.mla or cfg.n_moe_layers:
        raise ValueError(f"split_params: dense attention and MLP only (mla={cfg.mla}, "
                         f"n_moe_layers={cfg.n_moe_layers})")
    D, N, K, H, F = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.d_ff
    gated = cfg.mlp != "gelu"
    per_layer = D * (N + 2 * K) * H + N * H * D + (3 if gated else 2) * D * F
    per_layer += (N + 2 * K) * H if cfg.qkv_bias else 0
    per_layer += (2 if gated else 1) * F if cfg.bias else 0
    return cfg.n_layers * per_layer


def layer_params(cfg: ModelConfig) -> int:
    """Parameters inside the L layers: all but the embeddings, the output layer, the final norm."""
    c = param_counts(cfg)
    per_layer_norms = 4 if cfg.norm_placement == "sandwich" else 2
    return c["attention"] + c["mlp"] + cfg.n_layers * per_layer_norms * norm_params(cfg)


def params_per_device(cfg: ModelConfig, par: ParallelConfig) -> int:
    """Parameters one device holds whole (before fsdp's sharding): split ones count 1/model."""
    total = param_counts(cfg)["total"]
    if par.model == 1:
        return total
    split = split_params(cfg)
    return total - split + split // par.model


def comm_bytes(cfg: ModelConfig, par: ParallelConfig, batch: int) -> dict[str, int]:
    """Operand bytes per device and step, by collective kind, of a `batch` x context_len step."""
    out = dict.fromkeys(("all-reduce", "all-gather", "reduce-scatter", "all-to-all",
                         "collective-permute"), 0)
    T, D, L = cfg.context_len, cfg.d_model, cfg.n_layers
    tied = cfg.vocab_size * D if cfg.tie_embeddings else 0
    if par.stages > 1:
        sched = schedule(par.schedule, par.stages, par.microbatches)
        ticks = sched.sends("F") + sched.sends("B")
        out["collective-permute"] = F32 * ticks * (batch // par.microbatches) * T * D
        out["all-reduce"] = F32 * (param_counts(cfg)["total"] - layer_params(cfg))
        return out
    if par.experts > 1:
        n, C = par.experts, (batch // par.experts) * T * cfg.experts_per_token
        out["all-to-all"] = cfg.n_moe_layers * (F32 * 4 * n * C * D + F32 * n * C)
        experts = cfg.n_moe_layers * cfg.n_experts * expert_params(cfg)
        out["all-reduce"] = F32 * (param_counts(cfg)["total"] - experts + tied)
        return out
    P = params_per_device(cfg, par)
    if par.data > 1 and par.compress == "int8":
        chunk = -(-P // par.data)                   # the flat gradient padded to n chunks
        out["all-to-all"] += chunk * par.data
        out["all-gather"] += chunk + 2 * F32        # the summed chunk and the two scales
    elif par.data > 1:
        out["all-reduce"] += F32 * (P + tied)
    if par.fsdp:
        out["all-gather"] += F32 * P // par.data
    if par.model > 1:
        out["all-reduce"] += F32 * 4 * L * (batch // par.data) * T * D
    return out
