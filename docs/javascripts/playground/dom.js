/* Raw Weights playground: the helpers its views share with the site's other widgets.
 *
 * `el` is rw-widgets.js's (window.RawWeights.ui), which mkdocs.yml loads on every page as a
 * classic script: it has run before these modules (deferred) do. */

/** <tag attributes>children</tag>; the attribute `text` sets the text content. */
export function el(tag, attributes, children) {
  const ui = globalThis.RawWeights && globalThis.RawWeights.ui;
  if (!ui) throw new Error("rw-widgets.js is not loaded (mkdocs.yml extra_javascript)");
  return ui.el(tag, attributes, children);
}

/** How a character reads on a label: the invisible ones named. */
export function shown(ch, short = false) {
  if (ch === "\n") return short ? "↵" : "↵ newline";
  if (ch === " ") return short ? "␣" : "␣ space";
  return ch;
}
