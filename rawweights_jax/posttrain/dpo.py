"""Preference losses: learn from "this answer, not that one" as pure functions of log-probs.

A preference pair is one prompt x with two answers, the chosen y_w and the rejected y_l. Neither
loss below needs a reward model: each turns the policy's own log-probabilities into an
*implicit reward* and asks the chosen answer's reward to beat the rejected one's.

DPO (Rafailov et al. 2023, "Direct Preference Optimization", eq. 7) measures the reward against
a frozen reference model (the SFT model the policy starts from):

    r(x, y) = beta * (log pi(y|x) - log ref(y|x))
    L_DPO   = -log sigmoid(r(x, y_w) - r(x, y_l))

`beta` is how far the policy may drift: the loss is the solution of a KL-regularised reward
maximisation with KL weight beta, so a small beta lets the log-ratio grow large before the loss
is satisfied (more drift, larger KL), a large beta saturates the sigmoid after a small move.

SimPO (Meng et al. 2024, "SimPO: Simple Preference Optimization with a Reference-Free Reward",
eq. 6) drops the reference and normalises by length: the reward is beta times the *mean*
log-prob per answer token, and the chosen answer must win by a target margin gamma:

    r(x, y) = beta / |y| * log pi(y|x)
    L_SimPO = -log sigmoid(r(x, y_w) - r(x, y_l) - gamma)

Both functions take per-pair sequence log-probs `_B` (one number per pair: summed over answer
tokens for DPO, averaged for SimPO) and return the mean loss with the rewards they implied, so
the training loop and the page read margins and accuracies from the same numbers.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class PreferenceLoss(NamedTuple):
    """A preference loss and the implicit rewards behind it (one per pair)."""

    loss: jax.Array              # scalar: the mean over pairs
    chosen_reward_B: jax.Array
    rejected_reward_B: jax.Array
    margin_B: jax.Array          # chosen minus rejected: > 0 where the pair is ranked right

    @property
    def accuracy(self) -> jax.Array:
        """Fraction of pairs whose chosen answer has the strictly larger reward (a tie is wrong:
        at the start of DPO every reward is 0, and that is no preference yet)."""
        return jnp.mean(self.margin_B > 0)


def _check_beta(beta) -> None:
    if isinstance(beta, (int, float)) and not beta > 0:
        raise ValueError(f"beta={beta!r}: expected a number > 0 (the KL weight; 0 would make "
                         "every reward 0)")


def _check_shapes(**arrays) -> None:
    shapes = {name: jnp.shape(a) for name, a in arrays.items()}
    if len(set(shapes.values())) != 1 or len(next(iter(shapes.values()))) != 1:
        raise ValueError(f"expected per-pair log-probs of one shape [B], got {shapes}")


# --8<-- [start:dpo_loss]
def dpo_loss(pol_chosen_B, pol_rejected_B, ref_chosen_B, ref_rejected_B, beta) -> PreferenceLoss:
    """DPO (Rafailov et al. 2023, eq. 7) from summed answer log-probs of policy and reference."""
    _check_beta(beta)
    _check_shapes(pol_chosen_B=pol_chosen_B, pol_rejected_B=pol_rejected_B,
                  ref_chosen_B=ref_chosen_B, ref_rejected_B=ref_rejected_B)
    # The reference enters only through these differences: its gradient is never taken.
    chosen_B = beta * (pol_chosen_B - jax.lax.stop_gradient(ref_chosen_B))
    rejected_B = beta * (pol_rejected_B - jax.lax.stop_gradient(ref_rejected_B))
    margin_B = chosen_B - rejected_B
    # log_sigmoid, not log(sigmoid(.)): a margin of -100 would round sigmoid to 0 and log to -inf.
    return PreferenceLoss(-jnp.mean(jax.nn.log_sigmoid(margin_B)), chosen_B, rejected_B, margin_B)
# --8<-- [end:dpo_loss]


# --8<-- [start:simpo_loss]
def simpo_loss(avg_logp_chosen_B, avg_logp_rejected_B, beta, gamma) -> PreferenceLoss:
    """SimPO (Meng et al. 2024, eq. 6) from mean answer log-probs per token; no reference."""
    _check_beta(beta)
    if isinstance(gamma, (int, float)) and gamma < 0:
        raise ValueError(f"gamma={gamma!r}: expected a target margin >= 0")
    _check_shapes(avg_logp_chosen_B=avg_logp_chosen_B, avg_logp_rejected_B=avg_logp_rejected_B)
    chosen_B = beta * avg_logp_chosen_B
    rejected_B = beta * avg_logp_rejected_B
    margin_B = chosen_B - rejected_B
    return PreferenceLoss(-jnp.mean(jax.nn.log_sigmoid(margin_B - gamma)), chosen_B, rejected_B,
                          margin_B)
# --8<-- [end:simpo_loss]
