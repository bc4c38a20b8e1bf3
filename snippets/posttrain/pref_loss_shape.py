"""The DPO and SimPO losses drawn against the margin between the two answers.

The library's `dpo_loss` and `simpo_loss` (rawweights_jax/posttrain/dpo.py) evaluated on a
sweep of log-prob differences: for DPO, how far the policy has moved the chosen answer's
log-ratio above the rejected one's; for SimPO, how far the chosen answer's mean log-prob per
character lies above the rejected one's. Pure functions, no model: a second to run.

Run on its own: python snippets/posttrain/pref_loss_shape.py
"""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt

from rawweights_jax.posttrain.dpo import dpo_loss, simpo_loss
from rwsite.claims import claim, value

delta_M = jnp.linspace(-10, 10, 201)          # log-ratio(chosen) - log-ratio(rejected), nats
zero_1 = jnp.zeros(1)
# one pair at a time (vmap), so each point is the library's loss of that single pair
dpo_of = jax.vmap(lambda d, beta: dpo_loss(d[None], zero_1, zero_1, zero_1, beta).loss, (0, None))
simpo_of = jax.vmap(lambda d, gamma: simpo_loss(d[None], zero_1, 2.0, gamma).loss, (0, None))
fig, (ax_dpo, ax_simpo) = plt.subplots(1, 2, figsize=(7.2, 3.0), sharey=True)
for i, beta in enumerate((0.1, 0.3, 1.0)):
    ax_dpo.plot(delta_M, dpo_of(delta_M, beta), color=f"C{i}", label=f"beta {beta:g}")
ax_dpo.set_xlabel("log-ratio chosen - rejected (nats)")
ax_dpo.set_ylabel("loss of the pair")
ax_dpo.set_title("DPO")
ax_dpo.legend()
for i, gamma in enumerate((0.0, 1.0)):
    gap_M = delta_M / 5                        # mean log-prob gap per character
    ax_simpo.plot(gap_M, simpo_of(gap_M, gamma), color=f"C{i + 3}", label=f"beta 2, gamma {gamma:g}")
ax_simpo.set_xlabel("mean log-prob chosen - rejected")
ax_simpo.set_title("SimPO")
ax_simpo.legend()
fig.tight_layout()
plt.show()

at_zero = float(dpo_loss(zero_1, zero_1, zero_1, zero_1, 0.1).loss)
half = float(dpo_of(jnp.array([-10.0, 10.0]), 0.1)[0] - dpo_of(jnp.array([-10.0, 10.0]), 0.1)[1])
value("dpo_gap_10", f"{half:.2f}")
value("log2", f"{at_zero:.3f}")
claim(abs(at_zero - 0.6931) < 1e-3, "an untrained pair costs log 2")
