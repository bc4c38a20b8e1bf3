"""The fine-tuned student answers held-out prompts it never saw in training: a few per task,
right and wrong, graded by each task's own grader; then its accuracy per task.

The student is fine-tuned once per build (snippets/posttrain/_sft.py, a shared result) and
decoded greedily with the compiled KV-cache generator.

Run on its own: python snippets/posttrain/sft_answers.py   (a minute when it fine-tunes first)
"""

import matplotlib.pyplot as plt
import numpy as np

from _sft import history, load_sft
from rawweights_jax.posttrain import sft, tasks
from rwsite.claims import claim, value
from rwsite.tables import table

model, tok, _, _ = load_sft()
h = history()
value("live_steps", str(h["steps"]))
value("live_examples", f"{h['examples']:,}")
rows, accuracy = [], {}
for name, task in tasks.TASKS.items():
    test = task.make(50, 1, "test")        # held out: no training prompt is a test prompt
    answers = sft.greedy_answers(model, tok, [p for p, _ in test], task.max_answer)
    right = [task.grade(p, a) for (p, _), a in zip(test, answers)]
    accuracy[name] = float(np.mean(right))
    value(f"live_{name}", f"{accuracy[name]:.0%}")
    # two it got right and one it got wrong (where it got any), in the order drawn
    shown = [i for i in range(len(test)) if right[i]][:2] + [i for i in range(len(test)) if not right[i]][:1]
    for i in sorted(shown):
        rows.append([name, test[i][0], answers[i], test[i][1], "yes" if right[i] else "no"])
table(["task", "prompt", "student", "expected", "right"], rows, align="lllll")
table(["task", "held-out accuracy (50 prompts)"], [[n, f"{a:.0%}"] for n, a in accuracy.items()], align="lr")
claim(max(accuracy.values()) >= 0.5, "the student gets at least one task mostly right", **accuracy)

fig, ax = plt.subplots(figsize=(6.4, 2.8))
ax.plot(h["step"], h["loss"], color="C0")
ax.set_xlabel("fine-tuning step")
ax.set_ylabel("loss on answer characters")
ax.set_title("The fine-tuning that ran for this page")
fig.tight_layout()
plt.show()
