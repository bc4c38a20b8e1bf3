"""A real `rawweights serve` on loopback, asked by the official `openai` client: the robot
student served, three requests at once (one streamed), and what /metrics says afterwards.

Run on its own: python snippets/serving/serve_live.py   (about 20 seconds)
"""

import re
import sys
import threading
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "robot"))
from _student import student_dir  # noqa: E402

from rwsite.claims import claim, value  # noqa: E402

folder = student_dir()

# --8<-- [start:serve]
from rawweights_jax.serve.launch import launch, stop  # `rawweights serve` on a free port

server, base = launch([folder], "--max-batch", "4")   # returns once /health answers

from openai import OpenAI                             # the official client, unchanged

client = OpenAI(base_url=base + "/v1", api_key="unused")
model = client.models.list().data[0].id
answers = {}

def ask(prompt, seed):
    answers[prompt] = client.completions.create(model=model, prompt=prompt, max_tokens=40,
                                                temperature=0.8, seed=seed).choices[0].text

threads = [threading.Thread(target=ask, args=(p, s)) for s, p in enumerate(("ROMEO:\n", "JULIET:\n"))]
for t in threads:
    t.start()
print("KING:")
for chunk in client.completions.create(model=model, prompt="KING:\n", max_tokens=40,
                                       temperature=0.8, seed=2, stream=True):
    print(chunk.choices[0].text, end="", flush=True)   # text arrives as it is generated
print()
for t in threads:
    t.join()
for prompt, text in answers.items():
    print(prompt.strip() + "\n" + text)
# --8<-- [end:serve]

# --8<-- [start:metrics]
metrics = urllib.request.urlopen(base + "/metrics").read().decode()
for line in metrics.splitlines():
    if re.match(r"rawweights_(generated_tokens_total|requests_total|time_to_first_token_seconds_count"
                r"|kv_pages_free|model_loads_total)", line):
        print(line)
# --8<-- [end:metrics]
stop(server)

tokens = float(re.search(r"rawweights_generated_tokens_total\{[^}]*\} (\S+)", metrics).group(1))
value("live_model", model)
value("live_tokens", f"{tokens:.0f}")
claim(tokens == 120, "the three requests generated 40 tokens each", tokens=tokens)
claim(len(answers) == 2 and all(len(t) == 40 for t in answers.values()), "both plain answers are whole")
