"""MkDocs hooks that tie the site machinery together (listed under `hooks:` in mkdocs.yml).

The order of a build, and what each hook adds to it:

1. `on_config`: register the ```` ```snippet ```` and ```` ```diagram ```` fences (the second,
   `rwsite.diagrams`, inlines a hand-drawn SVG with its caption) with pymdownx.superfences, create the
   build's `Executor`, and key mkdocs-jupyter's notebook cache by the library modules the
   notebooks reach and the package versions (its own key covers only the notebook file).
2. `on_files`: the pre-pass. Scan every Markdown page for snippet fences, load cached outcomes,
   and run all cache misses at once, one subprocess per core. Then add the files snippets
   published (`rwsite.site_files`: the playground's model bundle) and the math font
   (`rwsite.mathfont`) at the path mkdocs.yml gives as `extra.math_font`.
3. While pages render, each fence reads its outcome (`rwsite.fence.render`); `on_page_content`
   checks that every fence the pre-pass found on the page was rendered (a fence left as plain
   text fails the build), turns LaTeX into MathML, strips the CDN scripts notebook templates
   add, and refuses any page that would load something from another host.
4. `on_env` (after every page rendered, before anything is written): fail the build, strict or
   not, listing every failed snippet as ``snippets/x.py:12: ValueError: ...``; hold the build
   budget (`rwsite.report`): a strict build fails on an overrun, a lenient one warns.
5. `on_post_page`: put a downloadable `.ipynb` next to each notebook page.
6. `on_post_build`: print the report (runs, cache hits, the slowest five); after a full
   `mkdocs build`, evict this configuration's cache entries the build did not use, and, for
   a strict build, record it (`rwsite.repo.write_stamp`) so the tests can read it.

Errors name pages under the configured `docs_dir`, relative to the repository root.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import re
import shutil
from collections import Counter
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

from rwsite import claims, diagrams, fence, fold, mathfont, mathml, prose, repo, report, search_index, site_files
from rwsite.cache import digest, files_digest
from rwsite.executor import Executor

log = logging.getLogger("mkdocs.plugins.rwsite")

_command = "build"
ARTICLE_SEARCH_BOOST = 4  # a page's `search: boost:` unless its front matter sets one
_state: dict = {}  # per build: runs per page, the inputs' fingerprint at the start
_REMOTE_SCRIPT = re.compile(r'<script\b[^>]*\bsrc="(?:https?:)?//[^"]*"[^>]*>\s*</script>', re.I)
_LOADS = re.compile(r'<(?:script|img|iframe|source|video|audio|embed|link)\b[^>]*?\b(?:src|href)="((?:https?:)?//[^"]*)"[^>]*>', re.I)
_DATA_REF = re.compile(r'<[a-zA-Z][^<>]*?\bdata-rw-data="([^"]*)"')   # in a tag, not in code
_DATA_NAME = re.compile(r"^(?:(?P<path>[\w./-]+\.py):)?(?P<name>[A-Za-z_]\w*)$")
_HARMLESS_LINK = re.compile(r'<link\b[^>]*\brel="(?:canonical|alternate|author|license|me)"', re.I)


def _build() -> fence.Build:
    if fence.current is None:
        raise PluginError("rwsite: on_config did not run; is rwsite/hooks.py listed under hooks:?")
    return fence.current


def on_startup(command: str, dirty: bool) -> None:
    global _command
    _command = command


def on_config(config):
    if "pymdownx.superfences" not in config.markdown_extensions:
        raise PluginError("rwsite: the snippet fence needs pymdownx.superfences in markdown_extensions")
    fences = config.mdx_configs.setdefault("pymdownx.superfences", {}).setdefault("custom_fences", [])
    fences[:] = [f for f in fences if f.get("name") not in ("snippet", "diagram")]
    fences.append({"name": "snippet", "class": "rw-snippet", "validator": fence.validate, "format": fence.render})
    fences.append({"name": "diagram", "class": "rw-diagram", "validator": diagrams.validate,
                   "format": diagrams.render})

    root = Path(config.config_file_path).resolve().parent
    site_dir = Path(config.site_dir).resolve()
    # `serve` rebuilds while the author edits: changed files are expected there, not a fault.
    executor = Executor(root, configuration=str(Path(config.config_file_path).resolve()),
                        guard_skip=(site_dir,), guard=_command == "build")
    prefix = Path(os.path.relpath(Path(config.docs_dir).resolve(), root)).as_posix().rstrip("/") + "/"
    fence.current = fence.Build(executor, docs_prefix=prefix)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")  # notebook kernels inherit it
    _state.clear()
    _state.update(pages={}, runs={}, skip=[str(site_dir), str(executor.cache_dir)])
    if _command == "build" and config.strict:
        _state["fingerprint"] = repo.fingerprint(root, tuple(Path(p) for p in _state["skip"]))

    notebooks = config.plugins.get("mkdocs-jupyter")
    if notebooks is not None:
        sources = sorted(Path(config.docs_dir).glob("notebooks/*.py"))
        notebooks.config["cache_dir"] = str(_notebook_cache_root(executor) / _notebook_key(executor, sources)[:16])
    return config


def _notebook_key(executor: Executor, notebooks: list[Path]) -> str:
    """Notebooks, like snippets, re-run when a library module they reach changes (all of the
    library for one whose source is not plain Python, e.g. one with `%magic` lines)."""
    parts: list[str | bytes] = [executor.context.environment()]
    for notebook in notebooks:
        try:
            ast.parse(notebook.read_bytes())
            reached = executor.context.reach.files(notebook)
        except (SyntaxError, ValueError, OSError):
            reached = sorted(p for p in executor.library_dir.rglob("*.py") if "__pycache__" not in p.parts)
        parts += files_digest(reached, executor.root)
    return digest(*parts)


def _notebook_cache_root(executor: Executor) -> Path:
    return executor.cache_dir / "notebooks"


def on_files(files, config):
    build = _build()
    runs = []
    for file in files.documentation_pages():
        if not file.src_uri.endswith(".md"):
            continue
        for line, options in fence.find_fences(file.content_string):
            if isinstance(options, fence.FenceError):
                build.errors.append(f"{build.docs_prefix}{file.src_uri}:{line}: {options}")
                continue
            _state["pages"].setdefault(file.src_uri, []).append(options.get("path", ""))
            try:
                runs.append(fence.Fence.parse(options).run)
                _state["runs"].setdefault(file.src_uri, []).append(runs[-1])
            except fence.FenceError:
                pass  # reported with the page when the fence renders
    build.executor.prefetch(runs, announce=lambda n, workers: log.info(
        "rwsite: running %d snippet(s) on %d worker(s)", n, workers), progress=_progress)
    _publish(files, config, build)
    served = config.extra.get("math_font")
    if served:  # the stylesheet's @font-face names the same path
        try:
            font = mathfont.webfont(build.executor.cache_dir)
        except mathfont.MathFontError as exc:
            raise PluginError(f"rwsite: {exc}") from None
        files.append(File.generated(config, served, abs_src_path=str(font)))
    return files


def _publish(files, config, build: fence.Build) -> None:
    """Add the files snippets published (`rwsite.site_files`) to the site, once each path."""
    owners: dict[str, str] = {}
    seen: set[str] = set()
    for page, runs in _state["runs"].items():
        for run in dict.fromkeys(runs):
            if run.path in seen:        # one snippet fenced on several pages publishes once
                continue
            seen.add(run.path)
            outcome = build.executor.get(run)
            if outcome.error or site_files.NAME not in outcome.data:
                continue
            try:
                published = site_files.resolve(outcome.data[site_files.NAME], build.executor.cache_dir / "shared")
            except ValueError as exc:
                build.errors.append(f"{run.path}: {exc}  [in {build.docs_prefix}{page}]")
                continue
            for uri, path in published:
                if uri in owners or files.get_file_from_path(uri):
                    build.errors.append(f"{run.path}: publishes {uri}, which "
                                        f"{owners.get(uri, 'docs/')} already provides  [in {build.docs_prefix}{page}]")
                    continue
                owners[uri] = run.path
                files.append(File.generated(config, uri, abs_src_path=str(path)))


def _progress(done: int, total: int, outcome) -> None:
    """One line per finished snippet during a build (a cold one runs for many minutes)."""
    state = f"failed: {outcome.error}" if outcome.error else "done"
    log.info("rwsite: [%*d/%d] %7.2f s  %s  (%s)", len(str(total)), done, total, outcome.wall_s,
             outcome.run.path, state)


def on_page_markdown(markdown, page, config, files):
    build = _build()
    # A page written by hand ranks above the generated API pages in Material's search (they set
    # their own low boost in docs/reference/gen_pages.py): headings weigh 1000 times the text
    # there, and an API page is one heading per argument.
    search = page.meta.setdefault("search", {})
    if isinstance(search, dict):
        search.setdefault("boost", ARTICLE_SEARCH_BOOST)
    build.page = page.file.src_uri
    where = f"{build.docs_prefix}{page.file.src_uri}"
    return prose.substitute(markdown, lambda path, name: _value(build, page.file.src_uri, path, name),
                            lambda message: build.errors.append(f"{where}, {message}"))


def _value(build: fence.Build, page: str, path: str | None, name: str, kind: str = "values") -> tuple[object, str]:
    """(what was exported, snippet) for the name `name` on `page`: a value for a placeholder
    (see `rwsite.prose`), or, with kind "data", the data of a widget."""
    runs = _state.get("runs", {})
    if path is None:
        candidates = list(dict.fromkeys(runs.get(page, [])))
    else:
        candidates = [next((r for rs in runs.values() for r in rs if r.path == path), None)]
        if candidates[0] is None:
            raise LookupError(f"{path} is not fenced on any page, so it does not run")
    outcomes = [build.executor.get(run) for run in candidates]
    exports = lambda o: getattr(o, kind)
    found = list(dict.fromkeys(o.run.path for o in outcomes if not o.error and name in exports(o)))
    if len(found) > 1:
        raise LookupError(f"exported by {' and '.join(found)}; write {{{{ <path>:{name} }}}} to choose"
                          if kind == "values" else f"exported by {' and '.join(found)}; write <path>:{name} to choose")
    if not found:
        failed = [o.run.path for o in outcomes if o.error]
        exported = sorted({v for o in outcomes for v in exports(o)})
        reason = (f"{', '.join(failed)} failed (its error is listed too)" if failed
                  else f"no snippet {'on this page ' if path is None else ''}exports it"
                       + (f" (exported: {', '.join(exported)})" if exported else ""))
        raise LookupError(reason)
    outcome = next(o for o in outcomes if o.run.path == found[0])
    return exports(outcome)[name], outcome.run.path


def _embed_data(html: str, page: str, where: str, build: fence.Build) -> str:
    """`html` with the data each `data-rw-data="[path:]name"` of it names (`rwsite.claims.data`)
    appended once, as `<script type="application/json" data-rw-data="...">`, for the widgets
    of docs/javascripts/ to read."""
    scripts, size = [], 0
    for ref in dict.fromkeys(_DATA_REF.findall(html)):
        m = _DATA_NAME.match(ref)
        if m is None:
            build.errors.append(f'{where}: data-rw-data="{ref}": expected a name, or snippets/<path>.py:<name>')
            continue
        try:
            obj, _ = _value(build, page, m["path"], m["name"], kind="data")
        except LookupError as exc:
            build.errors.append(f'{where}: data-rw-data="{ref}": {exc.args[0]}')
            continue
        text = json.dumps(obj, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")
        size += len(text.encode())
        scripts.append(f'<script type="application/json" data-rw-data="{ref}">{text}</script>')
    if size > claims.MAX_DATA_BYTES:
        build.errors.append(f"{where}: its widgets' data take {size:,} bytes, over the {claims.MAX_DATA_BYTES:,} "
                            "a page may carry; export less (or round it)")
    return html + "".join(f"\n{s}" for s in scripts)


def on_page_content(html, page, config, files):
    build = _build()
    where = f"{build.docs_prefix}{page.file.src_uri}"
    missing = Counter(_state.get("pages", {}).get(page.file.src_uri, [])) - Counter(build.rendered.get(page.file.src_uri, []))
    for path in sorted(missing.elements()):
        build.errors.append(f"{path}: its fence was not rendered (left as plain text)  [in {where}]")
    try:
        html = mathml.to_mathml(html)
    except mathml.MathError as exc:
        build.errors.append(f"{where}: {exc}")
    if getattr(page, "nb_url", None):
        html = _REMOTE_SCRIPT.sub("", html)  # nbconvert's MathJax tag: math is MathML here
    elif not page.file.src_uri.startswith("reference/"):  # the API pages show whole sources
        html = fold.fold(html)
    else:   # searchable by names and docstrings, not by every line of source (the index is
        # fetched by every page: the sources were 45% of it)
        html = html.replace('<details class="mkdocstrings-source">',
                            '<details class="mkdocstrings-source" data-search-exclude>')
    html = _embed_data(html, page.file.src_uri, where, build)
    for tag in _LOADS.finditer(html):
        if not _HARMLESS_LINK.match(tag[0]):
            build.errors.append(f"{where}: the page would load {tag[1]}; "
                                "serve it from the site instead (no third-party requests)")
    return html


def on_env(env, config, files):
    build = _build()
    for problem in report.over_budget(build.executor, _state.get("runs", {}), build.docs_prefix):
        if config.strict:
            build.errors.append(problem)
        else:
            log.warning("rwsite: %s", problem)
    _raise_errors()
    return env


def on_page_context(context, page, config, nav):
    if getattr(page, "nb_url", None):  # mkdocs-jupyter's download button: offer the .ipynb
        page.nb_url = Path(page.file.src_uri).with_suffix(".ipynb").name
    return context


# Material's search overlay is a role="dialog" without a name (axe `aria-dialog-name`): screen
# readers announce "dialog" and nothing else. Named here rather than by overriding the partial.
_SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
_NAMED_SEARCH_DIALOG = ('<div class="md-search" data-md-component="search" role="dialog" '
                        'aria-label="Search the site">')


def on_post_page(output, page, config):
    # (a site without Material's search has no dialog; tests/test_site_browser.py checks that
    # the real site's dialog keeps its name if Material's markup changes)
    output = output.replace(_SEARCH_DIALOG, _NAMED_SEARCH_DIALOG, 1)
    if getattr(page, "nb_url", None):
        import jupytext  # mkdocs-jupyter depends on it

        target = Path(page.file.abs_dest_path).parent / page.nb_url
        target.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(jupytext.read(page.file.abs_src_path), target)
    return output


@event_priority(-100)      # after the search plugin has written its index
def on_post_build(config):
    build = _build()
    _raise_errors()
    sizes = search_index.slim(config.site_dir)
    if sizes:
        log.info("rwsite: search index %d -> %d bytes (API entries cut to their summaries)", *sizes)
    for line in build.executor.report():
        log.info("rwsite: %s", line)
    if _command == "build":  # serve rebuilds see part of the picture; never evict there
        removed = build.executor.evict()
        notebooks = config.plugins.get("mkdocs-jupyter")
        root = _notebook_cache_root(build.executor)
        if notebooks is not None and root.is_dir():
            keep = Path(notebooks.config["cache_dir"]).name
            for stale in root.iterdir():
                if stale.is_dir() and stale.name != keep:
                    shutil.rmtree(stale, ignore_errors=True)
        if removed:
            log.info("rwsite: evicted %d unused cache entr%s", removed, "y" if removed == 1 else "ies")
        _stamp(config, build)


def _stamp(config, build) -> None:
    """Record a strict build whose inputs did not change while it ran (for the tests)."""
    start = _state.get("fingerprint")
    root = build.executor.root
    if start is None or repo.fingerprint(root, tuple(Path(p) for p in _state["skip"])) != start:
        return
    repo.write_stamp(build.executor.cache_dir, {
        "root": str(root), "site_dir": str(Path(config.site_dir).resolve()), "strict": True,
        "fingerprint": start, "skip": _state["skip"],
        "log": "\n".join(f"rwsite: {line}" for line in build.executor.report()),
    })


def _raise_errors() -> None:
    errors = list(dict.fromkeys(_build().errors))
    if errors:
        listing = "\n".join(f"  {e}" for e in errors)
        raise PluginError(f"{len(errors)} problem(s) in the site's live code:\n{listing}")
