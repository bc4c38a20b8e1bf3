"""Claims tied to what ran: values a snippet exports into the prose, and claims it asserts."""

from __future__ import annotations

import json

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
            "claims": [{"text": "t", "holds": True}], "tables": []}
    assert entry_problem(good, "k") is None
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

