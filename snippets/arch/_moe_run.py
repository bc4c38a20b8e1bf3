"""The Mixture-of-Experts page's tiny experiment: one small MoE trained three ways, once.

`moe_runs()` returns, for each way of balancing the experts' load (none, the auxiliary loss,
DeepSeek-style choice biases), the run's validation loss and the number of tokens the router
sent to each expert of each layer, measured on one fixed batch of validation text at a series
of training steps (the snapshots). The three runs are identical otherwise: same shape, same
seed, same batches.

The result comes from `rwsite.shared.shared`, so it is computed once per content hash (this
recipe, the library source, the data checksum) and reused by every build after that. A
snippet that calls it may be the one that trains (about a minute on a 2-core CPU), so its
fence needs `timeout="900"`.

A helper module (its name starts with `_`), not a snippet.
"""

from __future__ import annotations

import json
from pathlib import Path

from rwsite.shared import shared

SNAPSHOTS = (0, 10, 20, 30, 40, 60, 80, 100, 150, 200, 250, 300)
EVAL_BATCH = 32          # fixed validation batch: 32 x 64 = 2048 tokens


# --8<-- [start:setup]
def base_config():
    """The `moe-char-cpu` preset shrunk: 2 layers, width 64, 8 experts of width 64, top-2."""
    from rawweights_jax.config import preset

    return preset("moe-char-cpu").replace(
        n_layers=2, d_model=64, d_ff=176, d_expert=64, batch_size=8, max_iters=300,
        warmup_iters=30, lr=3e-3, min_lr=3e-4, eval_interval=100, eval_iters=20)


BALANCING = {   # the only thing that differs between the three runs
    "none": dict(aux_loss_coef=0.0),
    "aux loss": dict(aux_loss_coef=0.01),                 # Mixtral, Qwen3 (Switch-style loss)
    "bias": dict(aux_loss_coef=0.0, router_bias=True,     # DeepSeek-V3: no loss, a nudge
                 router_bias_rate=0.01),
}
# --8<-- [end:setup]


def _build(out: Path) -> None:
    import numpy as np
    from flax import nnx

    from rawweights_jax.ckpt.checkpoint import load_model
    from rawweights_jax.data.batches import spaced_windows
    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.model.gpt import init_model
    from rawweights_jax.train.loop import train

    data = load_shakespeare()
    # One fixed batch of validation text: every snapshot is asked about the same 2048 tokens.
    T = base_config().model.context_len
    x_BT = spaced_windows(data.val_Z, T, EVAL_BATCH)[0]
    loads = nnx.jit(lambda m, x: m(x, with_aux=True)[1]["load_LE"])

    results = {}
    for name, change in BALANCING.items():
        cfg = base_config().replace(**change)
        folder = out / name.replace(" ", "-")
        steps = tuple(s for s in SNAPSHOTS if s > 0)
        run = train(cfg, data, out_dir=folder, snapshot_steps=steps, progress=None)
        load_SLE = [np.asarray(loads(init_model(cfg.model, cfg.train.seed), x_BT))]
        for s in steps:
            model = load_model(folder / f"ckpt_step{s}.safetensors")[0]
            load_SLE.append(np.asarray(loads(model, x_BT)))
        for f in folder.glob("ckpt_step*.safetensors"):
            f.unlink()                      # keep only the final checkpoint
        results[name] = {"steps": list(SNAPSHOTS), "load_SLE": np.stack(load_SLE).tolist(),
                         "eval": run.history["eval"], "loss": run.history["loss"],
                         "wall_seconds": run.history["wall_seconds"]}
    (out / "runs.json").write_text(json.dumps(results))


def moe_runs() -> dict:
    """{balancing name: {'steps', 'load_SLE', 'eval', 'loss', 'wall_seconds'}} (trains if needed)."""
    from rawweights_jax.data.shakespeare import SHAKESPEARE_SHA256

    folder = shared("moe-balancing", build=_build,
                    key_parts=[base_config().to_json(), json.dumps(BALANCING, sort_keys=True),
                               SNAPSHOTS, EVAL_BATCH, SHAKESPEARE_SHA256])
    return json.loads((folder / "runs.json").read_text())
