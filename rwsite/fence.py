"""The ```` ```snippet ```` fence: its syntax, named regions, and the HTML it becomes.

An article embeds a snippet and its output with one fence and an empty body:

    ```snippet path="snippets/robot/future_blind.py" region="demo"
    ```

Options (values in double quotes, as all pymdownx.superfences options):

- `path`    the snippet, relative to the repository root (required);
- `region`  show only the lines between `# --8<-- [start:NAME]` and `# --8<-- [end:NAME]`;
            the whole file still runs (regions choose what to show, not what to run);
- `show`    `both` (default), `code` or `output`;
- `timeout` seconds before the run is stopped (default 300). Not part of the cache key: a
            run that finished printed the same whatever its timeout (a run that did not finish
            is never kept), so fences that embed one file share one run, with the longest timeout.
- `title`   the caption above the code (default: the path, and the lines of the region).

This module does not run anything itself: it asks the current build's `Executor` for the
outcome (normally already computed by the parallel pre-pass in `rwsite.hooks`), records a
failure for the hooks to report, and renders code, stdout, stderr, figures and provenance.
Any exception while rendering a fence is such a failure: pymdownx.superfences would otherwise
swallow it and leave the fence as plain text on a page that builds green. The snippet's code is
read in the encoding its coding line declares, as Python reads it.
`find_fences` is the pre-pass's scanner: it knows fenced blocks, so a fence shown as an
example inside another fence (as in the contributor guide) is not mistaken for a real one.
"""

from __future__ import annotations

import html
import re
import textwrap
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from rwsite.executor import DEFAULT_TIMEOUT, Executor, Outcome, Run

OPTIONS = ("path", "region", "show", "timeout", "title")
SHOW = ("both", "code", "output")
_OPTION = re.compile(r'([a-zA-Z][a-zA-Z0-9_]*)="([^"]*)"')
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*)$")
_MARKER = re.compile(r"^\s*#\s*--8<--\s*\[(start|end):([^\]]+)\]\s*$")


class FenceError(ValueError):
    """A fence whose options are wrong; the message says which and what was expected."""


@dataclass(frozen=True)
class Fence:
    """A parsed fence: what to run, and what of it to show."""

    run: Run
    region: str | None = None
    show: str = "both"
    title: str | None = None

    @classmethod
    def parse(cls, options: dict[str, str]) -> "Fence":
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise FenceError(f"unknown snippet option(s) {', '.join(unknown)}; expected some of {', '.join(OPTIONS)}")
        path = options.get("path", "").strip()
        if not path:
            raise FenceError('a snippet fence needs path="snippets/<part>/<idea>.py"')
        if Path(path).is_absolute() or ".." in Path(path).parts:
            raise FenceError(f'path="{path}": give the snippet relative to the repository root, without ".."')
        show = options.get("show", "both")
        if show not in SHOW:
            raise FenceError(f'show="{show}": expected one of {", ".join(SHOW)}')
        try:
            timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
        except ValueError:
            raise FenceError(f'timeout="{options["timeout"]}": expected a number of seconds') from None
        if timeout <= 0:
            raise FenceError(f'timeout="{options["timeout"]}": expected a positive number of seconds')
        return cls(Run(Path(path).as_posix(), timeout), options.get("region") or None, show, options.get("title"))


def parse_info(info: str) -> dict[str, str]:
    """The options of a fence header after the word `snippet`; unquoted values are an error."""
    options = dict(_OPTION.findall(info))
    leftover = _OPTION.sub("", info).strip()
    if leftover:
        raise FenceError(f"cannot read {leftover!r} in the fence header: write options as key=\"value\"")
    return options


def find_fences(markdown: str) -> list[tuple[int, dict[str, str] | FenceError]]:
    """(line number, options or error) of every top-level ```` ```snippet ```` fence in `markdown`."""
    found = []
    for number, _, m in top_level_lines(markdown):
        if m is None:
            continue
        words = m["info"].split(None, 1)
        if words and words[0] == "snippet":
            try:
                found.append((number, parse_info(words[1] if len(words) > 1 else "")))
            except FenceError as exc:
                found.append((number, exc))
    return found


def top_level_lines(markdown: str):
    """(line number, line, the opening fence's match or None) of every line of `markdown` that
    is not inside a fenced code block: prose, and the lines that open a block."""
    open_fence: str | None = None
    for number, line in enumerate(markdown.split("\n"), start=1):
        m = _FENCE.match(line.rstrip("\r"))
        if open_fence is not None:  # inside a block: only its own closing fence matters
            if m and not m["info"].strip() and m["fence"][0] == open_fence[0] and len(m["fence"]) >= len(open_fence):
                open_fence = None
            continue
        if m is not None:
            open_fence = m["fence"]
        yield number, line, m


def extract(source: str, region: str | None) -> tuple[str, int, int]:
    """(code, first line, last line) of `region` in `source` (or all of it), markers removed."""
    lines = source.splitlines()
    if region is None:
        first, last = 1, len(lines)
    else:
        starts = [i for i, l in enumerate(lines, 1) if (m := _MARKER.match(l)) and m.groups() == ("start", region)]
        ends = [i for i, l in enumerate(lines, 1) if (m := _MARKER.match(l)) and m.groups() == ("end", region)]
        if not starts or not ends or ends[0] < starts[0]:
            names = sorted({m[2] for l in lines if (m := _MARKER.match(l))})
            raise FenceError(f"no region {region!r} (regions here: {', '.join(names) or 'none'})")
        first, last = starts[0] + 1, ends[0] - 1
    kept = [l for l in lines[first - 1:last] if not _MARKER.match(l)]
    return textwrap.dedent("\n".join(kept)).strip("\n"), first, last


@dataclass
class Build:
    """The state of one site build that fences render against."""

    executor: Executor
    page: str = "?"
    errors: list[str] = field(default_factory=list)
    docs_prefix: str = "docs/"  # the configured docs_dir, relative to the repository root
    rendered: dict[str, list[str]] = field(default_factory=dict)  # page -> snippet paths rendered

    def fail(self, message: str, detail: str = "") -> str:
        """Record a failure for the hooks to report; render it in place (seen in `mkdocs serve`)."""
        indented = textwrap.indent(detail.rstrip(), "      ")
        self.errors.append(f"{message}  [in {self.docs_prefix}{self.page}]" + (f"\n{indented}" if detail.strip() else ""))
        shown = html.escape(message + ("\n\n" + detail if detail.strip() else ""))
        return f'<div class="admonition failure"><p class="admonition-title">Snippet failed</p><pre>{shown}</pre></div>'


current: Build | None = None


def validate(language, inputs, options, attrs, md) -> bool:
    """pymdownx.superfences validator: keep the header's options for `render`."""
    options.update(inputs)
    return True


def render(src, language, class_name, options, md, **kwargs) -> str:
    """pymdownx.superfences formatter: the fence becomes code, output and provenance."""
    global current
    if current is None:  # Markdown used outside a site build: run in the working directory
        current = Build(Executor("."))
    build = current
    build.rendered.setdefault(build.page, []).append(str(options.get("path", "")))
    try:
        return _render(build, src, options, md)
    except Exception as exc:  # anything: a fence must never vanish from a page silently
        path = options.get("path", "?")
        return build.fail(f"{path}: rendering the fence failed: {type(exc).__name__}: {exc}")


def _render(build: Build, src: str, options: dict, md) -> str:
    try:
        fence = Fence.parse(dict(options))
    except FenceError as exc:
        return build.fail(str(exc))
    if src.strip():
        return build.fail(f"{fence.run.path}: a snippet fence has an empty body; the code comes from the file")
    outcome = build.executor.get(fence.run)
    if outcome.error and not outcome.key:  # the file is missing
        return build.fail(outcome.error)
    parts = []
    if fence.show in ("both", "code"):
        try:
            code, first, last = extract(read_source(build.executor.root / fence.run.path), fence.region)
        except FenceError as exc:
            return build.fail(f"{fence.run.path}: {exc}")
        title = fence.title or (fence.run.path if fence.region is None else f"{fence.run.path}, lines {first}–{last}")
        highlighter = md.preprocessors["fenced_code_block"]
        parts.append(highlighter.highlight(src=code, language="python", options={"title": title}, md=md,
                                           classes=[], id_value="", attrs={}))
    if outcome.error:
        return build.fail(outcome.error, outcome.stderr_tail())
    if fence.show in ("both", "output"):
        parts.append(render_output(outcome, build.executor))
    # Out of the search index (fetched by every page, the playground's included): readers search
    # the prose; the code and its printed numbers were a third of the index.
    return f'<div class="rw-snippet" data-search-exclude>\n{"".join(parts)}\n</div>'


def read_source(path: Path) -> str:
    """A Python file's text in the encoding its coding line declares (UTF-8 without one)."""
    with tokenize.open(path) as fh:
        return fh.read()


def render_output(outcome: Outcome, executor: Executor) -> str:
    """Stdout, stderr (folded), figures and the provenance line of one run, as HTML."""
    out = ['<div class="rw-output">']
    if outcome.stdout.strip():
        out.append(stdout_html(outcome))
    if outcome.stderr.strip():
        lines = outcome.stderr.rstrip().splitlines()
        out.append(f'<details class="rw-stderr"><summary>stderr ({len(lines)} line{"s" * (len(lines) != 1)})</summary>'
                   f'<pre><code>{html.escape(chr(10).join(lines))}</code></pre></details>')
    for number, svg in enumerate(outcome.figures, start=1):
        svg = heatmaps_tagged(svg, outcome.run.path)
        title = re.search(r'data-title="([^"]*)"', svg)
        caption = f"Figure {number}" + (f": {title[1]}" if title and title[1] else f" of {html.escape(outcome.run.path)}")
        out.append(f'<figure class="rw-figure">{svg}<figcaption>{caption}</figcaption></figure>')
    out.append(f'<p class="rw-provenance">{html.escape(provenance(outcome, executor))}</p>')
    out.append("</div>")
    return "\n".join(out)


def heatmaps_tagged(svg: str, path: str) -> str:
    """`svg` with each image that `rwsite.claims.heatmap` exported marked for the hover widget
    (docs/javascripts/rw-widgets.js), naming its data, which the page then embeds."""
    from rwsite.claims import HEATMAP_GID

    pattern = re.compile(r'(<image\b[^>]*?\bid="[^"]*?' + re.escape(HEATMAP_GID) + r'([A-Za-z_]\w*)")')
    return pattern.sub(lambda m: f'{m[1]} data-rw-widget="heatmap" data-rw-data="{html.escape(path)}:{m[2]}"', svg)


def stdout_html(outcome: Outcome) -> str:
    """The printed text as `<pre>` blocks, with each table `rwsite.tables` kept as a `<table>`
    in place of its marker line."""
    from rwsite.tables import MARKER

    parts, text = [], []

    def flush():
        if "".join(text).strip():
            parts.append(f'<pre class="rw-stdout"><code>{html.escape(chr(10).join(text).strip(chr(10)))}</code></pre>')
        text.clear()

    for line in outcome.stdout.rstrip().split("\n"):
        if line.startswith(MARKER):
            flush()
            parts.append(table_html(outcome.tables[int(line[len(MARKER):])]))
        else:
            text.append(line)
    flush()
    return "\n".join(parts)


def table_html(table: dict) -> str:
    """One printed table as an HTML table in its own horizontal scroll box."""
    align = lambda i: ' class="rw-num"' if table["align"][i] == "r" else ""
    head = "".join(f"<th{align(i)}>{html.escape(h)}</th>" for i, h in enumerate(table["headers"]))
    body = "".join("<tr>" + "".join(f"<td{align(i)}>{html.escape(c)}</td>" for i, c in enumerate(row)) + "</tr>"
                   for row in table["rows"])
    return (f'<div class="rw-table" tabindex="0"><table class="rw-data"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def provenance(outcome: Outcome, executor: Executor) -> str:
    """One line: where and with what this output was produced."""
    v = executor.context.versions
    return (f"ran {outcome.run.path} · jax {v['jax']} · flax {v['flax']} · {outcome.device} · "
            f"seed {outcome.seed} · {outcome.wall_s:.1f} s · {'cached' if outcome.cached else 'fresh'}")
