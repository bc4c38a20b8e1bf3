"""Every shipped config, side by side: our parameter count against the publisher's, attention,
KV cache and FLOPs per token. All of it arithmetic on the config.json (rawweights_jax.analysis).

Run on its own: python snippets/arch/zoo_table.py
"""

from rawweights_jax.analysis.counts import flops_per_token, kv_bytes, param_counts
from rawweights_jax.analysis.inspector import human
from rawweights_jax.analysis.zoo import zoo_model, zoo_names
from rawweights_jax.config import preset
from rwsite.claims import value
from rwsite.tables import table

CONTEXT = 32768

# --8<-- [start:table]
def stated(x):                                   # a published figure, as precise as stated
    return f"{x / 1e12:g}T" if x >= 1e12 else f"{x / 1e9:g}B" if x >= 1e9 else f"{x / 1e6:g}M"


def kind(cfg):                                   # the cache's shape, in a few letters
    base = ("MLA" if cfg.mla else "MHA" if cfg.n_kv_heads == cfg.n_heads
            else "MQA" if cfg.n_kv_heads == 1 else "GQA")
    return base + (f"+SW{cfg.sliding_window}" if "local" in cfg.layer_kinds else "")


models = sorted((zoo_model(key) for key in zoo_names()),
                key=lambda z: param_counts(z.config)["total"])
rows = []
for z in models:
    cfg, c = z.config, param_counts(z.config)
    reference = z.comparable_params or z.published_params     # Gemma 3: text tower only
    diff = f"{(c['total'] - reference) / reference:+.2%}" + ("*" if z.comparable_params
                                                              or z.precision else "")
    active = "" if z.published_active_params is None else (
        f"{human(c['active'], keep_zeros=True)}/{stated(z.published_active_params)}")
    kv = kv_bytes(cfg, CONTEXT) / CONTEXT
    gflops = flops_per_token(cfg, CONTEXT)["forward"] / 1e9
    rows.append([z.key, human(c["total"], keep_zeros=True), stated(z.published_params), diff, active,
                 kind(cfg), human(kv, "B"), f"{gflops:.1f}"])
table(["model", "ours", "published", "diff", "active", "attention", "KV/token", "GFLOP/tok"], rows,
      align="lrrrrlrr")
print(f"active: ours/published. KV and FLOPs: the last token of a {CONTEXT}-token "
      "context, bf16.")
for z in models:
    if z.comparable_params:
        print(f"* {z.key}: compared with {stated(z.comparable_params)}, the published figure for "
              "what the config describes")
    if z.precision:
        print(f"* {z.key}: the published total is stated to +/- {stated(z.precision)}; "
              f"ours is {human(param_counts(z.config)['total'] - z.published_params, keep_zeros=True)} above it")
# --8<-- [end:table]

student = param_counts(preset("shakespeare-char-cpu").model)["total"]
value("student_params", f"{student:,}")
value("smallest_ratio", f"{param_counts(models[0].config)['total'] / student:,.0f}")
value("smallest_name", models[0].name)
