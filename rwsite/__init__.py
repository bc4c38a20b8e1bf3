"""Site machinery for Raw Weights: run article code at build time, cache what it printed and drew.

The package teaches one pipeline, one file per step:

- `rwsite.cache`    what a snippet's output depends on, hashed into a key; entries on disk.
- `rwsite.runner`   the child side: run one snippet as `python snippets/x.py` would, record the result.
- `rwsite.mpl_backend` matplotlib figures captured as SVG that follow the page's light/dark colours.
- `rwsite.executor` the parent side: subprocesses, timeouts, a pool for cache misses, clear errors.
- `rwsite.fence`    the ```` ```snippet ```` fence: syntax, regions, the HTML it becomes.
- `rwsite.mathml`   LaTeX to MathML at build time, so pages need no math script from anywhere.
- `rwsite.hooks`    the MkDocs hooks that tie it together (pre-pass, parallel runs, report).
- `rwsite.shared`   expensive results (a trained model) built once per content hash, under a lock.

The library (`rawweights_jax`) never imports this package; snippets may import `rwsite.shared`.
"""
