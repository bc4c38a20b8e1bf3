"""The fine-tuned student every Post-training page reads: fine-tuned once, reused everywhere.

`sft_dir()` returns a folder holding the robot student (snippets/robot/_student.py) after
supervised fine-tuning on the mixed graded tasks (rawweights_jax/posttrain/tasks.py) in the
chat template, with the recipe of the SFT part of `rawweights bench posttrain` (its steps,
batch, learning rate and examples), so the page's live model is the benchmark's `sft` model:

    ckpt.safetensors    the fine-tuned model, its extended vocabulary and tokenizer
    history.json        the masked loss every 25 steps, the recipe, the wall time

The folder comes from `rwsite.shared.shared`: the fine-tuning runs once per content hash (this
recipe, the library source, the student) and every snippet asking afterwards gets the folder at
once. A snippet that calls it may be the one that trains (and, on a cold cache, the student
too), so its fence needs a long timeout (`timeout="900"`).

A helper module (its name starts with `_`), not a snippet: snippets of this folder import it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "robot"))

from _student import student_dir  # noqa: E402

from rawweights_jax.bench.posttrain_sft import BATCH, LR, N_TRAIN, STEPS  # noqa: E402
from rwsite.shared import shared  # noqa: E402

SEED = 0


def _finetune(out: Path) -> None:
    """Fine-tune the student into the empty folder `out` (called by `shared`, at most once)."""
    from rawweights_jax.ckpt.checkpoint import load_model
    from rawweights_jax.posttrain import chat, sft, tasks

    model, tok, _, _ = load_model(student_dir())
    model, tok = chat.extend_vocab(model, tok)
    train = [(p, a) for _, p, a in tasks.mixed(N_TRAIN, SEED, "train")]
    t0 = time.perf_counter()
    tuned, history = sft.finetune(model, *chat.encode_batch(tok, train, model.cfg.context_len),
                                  steps=STEPS, batch=BATCH, lr=LR, seed=SEED, log_every=25)
    history.update(steps=STEPS, batch=BATCH, lr=LR, examples=len(train),
                   seconds=round(time.perf_counter() - t0, 1))
    sft.save_model(out / "ckpt.safetensors", tuned, tok, history, step=STEPS)
    (out / "history.json").write_text(json.dumps(history))


def sft_dir() -> Path:
    """The folder of the fine-tuned student (fine-tunes it first if no build has yet)."""
    return shared("sft-student", build=_finetune,
                  key_parts=[STEPS, BATCH, LR, N_TRAIN, SEED, student_dir().name])


def load_sft():
    """(model, tokenizer, cfg, meta) of the fine-tuned student."""
    from rawweights_jax.ckpt.checkpoint import load_model

    return load_model(sft_dir())


def history() -> dict:
    """The fine-tuning's masked-loss curve and recipe."""
    return json.loads((sft_dir() / "history.json").read_text())
