"""`rawweights serve` as a client sees it: a real uvicorn process on 127.0.0.1, driven by the
official `openai` package and by raw HTTP for what a well-behaved client never sends."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

openai = pytest.importorskip("openai")
httpx = pytest.importorskip("httpx")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from _lib_support import TEXT  # noqa: E402
from rawweights_jax.serve.launch import launch, stop  # noqa: E402


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Two small trained checkpoints (different seeds), named by their folders."""
    from rawweights_jax.config import preset
    from rawweights_jax.data.shakespeare import Dataset
    from rawweights_jax.train.loop import train

    root = tmp_path_factory.mktemp("serve")
    cfg = preset("shakespeare-char-cpu").replace(max_iters=30, warmup_iters=3, eval_interval=30)
    for name, seed in (("student-a", 0), ("student-b", 1)):
        train(cfg.replace(seed=seed), Dataset.from_text(TEXT), out_dir=root / name, progress=None)
    return root / "student-a", root / "student-b"


def start(ckpts, *extra):
    return launch(ckpts, *extra, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def server(checkpoints):
    proc, url = start(checkpoints, "--max-batch", "4", "--max-queue", "8")
    yield url
    stop(proc)


def client(url):
    return openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=60)


def test_the_openai_client_lists_completes_and_streams(server):
    c = client(server)
    assert [m.id for m in c.models.list().data] == ["student-a", "student-b"]
    r = c.completions.create(model="student-a", prompt="First Citizen:\n", max_tokens=20, temperature=0, seed=1)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 20
    assert r.usage.prompt_tokens == 15 and len(r.choices[0].text) == 20
    chunks = list(c.completions.create(model="student-a", prompt="First Citizen:\n", max_tokens=20,
                                       temperature=0, seed=1, stream=True))
    assert "".join(ch.choices[0].text for ch in chunks) == r.choices[0].text
    assert chunks[-1].choices[0].finish_reason == "length"
    # the same seed gives the same sample; another seed (almost surely) another
    same = [c.completions.create(model="student-a", prompt="All:\n", max_tokens=30, temperature=1.0,
                                 seed=7).choices[0].text for _ in range(2)]
    assert same[0] == same[1]


def test_stop_strings_cut_the_text(server):
    c = client(server)
    full = c.completions.create(model="student-a", prompt="First Citizen:\n", max_tokens=40, temperature=0,
                                seed=1).choices[0].text
    stop = full[10:12]
    cut = c.completions.create(model="student-a", prompt="First Citizen:\n", max_tokens=40, temperature=0,
                               seed=1, stop=[stop])
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].text == full[:full.index(stop)]


def test_concurrent_greedy_requests_equal_the_same_request_alone(server):
    c = client(server)
    prompts = ["First Citizen:\n", "You are ", "First Citizen:\nYou", "All:\n", "A", "All:\nSpeak"]
    alone = [c.completions.create(model="student-b", prompt=p, max_tokens=25, temperature=0).choices[0].text
             for p in prompts]
    results = [None] * len(prompts)

    def ask(i):
        results[i] = c.completions.create(model="student-b", prompt=prompts[i], max_tokens=25,
                                          temperature=0).choices[0].text

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == alone


@pytest.mark.parametrize("body, param, status", [
    (b"{not json", None, 400),
    (b'{"prompt": "First"}', "model", 400),
    (b'{"model": "nobody", "prompt": "First"}', "model", 404),
    (b'{"model": "student-a", "prompt": "First{"}', "prompt", 400),
    (b'{"model": "student-a", "prompt": "' + b"A" * 64 + b'"}', "prompt", 400),
    (b'{"model": "student-a", "prompt": "A", "max_tokens": 64}', "max_tokens", 400),
    (b'{"model": "student-a", "prompt": "A", "temperature": 3}', "temperature", 400),
    (b'{"model": "student-a", "prompt": "A", "top_p": 0}', "top_p", 400),
    (b'{"model": "student-a", "prompt": "A", "n": 2}', "n", 400),
    (b'{"model": "student-a", "prompt": "A", "stream": "yes"}', "stream", 400),
])
def test_bad_requests_name_the_field(server, body, param, status):
    r = httpx.post(server + "/v1/completions", content=body, timeout=30)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["param"] == param and err["message"]


def test_the_client_raises_what_the_server_says(server):
    with pytest.raises(openai.BadRequestError, match="unknown character"):
        client(server).completions.create(model="student-a", prompt="First{", max_tokens=5)


def test_a_client_that_leaves_mid_stream_frees_its_slot_and_pages(server):
    before = scrape(server)
    ended = lambda m: sum(m.get(("rawweights_requests_total", "student-a", o), 0) for o in ("cancelled", "length"))
    with httpx.stream("POST", server + "/v1/completions", timeout=30,
                      json={"model": "student-a", "prompt": "A", "max_tokens": 60, "stream": True}) as r:
        for line in r.iter_lines():
            if line.startswith("data: {"):
                break                        # one token read; leave
    for _ in range(100):
        metrics = scrape(server)
        if metrics[("rawweights_requests_running", "student-a")] == 0:
            break
        time.sleep(0.05)
    assert metrics[("rawweights_requests_running", "student-a")] == 0
    assert metrics[("rawweights_kv_pages_used", "student-a")] == 0
    # cancelled, or finished first: eight tokens a decode call can outrun the disconnect
    assert ended(metrics) >= ended(before) + 1


def scrape(url) -> dict:
    out = {}
    for family in text_string_to_metric_families(httpx.get(url + "/metrics", timeout=10).text):
        for s in family.samples:
            out[(s.name, *s.labels.values())] = s.value
    return out


def test_metrics_are_prometheus_text_and_count_the_work(server):
    client(server).completions.create(model="student-a", prompt="First Citizen:\n", max_tokens=10, temperature=0)
    m = scrape(server)
    assert m[("rawweights_generated_tokens_total", "student-a")] >= 10
    assert m[("rawweights_time_to_first_token_seconds_count", "student-a")] >= 1
    assert m[("rawweights_time_per_output_token_seconds_count", "student-a")] >= 1
    assert m[("rawweights_model_loads_total", "student-a")] == 1
    httpx.post(server + "/v1/completions", json={"model": "nobody", "prompt": "A"}, timeout=10)
    assert scrape(server)[("rawweights_requests_rejected_total", "404")] >= 1


def test_sigterm_finishes_the_request_in_flight(checkpoints):
    proc, url = start(checkpoints[:1], "--no-warmup")
    stream = client(url).completions.create(model="student-a", prompt="A", max_tokens=60,
                                            temperature=0, stream=True)
    chunks = [next(iter(stream))]
    proc.send_signal(signal.SIGTERM)         # one token in: the other 59 are still to come
    chunks += list(stream)
    # uvicorn finishes what is in flight, then re-raises the signal it caught (exit -15)
    assert proc.wait(60) in (0, -signal.SIGTERM)
    assert len("".join(c.choices[0].text for c in chunks)) == 60
    assert chunks[-1].choices[0].finish_reason == "length"
    with pytest.raises(httpx.ConnectError):  # and it takes no new connections
        httpx.get(url + "/health", timeout=2)


def test_a_memory_budget_evicts_the_least_recently_used_model(checkpoints):
    proc, url = start(checkpoints, "--memory-budget", "8MiB", "--no-warmup")
    try:
        c = client(url)
        a1 = c.completions.create(model="student-a", prompt="All:\n", max_tokens=15, temperature=0).choices[0].text
        c.completions.create(model="student-b", prompt="All:\n", max_tokens=15, temperature=0)
        a2 = c.completions.create(model="student-a", prompt="All:\n", max_tokens=15, temperature=0).choices[0].text
        m = scrape(url)
        assert a1 == a2                                        # reloaded, same outputs
        assert m[("rawweights_model_loads_total", "student-a")] == 2
        assert m[("rawweights_model_evictions_total", "student-a")] >= 1
    finally:
        stop(proc)
    proc, url = start(checkpoints[:1], "--memory-budget", "1MiB")
    try:
        r = httpx.post(url + "/v1/completions", json={"model": "student-a", "prompt": "A"}, timeout=30)
        assert r.status_code == 400 and "memory budget" in r.json()["error"]["message"]
    finally:
        stop(proc)


def test_a_load_that_must_wait_for_a_busy_model_evicts_nobody(checkpoints, tmp_path):
    """student-a busy, student-b idle, and a wide model that fits beside neither: evicting b
    would not make room, so the request gets a 503 and b stays loaded."""
    from rawweights_jax.config import preset
    from rawweights_jax.data.shakespeare import Dataset
    from rawweights_jax.train.loop import train

    wide = preset("shakespeare-char-cpu").replace(d_model=256, n_heads=8, max_iters=2, warmup_iters=1,
                                                  eval_interval=2, eval_iters=1)
    train(wide, Dataset.from_text(TEXT), out_dir=tmp_path / "wide", progress=None)
    proc, url = start([*checkpoints, tmp_path / "wide"], "--memory-budget", "18MiB")  # a+b or wide
    try:
        c = client(url)
        for name in ("student-a", "student-b"):
            c.completions.create(model=name, prompt="A", max_tokens=2)
        done = threading.Event()

        def keep_a_busy():
            while not done.is_set():
                c.completions.create(model="student-a", prompt="A", max_tokens=48)

        threads = [threading.Thread(target=keep_a_busy) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        r = httpx.post(url + "/v1/completions", json={"model": "wide", "prompt": "A"}, timeout=60)
        done.set()
        for t in threads:
            t.join()
        assert r.status_code == 503 and "retry" in r.json()["error"]["message"]
        assert httpx.get(url + "/health", timeout=10).json()["loaded"] == ["student-a", "student-b"]
        assert scrape(url).get(("rawweights_model_evictions_total", "student-b"), 0) == 0
    finally:
        stop(proc)


def test_bad_command_lines_are_one_line_and_exit_2(tmp_path):
    for args, message in ((["--ckpt", str(tmp_path)], "no checkpoint there"),
                          (["--ckpt", str(tmp_path), "--memory-budget", "lots"], "size 'lots'")):
        r = subprocess.run([sys.executable, "-m", "rawweights_jax.cli", "serve", *args],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and message in r.stderr, r.stderr
