"""`rawweights bench recipe`: the training recipe, measured. Short runs of one small preset
(`shakespeare-char-cpu`, a few hundred steps on tiny Shakespeare), each changing one thing:

- the schedule after warm-up: cosine, warm-up-stable-decay (wsd), constant;
- the compute dtype: bfloat16 against float32 (loss and ms per step);
- the optimizer: Muon (for the blocks' matrices) against AdamW;
- a learning rate far above the preset's, as is, with PaLM's z-loss, and with QK-norm
  (Wortsman et al. 2023): the largest attention logit over training, the final loss, and
  whether the run diverged.

Each run records its loss and learning-rate curves (every 10th step), ms per step (the median
over dispatches, compilation excluded), the validation loss at the end, the largest attention
logit at each evaluation, its loss spikes, and the baseline run records the monitoring history
(per-layer gradient norms and update-to-weight ratios) that docs/training/recipe.md draws.
"""

from __future__ import annotations

import math

import numpy as np
from jax.sharding import Mesh

from rawweights_jax.bench.common import environment
from rawweights_jax.config import preset
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.train.loop import train

PRESET = "shakespeare-char-cpu"


def recipe_runs(high_lr: float) -> dict[str, tuple[str, dict]]:
    """name -> (group, changes to the preset). The first is the baseline the others differ from."""
    high = {"lr": high_lr, "min_lr": high_lr / 10}
    return {
        "cosine": ("schedule", {}),
        "wsd": ("schedule", {"schedule": "wsd"}),
        "constant": ("schedule", {"schedule": "constant"}),
        "bfloat16": ("dtype", {"compute_dtype": "bfloat16"}),
        "muon": ("optimizer", {"optimizer": "muon"}),
        "high-lr": ("stability", high),
        "high-lr+z-loss": ("stability", {**high, "z_loss": 1e-4}),
        "high-lr+qk-norm": ("stability", {**high, "qk_norm": True}),
    }


def one_run(name: str, group: str, changes: dict, iters: int, data, mesh: Mesh | None) -> dict:
    """Train the preset with `changes` for `iters` steps and summarise what happened."""
    run = preset(PRESET).replace(max_iters=iters, warmup_iters=max(iters // 10, 1),
                                 eval_interval=max(iters // 4, 1), eval_iters=10, **changes)
    result = train(run, data, progress=None, mesh=mesh, log_interval=max(iters // 20, 1))
    h = result.history
    tps = np.asarray(h["tokens_per_second"][run.train.steps_per_dispatch:] or h["tokens_per_second"])
    losses = np.asarray(h["loss"])
    final = float(np.mean(losses[-10:]))
    logits = [max(e["max_attention_logit"]) for e in h["eval"]]
    every = max(iters // 40, 1)
    return {"name": name, "group": group, "changes": changes, "iters": iters,
            "ms_per_step": round(float(np.median(run.tokens_per_iter / tps * 1000)), 2),
            "final_train_loss": round(final, 4) if math.isfinite(final) else None,
            "val_loss": round(h["eval"][-1]["val_loss"], 4) if math.isfinite(h["eval"][-1]["val_loss"]) else None,
            "diverged": bool(not np.all(np.isfinite(losses)) or final > losses[0]),
            "spikes": h["spikes"],
            "loss_curve": {"step": h["step"][every - 1::every],
                           "loss": [round(x, 4) for x in h["loss"][every - 1::every]],
                           "lr": [float(f"{x:.4g}") for x in h["lr"][every - 1::every]]},
            "max_attention_logit": {"step": [e["step"] for e in h["eval"]],
                                    "value": [round(x, 2) for x in logits]},
            **({"monitor": {"layers": h["layers"], "records": h["monitor"]}} if name == "cosine" else {})}


def bench_recipe(iters: int = 400, high_lr: float = 3e-2, names: tuple[str, ...] | None = None,
                 quiet: bool = False, mesh: Mesh | None = None) -> dict:
    """Every run of `recipe_runs` (or those in `names`), `iters` steps each."""
    runs = recipe_runs(high_lr)
    unknown = sorted(set(names or ()) - set(runs))
    if unknown:
        raise ValueError(f"unknown recipe run(s) {', '.join(unknown)}: expected some of {', '.join(runs)}")
    data = load_shakespeare()
    rows = []
    for name, (group, changes) in runs.items():
        if names and name not in names:
            continue
        rows.append(one_run(name, group, changes, iters, data, mesh))
        if not quiet:
            row = rows[-1]
            print(f"  {name:>16}: loss {row['final_train_loss']}, val {row['val_loss']}, "
                  f"{row['ms_per_step']} ms/step, max attention logit "
                  f"{max(row['max_attention_logit']['value'])}, diverged {row['diverged']}", flush=True)
    return {"benchmark": "recipe", "preset": PRESET, "iters": iters, "high_lr": high_lr,
            "runs": rows, **environment()}
