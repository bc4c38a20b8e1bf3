"""The shape of the library: layers that import only downwards, no cycles, small modules, config
and nn free of I/O, and dimension-letter suffixes from the legend (rawweights_jax/core/dims.py).

The layout checks read source files with `ast`; the suffix check builds tiny models' shapes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flax import nnx

from rawweights_jax.core.dims import LETTERS
from rawweights_jax.core.layout import LAYERS
from rawweights_jax.core.names import leaf_name, weight_name
from rawweights_jax.families.tiny import TINY_HF, tiny_config
from rawweights_jax.model.gpt import init_model

PACKAGE = Path(__file__).resolve().parents[1] / "rawweights_jax"

NO_IO = ("config", "nn")
IO_MODULES = {"os", "pathlib", "urllib", "tempfile", "shutil", "subprocess", "socket", "requests",
              "safetensors", "io"}


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the library."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(path: Path) -> set[str]:
    """Library modules `path` imports, anywhere in the file (function-level imports too)."""
    known = modules()
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        for name in names:
            if name.startswith("rawweights_jax"):
                while name not in known and "." in name:
                    name = name.rsplit(".", 1)[0]
                if name in known:
                    found.add(name)
    return found


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_the_package_is_subpackages_with_few_root_modules():
    root = [p.name for p in PACKAGE.glob("*.py")]
    subpackages = [p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()]
    assert len(root) <= 6, root
    assert len(subpackages) >= 6, subpackages
    assert set(subpackages) == set(LAYERS), "every subpackage has a layer, and only those"


def test_no_module_over_400_lines_and_each_says_its_idea():
    for name, path in modules().items():
        lines = path.read_text().splitlines()
        assert len(lines) <= 400, f"{name}: {len(lines)} lines"
        assert ast.get_docstring(ast.parse(path.read_text())), f"{name} has no docstring"


def test_layers_import_only_downwards():
    wrong = []
    for name, path in modules().items():
        mine = layer(name)
        for target in imports(path):
            theirs = layer(target)
            if mine is not None and theirs is not None and theirs > mine:
                wrong.append(f"{name} (layer {mine}) imports {target} (layer {theirs})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    graph = {name: imports(path) - {name} for name, path in modules().items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # a package's __init__ re-exporting its own modules is not a cycle of ideas
            if node != "rawweights_jax" and nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_config_and_nn_do_no_file_or_network_io():
    for name, path in modules().items():
        if layer(name) is None or name.split(".")[1] not in NO_IO:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                bad = [n for n in names if n.split(".")[0] in IO_MODULES]
                assert not bad, f"{name} imports {bad}"
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
                raise AssertionError(f"{name} calls open()")


@pytest.mark.parametrize("family", sorted(TINY_HF))
def test_every_weight_suffix_names_its_axes(family):
    """A weight's suffix has one legend letter per axis, and the letters with one size in a
    model (D, V, E, L, C, N, K) have that size. Exception, stated: a Norm's scale is always
    named scale_D, also where it normalises a head (QK-norm: H) or a latent (MLA: C, Q)."""
    cfg = tiny_config(family).model
    sizes = {"D": cfg.d_model, "V": cfg.vocab_size, "E": cfg.n_experts, "C": cfg.kv_lora_rank,
             "N": cfg.n_heads, "K": cfg.n_kv_heads}
    model = nnx.eval_shape(lambda: init_model(cfg))
    for path, var in nnx.to_flat_state(nnx.state(model, nnx.Param)):
        name = weight_name(path)
        letters = leaf_name(path).rsplit("_", 1)[-1]
        assert all(c in LETTERS for c in letters), name
        assert len(letters) == len(var.shape), f"{name}: {var.shape}"
        if name.endswith("norm.scale_D"):
            continue
        for letter, size in zip(letters, var.shape):
            if letter in sizes and not (letter == "K" and cfg.mla):
                assert size == sizes[letter], f"{name}: {letter}={size}, expected {sizes[letter]}"


def test_the_public_api_is_lazy_and_complete():
    import subprocess
    import sys

    code = ("import sys, rawweights_jax as rw\n"
            "assert 'jax' not in sys.modules, 'importing the package started JAX'\n"
            "missing = [n for n in rw.__all__ if getattr(rw, n, None) is None]\n"
            "assert not missing, missing\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
