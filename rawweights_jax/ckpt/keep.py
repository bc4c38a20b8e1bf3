"""Which checkpoints a run keeps: the rolling `ckpt.safetensors`, the last N evaluations
(`ckpt_last_step{N}.safetensors`), and the best by validation loss (`ckpt_best.safetensors`).

A run that goes wrong late (a loss spike, divergence) leaves its rolling checkpoint at a
bad point; the last few and the best let it go back. Every file is written by
`checkpoint.save` (temporary name, then rename), and older ones are deleted only after the
new one is in place, so a run killed at any moment leaves at least N complete files.
"""

from __future__ import annotations

import re
from pathlib import Path

BEST = "ckpt_best.safetensors"
_LAST = re.compile(r"ckpt_last_step(\d+)\.safetensors")


def last_name(step: int) -> str:
    """The file name of the kept checkpoint of `step`."""
    return f"ckpt_last_step{step}.safetensors"


def kept_steps(folder: Path) -> list[int]:
    """Steps of the `ckpt_last_step{N}` files in `folder`, oldest first."""
    matches = (_LAST.fullmatch(p.name) for p in Path(folder).iterdir())
    return sorted(int(m.group(1)) for m in matches if m)


def prune_last(folder: Path, keep_last: int) -> list[int]:
    """Delete all but the newest `keep_last` `ckpt_last_step{N}` files; the deleted steps."""
    steps = kept_steps(folder)
    drop = steps[:max(len(steps) - keep_last, 0)]
    for step in drop:
        (Path(folder) / last_name(step)).unlink(missing_ok=True)
    return drop


def is_best(evals: list[dict], val_loss: float) -> bool:
    """Whether `val_loss` is lower than every earlier evaluation's in `evals` (the history's
    `eval` list, read back from the checkpoint on resume, so the best survives restarts)."""
    return all(val_loss < e["val_loss"] for e in evals)
