"""LaTeX to MathML at build time, so a page needs no math script from anywhere.

Articles write math as usual, ``$x_t$`` inline and ``$$ ... $$`` (or ``\\[ ... \\]``) for
display. `pymdownx.arithmatex` in generic mode finds it and leaves it as
``<span class="arithmatex">\\(...\\)</span>`` / ``<div class="arithmatex">\\[...\\]</div>``;
`to_mathml` replaces those with MathML from the pure-Python `latex2mathml`, which every current
browser renders natively. Nothing is fetched when the page is read, and the page works offline.
The site serves the font it is drawn in (`rwsite.mathfont`): stretchy brackets and accents
need an OpenType MATH font, which most readers' machines lack.

latex2mathml writes MathML for MathJax more than for a browser, so `_typeset` mends what a
browser draws unlike a textbook (MathML Core: the subset Chromium and Firefox both render):

- accents: ``\\hat m`` becomes a circumflex accent centred over the m (U+02C6, not stretched)
  instead of an ASCII ``^`` the browser sets high, large and to the side; likewise the tilde;
  ``\\bar``, ``\\dot`` and the rest are marked as short accents;
- operator names: ``\\ln p`` gets the function application (U+2061) and the thin space TeX
  puts after ``\\ln`` (none before a bracket), which Chromium does not add by itself and
  Firefox does (the stylesheet hides ours there: class `FUNCTION_SPACE`);
- ``\\min(t, W)``, ``\\max_i``, ``\\operatorname{RMS}``: TeX's thin spaces, not the thick
  ones a browser gives an operator it does not know;
- ``\\mathrm{softmax}``: one upright word, not seven separately spaced letters;
- named spaces (``\\!`` is ``negativethinmathspace``), which MathML Core dropped, in ems;
- in display math, limits of ``\\max_i`` and ``\\sum`` under and over the operator;
- no space around ``<`` or ``=`` in a script (``x_{<t}``, ``t=1`` under a sum), as in TeX.

A formula latex2mathml cannot convert, or converts leaving a command in the text (``\\arg``
comes out as the letters ``\\arg``), raises `MathError`, naming the formula, and fails the build.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert

_INLINE = re.compile(r'<span class="arithmatex">\\\((?P<tex>.*?)\\\)</span>', re.S)
_BLOCK = re.compile(r'<div class="arithmatex">\s*\\\[(?P<tex>.*?)\\\]\s*</div>', re.S)
_NS = "http://www.w3.org/1998/Math/MathML"
_LEFTOVER_COMMAND = re.compile(r"\\[A-Za-z]+")

# Accents as spacing modifier letters: Chromium centres those over the base but shifts the
# combining forms (U+0302) to the left, and sets latex2mathml's ASCII ^ and ~ high and large.
_ACCENTS = {"\u005e": "\u02c6", "\u007e": "\u02dc", "\u0060": "\u02cb"}
_ACCENT_MARKS = {"\u02c6", "\u02dc", "\u02cb", "\u00af", "\u02d9", "\u00a8", "\u02c7", "\u02d8", "\u00b4"}
_FUNCTIONS = {"arccos", "arcsin", "arctan", "cos", "cosh", "cot", "coth", "csc", "deg", "det",
              "dim", "exp", "gcd", "hom", "ker", "lg", "ln", "log", "sec", "sin", "sinh", "tan", "tanh"}
_LIMITS = {"max", "min", "lim", "sup", "inf", "limsup", "liminf", "argmax", "argmin",
           "\u2211", "\u220f", "\u2210", "\u22c0", "\u22c1", "\u22c2", "\u22c3", "\u2a00", "\u2a01", "\u2a02"}
_NAMED_SPACES = {"veryverythinmathspace": 1, "verythinmathspace": 2, "thinmathspace": 3,
                 "mediummathspace": 4, "thickmathspace": 5, "verythickmathspace": 6,
                 "veryverythickmathspace": 7}
_SCRIPTED = {"msub", "msup", "msubsup", "munder", "mover", "munderover"}
FUNCTION_SPACE = "rw-fn"  # the class of the thin space after \ln and its kind (see rawweights.css)
_FIXED_ARITY = {"msub", "msup", "msubsup", "munder", "mover", "munderover", "mfrac", "mroot", "mmultiscripts"}
_OPENERS = set("([{|\u2016\u27e8\u230a\u2308")


class MathError(ValueError):
    """A formula that could not be converted."""


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _make(tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.Element(f"{{{_NS}}}{tag}", attrs)
    element.text = text
    return element


def _opens(element: ET.Element | None) -> bool:
    """Whether `element` starts with an opening bracket (``(x)``, ``\\left( ... \\right)``)."""
    while element is not None and _tag(element) == "mrow" and len(element):
        element = element[0]
    return element is not None and _tag(element) == "mo" and (element.text or "") in _OPENERS


def _space(width: str) -> str:
    sign = "-" if width.startswith("negative") else ""
    eighteenths = _NAMED_SPACES.get(width.removeprefix("negative"))
    return width if eighteenths is None else f"{sign}{eighteenths / 18:.4f}em"


def _typeset(root: ET.Element, display: bool) -> None:
    for parent in list(root.iter()):
        children = list(parent)
        for child in children:
            tag = _tag(child)
            if tag == "mover" and len(child) == 2 and _tag(child[1]) == "mo" and (
                    _ACCENTS.get(child[1].text, child[1].text) in _ACCENT_MARKS):
                accent = child[1]
                # \widehat and \widetilde (neither an accent nor unstretchy in latex2mathml's
                # output) stretch over their base; \hat, \tilde, \bar, \dot... stay short.
                wide = accent.text in "^~" and child.get("accent") != "true" and accent.get("stretchy") != "false"
                accent.text = _ACCENTS.get(accent.text, accent.text)
                accent.set("stretchy", "true" if wide else "false")
                child.set("accent", "true")
            elif tag == "mspace" and child.get("width"):
                child.set("width", _space(child.get("width")))
            elif tag == "mrow" and len(child) > 1 and all(
                    _tag(c) == "mi" and c.get("mathvariant") == "normal" and len(c.text or "") == 1 and not len(c)
                    for c in child):
                word = "".join(c.text for c in child)  # \mathrm{softmax}: one word, upright
                for c in list(child):
                    child.remove(c)
                child.append(_make("mi", word))
            elif display and tag in ("msub", "msup", "msubsup") and _tag(child[0]) == "mo" and child[0].text in _LIMITS:
                child.tag = f"{{{_NS}}}" + {"msub": "munder", "msup": "mover", "msubsup": "munderover"}[tag]
        if _tag(parent) in _FIXED_ARITY:
            continue  # a function name as a base or a script: the space goes after the whole
        for index, child in reversed(list(enumerate(children))):
            base = child[0] if _tag(child) in _SCRIPTED and child.get("accent") != "true" and len(child) else child
            if _tag(base) == "mo" and len(base.text or "") > 1 and base.text.isalpha():
                # \min, \max, \operatorname{RMS}: browsers space an unknown operator a thick
                # space on both sides; TeX a thin one, and none at a row's start or before a bracket
                following = children[index + 1] if index + 1 < len(children) else None
                first = index == 0 or _tag(children[index - 1]) == "mo"
                base.attrib.setdefault("lspace", "0" if first else "0.1667em")
                base.attrib.setdefault("rspace", "0" if following is None or _opens(following) else "0.1667em")
            if _tag(base) == "mi" and base.text in _FUNCTIONS:
                following = children[index + 1] if index + 1 < len(children) else None
                at = list(parent).index(child)
                if following is not None and not _opens(following):
                    # Firefox spaces a function's argument itself; rawweights.css hides this there
                    parent.insert(at + 1, _make("mspace", width="0.1667em", **{"class": FUNCTION_SPACE}))
                parent.insert(at + 1, _make("mo", "\u2061"))
                if index > 0 and _tag(children[index - 1]) != "mo":  # 0.1 ln s: TeX spaces it too
                    parent.insert(at, _make("mspace", width="0.1667em"))


def _tighten_scripts(root: ET.Element) -> None:
    """No space around relations and binary operators in sub- and superscripts, as in TeX
    (x_{<t}, t=1 under a sum); browsers space them as on the line."""
    for scripted in root.iter():
        if _tag(scripted) in _SCRIPTED and scripted.get("accent") != "true":  # not \hat's hat
            for script in list(scripted)[1:]:
                for mo in script.iter(f"{{{_NS}}}mo"):
                    mo.attrib.setdefault("lspace", "0")
                    mo.attrib.setdefault("rspace", "0")


def _converter(display: str):
    def replace(match: re.Match) -> str:
        tex = html.unescape(match["tex"]).strip()
        try:
            root = ET.fromstring(convert(tex, display=display))
        except Exception as exc:  # latex2mathml raises assorted exception types
            raise MathError(f"cannot convert ${tex}$ to MathML: {type(exc).__name__}: {exc}") from None
        leftover = sorted({m for e in root.iter() for m in _LEFTOVER_COMMAND.findall(e.text or "")})
        if leftover:
            raise MathError(f"cannot convert ${tex}$ to MathML: latex2mathml does not know {', '.join(leftover)}")
        _typeset(root, display == "block")
        _tighten_scripts(root)
        mathml = ET.tostring(root, encoding="unicode", short_empty_elements=True)
        return f'<div class="rw-math">{mathml}</div>' if display == "block" else mathml

    return replace


ET.register_namespace("", _NS)


def to_mathml(page_html: str) -> str:
    """`page_html` with every arithmatex formula replaced by MathML."""
    if "arithmatex" not in page_html:
        return page_html
    page_html = _BLOCK.sub(_converter("block"), page_html)
    return _INLINE.sub(_converter("inline"), page_html)
