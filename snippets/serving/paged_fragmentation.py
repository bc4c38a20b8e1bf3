"""How much of a KV cache's memory holds tokens, at page sizes from 1 to 128: the real
PageTables replaying a seeded stream of 200 requests like `rawweights bench serve`'s (Poisson
arrivals, prompts of 4-24 characters, 16-256 new tokens) over 8 decode slots of the
shakespeare-char model, against contiguous slots that reserve the whole context and against
regions that reserve prompt + max_tokens up front. Bookkeeping only: no model runs.

Run on its own: python snippets/serving/paged_fragmentation.py   (a few seconds)
"""

import matplotlib.pyplot as plt
from _paged_replay import CTX, SLOTS, ratio, replay, requests

from rwsite.claims import claim, value
from rwsite.tables import table

SIZES = (1, 2, 4, 8, 16, 32, 64, 128)

# --8<-- [start:sweep]
reqs = requests(200, seed=0)
runs = {size: replay(reqs, size) for size in SIZES}
paged = {size: ratio(samples) for size, samples in runs.items()}
contiguous = ratio(runs[16], "contiguous")   # the same requests in whole-context slots
upfront = ratio(runs[16], "upfront")         # ... in regions of prompt + max_tokens
# --8<-- [end:sweep]

waste = lambda r: f"{100 * (1 - 1 / r):.1f}%"     # share of the reserved bytes holding no token
rows = [[f"paged, {size}-token pages", f"{CTX // size}", f"{paged[size]:.3f}", waste(paged[size])]
        for size in SIZES]
rows += [["prompt + max_tokens up front", "-", f"{upfront:.3f}", waste(upfront)],
         [f"whole context ({CTX}) per slot", "-", f"{contiguous:.3f}", waste(contiguous)]]
table(["cache", "table entries per slot", "reserved / used", "reserved, no token"], rows, "lrrr")
busy = sum(s["busy"] for s in runs[16]) / len(runs[16])
print(f"\n{len(reqs)} requests, {len(runs[16])} decode calls of 8 steps, {busy:.1f} of {SLOTS} slots busy on average")

fig, ax = plt.subplots(figsize=(6.4, 3.4))
ax.plot(SIZES, [paged[s] for s in SIZES], "o-", color="C0")
ax.axhline(contiguous, color="C1", ls="--")
ax.axhline(upfront, color="C2", ls=":")
# labels on the lines themselves: a legend box would sit on one of them
ax.text(1, contiguous + 0.05, f"whole-context slots ({CTX} tokens)", color="C1", fontsize=8)
ax.text(1, upfront + 0.05, "prompt + max_tokens up front", color="C2", fontsize=8)
ax.text(1, paged[1] + 0.08, "paged (PageTables)", color="C0", fontsize=8)
ax.annotate("the engine: 16", (16, paged[16]), xytext=(16, paged[16] + 0.3), ha="center",
            fontsize=8, arrowprops={"arrowstyle": "->", "color": "C0"})
ax.set_xscale("log", base=2)
ax.set_xticks(SIZES, [str(s) for s in SIZES])
ax.set_ylim(0.9, contiguous + 0.25)
ax.set_xlabel("page size (tokens)")
ax.set_ylabel("bytes reserved / bytes used")
ax.set_title("KV memory held per byte of tokens, same 200 requests")
plt.show()

value("frag_requests", f"{len(reqs)}")
value("frag_busy", f"{busy:.1f}")
value("paged16_ratio", f"{paged[16]:.2f}")
value("paged16_waste", waste(paged[16]))
value("paged128_ratio", f"{paged[128]:.2f}")
value("paged64_ratio", f"{paged[64]:.2f}")
value("paged1_ratio", f"{paged[1]:.2f}")
value("whole_ratio", f"{contiguous:.2f}")
value("whole_waste", waste(contiguous))
value("upfront_ratio", f"{upfront:.2f}")
value("upfront_waste", waste(upfront))
value("entries16", f"{CTX // 16}")
value("entries1", f"{CTX}")
claim(abs(paged[1] - 1) < 1e-9, "one-token pages hold exactly the bytes the tokens need", ratio=paged[1])
claim(all(paged[a] <= paged[b] for a, b in zip(SIZES, SIZES[1:])), "larger pages never waste less",
      ratios=paged)
claim(paged[16] < upfront < contiguous, "paged(16) < prompt + max_tokens up front < whole-context slots",
      paged=paged[16], upfront=upfront, contiguous=contiguous)
claim(paged[16] <= 1.3, "16-token pages keep reserved within 1.3x used", ratio=paged[16])
claim(paged[16] - 1 < (contiguous - 1) / 10, "paged(16) wastes under a tenth of what whole-context slots waste")
claim(0.6 <= 1 - 1 / contiguous <= 0.8, "whole-context slots waste within the 60-80% vLLM's authors reported",
      waste=1 - 1 / contiguous)
claim(1 - 1 / paged[16] > 0.04, "16-token pages waste more than vLLM's 'under 4%' on these short sequences")
claim(paged[128] < upfront and upfront - paged[128] < 0.15, "128-token pages are barely better than up front")
