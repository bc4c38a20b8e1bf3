"""The measured trade: bytes, validation loss and decode speed of float32, bfloat16, int8, int4
and int8-with-int8-activations weights, from the committed `rawweights bench quant` result.

The benchmark (`python benchmarks/quant.py`, several minutes) times every variant in
interleaved rounds on the `shakespeare-char` shape and scores the trained CPU preset; this
snippet only reads its file.

Run on its own: python snippets/inference/quant_results.py   (a second)
"""

import json
from pathlib import Path

from rwsite.claims import claim, value

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/quant-cpu-2026-12-04.json"

# --8<-- [start:table]
r = json.loads((ROOT / RESULT).read_text())
print(f"{r['device']}, {r['date']}, commit {r['commit']}")
print(f"{'weights':8} {'MB':>6} {'val loss':>9} {'b1 tok/s':>9} {'x f32':>6} {'b8 tok/s':>9} {'x f32':>6}")
for v in ("f32", "bf16", "int8", "int4", "w8a8"):
    speed = lambda b: r[f"{v}_b{b}_tokens_per_second"]
    ratio = lambda b: speed(b) / r[f"f32_b{b}_tokens_per_second"]
    print(f"{v:8} {r[f'{v}_weight_bytes'] / 1e6:6.1f} {r[f'{v}_val_loss']:9.4f} "
          f"{speed(1):9.0f} {ratio(1):6.2f} {speed(8):9.0f} {ratio(8):6.2f}")
print(f"int8 KV cache (float32 weights): {r['int8_kv_bytes_per_token']} bytes per token against "
      f"{r['f32_kv_bytes_per_token']}, val loss {r['kv8_val_loss']:.4f}, "
      f"b1 {r['kv8_b1_speedup']:.2f}x, b8 {r['kv8_b8_speedup']:.2f}x float32")
print(f"one device: w8a8 batch 1 at {r['one_device_w8a8_b1_speedup']:.2f}x float32, "
      f"int8 weight-only at {r['one_device_int8_b1_speedup']:.2f}x")
# --8<-- [end:table]

value("int8_loss_change", f"{r['int8_val_loss_increase']:+.4f}")
value("int4_loss_change", f"{r['int4_val_loss_increase']:+.4f}")
value("w8a8_loss_change", f"{r['w8a8_val_loss_increase']:+.4f}")
value("int8_b1", f"{r['int8_b1_speedup']:.2f}")
value("int4_b1", f"{r['int4_b1_speedup']:.2f}")
value("w8a8_one_device_b1", f"{r['one_device_w8a8_b1_speedup']:.2f}")
value("kv8_loss_change", f"{r['kv8_val_loss_increase']:+.5f}")
value("kv8_b1", f"{r['kv8_b1_speedup']:.2f}")
value("kv8_b8", f"{r['kv8_b8_speedup']:.2f}")
value("kv_bytes_f32", f"{r['f32_kv_bytes_per_token']:,}")
value("kv_bytes_int8", f"{r['int8_kv_bytes_per_token']:,}")
value("kv_ratio", f"{r['f32_kv_bytes_per_token'] / r['int8_kv_bytes_per_token']:.2f}")
claim(abs(r["kv8_val_loss_increase"]) <= 0.01, "an int8 KV cache costs at most 0.01 nats")
span = lambda key: "{:.0f}-{:.0f}".format(*r[f"{key}_tokens_per_second_range"])
value("f32_b1_range", span("f32_b1"))
value("kv8_b1_range", span("kv8_b1"))
claim(r["kv8_b1_speedup"] >= 0.95 and r["kv8_b8_speedup"] >= 0.95,
      "an int8 KV cache is not slower than float32's at batch 1 and 8 (medians)",
      b1=r["kv8_b1_speedup"], b8=r["kv8_b8_speedup"])
value("int4_ratio", f"{r['f32_weight_bytes'] / r['int4_weight_bytes']:.1f}")
claim(r["int8_val_loss_increase"] <= 0.01, "int8 weights cost at most 0.01 nats of validation loss")
claim(r["int4_val_loss_increase"] <= 0.05, "int4 weights cost at most 0.05 nats")
claim(r["int8_b1_speedup"] < 1.2 and r["int4_b1_speedup"] < 1.2,
      "weight-only int8 and int4 do not speed up batch-1 decoding on XLA:CPU")
