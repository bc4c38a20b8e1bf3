"""What a snippet reaches (rwsite.reach): the files its cache key hashes instead of the whole library."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from _site_support import REPO
from rwsite.reach import Reach


def tree(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


@pytest.fixture
def lib(tmp_path):
    """A library laid out in subpackages, as rawweights_jax is becoming."""
    tree(tmp_path, {
        "lib/__init__.py": """
            import importlib
            _EXPORTS = {"Config": "lib.config", "attend": "lib.nn.attention.blockwise"}

            def __getattr__(name):
                return getattr(importlib.import_module(_EXPORTS[name]), name)
        """,
        "lib/config.py": "class Config: ...\n",
        "lib/cli.py": "from lib.config import Config\n",
        "lib/zoo/models.json": "{}\n",
        "lib/analysis.py": "from pathlib import Path\nZOO = Path(__file__).parent / 'zoo'\n",
        "lib/nn/__init__.py": "",
        "lib/nn/norms.py": "def rms(x): ...\n",
        "lib/nn/attention/__init__.py": "",
        "lib/nn/attention/mask.py": "def causal(n): ...\n",
        "lib/nn/attention/blockwise.py": """
            from . import mask
            from ..norms import rms

            def attend():
                from lib.nn.attention import flash   # a function-level import still runs
        """,
        "lib/nn/attention/flash.py": "",
        "lib/train/__init__.py": "",
        "lib/train/loop.py": "import importlib\n\ndef load(name):\n    return importlib.import_module(name)\n",
        "snippets/a/_helper.py": "from lib.nn.norms import rms\n",
        "benchmarks/results/race.json": "{}\n",
    })
    return tmp_path


def reached(root: Path, snippet: str, body: str) -> set[str]:
    tree(root, {snippet: body})
    return {p.relative_to(root).as_posix() for p in Reach(root / "lib", root).files(root / snippet)}


ATTENTION = {"lib/__init__.py", "lib/nn/__init__.py", "lib/nn/attention/__init__.py", "lib/nn/attention/blockwise.py",
             "lib/nn/attention/mask.py", "lib/nn/norms.py", "lib/nn/attention/flash.py"}


def test_imports_are_followed_through_packages_relative_and_function_level_imports(lib):
    assert reached(lib, "snippets/a/s.py", "from lib.nn.attention.blockwise import attend\n") == ATTENTION
    assert reached(lib, "snippets/a/s.py", "def f():\n    import lib.nn.attention.blockwise\n") == ATTENTION


def test_a_lazy_public_name_reaches_only_its_module(lib):
    assert reached(lib, "snippets/a/s.py", "from lib import Config\n") == {"lib/__init__.py", "lib/config.py"}
    assert reached(lib, "snippets/a/s.py", "import lib as rw\nrw.Config()\n") == {"lib/__init__.py", "lib/config.py"}
    bare = reached(lib, "snippets/a/s.py", "import lib\nprint(dir(lib))\n")  # passed around: every export
    assert bare == {"lib/__init__.py", "lib/config.py"} | ATTENTION


def test_getattr_imports_count_as_lazy_exports(lib):
    tree(lib, {"lib/__init__.py": """
        def __getattr__(name):
            if name == "Config":
                from lib.config import Config
                return Config
            from lib.cli import main
            return main
    """})
    assert reached(lib, "snippets/a/s.py", "from lib import Config\n") == {"lib/__init__.py", "lib/config.py"}


def test_helpers_beside_the_snippet_and_what_they_reach(lib):
    assert reached(lib, "snippets/a/s.py", "import _helper\n") == {
        "snippets/a/_helper.py", "lib/__init__.py", "lib/nn/__init__.py", "lib/nn/norms.py"}


def test_data_named_by_a_literal_path(lib):
    assert "lib/zoo/models.json" in reached(lib, "snippets/a/s.py", "import lib.analysis\n")
    got = reached(lib, "snippets/a/s.py", 'RESULT = "benchmarks/results/race.json"\n')
    assert got == {"benchmarks/results/race.json"}


def test_a_computed_import_reaches_the_whole_library(lib):
    got = reached(lib, "snippets/a/s.py", "from lib.train.loop import load\n")
    assert "lib/cli.py" in got and "lib/analysis.py" in got


def test_unknown_and_outside_names_reach_nothing(lib):
    assert reached(lib, "snippets/a/s.py", "import numpy as np\nimport lib.nope\nnp.zeros(3)\n") == set()


def test_no_real_snippet_reaches_the_cli():
    """Editing the command line re-runs no snippet (the target of issue 15)."""
    reach = Reach(REPO / "rawweights_jax", REPO)
    offenders = {}
    for snippet in sorted((REPO / "snippets").rglob("*.py")):
        cli = [p for p in reach.files(snippet) if p.relative_to(REPO).as_posix().startswith("rawweights_jax/cli")]
        if cli:
            offenders[snippet.relative_to(REPO).as_posix()] = cli
    assert not offenders
