"""`rawweights bench posttrain --parts grpo`: RL with a grader, against more SFT at equal compute.

Starting from the fine-tuned student (bench/posttrain_sft.py), GRPO (posttrain/grpo_loop.py)
trains on one graded task where the student is still imperfect, for a few seeds: the mean
reward of its sampled answers, their KL to the SFT model and their length, step by step. Then
the same SFT model is fine-tuned further on worked examples of the same task with the same
compute, counted in token passes (posttrain/grpo.py `token_passes`: forward 1, backward 2 per
token position; GRPO pays for sampling, the reference's forward pass and its own forward and
backward pass, SFT only for forward and backward). Both are graded greedily on held-out prompts.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from rawweights_jax.posttrain.chat import encode_batch, render
from rawweights_jax.posttrain.grpo import token_passes
from rawweights_jax.posttrain.grpo_loop import GRPOConfig, grpo_train
from rawweights_jax.posttrain.sft import finetune, greedy_answers
from rawweights_jax.posttrain.tasks import task

# The graded task GRPO trains on: `reverse`, where the SFT student is right about half the time
# and its answers are several characters long. On `count` (answers skewed towards "1") GRPO
# only made the student surer of the majority answer (posttrain-grpo-count-cpu-*.json).
TASK = "reverse"
CONFIG = GRPOConfig(steps=100, prompts=16, group=8, lr=1e-4, beta=0.04)   # max_new: the task's
SEEDS = 3
SFT_BATCH, SFT_LR = 64, 3e-4    # the "more SFT" baseline's recipe
N_TRAIN, N_TEST = 1024, 300     # prompts GRPO draws from; held-out prompts graded


def accuracy(model, tok, examples, max_new: int, task_name: str = TASK) -> float:
    """Share of held-out prompts the model answers right, greedily."""
    graded = task(task_name)
    answers = greedy_answers(model, tok, [p for p, _ in examples], max_new)
    return float(np.mean([graded.grade(p, a) for (p, _), a in zip(examples, answers)]))


def sft_more(model, tok, train, budget: int, seed: int, ctx: int):
    """(model, steps): further SFT on worked examples, as many steps as `budget` token passes buy."""
    x_NT, y_NT, mask_NT = encode_batch(tok, train, ctx)
    per_step = token_passes(sampled=0, forward=0, trained=SFT_BATCH * x_NT.shape[1])
    steps = max(1, budget // per_step)
    tuned, _ = finetune(model, x_NT, y_NT, mask_NT, steps=steps, batch=SFT_BATCH, lr=SFT_LR, seed=seed)
    return tuned, steps


def run_grpo(sft_model, tok, *, seed: int = 0, progress: Callable[[str], None] | None = None,
             cfg: GRPOConfig = CONFIG, seeds: int = SEEDS, n_test: int = N_TEST,
             task_name: str = TASK) -> dict:
    """GRPO from `sft_model` on `task_name` for `seeds` seeds, and more SFT at the same compute."""
    say = progress or (lambda _: None)
    start = time.perf_counter()
    graded = task(task_name)
    train = graded.make(N_TRAIN, seed, "train")
    test = graded.make(n_test, seed, "test")
    prompts = [tok.encode(render(p)) for p, _ in train]
    end_id = tok.encode(render("", "")[-1])[0]
    # the answer as text (end marker included): the task's grader reads up to the marker
    reward = lambda i, toks: float(graded.grade(train[i][0], tok.decode(toks)))
    max_new = graded.max_answer           # characters of the longest answer, end marker included
    cfg = cfg.replace(max_new=max_new)
    initial = accuracy(sft_model, tok, test, max_new, task_name)
    say(f"grpo: {task_name}, SFT student answers {initial:.1%} of {n_test} held-out prompts greedily")
    curves, grpo_acc, more_acc, more_steps, passes = {}, [], [], [], []
    for s in range(seeds):
        run_seed = seed + s
        tuned, h = grpo_train(sft_model, prompts, reward, end_id=end_id, vocab=tok.vocab_size,
                              cfg=cfg, seed=run_seed, progress=progress)
        curves[str(run_seed)] = {k: [round(v, 5) for v in h[k]] for k in ("reward", "kl", "length")}
        grpo_acc.append(accuracy(tuned, tok, test, max_new, task_name))
        passes.append(h["token_passes"][-1])
        more, steps = sft_more(sft_model, tok, train, passes[-1], run_seed, sft_model.cfg.context_len)
        more_acc.append(accuracy(more, tok, test, max_new, task_name))
        more_steps.append(steps)
        say(f"grpo seed {run_seed}: held-out accuracy {grpo_acc[-1]:.1%} after GRPO, "
            f"{more_acc[-1]:.1%} after {steps} more SFT steps at the same compute")
    head = lambda k: float(np.mean([c[k][0] for c in curves.values()]))
    tail = lambda k: float(np.mean([np.mean(c[k][-5:]) for c in curves.values()]))
    return {
        "grpo_task": task_name,
        "grpo_config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        "grpo_seeds": [seed + s for s in range(seeds)],
        "grpo_initial_reward": round(head("reward"), 4),      # sampled answers, first step
        "grpo_final_reward": round(tail("reward"), 4),        # mean of the last 5 steps
        "grpo_final_reward_by_seed": [round(float(np.mean(c["reward"][-5:])), 4) for c in curves.values()],
        "grpo_kl": round(tail("kl"), 5),
        "grpo_initial_length": round(head("length"), 3),
        "grpo_final_length": round(tail("length"), 3),
        "grpo_initial_accuracy": round(initial, 4),           # greedy, held-out
        "grpo_accuracy": round(float(np.mean(grpo_acc)), 4),
        "grpo_accuracy_by_seed": [round(a, 4) for a in grpo_acc],
        "sft_more_accuracy": round(float(np.mean(more_acc)), 4),
        "sft_more_accuracy_by_seed": [round(a, 4) for a in more_acc],
        "sft_more_steps": more_steps,
        "sft_more_batch": SFT_BATCH,
        "grpo_token_passes": int(np.mean(passes)),
        "grpo_test_prompts": n_test,
        "grpo_curves": curves,
        "grpo_seconds": round(time.perf_counter() - start, 1),
    }
