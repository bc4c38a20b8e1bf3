"""The plan grammar as masks: which characters each step of a tool call allows, and what the
mask does to a model that knows nothing (random weights) at temperature 1.

Run on its own: python snippets/agents/grammar_masks.py   (a few seconds)
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from rawweights_jax.agents.calls import AGENT_CHARS, parse_plan, plan_grammar
from rawweights_jax.agents.decode import decode
from rawweights_jax.agents.grammar import compile_grammar
from rawweights_jax.config import preset
from rawweights_jax.data.tokenizer import CharTokenizer
from rawweights_jax.model.gpt import init_model
from rwsite.claims import claim, value

SEED = int(os.environ.get("RWSITE_SEED", 0))
SHAKESPEARE = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
tok = CharTokenizer(SHAKESPEARE + "".join(c for c in AGENT_CHARS if c not in SHAKESPEARE))

# --8<-- [start:compile]
plan = compile_grammar(plan_grammar(), tok.chars)
print(f"{plan.next_SV.shape[0] - 1} states x {plan.next_SV.shape[1]} characters; "
      f"longest plan {plan.max_len} characters")
for text in ("[calc 123*456]\n", "[get x][calc $+12]\n", "[calc 12*]\n", "[get X]\n"):
    print(f"{text!r:24} {'accepted' if plan.accepts(text) else 'rejected'}")
# --8<-- [end:compile]
value("n_states", str(plan.next_SV.shape[0] - 1))

# The mask at each step of one call, by group of characters (64 columns would not fit a phone).
groups = {"[": "[", "]": "]", "a-z": "abcdefghijklmnopqrstuvwxyz", "0-9": "0123456789",
          "+-*": "+-*", "space": " ", "$": "$", "newline": "\n", "A-Z, rest": None}
rest = "".join(c for c in tok.chars if not any(g and c in g for g in groups.values()))
groups["A-Z, rest"] = rest
text = "[get x][calc $+12]\n"
allowed_SV = plan.allowed_SV()
state, counts = 0, []
for c in text:               # the mask in force *before* each character is chosen
    counts.append([int(allowed_SV[state, tok.encode(g)].sum()) for g in groups.values()])
    state = int(plan.next_SV[state, tok.encode(c)[0]])
counts = np.asarray(counts)
fig, ax = plt.subplots(figsize=(6.4, 6.0))
ax.imshow(counts > 0, cmap="Blues", vmin=0, vmax=1.6, aspect="auto")
for (i, j), n in np.ndenumerate(counts):
    if n:
        ax.text(j, i, str(n), ha="center", va="center")
ax.set_xticks(range(len(groups)), list(groups), rotation=45, ha="right")
ax.set_yticks(range(len(text)), [{" ": "space", "\n": "newline"}.get(c, c) for c in text])
ax.set_xlabel("allowed next: how many of the group")
ax.set_ylabel("character then written")
ax.set_title("The plan grammar's mask, step by step")
fig.tight_layout()
plt.show()

# --8<-- [start:random]
model = init_model(preset("shakespeare-char-cpu").model.replace(vocab_size=tok.vocab_size), SEED)
prompts = ["Q:123*456\n", "Q:x=5+7\n", "Q:y+100\n"]
free = decode(model, tok, prompts, plan, constrained=False, temperature=1.0, seed=SEED)
masked = decode(model, tok, prompts, plan, constrained=True, temperature=1.0, seed=SEED)
for f, m in zip(free.texts, masked.texts):
    print(f"free:   {f!r:28} masked: {m!r}")
# --8<-- [end:random]
claim(all(masked.parsed) and all(parse_plan(t) for t in masked.texts),
      "every masked plan of the random model parses", texts=masked.texts)
claim(not any(free.parsed), "no free plan of the random model parses", texts=free.texts)
