"""The small students trained for the Architecture pages: positions, norms, MLPs.

Each experiment trains copies of one small model (4 layers of width 64: the
`shakespeare-char-cpu` preset shrunk), identical but for the part a page is about:

    student_runs()  positions (learned, sinusoidal, rope, none) and MLPs (GELU, SwiGLU at
                    equal parameter count), trained at context 64 for 400 steps; every run is
                    also scored position by position on validation sequences of 256 characters
    norm_runs()     pre-LN, post-LN, pre-RMSNorm, pre-RMSNorm + QK-norm, each at a calm and an
                    aggressive learning rate, with gradient norms per layer every 10 steps

This file is the recipe; the training is a benchmark, since each experiment needs about three
minutes of a 2-core CPU, more than the build budget gives a page: `python
benchmarks/arch_experiments.py students` (or `norms`) trains it and writes a result file
(device, date, command, commit, and the recipe it ran), committed and named below. The
readers refuse a file made from another recipe, so editing the recipe without re-running the
benchmark fails the build with the command to run.

A helper module (its name starts with `_`), not a snippet.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STUDENTS_RESULT = "benchmarks/results/arch-students-cpu-2026-12-03.json"
NORMS_RESULT = "benchmarks/results/arch-norms-cpu-2026-12-03.json"

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


def norm_variants() -> dict:
    """`<norm> @ <lr>` -> (norm name, peak learning rate, run config)."""
    return {f"{name} @ {lr:g}": (name, lr, small_config().replace(
                lr=lr, min_lr=lr / 10, max_iters=NORM_STEPS, warmup_iters=NORM_WARMUP, **change))
            for lr in NORM_LRS for name, change in NORMS.items()}


def students_recipe() -> dict:
    """Everything the students' result depends on besides the library (recorded in the file)."""
    from rawweights_jax.data.shakespeare import SHAKESPEARE_SHA256

    return {"variants": {name: cfg.to_json() for name, cfg in student_variants().items()},
            "eval_len": EVAL_LEN, "eval_windows": EVAL_WINDOWS, "data_sha256": SHAKESPEARE_SHA256}


def norms_recipe() -> dict:
    from rawweights_jax.data.shakespeare import SHAKESPEARE_SHA256

    return {"variants": {name: cfg.to_json() for name, (_, _, cfg) in norm_variants().items()},
            "probe_every": PROBE_EVERY, "data_sha256": SHAKESPEARE_SHA256}


def unigram_loss() -> float:
    """Validation loss of guessing by character frequency alone (the training split's counts)."""
    from rawweights_jax.data.baselines import ngram_nats
    from rawweights_jax.data.shakespeare import load_shakespeare

    data = load_shakespeare()
    return ngram_nats(data.train_Z, data.val_Z, data.tokenizer.vocab_size)


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


def load_result(path: str, experiment: str, recipe: dict) -> dict:
    """The committed result file at `path`, checked to be a full run of today's recipe."""
    result = json.loads((ROOT / path).read_text())
    if not _same_recipe(result.get("recipe"), recipe) or result.get("stop_after"):
        raise RuntimeError(
            f"{path} was not made by today's recipe in snippets/arch/_experiments.py (or is a partial "
            f"run): run `python benchmarks/arch_experiments.py {experiment}`, commit the file it writes "
            f"and name it in _experiments.py")
    return result


def _same_recipe(recorded, today: dict) -> bool:
    """Whether the file's recipe is today's. A config field added to the library after the file
    was made counts as the same recipe while it holds its default (the default keeps the old
    behaviour: a new field that changed a run would be a new recipe, and the file must be remade)."""
    if not isinstance(recorded, dict) or recorded.keys() != today.keys():
        return False
    if {k: v for k, v in recorded.items() if k != "variants"} != {k: v for k, v in today.items() if k != "variants"}:
        return False
    if recorded["variants"].keys() != today["variants"].keys():
        return False
    from rawweights_jax.config import ModelConfig, TrainConfig

    defaults = {section: {f.name: f.default for f in dataclasses.fields(cls)}
                for section, cls in (("model", ModelConfig), ("train", TrainConfig))}
    for name, text in today["variants"].items():
        old, new = json.loads(recorded["variants"][name]), json.loads(text)
        for section, fields in new.items():
            added = fields.keys() - old.get(section, {}).keys()
            if any(fields[k] != defaults.get(section, {}).get(k, dataclasses.MISSING) for k in added):
                return False
            if {k: v for k, v in fields.items() if k not in added} != old.get(section):
                return False
        if old.keys() != new.keys():
            return False
    return True


def made_by(path: str) -> str:
    """One line saying where the committed result file at `path` came from."""
    r = json.loads((ROOT / path).read_text())
    command = r["command"].split(" --note")[0]        # the note is about the machine's load
    return f"trained by `{command}` on {r['device']}, {r['date']}, library commit {r['commit']}"


def student_runs() -> dict:
    """name -> final evaluation, per-step loss, parameter count, mean loss at each position."""
    return load_result(STUDENTS_RESULT, "students", students_recipe())["runs"]


def norm_runs() -> dict:
    """`<norm> @ <lr>` -> losses, gradient norms (global per step, per layer every 10 steps), eval."""
    return load_result(NORMS_RESULT, "norms", norms_recipe())["runs"]
