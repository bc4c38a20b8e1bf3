"""Three models behind one `--memory-budget`: a real `rawweights serve` on loopback, asked for
them in turn. Each request is timed, and /metrics and /health say whether it loaded a model,
which model it evicted and what is resident afterwards.

The models (snippets/serving/_budget_models.py): the robot student, its step-300 snapshot and
a model twice as wide trained for a few steps. The errors are snippets/serving/budget_errors.py.

Run on its own: python snippets/serving/budget_live.py   (about 30 seconds)
"""

import json
import re
import time
import urllib.error
import urllib.request

import jax
import matplotlib.pyplot as plt
from matplotlib.patches import Patch

from _budget_models import NAMES, model_folders
from rwsite.claims import claim, value
from rwsite.tables import table

from rawweights_jax.ckpt.checkpoint import load_model
from rawweights_jax.serve.engine import Engine
from rawweights_jax.serve.launch import launch, stop
from rawweights_jax.serve.pool import engine_bytes

folders = model_folders()
MiB = 2**20

# --8<-- [start:footprint]
need, kv, rows = {}, {}, []
for name in NAMES:                       # what the pool will count: the engine's arrays
    model, tokenizer, _, _ = load_model(folders[name])
    engine = Engine(model, tokenizer, slots=8, page_size=16)   # the server's defaults, not started
    weights = sum(x.nbytes for x in jax.tree.leaves(engine.params))
    kv_pool = sum(x.nbytes for x in jax.tree.leaves((engine.cache.k, engine.cache.v)))
    need[name], kv[name] = engine_bytes(engine), kv_pool
    assert need[name] == weights + kv_pool
    rows.append([name, f"{model.cfg.n_layers} x {model.cfg.d_model}", f"{weights / MiB:.2f} MiB",
                 f"{engine.layout.pages} x {engine.layout.page_size} tokens",
                 f"{kv_pool / MiB:.2f} MiB", f"{need[name] / MiB:.2f} MiB"])
    del model, engine
table(["model", "layers x width", "weights", "KV pages", "KV pool", "footprint"], rows, align="llrrrr")
# --8<-- [end:footprint]

# --8<-- [start:run]
budget = need["wide"] + need["student"] + need["student"] // 2   # any two fit, not all three
server, base = launch(list(folders.values()), "--memory-budget", str(budget))


def counters(text, metric):
    return {m: float(v) for m, v in re.findall(metric + r'\{model="([^"]+)"\} (\S+)', text)}


def ask(url, model, prompt="ROMEO:\n", max_tokens=32):
    """POST a greedy completion; (HTTP status, parsed JSON body, seconds)."""
    body = json.dumps({"model": model, "prompt": prompt, "max_tokens": max_tokens,
                       "temperature": 0}).encode()
    req = urllib.request.Request(url + "/v1/completions", body, {"Content-Type": "application/json"})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read()), time.perf_counter() - t0
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), time.perf_counter() - t0


SEQUENCE = ["student", "student-early", "student", "student-early", "wide", "student", "wide",
            "student", "student-early", "student-early", "wide", "student", "student-early", "wide"]
log = []
before = urllib.request.urlopen(base + "/metrics").read().decode()
for model in SEQUENCE:
    status, body, seconds = ask(base, model)
    after = urllib.request.urlopen(base + "/metrics").read().decode()
    loads, evictions = (
        {m: n - counters(before, metric).get(m, 0) for m, n in counters(after, metric).items()}
        for metric in ("rawweights_model_loads_total", "rawweights_model_evictions_total"))
    resident = json.loads(urllib.request.urlopen(base + "/health").read())["loaded"]
    log.append({"model": model, "status": status, "seconds": seconds, "text": body["choices"][0]["text"],
                "loaded": loads.get(model, 0) > 0,
                "evicted": sorted(m for m, n in evictions.items() if n > 0), "resident": resident})
    before = after
memory = counters(after, "rawweights_model_memory_bytes")
stop(server)
# --8<-- [end:run]

print(f"budget {budget / MiB:.2f} MiB\n")
print(f"{'#':>2}  {'request':13} {'seconds':>7}  {'load':4}  {'evicted':13}  resident after")
for i, r in enumerate(log, 1):
    print(f"{i:2d}  {r['model']:13} {r['seconds']:7.3f}  {'yes' if r['loaded'] else '':4}  "
          f"{', '.join(r['evicted']) or '':13}  {', '.join(r['resident'])}")
print()
for name in NAMES:
    print(f"{name:13} {log[SEQUENCE.index(name)]['text']!r}")

# ---- the figure: what is resident after each request, and what each request took
fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.6, 5.2), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 2]})
x = list(range(1, len(log) + 1))
colour = {name: f"C{k}" for k, name in enumerate(NAMES)}
floor = [0.0] * len(log)
for name in NAMES:
    h = [need[name] / MiB if name in r["resident"] else 0 for r in log]
    top.bar(x, h, bottom=floor, color=colour[name], width=0.7, label=name)
    floor = [f + v for f, v in zip(floor, h)]
top.axhline(budget / MiB, color="C3", linestyle="--", linewidth=1)
top.text(0.5, budget / MiB, "budget", va="bottom", color="C3", fontsize=8)
top.set_ylim(0, 1.35 * budget / MiB)
top.set_ylabel("resident after (MiB)")
top.set_title("Which models are resident, request by request")
top.legend(fontsize=8, ncols=3, loc="upper right")
for i, r in zip(x, log):          # each request's bar in the colour of the model it asked for;
    cold = r["loaded"]            # hatched and unfilled when it had to load that model first
    bottom.bar(i, r["seconds"], width=0.7, color="none" if cold else colour[r["model"]],
               edgecolor=colour[r["model"]], hatch="////" if cold else None, linewidth=1)
bottom.legend(handles=[Patch(facecolor="none", edgecolor="C7", hatch="////", label="loaded its model first"),
                       Patch(facecolor="C7", edgecolor="C7", label="model already resident")],
              fontsize=8, loc="upper right")
bottom.set_yscale("log")
bottom.set_ylabel("request latency (s)")
bottom.set_xlabel("request (32 greedy tokens)")
bottom.set_xticks(x)
plt.show()

# ---- the numbers the page states
first = {n: next(r for r in log if r["model"] == n) for n in NAMES}
reload_s = [r["seconds"] for r in log if r["loaded"] and r is not first[r["model"]]]
warm_s = [r["seconds"] for r in log if not r["loaded"]]
median = lambda xs: sorted(xs)[len(xs) // 2] if len(xs) % 2 else sum(sorted(xs)[len(xs) // 2 - 1:][:2]) / 2
value("budget_mib", f"{budget / MiB:.1f} MiB")
for name in NAMES:
    key = name.replace("-", "_")
    value(f"{key}_mib", f"{need[name] / MiB:.1f} MiB")
    value(f"{key}_first", f"{first[name]['seconds']:.2f} s")
value("student_kv_share", f"{100 * kv['student'] / need['student']:.0f}%")
value("wide_kv_share", f"{100 * kv['wide'] / need['wide']:.0f}%")
value("n_requests", f"{len(log)}")
value("n_loads", f"{sum(r['loaded'] for r in log)}")
value("n_evictions", f"{sum(len(r['evicted']) for r in log)}")
value("reload_median", f"{median(reload_s) * 1000:.0f} ms")
value("warm_median", f"{median(warm_s) * 1000:.0f} ms")
value("reload_over_warm", f"{median(reload_s) / median(warm_s):.1f}")

claim(all(r["status"] == 200 for r in log), "every request of the sequence was answered")
claim(all(memory[n] == (need[n] if n in log[-1]["resident"] else 0) for n in NAMES) and
      all(sum(need[m] for m in r["resident"]) <= budget for r in log),
      "the server counts the same footprints, and what is resident never passes the budget",
      memory=memory)
claim(all(len(r["resident"]) == 2 for r in log[1:]) and len(log[0]["resident"]) == 1,
      "after the first two loads, two models are resident at every point, never three")
claim(all(r["loaded"] for r in log[-4:]), "the last four requests, each for the model asked for "
      "longest ago, all had to load it")
texts = {n: {r["text"] for r in log if r["model"] == n} for n in NAMES}
reloaded = [n for n in NAMES if sum(r["loaded"] for r in log if r["model"] == n) > 1]
claim(len(reloaded) == len(NAMES) and all(len(texts[n]) == 1 for n in NAMES),
      "every model was reloaded after an eviction and gave the same greedy text as before",
      reloaded=reloaded)
claim(median(reload_s) > median(warm_s), "a request that reloads its model is slower than a warm "
      "one (medians)", reload=reload_s, warm=warm_s)
claim(first["student-early"]["seconds"] < first["student"]["seconds"] / 2,
      "the early student's first load, reusing the compiled programs of its shape, took less than "
      "half of the student's", early=first["student-early"]["seconds"], student=first["student"]["seconds"])
last_asked, lru_ok = {}, True
for i, r in enumerate(log):
    for victim in r["evicted"]:       # the victim was the resident model asked for longest ago
        others = [m for m in NAMES if m != r["model"] and (m in log[i - 1]["resident"])]
        lru_ok &= victim == min(others, key=lambda m: last_asked[m])
    last_asked[r["model"]] = i
claim(lru_ok, "each eviction removed the idle model asked for longest ago")
