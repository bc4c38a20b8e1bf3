"""`rawweights bench speculative`: a small draft proposes, a model 8x+ larger verifies.

Both models are trained on tiny Shakespeare by the benchmark (or read from `--target-ckpt`
and `--draft-ckpt`; trained ones are kept in `--out` and reused): the target is nanoGPT's
GPU "baby GPT" shape (6 layers of width 384, 10.7M parameters) on the CPU preset's 64-character
context and recipe, the draft the CPU preset itself (the robot student, 0.8M). For each k the
benchmark decodes the same prompts greedily with the target alone and speculatively,
checks that the tokens are identical, and reports tokens per second, the speed-up and the
acceptance rate; one sampled run (temperature 0.8) reports its acceptance rate too.
Batch 1: speculation pays where each target pass is bound by streaming its weights.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from rawweights_jax.bench.common import environment, print_table
from rawweights_jax.ckpt.checkpoint import LATEST, load_model
from rawweights_jax.config import RunConfig, preset
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.inference.generate import generate
from rawweights_jax.inference.speculative import speculative_generate
from rawweights_jax.model.gpt import count_params
from rawweights_jax.train.loop import train

PROMPTS = ("ROMEO:\n", "KING HENRY:\nWhat say", "First Citizen:\nWe are", "JULIET:\nO ")
DRAFT_PRESET = "shakespeare-char-cpu"


def target_run(max_iters: int):
    """The baby GPT's shape at the CPU preset's context and recipe (dropout off, short run)."""
    big, cpu = preset("shakespeare-char"), preset(DRAFT_PRESET)
    return RunConfig(big.model.replace(context_len=cpu.model.context_len),
                     cpu.train.replace(max_iters=max_iters, warmup_iters=min(100, max_iters // 10),
                                       eval_interval=max_iters))


def _trained(kind: str, ckpt: Path | None, out: Path, max_iters: int, quiet: bool):
    if ckpt is None:
        folder = out / kind
        if not (folder / LATEST).is_file():
            run = target_run(max_iters) if kind == "target" else preset(DRAFT_PRESET)
            if not quiet:
                print(f"training the {kind} ({run.train.max_iters} steps) into {folder}")
            train(run, load_shakespeare(), out_dir=folder, progress=None if quiet else print)
        ckpt = folder
    model, tokenizer, _, _ = load_model(ckpt)
    return model, tokenizer


def _interleaved_seconds(fns: dict, rounds: int) -> tuple[dict, dict, dict]:
    """Median and spread (min, max) of each function's wall seconds over `rounds` rounds that
    each run every function once, in turn (a change of load hits all of them alike), and each
    function's output."""
    outputs = {name: fn() for name, fn in fns.items()}              # compile, keep the result
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return ({n: float(np.median(t)) for n, t in times.items()},
            {n: (min(t), max(t)) for n, t in times.items()}, outputs)


def bench_speculative(ks=(1, 2, 3, 4, 6), new_tokens: int = 200, target_ckpt: Path | None = None,
                      draft_ckpt: Path | None = None, out: Path = Path("out/bench-speculative"),
                      target_iters: int = 1500, rounds: int = 5, quiet: bool = False) -> dict:
    target, tokenizer = _trained("target", target_ckpt, out, target_iters, quiet)
    draft, draft_tokenizer = _trained("draft", draft_ckpt, out, target_iters, quiet)
    if draft_tokenizer.vocab_size != tokenizer.vocab_size:
        raise ValueError("the draft and the target read different vocabularies")
    V = tokenizer.vocab_size
    prompts = [tokenizer.encode(p) for p in PROMPTS]
    n_total = new_tokens * len(prompts)

    def baseline():
        return [generate(target, [p], new_tokens, temperature=0.0, vocab=V)[0] for p in prompts]

    def speculate(k, temperature=0.0):
        return [speculative_generate(target, draft, p, new_tokens, k=k, temperature=temperature,
                                     seed=i, vocab=V) for i, p in enumerate(prompts)]

    fns = {"target": baseline,
           "draft": lambda: [generate(draft, [p], new_tokens, temperature=0.0, vocab=V)[0]
                             for p in prompts]}
    fns.update({k: (lambda k=k: speculate(k)) for k in ks})
    seconds, spread, outputs = _interleaved_seconds(fns, rounds)
    base_tps, base_out = n_total / seconds["target"], outputs["target"]
    draft_tps = n_total / seconds["draft"]
    rows = []
    for k in ks:
        tps, results = n_total / seconds[k], outputs[k]
        identical = [r.tokens for r in results] == base_out
        proposed = sum(r.proposed for r in results)
        accepted = sum(r.accepted for r in results)
        slow, fast = (n_total / spread[k][1], n_total / spread[k][0])
        rows.append({"k": k, "tokens_per_second": round(tps, 1), "speedup": round(tps / base_tps, 3),
                     "tokens_per_second_range": [round(slow, 1), round(fast, 1)],
                     "acceptance_rate": round(accepted / proposed, 4),
                     "tokens_per_target_pass": round(n_total / sum(r.rounds for r in results), 3),
                     "greedy_identical": identical})
        if not quiet:
            print(f"  k={k}: {tps:8.1f} tok/s  x{tps / base_tps:.2f}  acceptance {accepted / proposed:.2f}"
                  f"  identical {identical}")
    best = max(rows, key=lambda r: r["speedup"])
    sampled = speculate(best["k"], temperature=0.8)
    result = {"benchmark": "speculative", "target_params": count_params(target),
              "draft_params": count_params(draft), "new_tokens_per_prompt": new_tokens,
              "prompts": len(prompts), "k": best["k"], "acceptance_rate": best["acceptance_rate"],
              "baseline_tokens_per_second": round(base_tps, 1), "rounds": rounds,
              "baseline_tokens_per_second_range": [round(n_total / spread["target"][1], 1),
                                                   round(n_total / spread["target"][0], 1)],
              "draft_tokens_per_second": round(draft_tps, 1),
              "speculative_tokens_per_second": best["tokens_per_second"], "speedup": best["speedup"],
              "greedy_identical": all(r["greedy_identical"] for r in rows),
              "sampled_t0.8_acceptance_rate": round(sum(r.accepted for r in sampled)
                                                    / sum(r.proposed for r in sampled), 4),
              "runs": rows, **environment()}
    if not quiet:
        print_table({k: v for k, v in result.items() if k != "runs"})
    return result
