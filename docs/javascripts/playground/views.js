/* Raw Weights playground: the two views that look inside the student as it reads.
 *
 * - Where each head looks (How the student reads, Future-blind reading): the attention weights
 *   of every head of one layer for the last character read, over the characters before it.
 *   The weights are the ones the forward pass used (model.js keeps them as it computes), so
 *   each row sums to 1 over the positions held, and there is nothing to the right of the last
 *   character: the student cannot look at what it has not read.
 * - The teacher's score (The teacher's score): how surprised the student is by each character
 *   of a text the reader types, -log2 p in bits, as the training loss counts it (in nats).
 */
import { el, shown } from "./dom.js";
import { surprisal } from "./generate.js";

const WINDOW = 24;         // characters shown: the last ones read (the rest summed in one cell)

/** The attention panel: a layer chooser and a table, one row per head, one column per
 * character read (the latest WINDOW), each cell shaded by that head's weight on it. */
export function attentionView() {
  const select = el("select", { id: "rw-pg-layer" });
  const head = el("tr");
  const body = el("tbody");
  const note = el("p", { class: "rw-readout" });
  const table = el("table", { class: "rw-pg-attn" }, [
    el("caption", { text: "Where each head looks from the last character read: the darker, the more weight (nothing to its right: the student is future-blind)" }),
    el("thead", {}, [head]), body,
  ]);
  const node = el("section", { class: "rw-pg-panel", "aria-label": "Attention weights" }, [
    el("div", { class: "rw-control" }, [el("label", { for: "rw-pg-layer", text: "Layer " }), select]),
    el("div", { class: "rw-table" }, [table]), note,
  ]);
  let layers = 0, last = null;
  const view = {
    node,
    /** Rebuild for a model of `L` layers (keeps the chosen layer where it exists). */
    reset(L) {
      if (L === layers) return;
      const keep = Math.min(Number(select.value) || 0, L - 1);
      select.replaceChildren(...Array.from({ length: L }, (_, l) => el("option", { value: String(l), text: `${l + 1} of ${L}` })));
      select.value = String(keep);
      layers = L;
    },
    /** Draw the weights of `session` (a model.js Session that has just read a character). */
    draw(model, session) {
      last = { model, session };
      const { tokens, rows } = session.attention();
      const n = tokens.length;
      if (!n) return;
      const from = Math.max(0, n - WINDOW), layer = Number(select.value) || 0;
      const cells = [el("th", { scope: "col", class: "rw-pg-head", text: "" })];
      if (from) cells.push(el("th", { scope: "col", class: "rw-pg-earlier", title: `the ${from} characters before`, text: "…" }));
      for (let s = from; s < n; s++) {
        cells.push(el("th", { scope: "col", class: s === n - 1 ? "rw-pg-now" : "", text: shown(model.vocab[tokens[s]], true) }));
      }
      head.replaceChildren(...cells);
      const heads = rows(layer);
      body.replaceChildren(...heads.map((w, h) => {
        let earlier = 0;
        for (let s = 0; s < from; s++) earlier += w[s];
        const tr = el("tr", {}, [el("th", { scope: "row", text: `head ${h + 1}` })]);
        if (from) tr.append(heat(earlier, `head ${h + 1}: ${pct(earlier)} on the ${from} earlier characters`));
        for (let s = from; s < n; s++) {
          const back = n - 1 - s;
          tr.append(heat(w[s], `head ${h + 1} on ${JSON.stringify(model.vocab[tokens[s]])} ` +
            (back ? `${back} back` : "(the last character itself)") + `: ${pct(w[s])}`));
        }
        return tr;
      }));
      const favourite = heads.map((w) => {
        let best = 0;
        for (let s = 1; s < n; s++) if (w[s] > w[best]) best = s;
        return n - 1 - best;
      });
      note.textContent = `Layer ${layer + 1}, after ${n} characters; the heaviest weight, head by head: ` +
        favourite.map((b) => (b ? `${b} back` : "the last character")).join(" · ") + ".";
    },
  };
  select.addEventListener("change", () => last && view.draw(last.model, last.session));
  return view;
}

function pct(w) {
  return (100 * w).toFixed(1) + "%";
}

function heat(weight, label) {
  return el("td", { class: "rw-pg-heat", title: label, "aria-label": label }, [
    el("span", { style: `opacity: ${Math.min(1, Math.max(0, weight)).toFixed(3)}` }),
  ]);
}

const MAX_SCORED = 1000;

/** The teacher's score panel: a text field, the text with each character shaded by the
 * student's surprise, and the mean in bits per character. */
export function surpriseView(defaultText) {
  const input = el("textarea", { id: "rw-pg-score", rows: "2", spellcheck: "false", autocomplete: "off" });
  input.value = defaultText;
  const out = el("p", { class: "rw-pg-surprise", tabindex: "0", "aria-label": "The text, each character shaded by the student's surprise" });
  const readout = el("p", { class: "rw-readout", "aria-live": "polite" });
  const node = el("section", { class: "rw-pg-panel", "aria-label": "The teacher's score" }, [
    el("label", { for: "rw-pg-score", class: "rw-pg-label", text: "Score a text: how surprised is the student by each character?" }),
    input, out, readout,
  ]);
  return {
    node, input,
    /** Score the field's text with `model`; returns the bits per character (NaN first). */
    draw(model, session) {
      const text = Array.from(input.value).slice(0, MAX_SCORED).join("");
      let ids;
      try {
        ids = model.encode(text);
        input.removeAttribute("aria-invalid");
      } catch (err) {
        readout.textContent = err.message;
        input.setAttribute("aria-invalid", "true");
        return null;
      }
      if (ids.length < 2) {
        out.replaceChildren();
        readout.textContent = "Type two characters or more: the first has nothing before it to be predicted from.";
        return null;
      }
      const bits = surprisal(session, ids);
      let total = 0, worst = 1;
      const spans = Array.from(text, (ch, i) => {
        if (i === 0) return el("span", { title: "the first character: not predicted", text: ch });
        total += bits[i];
        if (bits[i] > bits[worst]) worst = i;
        const level = Math.min(5, Math.floor(bits[i] / 2));   // 0-2 bits, 2-4, ... 10 and more
        return el("span", { class: `rw-pg-s${level}`, title: `${JSON.stringify(ch)}: ${bits[i].toFixed(2)} bits`, text: ch });
      });
      out.replaceChildren(...spans);
      const scored = ids.length - 1;
      readout.textContent = `${scored} characters scored: ${(total / scored).toFixed(2)} bits per character on average ` +
        `(${(total / scored * Math.LN2).toFixed(3)} nats, the unit of the training loss). The most surprising: ` +
        `“${shown(text[worst], true)}” after “${Array.from(text.slice(Math.max(0, worst - 12), worst), (c) => shown(c, true)).join("")}”, ${bits[worst].toFixed(1)} bits` +
        (input.value.length > MAX_SCORED ? `; only the first ${MAX_SCORED} characters are scored.` : ".");
      return bits;
    },
  };
}
