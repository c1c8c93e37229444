import type { GrantRow } from "../../../vault/storage-port.js";
import { VaultError } from "../../../vault/vault-error.js";
import type { TokenView } from "../../../vault/views.js";
import { ADMIN_METHODS } from "../dashboard-audit.js";
import {
  type DashboardPage,
  fieldOf,
  messageOf,
  type Notice,
  type PageContext,
  type PageDeps,
  type PageResult,
  statusOf,
} from "../dashboard-page.js";
import { formatSpan, formatTime } from "../format.js";
import { type Html, html } from "../html.js";
import { field, fieldError } from "../layout.js";

const PATH = "/dashboard/tokens";

/** Lifetimes offered for a new token, in seconds ("" = never expires). */
const LIFETIMES: readonly (readonly [string, string])[] = [
  ["", "Never"],
  ["3600", "1 hour"],
  ["86400", "1 day"],
  ["604800", "7 days"],
  ["2592000", "30 days"],
  ["7776000", "90 days"],
  ["31536000", "1 year"],
];

/** What the create form was given, and what was wrong with it. */
interface CreateForm {
  readonly name: string;
  readonly access: "admin" | "stores";
  readonly grants: ReadonlyMap<string, GrantRow>;
  readonly ttl: string;
  readonly errors: Readonly<Record<string, string>>;
}

/** A token just made: its text is in this one response and nowhere else. */
interface Created {
  readonly view: TokenView;
  readonly token: string;
}

const EMPTY_FORM: CreateForm = {
  name: "",
  access: "stores",
  grants: new Map(),
  ttl: "7776000",
  errors: {},
};

/**
 * Tokens: every token with its access, last use and expiry; create one
 * (admin, or read/write per store, with an expiry) and see it once with a
 * copy button; revoke one. Through the admin plane, audited as gRPC calls.
 */
export const tokensPage: DashboardPage = {
  path: PATH,
  get: {
    method: ADMIN_METHODS.listTokens,
    async run(deps, context) {
      return render(deps, context, 200, EMPTY_FORM, undefined, noticeOf(context));
    },
  },
  post: {
    method: ADMIN_METHODS.createToken,
    async run(deps, context) {
      const form = readCreateForm(context.form);
      let created: Created;
      try {
        const ttl = parseTtl(form.ttl);
        const made = await deps.audit.write(
          context.facts,
          ADMIN_METHODS.createToken,
          null,
          (audited) =>
            deps.vault().admin.createToken(
              context.session.caller,
              {
                name: form.name,
                admin: form.access === "admin",
                grants: [...form.grants.values()],
                ttl,
              },
              audited,
            ),
        );
        created = { view: made.view, token: made.token };
      } catch (error) {
        const message = messageOf(error, context.facts.requestId);
        const key = FIELDS[fieldOf(error) ?? ""] ?? (form.access === "admin" ? "access" : "grants");
        const wrongField = isFormError(error);
        if (!wrongField) {
          return render(deps, context, statusOf(error), form, undefined, {
            text: message,
            bad: true,
          });
        }
        return render(deps, context, statusOf(error), { ...form, errors: { [key]: message } });
      }
      return render(deps, context, 200, EMPTY_FORM, created);
    },
  },
};

/** Revoking a token: the admin plane's RevokeToken. */
export const revokeTokenPage: DashboardPage = {
  path: `${PATH}/revoke`,
  post: {
    method: ADMIN_METHODS.revokeToken,
    async run(deps, context) {
      const tokenId = context.form.get("tokenId") ?? "";
      try {
        await deps.audit.write(context.facts, ADMIN_METHODS.revokeToken, null, (audited) =>
          deps.vault().admin.revokeToken(context.session.caller, tokenId, audited),
        );
      } catch (error) {
        return render(deps, context, statusOf(error), EMPTY_FORM, undefined, {
          text: messageOf(error, context.facts.requestId),
          bad: true,
        });
      }
      return { kind: "redirect", location: `${PATH}?revoked=${encodeURIComponent(tokenId)}` };
    },
  },
};

/** The vault's field names → the form's. */
const FIELDS: Readonly<Record<string, string>> = Object.freeze({
  name: "name",
  ttl: "ttl",
  grants: "grants",
});

/** Whether a refusal is about what was typed (shown at a field) rather than the server's state. */
function isFormError(error: unknown): boolean {
  const status = statusOf(error);
  return status === 400;
}

function readCreateForm(form: URLSearchParams): CreateForm {
  const grants = new Map<string, GrantRow>();
  for (const spec of form.getAll("grant")) {
    const colon = spec.lastIndexOf(":");
    const storeId = spec.slice(0, colon);
    const access = spec.slice(colon + 1);
    if (colon < 0 || (access !== "read" && access !== "write")) continue;
    const grant = grants.get(storeId) ?? { storeId, read: false, write: false };
    grants.set(storeId, { ...grant, [access]: true });
  }
  return {
    name: form.get("name") ?? "",
    access: form.get("access") === "admin" ? "admin" : "stores",
    grants,
    ttl: form.get("ttl") ?? "",
    errors: {},
  };
}

function parseTtl(text: string): { seconds: bigint; nanos: number } | undefined {
  if (text === "") return undefined;
  if (!/^\d{1,10}$/.test(text)) {
    throw new VaultError(
      "INVALID_ARGUMENT",
      `"ttl" must be a number of seconds, got ${JSON.stringify(text.slice(0, 40))}`,
      {
        metadata: { field: "ttl" },
      },
    );
  }
  return { seconds: BigInt(text), nanos: 0 };
}

function noticeOf(context: PageContext): Notice | undefined {
  const revoked = context.query.get("revoked");
  if (revoked !== null && /^[0-9a-f]{16}$/.test(revoked)) {
    return { text: `Revoked token ${revoked}: calls made with it fail from now on.` };
  }
  return undefined;
}

async function render(
  deps: PageDeps,
  context: PageContext,
  status: number,
  form: CreateForm,
  created?: Created,
  notice?: Notice,
): Promise<PageResult> {
  const all = context.query.get("all") === "1";
  const caller = context.session.caller;
  const [tokens, stores] = await Promise.all([
    deps.audit.read(context.facts, ADMIN_METHODS.listTokens, null, () =>
      deps.vault().admin.listTokens(caller, all),
    ),
    deps.audit.read(context.facts, ADMIN_METHODS.listStores, null, () =>
      deps.vault().admin.listStores(caller),
    ),
  ]);
  const csrf = context.session.keys.csrf;
  const storeIds = stores.map((s) => s.id);
  const now = Date.now();
  const content = html`<h1>Tokens</h1>
<p class="lede">Access tokens for services and operators. Only a hash of each is stored: a token is shown once, when it is made.</p>
${created === undefined ? "" : createdPanel(created)}
<section class="card" aria-labelledby="create-heading">
<h2 id="create-heading">Create a token</h2>
<form method="post" action="${PATH}" novalidate data-token-form>
<input type="hidden" name="csrf" value="${csrf}">
${field({
  id: "token-name",
  name: "name",
  label: "Name",
  value: form.name,
  required: true,
  autocomplete: "off",
  hint: "For operators: which service or person uses it, e.g. github-sync.",
  error: form.errors.name,
})}
<fieldset${form.errors.access === undefined ? "" : html` aria-describedby="token-access-error"`}>
<legend>Access</legend>
<div class="choice"><input type="radio" id="access-stores" name="access" value="stores"${form.access === "stores" ? html` checked` : ""}><label for="access-stores">Read or write chosen stores</label></div>
<div class="choice"><input type="radio" id="access-admin" name="access" value="admin"${form.access === "admin" ? html` checked` : ""}><label for="access-admin">Admin: every store, and stores and tokens themselves</label></div>
${fieldError("token-access", form.errors.access)}
</fieldset>
<fieldset data-grants${form.errors.grants === undefined ? "" : html` aria-describedby="token-grants-error"`}>
<legend>Stores this token may use</legend>
${
  storeIds.length === 0
    ? html`<p class="hint">No stores yet: create one on the Stores page first.</p>`
    : html`<div class="scroll"><table>
<thead><tr><th scope="col">Store</th><th scope="col">Read</th><th scope="col">Write</th></tr></thead>
<tbody>${storeIds.map((id) => grantRow(id, form.grants.get(id)))}</tbody></table></div>`
}
${fieldError("token-grants", form.errors.grants)}
</fieldset>
<div class="field">
<label for="token-ttl">Expires after</label>
<select id="token-ttl" name="ttl"${form.errors.ttl === undefined ? "" : html` aria-invalid="true" aria-describedby="token-ttl-error"`}>
${LIFETIMES.map(([value, label]) => html`<option value="${value}"${value === form.ttl ? html` selected` : ""}>${label}</option>`)}
</select>
${fieldError("token-ttl", form.errors.ttl)}
</div>
<button type="submit">Create token</button>
</form>
</section>
<section aria-labelledby="list-heading">
<div class="row"><h2 id="list-heading">${all ? "Every token" : "Tokens in use"}</h2>
<a href="${PATH}${all ? "" : "?all=1"}">${all ? "Hide revoked tokens" : "Show revoked tokens too"}</a></div>
<div class="scroll"><table>
<thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Access</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span class="hint">Action</span></th></tr></thead>
<tbody>${tokens.map((t) => tokenRow(t, now, csrf, caller.tokenId))}</tbody>
</table></div>
${tokens.length === 0 ? html`<p class="hint">No tokens.</p>` : ""}
</section>`;
  return { kind: "page", status, title: "Tokens", content, notice };
}

function grantRow(storeId: string, grant: GrantRow | undefined): Html {
  const box = (access: "read" | "write") =>
    html`<input type="checkbox" id="grant-${storeId}-${access}" name="grant" value="${storeId}:${access}"${grant?.[access] === true ? html` checked` : ""}><label for="grant-${storeId}-${access}" class="hint"> ${access} ${storeId}</label>`;
  return html`<tr><th scope="row" class="mono">${storeId}</th><td>${box("read")}</td><td>${box("write")}</td></tr>`;
}

function createdPanel(created: Created): Html {
  const v = created.view;
  return html`<section class="card notice" role="status" aria-labelledby="created-heading">
<h2 id="created-heading">Token "${v.name}" created: copy it now</h2>
<p>It is shown this once and never stored: only its hash is. ${access(v)}${v.expiresAt === null ? "" : `, expires ${formatTime(v.expiresAt)}`}.</p>
<div class="field">
<label for="new-token">The token</label>
<input id="new-token" type="text" readonly value="${created.token}" class="mono" autocomplete="off" spellcheck="false">
</div>
<button type="button" data-copy="new-token" hidden>Copy token</button>
<p class="hint">Give it to the service as <code>HEXCLAVE_TOKEN</code>.</p>
</section>`;
}

function tokenRow(t: TokenView, now: number, csrf: string, mine: string): Html {
  const state =
    t.revokedAt !== null
      ? html`<span class="badge bad">revoked ${formatTime(t.revokedAt)}</span>`
      : t.expiresAt !== null && t.expiresAt <= now
        ? html`<span class="badge warn">expired</span>`
        : html`<span class="badge ok">active</span>`;
  return html`<tr>
<td>${t.name}${t.id === mine ? html` <span class="badge">this session</span>` : ""}</td>
<td class="mono">${t.id}</td>
<td>${access(t)}</td>
<td>${formatTime(t.createdAt)}</td>
<td>${t.lastUsedAt === null ? "never" : html`<time datetime="${new Date(t.lastUsedAt).toISOString()}" title="${formatTime(t.lastUsedAt)}">${formatSpan(now - t.lastUsedAt)} ago</time>`}</td>
<td>${t.expiresAt === null ? "never" : formatTime(t.expiresAt)}</td>
<td>${state}</td>
<td>${
    t.revokedAt !== null
      ? ""
      : html`<details><summary>Revoke…</summary>
<form method="post" action="${PATH}/revoke">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="tokenId" value="${t.id}">
<p class="hint">Calls made with "${t.name}" fail from the moment it is revoked.</p>
<button type="submit" class="danger">Revoke ${t.name}</button>
</form></details>`
  }</td>
</tr>`;
}

function access(t: TokenView): string {
  if (t.admin) return "admin";
  return t.grants
    .map((g) => `${g.storeId}:${g.read && g.write ? "read+write" : g.read ? "read" : "write"}`)
    .join(", ");
}
