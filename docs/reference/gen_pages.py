"""Generate the reference section at build time (run by the mkdocs-gen-files plugin).

One page per subpackage of rawweights_jax, in layer order (rawweights_jax/core/layout.py):
the subpackage's docstring, then every module's API through mkdocstrings. The navigation
(SUMMARY.md, read by mkdocs-literate-nav) is generated with the pages, so a new module or
subpackage appears without editing mkdocs.yml. The map page (index.md) is written by hand
and gets two generated tables appended: the dimension letters and every module by layer.
The API pages rank below the articles in search (`SEARCH_BOOST`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import mkdocs_gen_files

from rawweights_jax.core.dims import LETTERS
from rawweights_jax.core.layout import LAYERS

PACKAGE = Path(__file__).resolve().parents[2] / "rawweights_jax"

# Material's search weighs a page's hits by its `search.boost`, and a hit in a heading 1000
# times one in the text. An API page has a heading for every field and function, so without
# this a search for "rope", "attention" or "sliding" listed API pages before the articles that
# explain them. Pages written by hand get 4 (rwsite/hooks.py, ARTICLE_SEARCH_BOOST): 2000 times
# this, so an article that uses a word in its text ranks above an API heading that names it,
# and among API pages (a name no article uses) the order is unchanged.
SEARCH_BOOST = 0.002


def first_line(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return " ".join(doc.split("\n\n")[0].split())


def modules(sub: str) -> list[Path]:
    """The modules of a subpackage, nested folders included, `__init__` and `__main__` excluded."""
    return sorted(p for p in (PACKAGE / sub).rglob("*.py") if p.stem not in ("__init__", "__main__"))


nav = mkdocs_gen_files.Nav()
nav["Map of the library"] = "index.md"
rows = []
for sub in sorted(LAYERS, key=lambda s: (LAYERS[s], s)):
    dotted = lambda p: ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
    lines = ["---", "search:", f"  boost: {SEARCH_BOOST}", "---", "",
             f"# `rawweights_jax.{sub}` (layer {LAYERS[sub]})", "",
             first_line(PACKAGE / sub / "__init__.py"), ""]
    for path in modules(sub):
        lines += [f"## `{dotted(path)}`", "", f"::: {dotted(path)}", "    options:",
                  "      show_root_heading: false", "      show_root_toc_entry: false",
                  "      heading_level: 3", ""]
        rows.append(f"| {LAYERS[sub]} | [`{dotted(path)}`]({sub}.md#{dotted(path).replace('.', '')}) "
                    f"| {first_line(path)} |")
    with mkdocs_gen_files.open(f"reference/{sub}.md", "w") as page:
        page.write("\n".join(lines))
    mkdocs_gen_files.set_edit_path(f"reference/{sub}.md", f"../rawweights_jax/{sub}/__init__.py")
    nav[f"{sub}"] = f"{sub}.md"

letters = "\n".join(f"| {letter} | {meaning} |" for letter, meaning in LETTERS.items())
with mkdocs_gen_files.open("reference/index.md", "a") as page:
    page.write("\n\n## The dimension letters\n\nEvery array and weight names its axes in a suffix: "
               "`x_BTD` is [batch, time, width], `wo_NHD` maps N heads of width H to width D, and "
               "einsum strings use the same letters. One letter, one meaning; this table is "
               "generated from the legend in `rawweights_jax/core/dims.py`, and a test checks that "
               "every weight of every family's model has one legend letter per axis.\n\n"
               "| letter | counts |\n| --- | --- |\n" + letters + "\n")
    # out of the search index: each row repeats the first line of a module entry it already has
    page.write("\n\n## Every module, by layer\n\n<div data-search-exclude markdown>\n\n"
               "| layer | module | the idea it holds |\n"
               "| --- | --- | --- |\n" + "\n".join(rows) + "\n\n</div>\n")

with mkdocs_gen_files.open("reference/SUMMARY.md", "w") as summary:
    summary.writelines(nav.build_literate_nav())
