"""`rawweights inspect`: any Hugging Face config.json (or a shipped model, or a preset) turned
into the numbers that matter, side by side.

    rawweights inspect llama-3.1-8b mixtral-8x7b deepseek-v3 --context 32768
    rawweights inspect path/to/config.json --dtype fp8 --json

A CONFIG is a path to a config.json (or to the directory holding it), the name of a model
shipped in rawweights_jax/analysis/configs, or a preset name. With --json, one JSON object per config.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from rawweights_jax.analysis.counts import summary
from rawweights_jax.analysis.zoo import zoo_model, zoo_names
from rawweights_jax.config import PRESETS, ModelConfig
from rawweights_jax.families.hf_config import config_from_hf


def resolve(name: str) -> tuple[str, ModelConfig]:
    """(label, ModelConfig) for a path, a shipped model or a preset; ValueError names what failed."""
    path = Path(name)
    if path.exists():
        return str(path), config_from_hf(path)
    if name in zoo_names():
        return name, zoo_model(name).config
    if name in PRESETS:
        return name, PRESETS[name].model
    raise ValueError(f"{name!r} is not a file, a shipped model ({', '.join(zoo_names())}) "
                     f"or a preset ({', '.join(sorted(PRESETS))})")


def human(n: float, unit: str = "", keep_zeros: bool = False) -> str:
    """1234567 -> '1.23M': three significant digits and an SI (or binary, for bytes) prefix.
    With `keep_zeros`, always three digits: 27e9 -> '27.0B' (tables line up)."""
    base, prefixes = (1024, ("", "Ki", "Mi", "Gi", "Ti", "Pi")) if unit == "B" else (
        1000, ("", "K", "M", "B", "T"))
    for prefix in prefixes:
        # compare the *rounded* value, so 999.96M becomes 1B rather than '1e+03M' (and 1,000
        # to 1,023 KiB, which three digits cannot show, become 0.98 to 1 MiB)
        rounded = float(f"{n:.3g}")
        if abs(rounded) < 1000 or prefix == prefixes[-1]:
            digits = (f"{rounded:.{max(0, 2 - int(math.log10(abs(rounded))))}f}"
                      if keep_zeros and abs(rounded) >= 1 else f"{n:.3g}")
            return f"{digits} {prefix}B" if unit == "B" else f"{digits}{prefix}{unit}"
        n /= base
    return str(n)


COLUMNS = (("model", lambda s: s["model"]),
           ("params", lambda s: human(s["total_params"])),
           ("active", lambda s: human(s["active_params"])),
           ("attention", lambda s: s["attention"]),
           ("KV/token", lambda s: human(s["kv_bytes_per_token"], "B")),
           ("KV@ctx", lambda s: human(s["memory_bytes"]["kv_cache"], "B")),
           ("FLOPs/token", lambda s: human(s["flops_per_token"])),
           ("attn share", lambda s: f"{s['attention_flops_per_token'] / s['flops_per_token']:.0%}"),
           ("weights", lambda s: human(s["memory_bytes"]["weights"], "B")),
           ("total mem", lambda s: human(s["memory_bytes"]["total"], "B")))


def table(rows: list[dict]) -> str:
    cells = [[name for name, _ in COLUMNS]] + [[get(r) for _, get in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) if i in (0, 3) else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths))) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(names: list[str], context: int, batch: int, dtype: str, as_json: bool) -> str:
    rows = []
    for name in names:
        label, cfg = resolve(name)
        rows.append({"model": label, **summary(cfg, context, batch, dtype)})
    if as_json:
        return "\n".join(json.dumps(r) for r in rows)
    return (table(rows) + f"\n\ncontext {context} tokens, batch {batch}, {dtype}. KV/token: cache "
            "bytes one token adds over all layers (sliding-window layers capped); FLOPs/token: "
            "forward pass of the last token of the context (2 per weight of each matrix used, "
            "plus attention over the context).")
