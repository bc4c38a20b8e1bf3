"""Files a snippet publishes into the site (`rwsite.site_files`, read by rwsite/hooks.py):
served at the path it names, checked against the hashes it recorded, refused from anywhere
but a shared result."""

from __future__ import annotations

import json
import textwrap

from test_site_build import fixture_site, mkdocs_build

PUBLISHER = textwrap.dedent('''
    from rwsite.shared import shared
    from rwsite.site_files import publish

    def make(out):
        (out / "weights.bin").write_bytes(bytes(range(256)) * 4)
        (out / "manifest.json").write_text('{"format": "demo"}')

    publish("models/tiny", shared("tiny-bundle", build=make))
    publish("models/tiny-early", shared("tiny-early", build=lambda out: (out / "manifest.json").write_text("{}")))
    print("published")
''')


def test_a_published_shared_result_is_served_and_checked(tmp_path):
    fixture_site(tmp_path, {"index.md": '# Page\n\n```snippet path="snippets/publisher.py"\n```\n'},
                 {"snippets/publisher.py": PUBLISHER})
    proc = mkdocs_build(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    served = tmp_path / "site" / "models" / "tiny"
    assert (served / "weights.bin").read_bytes() == bytes(range(256)) * 4
    assert json.loads((served / "manifest.json").read_text()) == {"format": "demo"}
    assert (tmp_path / "site" / "models" / "tiny-early" / "manifest.json").read_text() == "{}"
    # the cached outcome still names the file: changed behind the build's back, it is refused
    shared_file = next((tmp_path / "cache" / "shared").glob("tiny-bundle-*/weights.bin"))
    shared_file.write_bytes(b"tampered")
    proc = mkdocs_build(tmp_path)
    assert proc.returncode != 0
    assert "snippets/publisher.py: " in proc.stderr and "is gone or changed since the snippet published it" in proc.stderr


def test_only_shared_results_can_be_published(tmp_path):
    snippet = ("import tempfile, pathlib\nfrom rwsite.site_files import publish\n"
               "publish('models/tmp', pathlib.Path(tempfile.mkdtemp()))\n")
    fixture_site(tmp_path, {"index.md": '# Page\n\n```snippet path="snippets/bad.py"\n```\n'},
                 {"snippets/bad.py": snippet})
    proc = mkdocs_build(tmp_path)
    assert proc.returncode != 0 and "snippets/bad.py:3: ValueError: " in proc.stderr
    assert "is not a shared result" in proc.stderr
