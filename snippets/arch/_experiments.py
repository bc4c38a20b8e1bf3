"""The small students trained for the Architecture pages: positions, norms, MLPs.

Each experiment trains copies of one small model (4 layers of width 64: the
`shakespeare-char-cpu` preset shrunk), identical but for the part a page is about, and
keeps what the pages plot, as JSON:

    student_runs()  positions (learned, sinusoidal, rope, none) and MLPs (GELU, SwiGLU at
                    equal parameter count), trained at context 64 for 400 steps; every run is
                    also scored position by position on validation sequences of 256 characters
    norm_runs()     pre-LN, post-LN, pre-RMSNorm, pre-RMSNorm + QK-norm, each at a calm and an
                    aggressive learning rate, with gradient norms per layer every 10 steps

The results come from `rwsite.shared.shared`: computed once per content hash (the recipe,
the library source, the data checksum) and reused by every snippet and build after that. A
snippet that calls one may be the one that trains (about a minute on a 2-core CPU), so its
fence needs `timeout="900"`.

A helper module (its name starts with `_`), not a snippet.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

from rwsite.shared import shared


# --8<-- [start:small]
def small_config():
    """The robot student shrunk: 4 layers of width 64 (4 heads of 16), 8 sequences a batch."""
    from rawweights_jax.config import preset

    return preset("shakespeare-char-cpu").replace(
        n_layers=4, d_model=64, n_heads=4, batch_size=8, max_iters=400, warmup_iters=40,
        lr=3e-3, min_lr=3e-4, eval_interval=400, eval_iters=50)
# --8<-- [end:small]


# --8<-- [start:students]
def student_variants():
    """Copies of small_config() that differ in one part: positions, or the MLP."""
    base = small_config()
    gated = round(2 * base.model.d_ff / 3)     # SwiGLU's three matrices: 2/3 of GELU's width
    return {
        "learned": base,                                   # GPT-2; also the GELU MLP run
        "sinusoidal": base.replace(position="sinusoidal"),
        "sinusoidal, tokens x sqrt(D)": base.replace(position="sinusoidal", embed_scale=True),
        "rope": base.replace(position="rope"),
        "none": base.replace(position="none"),
        "swiglu": base.replace(mlp="swiglu", d_ff=gated),
        "gelu, seed 7": base.replace(seed=7),
        "swiglu, seed 7": base.replace(mlp="swiglu", d_ff=gated, seed=7),
    }


EVAL_LEN = 256           # positions are scored up to 4x the training context of 64
EVAL_WINDOWS = 256       # validation sequences scored position by position
# --8<-- [end:students]

# --8<-- [start:norms]
NORMS = {                               # everything else as in small_config()
    "pre-LN (GPT-2)": dict(norm="layernorm", norm_placement="pre"),
    "post-LN (2017)": dict(norm="layernorm", norm_placement="post"),
    "pre-RMSNorm (Llama)": dict(norm="rmsnorm", norm_placement="pre"),
    "pre-RMSNorm + QK-norm (Qwen3)": dict(norm="rmsnorm", norm_placement="pre", qk_norm=True),
}
NORM_LRS = (3e-3, 3e-2)                 # calm, and ten times that
NORM_STEPS, NORM_WARMUP = 300, 10       # a short warm-up makes the aggressive rate bite early
PROBE_EVERY = 10                        # per-layer gradient norms every 10 steps
# --8<-- [end:norms]


def unigram_loss() -> float:
    """Validation loss of guessing by character frequency alone (the training split's counts)."""
    from rawweights_jax.data.baselines import ngram_nats
    from rawweights_jax.data.shakespeare import load_shakespeare

    data = load_shakespeare()
    return ngram_nats(data.train_Z, data.val_Z, data.tokenizer.vocab_size)


def _key_parts(*extra):
    """What a result depends on besides its build function (whose source `shared` hashes)."""
    from rawweights_jax.data.shakespeare import SHAKESPEARE_SHA256

    return [small_config().to_json(), SHAKESPEARE_SHA256, *map(str, extra)]


def _load(folder: Path) -> dict:
    return json.loads((folder / "runs.json").read_text())


# ----------------------------------------------------------------------------- students
def _build_students(out: Path) -> None:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from flax import nnx

    from rawweights_jax.data.batches import spaced_windows
    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.model.gpt import count_params
    from rawweights_jax.train.loop import train

    data = load_shakespeare()
    x_WT, y_WT = spaced_windows(data.val_Z, EVAL_LEN, EVAL_WINDOWS)

    @nnx.jit
    def nll_per_position(model, x_BT, y_BT):       # -log p(right character), [B, T]
        logp_BTV = jax.nn.log_softmax(model(x_BT).astype(jnp.float32), axis=-1)
        return -jnp.take_along_axis(logp_BTV, y_BT[..., None], axis=-1)[..., 0]

    results = {}
    for name, cfg in student_variants().items():
        run = train(cfg, data, progress=None)
        past_the_table(run.model, EVAL_LEN)
        nll = np.concatenate([np.asarray(nll_per_position(run.model, x_WT[i:i + 64], y_WT[i:i + 64]))
                              for i in range(0, EVAL_WINDOWS, 64)])
        results[name] = {"eval": run.history["eval"][-1], "loss": run.history["loss"],
                         "params": count_params(run.model),
                         "nll_by_position": nll.mean(0).tolist()}
    (out / "runs.json").write_text(json.dumps(results))


def past_the_table(model, length: int) -> None:
    """Let a learned-position model read `length` tokens by repeating its last row of positions.

    The library refuses sequences longer than the table (a ValueError); repeating row 63 is
    exactly what an unchecked lookup would do, since JAX clamps an index past an array's end.
    """
    import jax.numpy as jnp
    from flax import nnx

    if model.wpe_TD is None or model.cfg.context_len >= length:
        return
    table_TD = model.wpe_TD[...]
    extra = jnp.repeat(table_TD[-1:], length - table_TD.shape[0], axis=0)
    model.wpe_TD = nnx.Param(jnp.concatenate([table_TD, extra]))
    model.cfg = model.cfg.replace(context_len=length)


def student_runs() -> dict:
    """name -> final evaluation, per-step loss, parameter count, mean loss at each position."""
    variants = {name: cfg.to_json() for name, cfg in student_variants().items()}
    return _load(shared("arch-students", build=_build_students,
                        key_parts=_key_parts(json.dumps(variants), EVAL_LEN, EVAL_WINDOWS)))


# ----------------------------------------------------------------------------- norms
def _build_norms(out: Path) -> None:
    import jax
    import numpy as np

    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.data.batches import sample_batch
    from rawweights_jax.train.trainer import Trainer, init_state

    data = load_shakespeare()
    results = {}
    for lr in NORM_LRS:
        for name, change in NORMS.items():
            cfg = small_config().replace(lr=lr, min_lr=lr / 10, max_iters=NORM_STEPS,
                                         warmup_iters=NORM_WARMUP, **change)
            graphdef, state = init_state(cfg)
            trainer = Trainer(cfg, graphdef, data)
            # One fixed training batch: every probe measures the gradient on the same text.
            x_BT, y_BT = sample_batch(trainer.train_Z, jax.random.key(0), 32, cfg.model.context_len)
            grad = jax.jit(lambda p: jax.grad(trainer.loss)(p, x_BT, y_BT, None))
            losses, norms, probes = [], [], []
            for step in range(0, NORM_STEPS + 1, PROBE_EVERY):
                probes.append((step, _layer_grad_norms(grad(state.params), cfg.model.n_layers)))
                if step == NORM_STEPS:
                    break
                state, metrics = trainer.run_steps(state, trainer.train_Z, PROBE_EVERY)
                losses.extend(np.asarray(metrics["loss"]).tolist())
                norms.extend(np.asarray(metrics["grad_norm"]).tolist())
            results[f"{name} @ {lr:g}"] = {
                "name": name, "lr": lr, "loss": losses, "grad_norm": norms,
                "probe_steps": [s for s, _ in probes], "layer_grad_norms": [g for _, g in probes],
                "eval": trainer.evaluate(state)}
    (out / "runs.json").write_text(json.dumps(results))


def _layer_grad_norms(grads, n_layers: int) -> list[float]:
    """Gradient norm of each block's parameters (attention, MLP and norms of layer i)."""
    import jax
    import numpy as np

    squares = np.zeros(n_layers)
    for path, g in jax.tree_util.tree_flatten_with_path(grads)[0]:
        keys = [getattr(k, "key", None) for k in path]
        if keys[0] == "blocks":
            squares[int(keys[1])] += float((np.asarray(g) ** 2).sum())
    return np.sqrt(squares).tolist()


def norm_runs() -> dict:
    return _load(shared("arch-norms", build=_build_norms, key_parts=_key_parts(
        json.dumps(NORMS), NORM_LRS, NORM_STEPS, NORM_WARMUP, PROBE_EVERY,
        inspect.getsource(_layer_grad_norms))))
