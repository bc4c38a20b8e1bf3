"""DPO on the fine-tuned student, live: a short run, then the loss on a few held-out pairs.

The SFT student (snippets/posttrain/_sft.py, shared with the SFT page) is the reference. A
copy of it trains for a few dozen DPO steps on near-miss and word-order pairs; then, for a
few held-out pairs it never saw, the log-probs of both answers under the reference and under
the policy go through the library's `dpo_loss`, and the table shows what the loss saw.

Run on its own: python snippets/posttrain/pref_live.py   (about half a minute; longer when the
SFT student must be fine-tuned first)
"""

import jax.numpy as jnp
import numpy as np

from _sft import load_sft
from rawweights_jax.posttrain.dpo import dpo_loss
from rawweights_jax.posttrain.pairs import ORDER, encode_pairs, train_and_heldout
from rawweights_jax.posttrain.pref_eval import preference_metrics
from rawweights_jax.posttrain.preference import PrefConfig, pair_logps, train_preferences
from rwsite.claims import claim, value
from rwsite.tables import table

reference, tok, _, _ = load_sft()
ctx = reference.cfg.context_len
# --8<-- [start:run]
train, heldout = train_and_heldout(("reverse", "count", ORDER), 128, 32, seed=0)
train_arrays, held_arrays = encode_pairs(tok, train, ctx), encode_pairs(tok, heldout, ctx)
cfg = PrefConfig("dpo", beta=0.1, steps=40, batch=32, lr=1e-4, seed=0)
policy, history = train_preferences(reference, train_arrays, cfg)

ref = pair_logps(reference, held_arrays)     # (sum chosen, sum rejected, mean, mean)
pol = pair_logps(policy, held_arrays)
out = dpo_loss(jnp.asarray(pol[0]), jnp.asarray(pol[1]), jnp.asarray(ref[0]), jnp.asarray(ref[1]),
               cfg.beta)
# --8<-- [end:run]
shown = [i for kind in ("reverse", "count", ORDER)
         for i in [j for j, p in enumerate(heldout) if p.task == kind][:2]]
rows = []
for i in shown:
    p = heldout[i]
    rows.append([p.prompt, p.chosen, p.rejected, f"{ref[0][i]:.2f} / {ref[1][i]:.2f}",
                 f"{pol[0][i]:.2f} / {pol[1][i]:.2f}", f"{float(out.margin_B[i]):+.3f}",
                 f"{float(np.logaddexp(0, -out.margin_B[i])):.3f}"])
table(["prompt", "chosen", "rejected", "log ref (chosen / rejected)", "log pi (chosen / rejected)",
       "margin", "loss"], rows, align="lllrrrr")

held = preference_metrics(policy, held_arrays, ref, cfg)
print(f"{len(train)} training pairs, {cfg.steps} steps of batch {cfg.batch}; on {len(heldout)} "
      f"held-out pairs: mean loss {held['loss']:.3f} (log 2 = {np.log(2):.3f} before the first "
      f"step), preference accuracy {held['accuracy']:.0%}, mean margin {held['margin']:+.3f}")
value("live_steps", str(cfg.steps))
value("live_pairs", str(len(train)))
value("live_heldout", str(len(heldout)))
value("live_accuracy", f"{held['accuracy']:.0%}")
value("live_loss", f"{held['loss']:.3f}")
claim(held["loss"] < np.log(2), "a few DPO steps lower the held-out loss below log 2", loss=held["loss"])
claim(held["accuracy"] > 0.6, "a few DPO steps already rank most held-out pairs right",
      accuracy=held["accuracy"])
