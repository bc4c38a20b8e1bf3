"""The OpenAI completions protocol, as far as `rawweights serve` speaks it: parsing and checking a
request body, and the shapes of responses, stream chunks and errors.

Every check names the field that failed, in an OpenAI-style error body
(`{"error": {"message", "type", "param", "code"}}`), so the official client raises a
`BadRequestError` whose message says what to fix. Fields the server does not use (`user`,
`logprobs: null`, ...) are accepted and ignored, as clients send them by default; fields whose
value would change the answer and that are not supported (`n` > 1, `echo`, `best_of` > 1) are
refused rather than silently dropped.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass


class RequestError(Exception):
    """A request the server refuses: HTTP `status`, the field at fault (`param`), a message."""

    def __init__(self, message: str, param: str | None = None, status: int = 400,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.message, self.param, self.status, self.kind = message, param, status, kind

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param,
                          "code": None}}


@dataclass(frozen=True)
class Completion:
    """A checked completion request, prompt still as text (the model's tokenizer encodes it)."""

    model: str
    prompt: str
    max_tokens: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()
    stream: bool = False


def _number(body: dict, name: str, default, low: float, high: float, integer: bool = False,
            open_low: bool = False):
    value = body.get(name, default)
    if value is None:
        return default
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise RequestError(f"'{name}' must be {'an integer' if integer else 'a number'}, got {value!r}", name)
    if value < low or value > high or (open_low and value == low):
        bracket = "(" if open_low else "["
        raise RequestError(f"'{name}' must be in {bracket}{low}, {high}], got {value!r}", name)
    return value


def parse_completion(raw: bytes) -> Completion:
    """The request body of POST /v1/completions, checked; RequestError names what is wrong."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RequestError(f"the body is not valid JSON: {err}") from None
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("'model' is required: the name of a served model (GET /v1/models)", "model")
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise RequestError("'prompt' must be a non-empty string (one prompt per request)", "prompt")
    for name, limit in (("n", 1), ("best_of", 1)):
        if body.get(name) not in (None, 1):
            raise RequestError(f"'{name}' must be {limit}: this server returns one completion per request", name)
    if body.get("echo"):
        raise RequestError("'echo' is not supported", "echo")
    stop = body.get("stop")
    if stop is None:
        stop = []
    elif isinstance(stop, str):
        stop = [stop]
    if (not isinstance(stop, list) or len(stop) > 4
            or not all(isinstance(s, str) and s for s in stop)):
        raise RequestError("'stop' must be a non-empty string or a list of at most 4 of them", "stop")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError(f"'stream' must be true or false, got {stream!r}", "stream")
    seed = body.get("seed")
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
    elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise RequestError(f"'seed' must be a non-negative integer, got {seed!r}", "seed")
    return Completion(model=model, prompt=prompt,
                      max_tokens=_number(body, "max_tokens", 16, 1, 1 << 20, integer=True),
                      temperature=float(_number(body, "temperature", 1.0, 0, 2)),
                      top_p=float(_number(body, "top_p", 1.0, 0, 1, open_low=True)),
                      seed=seed, stop=tuple(stop), stream=stream)


def completion_id() -> str:
    return f"cmpl-{uuid.uuid4().hex[:24]}"


def completion_body(cid: str, model: str, text: str, finish: str | None, prompt_tokens: int,
                    completion_tokens: int | None = None) -> dict:
    """A whole response (completion_tokens given) or one stream chunk (None: no usage)."""
    body = {"id": cid, "object": "text_completion", "created": int(time.time()), "model": model,
            "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}]}
    if completion_tokens is not None:
        body["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                         "total_tokens": prompt_tokens + completion_tokens}
    return body


def sse(data: dict | str) -> bytes:
    """One server-sent event: `data: <json>` and a blank line."""
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()


class StopScanner:
    """Cuts generated text at the first stop string, and says how much of it is safe to stream:
    text that could still turn out to be the start of a stop string is held back."""

    def __init__(self, stops: tuple[str, ...]):
        self.stops, self.text, self.sent, self.stopped = stops, "", 0, False
        self.hold = max((len(s) for s in stops), default=1) - 1

    def add(self, piece: str) -> str:
        """Append newly generated text; return the new text that may be sent now."""
        if self.stopped:
            return ""
        self.text += piece
        cuts = [i for i in (self.text.find(s) for s in self.stops) if i >= 0]
        if cuts:
            self.text, self.stopped = self.text[:min(cuts)], True
            return self.flush()
        safe = max(self.sent, len(self.text) - self.hold)
        delta, self.sent = self.text[self.sent:safe], safe
        return delta

    def flush(self) -> str:
        """The text not sent yet (at the end of a completion)."""
        delta, self.sent = self.text[self.sent:], len(self.text)
        return delta
