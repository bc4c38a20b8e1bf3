"""A lighter search index: API entries keep their name and their docstring's first paragraph.

Material's search fetches one index, `search/search_index.json`, on every page, the playground's
included, whose weight budget (3 MB with the model) it shares. The API reference is a third of
that index, and most of it is the body of each function's docstring, which a reader finds from
the function's name and summary anyway (the reference page shows the rest). So after the
search plugin has written the index, each entry of an object in the reference (a function,
class or attribute: its anchor is its dotted path) keeps its title and the first paragraph of
its docstring (not its signature), and a field or constant (an attribute) its title alone; module entries, which hold
each module's idea, and every article stay whole.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_OBJECT = "#rawweights_jax."
_PARAGRAPH = re.compile(r"<p>.*?</p>", re.S)
_ATTRIBUTE = ("<code>instance-attribute</code>", "<code>module-attribute</code>")


def slim_entry(entry: dict) -> dict:
    """The entry with its text cut to its first paragraph (the signature, repeated in the
    title's page, and the rest of the docstring dropped), if it documents an API object."""
    if not (entry["location"].startswith("reference/") and _OBJECT in entry["location"]):
        return entry
    if entry["title"].endswith(_ATTRIBUTE):
        return {**entry, "text": ""}
    first = _PARAGRAPH.search(entry["text"])
    return {**entry, "text": first.group(0) if first else ""}


def slim(site_dir: str | Path) -> tuple[int, int] | None:
    """Rewrite the site's search index in place; (bytes before, bytes after), or None when the
    site has none (search off)."""
    path = Path(site_dir) / "search" / "search_index.json"
    if not path.is_file():
        return None
    before = path.read_bytes()
    index = json.loads(before)
    index["docs"] = [slim_entry(e) for e in index["docs"]]
    after = json.dumps(index, separators=(",", ":"), ensure_ascii=False).encode()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(after)
    tmp.replace(path)
    return len(before), len(after)
