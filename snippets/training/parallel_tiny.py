"""Eight devices in one process: a tiny model trained 3 steps by dp, fsdp, tp and a GPipe
pipeline, each against one device's losses, with the bytes its compiled step hands to
collectives (read from the HLO) beside the formula.

Run on its own: python snippets/training/parallel_tiny.py   (about 20 seconds)
"""

# --8<-- [start:devices]
import os

# XLA reads this once, when JAX starts its CPU backend: before `import jax`.
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_force_host_platform_device_count=8")
import jax  # noqa: E402
# --8<-- [end:devices]

from rwsite.claims import claim, value  # noqa: E402
from rwsite.tables import table  # noqa: E402

from rawweights_jax.analysis.comm import comm_bytes  # noqa: E402
from rawweights_jax.config import ModelConfig, ParallelConfig, TrainConfig  # noqa: E402
from rawweights_jax.data.batches import sample_batch  # noqa: E402
from rawweights_jax.data.shakespeare import load_shakespeare  # noqa: E402
from rawweights_jax.train.optimizer import make_optimizer  # noqa: E402
from rawweights_jax.train.strategies import train_steps  # noqa: E402

# --8<-- [start:run]
cfg = ModelConfig(vocab_size=65, context_len=32, n_layers=2, n_heads=8, d_model=64)
data_Z = load_shakespeare().train_Z
batches = [sample_batch(data_Z, jax.random.key(i), 16, cfg.context_len) for i in range(3)]
optimizer = make_optimizer(TrainConfig(batch_size=16, warmup_iters=0, lr=1e-2))

one = train_steps(cfg, ParallelConfig(), batches, optimizer)
rows, worst, worst_ratio = [], 0.0, 1.0
for name, par in {"dp": ParallelConfig(data=8), "fsdp": ParallelConfig(data=8, fsdp=True),
                  "tp": ParallelConfig(model=8),
                  "pp": ParallelConfig(stages=2, microbatches=4)}.items():
    got = train_steps(cfg, par, batches, optimizer)
    diff = max(abs(a - b) for a, b in zip(got["losses"], one["losses"]))
    hlo, formula = sum(got["comm"].values()), sum(comm_bytes(cfg, par, 16).values())
    rows.append([name, par.devices, f"{diff:.1e}", f"{hlo:,}", f"{formula:,}",
                 f"{got['memory'] / one['memory']:.2f}"])
    worst, worst_ratio = max(worst, diff), max(worst_ratio, abs(hlo / formula - 1) + 1)
table(["strategy", "devices", "max loss diff", "HLO bytes", "formula bytes",
       "memory / one device's"], rows, align="lrrrrr")
# --8<-- [end:run]
print("one device's losses:", ", ".join(f"{x:.4f}" for x in one["losses"]))
value("tiny_worst_diff", f"{worst:.1e}")
value("tiny_worst_ratio", f"{(worst_ratio - 1) * 100:.2f}%")
claim(worst < 1e-5, "every strategy gives one device's losses within 1e-5", worst=worst)
claim(worst_ratio < 1.05, "HLO bytes within 5% of the formula", worst_ratio=worst_ratio)
