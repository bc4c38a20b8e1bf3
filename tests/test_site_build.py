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


def test_every_snippet_output_has_provenance_and_math_is_mathml(site):
    html = (site.directory / "robot-student" / "index.html").read_text(encoding="utf-8")
    outputs = html.count('class="rw-output"')
    assert outputs >= 2 and html.count('class="rw-provenance"') == outputs
    assert re.search(r"ran snippets/robot/\S+\.py · jax [\d.]+ · flax [\d.]+ · cpu[^·]* · seed 0 · [\d.]+ s · (cached|fresh)", html)
    assert '<figure class="rw-figure"' in html and "currentColor" in html
    assert "<math" in html and "arithmatex" not in html
    assert "--8<--" not in html and "--8&lt;--" not in html  # region markers never shown
    assert "wqkv_DKJH" in html  # library code embedded by named region (pymdownx.snippets)


def test_notebook_page_offers_the_ipynb(site):
    page = site.directory / "notebooks" / "train_your_robot_student" / "index.html"
    html = page.read_text(encoding="utf-8")
    assert 'href="train_your_robot_student.ipynb"' in html
    notebook = json.loads((page.parent / "train_your_robot_student.ipynb").read_text())
    assert notebook["nbformat"] == 4 and any(c["cell_type"] == "code" for c in notebook["cells"])
    assert "loss" in html and "nats/char" in html  # executed at build time: its output is there


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
