"""What the raw-weights pages share: the robot student at every step it was saved, a fixed batch
of unseen text, and the colours of its five kinds of character.

The student (`snippets/robot/_student.py`, a shared result trained once per content hash) keeps
snapshots at steps 50, 300 and 1000 beside its final weights at step 2000. Step 0 is not saved,
and needs no saving: `init_model(run.model, run.train.seed)` draws exactly the weights the run
started from (train/trainer.py `init_state` draws them the same way). So the pages read five
points of one run without training anything again.

A helper module (its name starts with `_`), not a snippet: snippets of this folder import it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from rawweights_jax.analysis.weights import CHAR_CLASSES
from rawweights_jax.data.batches import spaced_windows
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.model.gpt import init_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "robot"))
from _student import SNAPSHOT_STEPS, history, load_student  # noqa: E402,F401  (the robot student, a shared result)


def snapshots() -> tuple[dict, object, object]:
    """({step: model} for step 0, the saved snapshots and the last step; tokenizer; run)."""
    final, tok, run, _ = load_student()
    models = {0: init_model(run.model, run.train.seed)}
    models.update({step: load_student(step)[0] for step in SNAPSHOT_STEPS})
    models[run.train.max_iters] = final
    return models, tok, run


def val_batch(context: int, count: int = 32):
    """(tokens_BT, targets_BT): `count` windows spread evenly over the validation split, which
    the student never trained on; the same ones on every call."""
    return spaced_windows(load_shakespeare().val_Z, context, count)


def shown(c: str) -> str:
    """A character as a label: visible space and line break."""
    return {" ": "␣", "\n": "↵"}.get(c, c)


CLASS_COLOURS = {kind: f"C{i}" for i, kind in enumerate(CHAR_CLASSES)}


def ranks(x) -> np.ndarray:
    """0-based ranks of x (for a Spearman correlation)."""
    return np.argsort(np.argsort(np.asarray(x)))
