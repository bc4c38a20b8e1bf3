"""`rawweights serve`: the app of serve/app.py on uvicorn, bound to 127.0.0.1 unless told otherwise.

    rawweights serve --ckpt out/cpu [--ckpt out/other ...] [--port 8000] [--batching continuous]

SIGTERM (or Ctrl-C) stops taking connections, lets the requests in flight finish (uvicorn's
graceful shutdown), then stops the engines.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rawweights_jax.ckpt.checkpoint import LATEST


def build(ckpts: list[Path], *, batching: str = "continuous", max_batch: int = 8,
          kv_pages: int | None = None, page_size: int = 16, memory_budget: int | None = None,
          max_queue: int = 256, decode_steps: int = 8, warmup: bool = True):
    """(app, pool, metrics) for these checkpoints; nothing is loaded until its first request."""
    from rawweights_jax.serve.app import create_app
    from rawweights_jax.serve.metrics import Metrics
    from rawweights_jax.serve.pool import ModelPool

    for ckpt in ckpts:
        if not (Path(ckpt).is_file() or (Path(ckpt) / LATEST).is_file()):
            raise ValueError(f"--ckpt {ckpt}: no checkpoint there (expected a .safetensors file "
                             f"or a folder holding {LATEST})")
    metrics = Metrics()
    pool = ModelPool(list(ckpts), memory_budget, metrics, mode=batching, slots=max_batch,
                     pages=kv_pages, page_size=page_size, max_queue=max_queue,
                     decode_steps=decode_steps, warmup=warmup)
    return create_app(pool, metrics), pool, metrics


def serve(ckpts: list[Path], host: str = "127.0.0.1", port: int = 8000, **kw) -> None:
    import uvicorn

    app, pool, _ = build(ckpts, **kw)
    print(f"rawweights serve: starting {', '.join(pool.names())} on http://{host}:{port}/v1 "
          f"({kw.get('batching', 'continuous')} batching); Ctrl-C or SIGTERM to stop",
          file=sys.stderr, flush=True)
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                  timeout_graceful_shutdown=60)).run()
