"""`rawweights bench posttrain`: supervised fine-tuning, preference optimisation and RL from a
grader, measured on the robot student.

The parts run in order on one student: `sft` fine-tunes the pretrained model on the graded
tasks (bench/posttrain_sft.py) and hands its fine-tuned model to the later parts, which start
from it (DPO, GRPO). `--parts` picks the parts whose figures are reported; SFT runs whenever a
later part needs its model. The base is a checkpoint (`--base DIR`) or, by default, the
`shakespeare-char-cpu` preset trained here on tiny Shakespeare (kept in `--out` and reused).
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path
from typing import Callable

from rawweights_jax.bench.common import environment
from rawweights_jax.bench.posttrain_sft import run_sft
from rawweights_jax.ckpt.checkpoint import LATEST, load_model

PRESET = "shakespeare-char-cpu"

# name -> (module, function) of each part after SFT: run(sft_model, tok, *, seed, progress) -> dict,
# e.g. "dpo": ("rawweights_jax.bench.posttrain_dpo", "run_dpo"). Imported only when asked for.
PARTS: dict[str, tuple[str, str]] = {
    "dpo": ("rawweights_jax.bench.posttrain_dpo", "run_dpo"),
    "grpo": ("rawweights_jax.bench.posttrain_grpo", "run_grpo"),
}


def part_names() -> tuple[str, ...]:
    return ("sft", *PARTS)


def base_model(base: Path | None, out: Path, steps: int | None, say: Callable[[str], None]):
    """(model, tokenizer, where it came from): `base` loaded, or the preset trained into `out`."""
    if base is not None:
        model, tok, _, _ = load_model(base)
        return model, tok, str(base)
    from rawweights_jax.config import preset
    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.train.loop import train

    run = preset(PRESET)
    if steps is not None:
        run = run.replace(max_iters=steps, warmup_iters=min(run.train.warmup_iters, steps))
    folder = out / f"base-{PRESET}-{run.train.max_iters}"
    if not (folder / LATEST).is_file():
        say(f"posttrain: training the base model ({PRESET}, {run.train.max_iters} steps) into {folder}")
        train(run, load_shakespeare(), out_dir=folder, progress=say, log_interval=100)
    model, tok, _, _ = load_model(folder)
    return model, tok, f"{PRESET} trained {run.train.max_iters} steps"


def bench_posttrain(parts=("sft",), base: Path | None = None, seed: int = 0, *,
                    out: Path = Path("out/bench-posttrain"), base_steps: int | None = None,
                    quiet: bool = False, sft_options: dict | None = None) -> dict:
    """Run the chosen parts; one dict of their figures (each part's keys, prefixed by it)."""
    unknown = [p for p in parts if p not in part_names()]
    if unknown or not parts:
        raise ValueError(f"--parts {','.join(parts)!r}: expected some of {', '.join(part_names())}")
    say = (lambda line: print(line, file=sys.stderr)) if quiet else print
    model, tok, source = base_model(base, out, base_steps, say)
    result: dict = {"benchmark": "posttrain", "parts": list(parts), "base": source, "seed": seed,
                    **environment()}
    t0 = time.perf_counter()
    # the comparison runs (from scratch, loss on every character) only when SFT's figures are asked for
    sft_model, tok, sft_result = run_sft(model, tok, seed=seed, progress=say, compare="sft" in parts,
                                         **(sft_options or {}))
    result["seconds_sft"] = round(time.perf_counter() - t0, 1)
    if "sft" in parts:
        result.update(sft_result)
    for name in parts:
        if name == "sft":
            continue
        module, function = PARTS[name]
        run = getattr(importlib.import_module(module), function)
        t0 = time.perf_counter()
        result.update(run(sft_model, tok, seed=seed, progress=say))
        result[f"seconds_{name}"] = round(time.perf_counter() - t0, 1)
    return result
