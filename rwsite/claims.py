"""Numbers in the prose that are the numbers the build computed, and claims the build checks.

A snippet exports a value under a name, and asserts what its page says about an outcome:

    from rwsite.claims import claim, value

    value("largest_delta", f"{delta:.2g}")                 # the page writes {{ largest_delta }}
    claim(delta == 0, "the upper triangle is exactly zero", delta=delta)

- `value(name, text)` records `text` (a string, formatted as the page should show it: the
  snippet decides the digits) under `name`, and returns it. A page writes ``{{ name }}`` in its
  prose and the build puts the text there; the names come from the snippets fenced on that
  page (``{{ snippets/x/y.py:name }}`` names one explicitly, for a value from another page's
  snippet or when two snippets on a page export the same name). A name no snippet exported
  fails the build, naming the page; so does a name two snippets on the page export.
- `claim(holds, text, **shown)` asserts: when `holds` is false the snippet fails with
  ``claim does not hold: <text> (delta=7.2e-06)``, and a failing snippet fails the build,
  naming its line and its page. A claim that holds is recorded too, so the tests can list
  every claim each page rests on.

Run on its own (`python snippets/x/y.py`) the functions behave the same (a failed claim
raises); the records go nowhere. Under the build the runner collects `VALUES` and `CLAIMS`
into the snippet's result, and the cache keeps them with its output.
"""

from __future__ import annotations

import re

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_VALUE_CHARS = 200

#: name -> text, in the order exported (read by rwsite/runner.py).
VALUES: dict[str, str] = {}
#: one {"text", "holds"} per claim checked (read by rwsite/runner.py).
CLAIMS: list[dict] = []


class ClaimFailed(AssertionError):
    """A claim a page makes about a snippet's outcome stopped holding."""


def value(name: str, text: object) -> str:
    """Export `text` under `name` for the page's prose (``{{ name }}``); returns the text."""
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"value name {name!r}: use a Python identifier (letters, digits, _)")
    if not isinstance(text, str):
        raise TypeError(f"value {name!r}: give the text as the page should show it (an f-string "
                        f"with its digits), not a {type(text).__name__}")
    if "\n" in text or len(text) > MAX_VALUE_CHARS:
        raise ValueError(f"value {name!r}: one line of at most {MAX_VALUE_CHARS} characters")
    if name in VALUES and VALUES[name] != text:
        raise ValueError(f"value {name!r} exported twice with different texts: {VALUES[name]!r}, {text!r}")
    VALUES[name] = text
    return text


def claim(holds: object, text: str, **shown: object) -> None:
    """Assert `holds`, which the page states in words as `text`; `shown` goes into the error."""
    ok = bool(holds)
    CLAIMS.append({"text": str(text), "holds": ok})
    if not ok:
        detail = ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in shown.items())
        raise ClaimFailed(f"claim does not hold: {text}" + (f" ({detail})" if detail else ""))
