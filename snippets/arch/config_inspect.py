"""`rawweights inspect` on Qwen3 30B-A3B's config.json, then where its 30.5B parameters live.

The command is run as a user would run it, on a config.json file (written to a temporary
folder from the shipped copy), next to its dense sibling Qwen3 8B by name.

Run on its own: python snippets/arch/config_inspect.py
"""

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from rawweights_jax.analysis.counts import memory_bytes, param_counts
from rawweights_jax.analysis.zoo import zoo_model
from rawweights_jax.analysis.inspector import human
from rwsite.claims import claim, value

# --8<-- [start:inspect]
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "config.json"
    path.write_text(json.dumps(zoo_model("qwen3-30b-a3b").hf))
    cmd = ["rawweights", "inspect", "config.json", "qwen3-8b", "--context", "32768"]
    print("$ " + " ".join(cmd))
    done = subprocess.run([sys.executable, "-m", "rawweights_jax.cli", *cmd[1:]], cwd=tmp,
                          capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():    # wrap the long note under the table
        print(textwrap.fill(line, 95) if line.startswith("context") else line)
    print()
# --8<-- [end:inspect]

# --8<-- [start:parts]
counts = param_counts(zoo_model("qwen3-30b-a3b").config)
print("Qwen3 30B-A3B by part:")
for part in ("embedding", "lm_head", "attention", "mlp", "norms", "total", "active"):
    print(f"  {part:10} {human(counts[part]):>7}  {counts[part] / counts['total']:6.1%}")
# --8<-- [end:parts]

# --8<-- [start:memory]
memory = {key: memory_bytes(zoo_model(key).config, 32768) for key in ("qwen3-30b-a3b", "qwen3-8b")}
for key, m in memory.items():                      # the "total mem" column, taken apart
    print(f"{key}: " + " + ".join(f"{part} {human(m[part], 'B')}" for part in ("weights", "kv_cache", "activations"))
          + f" = {human(m['total'], 'B')}")
# --8<-- [end:memory]
value("moe_activations", human(memory["qwen3-30b-a3b"]["activations"], "B"))
value("dense_activations", human(memory["qwen3-8b"]["activations"], "B"))
claim(all(m["total"] == m["weights"] + m["kv_cache"] + m["activations"] for m in memory.values()),
      "total memory is weights + cache + activations")
