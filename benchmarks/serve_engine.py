"""The serving engine in process (no HTTP): tokens/s of a full batch of greedy requests, for a
few decode-steps-per-call and slot counts, against `generate()` on one request. Rounds are
interleaved (every setting once per round), so a change in the machine's load hits all alike;
the file keeps each round, the medians and the ranges.

    python benchmarks/serve_engine.py [--rounds 3] [--tokens 200]   (about a minute a round)

The model is the shakespeare-char preset (10.7M parameters, 256-token context), freshly
initialised: speed does not depend on the weights. Each request: a 5-token prompt and
`--tokens` new tokens, all `slots` submitted at once; the time runs from the first submit to
the last token. `generate` is timed the same way on one request (prefill included).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import numpy as np

import _results

SETTINGS = [(1, 1), (1, 8), (8, 1), (8, 8), (16, 8)]      # (slots, decode_steps)


def engine_rate(engine, tokens: int, slots: int) -> float:
    from rawweights_jax.serve.engine import Request

    done = threading.Semaphore(0)
    finish = lambda kind, _: done.release() if kind in ("done", "error") else None
    requests = [Request([1, 2, 3, 4, 5], tokens, 0.0, 1.0, i, (), finish) for i in range(slots)]
    start = time.perf_counter()
    for r in requests:
        engine.submit(r)
    for _ in requests:
        done.acquire()
    elapsed = time.perf_counter() - start
    if any(len(r.generated) != tokens for r in requests):
        raise RuntimeError("a request ended early: the timing would be wrong")
    return slots * tokens / elapsed


def generate_rate(model, tokens: int) -> float:
    from rawweights_jax.inference.generate import generate

    start = time.perf_counter()
    np.asarray(generate(model, [[1, 2, 3, 4, 5]], tokens, temperature=0.0))
    return tokens / (time.perf_counter() - start)


def main(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    from rawweights_jax.config import preset
    from rawweights_jax.data.tokenizer import CharTokenizer
    from rawweights_jax.model.gpt import init_model
    from rawweights_jax.serve.engine import Engine

    cfg = preset("shakespeare-char").model
    model = init_model(cfg)
    tokenizer = CharTokenizer("".join(chr(32 + i) for i in range(cfg.vocab_size)))
    engines = {}
    for slots, steps in SETTINGS:
        mode = "none" if slots == 1 else "continuous"
        engines[slots, steps] = Engine(model, tokenizer, mode=mode, slots=slots,
                                       decode_steps=steps).start()
        engine_rate(engines[slots, steps], args.tokens, slots)           # compile every width
    generate_rate(model, args.tokens)
    rounds = []
    for i in range(args.rounds):
        row = {f"slots{s}_steps{n}": round(engine_rate(e, args.tokens, s), 1)
               for (s, n), e in engines.items()}
        row["generate_b1"] = round(generate_rate(model, args.tokens), 1)
        rounds.append(row)
        print(f"round {i + 1}: " + ", ".join(f"{k} {v}" for k, v in row.items()), file=sys.stderr)
    for e in engines.values():
        e.stop()
    result = {"benchmark": "serve-engine", "model": "shakespeare-char (random weights)",
              "tokens_per_request": args.tokens, "rounds": rounds,
              "tokens_per_second_median": {k: float(np.median([r[k] for r in rounds])) for k in rounds[0]},
              "tokens_per_second_range": {k: [min(r[k] for r in rounds), max(r[k] for r in rounds)]
                                          for k in rounds[0]}}
    result.update(_results.stamp("serve_engine.py", argv, "rawweights_jax/serve/engine.py"))
    out = _results.write(args.out or _results.default_path("serve-engine"), result)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
