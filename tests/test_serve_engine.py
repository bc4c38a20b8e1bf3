"""The serving engine in process: every batching mode gives each greedy request the text that
`generate` gives it alone; seeds decide samples; cancelled and finished requests free their
pages; the queue and the context are enforced; the request parser names bad fields; and
`rawweights bench serve` runs its cheapest point against a real server."""

from __future__ import annotations

import threading

import pytest

from _lib_support import TEXT
from rawweights_jax.config import preset
from rawweights_jax.data.shakespeare import Dataset
from rawweights_jax.inference.generate import generate
from rawweights_jax.kvcache.paged import batch_rows, read_width
from rawweights_jax.serve.engine import Engine, EngineStopped, QueueFull, Request
from rawweights_jax.serve.protocol import RequestError, StopScanner, parse_completion
from rawweights_jax.train.loop import train

PROMPTS = ["First Citizen:\n", "You are ", "All:\nSpeak", "A", "hear me", "Before we proceed"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cfg = preset("shakespeare-char-cpu").replace(max_iters=30, warmup_iters=3, eval_interval=30)
    data = Dataset.from_text(TEXT)
    out = tmp_path_factory.mktemp("engine") / "student"
    result = train(cfg, data, out_dir=out, progress=None)
    return result.model, data.tokenizer, out


def ask(engine, tokenizer, prompt, n, temperature=0.0, seed=0, stop=()):
    events, done = [], threading.Event()

    def emit(kind, payload):
        events.append((kind, payload))
        if kind in ("done", "error"):
            done.set()

    request = Request(tokenizer.encode(prompt), n, temperature, 1.0, seed, stop, emit)
    engine.submit(request)
    return request, events, done


def text_of(events):
    return "".join(p for k, p in events if k == "text")


@pytest.mark.parametrize("mode", ["continuous", "static", "none"])
def test_every_mode_gives_each_greedy_request_its_text_alone(trained, mode):
    model, tokenizer, _ = trained
    engine = Engine(model, tokenizer, mode=mode, slots=3, page_size=8, batch_wait=0.01).start()
    try:
        asked = [ask(engine, tokenizer, p, 20 + 4 * i) for i, p in enumerate(PROMPTS)]
        for _, _, done in asked:
            assert done.wait(120)
        for (request, events, _), p in zip(asked, PROMPTS):
            want = generate(model, [tokenizer.encode(p)], request.max_tokens, temperature=0.0)[0]
            assert text_of(events) == tokenizer.decode(want) and events[-1] == ("done", "length")
        assert engine.kv_stats()["pages_used"] == 0
    finally:
        engine.stop()


def test_seeds_decide_samples_whatever_the_batch(trained):
    model, tokenizer, _ = trained
    engine = Engine(model, tokenizer, slots=4, page_size=8).start()
    try:
        alone = ask(engine, tokenizer, "All:\n", 30, temperature=1.0, seed=5)
        alone[2].wait(60)
        crowd = [ask(engine, tokenizer, p, 30, temperature=1.0, seed=i) for i, p in enumerate(PROMPTS)]
        again = ask(engine, tokenizer, "All:\n", 30, temperature=1.0, seed=5)
        for _, _, done in crowd + [again]:
            assert done.wait(60)
        assert text_of(again[1]) == text_of(alone[1])
    finally:
        engine.stop()


def test_cancelled_requests_leave_and_the_limits_hold(trained):
    model, tokenizer, _ = trained
    engine = Engine(model, tokenizer, slots=2, page_size=8, max_queue=2)
    first = ask(engine, tokenizer, "A", 40)
    second = ask(engine, tokenizer, "You are ", 10)
    with pytest.raises(QueueFull):
        ask(engine, tokenizer, "A", 40)
    with pytest.raises(ValueError, match="exceed the context"):
        ask(engine, tokenizer, "A" * 30, 40)
    first[0].cancel()                         # gone before it ran: never started, never answered
    engine.start()
    try:
        assert second[2].wait(60) and text_of(second[1])
        assert not first[2].is_set() and not first[0].generated
        assert engine.kv_stats()["pages_used"] == 0
    finally:
        engine.stop()
    with pytest.raises(EngineStopped):       # evicted: the server asks its pool again
        ask(engine, tokenizer, "A", 4)


@pytest.mark.parametrize("decode_steps", [1, 5])
def test_a_stop_string_ends_the_request_inside_a_chunk_of_steps(trained, decode_steps):
    model, tokenizer, _ = trained
    want = tokenizer.decode(generate(model, [tokenizer.encode("All:\n")], 40, temperature=0.0)[0])
    stop = want[12:14]
    engine = Engine(model, tokenizer, slots=2, page_size=8, decode_steps=decode_steps).start()
    try:
        request, events, done = ask(engine, tokenizer, "All:\n", 40, stop=(stop,))
        other = ask(engine, tokenizer, "You are ", 33)
        assert done.wait(60) and other[2].wait(60)
        assert text_of(events) == want[:want.index(stop)] and events[-1] == ("done", "stop")
        assert other[1][-1] == ("done", "length") and len(other[0].generated) == 33
        assert engine.kv_stats()["pages_used"] == 0
    finally:
        engine.stop()


def test_a_decode_step_reads_only_the_block_table_columns_and_rows_in_use():
    assert [read_width(n, 16) for n in (0, 1, 2, 3, 5, 9, 16)] == [4, 4, 4, 4, 8, 16, 16]
    assert read_width(7, 6) == 6 and read_width(1, 2) == 2
    assert [batch_rows(n, 8) for n in (1, 2, 3, 5, 8)] == [1, 2, 4, 8, 8]
    assert batch_rows(5, 6) == 6


def test_stop_strings_hold_back_only_what_could_start_one():
    scan = StopScanner(("\n\n", "END"))      # up to 2 characters may be the start of a stop
    assert [scan.add(p) for p in ("ab", "c", "\n", "\n")] == ["", "a", "b", "c"]
    assert scan.stopped and scan.text == "abc" and scan.add("more") == ""


@pytest.mark.parametrize("body, param", [
    (b"[]", None), (b'{"model": "m"}', "prompt"), (b'{"model": "m", "prompt": "x", "seed": -1}', "seed"),
    (b'{"model": "m", "prompt": "x", "stop": ["a", "b", "c", "d", "e"]}', "stop"),
    (b'{"model": "m", "prompt": "x", "max_tokens": 0}', "max_tokens"),
    (b'{"model": "m", "prompt": "x", "echo": true}', "echo"),
])
def test_the_parser_names_the_field(body, param):
    with pytest.raises(RequestError) as err:
        parse_completion(body)
    assert err.value.param == param and err.value.status == 400


def test_bench_serve_cheapest_point(trained):
    from rawweights_jax.bench.serve import bench_serve

    _, _, ckpt = trained
    result = bench_serve(rates=(8.0,), modes=("continuous",), requests=6, max_batch=4,
                         max_seconds=120, invariance_sample=3, soak_seconds=4, stream_rounds=1,
                         ckpt=ckpt, text=TEXT, quiet=True)
    run = result["runs"][0]
    assert run["errors"] == 0 and run["completed"] == 6
    assert run["batch_invariant_fraction"] == 1.0
    assert run["throughput_tokens_per_second"] > 0 and run["ttft_p99_ms"] >= run["ttft_p50_ms"]
    assert 0 < run["kv_bytes_used"] <= run["kv_bytes_reserved"]
    lone = result["stream_vs_generate"]
    assert lone["same_text"] and lone["ratio_median"] > 0
    soak = result["soak"]
    assert soak["sent"] == soak["completed"] + soak["rejected_429"] and soak["completed"] >= 1
    assert soak["server_errors_5xx"] == soak["broken_streams"] == soak["client_errors"] == 0
    assert soak["completed_exact_tokens"] == soak["completed"] and soak["batch_invariant_fraction"] == 1.0
    assert soak["server_exit_status"] in (0, -15) and soak["series"]
    assert soak["ttft_histogram"][-1][1] >= soak["completed"]      # the +Inf bucket counts them all
