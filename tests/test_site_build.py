"""The built site: strict build, links and anchors, no third-party loads, live-code output;
and a build with a failing snippet fails, strict or not, naming file:line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from _site_support import REPO, SITE_BUILD_TIMEOUT_S, VENV_BIN, built_site, html_pages

# The first test builds the whole site; on an empty cache that is the cold build (minutes).
pytestmark = pytest.mark.timeout(SITE_BUILD_TIMEOUT_S + 300)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return built_site(tmp_path_factory.mktemp("site"))


class Anchors(HTMLParser):
    """Collects the ids a page defines and the URLs it links to or loads."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag, url)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("id", "name"):
            if attrs.get(name):
                self.ids.add(attrs[name])
        for name in ("href", "src"):
            if attrs.get(name) is not None and tag in ("a", "link", "script", "img", "iframe", "source"):
                self.links.append((tag, attrs[name]))


def parse(path: Path) -> Anchors:
    parser = Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def target_file(site: Path, page: Path, url: str) -> tuple[Path, str]:
    base = "/" + page.relative_to(site).as_posix()
    parts = urlsplit(urljoin(base, url))
    path = site / unquote(parts.path).lstrip("/")
    if parts.path.endswith("/"):
        path = path / "index.html"
    return path, unquote(parts.fragment)


def test_build_reports_snippet_runs(site):
    if not site.log:
        pytest.skip("using the site given in $RWSITE_BUILT_SITE: no build log")
    assert re.search(r"rwsite: snippets: \d+ used, \d+ from cache, \d+ run .* 0 failed", site.log)


def test_no_broken_internal_links_or_anchors(site):
    parsed = {page: parse(page) for page in html_pages(site.directory)}
    broken = []
    for page, anchors in parsed.items():
        for tag, url in anchors.links:
            if re.match(r"^([a-z][a-z0-9+.-]*:|//)", url, re.I):  # external, mailto:, data:, ...
                continue
            path, fragment = target_file(site.directory, page, url)
            where = f"{page.relative_to(site.directory)}: <{tag}> {url}"
            if not path.exists():
                broken.append(f"{where}: no {path.relative_to(site.directory)}")
            elif fragment and path.suffix == ".html":
                ids = parsed[path].ids if path in parsed else parse(path).ids
                if fragment not in ids:
                    broken.append(f"{where}: no anchor #{fragment}")
    assert not broken, "\n".join(broken)


def test_no_page_loads_anything_from_another_host(site):
    offenders = []
    for page in html_pages(site.directory):
        for tag, url in parse(page).links:
            if tag != "a" and re.match(r"^(https?:)?//", url) and not url.startswith("//127.0.0.1"):
                offenders.append(f"{page.relative_to(site.directory)}: <{tag}> {url}")
    assert not offenders, "\n".join(offenders)


def test_no_stylesheet_loads_anything_from_another_host(site):
    """The HTML check above does not see a font or an @import named inside a stylesheet."""
    offenders = []
    for sheet in sorted(site.directory.rglob("*.css")):
        text = sheet.read_text(encoding="utf-8")
        for url in re.findall(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", text):
            url = url[0] or url[1]
            if re.match(r"^(https?:)?//", url):
                offenders.append(f"{sheet.relative_to(site.directory)}: {url}")
    assert not offenders, "\n".join(offenders)


def test_math_is_drawn_in_the_font_the_site_serves(site):
    from fontTools.ttLib import TTFont

    served = re.search(r"^\s*math_font:\s*(\S+)", (REPO / "mkdocs.yml").read_text(), re.M)[1]
    font = TTFont(site.directory / served)
    assert "MATH" in font, f"{served} has no OpenType MATH table: brackets would not stretch"
    sheet = site.directory / "stylesheets" / "rawweights.css"
    css = sheet.read_text(encoding="utf-8")
    face = re.search(r"@font-face\s*{[^}]*font-family:\s*\"([^\"]+)\"[^}]*src:\s*url\(\"([^\"]+)\"\)", css)
    assert face, "rawweights.css declares no @font-face"
    assert (sheet.parent / face[2]).resolve() == (site.directory / served).resolve()
    rule = re.search(r"(?:^|\n)[^{}@]*\bmath\s*{[^}]*font-family:\s*\"([^\"]+)\"", css)
    assert rule and rule[1] == face[1], "no `math` rule draws in the served font"
    with_math = [p for p in html_pages(site.directory) if "<math" in p.read_text(encoding="utf-8")]
    assert len(with_math) >= 8
    for page in with_math:
        links = [url for tag, url in parse(page).links if tag == "link"]
        assert any(target_file(site.directory, page, url)[0] == sheet for url in links), page


def test_every_snippet_output_has_provenance_and_math_is_mathml(site):
    html = (site.directory / "robot-student" / "index.html").read_text(encoding="utf-8")
    outputs = html.count('class="rw-output"')
    assert outputs >= 2 and html.count('class="rw-provenance"') == outputs
    assert re.search(r"ran snippets/robot/\S+\.py · jax [\d.]+ · flax [\d.]+ · cpu[^·]* · seed 0 · [\d.]+ s · (cached|fresh)", html)
    assert '<figure class="rw-figure"' in html and "currentColor" in html
    assert "<math" in html and "arithmatex" not in html
    reading = (site.directory / "robot-student" / "how-it-reads" / "index.html").read_text(encoding="utf-8")
    for page in (html, reading):
        assert "--8<--" not in page and "--8&lt;--" not in page  # region markers never shown
    # library code embedded by named region (pymdownx.snippets)
    assert "mha.py, region qk" in reading and "apply_rope" in reading


def test_notebook_page_offers_the_ipynb(site):
    page = site.directory / "notebooks" / "train_your_robot_student" / "index.html"
    html = page.read_text(encoding="utf-8")
    assert 'href="train_your_robot_student.ipynb"' in html
    button = re.search(r'<a href="train_your_robot_student\.ipynb" download[^>]*>(.*?)</a>', html, re.S)
    assert button and "Download the notebook (.ipynb)" in re.sub(r"<[^>]+>|\s+", " ", button[1])
    # its title is the one the navigation gives it (mkdocs-jupyter titles it by its first heading)
    label = next(label for section in nav() if "Notebooks" in section for entry in section["Notebooks"]
                 for label, path in entry.items() if path == "notebooks/train_your_robot_student.py")
    assert f"<title>{label} - " in html and re.search(rf"<h1[^>]*>{re.escape(label)}<", html)
    notebook = json.loads((page.parent / "train_your_robot_student.ipynb").read_text())
    assert notebook["nbformat"] == 4 and any(c["cell_type"] == "code" for c in notebook["cells"])
    assert "loss" in html and "nats/char" in html  # executed at build time: its output is there


def nav() -> list:
    import yaml

    return yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]


def page_url(source: str) -> str:
    """The site path of a docs/ source file, as MkDocs' directory URLs write it."""
    if source.endswith("/"):  # a folder (the generated reference section): its index page
        return source
    stem = source.rsplit(".", 1)[0]
    return "" if stem == "index" else (stem[:-len("index")] if stem.endswith("/index") else stem + "/")


def linked_pages(site: Path, page: Path) -> set[str]:
    """The site paths `page` links to (fragments dropped)."""
    targets = set()
    for tag, url in parse(page).links:
        if tag == "a" and not re.match(r"^([a-z][a-z0-9+.-]*:|//|#)", url, re.I):
            path, _ = target_file(site, page, url)
            if path.name == "index.html":
                relative = path.parent.relative_to(site).as_posix()
                targets.add("" if relative == "." else relative + "/")
    return targets


def test_the_architecture_index_lists_every_architecture_article(site):
    index = site.directory / "architecture" / "index.html"
    articles = {f"architecture/{p.stem}/" for p in (REPO / "docs" / "architecture").glob("*.md") if p.stem != "index"}
    section = next(entries for item in nav() for title, entries in item.items() if title == "Architecture")
    articles |= {page_url(path) for entry in section if isinstance(entry, dict) for path in entry.values()}
    missing = sorted(articles - linked_pages(site.directory, index))
    assert len(articles) >= 8 and not missing, f"architecture/index.md does not link to {missing}"


def test_every_architecture_page_shows_a_named_captioned_diagram(site):
    """At least one conceptual diagram (rwsite/diagrams.py) per article, with an accessible
    name and a caption of its own."""
    problems = []
    for page in sorted((REPO / "docs" / "architecture").glob("*.md")):
        if page.stem == "index":
            continue
        html = (site.directory / "architecture" / page.stem / "index.html").read_text(encoding="utf-8")
        figures = re.findall(r'<figure class="rw-figure rw-diagram">(<svg [^>]*>).*?<figcaption>(.*?)</figcaption>',
                             html, re.S)
        if not figures:
            problems.append(f"architecture/{page.stem}: no diagram")
        for svg, caption in figures:
            if 'role="img"' not in svg or not re.search(r'aria-label="[^"]{20,}"', svg):
                problems.append(f"architecture/{page.stem}: a diagram without an accessible name: {svg[:120]}")
            if len(re.sub(r"<[^>]+>", "", caption).split()) < 12:
                problems.append(f"architecture/{page.stem}: a diagram's caption is too short: {caption!r}")
    assert not problems, "\n".join(problems)


def test_home_links_every_section(site):
    home = linked_pages(site.directory, site.directory / "index.html")
    missing = []
    for item in nav():
        for title, entries in item.items():
            if title == "Home":
                continue
            entries = entries if isinstance(entries, list) else [entries]
            pages = {page_url(e if isinstance(e, str) else next(iter(e.values()))) for e in entries}
            if not pages & home:
                missing.append(f"{title} ({', '.join(sorted(pages))})")
    assert not missing, f"Home links to no page of: {'; '.join(missing)}"


def test_search_ranks_articles_above_the_api_pages(site):
    """Material multiplies a page's search scores by its boost: the generated API pages (one
    heading per argument, and headings weigh 1000 times text) are set far below the articles."""
    docs = json.loads((site.directory / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    api = [d for d in docs if re.match(r"reference/[a-z]+/", d["location"])]
    written = [d for d in docs if not d["location"].startswith("reference/")]
    assert len(api) > 100 and len(written) > 50
    api_boosts = {d.get("boost", 1) for d in api}
    assert max(api_boosts) * 1000 < min(d.get("boost", 1) for d in written), (
        f"API pages boosted {api_boosts}; articles {sorted({d.get('boost', 1) for d in written})}")


def test_the_search_index_holds_api_summaries_not_whole_docstrings(site):
    """Every page fetches the index (rwsite/search_index.py): API objects keep a name and one
    paragraph; module entries and articles keep their text."""
    docs = json.loads((site.directory / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    objects = [d for d in docs if "#rawweights_jax." in d["location"]]
    assert len(objects) > 100
    assert max(d["text"].count("<p>") for d in objects) <= 1
    assert any("train" == re.sub(r"<[^>]+>", "", d["title"]).strip() for d in objects)
    modules = [d for d in docs if "#rawweights_jax" in d["location"] and d not in objects]
    assert sum(d["text"].count("<p>") > 1 for d in modules) > 20


def test_the_reference_shows_signatures_apart_and_docstring_lists_as_lists(site):
    html = (site.directory / "reference" / "config" / "index.html").read_text(encoding="utf-8")
    heading = re.search(r'<h3 id="rawweights_jax\.config\.model\.ModelConfig"[^>]*>(.*?)</h3>', html, re.S)[1]
    assert "vocab_size" not in heading  # the heading names the class; its 50 fields follow in code
    signature = html[html.index('id="rawweights_jax.config.model.ModelConfig"'):]
    signature = signature[signature.index("doc-signature"):][:20000]
    assert signature.count("\n") > 40  # one field a line, formatted
    nn = (site.directory / "reference" / "nn" / "index.html").read_text(encoding="utf-8")
    assert re.search(r"<p>Backends:</p>\s*<ul>\s*<li><code>naive</code>", nn), "the backends list is not a list"


def test_the_contributor_guide_shows_region_markers(site):
    html = (site.directory / "contributing" / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&quot;", '"')
    for line in ("# --8<-- [start:attention]", "# --8<-- [end:attention]",
                 '--8<-- "rawweights_jax/nn/attention/mha.py:attention"'):
        assert line in text, f"the contributor guide's example lost {line!r}"


MKDOCS_YML = """\
site_name: failing
strict: {strict}
hooks:
  - {hooks}
markdown_extensions:
  - pymdownx.superfences
"""


@pytest.mark.parametrize("strict", ["true", "false"])
def test_a_failing_snippet_fails_the_build_with_file_and_line(tmp_path, strict):
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "bad.py").write_text('print("fine so far")\nratio = 1 / 0\n')
    (tmp_path / "snippets" / "good.py").write_text('print("ok")\n')
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(textwrap.dedent("""\
        # Page

        ```snippet path="snippets/good.py"
        ```

        ```snippet path="snippets/bad.py"
        ```

        ```snippet path="snippets/missing.py"
        ```
    """))
    (tmp_path / "mkdocs.yml").write_text(MKDOCS_YML.format(strict=strict, hooks=REPO / "rwsite" / "hooks.py"))
    env = dict(os.environ, RWSITE_CACHE_DIR=str(tmp_path / "cache"), NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([str(VENV_BIN / "mkdocs"), "build"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log
    assert "2 problem(s) in the site's live code" in log
    assert "snippets/bad.py:2: ZeroDivisionError: division by zero  [in docs/index.md]" in log
    assert "snippets/missing.py: no such snippet file" in log
    # progress while the build runs: one line per snippet as it finishes, failures named at once
    assert re.search(r"rwsite: \[[12]/2\] +[\d.]+ s  snippets/good\.py  \(done\)", log), log
    assert re.search(r"rwsite: \[[12]/2\] +[\d.]+ s  snippets/bad\.py  \(failed: snippets/bad\.py:2: "
                     r"ZeroDivisionError", log), log


def fixture_site(root: Path, pages: dict[str, str], snippets: dict[str, bytes | str], *,
                 strict: str = "true", docs_dir: str = "docs") -> Path:
    for relative, content in snippets.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for name, text in pages.items():
        (root / docs_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (root / docs_dir / name).write_text(textwrap.dedent(text))
    config = MKDOCS_YML.format(strict=strict, hooks=REPO / "rwsite" / "hooks.py")
    (root / "mkdocs.yml").write_text(config + (f"docs_dir: {docs_dir}\n" if docs_dir != "docs" else ""))
    return root / "mkdocs.yml"


def mkdocs_build(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, RWSITE_CACHE_DIR=str(root / "cache"), NO_MKDOCS_2_WARNING="1")
    return subprocess.run([str(VENV_BIN / "mkdocs"), "build"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_latin1_snippet_is_shown_as_python_reads_it(tmp_path):
    source = '# -*- coding: latin-1 -*-\nname = "café"\nprint(name.upper())\n'.encode("latin-1")
    fixture_site(tmp_path, {"index.md": '# Page\n\n```snippet path="snippets/latin.py"\n```\n'},
                 {"snippets/latin.py": source})
    proc = mkdocs_build(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "snippet path=" not in html, "the fence was left on the page as text"
    assert "caf\u00e9" in html and "CAF\u00c9" in html


def test_errors_name_pages_in_the_configured_docs_dir(tmp_path):
    fixture_site(tmp_path, {"index.md": '# Page\n\n```snippet path="snippets/bad.py"\n```\n'},
                 {"snippets/bad.py": "raise ValueError('no')\n"}, docs_dir="pages")
    proc = mkdocs_build(tmp_path)
    assert proc.returncode != 0
    assert "snippets/bad.py:1: ValueError: no  [in pages/index.md]" in proc.stdout + proc.stderr


def in_process_build(config_file: Path, cache: Path, monkeypatch):
    """Build with mkdocs in this process, so a test can patch rwsite (the hooks import it)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    monkeypatch.setenv("RWSITE_CACHE_DIR", str(cache))
    monkeypatch.chdir(config_file.parent)
    build(load_config(config_file=str(config_file)))


def test_a_fence_that_is_not_rendered_fails_the_build(tmp_path, monkeypatch, caplog):
    from mkdocs.exceptions import Abort

    from rwsite import fence

    config = fixture_site(tmp_path, {"index.md": '# Page\n\n```snippet path="snippets/ok.py"\n```\n'},
                          {"snippets/ok.py": "print('ok')\n"})

    def refuse(*args):
        raise RuntimeError("a validator that breaks: superfences then leaves the fence as text")

    monkeypatch.setattr(fence, "validate", refuse)
    with pytest.raises(Abort):
        in_process_build(config, tmp_path / "cache", monkeypatch)
    assert "snippets/ok.py: its fence was not rendered (left as plain text)  [in docs/index.md]" in caplog.text


@pytest.mark.parametrize("strict", ["true", "false"])
def test_the_build_budget_is_held_by_a_strict_build(tmp_path, monkeypatch, caplog, strict):
    from mkdocs.exceptions import Abort

    from rwsite import report

    monkeypatch.setattr(report, "SNIPPET_BUDGET_S", 0.5)
    config = fixture_site(tmp_path, {"slow.md": '# Slow\n\n```snippet path="snippets/slow.py"\n```\n'},
                          {"snippets/slow.py": "import time\nwhile time.process_time() < 1.5:\n    pass\n"},
                          strict=strict)
    if strict == "true":
        with pytest.raises(Abort):
            in_process_build(config, tmp_path / "cache", monkeypatch)
    else:
        in_process_build(config, tmp_path / "cache", monkeypatch)
    assert re.search(r"snippets/slow\.py: ran [12] CPU-s, over the 0 CPU-s budget of a snippet; make the "
                     r"experiment a benchmark  \[in docs/slow\.md\]", caplog.text), caplog.text


def test_a_strict_build_is_recorded_and_goes_stale_when_its_inputs_change(tmp_path):
    from rwsite.repo import fresh_build

    fixture_site(tmp_path, {"index.md": '# Page\n\n```snippet path="snippets/ok.py"\n```\n'},
                 {"snippets/ok.py": "print('ok')\n"})
    assert mkdocs_build(tmp_path).returncode == 0
    record = fresh_build(tmp_path, tmp_path / "cache")
    assert record and Path(record["site_dir"]) == tmp_path / "site"
    assert re.search(r"rwsite: snippets: 1 used, 0 from cache, 1 run", record["log"])
    (tmp_path / "docs" / "index.md").write_text("# Page, edited\n")
    assert fresh_build(tmp_path, tmp_path / "cache") is None
