"""The playground in Debian's Chromium (driven by Playwright): the JavaScript model against JAX.

Two parts. The model alone (no site build): tiny checkpoints trained here are exported
(float32 and float16; tied and untied heads, biases, grouped-query attention) and served with
docs/javascripts/ on 127.0.0.1; the logits `model.js` computes must equal those JAX computes
from the same bundle within 1e-4, on the reference prompts and on random ones, and a greedy
continuation of 200 characters (many context cuts at a 16-character context) must be JAX's,
character for character. Then the real page of the built site, with the shared student:
the same checks through `window.rawweights.playground`, no console error, no request off the
site, a clear message for a bundle that fails to load, the keyboard, a 390-pixel screen, both
palettes. It prints (does not assert) the generation speed and the time to the first
prediction. Skips, saying why, where Chromium is not installed.

The float16 tolerance is the float32 one: the reference logits are computed from the rounded
weights, so the browser's arithmetic is checked to the same 1e-4; what the rounding itself
costs against the float32 checkpoint is recorded in reference.json ("rounding").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from _lib_support import tiny_config, tiny_data
from _site_support import SITE_BUILD_TIMEOUT_S, built_site
from test_site_browser import CHROMIUM, browser, serve  # noqa: F401 (browser: a fixture)

REPO = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-4
GREEDY = 200

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.timeout(SITE_BUILD_TIMEOUT_S + 300),  # the page tests may build the site first
]


def watched(page, problems: list[str], allow_404: bool = False):
    """Record console errors, page errors and any request that leaves 127.0.0.1."""
    def console(msg):
        if msg.type == "error" and not (allow_404 and "404" in msg.text):
            problems.append(f"console: {msg.text}")
    page.on("console", console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("request", lambda req: urlsplit(req.url).hostname not in (None, "127.0.0.1")
            and urlsplit(req.url).scheme in ("http", "https", "ws", "wss")
            and problems.append(f"request to {req.url}"))
    return page


def random_prompts(chars: str, lengths, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(chars[i] for i in rng.integers(0, len(chars), n)) for n in lengths]


def jax_logits(bundle: Path, prompts: list[str]) -> np.ndarray:
    """JAX's next-character logits from the bundle's weights (each prompt's last context_len)."""
    from rawweights_jax.web.export import last_logits, load_bundle

    model, tok, manifest = load_bundle(bundle)
    ctx = manifest["model"]["context_len"]
    return last_logits(model, [tok.encode(p)[-ctx:] for p in prompts])


# ------------------------------------------------------------------ the model alone

HARNESS = """<!doctype html><html lang="en"><meta charset="utf-8"><title>playground harness</title>
<link rel="icon" href="data:,">
<script src="js/rw-sampling.js"></script>
<script type="module">
import * as model from "./js/playground/model.js";
import * as generate from "./js/playground/generate.js";
window.harness = {model, generate};
</script></html>"""

RUN = """async ([url, prompts, prompt, n]) => {
  const {model: M, generate: G} = window.harness;
  const m = await M.loadBundle(url);
  const logits = prompts.map((p) => Array.from(m.predict(p)));
  const out = [];
  const choose = G.chooser(m.vocab.length, {temperature: 0});
  for (const {token} of G.continuation(m.session(), m.encode(prompt), n, choose)) out.push(token);
  return {logits, greedy: m.decode(out)};
}"""

VARIANTS = {   # name: (model changes, dtype)
    "gpt-f32": ({}, "float32"),
    "gpt-f16": ({}, "float16"),
    "untied-bias-gqa-f32": ({"bias": True, "tie_embeddings": False, "n_kv_heads": 2}, "float32"),
    # the Llama style of the llama-char-cpu preset: rotary positions, RMSNorm, SwiGLU, GQA
    "llama-gqa-f16": ({"position": "rope", "norm": "rmsnorm", "mlp": "swiglu", "n_kv_heads": 2,
                       "tie_embeddings": False}, "float16"),
}


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    from rawweights_jax.train.loop import train
    from rawweights_jax.web.export import export_web

    root = tmp_path_factory.mktemp("harness")
    shutil.copytree(REPO / "docs" / "javascripts", root / "js")
    (root / "index.html").write_text(HARNESS)
    data = tiny_data()
    for name, (changes, dtype) in VARIANTS.items():
        run = root / "runs" / name
        train(tiny_config(max_iters=30, **changes), data, out_dir=run, progress=None)
        export_web(run, root / name, dtype=dtype, continuation=GREEDY)
    # a bundle of an architecture model.js does not implement
    shutil.copytree(root / "gpt-f32", root / "moe")
    manifest = json.loads((root / "moe" / "manifest.json").read_text())
    manifest["model"].update(n_experts=4, qk_norm=True)
    (root / "moe" / "manifest.json").write_text(json.dumps(manifest))
    yield from serve(root)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_javascript_logits_and_greedy_text_equal_jax(harness, browser, variant):
    root, base = harness
    reference = json.loads((root / variant / "reference.json").read_text())
    chars = "".join(json.loads((root / variant / "manifest.json").read_text())["vocab"])
    randoms = random_prompts(chars, [1, 2, 5, 9, 15, 16, 17, 40])     # past the context too
    prompts = [p["text"] for p in reference["prompts"]] + randoms
    expected = np.asarray([p["logits"] for p in reference["prompts"]] + list(jax_logits(root / variant, randoms)))
    problems: list[str] = []
    page = watched(browser.new_page(), problems)
    page.goto(f"{base}/index.html")
    page.wait_for_function("window.harness !== undefined")
    got = page.evaluate(RUN, [f"{base}/{variant}/manifest.json", prompts, reference["greedy"]["prompt"], GREEDY])
    page.close()
    worst = np.abs(np.asarray(got["logits"]) - expected).max()
    assert worst <= TOLERANCE, f"{variant}: largest logit difference {worst:.2e}"
    assert got["greedy"] == reference["greedy"]["text"], f"{variant}: greedy continuation differs"
    assert not problems, "\n".join(problems)


INSIDE = """async ([url, texts]) => {
  const {model: M, generate: G} = window.harness;
  const m = await M.loadBundle(url);
  return texts.map((t) => {
    const s = m.session();
    const bits = Array.from(G.surprisal(s, m.encode(t)));
    s.prefill(m.encode(t).slice(-m.S));
    const {tokens, rows} = s.attention();
    return {bits, tokens, weights: Array.from({length: m.L}, (_, l) => rows(l).map((w) => Array.from(w)))};
  });
}"""


@pytest.mark.parametrize("variant", ["gpt-f32", "untied-bias-gqa-f32", "llama-gqa-f16"])
def test_javascript_surprise_and_attention_equal_jax(harness, browser, variant):
    """The teacher's score (bits per character) and each head's attention weights for the last
    character, against one JAX forward pass over the same bundle (texts within the context)."""
    import jax
    import jax.numpy as jnp

    from rawweights_jax.model.trace import trace
    from rawweights_jax.web.export import load_bundle

    root, base = harness
    model, tok, manifest = load_bundle(root / variant)
    chars = "".join(manifest["vocab"])
    texts = random_prompts(chars, [2, 7, manifest["model"]["context_len"]], seed=3)
    page = browser.new_page()
    page.goto(f"{base}/index.html")
    page.wait_for_function("window.harness !== undefined")
    got = page.evaluate(INSIDE, [f"{base}/{variant}/manifest.json", texts])
    page.close()
    for text, result in zip(texts, got):
        ids = tok.encode(text)
        t = trace(model, jnp.asarray([ids]))
        logp = np.asarray(jax.nn.log_softmax(t.logits_BTV[0].astype(jnp.float32), axis=-1))
        bits = -logp[np.arange(len(ids) - 1), ids[1:]] / np.log(2)
        assert np.isnan(result["bits"][0])
        assert np.abs(np.asarray(result["bits"][1:]) - bits).max() <= TOLERANCE, text
        assert result["tokens"] == ids
        probs = np.asarray(t.probs_LBNTS[:, 0, :, -1, :])           # layer, head, key
        assert np.abs(np.asarray(result["weights"]) - probs).max() <= 1e-5, text
        assert np.allclose(np.asarray(result["weights"]).sum(-1), 1, atol=1e-5)


def test_surprise_past_the_context_rereads_the_latest_half(harness, browser):
    """Past the context the score of each character is the one JAX gives it from the window the
    JavaScript read (the latest half-context, re-read whenever the cache is full)."""
    from rawweights_jax.web.export import last_logits, load_bundle

    root, base = harness
    model, tok, manifest = load_bundle(root / "gpt-f32")
    S = manifest["model"]["context_len"]
    text = random_prompts("".join(manifest["vocab"]), [3 * S + 5], seed=4)[0]
    page = browser.new_page()
    page.goto(f"{base}/index.html")
    page.wait_for_function("window.harness !== undefined")
    bits = np.asarray(page.evaluate(INSIDE, [f"{base}/gpt-f32/manifest.json", [text]])[0]["bits"])
    page.close()
    ids = tok.encode(text)
    windows, start = [], 0          # the window each prediction is read from, as surprisal cuts
    for i in range(1, len(ids)):
        if i - start > S:
            start = i - S // 2
        windows.append(ids[start:i])
    logits = last_logits(model, windows)
    logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) - logits.max(-1, keepdims=True)
    expected = -logp[np.arange(len(ids) - 1), ids[1:]] / np.log(2)
    assert np.abs(bits[1:] - expected).max() <= TOLERANCE


def test_an_unimplemented_architecture_is_refused_by_name(harness, browser):
    _, base = harness
    page = browser.new_page()
    page.goto(f"{base}/index.html")
    page.wait_for_function("window.harness !== undefined")
    message = page.evaluate("""async (url) => {
      try { await window.harness.model.loadBundle(url); return "loaded"; }
      catch (err) { return err.name + ": " + err.message; }
    }""", f"{base}/moe/manifest.json")
    page.close()
    assert message.startswith("BundleError: this model's architecture is not implemented in the browser: "
                              "n_experts=4 (the browser model implements 0)"), message
    assert "qk_norm=true (the browser model implements false)" in message


# ------------------------------------------------------------------ the page of the built site

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    yield from serve(built_site(tmp_path_factory.mktemp("site")).directory)


BUNDLE = "playground/robot-student"


def open_playground(browser, base, problems, query="", served=None, **context):
    page = watched(browser.new_context(**context).new_page(), problems, allow_404="model=" in query)
    if served is not None:     # every path the page fetched, its search index included
        page.context.on("requestfinished", lambda req: served.add(urlsplit(req.url).path))
    page.goto(f"{base}/playground/{query}", wait_until="load")
    return page


def test_the_page_runs_the_shared_student_as_jax_does(site, browser):
    directory, base = site
    bundle = directory / BUNDLE
    reference = json.loads((bundle / "reference.json").read_text())
    chars = "".join(json.loads((bundle / "manifest.json").read_text())["vocab"])
    randoms = random_prompts(chars, [1, 3, 10, 33, 63, 64, 100])
    prompts = [p["text"] for p in reference["prompts"]] + randoms
    expected = np.asarray([p["logits"] for p in reference["prompts"]] + list(jax_logits(bundle, randoms)))
    problems: list[str] = []
    served: set[str] = set()
    page = open_playground(browser, base, problems, served=served)
    page.wait_for_function("window.rawweights && window.rawweights.playground && "
                           "window.rawweights.playground.firstPredictionMs !== undefined")
    first_ms = page.evaluate("window.rawweights.playground.firstPredictionMs")
    got = page.evaluate("""async (prompts) => {
      const api = window.rawweights.playground;
      const out = [];
      for (const p of prompts) out.push(Array.from(await api.predict(p)));
      return out;
    }""", prompts)
    greedy = page.evaluate("([p, n]) => window.rawweights.playground.generate(p, {maxNewTokens: n, temperature: 0})",
                           [reference["greedy"]["prompt"], GREEDY])
    speed = page.evaluate("""async () => {
      const api = window.rawweights.playground;
      const t = performance.now();
      const text = await api.generate("ROMEO:\\n", {maxNewTokens: 2000, temperature: 0.8, topK: 20, seed: 1});
      return text.length / ((performance.now() - t) / 1000);
    }""")
    again = page.evaluate("window.rawweights.playground.generate('ROMEO:\\n', {maxNewTokens: 50, temperature: 0.8, topK: 20, seed: 1})")
    page.wait_for_load_state("networkidle")
    weight = sum((directory / p.lstrip("/")).stat().st_size if (directory / p.lstrip("/")).is_file()
                 else (directory / p.lstrip("/") / "index.html").stat().st_size for p in served)
    print(f"\nplayground in headless Chromium: first prediction {first_ms:.0f} ms after navigation start, "
          f"generation {speed:.0f} characters/s "
          f"(2000 sampled), page and bundle {weight / 1e6:.2f} MB over {len(served)} requests")
    worst = np.abs(np.asarray(got) - expected).max()
    assert worst <= TOLERANCE, f"largest logit difference {worst:.2e}"
    assert greedy == reference["greedy"]["text"]
    assert len(again) == 50 and again == page.evaluate(
        "window.rawweights.playground.generate('ROMEO:\\n', {maxNewTokens: 50, temperature: 0.8, topK: 20, seed: 1})")
    assert weight <= 3_000_000, f"the page and its bundle weigh {weight:,} bytes"
    assert f"/{BUNDLE}/weights.bin" in served
    assert not problems, "\n".join(problems)


def test_the_training_snapshots_and_the_views_inside(site, browser):
    """The switcher loads each snapshot's bundle (JAX's logits again); the attention table has
    a row per head; the teacher's score of a line equals JAX's from the shared student."""
    import jax
    import jax.numpy as jnp

    from rawweights_jax.web.export import load_bundle

    directory, base = site
    published = sorted(int(d.name.rsplit("step", 1)[1]) for d in (directory / "playground").glob("robot-student-step*"))
    problems: list[str] = []
    page = open_playground(browser, base, problems)
    page.wait_for_function("window.rawweights.playground.firstPredictionMs !== undefined")
    final = json.loads((directory / BUNDLE / "manifest.json").read_text())
    assert page.evaluate("window.rawweights.playground.snapshots") == published + [final["source"]["step"]]
    assert published and page.get_by_label("The student after").is_visible()
    for step in published:
        reference = json.loads((directory / f"{BUNDLE}-step{step}" / "reference.json").read_text())
        got = page.evaluate("""async ([step, text]) => {
          const api = window.rawweights.playground;
          await api.snapshot(step);
          return Array.from(await api.predict(text));
        }""", [step, reference["prompts"][0]["text"]])
        assert np.abs(np.asarray(got) - reference["prompts"][0]["logits"]).max() <= TOLERANCE, step
        assert f"after {step} training steps" in page.locator(".rw-pg-status").inner_text()
    page.get_by_label("The student after").select_option(label=f"{final['source']['step']} training steps (final)")
    page.wait_for_function(f"document.querySelector('.rw-pg-status').textContent.includes('after {final['source']['step']} training')")
    assert page.locator(".rw-pg-attn tbody tr").count() == final["model"]["n_heads"]
    page.get_by_label("Layer").select_option(index=final["model"]["n_layers"] - 1)
    assert page.locator(".rw-pg-attn tbody tr").count() == final["model"]["n_heads"]
    line = "Now is the winter of our discontent"
    page.get_by_label("Score a text").fill(line)
    page.wait_for_function(f"document.querySelectorAll('.rw-pg-surprise span').length === {len(line)}")
    bits = np.asarray(page.evaluate("async (t) => Array.from(await window.rawweights.playground.surprise(t))", line))
    model, tok, _ = load_bundle(directory / BUNDLE)
    ids = tok.encode(line)
    logp = np.asarray(jax.nn.log_softmax(model(jnp.asarray([ids]))[0].astype(jnp.float32), axis=-1))
    expected = -logp[np.arange(len(ids) - 1), ids[1:]] / np.log(2)
    assert np.abs(bits[1:] - expected).max() <= TOLERANCE
    said = page.get_by_text("characters scored").inner_text()
    assert said.startswith(f"{len(ids) - 1} characters scored: "), said
    assert abs(float(said.split(": ")[1].split(" bits")[0]) - expected.mean()) <= 0.006, said
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("query, message", [
    ("?model=nowhere/manifest.json", "answered HTTP 404"),
    ("?model=robot-student/reference.json", "is not a rawweights bundle manifest"),
    ("?model=https://example.com/manifest.json", "is on another site"),
])
def test_a_bundle_that_fails_to_load_says_why(site, browser, query, message):
    _, base = site
    problems: list[str] = []
    page = open_playground(browser, base, problems, query)
    status = page.locator(".rw-pg-status.rw-pg-error")
    status.wait_for()
    text = status.inner_text()
    assert text.startswith("The model could not be loaded: ") and message in text, text
    assert status.is_visible() and page.get_by_role("alert").count() == 1
    assert not page.locator("#rw-pg-prompt").is_visible() and not page.locator(".rw-pg-ballot").is_visible()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_keyboard_phone_and_palettes(site, browser, scheme):
    _, base = site
    problems: list[str] = []
    page = open_playground(browser, base, problems, color_scheme=scheme,
                           viewport={"width": 390, "height": 844}, device_scale_factor=1)
    page.wait_for_function("window.rawweights.playground.firstPredictionMs !== undefined")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    box = page.locator("#rw-playground").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    bars = page.locator(".rw-pg-ballot tbody tr")
    assert bars.count() == 10 and page.locator(".rw-pg-ballot .rw-bar").first.bounding_box()["width"] > 0
    ink, paper = page.evaluate("""() => {
      const out = document.querySelector('.rw-pg-output');
      let bg = getComputedStyle(out).backgroundColor;
      return [getComputedStyle(out).color, bg];
    }""")
    lum = lambda c: sum(w * float(x) / 255 for w, x in zip((0.2126, 0.7152, 0.0722), c[c.index("(") + 1:-1].split(",")[:3]))
    assert abs(lum(ink) - lum(paper)) > 0.4, f"{scheme}: text {ink} on {paper}"
    # the keyboard: type a prompt, Ctrl+Enter writes, Escape stops
    prompt = page.get_by_label("Prompt (Ctrl+Enter writes, Escape stops)")
    prompt.fill("JULIET:\n")
    page.get_by_label("Speed").fill("61")        # as fast as it can
    prompt.focus()
    page.keyboard.press("Control+Enter")
    page.wait_for_function("document.querySelector('.rw-pg-new').textContent.length > 20")
    page.keyboard.press("Escape")
    page.wait_for_function("!document.querySelector('#rw-playground button:nth-child(1)').disabled")
    written = page.locator(".rw-pg-new").inner_text()
    page.wait_for_timeout(200)
    assert page.locator(".rw-pg-new").inner_text() == written, "Escape did not stop the writing"
    assert page.locator(".rw-pg-prompt").inner_text() == "JULIET:\n"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Generate"
    # a character the student never saw is named, not a crash
    prompt.fill("naïve")
    page.wait_for_function("document.querySelector('#rw-pg-prompt').getAttribute('aria-invalid') === 'true'")
    assert "is not in this model's vocabulary" in page.locator(".rw-readout").first.inner_text()
    assert not problems, "\n".join(problems)
