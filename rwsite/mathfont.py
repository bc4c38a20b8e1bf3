"""The math font the site serves, so that MathML is drawn as in a textbook on any machine.

A browser draws MathML with the fonts it has; stretchy brackets, accents placed over the
letter's own slant and big operators need an OpenType MATH font, which most readers' machines
lack (Chromium then sets ``\\left(`` as a small bracket and the hat of m̂ beside the m). So the
site serves one: STIX Two Math, licensed under the SIL Open Font License 1.1, which allows
subsetting and redistribution with the licence, kept here in the font's own name table
(copyright, licence and its URL). It comes from the `ziamath` package on PyPI (a `docs` extra,
pinned in constraints.txt): no binary in the repository, nothing fetched at view time.

`webfont` checks the file against `SOURCE_SHA256` (a new ziamath release that changed the font
fails the build, to be looked at, licence included), keeps the characters math uses
(`UNICODE_RANGES`, with every alternate size, stretchy part and script-size form the MATH
table reaches), evens the widths of stretchy sizes (`even_stretchy_widths`: Chromium leaves
gaps otherwise), names the result `FAMILY` (`rename`) and writes it as WOFF2 without hinting:
1.5 MB of TrueType become about 240 kB. That takes a few seconds, once: the result is kept in
the rwsite cache, named by what made it. The hooks
serve it at the path mkdocs.yml gives as `extra.math_font`; the stylesheet's ``@font-face``
names the same file (a test checks both).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from importlib import metadata
from pathlib import Path

SOURCE = ("ziamath", "ziamath/fonts/STIXTwoMath-Regular.ttf")
SOURCE_SHA256 = "8f42cb183a85043a4dc3f8e41ac3821eb27bf178d68ace929ba439523622323c"  # STIX Two Math 2.11

# Latin, Greek, combining accents, punctuation, letterlike symbols (ℒ), arrows, operators,
# brackets, a few big operators, and the mathematical alphanumerics browsers map letters to
# (italic for every single-letter <mi>; bold, script, fraktur and double-struck on request).
# Not the cube and fourth roots U+221B-C (\sqrt[3]{x} is an <mroot> of U+221A): their sizes
# are composite glyphs, which `even_stretchy_widths` leaves alone.
UNICODE_RANGES = ((0x20, 0x7E), (0xA0, 0xFF), (0x131, 0x131), (0x237, 0x237), (0x2B0, 0x2FF),
                  (0x300, 0x36F), (0x391, 0x3D6), (0x3F0, 0x3F6), (0x2000, 0x206F), (0x20D0, 0x20FF),
                  (0x2100, 0x214F), (0x2190, 0x21FF), (0x2200, 0x221A), (0x221D, 0x22FF), (0x2300, 0x23FF),
                  (0x25A0, 0x25FF), (0x27C0, 0x27EF), (0x2980, 0x2999), (0x2A00, 0x2A0C),
                  (0x1D400, 0x1D56B), (0x1D6A8, 0x1D755), (0x1D7CE, 0x1D7E1))


FAMILY = "Raw Weights Math"
_RECIPE_VERSION = 3  # raise it when what `webfont` does to the font changes


class MathFontError(RuntimeError):
    """The math font is missing or is not the file this module was written for."""


def source() -> Path:
    """The TrueType file inside the installed package, checked against `SOURCE_SHA256`."""
    package, inside = SOURCE
    try:
        path = Path(metadata.distribution(package).locate_file(inside))
        data = path.read_bytes()
    except (metadata.PackageNotFoundError, OSError) as exc:
        raise MathFontError(f"the math font {inside} is missing ({exc}); `python3 dev.py site` installs "
                            f"{package} with the docs extra") from None
    found = hashlib.sha256(data).hexdigest()
    if found != SOURCE_SHA256:
        raise MathFontError(f"{path} has sha256 {found}, not {SOURCE_SHA256}: another {package} release "
                            "changed the font; check its licence, then update SOURCE_SHA256 in rwsite/mathfont.py")
    return path


def webfont(cache_dir: Path) -> Path:
    """The served WOFF2 file, made from `source()` once and kept in `cache_dir`/fonts."""
    from fontTools import subset, version

    recipe = f"{SOURCE_SHA256} {UNICODE_RANGES} {FAMILY} {_RECIPE_VERSION} fonttools {version}"
    target = cache_dir / "fonts" / f"stix-two-math-{hashlib.sha256(recipe.encode()).hexdigest()[:16]}.woff2"
    if target.is_file():
        return target
    options = subset.Options(layout_features=["*"], name_IDs=["*"], name_languages=["*"],
                             notdef_outline=True, hinting=False, flavor="woff2")
    font = subset.load_font(str(source()), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[u for first, last in UNICODE_RANGES for u in range(first, last + 1)])
    subsetter.subset(font)
    even_stretchy_widths(font)
    rename(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}")  # two builds at once: no torn file
    try:
        subset.save_font(font, str(partial), options)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def even_stretchy_widths(font) -> None:
    """Draw every size of a vertically stretchy glyph (brackets, radicals) as wide as its
    normal size, so that Chromium leaves no gap after a small one.

    MathML Core sizes the box of a stretchy operator or a radical by the widest of all its
    sizes (its "preferred inline size"), and Chromium lays the box out that wide but draws the
    size it picked at the box's left edge: in STIX Two, whose tallest radical is 0.42 em wider
    than the normal one, ``\\sqrt{D} + x`` shows a 0.42 em hole before the plus, and a
    ``\\left(`` around one line of text a quarter em after it. Firefox draws the size it picked,
    as wide as it is. With every size as wide as the normal one both browsers agree; taller
    sizes are narrowed to fit (as in TeX, whose radicals all have one width). Each size, or the
    pieces of an assembly together, is scaled into the ink box of the normal size, which keeps
    a radical's top joined to the bar over its content.
    """
    import copy

    from fontTools.ttLib.tables._g_l_y_f import GlyphCoordinates

    glyf, hmtx = font["glyf"], font["hmtx"]
    variants = font["MATH"].table.MathVariants
    if variants.VertGlyphCoverage is None:
        return
    done: set[str] = set()
    for base, construction in zip(variants.VertGlyphCoverage.glyphs, variants.VertGlyphConstruction):
        normal = glyf[base]
        if normal.isComposite() or not normal.numberOfContours:
            continue
        normal.recalcBounds(glyf)
        # (record, attribute) slots naming a glyph: one group per size, one for the assembly
        groups = [[(v, "VariantGlyph")] for v in construction.MathGlyphVariantRecord if v.VariantGlyph != base]
        if construction.GlyphAssembly is not None:
            groups.append([(p, "glyph") for p in construction.GlyphAssembly.PartRecords])
        for slots in groups:
            names = list(dict.fromkeys(getattr(record, attribute) for record, attribute in slots))
            glyphs = [glyf[n] for n in names]
            if max(hmtx[n][0] for n in names) <= hmtx[base][0]:
                continue
            if any(g.isComposite() or not g.numberOfContours for g in glyphs):
                continue  # no outline of its own to move
            for record, attribute in slots:  # a piece another construction already evened
                name = getattr(record, attribute)  # (the bar both braces extend): a copy of its own
                if name in done:
                    twin = f"{name}.rw{len(font.getGlyphOrder())}"
                    font.setGlyphOrder(font.getGlyphOrder() + [twin])
                    glyf[twin], hmtx[twin] = copy.deepcopy(glyf[name]), hmtx[name]
                    for other, other_attribute in slots:
                        if getattr(other, other_attribute) == name:
                            setattr(other, other_attribute, twin)
            names = list(dict.fromkeys(getattr(record, attribute) for record, attribute in slots))
            glyphs = [glyf[n] for n in names]
            for glyph in glyphs:
                glyph.recalcBounds(glyf)
            low, high = min(g.xMin for g in glyphs), max(g.xMax for g in glyphs)
            scale = min(1.0, (normal.xMax - normal.xMin) / (high - low))
            for name, glyph in zip(names, glyphs):
                glyph.coordinates = GlyphCoordinates(
                    [(round(normal.xMin + (x - low) * scale), y) for x, y in glyph.coordinates])
                glyph.recalcBounds(glyf)
                hmtx[name] = (hmtx[base][0], glyph.xMin)
            done.update(names)


def rename(font) -> None:
    """Name the cut `FAMILY`: it is a modified STIX Two Math, and the STIX name is a trademark.
    The copyright, the licence and its URL (name IDs 0, 13, 14) stay as they are."""
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 3, 4, 6, 16, 17, 21, 22):
            names.removeNames(nameID=record.nameID)
    postscript = FAMILY.replace(" ", "")
    for name_id, text in ((1, FAMILY), (2, "Regular"), (3, f"{postscript}-rwsite-{_RECIPE_VERSION}"),
                          (4, FAMILY), (6, postscript),
                          (10, "Cut from STIX Two Math 2.11 by rwsite/mathfont.py (Raw Weights)")):
        names.setName(text, name_id, 3, 1, 0x409)
