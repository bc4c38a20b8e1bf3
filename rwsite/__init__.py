"""Site machinery for Raw Weights: run article code at build time, cache what it printed and drew.

The package teaches one pipeline, one file per step:

- `rwsite.reach`    which files a snippet reaches (its imports, followed through the library).
- `rwsite.cache`    what a snippet's output depends on, hashed into a key; entries on disk.
- `rwsite.runner`   the child side: run one snippet as `python snippets/x.py` would, record the result.
- `rwsite.sandbox`  the fence around that child: scratch folder, minimal environment, output caps.
- `rwsite.supervisor` ends every process a snippet started when it ends (a child subreaper).
- `rwsite.mpl_backend` matplotlib figures captured as SVG that follow the page's light/dark colours.
- `rwsite.executor` the parent side: keys, cache hits, a pool for cache misses, clear errors.
- `rwsite.schedule` the order of the misses: shared results first, longest first, no idle lock.
- `rwsite.repo`     the repository around a build: no snippet may change it; is a build current?
- `rwsite.report`   the end of a build: the summary and the build budget.
- `rwsite.fence`    the ```` ```snippet ```` fence: syntax, regions, the HTML it becomes.
- `rwsite.mathml`   LaTeX to MathML at build time, so pages need no math script from anywhere.
- `rwsite.hooks`    the MkDocs hooks that tie it together (pre-pass, parallel runs, report).
- `rwsite.shared`   expensive results (a trained model) built once per content hash, under a lock.
- `rwsite.claims`   numbers a snippet exports into the prose (``{{ name }}``) and claims it asserts.
- `rwsite.prose`    the page side of claims: placeholders replaced by the values the build computed.
- `rwsite.tables`   tables a snippet prints, shown on the page as HTML tables.

The library (`rawweights_jax`) never imports this package; snippets may import `rwsite.shared`,
`rwsite.claims` and `rwsite.tables`.
"""
