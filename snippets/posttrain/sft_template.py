"""The chat template and its loss mask, drawn from what `chat.encode` returns for real examples
of three tasks: each character in a cell, the cells the loss grades shaded.

Run on its own: python snippets/posttrain/sft_template.py   (a second)
"""

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.posttrain import chat, tasks
from rwsite.claims import claim, value

tok = chat.extend_tokenizer(load_shakespeare().tokenizer)
value("n_added", str(tok.vocab_size - load_shakespeare().tokenizer.vocab_size))
value("n_vocab", str(tok.vocab_size))
examples = [tasks.TASKS[name].make(1, seed, "train")[0] for seed, name in enumerate(("add3", "count", "reverse"))]

fig, ax = plt.subplots(figsize=(6.4, 2.2))
for row, (prompt, answer) in enumerate(examples):
    tokens_T, mask_T = chat.encode(tok, prompt, answer, 64)
    text = chat.render(prompt, answer)
    print(f"{text:24s} ids {tokens_T[:len(text)].tolist()}")
    # mask_T[t] grades the character at t + 1: shade that character's cell
    graded = {t + 1 for t in range(len(text)) if mask_T[t]}
    claim(graded == set(range(len(prompt) + 2, len(text))),
          "the graded characters are exactly the answer and the end marker", prompt=prompt)
    y = -row * 1.3
    for i, c in enumerate(text):
        ax.add_patch(Rectangle((i, y), 0.94, 0.94, facecolor="C1" if i in graded else "none",
                               alpha=0.45 if i in graded else 1, edgecolor="0.5", lw=0.6))
        ax.text(i + 0.47, y + 0.45, c, ha="center", va="center", fontsize=11, family="monospace")
ax.set_xlim(-0.2, max(len(chat.render(p, a)) for p, a in examples) + 0.2)
ax.set_ylim(-2 * 1.3 - 0.2, 1.1)
ax.set_axis_off()
ax.set_title("Shaded: the characters the loss grades (answer and end marker)", fontsize=10)
fig.tight_layout()
plt.show()
