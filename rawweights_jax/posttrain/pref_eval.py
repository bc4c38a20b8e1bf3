"""What preference training bought and what it cost: accuracy, margin, greedy answers, KL.

- *Preference accuracy* (held-out): the fraction of pairs whose chosen answer gets the larger
  implicit reward (dpo.py). For DPO the reward is the log-ratio to the reference, so before any
  step every reward is 0 and the accuracy 0: it measures what training changed. The
  *likelihood accuracy* (log pi(chosen) > log pi(rejected)) is the same question asked of the
  model alone; the reference's value of it is where the policy started.
- *Greedy accuracy*: the model answers each held-out prompt itself (greedy decoding) and the
  task's grader marks it. Ranking two given answers and writing the right one are different
  skills; this is the second.
- *KL to the reference*, KL(pi || ref) = E_{y ~ pi}[log pi(y|x) - log ref(y|x)]: sampled, not
  computed, since answers are sequences. The policy answers each held-out prompt at
  temperature 1, and the mean over samples of the summed log-ratio of its answer (up to and
  including the end marker) estimates the KL per answer in nats. It is what beta prices.
"""

from __future__ import annotations

import numpy as np

from rawweights_jax.inference.generate import generate
from rawweights_jax.posttrain import tasks as task_registry
from rawweights_jax.posttrain.chat import END, render
from rawweights_jax.posttrain.pairs import Pair, PairArrays
from rawweights_jax.posttrain.sft import greedy_answers
from rawweights_jax.posttrain.preference import (PrefConfig, pair_logps, preference_loss,
                                                 sequence_logps)


def preference_metrics(policy, arrays: PairArrays, ref_logps, cfg: PrefConfig) -> dict:
    """Held-out preference accuracy, mean reward margin and likelihood accuracy of `policy`
    on `arrays`, against the reference's `pair_logps` (computed once by the caller)."""
    pol = pair_logps(policy, arrays)
    out = preference_loss(cfg, pol, ref_logps)
    return {"loss": float(out.loss), "accuracy": float(out.accuracy),
            "margin": float(np.mean(out.margin_B)),
            "likelihood_accuracy": float(np.mean(pol[0] > pol[1]))}


def _answers(model, tokenizer, prompts: list[str], max_new: int, temperature: float, seed: int):
    """Each prompt's answer tokens, cut after the end marker (kept) when the model wrote one."""
    rows = [tokenizer.encode(render(p)) for p in prompts]
    new = generate(model, rows, max_new, temperature=temperature, seed=seed,
                   vocab=tokenizer.vocab_size)
    end = tokenizer.encode(END)[0]
    return rows, [toks[:toks.index(end) + 1] if end in toks else toks for toks in new]


def greedy_accuracy(model, tokenizer, pairs: list[Pair], max_new: int = 12) -> float | None:
    """Fraction of the pairs' prompts the model answers right by itself (greedy decoding);
    only pairs of graded tasks count (a line's continuation has no single right answer), and
    with none of them there is no accuracy (None)."""
    pairs = [p for p in pairs if p.task in task_registry.TASKS]
    if not pairs:
        return None
    answers = greedy_answers(model, tokenizer, [p.prompt for p in pairs], max_new)
    return float(np.mean([task_registry.task(p.task).grade(p.prompt, a) for p, a in zip(pairs, answers)]))


def _answer_logps(model, prompts_ids, answers_ids, width: int) -> np.ndarray:
    """Summed log-prob of each answer given its prompt (rows right-padded to `width`)."""
    N = len(prompts_ids)
    x_NT = np.zeros((N, width - 1), np.int32)
    y_NT = np.zeros((N, width - 1), np.int32)
    m_NT = np.zeros((N, width - 1), bool)
    for i, (p, a) in enumerate(zip(prompts_ids, answers_ids)):
        ids = p + a
        x_NT[i, :len(ids) - 1], y_NT[i, :len(ids) - 1] = ids[:-1], ids[1:]
        m_NT[i, len(p) - 1:len(ids) - 1] = True     # targets that are answer tokens
    return np.asarray(sequence_logps(model, x_NT, y_NT, m_NT)[0])


def sampled_kl(policy, reference, tokenizer, prompts: list[str], *, samples: int = 2,
               max_new: int = 24, seed: int = 0) -> float:
    """Monte-Carlo KL(policy || reference) per answer, in nats: `samples` answers per prompt
    drawn from the policy at temperature 1, mean of log pi - log ref over all of them."""
    ctx = policy.cfg.context_len
    longest = max(len(render(p)) for p in prompts)
    max_new = min(max_new, ctx - longest)
    if max_new < 1:
        raise ValueError(f"a prompt of {longest} characters leaves no room in the context of {ctx}")
    rows, answers = [], []
    for k in range(samples):
        r, a = _answers(policy, tokenizer, prompts, max_new, 1.0, seed + k)
        rows += r
        answers += a
    width = max(len(r) + len(a) for r, a in zip(rows, answers))
    log_ratio = (_answer_logps(policy, rows, answers, width)
                 - _answer_logps(reference, rows, answers, width))
    return float(np.mean(log_ratio))
