"""The GRPO loop: sample a group of answers per prompt, grade them, and step the policy.

One step (Shao et al. 2024, DeepSeekMath, algorithm 1, with one policy update per batch):

1. pick P prompts; the current policy samples G answers to each with the compiled sampler
   (inference/generate.py), at temperature 1 so the group differs;
2. the grader (any `reward(prompt_index, answer_tokens) -> float`) scores each answer, and
   grpo.py turns the scores into group-relative advantages;
3. one compiled call computes the reference's log-probabilities of the sampled tokens, the
   policy's (with their gradient), the clipped objective with its KL penalty, and AdamW's step.

The loop knows nothing of chat templates or tasks: prompts are token lists and answers end at
`end_id`. bench/posttrain_grpo.py connects it to the graded tasks of tasks.py.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from rawweights_jax.inference.generate import generate
from rawweights_jax.model.gpt import GPT
from rawweights_jax.posttrain.grpo import completion_mask, group_advantages, grpo_loss, token_passes
from rawweights_jax.posttrain.sft import token_logprobs

Reward = Callable[[int, list[int]], float]
"""reward(index of the prompt, the answer's tokens up to and including the end marker)."""


@dataclass(frozen=True)
class GRPOConfig:
    """The recipe of a GRPO run. DeepSeekMath used G=64, beta=0.04, clip 0.2 and lr 1e-6 on a
    7B model; a 0.8M-parameter student tolerates a far larger learning rate."""

    steps: int = 60            # policy updates, one per sampled batch
    prompts: int = 8           # P prompts per step
    group: int = 8             # G answers sampled per prompt
    max_new: int = 8           # tokens sampled per answer (an answer may end earlier)
    lr: float = 3e-5
    beta: float = 0.04         # weight of the KL penalty to the reference
    clip: float = 0.2          # PPO's clip range on the probability ratio
    temperature: float = 1.0   # sampling temperature of the rollouts
    grad_clip: float = 1.0

    def __post_init__(self):
        for name in ("steps", "prompts", "max_new"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name}={value!r} is invalid: expected an integer >= 1")
        if not (isinstance(self.group, int) and self.group >= 2):
            raise ValueError(f"group={self.group!r} is invalid: GRPO compares answers within a "
                             "group, so it needs an integer >= 2")
        for name in ("lr", "temperature", "grad_clip"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)!r} is invalid: expected a number > 0")
        if not self.beta >= 0:
            raise ValueError(f"beta={self.beta!r} is invalid: expected a number >= 0")
        if not 0 < self.clip < 1:
            raise ValueError(f"clip={self.clip!r} is invalid: expected a number in (0, 1)")

    def replace(self, **changes) -> GRPOConfig:
        return dataclasses.replace(self, **changes)


def rollout_batch(prompts: list[list[int]], new: list[list[int]], end_id: int, width: int):
    """Training arrays for sampled answers: x_BT (prompt + answer, right-padded to `width`),
    y_BT (x shifted by one) and mask_BT, True where y is a token of the answer up to and
    including its end marker: the policy is credited only for what it chose."""
    B = len(new)
    x_BT, y_BT = np.zeros((B, width), np.int32), np.zeros((B, width), np.int32)
    mask_BT = np.zeros((B, width), bool)
    answer_BN = np.asarray(completion_mask(np.asarray(new), end_id))
    for b, (p, n) in enumerate(zip(prompts, new)):
        seq = list(p) + list(n)
        if len(seq) - 1 > width:
            raise ValueError(f"a prompt of {len(p)} tokens and an answer of {len(n)} do not fit "
                             f"the training width {width}: shorten the prompt or max_new")
        x_BT[b, :len(seq) - 1], y_BT[b, :len(seq) - 1] = seq[:-1], seq[1:]
        # the target at position len(p)-1+j is answer token j
        mask_BT[b, len(p) - 1:len(p) - 1 + len(n)] = answer_BN[b]
    return x_BT, y_BT, mask_BT


def answer_tokens(new: list[int], end_id: int) -> list[int]:
    """The answer as graded: the sampled tokens up to and including the first end marker."""
    return new[:new.index(end_id) + 1] if end_id in new else list(new)


def make_update(graphdef, optimizer, cfg: GRPOConfig):
    """The compiled step: reference log-probs, the GRPO loss and its gradient, AdamW."""

    def loss_fn(params, ref_params, x_BT, y_BT, mask_BT, adv_B):
        logp_BT = token_logprobs(nnx.merge(graphdef, params), x_BT, y_BT)
        ref_logp_BT = jax.lax.stop_gradient(token_logprobs(nnx.merge(graphdef, ref_params), x_BT, y_BT))
        # One update per sampled batch: the sampling policy is the current one, so the ratio is
        # 1 and clipping never binds; the gradient is still that of the full objective.
        old_logp_BT = jax.lax.stop_gradient(logp_BT)
        return grpo_loss(logp_BT, old_logp_BT, ref_logp_BT, adv_B, mask_BT,
                         clip=cfg.clip, beta=cfg.beta)

    @jax.jit
    def update(params, opt_state, ref_params, x_BT, y_BT, mask_BT, adv_B):
        (loss, parts), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            params, ref_params, x_BT, y_BT, mask_BT, adv_B)
        with jax.numpy_dtype_promotion("standard"):    # optax mixes int32 counts and floats
            updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, {"loss": loss, **parts}

    return update


def grpo_train(model: GPT, prompts: list[list[int]], reward: Reward, *, end_id: int,
               vocab: int, cfg: GRPOConfig = GRPOConfig(), seed: int = 0,
               progress: Callable[[str], None] | None = None) -> tuple[GPT, dict]:
    """Optimise `model` with GRPO on `prompts`; the model passed in is the frozen reference.

    Returns the new model and a history: per step the mean reward, KL to the reference, answer
    length (tokens, end marker included), loss, clip fraction and the compute spent in token
    passes (grpo.token_passes), with the wall time.
    """
    if len(prompts) < cfg.prompts:
        raise ValueError(f"{len(prompts)} prompts given: a step draws {cfg.prompts}, give at least that many")
    graphdef, ref_params = nnx.split(model, nnx.Param)
    params = jax.tree.map(jnp.copy, ref_params)
    optimizer = optax.chain(optax.clip_by_global_norm(cfg.grad_clip),
                            optax.adamw(cfg.lr, b1=0.9, b2=0.99, weight_decay=0.0))
    opt_state = optimizer.init(params)
    update = make_update(graphdef, optimizer, cfg)
    width = model.cfg.context_len        # one training shape: one compilation
    rng = np.random.default_rng(seed)
    history = {k: [] for k in ("step", "reward", "kl", "length", "loss", "clip_fraction", "token_passes")}
    spent, start = 0, time.perf_counter()
    for step in range(cfg.steps):
        chosen = rng.choice(len(prompts), cfg.prompts, replace=False)
        rows = [prompts[i] for i in chosen for _ in range(cfg.group)]
        policy = nnx.merge(graphdef, params)
        new = generate(policy, rows, cfg.max_new, temperature=cfg.temperature, vocab=vocab,
                       seed=seed * 1_000_003 + step)
        answers = [answer_tokens(n, end_id) for n in new]
        rewards_PG = np.asarray([reward(int(i), a) for i, a in
                                 zip(np.repeat(chosen, cfg.group), answers)], np.float32)
        rewards_PG = rewards_PG.reshape(cfg.prompts, cfg.group)
        adv_B = group_advantages(rewards_PG).reshape(-1)
        x_BT, y_BT, mask_BT = rollout_batch(rows, new, end_id, width)
        params, opt_state, parts = update(params, opt_state, ref_params, x_BT, y_BT, mask_BT, adv_B)
        spent += token_passes(sampled=sum(len(r) + cfg.max_new for r in rows),
                              forward=x_BT.size, trained=x_BT.size)
        record = {"step": step + 1, "reward": float(rewards_PG.mean()),
                  "length": float(np.mean([len(a) for a in answers])), "token_passes": spent,
                  **{k: float(v) for k, v in parts.items()}}
        for k, v in record.items():
            history[k].append(v)
        if progress and (step + 1) % max(cfg.steps // 10, 1) == 0:
            progress(f"grpo step {step + 1}/{cfg.steps}: reward {record['reward']:.3f} "
                     f"kl {record['kl']:.4f} length {record['length']:.1f}")
    history["seconds"] = time.perf_counter() - start
    return nnx.merge(graphdef, params), history
