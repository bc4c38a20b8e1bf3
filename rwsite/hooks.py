"""MkDocs hooks that tie the site machinery together (listed under `hooks:` in mkdocs.yml).

The order of a build, and what each hook adds to it:

1. `on_config`: register the ```` ```snippet ```` fence with pymdownx.superfences, create the
   build's `Executor`, and key mkdocs-jupyter's notebook cache by the library and package
   versions (its own key covers only the notebook file).
2. `on_files`: the pre-pass. Scan every Markdown page for snippet fences, load cached outcomes,
   and run all cache misses at once, one subprocess per core.
3. While pages render, each fence reads its outcome (`rwsite.fence.render`); `on_page_content`
   turns LaTeX into MathML, strips the CDN scripts notebook templates add, and refuses any page
   that would load something from another host.
4. `on_env` (after every page rendered, before anything is written): fail the build, strict or
   not, listing every failed snippet as ``snippets/x.py:12: ValueError: ...``.
5. `on_post_page`: put a downloadable `.ipynb` next to each notebook page.
6. `on_post_build`: print the report (runs, cache hits, the slowest five); after a full
   `mkdocs build`, evict cache entries this build did not use.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError

from rwsite import fence, mathml
from rwsite.executor import Executor

log = logging.getLogger("mkdocs.plugins.rwsite")

_command = "build"
_REMOTE_SCRIPT = re.compile(r'<script\b[^>]*\bsrc="(?:https?:)?//[^"]*"[^>]*>\s*</script>', re.I)
_LOADS = re.compile(r'<(?:script|img|iframe|source|video|audio|embed|link)\b[^>]*?\b(?:src|href)="((?:https?:)?//[^"]*)"[^>]*>', re.I)
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
    fences[:] = [f for f in fences if f.get("name") != "snippet"]
    fences.append({"name": "snippet", "class": "rw-snippet", "validator": fence.validate, "format": fence.render})

    executor = Executor(Path(config.config_file_path).resolve().parent)
    fence.current = fence.Build(executor)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")  # notebook kernels inherit it

    notebooks = config.plugins.get("mkdocs-jupyter")
    if notebooks is not None:
        notebooks.config["cache_dir"] = str(_notebook_cache_root(executor) / executor.context.environment()[:16])
    return config


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
                build.errors.append(f"docs/{file.src_uri}:{line}: {options}")
                continue
            try:
                runs.append(fence.Fence.parse(options).run)
            except fence.FenceError:
                pass  # reported with the page when the fence renders
    build.executor.prefetch(runs, announce=lambda n, workers: log.info(
        "rwsite: running %d snippet(s) on %d worker(s)", n, workers), progress=_progress)
    return files


def _progress(done: int, total: int, outcome) -> None:
    """One line per finished snippet during a build (a cold one runs for many minutes)."""
    state = f"failed: {outcome.error}" if outcome.error else "done"
    log.info("rwsite: [%*d/%d] %7.2f s  %s  (%s)", len(str(total)), done, total, outcome.wall_s,
             outcome.run.path, state)


def on_page_markdown(markdown, page, config, files):
    _build().page = page.file.src_uri
    return markdown


def on_page_content(html, page, config, files):
    build = _build()
    try:
        html = mathml.to_mathml(html)
    except mathml.MathError as exc:
        build.errors.append(f"docs/{page.file.src_uri}: {exc}")
    if getattr(page, "nb_url", None):
        html = _REMOTE_SCRIPT.sub("", html)  # nbconvert's MathJax tag: math is MathML here
    for tag in _LOADS.finditer(html):
        if not _HARMLESS_LINK.match(tag[0]):
            build.errors.append(f"docs/{page.file.src_uri}: the page would load {tag[1]}; "
                                "serve it from the site instead (no third-party requests)")
    return html


def on_env(env, config, files):
    _raise_errors()
    return env


def on_page_context(context, page, config, nav):
    if getattr(page, "nb_url", None):  # mkdocs-jupyter's download button: offer the .ipynb
        page.nb_url = Path(page.file.src_uri).with_suffix(".ipynb").name
    return context


def on_post_page(output, page, config):
    if getattr(page, "nb_url", None):
        import jupytext  # mkdocs-jupyter depends on it

        target = Path(page.file.abs_dest_path).parent / page.nb_url
        target.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(jupytext.read(page.file.abs_src_path), target)
    return output


def on_post_build(config):
    build = _build()
    _raise_errors()
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


def _raise_errors() -> None:
    errors = list(dict.fromkeys(_build().errors))
    if errors:
        listing = "\n".join(f"  {e}" for e in errors)
        raise PluginError(f"{len(errors)} problem(s) in the site's live code:\n{listing}")
