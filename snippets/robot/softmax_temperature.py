"""Temperature: one knob between "always the favourite" and "anything goes".

Run on its own: python snippets/robot/softmax_temperature.py
"""

import matplotlib.pyplot as plt
import numpy as np

# --8<-- [start:softmax]
def softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = logits / temperature
    z = z - z.max()                     # same result, no overflow in exp
    p = np.exp(z)
    return p / p.sum()
# --8<-- [end:softmax]


logits = np.array([3.0, 2.0, 1.0, 0.5, -1.0])
letters = ["e", "a", "o", "i", "z"]

# --8<-- [start:plot]
fig, ax = plt.subplots()
width = 0.26
x = np.arange(len(letters))
for i, temperature in enumerate([0.5, 1.0, 2.0]):
    p = softmax(logits, temperature)
    ax.bar(x + (i - 1) * width, p, width, label=f"T = {temperature}")
    row = "  ".join(f"{c} {q:.2f}" for c, q in zip(letters, p))
    print(f"T = {temperature}: {row}")
ax.set_xticks(x, letters)
ax.set_xlabel("next character")
ax.set_ylabel("probability")
ax.set_title("The same scores at three temperatures")
ax.legend()
plt.show()
# --8<-- [end:plot]
