"""Files a snippet publishes into the built site (the playground's model bundle).

Pages carry text, figures and small widget data; a model's weights (1.6 MB) are none of those.
A snippet that made such files in a shared result (`rwsite.shared`) publishes them:

    from rwsite.site_files import publish

    publish("playground/robot-student", bundle_dir)     # every plain file of the folder

and the build serves them at that path of the site (`site/playground/robot-student/...`),
beside the page that loads them. A snippet may publish several folders (the playground's
student and its training snapshots), each at its own path. The snippet's record is small: for
each folder, its name under the shared results and each file's size and SHA-256, exported as
the data `site_files`
(`rwsite.claims.data`) so the cache keeps it with the snippet's output. The hooks
(`rwsite/hooks.py`, `on_files`) read the records of every snippet fenced on a page, check each
file against its hash, and add it to the build; a file gone from the cache or changed since
fails the build naming the snippet, and two snippets claiming one path do too.

Only files of a shared result can be published: a snippet's scratch folder is deleted when it
ends, and the repository must not change while it runs.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

NAME = "site_files"
_DEST = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")
MAX_BYTES = 8_000_000      # everything one snippet publishes: the site is read over the network


def publish(dest: str, folder: Path) -> dict:
    """Publish every plain file of `folder`, a shared result, at `dest/<name>` in the site;
    returns its record."""
    from rwsite import claims
    from rwsite.shared import shared_root

    if not _DEST.match(dest):
        raise ValueError(f"site path {dest!r}: lower-case words joined by '/', e.g. 'playground/student'")
    folder, root = Path(folder).resolve(), shared_root().resolve()
    if folder.parent != root:
        raise ValueError(f"{folder} is not a shared result (a folder of {root}): only those outlive the snippet")
    files = {p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)}
             for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}
    total = sum(f["bytes"] for f in files.values())
    if total > MAX_BYTES:
        raise ValueError(f"{folder.name}: {total:,} bytes to publish, over the {MAX_BYTES:,} a snippet may")
    record = {"dest": dest, "shared": folder.name, "files": files}
    records = [r for r in _records(claims.DATA.get(NAME, [])) if r["dest"] != dest]
    if any(r["shared"] == folder.name for r in records):
        raise ValueError(f"{folder.name} is already published at another path")
    records.append(record)
    problem = claims.data_problem({**claims.DATA, NAME: records})
    if problem:
        raise ValueError(f"site_files: {problem}")
    claims.DATA[NAME] = records
    return record


def _records(exported: object) -> list:
    """The records of a snippet's `site_files` data: a list (one per folder), or one record
    (as snippets published before several folders could be)."""
    return [exported] if isinstance(exported, dict) else exported if isinstance(exported, list) else [None]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def resolve(exported: object, shared_dir: Path) -> list[tuple[str, Path]]:
    """(site path, file) for each file a snippet published, checked against its hash;
    ValueError saying what is wrong otherwise."""
    return [pair for record in _records(exported) for pair in _resolve_one(record, shared_dir)]


def _resolve_one(record: object, shared_dir: Path) -> list[tuple[str, Path]]:
    if not (isinstance(record, dict) and isinstance(record.get("dest"), str) and _DEST.match(record["dest"])
            and isinstance(record.get("shared"), str) and isinstance(record.get("files"), dict)):
        raise ValueError("its site_files record is malformed (write it with rwsite.site_files.publish)")
    folder = shared_dir / PurePosixPath(record["shared"]).name
    out = []
    for name, meta in record["files"].items():
        path = folder / PurePosixPath(name).name
        if not path.is_file() or path.stat().st_size != meta.get("bytes") or _sha256(path) != meta.get("sha256"):
            raise ValueError(f"{path} is gone or changed since the snippet published it; "
                             f"delete {folder} and build again")
        out.append((f"{record['dest']}/{path.name}", path))
    return out
