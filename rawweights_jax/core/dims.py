"""The dimension letters: every array and weight names its axes in a suffix (`x_BTD`, `wq_DNH`,
`k_BSKH`, `logits_BTV`) and einsum strings use the same letters, so a name is its shape.

One letter, one meaning. The legend below is the one the code, the docs and the tests use;
`LETTERS` is what `tests/test_lib_layout.py` checks suffixes against.
"""

from __future__ import annotations

LETTERS: dict[str, str] = {
    "A": "micro-batches of one optimizer step (gradient accumulation)",
    "B": "batch: sequences processed together",
    "C": "latent width of multi-head latent attention (kv_lora_rank)",
    "D": "model width: the residual stream",
    "E": "experts of a mixture-of-experts layer",
    "F": "hidden width of an MLP or of one expert",
    "G": "query heads per key/value head, N / K",
    "H": "width of one attention head",
    "I": "width of one MLA query head, nope + rope parts (P + R)",
    "J": "slots of one key/value group in the fused qkv matrix, G + 2",
    "K": "key/value heads",
    "L": "layers",
    "M": "rows of one expert tile in the sorted MoE dispatch",
    "N": "query heads",
    "O": "experts chosen per token (top-k of the router: experts_per_token)",
    "P": "position-free part of an MLA query/key head",
    "Q": "width of MLA's low-rank query latent (q_lora_rank)",
    "R": "rotated width of a RoPE head (rope_dim); per-position cos/sin tables have R / 2",
    "S": "key/value slots a query attends over (the cache's length)",
    "T": "time: positions of the tokens processed now",
    "U": "tokens of a flattened batch, B * T (MoE routing works on tokens, not rows)",
    "V": "vocabulary",
    "W": "slots of a sliding-window layer's ring cache",
    "X": "a concatenation named where it is made (MLA's latent and rotary key, C + R)",
    "Y": "assignments of tokens to experts, U * O (MoE dispatch)",
    "Z": "tokens of a whole data split (a corpus as one array)",
}
"""Each dimension letter and what it counts."""


def describe(suffix: str) -> str:
    """`describe("BTD")` -> 'B batch ..., T time ..., D model width ...' (for docs and errors)."""
    unknown = [c for c in suffix if c not in LETTERS]
    if unknown:
        raise ValueError(f"unknown dimension letter(s) {''.join(unknown)!r} in {suffix!r}: "
                         f"expected letters of {''.join(sorted(LETTERS))}")
    return ", ".join(f"{c} {LETTERS[c]}" for c in suffix)
