"""The preference part of `rawweights bench posttrain`: DPO at four betas and SimPO, measured.

Starting from the fine-tuned (SFT) student, each run trains on the same preference pairs
(posttrain/pairs.py: near misses of graded tasks, and lines of the play against their words
shuffled) and is measured on held-out pairs whose prompts training never saw: preference
accuracy and reward margin eight times a run, and at the end the KL to the SFT model
(sampled), the likelihood accuracy and the greedy task accuracy (posttrain/pref_eval.py). The headline DPO figures are those of beta = 0.1, the value
Rafailov et al. (2023) use for most of their experiments; the sweep shows what beta trades.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from rawweights_jax.posttrain.pairs import encode_pairs, train_and_heldout
from rawweights_jax.posttrain.pref_eval import greedy_accuracy, preference_metrics, sampled_kl
from rawweights_jax.posttrain.preference import PrefConfig, pair_logps, train_preferences
from rawweights_jax.posttrain.pairs import ORDER

BETAS = (0.03, 0.1, 0.3, 1.0)
HEADLINE_BETA = 0.1
SIMPO = dict(beta=2.0, gamma=1.0)   # Meng et al. 2024 tune beta in [2, 10], gamma/beta ~ 0.5
STEPS, BATCH, LR = 150, 32, 1e-4
N_TRAIN, N_HELDOUT = 512, 96         # pairs per kind
# The kinds whose preference the SFT student can learn to see: it reverses words and counts
# letters well, and knows the play's word order. It cannot add three-digit numbers nor tell
# the speakers apart (its SFT accuracy on those is low), so a near miss there asks for
# knowledge it lacks: those pairs get one run of their own, reported apart.
KINDS = ("reverse", "count", ORDER)
HARD_KINDS = ("add3", "speaker")
KL_PROMPTS, KL_SAMPLES = 128, 2      # held-out prompts and answers per prompt for the KL


def _run(sft_model, tok, train, heldout, arrays, ref_heldout, cfg: PrefConfig, *, progress) -> dict:
    """One preference run: its curve (held-out accuracy, margin over steps) and end point."""
    t0 = time.perf_counter()
    evaluate = lambda step, policy: preference_metrics(policy, arrays[1], ref_heldout, cfg)
    policy, history = train_preferences(sft_model, arrays[0], cfg, evaluate=evaluate,
                                        eval_every=max(1, cfg.steps // 8), progress=progress)
    end = history[-1]
    prompts = [p.prompt for p in heldout[:: max(1, len(heldout) // KL_PROMPTS)]][:KL_PROMPTS]
    per_task = {}
    for name in dict.fromkeys(p.task for p in heldout):
        rows = [i for i, p in enumerate(heldout) if p.task == name]
        sub = type(arrays[1])(*(a[rows] for a in arrays[1]))
        ref_sub = tuple(r[rows] for r in ref_heldout)
        per_task[name] = preference_metrics(policy, sub, ref_sub, cfg)["accuracy"]
    return {
        "loss": cfg.loss, "beta": cfg.beta, "gamma": cfg.gamma,
        "preference_accuracy": end["accuracy"], "reward_margin": end["margin"],
        "likelihood_accuracy": end["likelihood_accuracy"],
        "preference_accuracy_per_task": per_task,
        "kl": sampled_kl(policy, sft_model, tok, prompts, samples=KL_SAMPLES, seed=cfg.seed),
        "greedy_accuracy": greedy_accuracy(policy, tok, heldout),
        "curve": [{k: r[k] for k in ("step", "accuracy", "margin", "loss") if k in r} | (
            {"train_loss": r["train_loss"]} if "train_loss" in r else {}) for r in history],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def run_dpo(sft_model, tok, *, seed: int = 0, progress: Callable[[str], None] | None = None,
            betas=BETAS, steps: int = STEPS, n_train: int = N_TRAIN, n_heldout: int = N_HELDOUT,
            kinds=KINDS, hard_kinds=HARD_KINDS) -> dict:
    """DPO at each of `betas` and SimPO on the pairs of `kinds`, and DPO at the headline beta on
    those of `hard_kinds` (none if empty), from `sft_model`: the figures as a JSON-ready dict.

    The defaults are the committed run; the keyword arguments exist for a cheap check (tests).
    """
    say = progress or (lambda _: None)
    if HEADLINE_BETA not in betas:
        raise ValueError(f"betas={betas!r} must include the headline beta {HEADLINE_BETA}")
    t0 = time.perf_counter()
    setup = _setup(sft_model, tok, kinds, n_train, n_heldout, seed)
    say(f"dpo: {len(setup[0])} training pairs, {len(setup[1])} held-out pairs of {', '.join(kinds)}")
    runs = {}
    for beta in betas:
        cfg = PrefConfig("dpo", beta, 0.0, steps, BATCH, LR, seed)
        runs[f"dpo_{beta:g}"] = _run(sft_model, tok, *setup, cfg, progress=say)
    cfg = PrefConfig("simpo", SIMPO["beta"], SIMPO["gamma"], steps, BATCH, LR, seed)
    runs["simpo"] = _run(sft_model, tok, *setup, cfg, progress=say)
    if hard_kinds:
        hard = _setup(sft_model, tok, hard_kinds, n_train, n_heldout, seed)
        cfg = PrefConfig("dpo", HEADLINE_BETA, 0.0, steps, BATCH, LR, seed)
        runs["dpo_hard"] = _run(sft_model, tok, *hard, cfg, progress=say)
    head, simpo = runs[f"dpo_{HEADLINE_BETA:g}"], runs["simpo"]
    ref_heldout = setup[3]
    return {
        "dpo_preference_accuracy": head["preference_accuracy"],
        "dpo_kl": head["kl"],
        "dpo_reward_margin": head["reward_margin"],
        "dpo_likelihood_accuracy": head["likelihood_accuracy"],
        "dpo_greedy_accuracy": head["greedy_accuracy"],
        "dpo_beta": HEADLINE_BETA,
        "simpo_preference_accuracy": simpo["preference_accuracy"],
        "simpo_kl": simpo["kl"],
        "simpo_reward_margin": simpo["reward_margin"],
        "simpo_greedy_accuracy": simpo["greedy_accuracy"],
        "dpo_reference_likelihood_accuracy": float(np.mean(ref_heldout[0] > ref_heldout[1])),
        "dpo_reference_greedy_accuracy": greedy_accuracy(sft_model, tok, setup[1]),
        "dpo_by_beta": {f"{b:g}": {k: runs[f"dpo_{b:g}"][k] for k in
                                   ("preference_accuracy", "reward_margin", "kl", "greedy_accuracy")}
                        for b in betas},
        "dpo_runs": runs,
        "dpo_pairs": {"train": len(setup[0]), "heldout": len(setup[1]), "kinds": list(kinds),
                      "hard_kinds": list(hard_kinds),
                      "examples": [p._asdict() for p in _examples(setup[1])]},
        "dpo_recipe": {"steps": steps, "batch": BATCH, "lr": LR, "optimizer": "adamw",
                       "pairs_per_kind": [n_train, n_heldout], "kl_prompts": KL_PROMPTS,
                       "kl_samples": KL_SAMPLES, "simpo": SIMPO, "seed": seed},
        "dpo_seconds": round(time.perf_counter() - t0, 1),
    }


def _setup(sft_model, tok, kinds, n_train, n_heldout, seed):
    """(train pairs, held-out pairs, their arrays, the reference's held-out log-probs)."""
    train, heldout = train_and_heldout(kinds, n_train, n_heldout, seed)
    ctx = sft_model.cfg.context_len
    arrays = encode_pairs(tok, train, ctx), encode_pairs(tok, heldout, ctx)
    return train, heldout, arrays, pair_logps(sft_model, arrays[1])   # the frozen ref, once


def _examples(pairs, per_kind: int = 2):
    """The first `per_kind` pairs of each kind (what the result file shows of its data)."""
    out, seen = [], {}
    for p in pairs:
        if seen.get(p.task, 0) < per_kind:
            seen[p.task] = seen.get(p.task, 0) + 1
            out.append(p)
    return out
