"""The widgets of the built site in a real browser (Debian's Chromium, driven by Playwright).

Each slider is moved, with the keyboard and by setting its value, and what the widget draws is
checked against the math done here in Python on the data the snippet exported: the temperature
slider's probabilities are softmax(logits / T) with the library's top-k and top-p rules, the
RoPE slider's curve is the head's score at the chosen base (and, at the build's base, the
library's own frequencies and scores); hovering a heatmap cell shows that cell's labels and
value, and the pixel under the pointer has the colour of that value. No console errors.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_site_browser import CHROMIUM, browser, luminance, serve  # noqa: F401  (browser: a fixture)
from _site_support import SITE_BUILD_TIMEOUT_S, built_site

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.timeout(SITE_BUILD_TIMEOUT_S + 300),  # may build the site first
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve(built_site(tmp_path_factory.mktemp("site")).directory)


@contextlib.contextmanager
def opened(browser, base: str, path: str, width: int = 1280, scheme: str = "light"):
    """The page at `path`, loaded; on leaving, the page had no console error."""
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1,
                                  color_scheme=scheme)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(f"console: {msg.text}"))
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.goto(f"{base}/{path}", wait_until="load")
    yield page
    context.close()
    assert not errors, "\n".join(errors)


def widget_on(page, kind: str):
    """The widget of kind `kind` on the page, shown, and the data it was given."""
    widget = page.locator(f'.rw-widget[data-rw-widget="{kind}"]')
    assert widget.is_visible(), f"the {kind} widget stayed hidden"
    return widget, exported(page, widget.get_attribute("data-rw-data"))


def exported(page, ref: str):
    return json.loads(page.locator(f'script[type="application/json"][data-rw-data="{ref}"]').text_content())


def softmax(z):
    z = np.asarray(z, float)
    e = np.exp(z - z.max())
    return e / e.sum()


def filtered_probabilities(logits, T, top_k=None, top_p=None):
    """The distribution `rawweights_jax.inference.sampling.sample_logits` draws from, in NumPy."""
    z = np.asarray(logits, float) / T
    if top_k is not None and top_k < len(z):
        z = np.where(z < np.sort(z)[::-1][top_k - 1], -np.inf, z)
    if top_p is not None and top_p < 1:
        desc = np.sort(z)[::-1]
        q = softmax(desc)
        n_keep = int(np.sum(np.cumsum(q) - q < top_p))
        z = np.where(z < desc[n_keep - 1], -np.inf, z)
    return softmax(z)


def drawn_ballot(widget) -> dict[int, tuple[float, str, float]]:
    """index -> (probability, its text, bar width in %) of every character row drawn."""
    rows = widget.evaluate("""w => [...w.querySelectorAll('tbody tr')].map(tr => ({
        index: Number(tr.dataset.index), p: Number(tr.querySelector('.rw-pcell').dataset.p),
        text: tr.querySelector('.rw-p').textContent,
        bar: parseFloat(tr.querySelector('.rw-bar').style.width)}))""")
    return {r["index"]: (r["p"], r["text"], r["bar"]) for r in rows}


def check_ballot(widget, expected, label):
    drawn = drawn_ballot(widget)
    shown = [i for i in drawn if i >= 0]
    assert len(shown) == 10, f"{label}: {len(shown)} rows drawn"
    for i in shown:
        p, text, bar = drawn[i]
        assert p == pytest.approx(expected[i], rel=1e-9, abs=1e-15), f"{label}: row {i}"
        number = 0.0 if text == "0 (cut)" else float(text)
        assert number == pytest.approx(expected[i], rel=0.06, abs=0.006), f"{label}: row {i} reads {text!r}"
        assert bar == pytest.approx(100 * expected[i], abs=0.01), f"{label}: row {i}'s bar"
    rest = sum(expected[i] for i in range(len(expected)) if i not in shown)
    assert drawn[-1][0] == pytest.approx(rest, abs=1e-12), f"{label}: the other characters' total"


def test_the_temperature_slider_redraws_the_ballot_as_softmax_says(server, browser):
    with opened(browser, server[1], "robot-student/voting-box/") as page:
        check_temperature_widget(page)


def check_temperature_widget(page):
    widget, ballot = widget_on(page, "temperature")
    logits = ballot["logits"]
    assert len(logits) == len(ballot["labels"]) == 65
    check_ballot(widget, softmax(logits), "T = 1")
    top = int(np.argmax(logits))
    assert widget.locator("tbody tr").first.get_attribute("data-index") == str(top)

    temperature, top_k, top_p = (widget.get_by_label(name) for name in ("Temperature", "Top-k", "Top-p"))
    temperature.focus()
    page.keyboard.press("Home")                   # the coldest the slider goes: T = 0.01
    assert temperature.get_attribute("aria-valuetext") == "Temperature 0.010"
    cold = softmax(np.asarray(logits) / 0.01)
    check_ballot(widget, cold, "T = 0.01")
    assert cold[top] > 0.999 and drawn_ballot(widget)[top][1] == "1.00", "at T -> 0 the favourite takes it all"
    page.keyboard.press("ArrowRight")             # one step up: log10 T = -1.99, shown as 0.010
    assert temperature.get_attribute("aria-valuetext") == f"Temperature {10 ** -1.99:.3f}"
    check_ballot(widget, softmax(np.asarray(logits) / round(10 ** -1.99, 3)), "T = 10^-1.99")

    temperature.fill("0.3")                       # log10 T: the T shown is the T used
    assert temperature.get_attribute("aria-valuetext") == "Temperature 2.00"
    hot = softmax(np.asarray(logits) / 2)
    check_ballot(widget, hot, "T = 2")
    assert hot[top] < softmax(logits)[top], "a hotter vote is flatter"
    entropy = -(hot * np.log2(hot)).sum()
    assert f"entropy {entropy:.2f} bits" in widget.locator(".rw-readout").text_content()

    top_k.fill("3")
    check_ballot(widget, filtered_probabilities(logits, 2, top_k=3), "T = 2, top-k 3")
    assert "3 of 65 characters can be drawn" in widget.locator(".rw-readout").text_content()
    top_k.focus()
    page.keyboard.press("End")                    # top-k off again
    assert top_k.get_attribute("aria-valuetext") == "Top-k off (all 65)"
    top_p.fill("0.5")
    check_ballot(widget, filtered_probabilities(logits, 2, top_p=0.5), "T = 2, top-p 0.5")


def test_the_rope_slider_draws_the_heads_score_at_any_base(server, browser):
    with opened(browser, server[1], "architecture/positions/") as page:
        check_rope_widget(page)


def check_rope_widget(page):
    widget, head = widget_on(page, "rope")
    q, k, width = np.asarray(head["q"]), np.asarray(head["k"]), head["width"]

    def scores(b, distances=np.arange(128)):
        theta = b ** (-2 * np.arange(width // 2) / width)
        half = width // 2
        along = q[:half] * k[:half] + q[half:] * k[half:]
        across = q[:half] * k[half:] - q[half:] * k[:half]
        angles = distances[:, None] * theta[None]
        return (along * np.cos(angles) + across * np.sin(angles)).sum(-1) / math.sqrt(width)

    drawn = lambda name: np.asarray(json.loads(widget.get_attribute(f"data-{name}")))
    # At the build's base the browser's frequencies are the library's, and its curve the snippet's.
    assert drawn("theta") == pytest.approx(np.asarray(head["theta"]), rel=1e-6)
    assert drawn("scores")[:64] == pytest.approx(np.asarray(head["scores"]), abs=2e-3)
    assert drawn("scores") == pytest.approx(scores(head["base"]), abs=1e-5)

    slider = widget.get_by_label("Base b")
    slider.fill(str(math.log10(500_000)))         # Llama 3's base
    assert slider.get_attribute("aria-valuetext") == "Base b 500,000"
    assert drawn("scores") == pytest.approx(scores(500_000), abs=1e-5)
    assert np.abs(drawn("scores") - scores(head["base"])).max() > 0.05, "the curve did not move"
    pair = widget.get_by_label("Pair i")
    pair.focus()
    page.keyboard.press("End")
    i = width // 2 - 1
    theta_i = 500_000 ** (-2 * i / width)
    readout = widget.locator(".rw-readout").text_content()
    assert drawn("theta")[i] == pytest.approx(theta_i, rel=1e-12)
    assert f"pair {i} turns 3.0 × 10⁻⁶ radians per position" in readout, readout
    assert f"a full turn every {round(2 * math.pi / theta_i):,} positions" in readout, readout
    assert drawn("pair") == pytest.approx(np.cos(np.arange(128) * theta_i), abs=1e-6)
    pair.fill("5")
    assert drawn("pair") == pytest.approx(np.cos(np.arange(128) * 500_000 ** (-10 / width)), abs=1e-6)
    for line in ("head", "pair"):
        points = widget.locator(f"polyline.rw-line-{line}").get_attribute("points").split()
        assert len(points) == 128, f"the {line} line has {len(points)} points"


def shown_number(text: str) -> float:
    """The number a tip shows: 0.412, or 2.82 × 10⁻⁶."""
    mantissa, _, power = text.partition(" × 10")
    digits = power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))
    return float(mantissa) * 10 ** int(digits or 0)


def viridis(value: float) -> np.ndarray:
    from matplotlib import colormaps

    return np.asarray(colormaps["viridis"](value)[:3]) * 255


@pytest.mark.parametrize("width", [1280, 390])
def test_hovering_a_heatmap_cell_shows_its_labels_and_value(server, browser, width):
    with opened(browser, server[1], "robot-student/how-it-reads/", width=width) as page:
        check_attention_hover(page)


def check_attention_hover(page):
    image = page.locator('image[data-rw-widget="heatmap"]').filter(visible=True).first
    ref = image.get_attribute("data-rw-data")
    data = exported(page, ref)
    values = np.asarray([[np.nan if v is None else v for v in row] for row in data["values"]])
    tip = page.locator(".rw-tip").filter(visible=True)
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    rows, cols = values.shape
    cell_w, cell_h = box["width"] / cols, box["height"] / rows
    assert cell_w > 6 and cell_h > 6, f"cells of {cell_w:.1f} x {cell_h:.1f} px are too small to hover"

    def hover(r, c):
        x, y = box["x"] + (c + 0.5) * cell_w, box["y"] + (r + 0.5) * cell_h
        page.mouse.move(x, y)
        return x, y

    brightest = np.unravel_index(np.argmax(np.nan_to_num(values, nan=-1)), values.shape)
    for r, c in [brightest, (rows - 1, 0), (rows // 2, 1)]:
        x, y = hover(r, c)
        assert tip.count() == 1, "no tip under the pointer"
        assert (int(tip.get_attribute("data-row")), int(tip.get_attribute("data-col"))) == (r, c)
        assert float(tip.get_attribute("data-value")) == values[r, c]
        text = tip.text_content()
        assert f"({r})" in text and f"({c})" in text and data["rows"][r] in text
        assert shown_number(tip.locator(".rw-tip-value").text_content()) == pytest.approx(values[r, c], rel=1e-9)
        # The pixel under the pointer has the colour of the value the tip shows (0..1, viridis).
        shot = page.screenshot(clip={"x": x - 1, "y": y - 1, "width": 3, "height": 3})
        pixel = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"), float)[1, 1]
        assert np.abs(pixel - viridis(values[r, c])).max() < 12, f"cell ({r}, {c}): pixel {pixel} vs {values[r, c]}"
    hover(0, cols - 1)                                # the future: hidden
    assert data["blank"] in tip.text_content() and tip.get_attribute("data-value") == ""

    page.mouse.move(0, 0)
    figure = page.locator("figure.rw-hoverable").filter(has=image)
    figure.focus()
    for key in ["ArrowDown", "ArrowDown", "ArrowRight"]:
        page.keyboard.press(key)
    assert (tip.get_attribute("data-row"), tip.get_attribute("data-col")) == ("2", "1")
    assert float(tip.get_attribute("data-value")) == values[2, 1]


def test_hovering_the_influence_map_shows_exact_zeros_and_values(server, browser):
    with opened(browser, server[1], "robot-student/future-blind/") as page:
        check_influence_hover(page)


def check_influence_hover(page):
    image = page.locator('image[data-rw-widget="heatmap"]').filter(visible=True).first
    data = exported(page, image.get_attribute("data-rw-data"))
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    rows, cols = len(data["rows"]), len(data["cols"])
    tip = page.locator(".rw-tip").filter(visible=True)
    for r, c in [(rows - 1, 0), (10, 3), (3, 10)]:
        page.mouse.move(box["x"] + (c + 0.5) * box["width"] / cols, box["y"] + (r + 0.5) * box["height"] / rows)
        value, shown = data["values"][r][c], tip.locator(".rw-tip-value").text_content()
        assert tip.get_attribute("data-value") == "" if value is None else float(tip.get_attribute("data-value")) == value
        assert shown == data["blank"] if value is None else shown_number(shown) == pytest.approx(value, rel=1e-9)
    assert data["values"][3][10] is None, "an edit in a guess's future moved it"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_widgets_fit_a_phone_and_draw_in_the_palettes_colours(server, browser, scheme):
    for path, kind, ink in [("robot-student/voting-box/", "temperature", ".rw-bar"),
                            ("architecture/positions/", "rope", "polyline.rw-line-head")]:
        with opened(browser, server[1], path, width=390, scheme=scheme) as page:
            widget, _ = widget_on(page, kind)
            widget.scroll_into_view_if_needed()
            box = widget.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"{path}: the widget is {box}"
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{path} scrolls sideways"
            background = luminance(page.evaluate(
                "getComputedStyle(document.querySelector('[data-md-color-scheme]')).backgroundColor"
                " || getComputedStyle(document.body).backgroundColor"))
            for element in widget.locator(f"{ink}, .rw-readout").all()[:2]:
                colour = element.evaluate("e => { const s = getComputedStyle(e); return e.tagName === 'polyline'"
                                          " ? s.stroke : e.classList.contains('rw-bar') ? s.backgroundColor : s.color }")
                assert abs(luminance(colour) - background) > 0.25, f"{path}: {colour} on a {scheme} page"
            for label in widget.locator("input[type=range]").all():
                assert label.get_attribute("aria-valuetext"), "a slider without aria-valuetext"
                assert widget.locator(f'label[for="{label.get_attribute("id")}"]').count() == 1


def test_the_static_figures_stay_for_print_and_for_readers_without_javascript(server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server[1]}/robot-student/voting-box/", wait_until="load")
    assert page.locator(".rw-widget").count() == 1 and not page.locator(".rw-widget").is_visible()
    assert page.locator(".rw-figure svg.rw-wide").count() >= 3
    context.close()
    with opened(browser, server[1], "robot-student/voting-box/") as page:
        assert page.locator(".rw-widget").is_visible()
        page.emulate_media(media="print")
        assert not page.locator(".rw-widget").is_visible(), "a widget is printed"
        assert page.locator(".rw-figure svg.rw-wide").first.is_visible()


@pytest.mark.parametrize("top_k, top_p", [(None, None), (3, None), (None, 0.6), (5, 0.8)])
def test_the_reference_here_is_the_rule_the_library_samples_by(top_k, top_p):
    """The NumPy rule the widget is checked against draws like `sample_logits` (many draws)."""
    jax = pytest.importorskip("jax")
    from rawweights_jax.inference.sampling import Sampling, sample_logits

    logits = np.random.default_rng(0).normal(0, 2, 12).round(4)
    logits[7] = logits[2]                           # a tie, which top-k keeps
    expected = filtered_probabilities(logits, 0.7, top_k, top_p)
    draws = 40_000
    ids = sample_logits(jax.numpy.tile(jax.numpy.asarray(logits, jax.numpy.float32), (draws, 1)),
                        jax.random.key(0), Sampling(temperature=0.7, top_k=top_k, top_p=top_p))
    counts = np.bincount(np.asarray(ids), minlength=len(logits)) / draws
    assert set(np.flatnonzero(counts)) <= set(np.flatnonzero(expected)), "the library drew a token cut here"
    assert counts == pytest.approx(expected, abs=0.012)
