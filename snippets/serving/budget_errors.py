"""The two answers of a server whose budget is too small: a 400 for a model larger than the
whole budget, and a 503 ("retry shortly") for a model that would fit only if a busy one left.
A real `rawweights serve` on loopback holding room for one student and never the wide model.

Run on its own: python snippets/serving/budget_errors.py   (about 15 seconds)
"""

import json
import threading
import time
import urllib.error
import urllib.request

from _budget_models import footprint, model_folders
from rwsite.claims import claim, value

from rawweights_jax.serve.launch import launch, stop

folders = model_folders()
need = {name: footprint(folder) for name, folder in folders.items()}


def ask(url, model, max_tokens=32):
    """POST a greedy completion; (HTTP status, parsed JSON body)."""
    body = json.dumps({"model": model, "prompt": "ROMEO:\n", "max_tokens": max_tokens,
                       "temperature": 0}).encode()
    req = urllib.request.Request(url + "/v1/completions", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# --8<-- [start:errors]
small = need["student"] + need["student"] // 2        # one student fits; the wide model never does
server, base = launch(list(folders.values()), "--memory-budget", str(small))
too_big = ask(base, "wide")
ask(base, "student")                                    # loads the student

done = threading.Event()


def keep_busy():                                        # four requests for it always in flight
    while not done.is_set():
        ask(base, "student", max_tokens=48)


threads = [threading.Thread(target=keep_busy) for _ in range(4)]
for t in threads:
    t.start()
time.sleep(0.5)
retry = ask(base, "student-early")                     # fits only if the busy student left
done.set()
for t in threads:
    t.join()
loaded = json.loads(urllib.request.urlopen(base + "/health").read())["loaded"]
stop(server)
for status, body in (too_big, retry):
    print(status, json.dumps(body, indent=1))
print("loaded afterwards:", loaded)
# --8<-- [end:errors]

value("small_mib", f"{small / 2**20:.1f} MiB")
value("too_big_status", f"{too_big[0]}")
value("retry_status", f"{retry[0]}")
claim(too_big[0] == 400 and "memory budget" in too_big[1]["error"]["message"],
      "the wide model is refused with a 400 naming the budget", body=too_big[1])
claim(retry[0] == 503 and "retry" in retry[1]["error"]["message"],
      "the early student gets a 503 asking to retry while the student is busy", body=retry[1])
claim(loaded == ["student"], "the busy student stayed loaded", loaded=loaded)
