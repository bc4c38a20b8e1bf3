"""The child side of a snippet run: behave exactly like `python snippets/x.py`, then record.

Usage (the executor does this; you never need to): ``python rwsite/runner.py SNIPPET RESULT_JSON``

The snippet runs as `__main__` with `sys.argv == [SNIPPET]` and its own folder first on
`sys.path`, from whatever folder this process was started in (the executor starts it in an
empty scratch folder, with SNIPPET an absolute path): exactly what `python SNIPPET` does, so a
snippet that works under the executor works on its own and the other way round
(`tests/test_site_executor.py` compares the two). The runner adds only what a build needs:

- seeds: `random`, and NumPy's global generator when the snippet imports NumPy, from
  `RWSITE_SEED` (JAX keys are explicit: a snippet reads `int(os.environ.get("RWSITE_SEED", 0))`
  if it wants the build's seed);
- figures still open at the end are saved (through `rwsite.mpl_backend`, selected by MPLBACKEND);
- an exception becomes a record naming the snippet's own line (`file:line`), and the traceback,
  trimmed to start at the snippet, goes to stderr;
- the device JAX ran on, when the snippet imported JAX;
- the shared results the snippet asked for (`rwsite.shared.EVENTS`), for the scheduler, and
  "deferred" when `rwsite.shared` gave up on a busy lock (see `rwsite.schedule`);
- the values it exported for the page's prose, the claims it checked and the data it
  exported for the page's widgets (`rwsite.claims`), and the tables it printed for the page to show as HTML (`rwsite.tables`).

Stdout and stderr are not touched here: the executor hands this process files as its file
descriptors 1 and 2, so output from C extensions and child processes is captured as well.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import random
import sys
import traceback
import types


def describe(exc: BaseException, snippet_abs: str) -> dict:
    """Exception type, message and the last line of the snippet file in its traceback."""
    line = None
    if isinstance(exc, SyntaxError) and exc.filename and os.path.abspath(exc.filename) == snippet_abs:
        line = exc.lineno
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == snippet_abs:
            line = lineno
    if isinstance(exc, SystemExit):
        message = f"exit status {exc.code}"
    elif isinstance(exc, SyntaxError):
        message = exc.msg
    else:
        message = str(exc)
    return {"type": type(exc).__name__, "message": message, "line": line}


def print_trimmed_traceback(exc: BaseException, snippet_abs: str) -> None:
    """The traceback from the snippet's first frame on: the runner's frames are noise."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != snippet_abs:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__, file=sys.stderr)


def device() -> str:
    """What JAX computed on, if the snippet used JAX at all."""
    jax = sys.modules.get("jax")
    if jax is None:
        return "cpu (no JAX)"
    try:
        first = jax.devices()[0]
    except Exception:  # a broken backend should not hide the snippet's own result
        return "unknown"
    kind = getattr(first, "device_kind", "") or ""
    return first.platform if kind.lower() in ("", first.platform) else f"{first.platform} ({kind})"


def run_as_main(snippet_abs: str) -> None:
    """Execute the file as the `__main__` module, with the globals the interpreter gives a script."""
    with open(snippet_abs, "rb") as fh:
        code = compile(fh.read(), snippet_abs, "exec", dont_inherit=True)
    module = types.ModuleType("__main__")
    module.__file__ = snippet_abs
    module.__cached__ = None
    module.__annotations__ = {}
    module.__loader__ = importlib.machinery.SourceFileLoader("__main__", snippet_abs)
    module.__builtins__ = __builtins__
    sys.modules["__main__"] = module  # so pickling (multiprocessing) finds the snippet's names
    exec(code, module.__dict__)


class SeedNumpyOnImport(importlib.abc.MetaPathFinder):
    """Seeds NumPy's global generator as soon as the snippet imports NumPy. Importing NumPy
    here instead would make the run differ from `python snippet.py` (its import order, the
    warning filters it installs) for snippets that never use it."""

    def __init__(self, seed: int):
        self.seed = seed

    def find_spec(self, name, path=None, target=None):
        if name != "numpy":
            return None
        sys.meta_path.remove(self)  # once; and the lookup below must not find us again
        spec = importlib.util.find_spec("numpy")
        if spec is not None and spec.loader is not None:
            exec_module = spec.loader.exec_module

            def exec_and_seed(module):
                exec_module(module)
                module.random.seed(self.seed)

            spec.loader.exec_module = exec_and_seed
        return spec


def main() -> int:
    snippet, result_path = sys.argv[1], sys.argv[2]
    snippet_abs = os.path.abspath(snippet)
    # `python snippet.py` semantics; rwsite itself stays importable, last, for the figure backend.
    sys.argv = [snippet]
    sys.path[0] = os.path.dirname(snippet_abs)
    sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    seed = int(os.environ.get("RWSITE_SEED", "0"))
    random.seed(seed)
    sys.meta_path.insert(0, SeedNumpyOnImport(seed))

    error = deferred = None
    try:
        run_as_main(snippet_abs)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            error = describe(exc, snippet_abs)
    except BaseException as exc:  # KeyboardInterrupt too: the record must say what happened
        if type(exc).__name__ == "SharedBusy" and type(exc).__module__ == "rwsite.shared":
            deferred = exc.args[0]
        else:
            error = describe(exc, snippet_abs)
            print_trimmed_traceback(exc, snippet_abs)

    if "matplotlib.pyplot" in sys.modules and not deferred:
        try:
            from rwsite.mpl_backend import save_open_figures

            save_open_figures()
        except Exception as exc:
            error = error or {"type": type(exc).__name__, "message": f"saving figures: {exc}", "line": None}
            traceback.print_exc()

    sys.stdout.flush()
    sys.stderr.flush()
    tmp = f"{result_path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        events = getattr(sys.modules.get("rwsite.shared"), "EVENTS", [])
        claims = sys.modules.get("rwsite.claims")
        json.dump({"error": error, "device": device(), "seed": seed, "deferred": deferred, "shared": events,
                   "values": getattr(claims, "VALUES", {}), "claims": getattr(claims, "CLAIMS", []),
                   "data": getattr(claims, "DATA", {}),
                   "tables": getattr(sys.modules.get("rwsite.tables"), "TABLES", [])}, fh)
    os.replace(tmp, result_path)
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
