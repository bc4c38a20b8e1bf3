"""The chat template: how a question and its answer are written as one string of characters,
which of those characters the student is graded on, and the new characters it must learn.

Pretraining taught the robot student to continue Shakespeare. To teach it a new form of
exercise, every example is written in one fixed frame,

    «prompt»answer¶

with three marker characters that never occur in the play: `«` opens the question, `»`
hands the turn to the student, `¶` says the answer is finished (so a decoder knows where to
stop). At inference the student is given `«prompt»` and writes the rest.

The loss mask marks the positions whose *target* is an answer character or the end marker:
the student is graded on what it answers, not on reproducing the question (InstructGPT,
Ouyang et al. 2022, fine-tunes on the labeller's demonstration given the prompt).

Tiny Shakespeare has no digit but `3` and none of `+*=<>[]{}|#@/`, so post-training adds
characters. `extend_vocab` appends embedding rows (and output rows when untied) set to the
mean of the old rows, as Hewitt (2021, "Initializing new word embeddings for pretrained
language models") suggests: a new character starts as an "average" character, and every old
character keeps its id and its weights, so old text gets the very same logits as before.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import nnx

from rawweights_jax.data.tokenizer import CharTokenizer

PROMPT, TURN, END = "«", "»", "¶"
"""The template's markers: the question opens, the student's turn, the answer ends."""

# --8<-- [start:extra_chars]
EXTRA_CHARS = "0123456789+-*/=<>()[]{}|#@%^_~" + PROMPT + TURN + END
"""Every character post-training may need: digits, operators and brackets (arithmetic, tool
calls), and the template's markers. `extend_vocab` adds only those a tokenizer lacks."""
# --8<-- [end:extra_chars]


# --8<-- [start:extend_vocab]
def extend_vocab(model, tokenizer: CharTokenizer, new_chars: str = EXTRA_CHARS):
    """(model, tokenizer) that also know `new_chars` (those already known are skipped).

    New ids come after the old ones, so old text encodes to the same ids; the new embedding
    rows (and output-head columns, when the head is untied) are the mean of the old ones. The
    model returned is a new one: `model` itself is left untouched.
    """
    if not isinstance(tokenizer, CharTokenizer):
        raise TypeError(f"extend_vocab needs a character tokenizer, got {type(tokenizer).__name__}")
    added = "".join(dict.fromkeys(c for c in new_chars if c not in tokenizer.index))
    old_v, model_v = tokenizer.vocab_size, model.cfg.vocab_size
    if old_v != model_v:
        # a padded vocabulary's spare rows would take the new ids: refuse rather than guess
        raise ValueError(f"the model has {model_v} vocabulary rows but the tokenizer {old_v} "
                         "characters: extend_vocab expects them equal")
    model = nnx.clone(model)
    if not added:
        return model, tokenizer
    n = len(added)
    wte_VD = model.wte_VD[...]
    model.wte_VD = nnx.Param(jnp.concatenate([wte_VD, jnp.repeat(wte_VD.mean(0, keepdims=True), n, 0)]))
    if model.lm_head_DV is not None:
        head_DV = model.lm_head_DV[...]
        model.lm_head_DV = nnx.Param(
            jnp.concatenate([head_DV, jnp.repeat(head_DV.mean(1, keepdims=True), n, 1)], 1))
    model.cfg = model.cfg.replace(vocab_size=model_v + n)
    return model, CharTokenizer(tokenizer.chars + added)
# --8<-- [end:extend_vocab]


# --8<-- [start:template]
def render(prompt: str, answer: str | None = None) -> str:
    """The example as the student sees it: `«prompt»answer¶`, or `«prompt»` to answer."""
    for name, text in (("prompt", prompt), ("answer", answer or "")):
        marker = next((c for c in text if c in PROMPT + TURN + END), None)
        if marker is not None:
            raise ValueError(f"the {name} {text!r} holds the template marker {marker!r}")
    head = PROMPT + prompt + TURN
    return head if answer is None else head + answer + END


def encode(tokenizer, prompt: str, answer: str, ctx: int, *, loss_on: str = "answer"):
    """(tokens_T, loss_mask_T), both of length `ctx`: the rendered example's ids, padded with
    the end marker, and True where the next character (the target) is graded.

    `loss_on="answer"` grades the answer and the end marker only; `"all"` every real
    character after the first (plain language modelling of the whole example). Feed
    `tokens_T[:-1]` and predict `tokens_T[1:]` with `loss_mask_T[:-1]`.
    """
    if loss_on not in ("answer", "all"):
        raise ValueError(f"loss_on={loss_on!r} is invalid: expected 'answer' or 'all'")
    text = render(prompt, answer)
    if len(text) > ctx:
        raise ValueError(f"the example {text!r} has {len(text)} characters, more than the "
                         f"context of {ctx}: shorten the prompt or the answer")
    ids = tokenizer.encode(text)
    tokens_T = np.full(ctx, tokenizer.encode(END)[0], np.int32)
    tokens_T[:len(ids)] = ids
    first = 1 if loss_on == "all" else len(prompt) + 2     # the first graded character
    target_T = np.arange(ctx) + 1                          # position t predicts character t+1
    loss_mask_T = (target_T >= first) & (target_T < len(ids))
    return tokens_T, loss_mask_T
# --8<-- [end:template]


def encode_batch(tokenizer, examples, ctx: int, *, loss_on: str = "answer"):
    """(x_NT, y_NT, mask_NT) for a list of (prompt, answer), cut to the longest example:
    inputs, next-character targets, and which targets are graded."""
    if not examples:
        raise ValueError("no examples given")
    rows = [encode(tokenizer, p, a, ctx, loss_on=loss_on) for p, a in examples]
    tokens_NT = np.stack([t for t, _ in rows])
    mask_NT = np.stack([m for _, m in rows])
    width = max(len(render(p, a)) for p, a in examples)
    return tokens_NT[:, :width - 1], tokens_NT[:, 1:width], mask_NT[:, :width - 1]


def answer_of(completion: str) -> str:
    """What the student answered: its text up to the end marker (all of it if it never ended)."""
    return completion.split(END, 1)[0]
