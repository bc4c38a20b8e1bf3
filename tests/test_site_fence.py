"""The snippet fence: header syntax, the fence-aware pre-pass scanner, regions; and MathML."""

from __future__ import annotations

import pytest

from rwsite.executor import DEFAULT_TIMEOUT, Run
from rwsite.fence import Fence, FenceError, extract, find_fences
from rwsite.mathml import to_mathml

PAGE = '''
# A page

```snippet path="snippets/a/one.py" region="demo" timeout="60"
```

!!! note
    ```snippet path="snippets/a/two.py" show="output"
    ```

````markdown
```snippet path="snippets/only/an/example.py"
```
````

~~~python
```snippet path="snippets/not/a/fence/either.py"
~~~

```snippet path=snippets/a/unquoted.py
```
'''


def test_find_fences_sees_real_fences_only():
    found = find_fences(PAGE)
    assert [line for line, _ in found] == [4, 8, 20]
    assert found[0][1] == {"path": "snippets/a/one.py", "region": "demo", "timeout": "60"}
    assert found[1][1] == {"path": "snippets/a/two.py", "show": "output"}
    assert isinstance(found[2][1], FenceError) and 'key="value"' in str(found[2][1])


def test_fence_options():
    fence = Fence.parse({"path": "snippets/a/one.py", "region": "demo", "timeout": "60"})
    assert fence == Fence(Run("snippets/a/one.py", 60.0), region="demo", show="both")
    assert Fence.parse({"path": "snippets/x.py"}).run.timeout == DEFAULT_TIMEOUT


@pytest.mark.parametrize("options, message", [
    ({}, "needs path="),
    ({"path": "x.py", "colour": "red"}, "unknown snippet option(s) colour"),
    ({"path": "x.py", "show": "all"}, 'show="all": expected one of both, code, output'),
    ({"path": "x.py", "timeout": "soon"}, 'timeout="soon": expected a number'),
    ({"path": "x.py", "timeout": "-1"}, "positive"),
    ({"path": "/abs/x.py"}, "relative to the repository root"),
    ({"path": "snippets/../../x.py"}, "relative to the repository root"),
])
def test_bad_fence_options_say_what_was_expected(options, message):
    with pytest.raises(FenceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Fence.parse(options)


SOURCE = """\
import numpy as np

# --8<-- [start:setup]
def f(x):
    # --8<-- [start:inner]
    return x + 1
    # --8<-- [end:inner]
# --8<-- [end:setup]

print(f(1))
"""


def test_extract_region_drops_markers_and_dedents():
    assert extract(SOURCE, "setup") == ("def f(x):\n    return x + 1", 4, 7)
    assert extract(SOURCE, "inner") == ("return x + 1", 6, 6)
    code, first, last = extract(SOURCE, None)
    assert "--8<--" not in code and (first, last) == (1, 10)


def test_missing_region_lists_the_regions_there_are():
    with pytest.raises(FenceError, match=r"no region 'demo' \(regions here: inner, setup\)"):
        extract(SOURCE, "demo")


def test_math_becomes_mathml():
    html = ('<p>Inline <span class="arithmatex">\\(a &lt; b_i\\)</span>.</p>\n'
            '<div class="arithmatex">\\[\\frac{1}{\\sqrt{d}}\\]</div>')
    out = to_mathml(html)
    assert "arithmatex" not in out and out.count("<math") == 2
    assert '<div class="rw-math"><math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in out
    assert "<mo>&#x0003C;</mo>" in out and "<msqrt>" in out  # escaped, not a tag


def test_any_exception_while_rendering_fails_the_build_naming_page_and_snippet(tmp_path):
    """pymdownx.superfences swallows a formatter's exception and leaves the fence as plain text;
    the renderer must turn every exception into a failure the build reports."""
    from rwsite import fence
    from rwsite.executor import Outcome

    class Unrenderable:
        root = tmp_path

        def get(self, run):
            return Outcome(run, key="k", stdout=5)  # not text: render_output cannot strip it

    build = fence.Build(Unrenderable(), page="robot/index.md", docs_prefix="pages/")
    saved, fence.current = fence.current, build
    try:
        html = fence.render("", "snippet", "", {"path": "snippets/a.py", "show": "output"}, md=None)
    finally:
        fence.current = saved
    assert "Snippet failed" in html
    assert build.errors == ["snippets/a.py: rendering the fence failed: AttributeError: "
                            "'int' object has no attribute 'strip'  [in pages/robot/index.md]"]
