"""Conceptual diagrams (rwsite/diagrams.py): the rules every SVG keeps, the fence that inlines
them, and the promise that every Architecture article has at least one, named and captioned.

The built pages are checked in test_site_build.py (a diagram on every Architecture page), and
the browser tests (test_site_browser.py) measure the drawings in Chromium: their text at 390
pixels, their ink in both palettes.
"""

from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from _site_support import REPO
from rwsite import diagrams
from rwsite.fence import top_level_lines

ARCHITECTURE = REPO / "docs" / "architecture"
ARTICLES = sorted(p for p in ARCHITECTURE.glob("*.md") if p.stem != "index")
SVGS = sorted((REPO / "docs").rglob("diagrams/*.svg"))
_HEADER = re.compile(r'^diagram\b(.*)$')

GOOD = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 480 100">
  <title>A box</title>
  <defs><marker id="ah"><path d="M0,0 L10,5 L0,10 z" class="d-head"/></marker></defs>
  <g font-size="15"><rect x="1" y="1" width="50" height="20" class="d-attn"/>
  <path d="M0,0 H10" class="d-ink" marker-end="url(#ah)"/><use href="#ah"/>
  <text x="5" y="15">attention</text><text x="5" y="40" font-size="14">small</text></g>
</svg>"""


def diagram_fences(page: Path) -> list[tuple[str, str]]:
    """(path, caption) of every ```` ```diagram ```` fence on `page`."""
    lines = page.read_text(encoding="utf-8").split("\n")
    found = []
    for number, _, m in top_level_lines("\n".join(lines)):
        if m is None or not (header := _HEADER.match(m["info"].strip())):
            continue
        options = dict(re.findall(r'(\w+)="([^"]*)"', header[1]))
        body = []
        for line in lines[number:]:
            if line.strip() == m["fence"]:
                break
            body.append(line)
        found.append((options.get("path", ""), "\n".join(body)))
    return found


@pytest.mark.parametrize("page", ARTICLES, ids=lambda p: p.stem)
def test_every_architecture_article_has_a_named_captioned_diagram(page):
    fences = diagram_fences(page)
    assert fences, f"{page.relative_to(REPO)} has no ```diagram fence"
    for path, caption in fences:
        svg = page.parent / path
        assert svg.is_file(), f"{page.name}: {path} does not exist"
        root = ET.fromstring(svg.read_text(encoding="utf-8"))
        title = diagrams.title_of(root)
        assert len(title.split()) >= 4, f"{path}: the title {title!r} is not a description"
        words = " ".join(caption.split())
        assert len(words.split()) >= 12, f"{page.name}, {path}: the caption should say what to look at"
        assert words.lower() != title.lower(), f"{page.name}, {path}: the caption repeats the title"
        assert "$" not in words, f"{page.name}, {path}: captions are not typeset as math; write it out"


@pytest.mark.parametrize("svg", SVGS, ids=lambda p: p.name)
def test_every_diagram_keeps_the_rules(svg):
    text = svg.read_text(encoding="utf-8")
    assert diagrams.problems(text, svg.name) == []
    root = ET.fromstring(text)
    assert root.find(f"{{{diagrams.SVG_NS}}}desc") is not None, f"{svg.name}: add a <desc> for screen readers"
    assert not re.search(r"https?:", text.replace(diagrams.SVG_NS, "")), f"{svg.name}: names another host"


def test_every_diagram_is_on_a_page():
    used = {(page.parent / path).resolve() for page in (REPO / "docs").rglob("*.md") for path, _ in diagram_fences(page)}
    assert SVGS and not [s.name for s in SVGS if s.resolve() not in used]


def test_the_phone_column_is_the_one_the_figures_are_drawn_for():
    mpl_backend = pytest.importorskip("rwsite.mpl_backend")
    assert diagrams.PHONE_COLUMN_PX == mpl_backend.PHONE_COLUMN_PX


@pytest.mark.parametrize("bad, rule", [
    ("<svg", "not well-formed"),
    ('<svg xmlns="http://www.w3.org/2000/svg"><title>x y</title></svg>', "viewBox"),
    ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 480 10"><text font-size="15">a</text></svg>', "no <title>"),
    (GOOD.replace('<title>', '<script>alert(1)</script><title>'), "<script> is not allowed"),
    (GOOD.replace('<title>', '<style>text{fill:red}</style><title>'), "<style> is not allowed"),
    (GOOD.replace('href="#ah"', 'href="https://example.com/a.svg#ah"'), "only links inside the drawing"),
    (GOOD.replace('url(#ah)', 'url(https://example.com/x.svg#ah)'), "url() may only name"),
    (GOOD.replace('<text x="5" y="15">', '<text x="5" y="15" fill="#000">'), "a fixed colour"),
    (GOOD.replace('<text x="5" y="15">', '<text x="5" y="15" fill="white">'), "a fixed colour"),
    (GOOD.replace('class="d-attn"', 'stroke="black"'), "a fixed colour"),
    (GOOD.replace('<text x="5" y="15">', '<text x="5" y="15" style="fill: currentColor">'), "style it with a class"),
    (GOOD.replace('<text x="5" y="15">', '<text x="5" y="15" onclick="go()">'), "no event handlers"),
    (GOOD.replace('font-size="14"', 'font-size="11"'), "would be 7.7 CSS px on a phone"),
    (GOOD.replace('<g font-size="15">', '<g>'), "has no font-size"),
])
def test_a_diagram_that_breaks_a_rule_is_refused_saying_which(bad, rule):
    assert diagrams.problems(GOOD) == []
    found = diagrams.problems(bad, "bad.svg")
    assert any(rule in problem for problem in found), found


def test_inlining_names_the_drawing_and_keeps_its_ids_apart():
    html = diagrams.inline(GOOD, "rw-d-box-")
    root = ET.fromstring(html)
    assert root.tag == f"{{{diagrams.SVG_NS}}}svg" and html.startswith(f'<svg ') and "ns0:" not in html
    assert (root.get("role"), root.get("aria-label")) == ("img", "A box")
    assert (root.get("width"), root.get("height"), root.get("data-font-pt")) == ("480", "100", "14")
    assert 'id="rw-d-box-ah"' in html and 'url(#rw-d-box-ah)' in html and 'href="#rw-d-box-ah"' in html
    assert 'id="ah"' not in html and "ns0:" not in html


def test_the_fence_renders_a_figure_with_its_caption(tmp_path):
    svg = tmp_path / "diagrams" / "box.svg"
    svg.parent.mkdir()
    svg.write_text(GOOD)
    html = diagrams.figure(svg, "Look at the *box*: it is\n`attention`.")
    assert html.startswith('<figure class="rw-figure rw-diagram"><svg ')
    assert "<figcaption>Look at the <em>box</em>: it is <code>attention</code>.</figcaption>" in html
    with pytest.raises(diagrams.DiagramError, match="needs a caption"):
        diagrams.figure(svg, "  \n")
    with pytest.raises(diagrams.DiagramError, match="one paragraph"):
        diagrams.figure(svg, "One.\n\nTwo.")
    svg.write_text(GOOD.replace("<title>A box</title>", ""))
    with pytest.raises(diagrams.DiagramError, match="no <title>"):
        diagrams.figure(svg, "A caption.")


def test_a_broken_diagram_fails_the_build_naming_the_page(tmp_path):
    from test_site_build import fixture_site, mkdocs_build

    page = textwrap.dedent('''
        # Page

        ```diagram path="diagrams/box.svg"
        A caption that says what to look at.
        ```
    ''')
    fixture_site(tmp_path, {"part/page.md": page, "index.md": "# Home\n"}, {})
    (tmp_path / "docs" / "part" / "diagrams").mkdir()
    (tmp_path / "docs" / "part" / "diagrams" / "box.svg").write_text(GOOD)
    proc = mkdocs_build(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (tmp_path / "site" / "part" / "page" / "index.html").read_text(encoding="utf-8")
    assert '<figure class="rw-figure rw-diagram"><svg ' in html and 'aria-label="A box"' in html

    (tmp_path / "docs" / "part" / "diagrams" / "box.svg").write_text(GOOD.replace('<g font-size="15">', "<g>"))
    proc = mkdocs_build(tmp_path)
    assert proc.returncode != 0
    assert "diagram diagrams/box.svg: box.svg: the text 'attention' has no font-size" in proc.stdout + proc.stderr
    assert "[in docs/part/page.md]" in proc.stdout + proc.stderr

