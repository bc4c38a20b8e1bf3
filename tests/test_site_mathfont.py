"""The math font the site serves (rwsite/mathfont.py): checked, cut, evened, renamed, cached."""

from __future__ import annotations

import hashlib

import pytest
from fontTools.ttLib import TTFont

from rwsite import mathfont


@pytest.fixture(scope="module")
def cut(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return mathfont.webfont(cache), cache


def test_the_cut_keeps_what_math_needs(cut):
    path, _ = cut
    font = TTFont(path)
    assert font.flavor == "woff2" and "MATH" in font
    cmap = font.getBestCmap()
    # m-hat and v-hat (italic letters and the accent), a transpose, ln, brackets, radicals, the
    # script L of the loss, sums, and the italic letters browsers map every single-letter <mi> to
    for char in "mv\u02c6\u22a4ln()[]{}\u221a\u2112\u2211\u2061\U0001d45a\U0001d463\u03b8\U0001d703":
        assert ord(char) in cmap, f"U+{ord(char):04X} is missing from the served math font"
    names = {r.nameID: r.toUnicode() for r in font["name"].names}
    assert names[1] == mathfont.FAMILY and "STIX" not in names[4]
    assert "Open Font License" in names[13] and names[0].startswith("Copyright")  # the licence travels with it
    assert path.stat().st_size < 400_000


def test_every_size_of_a_stretchy_glyph_is_as_wide_as_the_normal_one(cut):
    """Chromium boxes a radical or a stretchy bracket as wide as its widest size: a wider size
    anywhere in the MATH table leaves a gap after every small one."""
    font = TTFont(cut[0])
    hmtx, variants = font["hmtx"], font["MATH"].table.MathVariants
    cmap = font.getBestCmap()
    wider = []
    for base, construction in zip(variants.VertGlyphCoverage.glyphs, variants.VertGlyphConstruction):
        sizes = [v.VariantGlyph for v in construction.MathGlyphVariantRecord]
        if construction.GlyphAssembly is not None:
            sizes += [p.glyph for p in construction.GlyphAssembly.PartRecords]
        wider += [f"{base}: {g} {hmtx[g][0]} > {hmtx[base][0]}" for g in sizes if hmtx[g][0] > hmtx[base][0]]
    assert not wider, "\n".join(wider)
    for char in "\u221a([{":  # and these still stretch
        base = cmap[ord(char)]
        construction = variants.VertGlyphConstruction[variants.VertGlyphCoverage.glyphs.index(base)]
        assert len(construction.MathGlyphVariantRecord) > 1 and construction.GlyphAssembly is not None


def test_the_cut_is_made_once_and_kept(cut, monkeypatch):
    path, cache = cut
    monkeypatch.setattr(mathfont, "source", lambda: pytest.fail("made again"))
    assert mathfont.webfont(cache) == path


def test_a_changed_source_font_fails_naming_the_file(monkeypatch, tmp_path):
    monkeypatch.setattr(mathfont, "SOURCE_SHA256", hashlib.sha256(b"another font").hexdigest())
    with pytest.raises(mathfont.MathFontError, match=r"STIXTwoMath-Regular\.ttf has sha256 [0-9a-f]{64}, not"):
        mathfont.webfont(tmp_path)
    assert not list(tmp_path.rglob("*.woff2"))
