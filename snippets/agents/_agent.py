"""The agent every Agents page reads: the robot student fine-tuned to plan tool calls and
answer from their results (rawweights_jax/agents/train.py), trained once and reused.

`agent_dir()` returns a folder holding the fine-tuned model as a checkpoint (`ckpt.safetensors`,
read by `load_model`) and `history.json` (the masked loss during fine-tuning). It comes from
`rwsite.shared.shared`, so it is trained once per content hash (this recipe, the library
source, the student's own key) and every snippet that asks afterwards gets the same folder.
The fine-tune here is shorter than the benchmark's (`rawweights bench agent`: 400 steps of
64 transcripts) to fit the site's build budget; the page's measured figures are the benchmark's.

A helper module (its name starts with `_`), not a snippet: snippets of this folder import it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rwsite.shared import shared

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "robot"))
from _student import load_student, student_dir  # noqa: E402  (the robot student, a shared result)

RECIPE = {"steps": 200, "batch": 32, "lr": 2e-3, "n_train": 20_000, "direct_share": 0.3, "seed": 0}


def _train(out: Path) -> None:
    """Fine-tune the student into the agent and save it in the empty folder `out`."""
    import jax

    from rawweights_jax.agents.train import train_agent
    from rawweights_jax.ckpt.checkpoint import save
    from flax import nnx

    model, tok, run, _ = load_student()
    model, tok, history, _ = train_agent(model, tok, **RECIPE)
    save(out / "ckpt.safetensors", run.replace(vocab_size=model.cfg.vocab_size),
         nnx.state(model, nnx.Param), {}, RECIPE["steps"], jax.random.PRNGKey(0), tok)
    (out / "history.json").write_text(json.dumps(history))


def agent_dir() -> Path:
    """The folder of the fine-tuned agent (fine-tunes it first if no build has yet)."""
    return shared("agent-model", build=_train, key_parts=[RECIPE, student_dir().name])


def load_agent():
    """An `Agent` (rawweights_jax/agents/runtime.py) around the fine-tuned model."""
    from rawweights_jax.agents.runtime import Agent
    from rawweights_jax.ckpt.checkpoint import load_model

    model, tok, _, _ = load_model(agent_dir())
    return Agent(model, tok)
