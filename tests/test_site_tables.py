"""Tables a snippet prints (`rwsite.tables`): aligned text on its own, HTML tables on the page."""

from __future__ import annotations

import pytest

from rwsite import tables
from test_site_build import fixture_site, mkdocs_build

SNIPPET = '''
from rwsite.tables import table
print("before")
table(["model", "GFLOP/tok", "crossover"], [["gpt2", "0.2", "6,703"], ["mistral-7b", "14.2", "never"]])
print("after <b>")
'''


def test_on_its_own_a_table_prints_aligned_text(monkeypatch, capsys):
    monkeypatch.delenv("RWSITE_TABLES", raising=False)
    monkeypatch.setattr(tables, "TABLES", [])
    tables.table(["model", "GFLOP/tok"], [["gpt2", "0.2"], ["mistral-7b", "14.2"]])
    assert capsys.readouterr().out.splitlines() == ["model       GFLOP/tok", "gpt2              0.2",
                                                    "mistral-7b       14.2"]
    assert tables.TABLES == []


@pytest.mark.parametrize("headers, rows, align, message", [
    (["a", "b"], [["1"]], None, "every row needs 2 cells"),
    (["a"], [["1"]], "c", "align needs one of l/r"),
    (["a"], [["1"]] * 5000, None, "more than 5000 cells"),
])
def test_a_malformed_table_says_what_is_wrong(headers, rows, align, message):
    with pytest.raises(ValueError, match=message):
        tables.table(headers, rows, align)


def test_the_page_shows_an_html_table_in_the_printed_place(tmp_path):
    fixture_site(tmp_path, {"index.md": '# Page\n\n```snippet path="snippets/t.py"\n```\n'}, {"snippets/t.py": SNIPPET})
    proc = mkdocs_build(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (tmp_path / "site" / "index.html").read_text()
    html = html[html.index('<div class="rw-output">'):]
    before, table, after = html.index("before</code>"), html.index('<div class="rw-table"'), html.index("after &lt;b&gt;")
    assert before < table < after, "the table sits where it was printed, between the two texts"
    assert '<th class="rw-num">GFLOP/tok</th>' in html and '<td class="rw-num">14.2</td>' in html
    assert '<td class="rw-num">never</td>' in html and "<td>mistral-7b</td>" in html
    assert "rwsite-table" not in html, "no marker left in the page"
