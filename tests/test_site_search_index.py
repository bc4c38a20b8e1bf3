"""The search index's API entries cut to their summaries (rwsite/search_index.py)."""

from __future__ import annotations

import json

from rwsite import search_index


def _entry(location, title, text):
    return {"location": location, "title": title, "text": text}


def test_api_objects_keep_their_first_paragraph_and_articles_stay_whole():
    long = ("<pre><code>train(run, data) -&gt; Result\n</code></pre> "
            "<p>One line that says what it does.</p> <p>Then the details, at length.</p>")
    fn = _entry("reference/train/#rawweights_jax.train.loop.train", "train", long)
    module = _entry("reference/train/#rawweights_jaxtrainloop", "<code>rawweights_jax.train.loop</code>", long)
    article = _entry("training/recipe/#schedules", "Schedules", long)
    field = _entry("reference/config/#rawweights_jax.config.train.TrainConfig.lr",
                   "lr  <code>instance-attribute</code>", "<p>The peak learning rate.</p>")
    assert search_index.slim_entry(fn)["text"] == "<p>One line that says what it does.</p>"
    assert search_index.slim_entry(module) == module
    assert search_index.slim_entry(article) == article
    assert search_index.slim_entry(field) == {**field, "text": ""}
    no_paragraph = _entry("reference/x/#rawweights_jax.x.f", "f", "x" * 500)
    assert search_index.slim_entry(no_paragraph)["text"] == ""


def test_slim_rewrites_the_index_in_place_and_skips_a_site_without_one(tmp_path):
    assert search_index.slim(tmp_path) is None
    (tmp_path / "search").mkdir()
    docs = [_entry("reference/a/#rawweights_jax.a.f", "f", "<p>Short.</p><p>" + "long " * 100 + "</p>"),
            _entry("index.html", "Home", "<p>Welcome.</p><p>More.</p>")]
    path = tmp_path / "search" / "search_index.json"
    path.write_text(json.dumps({"config": {"lang": ["en"]}, "docs": docs}, indent=1))
    before, after = search_index.slim(tmp_path)
    assert before == path.stat().st_size + (before - after) and after < before
    index = json.loads(path.read_text())
    assert index["config"] == {"lang": ["en"]}
    assert [d["text"] for d in index["docs"]] == ["<p>Short.</p>", "<p>Welcome.</p><p>More.</p>"]
