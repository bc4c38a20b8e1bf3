"""The ```` ```diagram ```` fence: a hand-drawn SVG from the repository, inlined with its caption.

An article places a conceptual diagram (a block, a cache's shape, a router) with one fence
whose body is the caption, written as Markdown (inline: code spans, emphasis, links):

    ```diagram path="diagrams/block.svg"
    Follow the thick line: ...
    ```

`path` is relative to the page's folder (the files live in `docs/<section>/diagrams/`). The
SVG is inlined, not linked as an image, so the stylesheet's palette reaches it: it draws in
`currentColor` and in the `d-*` classes that `docs/stylesheets/rawweights.css` colours for the
light and the dark palette alike. A diagram is checked when the page is built, and a file
that breaks a rule fails the build naming the page and the rule (`problems` lists them):

- well-formed XML whose root is an `<svg>` with a `viewBox` and a non-empty `<title>`, which
  becomes the accessible name (`role="img"`, `aria-label`);
- nothing that runs or loads: no `<script>`, `<foreignObject>`, `<image>`, `<style>`, no
  `on...` attribute, no `href` or `url()` that points outside the drawing;
- no colour written into the file (no `style` attribute, no `fill`/`stroke` other than
  `none` or `currentColor`): colours come from the stylesheet, so both palettes apply;
- every `<text>` has a `font-size` (its own or inherited) large enough to stay at least
  9 CSS pixels when the drawing is shrunk into a 390-pixel phone's column.

Element ids are prefixed with the file's name, since every diagram and figure of a page share
one id space once inlined. Captions say what to look at; the fence fails without one.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

from rwsite import fence

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
#: The column a figure gets on a 390-pixel phone, in CSS pixels (as rwsite.mpl_backend measured).
PHONE_COLUMN_PX = 338
#: The smallest text a phone reader gets, in CSS pixels.
MIN_PHONE_PX = 9.0
FORBIDDEN = ("script", "foreignObject", "image", "style", "iframe", "audio", "video")
PAINTS = ("fill", "stroke", "color", "stop-color", "flood-color", "lighting-color")
ALLOWED_PAINT = ("none", "currentcolor", "inherit", "transparent")



class DiagramError(ValueError):
    """A diagram that breaks a rule of the module docstring; the message says which."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def problems(svg_text: str, name: str = "diagram") -> list[str]:
    """Every rule `svg_text` breaks (empty when it is fine to inline)."""
    try:
        root = ET.fromstring(svg_text)
    except ET.ParseError as exc:
        return [f"{name}: not well-formed XML: {exc}"]
    found: list[str] = []
    if root.tag != f"{{{SVG_NS}}}svg":
        return [f"{name}: the root element is <{_local(root.tag)}>, expected <svg> in the SVG namespace"]
    try:
        width = view_box(root)[2]
    except DiagramError as exc:
        return [f"{name}: {exc}"]
    if not title_of(root):
        found.append(f"{name}: no <title> (its text is the diagram's accessible name)")

    def walk(element: ET.Element, size: float | None) -> None:
        tag = _local(element.tag)
        if tag in FORBIDDEN:
            found.append(f"{name}: <{tag}> is not allowed (nothing may run, load or restyle the page)")
        for attribute, value in element.attrib.items():
            local = _local(attribute)
            if local.startswith("on"):
                found.append(f"{name}: <{tag} {local}=...>: no event handlers")
            elif local == "style":
                found.append(f"{name}: <{tag} style=...>: style it with a class in rawweights.css")
            elif local in PAINTS and value.strip().lower() not in ALLOWED_PAINT:
                found.append(f'{name}: <{tag} {local}="{value}">: a fixed colour; use currentColor or a class')
            elif local == "href" and not value.startswith("#"):
                found.append(f'{name}: <{tag} href="{value}">: only links inside the drawing (#id)')
            if re.search(r"url\(\s*['\"]?(?!#)", value):
                found.append(f"{name}: <{tag} {local}=\"{value}\">: url() may only name an element of the drawing")
        if "font-size" in element.attrib:
            try:
                size = float(element.attrib["font-size"])
            except ValueError:
                found.append(f'{name}: font-size="{element.attrib["font-size"]}": give a number in drawing units')
        if tag == "text":
            label = "".join(element.itertext()).strip()
            if size is None:
                found.append(f"{name}: the text {label!r} has no font-size (its own or a parent's)")
            elif size * PHONE_COLUMN_PX / width < MIN_PHONE_PX:
                found.append(f"{name}: the text {label!r} (font-size {size:g} in a {width:g}-wide drawing) "
                             f"would be {size * PHONE_COLUMN_PX / width:.1f} CSS px on a phone; "
                             f"at least {MIN_PHONE_PX * width / PHONE_COLUMN_PX:.1f} is needed")
        for child in element:
            walk(child, size)

    walk(root, None)
    return found


def view_box(root: ET.Element) -> tuple[float, float, float, float]:
    try:
        x, y, w, h = (float(v) for v in root.attrib["viewBox"].replace(",", " ").split())
    except (KeyError, ValueError):
        raise DiagramError('the <svg> needs viewBox="0 0 WIDTH HEIGHT"') from None
    if w <= 0 or h <= 0:
        raise DiagramError(f'viewBox="{root.attrib["viewBox"]}": width and height must be positive')
    return x, y, w, h


def title_of(root: ET.Element) -> str:
    title = root.find(f"{{{SVG_NS}}}title")
    return " ".join("".join(title.itertext()).split()) if title is not None else ""


def smallest_font(root: ET.Element) -> float:
    """The smallest font-size any text of the drawing is set in (drawing units)."""
    sizes = []

    def walk(element: ET.Element, size: float | None) -> None:
        size = float(element.attrib.get("font-size", size or 0)) or size
        if _local(element.tag) == "text" and size:
            sizes.append(size)
        for child in element:
            walk(child, size)

    walk(root, None)
    return min(sizes, default=0.0)


def inline(svg_text: str, prefix: str) -> str:
    """The drawing as inline HTML: accessible name, size, phone measure, ids prefixed."""
    root = ET.fromstring(svg_text)
    _, _, width, height = view_box(root)
    ids = {el.attrib["id"] for el in root.iter() if "id" in el.attrib}
    for el in root.iter():
        for attribute, value in list(el.attrib.items()):
            if attribute == "id":
                el.attrib[attribute] = prefix + value
            elif _local(attribute) == "href" and value[1:] in ids:
                el.attrib[attribute] = "#" + prefix + value[1:]
            elif "url(#" in value:
                el.attrib[attribute] = re.sub(r"url\(#([^)]+)\)",
                                              lambda m: f"url(#{prefix}{m[1]})" if m[1] in ids else m[0], value)
    root.attrib.update({"width": f"{width:g}", "height": f"{height:g}", "role": "img",
                        "aria-label": title_of(root), "data-font-pt": f"{smallest_font(root):g}",
                        "class": " ".join(filter(None, ["rw-diagram-svg", root.attrib.get("class")]))})
    for el in root.iter():  # plain names, as HTML writes inline SVG (xlink:href is SVG 2's href)
        el.tag = _local(el.tag)
        for attribute in [a for a in el.attrib if a.startswith("{")]:
            el.attrib[_local(attribute)] = el.attrib.pop(attribute)
    root.attrib["xmlns"] = SVG_NS
    return ET.tostring(root, encoding="unicode")


def caption_html(src: str) -> str:
    """The fence body as inline HTML (one paragraph of Markdown)."""
    import markdown

    rendered = markdown.markdown(src.strip(), extensions=["pymdownx.inlinehilite"]).strip()
    if not (rendered.startswith("<p>") and rendered.endswith("</p>")) or rendered.count("<p>") != 1:
        raise DiagramError("the caption must be one paragraph of inline Markdown")
    return " ".join(rendered[3:-4].split())


def figure(svg_path: Path, caption_src: str) -> str:
    """The `<figure>` for one diagram file and its caption; DiagramError names what is wrong."""
    try:
        svg_text = svg_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DiagramError(f"cannot read {svg_path}: {exc.strerror}") from None
    found = problems(svg_text, svg_path.name)
    if found:
        raise DiagramError("; ".join(found))
    if not caption_src.strip():
        raise DiagramError(f"{svg_path.name}: the fence needs a caption in its body: say what to look at")
    prefix = "rw-d-" + re.sub(r"[^a-z0-9]+", "-", svg_path.stem.lower()) + "-"
    return (f'<figure class="rw-figure rw-diagram">{inline(svg_text, prefix)}'
            f"<figcaption>{caption_html(caption_src)}</figcaption></figure>")


def validate(language, inputs, options, attrs, md) -> bool:
    """pymdownx.superfences validator: keep the header's options for `render`."""
    options.update(inputs)
    return True


def render(src, language, class_name, options, md, **kwargs) -> str:
    """pymdownx.superfences formatter: the fence becomes a figure, or a build failure."""
    build = fence.current
    page = build.page if build is not None else "?"
    try:
        unknown = sorted(set(options) - {"path"})
        if unknown:
            raise DiagramError(f"unknown diagram option(s) {', '.join(unknown)}; expected path")
        path = options.get("path", "").strip()
        if not path or path.startswith("/") or ".." in PurePosixPath(path).parts:
            raise DiagramError(f'path="{path}": give the SVG relative to the page, without ".."')
        docs = (build.executor.root / build.docs_prefix) if build is not None else Path("docs")
        return figure(docs / PurePosixPath(page).parent / path, src)
    except Exception as exc:  # anything: a diagram must never vanish from a page silently
        message = f"diagram {options.get('path', '?')}: {exc}"
        if build is not None:
            build.errors.append(f"{message}  [in {build.docs_prefix}{page}]")
        return (f'<div class="admonition failure"><p class="admonition-title">Diagram failed</p>'
                f"<pre>{html.escape(message)}</pre></div>")
