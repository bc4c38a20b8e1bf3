"""The robot student every Robot Student page reads: trained once, reused everywhere.

`student_dir()` returns a folder holding the `shakespeare-char-cpu` preset trained for its
full 2000 steps on tiny Shakespeare, with snapshots saved along the way:

    ckpt.safetensors             the final model (step 2000)
    ckpt_step{50,300,1000}.safetensors
    history.json                 the run's metrics (per-step loss, evaluations, wall time)
    train_log.txt                what `train` printed

The folder comes from `rwsite.shared.shared`, so the run happens once per content hash (this
recipe, the library source, the data file's checksum) and every snippet that asks afterwards,
in this build or a later one, gets the same folder at once. A snippet that calls it may be the
one that trains, so its fence needs a long timeout (`timeout="900"`).

A helper module (its name starts with `_`), not a snippet: snippets of this folder import it.
"""

from __future__ import annotations

import json
from pathlib import Path

from rwsite.shared import shared

PRESET = "shakespeare-char-cpu"
SNAPSHOT_STEPS = (50, 300, 1000)


def _train(out: Path) -> None:
    """Train the preset into the empty folder `out` (called by `shared`, at most once)."""
    from rawweights_jax.config import preset
    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.train.loop import train

    cfg = preset(PRESET)
    log = []
    result = train(cfg, load_shakespeare(), out_dir=out, snapshot_steps=SNAPSHOT_STEPS,
                   progress=log.append)
    (out / "history.json").write_text(json.dumps(result.history))
    (out / "train_log.txt").write_text("\n".join(log) + "\n")


def student_dir() -> Path:
    """The folder of the trained student (trains it first if no build has yet)."""
    from rawweights_jax.config import preset
    from rawweights_jax.data.shakespeare import SHAKESPEARE_SHA256

    return shared("robot-student", build=_train,
                  key_parts=[PRESET, preset(PRESET).to_json(), SNAPSHOT_STEPS, SHAKESPEARE_SHA256])


def load_student(step: int | None = None):
    """(model, tokenizer, cfg, meta) of the final student, or of the snapshot at `step`."""
    from rawweights_jax.ckpt.checkpoint import load_model

    folder = student_dir()
    return load_model(folder if step is None else folder / f"ckpt_step{step}.safetensors")


def history() -> dict:
    """The training run's metrics, as `train` returned them."""
    return json.loads((student_dir() / "history.json").read_text())
