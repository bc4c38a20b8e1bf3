"""The HTTP side of `rawweights serve`: an ASGI app (Starlette) speaking the OpenAI completions
protocol, run by uvicorn.

    POST /v1/completions   a completion, whole or streamed as server-sent events
    GET  /v1/models        the models this server can serve (loaded or not)
    GET  /health           200 while the server takes requests
    GET  /metrics          Prometheus text format (serve/metrics.py)

Errors are OpenAI-shaped JSON naming the field (serve/protocol.py): 400 for a bad request, 404
for an unknown model, 429 when the queue is full, 503 while shutting down. A client that goes
away mid-stream cancels its request: the engine frees its slot and pages before its next step.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from starlette.applications import Starlette
from starlette.requests import Request as HTTPRequest
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from rawweights_jax.serve.engine import EngineStopped, QueueFull, Request
from rawweights_jax.serve.metrics import Metrics
from rawweights_jax.serve.pool import ModelPool
from rawweights_jax.serve.protocol import (Completion, RequestError, completion_body, completion_id,
                                           parse_completion, sse)


def error_response(err: RequestError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status)


async def _start(pool: ModelPool, c: Completion):
    """The engine, the queued Request and the queue its events arrive on. An engine evicted
    between the pool's answer and the submission refuses the request (EngineStopped): the
    pool is asked again, which loads the model anew."""
    for _ in range(3):
        engine = await pool.get(c.model)
        try:
            prompt = engine.tokenizer.encode(c.prompt)
        except ValueError as err:
            raise RequestError(f"'prompt': {err}", "prompt") from None
        ctx = engine.cfg.context_len
        if len(prompt) >= ctx:
            raise RequestError(f"'prompt' is {len(prompt)} tokens; {c.model} reads at most "
                               f"{ctx - 1} and needs room for one new token", "prompt")
        if len(prompt) + c.max_tokens > ctx:
            raise RequestError(f"'max_tokens' is {c.max_tokens}: with the {len(prompt)}-token "
                               f"prompt that passes {c.model}'s context of {ctx}; ask for at "
                               f"most {ctx - len(prompt)}", "max_tokens")
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        emit = lambda kind, payload: loop.call_soon_threadsafe(events.put_nowait, (kind, payload))
        request = Request(prompt, c.max_tokens, c.temperature, c.top_p, c.seed, c.stop, emit)
        try:
            engine.submit(request)
        except QueueFull as err:
            raise RequestError(f"too many requests waiting for {c.model} ({err}): retry shortly",
                               None, 429, "rate_limit_error") from None
        except EngineStopped:
            continue
        return engine, request, events, len(prompt)
    raise RequestError(f"model {c.model!r} was evicted three times while this request arrived: "
                       "retry shortly", None, 503, "server_error")


def create_app(pool: ModelPool, metrics: Metrics) -> Starlette:
    state = {"closing": False}

    async def completions(http: HTTPRequest) -> Response:
        if state["closing"]:
            return error_response(RequestError("the server is shutting down", None, 503, "server_error"))
        try:
            c = parse_completion(await http.body())
            engine, request, events, n_prompt = await _start(pool, c)
        except RequestError as err:
            metrics.rejected.labels(str(err.status)).inc()
            return error_response(err)
        cid = completion_id()
        if c.stream:
            return StreamingResponse(_stream(cid, c, request, events, n_prompt),
                                     media_type="text/event-stream")
        text, finish = [], None
        try:
            while True:
                kind, payload = await events.get()
                if kind == "text":
                    text.append(payload)
                elif kind == "done":
                    finish = payload
                    break
                else:
                    return error_response(RequestError(payload, None, 500, "server_error"))
        finally:
            if finish is None:
                request.cancel()
        return JSONResponse(completion_body(cid, c.model, "".join(text), finish, n_prompt,
                                            len(request.generated)))

    async def _stream(cid, c: Completion, request: Request, events, n_prompt):
        done = False
        try:
            while True:
                kind, payload = await events.get()
                if kind == "text":
                    yield sse(completion_body(cid, c.model, payload, None, n_prompt))
                elif kind == "done":
                    done = True
                    yield sse(completion_body(cid, c.model, "", payload, n_prompt, len(request.generated)))
                    yield sse("[DONE]")
                    return
                else:
                    done = True
                    yield sse({"error": {"message": payload, "type": "server_error", "param": None,
                                         "code": None}})
                    return
        finally:
            if not done:                      # the client went away: free the slot
                request.cancel()

    async def models(_: HTTPRequest) -> Response:
        now = int(time.time())
        return JSONResponse({"object": "list", "data": [
            {"id": name, "object": "model", "created": now, "owned_by": "rawweights"}
            for name in pool.names()]})

    async def health(_: HTTPRequest) -> Response:
        if state["closing"]:
            return JSONResponse({"status": "shutting down"}, status_code=503)
        return JSONResponse({"status": "ok", "loaded": sorted(pool.engines)})

    async def prometheus(_: HTTPRequest) -> Response:
        return Response(metrics.text(), media_type=metrics.content_type)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        state["closing"] = True               # uvicorn has finished the requests in flight
        await asyncio.to_thread(pool.close, True)

    return Starlette(routes=[Route("/v1/completions", completions, methods=["POST"]),
                             Route("/v1/models", models, methods=["GET"]),
                             Route("/health", health, methods=["GET"]),
                             Route("/metrics", prometheus, methods=["GET"])],
                     lifespan=lifespan)
