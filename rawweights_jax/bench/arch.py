"""`rawweights bench arch`: training and decoding speed of the CPU presets side by side: GPT-2
style (`shakespeare-char-cpu`), Llama style (`llama-char-cpu`) and mixture of experts
(`moe-char-cpu`), each trained for a few hundred steps on tiny Shakespeare and decoded with
the KV cache at batch 1 and 8. Compilation is excluded."""

from __future__ import annotations

import numpy as np
from jax.sharding import Mesh

from rawweights_jax.analysis.counts import param_counts
from rawweights_jax.bench.common import environment, timeit
from rawweights_jax.config import preset
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.inference.generate import generate
from rawweights_jax.model.gpt import count_params
from rawweights_jax.parallel.sharding import shard_model
from rawweights_jax.train.loop import train


ARCH_PRESETS = ("shakespeare-char-cpu", "llama-char-cpu", "moe-char-cpu")


def bench_arch(presets=ARCH_PRESETS, iters: int = 300, new_tokens: int = 48,
               quiet: bool = False, mesh: Mesh | None = None) -> dict:
    """Per preset: training ms/step and tokens/s, loss after `iters`, decode tokens/s (each
    batch split over `mesh` for training, each weight for decoding)."""
    data = load_shakespeare()
    rows = []
    for name in presets:
        run = preset(name).replace(max_iters=iters, eval_interval=iters)
        cfg = run.model
        result = train(run, data, progress=None, mesh=mesh)
        tps = np.asarray(result.history["tokens_per_second"][run.train.steps_per_dispatch:])
        ms = float(np.median(run.tokens_per_iter / tps * 1000))
        model, row = shard_model(result.model, mesh), {"preset": name, "params": count_params(result.model)}
        if cfg.n_experts:
            row["active_params_per_token"] = param_counts(cfg)["active"]
        row.update(train_ms_per_iter=round(ms, 3), train_tokens_per_second=round(run.tokens_per_iter / ms * 1000, 1),
                   val_loss_after=round(result.history["eval"][-1]["val_loss"], 4))
        for batch in (1, 8):
            prompts = [[b % cfg.vocab_size] for b in range(batch)]
            seconds = timeit(lambda: generate(model, prompts, new_tokens, seed=0, mesh=mesh), 3)
            row[f"decode_b{batch}_tokens_per_second"] = round(batch * new_tokens / seconds, 1)
        rows.append(row)
        if not quiet:
            print("  " + ", ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return {"benchmark": "arch", "iters": iters, "decode_new_tokens": new_tokens, "runs": rows,
            **environment()}
