import { type Html, html } from "../html.js";
import { field } from "../layout.js";

/**
 * The sign-in form: one field for an admin token, posted to this server and
 * exchanged for a session cookie. The token is never kept in the browser
 * (no storage, no cookie, the field is emptied on every answer).
 *
 * @example
 * signInContent({ error: "the access token is not valid: …" });
 */
export function signInContent(state: { readonly error?: string | undefined }): Html {
  return html`<div class="signin card">
<h1>Sign in</h1>
<p>Sign in with an admin token (<code>hxk_…</code>, or the server's <code>HEXCLAVE_ADMIN_TOKEN</code>). It is checked on every page you open, so revoking it ends this session too.</p>
<form method="post" action="/dashboard/sign-in" novalidate>
${field({
  id: "token",
  name: "token",
  label: "Admin token",
  type: "password",
  required: true,
  autocomplete: "off",
  hint: "A development server writes its first one to .hexclave/admin.token.",
  error: state.error,
})}
<button type="submit">Sign in</button>
</form>
</div>`;
}
