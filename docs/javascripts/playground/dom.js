/* Raw Weights playground: building the page's elements (one helper the views share). */

/** <tag attributes>children</tag>; the attribute `text` sets the text content. */
export function el(tag, attributes, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children || []) node.append(child);
  return node;
}

/** How a character reads on a label: the invisible ones named. */
export function shown(ch, short = false) {
  if (ch === "\n") return short ? "↵" : "↵ newline";
  if (ch === " ") return short ? "␣" : "␣ space";
  return ch;
}
