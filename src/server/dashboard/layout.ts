import { serverVersion } from "../server-version.js";
import { DASHBOARD_ASSETS } from "./dashboard-assets.js";
import { type Html, html } from "./html.js";

/** The dashboard's pages, in the order the navigation shows them. */
export const PAGES = Object.freeze([
  { path: "/dashboard/stores", label: "Stores" },
  { path: "/dashboard/tokens", label: "Tokens" },
  { path: "/dashboard/activity", label: "Activity" },
  { path: "/dashboard/health", label: "Health" },
] as const);

/** What every page's frame needs. */
export interface PageFrame {
  readonly title: string;
  /** The path of the page, marked current in the navigation. */
  readonly current: string;
  /** The session's CSRF token (the sign-out form); undefined when signed out. */
  readonly csrf: string | undefined;
  /** A line shown above the page, e.g. "store deleted". */
  readonly notice?: { readonly text: string; readonly bad?: boolean } | undefined;
}

/**
 * A whole page: the shared head (one stylesheet, one deferred script, both
 * from this server), a skip link, the navigation and sign-out when signed in,
 * and the content.
 *
 * @example
 * sendHtml(response, 200, layout({ title: "Stores", current: "/dashboard/stores", csrf }, body));
 */
export function layout(frame: PageFrame, content: Html): Html {
  const signedIn = frame.csrf !== undefined;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${frame.title} · Hexclave</title>
<link rel="icon" href="${DASHBOARD_ASSETS.icon.href}" type="image/svg+xml">
<link rel="stylesheet" href="${DASHBOARD_ASSETS.style.href}">
<script src="${DASHBOARD_ASSETS.script.href}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/dashboard/stores">Hexclave</a>
${
  signedIn
    ? html`<nav aria-label="Dashboard"><ul>${PAGES.map(
        (p) =>
          html`<li><a href="${p.path}"${p.path === frame.current ? html` aria-current="page"` : ""}>${p.label}</a></li>`,
      )}</ul></nav>
<form method="post" action="/dashboard/sign-out"><input type="hidden" name="csrf" value="${frame.csrf}"><button type="submit">Sign out</button></form>`
    : ""
}
</header>
<main id="main" tabindex="-1">
${frame.notice === undefined ? "" : html`<p class="notice${frame.notice.bad === true ? " bad" : ""}" role="status">${frame.notice.text}</p>`}
${content}
</main>
<footer>Hexclave ${serverVersion()} · The dashboard never sees a value or a client secret: they are sealed in your services' processes.</footer>
</body>
</html>
`;
}

/** One labelled form field, with its hint and its error (if any) right below it. */
export interface FieldOptions {
  readonly id: string;
  readonly name: string;
  readonly label: string;
  readonly value?: string | undefined;
  readonly type?: "text" | "password" | "number";
  readonly hint?: string | undefined;
  readonly error?: string | undefined;
  readonly required?: boolean;
  readonly autocomplete?: string;
  readonly extra?: Html;
}

/**
 * A text input with its label, hint and error, tied together for screen
 * readers (aria-describedby, aria-invalid); the first field in error takes
 * the focus.
 *
 * @example
 * field({ id: "store-id", name: "storeId", label: "Store id", error: errors.storeId });
 */
export function field(o: FieldOptions): Html {
  const described = [
    o.hint === undefined ? "" : `${o.id}-hint`,
    o.error === undefined ? "" : `${o.id}-error`,
  ]
    .filter((x) => x !== "")
    .join(" ");
  return html`<div class="field">
<label for="${o.id}">${o.label}</label>
<input id="${o.id}" name="${o.name}" type="${o.type ?? "text"}" value="${o.value ?? ""}"${o.required === true ? html` required` : ""}${o.autocomplete === undefined ? "" : html` autocomplete="${o.autocomplete}"`}${described === "" ? "" : html` aria-describedby="${described}"`}${o.error === undefined ? "" : html` aria-invalid="true" autofocus`}${o.extra ?? ""}>
${o.hint === undefined ? "" : html`<p class="hint" id="${o.id}-hint">${o.hint}</p>`}
${fieldError(o.id, o.error)}
</div>`;
}

/** An error shown right below its field. */
export function fieldError(id: string, error: string | undefined): Html | string {
  return error === undefined ? "" : html`<p class="error" id="${id}-error">${error}</p>`;
}
