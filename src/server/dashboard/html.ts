/**
 * A piece of HTML that is safe to insert as it is: made only by {@link html}
 * (whose values are escaped) or {@link trustedHtml} (for the few constants
 * that are markup). Every string from the database — store descriptions,
 * token names — reaches a page through `html` and so is escaped.
 */
export class Html {
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  toString(): string {
    return this.#text;
  }
}

const ESCAPES: Readonly<Record<string, string>> = Object.freeze({
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
});

/**
 * Escapes text for an HTML text node or a quoted attribute value.
 *
 * @example
 * escapeHtml('<img src=x onerror="alert(1)">'); // "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/**
 * A template tag that escapes every value unless it is already {@link Html};
 * arrays are joined, and undefined, null and false render as nothing.
 * Attribute values must be written in double quotes in the template.
 *
 * @example
 * html`<td>${store.description}</td>`; // the description escaped
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) {
    out += render(values[i]) + (strings[i + 1] ?? "");
  }
  return new Html(out);
}

/**
 * Marks a constant string as markup. Never for anything that came from a
 * request or the database.
 *
 * @example
 * trustedHtml("&nbsp;");
 */
export function trustedHtml(markup: string): Html {
  return new Html(markup);
}

function render(value: unknown): string {
  if (value === undefined || value === null || value === false) return "";
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}
