"""One real group: the fine-tuned student answers one held-out prompt eight times at temperature
1, the task's grader marks each answer, and GRPO turns the marks into advantages.

Run on its own: python snippets/posttrain/grpo_group.py   (seconds, once the SFT model exists)
"""

import numpy as np
from _sft import load_sft

from rawweights_jax.bench.posttrain_grpo import TASK
from rawweights_jax.inference.generate import generate
from rawweights_jax.posttrain.chat import END, render
from rawweights_jax.posttrain.grpo import group_advantages
from rawweights_jax.posttrain.grpo_loop import answer_tokens
from rawweights_jax.posttrain.tasks import task
from rwsite.claims import claim, value
from rwsite.tables import table

G = 8
model, tok, _, _ = load_sft()
graded = task(TASK)
end_id = tok.encode(END)[0]

# --8<-- [start:group]
# The first held-out prompt whose group disagrees: a group that is all right (or all wrong)
# has every advantage 0 and teaches nothing.
for i, (prompt, right) in enumerate(graded.make(30, 0, "test")):
    new = generate(model, [tok.encode(render(prompt))] * G, graded.max_answer,
                   temperature=1.0, vocab=tok.vocab_size, seed=i)
    answers = [tok.decode(answer_tokens(n, end_id)) for n in new]
    rewards_G = np.asarray([float(graded.grade(prompt, a)) for a in answers])
    if 0 < rewards_G.sum() < G:
        break
advantages_G = np.asarray(group_advantages(rewards_G[None])[0])
# --8<-- [end:group]

print(f"prompt {render(prompt)!r}, right answer {right!r}; group mean {rewards_G.mean():.3f}, "
      f"std {rewards_G.std():.3f}")
table(["answer", "reward", "advantage"],
      [[repr(a), f"{r:.0f}", f"{adv:+.2f}"] for a, r, adv in zip(answers, rewards_G, advantages_G)],
      align="lrr")
value("group_prompt", render(prompt))
value("group_right", f"{int(rewards_G.sum())}")
value("group_plus", f"{advantages_G.max():+.2f}")
value("group_minus", f"{advantages_G.min():+.2f}")
claim(abs(advantages_G.sum()) < 1e-3, "a group's advantages sum to zero", total=float(advantages_G.sum()))
