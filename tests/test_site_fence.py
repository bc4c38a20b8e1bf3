"""The snippet fence: header syntax, the fence-aware pre-pass scanner, regions; and MathML."""

from __future__ import annotations

import pytest

from rwsite.executor import DEFAULT_TIMEOUT, Run
from rwsite.fence import Fence, FenceError, extract, find_fences
from rwsite.mathml import MathError, to_mathml

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
    assert "<mo>&lt;</mo>" in out and "<msqrt>" in out  # escaped, not a tag


def _math(tex: str, display: bool = False) -> str:
    if display:
        return to_mathml(f'<div class="arithmatex">\\[{tex}\\]</div>')
    return to_mathml(f'<span class="arithmatex">\\({tex}\\)</span>')


def test_math_is_typeset_as_in_a_textbook():
    # \hat: a circumflex accent, centred over the letter and not stretched (an ASCII ^ is set
    # high and to the side; Chromium shifts the combining U+0302 to the left)
    assert '<mover accent="true"><mi>m</mi><mo stretchy="false">\u02c6</mo></mover>' in _math(r"\hat m_t")
    assert '<mo stretchy="true">\u02c6</mo>' in _math(r"\widehat{xy}")
    assert '<mo stretchy="false">\u02dc</mo>' in _math(r"\tilde x")
    assert '<mo stretchy="false">\u00af</mo>' in _math(r"\bar x")
    # \left( \right): brackets that stretch; a plain ( does not
    left_right = _math(r"\left(\frac{a}{b}\right)")
    assert left_right.count('stretchy="true" fence="true"') == 2
    assert '<mo stretchy="false">(</mo>' in _math(r"f(x)")
    # ^\top: the transpose sign as a superscript
    assert "<msup><mi>K</mi><mo lspace=\"0\" rspace=\"0\">\u22a4</mo></msup>" in _math(r"Q K^\top")
    # \ln p: an upright name, the function application and a thin space; none before a bracket
    thin = '<mspace width="0.1667em" class="rw-fn" />'
    assert f"<mi>ln</mi><mo>\u2061</mo>{thin}<mi>p</mi>" in _math(r"\ln p")
    assert "<mi>ln</mi><mo>\u2061</mo><mo stretchy=\"false\">(</mo>" in _math(r"\ln(x)")
    assert '<mn>0.1</mn><mspace width="0.1667em" /><mi>ln</mi>' in _math(r"0.1 \ln s")
    assert f"<msub><mi>log</mi><mn>2</mn></msub><mo>\u2061</mo>{thin}<mn>65</mn>" in _math(r"\log_2 65")
    # \mathrm{softmax}: one upright word; \! as a length MathML Core knows
    softmax = _math(r"\mathrm{softmax}\!\left(x\right)")
    assert "<mi>softmax</mi>" in softmax and 'width="-0.1667em"' in softmax
    # relations in scripts set tight, as in TeX; on the line they keep their space
    assert '<msub><mi>x</mi><mrow><mo lspace="0" rspace="0">&lt;</mo><mi>t</mi></mrow></msub>' in _math(r"x_{<t}")
    assert "<mo>=</mo>" in _math(r"t = 1")
    assert '<mo lspace="0" rspace="0">min</mo><mo stretchy="false">(</mo>' in _math(r"\min(t, W)")
    assert '<mi>a</mi><mo lspace="0.1667em" rspace="0.1667em">max</mo><mi>x</mi>' in _math(r"a \max x")
    # display limits under the operator, inline beside it
    assert '<munder><mo lspace="0" rspace="0.1667em">max</mo>' in _math(r"\max_i x_i", display=True)
    assert '<msub><mo lspace="0" rspace="0.1667em">max</mo>' in _math(r"\max_i x_i")


def test_a_command_latex2mathml_leaves_as_text_fails_the_build():
    with pytest.raises(MathError, match=r"does not know \\arg"):
        _math(r"\arg\max_x f(x)")


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


def test_docstring_lists_get_the_blank_line_markdown_needs():
    from rwsite.docstrings import blank_line_before_lists

    text = "Backends:\n- `naive`: einsum,\n  then softmax.\n- `xla`: fused.\nAfter.\n\n1. one\n2. two"
    assert blank_line_before_lists(text) == (
        "Backends:\n\n- `naive`: einsum,\n  then softmax.\n- `xla`: fused.\nAfter.\n\n1. one\n2. two")
    untouched = "Example:\n```\nx = 1\n- 2\n```\n>>> a\n- b"
    assert blank_line_before_lists(untouched) == untouched  # code and doctest output stay as written
