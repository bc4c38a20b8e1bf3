"""GRPO's arithmetic: group-relative advantages, the k3 KL estimate, and the clipped loss.

Group Relative Policy Optimization (Shao et al. 2024, DeepSeekMath, section 4.1) learns from a
grader instead of from worked answers. For each prompt the policy samples a *group* of G
answers; the grader gives each a reward; an answer's *advantage* is how much better it did than
its own group, in units of the group's spread (eq. 3's outcome supervision):

    A_i = (r_i - mean(r_1..r_G)) / (std(r_1..r_G) + eps)

Every token of answer i shares A_i. The group's mean stands in for the learned value model of
PPO (Schulman et al. 2017): no second network to train, at the price of sampling G answers per
prompt. The objective is PPO's clipped surrogate on the ratio of new to old token
probabilities, minus beta times a per-token KL estimate to the frozen reference (the SFT model):

    J = mean_i 1/|o_i| sum_t [ min(rho_t A_i, clip(rho_t, 1-eps, 1+eps) A_i) - beta KL_t ]

with KL_t the k3 estimator (Schulman 2020, "Approximating KL divergence"), DeepSeekMath eq. 4:
exp(q) - q - 1 with q = log pi_ref - log pi_theta, which is >= 0 for every sample, 0 where the
two policies agree, and unbiased for KL(pi_theta || pi_ref) when tokens come from pi_theta.

These are pure functions of arrays; grpo_loop.py samples, grades and steps the optimizer.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


# --8<-- [start:advantages]
def group_advantages(rewards_PG, eps: float = 1e-4):
    """Each answer's reward minus its group's mean, over the group's std (+ eps): [P, G].
    A group whose answers all scored the same teaches nothing: its advantages are all 0."""
    rewards_PG = jnp.asarray(rewards_PG, jnp.float32)
    if rewards_PG.ndim != 2 or rewards_PG.shape[1] < 2:
        raise ValueError(f"rewards of shape {rewards_PG.shape} are invalid: expected [prompts, "
                         "group] with a group of at least 2 answers")
    centred_PG = rewards_PG - rewards_PG.mean(axis=1, keepdims=True)
    return centred_PG / (rewards_PG.std(axis=1, keepdims=True) + eps)
# --8<-- [end:advantages]


# --8<-- [start:kl]
def kl_k3(logp_BT, ref_logp_BT):
    """Per-token estimate of KL(pi_theta || pi_ref) from the sampled tokens' log-probabilities:
    exp(q) - q - 1 with q = ref - logp. Never negative (e^q >= 1 + q), unlike the plain
    log-ratio, so averaging few tokens gives no negative KL."""
    q_BT = ref_logp_BT - logp_BT
    return jnp.exp(q_BT) - q_BT - 1.0
# --8<-- [end:kl]


def completion_mask(new_BT, end_id: int):
    """True on each sampled token up to and including the first end marker; the tokens the
    sampler drew after it (it runs a fixed number of steps) belong to no answer."""
    is_end_BT = (jnp.asarray(new_BT) == end_id).astype(jnp.int32)
    return jnp.cumsum(is_end_BT, axis=1) - is_end_BT == 0     # no end marker before this token


# --8<-- [start:loss]
def grpo_loss(logp_BT, old_logp_BT, ref_logp_BT, adv_B, mask_BT, *, clip: float = 0.2,
              beta: float = 0.04):
    """The negated GRPO objective (a loss to minimise) and its parts, for B sampled answers.

    logp: log-probabilities of the sampled tokens under the policy being optimised (carries
    the gradient); old_logp: under the policy that sampled them; ref_logp: under the frozen
    reference; adv: one advantage per answer; mask: the answer's tokens (completion_mask).
    """
    ratio_BT = jnp.exp(logp_BT - old_logp_BT)
    adv_B1 = adv_B[:, None]
    # PPO's pessimism: where the ratio has already moved by more than `clip` in the direction
    # the advantage favours, the clipped term is the smaller and carries no gradient.
    surrogate_BT = jnp.minimum(ratio_BT * adv_B1, jnp.clip(ratio_BT, 1 - clip, 1 + clip) * adv_B1)
    kl_BT = kl_k3(logp_BT, ref_logp_BT)
    mask_BT = mask_BT.astype(jnp.float32)
    n_B = jnp.maximum(mask_BT.sum(axis=1), 1.0)
    per_answer = lambda v_BT: (v_BT * mask_BT).sum(axis=1) / n_B    # 1/|o_i| sum_t
    objective = jnp.mean(per_answer(surrogate_BT - beta * kl_BT))
    clipped_BT = (jnp.abs(ratio_BT - 1) > clip).astype(jnp.float32)
    return -objective, {"kl": jnp.mean(per_answer(kl_BT)),
                        "clip_fraction": jnp.sum(clipped_BT * mask_BT) / jnp.maximum(mask_BT.sum(), 1.0)}
# --8<-- [end:loss]


def token_passes(*, sampled: int, forward: int, trained: int) -> int:
    """Compute in token passes: a forward pass over one token counts 1 and a backward pass 2
    (the backward pass does about twice the forward's matrix products, Kaplan et al. 2020's
    6N-per-token training cost against 2N for inference). `sampled` tokens go through the
    model once while decoding, `forward` only forward (the reference), `trained` forward and
    backward: the unit GRPO and more SFT are compared in (bench/posttrain_grpo.py)."""
    for name, n in (("sampled", sampled), ("forward", forward), ("trained", trained)):
        if n < 0:
            raise ValueError(f"{name}={n} token positions is invalid: expected a count >= 0")
    return sampled + forward + 3 * trained

