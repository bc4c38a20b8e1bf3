"""Fine-tuning the robot student into the agent.

The pretrained student knows Shakespeare's 65 characters; the vocabulary is extended with the
transcripts' digits, operators and brackets (new rows at the mean of the old ones, so old text
scores as before), then supervised fine-tuning grades only the characters the model writes:
the plan and the answer. One model learns both modes: with tools ("Q:": plan, then answer from
the results) and without ("D:": answer at once), the second being the "model alone" baseline
and the runtime's fallback.
"""

from __future__ import annotations

from typing import Callable

from rawweights_jax.agents.calls import AGENT_CHARS
from rawweights_jax.agents.tasks import make_tasks, training_arrays
from rawweights_jax.posttrain.chat import extend_vocab
from rawweights_jax.posttrain.sft import finetune


# --8<-- [start:recipe]
def train_agent(model, tokenizer, *, steps: int = 400, batch: int = 64, lr: float = 1e-3,
                n_train: int = 20_000, direct_share: float = 0.3, seed: int = 0,
                progress: Callable[[str], None] | None = None):
    """(model, tokenizer, history, training questions): the student fine-tuned on `n_train`
    tasks (a share `direct_share` of the arithmetic ones in the direct form)."""
    model, tokenizer = extend_vocab(model, tokenizer, AGENT_CHARS)
    tasks = make_tasks(n_train, seed)
    x_NT, y_NT, mask_NT = training_arrays(tasks, tokenizer, model.cfg.context_len,
                                          direct_share=direct_share, seed=seed)
    model, history = finetune(model, x_NT, y_NT, mask_NT, steps=steps, batch=batch, lr=lr,
                              seed=seed, progress=progress)
    return model, tokenizer, history, frozenset(t.question for t in tasks)
# --8<-- [end:recipe]
