"""Which source files a snippet reaches: its imports, followed through the library, read not run.

A snippet's output can change only when code it runs changes, so its cache key hashes the files
it can reach rather than the whole library. They are found by parsing (`ast`), never importing:

- every `import` and `from ... import` in a file, function-level ones included (a lazy import
  still runs), followed transitively;
- a name `a.b.c` reaches the package `__init__.py` of `a` and of `a.b` on the way, then `a/b/c.py`
  or `a/b/c/__init__.py`; `from a.b import x` also reaches `a/b/x.py` when `x` is a submodule;
- relative imports inside the library (`from . import x`, `from ..nn import y`) are resolved
  against the importing module's package;
- a package's lazy public names: a module-level literal `_EXPORTS = {"Config":
  "rawweights_jax.config", ...}` in its `__init__.py`, or the imports inside its module-level
  `__getattr__`. `from pkg import Config`, and `import pkg` followed by `pkg.Config`, reach only
  the module named for `Config`; a bare use of `pkg` (passed around, `getattr`) reaches them all;
- the helper modules beside the snippet (`snippets/x/_student.py`): `python snippets/x/y.py`
  puts that folder first on `sys.path`, so a name found there wins over any other;
- data a reached file names by a literal path: a non-Python file relative to the repository
  root or to the file's folder (a committed benchmark result), and, inside the library, a data
  folder without `__init__.py` named relative to the module (``Path(__file__).parent / "zoo"``);
- a dynamic import with a literal name is followed; with a computed one (other than the lazy
  `__getattr__` of a package with exports) the file reaches the whole library: safe, not precise.

Modules outside the library and the snippet's folder (jax, numpy) are covered by the package
versions in the key, and rwsite's own files by the executor part of the key.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

_DYNAMIC = {("importlib", "import_module"), ("", "__import__"), ("", "import_module")}


@dataclass
class Parsed:
    """What one file says about its dependencies (computed once per file and build)."""

    imports: list[tuple[int, str, tuple[str, ...]]] = field(default_factory=list)  # (level, module, names)
    plain: list[tuple[str, str]] = field(default_factory=list)   # `import a.b [as n]`: (module, bound name)
    chains: dict[str, set[str] | None] = field(default_factory=dict)  # bound name -> attributes used; None: bare use
    exports: dict[str, str] = field(default_factory=dict)         # lazy public name -> module
    literals: set[str] = field(default_factory=set)
    dynamic: bool = False                                         # a computed import name


def parse(path: Path) -> Parsed:
    """Read `path`'s imports, lazy exports and string literals; a file that does not parse adds
    nothing (running it reports the syntax error with its line)."""
    found = Parsed()
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return found
    lazy = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            lazy = {id(n) for n in ast.walk(node)}
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets):
            try:
                table = ast.literal_eval(node.value)
                found.exports.update({str(k): str(v) for k, v in table.items()})
            except (ValueError, TypeError, AttributeError):
                found.dynamic = True  # an _EXPORTS we cannot read: assume anything
    attributes: dict[str, set[str]] = {}
    under_attribute, bare = set(), set()
    for node in ast.walk(tree):  # breadth first: an Attribute comes before the Name inside it
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.plain.append((alias.name, alias.asname or alias.name.split(".")[0]))
        elif isinstance(node, ast.ImportFrom):
            names = tuple(alias.name for alias in node.names)
            if id(node) in lazy and node.level == 0 and node.module:  # `if name == "X": from m import X`
                found.exports.update({alias.asname or alias.name: node.module for alias in node.names})
            else:
                found.imports.append((node.level, node.module or "", names))
        elif isinstance(node, ast.Call) and _callee(node.func) in _DYNAMIC:
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.imports.append((0, arg.value, ()))
            elif id(node) not in lazy or not found.exports:
                found.dynamic = True
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            attributes.setdefault(node.value.id, set()).add(node.attr)
            under_attribute.add(id(node.value))
        elif isinstance(node, ast.Name) and id(node) not in under_attribute:
            bare.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and 0 < len(node.value) < 200:
            found.literals.add(node.value)
    for _, bound in found.plain:
        found.chains[bound] = None if bound in bare else attributes.get(bound, set())
    return found


def _callee(func: ast.expr) -> tuple[str, str]:
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id, func.attr
    if isinstance(func, ast.Name):
        return "", func.id
    return "?", "?"


class Reach:
    """Resolves what files reach, against one library folder (`<base>/<package>/`) and one root."""

    def __init__(self, library_dir: Path | None, root: Path):
        self.library = library_dir.resolve() if library_dir else None
        self.package = self.library.name if self.library else None
        self.root = root.resolve()
        self._parsed: dict[Path, Parsed] = {}
        self._memo: dict[tuple, list] = {}  # module files and data files, per build

    def parsed(self, path: Path) -> Parsed:
        if path not in self._parsed:
            self._parsed[path] = parse(path)
        return self._parsed[path]

    def files(self, start: Path) -> list[Path]:
        """Every file `start` (a snippet or a helper beside it) reaches, `start` excluded, sorted."""
        start = start.resolve()
        folder = start.parent
        found: set[Path] = set()
        todo: list[tuple[Path, str | None]] = [(start, None)]

        def add(path: Path, module: str | None) -> None:
            if path not in found and path != start:
                found.add(path)
                if path.suffix == ".py":
                    todo.append((path, module))

        while todo:
            path, module = todo.pop()
            info = self.parsed(path)
            for name in self._reached_modules(info, path, module, folder):
                if name.startswith("local:"):
                    add(Path(name[6:]), None)
                else:
                    for file, dotted in self._module_files(name):
                        add(file, dotted)
            if info.dynamic and self.library:
                for file in self.library.rglob("*.py"):
                    if "__pycache__" not in file.parts:
                        add(file, self._dotted(file))
            for data in self._data(info, path, module is not None):
                add(data, None)
        return sorted(found)

    def importers(self, start: Path, module: str) -> list[Path]:
        """`start` and the files it reaches that import `module` (say `rwsite.shared`)."""
        found = []
        for path in [start.resolve(), *self.files(start)]:
            if path.suffix != ".py":
                continue
            info = self.parsed(path)
            names = [dotted for dotted, _ in info.plain]
            names += [f"{base}.{n}" for level, base, imported in info.imports if not level for n in imported]
            names += [base for level, base, _ in info.imports if not level]
            if any(n == module or n.startswith(module + ".") for n in names):
                found.append(path)
        return found

    def _reached_modules(self, info: Parsed, path: Path, module: str | None, folder: Path) -> list[str]:
        """Dotted library names (and `local:<path>` helpers) that one file imports."""
        names: list[str] = []
        local = module is None  # the snippet and its folder's helpers resolve names there first
        for dotted, bound in info.plain:
            if local and (helper := self._local(folder, dotted)):
                names += helper
                continue
            names.append(dotted)
            attrs = info.chains.get(bound, set())
            target = dotted if bound != dotted.split(".")[0] else dotted.split(".")[0]
            names += self._attributes(target, attrs)
        for level, base, imported in info.imports:
            if level == 0 and local and (helper := self._local(folder, base)):
                names += helper
                continue
            if level:
                base = self._relative(module, path, level, base)
                if base is None:
                    continue
            names.append(base)
            names += self._attributes(base, None if "*" in imported else set(imported))
        return names

    def _attributes(self, package: str, attrs: set[str] | None) -> list[str]:
        """What using `package.NAME` for each NAME reaches: a submodule, or a lazy export.
        None means a bare use of the package: every lazy export."""
        init = self._package_init(package)
        exports = self.parsed(init).exports if init else {}
        if attrs is None:
            return sorted(set(exports.values()))
        out = []
        for attr in sorted(attrs):
            if self._module_files(f"{package}.{attr}"):
                out.append(f"{package}.{attr}")
            elif attr in exports:
                out.append(exports[attr])
        return out

    def _local(self, folder: Path, dotted: str) -> list[str]:
        """A snippet-folder helper module or package named by `dotted`, as `local:` entries."""
        top = dotted.split(".")[0]
        module, package = folder / f"{top}.py", folder / top
        if module.is_file():
            return [f"local:{module}"]
        if package.is_dir():
            return [f"local:{p}" for p in sorted(package.rglob("*.py")) if "__pycache__" not in p.parts]
        return []

    def _relative(self, module: str | None, path: Path, level: int, base: str) -> str | None:
        if module is None:
            return None  # a relative import in a script fails when run; nothing to follow
        parts = module.split(".")
        package = parts if path.name == "__init__.py" else parts[:-1]
        if level - 1 > len(package) - 1:
            return None
        anchor = package[: len(package) - (level - 1)]
        return ".".join(anchor + ([base] if base else []))

    def _dotted(self, file: Path) -> str:
        rel = file.relative_to(self.library.parent).with_suffix("")
        parts = list(rel.parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    def _package_init(self, dotted: str) -> Path | None:
        if not self.library or dotted.split(".")[0] != self.package:
            return None
        init = self.library.parent.joinpath(*dotted.split(".")) / "__init__.py"
        return init if init.is_file() else None

    def _module_files(self, dotted: str) -> list[tuple[Path, str]]:
        """The files importing `dotted` runs: each package `__init__.py` on the way, then the
        module (or the package's `__init__.py`); empty when it is not in the library."""
        if ("module", dotted) not in self._memo:
            self._memo["module", dotted] = self._find_module_files(dotted)
        return self._memo["module", dotted]

    def _find_module_files(self, dotted: str) -> list[tuple[Path, str]]:
        parts = dotted.split(".")
        if not self.library or parts[0] != self.package or not all(parts):
            return []
        base = self.library.parent
        files = []
        for depth in range(1, len(parts) + 1):
            here = base.joinpath(*parts[:depth])
            name = ".".join(parts[:depth])
            if (here / "__init__.py").is_file():
                files.append((here / "__init__.py", name))
            elif depth == len(parts) and here.with_suffix(".py").is_file():
                files.append((here.with_suffix(".py"), name))
            elif not (depth < len(parts) and here.is_dir()):  # a folder without __init__ is a namespace package
                return []
        return files

    def _data(self, info: Parsed, path: Path, in_library: bool) -> list[Path]:
        """Data files (and, in the library, data folders) that `path` names by a literal path."""
        if ("data", path) not in self._memo:
            self._memo["data", path] = self._find_data(info, path, in_library)
        return self._memo["data", path]

    def _find_data(self, info: Parsed, path: Path, in_library: bool) -> list[Path]:
        out = []
        bases = (path.parent,) if in_library else (path.parent, self.root)
        container = self.library if in_library else self.root  # never outside the tree
        for text in info.literals:
            if any(c.isspace() for c in text) or text.strip(".") == "" or text.startswith("/"):
                continue
            for base in bases:
                if not (base / text).exists():
                    continue
                try:
                    candidate = (base / text).resolve()
                    rel = candidate.relative_to(container).parts
                except (OSError, ValueError):
                    continue
                if any(part.startswith(".") or part == "__pycache__" for part in rel):
                    continue
                if candidate.is_file() and candidate.suffix != ".py":
                    out.append(candidate)
                elif in_library and candidate.is_dir() and not (candidate / "__init__.py").exists():
                    out += [p for p in sorted(candidate.rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
        return out
