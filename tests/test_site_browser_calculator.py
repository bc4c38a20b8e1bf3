"""The model-size calculator of "Reading a model from its config" in a real browser (Chromium).

Its numbers must be the library's: `window.rawweights.calculator.compute` is given every zoo
config's ModelConfig fields, as Python holds them, at every dtype it offers and several contexts,
and configs changed the way its sliders change them (fewer KV heads, more experts per token,
another depth, width or head count), and must give `rawweights_jax.analysis.counts`' numbers:
integer counts exactly, FLOPs within 1e-9. Then the widget itself: each starting point shows the
exported library numbers, sliders moved by keyboard and by value give the library's numbers for
the config they describe, it fits a phone in both palettes, and nothing errs or leaves the site.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from rawweights_jax.analysis.counts import (attention_kind, flops_per_token, kv_bytes,
                                            kv_bytes_per_token_layer, memory_bytes, param_counts)
from rawweights_jax.analysis.inspector import human
from rawweights_jax.analysis.zoo import zoo_model, zoo_names
from rawweights_jax.families.hf_config import config_from_hf
from test_site_browser import CHROMIUM, browser, luminance, serve  # noqa: F401  (browser: a fixture)
from _site_support import SITE_BUILD_TIMEOUT_S, built_site

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.timeout(SITE_BUILD_TIMEOUT_S + 300),  # may build the site first
]

PAGE = "architecture/reading-a-config/"
DTYPES = ("float32", "bfloat16", "int8", "int4")
CONTEXTS = (1, 777, 1024, 4096, 131072)
EXACT = ("total", "active", "kvBytesPerToken", "kvBytesPerTokenLayer", "kvBytes", "weightBytes", "attention")
CLOSE = ("flopsPerToken", "attentionFlopsPerToken", "trainFlopsPerToken", "kvBytesPerTokenAtContext")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve(built_site(tmp_path_factory.mktemp("site")).directory)


@contextlib.contextmanager
def calculator_page(browser, base: str, width: int = 1280, scheme: str = "light"):
    """The page, loaded; on leaving, no console error and no request to another host."""
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("request", lambda req: urlsplit(req.url).hostname not in (None, "127.0.0.1")
            and urlsplit(req.url).scheme in ("http", "https", "ws", "wss")
            and problems.append(f"request to {req.url}"))
    page.goto(f"{base}/{PAGE}", wait_until="load")
    page.wait_for_function("window.rawweights && window.rawweights.calculator")
    yield page
    context.close()
    assert not problems, "\n".join(problems)


def fields_of(cfg) -> dict:
    """Every ModelConfig field, as JSON: what the browser is asked to compute from."""
    return {f.name: list(v) if isinstance(v, tuple) else v
            for f in dataclasses.fields(cfg) for v in [getattr(cfg, f.name)]}


def library(cfg, context: int, dtype: str) -> dict:
    """The library's numbers, under the names the calculator gives them."""
    counts, flops = param_counts(cfg), flops_per_token(cfg, context)
    cache = kv_bytes(cfg, context, dtype=dtype)
    return {"total": counts["total"], "active": counts["active"],
            "kvBytesPerToken": kv_bytes(cfg, 1, dtype=dtype),
            "kvBytesPerTokenLayer": kv_bytes_per_token_layer(cfg, dtype), "kvBytes": cache,
            "kvBytesPerTokenAtContext": cache / context,
            "weightBytes": memory_bytes(cfg, context, dtype=dtype)["weights"],
            "flopsPerToken": flops["forward"], "attentionFlopsPerToken": flops["attention"],
            "trainFlopsPerToken": flops["train"], "attention": attention_kind(cfg)}


def assert_same(js: dict, lib: dict, label: str) -> None:
    for name in EXACT:
        assert js[name] == lib[name], f"{label}: {name} {js[name]!r} != the library's {lib[name]!r}"
    for name in CLOSE:
        assert js[name] == pytest.approx(lib[name], rel=1e-9), f"{label}: {name}"


def changed(key: str, hf: dict | None = None, **fields):
    """Zoo model `key` with config.json keys `hf` changed (its family reader derives the per-layer
    lists), then ModelConfig `fields` replaced (the widths the calculator keeps stay)."""
    cfg = config_from_hf(dict(zoo_model(key).hf, **(hf or {})))
    return dataclasses.replace(cfg, **fields) if fields else cfg


MODIFIED = {   # what the sliders do, configs built by the library
    "llama-3.1-8b, MQA": changed("llama-3.1-8b", {"num_key_value_heads": 1}),
    "mistral, 48 heads / 6 KV": changed("mistral-7b-v0.1", {"num_attention_heads": 48, "num_key_value_heads": 6,
                                                            "head_dim": 128}),
    "gemma-3-27b, 40 layers": changed("gemma-3-27b", {"num_hidden_layers": 40}),
    "deepseek-v3, 20 layers, 64 experts, top-4": changed(
        "deepseek-v3", {"num_hidden_layers": 20, "n_routed_experts": 64, "num_experts_per_tok": 4}),
    "qwen3-30b-a3b, 16 per token, D=3072": changed("qwen3-30b-a3b", {"num_experts_per_tok": 16}, d_model=3072),
    "gpt2, 24 layers, D=1024, 16 heads": changed("gpt2", {"n_layer": 24}, d_model=1024, n_heads=16, n_kv_heads=16),
    "llama-3.1-8b, 16 experts": changed("llama-3.1-8b", {"num_hidden_layers": 8}, n_experts=16,
                                         mlp_layers=("moe",) * 8),
}


def test_the_browsers_formulas_are_the_librarys_on_every_zoo_config_and_modified_ones(server, browser):
    configs = {key: zoo_model(key).config for key in zoo_names()} | MODIFIED
    cases = [(label, cfg, context, dtype) for label, cfg in configs.items()
             for context in CONTEXTS for dtype in DTYPES]
    with calculator_page(browser, server[1]) as page:
        results = page.evaluate("cases => cases.map(f => window.rawweights.calculator.compute(f))",
                                [dict(fields_of(cfg), context=c, dtype=d) for _, cfg, c, d in cases])
        error = page.evaluate("""f => { try { window.rawweights.calculator.compute(f); return ''; }
                                          catch (e) { return e.message; } }""",
                              dict(fields_of(zoo_model("llama-3.1-8b").config), n_kv_heads=3))
    assert len(results) == len(configs) * len(CONTEXTS) * len(DTYPES) >= 15 * 20
    for (label, cfg, context, dtype), js in zip(cases, results):
        assert_same(js, library(cfg, context, dtype), f"{label} at {context} tokens in {dtype}")
    assert error == "n_kv_heads=3 is invalid: expected a divisor of n_heads=32"


def widget_state(widget) -> tuple[dict, dict, int, str]:
    """The fields the widget shows the numbers of, its numbers, its context and its dtype."""
    return (json.loads(widget.get_attribute("data-fields")), json.loads(widget.get_attribute("data-result")),
            int(widget.get_attribute("data-context")), widget.get_attribute("data-dtype"))


def check_widget_is(widget, cfg, label: str) -> dict:
    """The widget computes for `cfg` (at its context and dtype) and shows the library's numbers."""
    fields, result, context, dtype = widget_state(widget)
    expected = fields_of(cfg)
    assert {k: fields[k] for k in fields} == {k: expected[k] for k in fields}, label
    assert_same(result, library(cfg, context, dtype), label)
    cells = widget.locator("table.rw-calc-out td").all_text_contents()
    assert cells[0].startswith(human(result["total"]) + " ("), f"{label}: {cells[0]!r}"
    assert cells[3].startswith(human(result["kvBytesPerToken"], "B")), f"{label}: {cells[3]!r}"
    return result


def test_each_starting_point_shows_the_exported_library_numbers(server, browser):
    with calculator_page(browser, server[1]) as page:
        widget = page.locator('.rw-widget[data-rw-widget="calculator"]')
        assert widget.is_visible(), "the calculator stayed hidden"
        data = json.loads(page.locator('script[type="application/json"][data-rw-data="calculator"]').text_content())
        assert [m["key"] for m in data["models"]] == zoo_names()
        assert widget.get_attribute("data-checked") == str(len(zoo_names())), "the widget's own check failed"
        pick = widget.get_by_label("Start from")
        for i, model in enumerate(data["models"]):
            pick.select_option(str(i))
            cfg = zoo_model(model["key"]).config
            result = check_widget_is(widget, cfg, model["key"])
            assert result["total"] == model["library"]["total"] and result["active"] == model["library"]["active"]
            assert "own numbers" in widget.locator(".rw-readout[aria-live]").text_content()


def test_moving_the_sliders_gives_the_librarys_numbers_for_the_changed_config(server, browser):
    with calculator_page(browser, server[1]) as page:
        widget = page.locator('.rw-widget[data-rw-widget="calculator"]')
        control = lambda name: widget.get_by_label(name)
        pick = widget.get_by_label("Start from")
        # Llama 3.1 8B (the first shown) at 8,192 tokens in bfloat16, then one KV head: MQA.
        llama = check_widget_is(widget, zoo_model("llama-3.1-8b").config, "llama-3.1-8b")
        assert widget_state(widget)[2:] == (8192, "bfloat16")
        control("KV heads").focus()
        page.keyboard.press("Home")
        assert control("KV heads").get_attribute("aria-valuetext") == "KV heads 1"
        mqa = check_widget_is(widget, MODIFIED["llama-3.1-8b, MQA"], "llama MQA")
        assert mqa["kvBytesPerToken"] * 8 == llama["kvBytesPerToken"]
        assert "Changed from" in widget.locator(".rw-readout[aria-live]").text_content()
        # 28 query heads: the KV heads fall to the largest divisor below the one chosen.
        control("KV heads").fill("3")                        # the 4th divisor of 32: 8
        control("Query heads").fill("28")
        assert control("KV heads").get_attribute("aria-valuetext") == "KV heads 7"
        check_widget_is(widget, dataclasses.replace(zoo_model("llama-3.1-8b").config, n_heads=28, n_kv_heads=7),
                        "llama 28/7 heads")

        pick.select_option(str(zoo_names().index("qwen3-30b-a3b")))
        control("Experts per token").fill("16")
        control("Width D").fill("3072")
        wider = check_widget_is(widget, MODIFIED["qwen3-30b-a3b, 16 per token, D=3072"], "qwen 16 per token")
        control("Routed experts").focus()
        page.keyboard.press("Home")                           # no experts: every layer dense
        assert control("Experts per token").is_disabled()
        dense = dataclasses.replace(zoo_model("qwen3-30b-a3b").config, d_model=3072, n_experts=0,
                                    mlp_layers=("dense",) * 48)
        assert check_widget_is(widget, dense, "qwen without experts")["total"] < wider["total"]

        pick.select_option(str(zoo_names().index("deepseek-v3")))
        assert control("KV heads").is_disabled(), "latent attention has no KV heads to move"
        control("Layers").fill("20")
        control("Routed experts").fill("64")
        control("Experts per token").fill("4")
        check_widget_is(widget, MODIFIED["deepseek-v3, 20 layers, 64 experts, top-4"], "deepseek")

        pick.select_option(str(zoo_names().index("gemma-3-27b")))
        control("Layers").fill("40")
        control("Context").focus()
        page.keyboard.press("End")                            # 1,048,576 tokens
        control("Data type").focus()
        page.keyboard.press("Home")                           # float32
        assert control("Context").get_attribute("aria-valuetext") == "Context 1,048,576 tokens"
        assert control("Data type").get_attribute("aria-valuetext") == "Data type float32, 4 bytes"
        gemma = check_widget_is(widget, MODIFIED["gemma-3-27b, 40 layers"], "gemma at 1M tokens")
        assert widget_state(widget)[2:] == (2 ** 20, "float32")
        assert gemma["kvBytesPerTokenAtContext"] < gemma["kvBytesPerToken"], "windows cap the cache"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_calculator_fits_a_phone_and_reads_in_both_palettes(server, browser, scheme):
    with calculator_page(browser, server[1], width=390, scheme=scheme) as page:
        widget = page.locator('.rw-widget[data-rw-widget="calculator"]')
        widget.scroll_into_view_if_needed()
        box = widget.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"the calculator is {box}"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
        background = luminance(page.evaluate(
            "getComputedStyle(document.querySelector('[data-md-color-scheme]')).backgroundColor"))
        for element in [widget.locator("td.rw-num").first, widget.locator(".rw-readout").first,
                        widget.locator("select")]:
            colour = element.evaluate("e => getComputedStyle(e).color")
            assert abs(luminance(colour) - background) > 0.25, f"{colour} on a {scheme} page"
        for control in widget.locator("input[type=range], select").all():
            assert widget.locator(f'label[for="{control.get_attribute("id")}"]').count() == 1
        for slider in widget.locator("input[type=range]").all():
            assert slider.get_attribute("aria-valuetext"), "a slider without aria-valuetext"
        smallest = widget.evaluate("w => Math.min(...[...w.querySelectorAll('td, th, label, select')]"
                                   ".map(e => parseFloat(getComputedStyle(e).fontSize)))")
        assert smallest >= 9, f"text of {smallest} px"
