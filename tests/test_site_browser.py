"""The built site in a real browser (Debian's Chromium, driven by Playwright).

Served on 127.0.0.1, every page is opened in the light and the dark palette: no console
errors, no request to any other host, figures visible and drawn in the palette's text colour,
and search finds a word from an article. Skips, saying why, where Chromium is not installed.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from _site_support import SITE_BUILD_TIMEOUT_S, built_site, html_pages

CHROMIUM = os.environ.get("RWSITE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-domain-reliability"]

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.timeout(SITE_BUILD_TIMEOUT_S + 300),  # may build the site first
]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve(built_site(tmp_path_factory.mktemp("site")).directory)


def serve(site: Path):
    """Yields (site, its address) while a server on 127.0.0.1 serves `site`."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def page_urls(site: Path, base: str) -> list[str]:
    urls = []
    for page in html_pages(site):
        relative = page.relative_to(site).as_posix()
        urls.append(f"{base}/{relative[:-len('index.html')] if relative.endswith('index.html') else relative}")
    return urls


def luminance(css_colour: str) -> float:
    channels = [float(c) for c in css_colour[css_colour.index("(") + 1:-1].split(",")[:3]]
    return sum(w * c / 255 for w, c in zip((0.2126, 0.7152, 0.0722), channels))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_loads_cleanly(server, browser, scheme):
    site, base = server
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems, figures = [], 0
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"{page.url}: console: {msg.text}"))
    page.on("pageerror", lambda exc: problems.append(f"{page.url}: page error: {exc}"))
    page.on("request", lambda req: urlsplit(req.url).hostname not in (None, "127.0.0.1")
            and urlsplit(req.url).scheme in ("http", "https", "ws", "wss")
            and problems.append(f"{page.url}: request to {req.url}"))
    # ERR_ABORTED: a request still in flight when we move on to the next page, not a failure.
    page.on("requestfailed", lambda req: req.failure != "net::ERR_ABORTED"
            and problems.append(f"{page.url}: failed to load {req.url} ({req.failure})"))
    for url in page_urls(site, base):
        response = page.goto(url, wait_until="load")
        assert response is not None and response.ok, f"{url}: HTTP {response and response.status}"
        for svg in page.locator(".rw-figure svg:not(.rw-narrow)").all():   # the narrow one is for phones
            svg.scroll_into_view_if_needed()
            assert svg.is_visible(), f"{url}: a figure is not visible"
            box = svg.bounding_box()
            assert box and box["width"] > 200 and box["height"] > 100, f"{url}: figure is {box}"
            ink = svg.evaluate("el => getComputedStyle(el).color")
            light_ink = luminance(ink) > 0.5
            assert light_ink == (scheme == "dark"), f"{url}: figure ink {ink} does not suit the {scheme} palette"
            figures += 1
    context.close()
    assert not problems, "\n".join(problems)
    assert figures >= 1, "no figure was found on any page"


TEXT_CHECK = """el => {
  // Drawings with real <text> (the diagrams of rwsite/diagrams.py): each one's size as shown,
  // its font size times the scale of its own transform, and whether it lies inside its drawing.
  const found = [];
  for (const svg of el.querySelectorAll('svg')) {
    if (getComputedStyle(svg).display === 'none') continue;
    const box = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      const m = t.getScreenCTM(), r = t.getBoundingClientRect();
      found.push({text: t.textContent.trim(), px: parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b),
                  inside: r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1});
    }
  }
  return found;
}"""


def test_every_page_reads_on_a_phone(server, browser):
    """At 390 CSS pixels: no figure text under 9 pixels (computed from each drawing's smallest
    font, `data-font-pt`, and the scale it is shown at; and, for drawings with real text, the
    diagrams, measured on every text, which must also lie inside its drawing), nothing wider
    than the page outside a scroll box of its own, no console error."""
    site, base = server
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    page = context.new_page()
    problems, measured, texts = [], 0, 0
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"{page.url}: console: {msg.text}"))
    for url in page_urls(site, base):
        page.goto(url, wait_until="load")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            problems.append(f"{url}: the page scrolls sideways by {overflow} px")
        for figure in page.locator(".rw-figure").all():
            shown = figure.evaluate("""el => [...el.querySelectorAll('svg')]
                .filter(s => getComputedStyle(s).display !== 'none')
                .map(s => ({width: s.getBoundingClientRect().width, pt: parseFloat(s.getAttribute('width')),
                            font: parseFloat(s.dataset.fontPt)}))""")
            if len(shown) != 1:
                problems.append(f"{url}: a figure shows {len(shown)} drawings")
                continue
            px = shown[0]["font"] * shown[0]["width"] / shown[0]["pt"]
            measured += 1
            if px < 9:
                problems.append(f"{url}: a figure's smallest text is {px:.1f} CSS px")
            for text in figure.evaluate(TEXT_CHECK):
                texts += 1
                if text["px"] < 9:
                    problems.append(f"{url}: the figure text {text['text']!r} is {text['px']:.1f} CSS px")
                if not text["inside"]:
                    problems.append(f"{url}: the figure text {text['text']!r} is cut off by its drawing's edge")
    context.close()
    assert measured > 10, "too few figures measured"
    assert texts > 100, f"only {texts} text elements measured in the diagrams"
    assert not problems, "\n".join(problems)


def test_search_finds_an_article_word(server, browser):
    _, base = server
    page = browser.new_page()
    page.goto(f"{base}/", wait_until="networkidle")
    page.keyboard.press("s")  # Material's shortcut to the search box
    page.locator("input.md-search__input").press_sequentially("temperature", delay=20)
    results = page.locator(".md-search-result__item")
    results.first.wait_for(state="visible", timeout=15000)
    assert "Robot Student" in page.locator(".md-search-result").inner_text()
    page.close()


MATH_CHECK = """async () => {
  await document.fonts.ready;
  const problems = [];
  const em = el => parseFloat(getComputedStyle(el).fontSize);
  for (const root of document.querySelectorAll("msqrt")) {
    // Chromium boxes a radical as wide as the widest size in the font: a gap after the content
    const right = Math.max(...[...root.children].map(c => c.getBoundingClientRect().right));
    const gap = (root.getBoundingClientRect().right - right) / em(root);
    if (gap > 0.15) problems.push(`a square root ends ${gap.toFixed(2)} em after its content`);
  }
  for (const fence of document.querySelectorAll('mo[fence="true"][stretchy="true"]')) {
    const ratio = fence.getBoundingClientRect().height / fence.parentElement.getBoundingClientRect().height;
    if (ratio < 0.8) problems.push(`a stretchy bracket covers ${(100 * ratio).toFixed(0)}% of its row`);
  }
  return {loaded: document.fonts.check('1em "Raw Weights Math"'),
          roots: document.querySelectorAll("msqrt").length,
          fences: document.querySelectorAll('mo[fence="true"][stretchy="true"]').length, problems};
}"""


def test_math_is_typeset_in_the_served_font(server, browser):
    """The math font loads from the site, brackets stretch over what they hold, and square
    roots close on their content (the served font's stretchy sizes share one width)."""
    _, base = server
    page = browser.new_page()
    try:
        found = {"roots": 0, "fences": 0}
        for path in ("robot-student/intelligent-climber/", "architecture/normalization/", "architecture/mlp/"):
            page.goto(f"{base}/{path}", wait_until="networkidle")
            result = page.evaluate(MATH_CHECK)
            assert result["loaded"], f"{path}: the font 'Raw Weights Math' did not load"
            assert not result["problems"], f"{path}: " + "; ".join(result["problems"])
            found["roots"] += result["roots"]
            found["fences"] += result["fences"]
        assert found["roots"] >= 3 and found["fences"] >= 2, found
    finally:
        page.close()


NARROW_CHECK = """() => {
  const width = document.documentElement.clientWidth, wide = [];
  const scrolls = el => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  for (const el of document.querySelectorAll(".md-content pre, .md-content table, .md-content math, .md-content svg, .md-content img")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) continue;
    let held = scrolls(el);
    for (let up = el.parentElement; !held && up && up !== document.body; up = up.parentElement) held = scrolls(up);
    if (!held) wide.push(`<${el.tagName.toLowerCase()}> ends at ${Math.round(box.right)} px`);
  }
  return {page: document.documentElement.scrollWidth, width, wide};
}"""


def test_nothing_is_wider_than_a_phone_without_its_own_scroll(server, browser):
    """At 390 CSS pixels a wide code block, table, formula or figure scrolls by itself; the
    page never scrolls sideways."""
    site, base = server
    page = browser.new_page(viewport={"width": 390, "height": 844})
    problems = []
    try:
        for url in page_urls(site, base):
            page.goto(url, wait_until="load")
            result = page.evaluate(NARROW_CHECK)
            if result["page"] > result["width"]:
                problems.append(f"{url}: the page is {result['page']} px wide at {result['width']}")
            problems += [f"{url}: {item}" for item in result["wide"]]
    finally:
        page.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("term", ["rope", "sliding window", "attention"])
def test_search_lists_articles_before_the_api_pages(server, browser, term):
    """Each term is a heading on an API page and a word in an article: the article comes first."""
    _, base = server
    page = browser.new_page()
    try:
        page.goto(f"{base}/", wait_until="networkidle")
        page.keyboard.press("s")
        page.locator("input.md-search__input").press_sequentially(term, delay=20)
        page.locator(".md-search-result__item").first.wait_for(state="visible", timeout=15000)
        page.wait_for_timeout(500)  # results arrive while typing: let the last query's settle
        first = page.locator(".md-search-result__item > a").first.get_attribute("href")
        assert "/reference/" not in first, f"searching {term!r} lists {first} first"
    finally:
        page.close()


def _contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two computed `rgb(...)`/`rgba(...)` colours (fg blended on bg)."""
    def channels(css):
        return [float(c) for c in css[css.index("(") + 1:-1].split(",")]
    f, b = channels(fg), channels(bg)[:3]
    alpha = f[3] if len(f) > 3 else 1.0
    f = [alpha * x + (1 - alpha) * y for x, y in zip(f[:3], b)]

    def lum(rgb):
        lin = [(c / 255 / 12.92) if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((lum(f), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_what_lighthouse_found_stays_fixed(server, browser, scheme):
    """The three accessibility failures Lighthouse reported (benchmarks/lighthouse_site.py):
    the search dialog has a name, code comments and operators reach 4.5:1 on the code
    background, and links inside running text are underlined."""
    site, base = server
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/architecture/zoo/", wait_until="load")
    assert page.locator(".md-search[role=dialog]").get_attribute("aria-label")
    ratios = page.evaluate("""() => {
        const bg = getComputedStyle(document.querySelector('.highlight code')).backgroundColor;
        return [...document.querySelectorAll('.highlight .c1, .highlight .sd, .highlight .o, .highlight .p')]
            .slice(0, 200).map(el => [el.className, getComputedStyle(el).color, bg]);
    }""")
    assert ratios, "no code comments or operators found on the zoo page"
    worst = min((_contrast(fg, bg), cls) for cls, fg, bg in ratios)
    assert worst[0] >= 4.5, f"{scheme}: code token .{worst[1]} has contrast {worst[0]:.2f}:1"
    links = page.evaluate("""() => [...document.querySelectorAll('article p a:not(.headerlink), article li a')]
        .map(a => getComputedStyle(a).textDecorationLine)""")
    assert links and all("underline" in d for d in links), f"links not underlined: {set(links)}"
    context.close()


def test_a_long_code_block_opens_and_closes(server, browser):
    """A folded block (rwsite/fold.py) shows its first lines, opens fully from the keyboard,
    and prints whole."""
    site, base = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/architecture/zoo/", wait_until="load")
    fold = page.locator(".rw-fold").first
    code = fold.locator("code")
    closed = code.bounding_box()["height"]
    full = code.evaluate("el => el.scrollHeight")
    assert closed < full * 0.6, f"folded block is {closed} px of {full}"
    assert "Show all" in fold.locator(".rw-fold__switch").inner_text()
    fold.locator(".rw-fold__toggle").focus()
    page.keyboard.press("Space")
    assert code.bounding_box()["height"] >= full - 2
    assert "first 15 lines" in fold.locator(".rw-fold__switch").inner_text()
    page.keyboard.press("Space")
    assert abs(code.bounding_box()["height"] - closed) < 2
    page.emulate_media(media="print")   # print styles set other sizes: nothing may stay hidden
    hidden = code.evaluate("el => el.scrollHeight - el.clientHeight")
    assert hidden <= 1, f"printed, the folded block still hides {hidden} px"
    page.close()
