"""The SFT part of `rawweights bench posttrain`: what pretraining buys a fine-tuned student.

One mixed instruction set (the graded tasks of posttrain/tasks.py, written in the chat
template) trains three models for the same steps, batch and learning rate:

- `sft`: the pretrained student, its vocabulary extended, loss on answer characters only;
- `scratch`: the same architecture (extended vocabulary) from random weights, same loss;
- `all_chars`: the pretrained student again, loss on every character of the example (the
  question too), as plain language modelling of the transcripts would do.

Each is graded on held-out prompts of every task (greedy decoding, the task's own grader), and
its answer-only loss on those prompts is reported, so the three are compared on one scale.
"""

from __future__ import annotations

import time
from typing import Callable

import jax.numpy as jnp
import numpy as np

from rawweights_jax.model.gpt import init_model
from rawweights_jax.posttrain import chat, sft, tasks

STEPS, BATCH, LR = 500, 32, 1e-3
N_TRAIN, N_TEST = 2000, 100          # examples per task
LOG_EVERY = 25


def evaluate(model, tok, names, n_test: int, seed: int) -> dict:
    """{task: {"accuracy", "test_loss", "examples"}} on held-out prompts, greedy answers."""
    ctx = model.cfg.context_len
    out = {}
    for name in names:
        task = tasks.task(name)
        test = task.make(n_test, seed, "test")
        answers = sft.greedy_answers(model, tok, [p for p, _ in test], task.max_answer)
        x_NT, y_NT, mask_NT = chat.encode_batch(tok, test, ctx)
        loss = sft.masked_loss(model, jnp.asarray(x_NT), jnp.asarray(y_NT), jnp.asarray(mask_NT))
        out[name] = {"accuracy": float(np.mean([task.grade(p, a) for (p, _), a in zip(test, answers)])),
                     "test_loss": round(float(loss), 4),
                     "examples": [{"prompt": p, "answer": a, "completion": c}
                                  for (p, a), c in list(zip(test, answers))[:4]]}
    return out


def run_sft(base_model, tok, *, seed: int = 0, progress: Callable[[str], None] | None = None,
            steps: int = STEPS, batch: int = BATCH, lr: float = LR, n_train: int = N_TRAIN,
            n_test: int = N_TEST, names=tuple(tasks.TASKS), compare: bool = True):
    """(the fine-tuned student, its tokenizer, the results dict) of the SFT comparison.

    `compare=False` fine-tunes the student alone (no from-scratch and all-characters runs) and
    returns an empty dict: what DPO and GRPO need to start from, at a third of the cost."""
    say = progress or (lambda _: None)
    model, tok = chat.extend_vocab(base_model, tok)
    ctx = model.cfg.context_len
    train = [(p, a) for _, p, a in tasks.mixed(n_train, seed, "train", names)]
    data = {loss_on: chat.encode_batch(tok, train, ctx, loss_on=loss_on) for loss_on in ("answer", "all")}
    starts = {"sft": (model, "answer"), "scratch": (init_model(model.cfg, seed), "answer"),
              "all_chars": (model, "all")}
    if not compare:
        starts = {"sft": starts["sft"]}
    runs, tuned_models = {}, {}
    for name, (start, loss_on) in starts.items():
        say(f"posttrain sft: fine-tuning {name} ({steps} steps of {batch}, loss on {loss_on})")
        t0 = time.perf_counter()
        tuned, history = sft.finetune(start, *data[loss_on], steps=steps, batch=batch, lr=lr,
                                      seed=seed, progress=say, log_every=LOG_EVERY)
        seconds = time.perf_counter() - t0
        per_task = evaluate(tuned, tok, names, n_test, seed)
        runs[name] = {"loss_on": loss_on, "curve": history, "seconds": round(seconds, 1),
                      "task_accuracy": float(np.mean([r["accuracy"] for r in per_task.values()])),
                      "tasks": per_task}
        tuned_models[name] = tuned
        say(f"posttrain sft: {name}: mean held-out accuracy {runs[name]['task_accuracy']:.2f} "
            f"({seconds:.0f} s)")
    if not compare:
        return tuned_models["sft"], tok, {}
    results = {
        "sft_task_accuracy": runs["sft"]["task_accuracy"],
        "scratch_task_accuracy": runs["scratch"]["task_accuracy"],
        "all_chars_task_accuracy": runs["all_chars"]["task_accuracy"],
        **{f"sft_{n}_accuracy": runs["sft"]["tasks"][n]["accuracy"] for n in names},
        **{f"scratch_{n}_accuracy": runs["scratch"]["tasks"][n]["accuracy"] for n in names},
        "tasks": list(names), "steps": steps, "batch": batch, "lr": lr,
        "train_examples": len(train), "test_examples_per_task": n_test,
        "vocab_added": tok.chars[base_model.cfg.vocab_size:], "runs": runs,
    }
    return tuned_models["sft"], tok, results
