"""Prefix sharing in the paged cache: the same seeded stream of requests as
paged_fragmentation.py, each prompt now behind one long system prompt, replayed through the
real PageTables (8 slots, 16-token pages). `admit` finds the system prompt's full pages
already written by an earlier request and lists them in the newcomer's block table; the pool
then holds one copy, however many slots list it. Bookkeeping only: no model runs.

Run on its own: python snippets/serving/paged_sharing.py   (a few seconds)
"""

import numpy as np
from _paged_replay import TOKEN_BYTES, ratio, replay, requests

from rwsite.claims import claim, value

# --8<-- [start:sharing]
SYSTEM = ("You are the robot student. Answer as the players of the First Folio would: plain "
          "words, short lines, and never leave the scene.\n")
samples = replay(requests(200, seed=0, system=SYSTEM), 16)
held = [s for s in samples if s["used"]]
pool = np.mean([s["pages_used"] for s in held])      # pages taken from the pool
listed = np.mean([s["pages_listed"] for s in held])  # pages the block tables list: no sharing
shared = np.mean([s["pages_shared"] for s in held])  # pages listed by two slots or more
# --8<-- [end:sharing]

full = len(SYSTEM) // 16
print(f"system prompt: {len(SYSTEM)} characters, {full} full pages of 16")
print(f"mean over {len(held)} decode calls: {listed:.1f} pages listed by the block tables, "
      f"{pool:.1f} held in the pool, {shared:.1f} of them shared")
print(f"held {pool * 16 * TOKEN_BYTES / 1e6:.1f} MB instead of {listed * 16 * TOKEN_BYTES / 1e6:.1f} MB: "
      f"{100 * (1 - pool / listed):.0f}% less; reserved / used {ratio(held):.3f} "
      "(a shared token counted once)")

value("system_chars", f"{len(SYSTEM)}")
value("system_pages", f"{full}")
value("share_listed", f"{listed:.1f}")
value("share_pool", f"{pool:.1f}")
value("share_shared", f"{shared:.1f}")
value("share_saved", f"{100 * (1 - pool / listed):.0f}%")
value("share_mb", f"{pool * 16 * TOKEN_BYTES / 1e6:.1f} MB")
value("noshare_mb", f"{listed * 16 * TOKEN_BYTES / 1e6:.1f} MB")
claim(pool < listed, "shared pages are held once however many tables list them")
claim(max(s["pages_shared"] for s in held) <= full, "only the system prompt's full pages are ever shared")
claim(1 - pool / listed > 0.25, "sharing the system prompt saves over a quarter of the pages")
