"""Claims tied to what ran: values a snippet exports into the prose, and claims it asserts."""

from __future__ import annotations

import json
import re

import pytest

from rwsite import claims, prose
from rwsite.cache import entry_problem, FORMAT
from test_site_build import fixture_site, mkdocs_build

EXPORTS = '''
from rwsite.claims import claim, value
delta = 0.0
value("largest_delta", f"{delta:.2g}")
claim(delta == 0, "the upper triangle is exactly zero", delta=delta)
print("done")
'''


@pytest.fixture(autouse=True)
def fresh_records(monkeypatch):
    monkeypatch.setattr(claims, "VALUES", {})
    monkeypatch.setattr(claims, "CLAIMS", [])
    monkeypatch.setattr(claims, "DATA", {})


def test_a_claim_that_does_not_hold_raises_with_what_was_measured():
    claims.claim(True, "holds")
    with pytest.raises(claims.ClaimFailed, match=r"claim does not hold: four times per doubling \(ratio=8.6\)"):
        claims.claim(8.6 < 5, "four times per doubling", ratio=8.6)
    assert claims.CLAIMS == [{"text": "holds", "holds": True}, {"text": "four times per doubling", "holds": False}]


@pytest.mark.parametrize("name, text, message", [
    ("two words", "1", "a Python identifier"),
    ("x", 1.5, "not a float"),
    ("x", "a\nb", "one line"),
])
def test_a_value_must_be_named_text(name, text, message):
    with pytest.raises((ValueError, TypeError), match=message):
        claims.value(name, text)


def test_a_value_exported_twice_must_agree():
    claims.value("x", "1.0")
    claims.value("x", "1.0")
    with pytest.raises(ValueError, match="exported twice"):
        claims.value("x", "2.0")


def test_placeholders_outside_code_only():
    md = "A {{ x }}, `{{ y }}` and {{ snippets/a/b.py:z }}.\n```python\n{{ w }}\n```\nend {{x}}\n"
    assert prose.placeholders(md) == [(1, None, "x"), (1, "snippets/a/b.py", "z"), (5, None, "x")]
    problems = []

    def lookup(path, name):
        if name == "z":
            raise LookupError("no snippet exports it")
        return "1.5<", "snippets/a/q.py"

    out = prose.substitute(md, lookup, problems.append)
    assert out.splitlines()[0] == ('A <span class="rw-value" title="computed by snippets/a/q.py">1.5&lt;</span>, '
                                   '`{{ y }}` and {{ snippets/a/b.py:z }}.')
    assert "{{ w }}" in out and problems == ["line 1: {{ snippets/a/b.py:z }}: no snippet exports it"]


def test_cache_entries_keep_values_and_only_claims_that_held():
    good = {"format": FORMAT, "key": "k", "path": "s.py", "stdout": "", "stderr": "", "figures": [], "wall_s": 1,
            "cpu_s": 1, "device": "cpu", "seed": 0, "configuration": "c", "values": {"x": "1"},
            "claims": [{"text": "t", "holds": True}], "tables": [], "data": {"ballot": {"logits": [1.5, -2]}}}
    assert entry_problem(good, "k") is None
    assert "not JSON" in entry_problem({**good, "data": {"ballot": float("nan")}}, "k")
    assert "keyed by identifiers" in entry_problem({**good, "data": {"two words": 1}}, "k")
    assert entry_problem({**good, "values": {"x": 1}}, "k") == "a value is not text"
    assert "claim" in entry_problem({**good, "claims": [{"text": "t", "holds": False}]}, "k")
    assert "values is" in entry_problem({k: v for k, v in good.items() if k != "values"}, "k")


def test_the_prose_shows_the_values_the_build_computed(tmp_path):
    fixture_site(tmp_path, {"index.md": """\
        # Page

        The largest change was {{ largest_delta }}; the other page's is {{ snippets/other.py:ratio }}.
        Shown as syntax: `{{ largest_delta }}`.

        ```snippet path="snippets/exports.py"
        ```
        """, "other.md": '# Other\n\n```snippet path="snippets/other.py"\n```\n'},
        {"snippets/exports.py": EXPORTS,
         "snippets/other.py": 'from rwsite.claims import value\nvalue("ratio", "4.0x")\n'})
    proc = mkdocs_build(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (tmp_path / "site" / "index.html").read_text()
    assert 'title="computed by snippets/exports.py">0</span>; the other page' in html
    assert 'title="computed by snippets/other.py">4.0x</span>' in html
    assert "{{ largest_delta }}</code>" in html
    entry = json.loads(next((tmp_path / "cache" / "snippets").glob("*.json")).read_text())
    assert entry["claims"] in ([], [{"text": "the upper triangle is exactly zero", "holds": True}])


def test_a_claim_that_stops_holding_fails_the_build_naming_the_page(tmp_path):
    fixture_site(tmp_path, {"attention.md": '# Page\n\n```snippet path="snippets/exports.py"\n```\n'},
                 {"snippets/exports.py": EXPORTS.replace("delta = 0.0", "delta = 7.15e-06")})
    proc = mkdocs_build(tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert ("snippets/exports.py:5: ClaimFailed: claim does not hold: the upper triangle is exactly zero "
            "(delta=7.15e-06)  [in docs/attention.md]") in log


@pytest.mark.parametrize("prose_text, message", [
    ("{{ nowhere }}", "no snippet on this page exports it (exported: largest_delta, same)"),
    ("{{ snippets/unfenced.py:x }}", "snippets/unfenced.py is not fenced on any page"),
    ("{{ same }}", "exported by snippets/exports.py and snippets/twin.py; write {{ <path>:same }} to choose"),
])
def test_a_placeholder_without_one_value_fails_the_build(tmp_path, prose_text, message):
    fixture_site(tmp_path, {"index.md": f"""\
        # Page

        Here: {prose_text}.

        ```snippet path="snippets/exports.py"
        ```

        ```snippet path="snippets/twin.py"
        ```
        """}, {"snippets/exports.py": EXPORTS + 'value("same", "a")\n',
               "snippets/twin.py": 'from rwsite.claims import value\nvalue("same", "b")\n'})
    proc = mkdocs_build(tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"docs/index.md, line 3: {prose_text}: {message}" in log, log



@pytest.mark.parametrize("name, obj, message", [
    ("two words", [1], "a Python identifier"),
    ("x", [1.0, float("nan")], "not JSON with finite numbers"),
    ("x", {"a": object()}, "not JSON"),
    ("x", list(range(20_000)), "over the 50,000 a page may carry"),
])
def test_data_must_be_small_finite_json(name, obj, message):
    with pytest.raises(ValueError, match=message):
        claims.data(name, obj)
    assert claims.DATA == {}


def test_data_exported_twice_must_agree():
    claims.data("x", {"a": [1, 2]})
    claims.data("x", {"a": [1, 2]})
    with pytest.raises(ValueError, match="exported twice"):
        claims.data("x", {"a": [1, 3]})


def test_a_heatmap_exports_what_the_image_draws_and_tags_it():
    np = pytest.importorskip("numpy")
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    upper = np.ma.masked_where(np.triu(np.ones((2, 3), bool), k=1), [[0.123456, 9, 9], [1e-5, 2.0, 9]])
    image = ax.imshow(upper)
    exported = claims.heatmap("w", image, ["a", "b"], ["x", "y", "z"], row_title="query", blank="hidden")
    assert exported["values"] == [[0.123, None, None], [1e-05, 2.0, None]]
    assert exported["rows"] == ["a", "b"] and exported["blank"] == "hidden" and exported["row_title"] == "query"
    assert image.get_gid() == "rw-heatmap-w" and claims.DATA["w"] is exported
    flipped = claims.heatmap("low", ax.imshow(np.arange(6.0).reshape(2, 3), origin="lower"), ["a", "b"], list("xyz"))
    assert flipped["rows"] == ["b", "a"] and flipped["values"][0] == [3.0, 4.0, 5.0], "rows are listed top down"
    with pytest.raises(ValueError, match="2 row and 2 column labels for an image of 2 x 3 cells"):
        claims.heatmap("bad", image, ["a", "b"], ["x", "y"])
    plt.close(fig)


WIDGET_SNIPPET = """
import matplotlib.pyplot as plt
from rwsite.claims import data, heatmap
data("ballot", {"labels": ["a", "</script>"], "logits": [1.0, -0.5]})
fig, ax = plt.subplots()
heatmap("weights", ax.imshow([[1.0, 0.0], [0.25, 0.75]]), ["q0", "q1"], ["k0", "k1"])
plt.show()
"""


def test_a_page_embeds_the_data_its_widgets_name_once(tmp_path):
    fixture_site(tmp_path, {"index.md": """\
        # Page

        ```snippet path="snippets/widgets.py"
        ```

        <div class="rw-widget" data-rw-widget="temperature" data-rw-data="ballot" hidden></div>
        <div class="rw-widget" data-rw-widget="temperature" data-rw-data="ballot" hidden></div>

        Shown as syntax only: `<div data-rw-data="nowhere">`.
        """}, {"snippets/widgets.py": WIDGET_SNIPPET})
    proc = mkdocs_build(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (tmp_path / "site" / "index.html").read_text()
    scripts = re.findall(r'<script type="application/json" data-rw-data="([^"]*)">(.*?)</script>', html)
    embedded = dict(scripts)
    assert sorted(embedded) == ["ballot", "snippets/widgets.py:weights"] and len(scripts) == 2
    assert json.loads(embedded["ballot"]) == {"labels": ["a", "</script>"], "logits": [1.0, -0.5]}
    assert "</script>\"" not in embedded["ballot"], "a closing tag inside the JSON would end the script"
    assert json.loads(embedded["snippets/widgets.py:weights"])["values"] == [[1.0, 0.0], [0.25, 0.75]]
    image = re.search(r"<image\b[^>]*>", html)[0]
    assert 'data-rw-widget="heatmap" data-rw-data="snippets/widgets.py:weights"' in image


@pytest.mark.parametrize("ref, message", [
    ("nowhere", 'data-rw-data="nowhere": no snippet on this page exports it (exported: ballot, weights)'),
    ("snippets/other.py:x", 'data-rw-data="snippets/other.py:x": snippets/other.py is not fenced on any page'),
    ("two words", 'data-rw-data="two words": expected a name, or snippets/<path>.py:<name>'),
])
def test_a_widget_naming_data_nobody_exported_fails_the_build(tmp_path, ref, message):
    fixture_site(tmp_path, {"index.md": f"""\
        # Page

        ```snippet path="snippets/widgets.py"
        ```

        <div class="rw-widget" data-rw-widget="temperature" data-rw-data="{ref}" hidden></div>
        """}, {"snippets/widgets.py": WIDGET_SNIPPET})
    proc = mkdocs_build(tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"docs/index.md: {message}" in log, log
