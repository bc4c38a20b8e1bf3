"""The three models of the memory-budget page, each in a folder of its own (the server names a
model by its folder): the robot student (2000 steps), its step-300 snapshot (same shape, other
weights: a stand-in for a fine-tune) and a model twice as wide trained for a few steps, built
once per content hash (`rwsite.shared`).

A helper module (its name starts with `_`), not a snippet: snippets of this folder import it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from rwsite.shared import shared

from rawweights_jax.config import preset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "robot"))
from _student import student_dir  # noqa: E402

WIDE = preset("shakespeare-char-cpu").replace(d_model=256, n_heads=8, max_iters=40, warmup_iters=4,
                                              eval_interval=40, eval_iters=4)
NAMES = ("student", "student-early", "wide")


def _train_wide(out: Path) -> None:
    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.train.loop import train

    train(WIDE, load_shakespeare(), out_dir=out, progress=None)


def model_folders() -> dict[str, Path]:
    """Name -> a fresh temporary folder holding that model's checkpoint (a link)."""
    from rawweights_jax.data.shakespeare import SHAKESPEARE_SHA256

    student = student_dir()
    wide = shared("budget-wide", build=_train_wide, key_parts=[WIDE.to_json(), SHAKESPEARE_SHA256])
    files = {"student": student / "ckpt.safetensors",
             "student-early": student / "ckpt_step300.safetensors", "wide": wide / "ckpt.safetensors"}
    root = Path(tempfile.mkdtemp())
    for name, file in files.items():
        (root / name).mkdir()
        (root / name / "ckpt.safetensors").symlink_to(file)
    return {name: root / name for name in NAMES}


def footprint(folder: Path) -> int:
    """The bytes the server's pool counts for this model with its default settings."""
    from rawweights_jax.ckpt.checkpoint import load_model
    from rawweights_jax.serve.engine import Engine
    from rawweights_jax.serve.pool import engine_bytes

    model, tokenizer, _, _ = load_model(folder)
    return engine_bytes(Engine(model, tokenizer, slots=8, page_size=16))
