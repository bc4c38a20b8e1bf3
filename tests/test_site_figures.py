"""Figures for every screen (rwsite/mpl_backend.py): a narrow drawing for phones, alt text, caption."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rwsite import mpl_backend  # noqa: E402


def saved(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("RWSITE_FIGURE_DIR", str(tmp_path))
    assert mpl_backend.save_open_figures() == 1
    return next(tmp_path.glob("figure-*.svg")).read_text()


def drawings(svg: str) -> list[dict]:
    found = []
    for tag in re.findall(r"<svg\b[^>]*>", svg):
        attrs = dict(re.findall(r'([\w:-]+)="([^"]*)"', tag))
        found.append({"class": attrs.get("class"), "font": float(attrs["data-font-pt"]),
                      "width": float(attrs["width"][:-2]), "height": float(attrs["height"][:-2]),
                      "label": attrs.get("aria-label", ""), "role": attrs.get("role")})
    return found


def test_panels_side_by_side_are_stacked_for_a_phone_with_readable_text(tmp_path, monkeypatch):
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    a.plot([0, 1], [0, 1], label="rope")
    a.plot([0, 1], [1, 0], label="learned")
    a.set_title(r"rotation $\cos\theta$")
    a.set_xlabel("position")
    a.set_ylabel("loss")
    a.legend(fontsize=7)
    b.plot([0, 1], [1, 1])
    b.set_title("memory")
    wide, narrow = drawings(saved(tmp_path, monkeypatch))
    assert (wide["class"], narrow["class"]) == ("rw-wide", "rw-narrow")
    assert wide["font"] == 7 and narrow["font"] >= mpl_backend.MIN_PT
    assert narrow["width"] < 0.6 * wide["width"] and narrow["height"] > 1.5 * wide["height"], "stacked"
    assert wide["role"] == narrow["role"] == "img"
    assert wide["label"].startswith("Chart: rotation") and "loss against position" in wide["label"]
    assert "lines: rope, learned" in wide["label"] and "memory" in wide["label"]


def test_a_figure_that_reads_on_a_phone_is_drawn_once(tmp_path, monkeypatch):
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    ax.tick_params(labelsize=11)
    ax.set_title("small enough", fontsize=12)
    (only,) = drawings(saved(tmp_path, monkeypatch))
    assert only["class"] == "rw-wide" and only["font"] >= 11


def test_the_page_captions_each_figure_with_its_title():
    from rwsite.executor import Outcome, Run
    from rwsite.fence import render_output

    class Context:
        versions = {"jax": "j", "flax": "f"}

    class Executor:
        context = Context()

    svg = '<svg class="rw-wide" data-title="Attention &amp; cost" width="10pt"></svg>'
    html = render_output(Outcome(Run("snippets/a.py"), key="k", figures=[svg]), Executor())
    assert "<figcaption>Figure 1: Attention &amp; cost</figcaption>" in html


def test_a_long_title_is_wrapped_in_the_narrow_drawing(tmp_path, monkeypatch):
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    ax.plot([0, 1], [0, 1])
    ax.set_title("Attention's share of the work per token (dotted: past the config's context)")
    wide, narrow = drawings(saved(tmp_path, monkeypatch))
    assert narrow["width"] <= mpl_backend.NARROW_IN * 72 * 1.05, "the title no longer sets the width"
