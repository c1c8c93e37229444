import { limits } from "../../../vault/limits.js";
import { VaultError } from "../../../vault/vault-error.js";
import type { StoreView } from "../../../vault/views.js";
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
import { formatBytes, formatTime } from "../format.js";
import { type Html, html } from "../html.js";
import { field, fieldError } from "../layout.js";

const PATH = "/dashboard/stores";

/** What the create form was given, and what was wrong with it. */
interface CreateForm {
  readonly values: Readonly<Record<string, string>>;
  readonly errors: Readonly<Record<string, string>>;
}

/** A delete that was refused, to show its form open with the error. */
interface DeleteAttempt {
  readonly storeId: string;
  readonly error: string;
}

/**
 * Stores: every store with its counts, the fingerprints of the secrets that
 * wrote to it, and how to use it; create one; delete one, after typing its
 * id. Every action is the admin plane's, recorded in the audit log as the
 * gRPC call would be.
 */
export const storesPage: DashboardPage = {
  path: PATH,
  get: {
    method: ADMIN_METHODS.listStores,
    async run(deps, context) {
      return render(deps, context, 200, { values: {}, errors: {} }, undefined, noticeOf(context));
    },
  },
  post: {
    method: ADMIN_METHODS.createStore,
    async run(deps, context) {
      const form = context.form;
      const values = {
        storeId: form.get("storeId") ?? "",
        description: form.get("description") ?? "",
        maxValueBytes: (form.get("maxValueBytes") ?? "").trim(),
      };
      try {
        const maxValueBytes = parseMaxValueBytes(values.maxValueBytes);
        await deps.audit.write(
          context.facts,
          ADMIN_METHODS.createStore,
          values.storeId,
          (audited) =>
            deps
              .vault()
              .admin.createStore(
                context.session.caller,
                { storeId: values.storeId, description: values.description, maxValueBytes },
                audited,
              ),
        );
      } catch (error) {
        const message = messageOf(error, context.facts.requestId);
        const key = FIELDS[fieldOf(error) ?? ""];
        if (key === undefined) {
          return render(deps, context, statusOf(error), { values, errors: {} }, undefined, {
            text: message,
            bad: true,
          });
        }
        return render(deps, context, statusOf(error), { values, errors: { [key]: message } });
      }
      return {
        kind: "redirect",
        location: `${PATH}?created=${encodeURIComponent(values.storeId)}`,
      };
    },
  },
};

/** Deleting a store: the typed confirmation, then the admin plane's DeleteStore. */
export const deleteStorePage: DashboardPage = {
  path: `${PATH}/delete`,
  post: {
    method: ADMIN_METHODS.deleteStore,
    async run(deps, context) {
      const storeId = context.form.get("storeId") ?? "";
      const confirm = context.form.get("confirm") ?? "";
      if (confirm !== storeId) {
        return render(
          deps,
          context,
          400,
          { values: {}, errors: {} },
          {
            storeId,
            error: `type the store id "${storeId}" exactly to confirm: its entries become unreadable for good`,
          },
        );
      }
      let deleted: number;
      try {
        ({ deletedEntryCount: deleted } = await deps.audit.write(
          context.facts,
          ADMIN_METHODS.deleteStore,
          storeId,
          (audited) => deps.vault().admin.deleteStore(context.session.caller, storeId, audited),
        ));
      } catch (error) {
        return render(
          deps,
          context,
          statusOf(error),
          { values: {}, errors: {} },
          {
            storeId,
            error: messageOf(error, context.facts.requestId),
          },
        );
      }
      return {
        kind: "redirect",
        location: `${PATH}?deleted=${encodeURIComponent(storeId)}&entries=${deleted}`,
      };
    },
  },
};

/** The vault's field names → the form's. */
const FIELDS: Readonly<Record<string, string>> = Object.freeze({
  store_id: "storeId",
  description: "description",
  max_value_bytes: "maxValueBytes",
});

function parseMaxValueBytes(text: string): bigint | undefined {
  if (text === "") return undefined;
  if (!/^\d{1,16}$/.test(text)) {
    throw new VaultError(
      "INVALID_ARGUMENT",
      `"max_value_bytes" must be a whole number of bytes from ${limits.minValueBytesLimit} to ${limits.maxValueBytesCeiling}, got ${JSON.stringify(text.slice(0, 40))}`,
      { metadata: { field: "max_value_bytes" } },
    );
  }
  return BigInt(text);
}

function noticeOf(context: PageContext): Notice | undefined {
  const created = context.query.get("created");
  if (created !== null && limits.storeIdPattern.test(created)) {
    return { text: `Created store "${created}".` };
  }
  const deleted = context.query.get("deleted");
  const entries = context.query.get("entries") ?? "0";
  if (deleted !== null && limits.storeIdPattern.test(deleted) && /^\d{1,12}$/.test(entries)) {
    return {
      text: `Deleted store "${deleted}": its key is destroyed, so its ${entries} entries can never be read again.`,
    };
  }
  return undefined;
}

async function render(
  deps: PageDeps,
  context: PageContext,
  status: number,
  create: CreateForm,
  deleting?: DeleteAttempt,
  notice?: Notice,
): Promise<PageResult> {
  const stores = await deps.audit.read(context.facts, ADMIN_METHODS.listStores, null, () =>
    deps.vault().admin.listStores(context.session.caller),
  );
  const csrf = context.session.keys.csrf;
  const address = deps.server.grpcAddress;
  // A refused delete of a store that is not listed (gone meanwhile, or a bad id) is said above.
  if (deleting !== undefined && !stores.some((s) => s.id === deleting.storeId)) {
    notice = { text: deleting.error, bad: true };
  }
  const content = html`<h1>Stores</h1>
<p class="lede">Each store has its own salt and data key. Values are sealed by your services before they arrive: nothing here can read them.</p>
<section class="card" aria-labelledby="create-heading">
<h2 id="create-heading">Create a store</h2>
<form method="post" action="${PATH}" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
${field({
  id: "store-id",
  name: "storeId",
  label: "Store id",
  value: create.values.storeId,
  required: true,
  autocomplete: "off",
  hint: 'Lowercase letters, digits, "_" and "-", at most 63 characters, e.g. oauth-tokens.',
  error: create.errors.storeId,
})}
${field({
  id: "store-description",
  name: "description",
  label: "Description (optional)",
  value: create.values.description,
  autocomplete: "off",
  hint: "Free text for operators, e.g. GitHub, Slack, Notion.",
  error: create.errors.description,
})}
${field({
  id: "store-max",
  name: "maxValueBytes",
  label: "Largest sealed value, in bytes (optional)",
  type: "number",
  value: create.values.maxValueBytes,
  hint: `${limits.minValueBytesLimit} to ${limits.maxValueBytesCeiling}; ${limits.defaultMaxValueBytes} if left empty.`,
  error: create.errors.maxValueBytes,
})}
<button type="submit">Create store</button>
</form>
</section>
<h2>${stores.length === 0 ? "No stores yet" : `${stores.length} ${stores.length === 1 ? "store" : "stores"}`}</h2>
<div class="cards">
${stores.map((s) => storeCard(s, csrf, address, deleting))}
</div>`;
  return { kind: "page", status, title: "Stores", content, notice };
}

function storeCard(
  store: StoreView,
  csrf: string,
  address: string,
  deleting: DeleteAttempt | undefined,
): Html {
  const id = store.id;
  const attempt = deleting?.storeId === id ? deleting : undefined;
  const secrets = store.secrets.length;
  const code = `const hexclave = new HexclaveClient({ address: ${JSON.stringify(address)}, token: process.env.HEXCLAVE_TOKEN });
const store = await hexclave.getDataVaultStore(${JSON.stringify(id)});`;
  const cli = `hexclave tokens create --name ${id}-backend --store ${id}`;
  return html`<article class="card" id="store-${id}" aria-labelledby="store-${id}-heading">
<h3 id="store-${id}-heading">${id}</h3>
${store.description === "" ? "" : html`<p class="desc">${store.description}</p>`}
<dl class="facts">
<dt>Entries</dt><dd>${store.entryCount}</dd>
<dt>Size</dt><dd>${formatBytes(store.totalValueBytes)}</dd>
<dt>Largest value</dt><dd>${formatBytes(store.maxValueBytes)}</dd>
<dt>Created</dt><dd><time datetime="${new Date(store.createdAt).toISOString()}">${formatTime(store.createdAt)}</time></dd>
</dl>
<h4>Secrets</h4>
${
  secrets === 0
    ? html`<p class="hint">None yet: the first write registers the secret that sealed it.</p>`
    : html`<div class="scroll"><table>
<caption class="hint">Fingerprints of the client secrets that wrote here (never the secrets)</caption>
<thead><tr><th scope="col">Fingerprint</th><th scope="col" class="num">Entries</th></tr></thead>
<tbody>${store.secrets.map(
        (x) =>
          html`<tr><td class="mono">${x.fingerprint.toString("hex")}</td><td class="num">${x.entryCount}</td></tr>`,
      )}</tbody></table></div>`
}
<h4>Use it</h4>
${snippet(`use-${id}`, code, `Code to open store ${id}`)}
<p class="hint">A token for the service that uses it (read and write; <code>${id}:read</code> for read only):</p>
${snippet(`cli-${id}`, cli, `CLI line for a token scoped to ${id}`)}
<details class="danger-zone"${attempt === undefined ? "" : html` open`}>
<summary>Delete store ${id}…</summary>
<form method="post" action="${PATH}/delete" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="storeId" value="${id}">
<p class="warning" id="delete-${id}-what">Deleting <strong>${id}</strong> destroys its data key at once: its ${store.entryCount} ${store.entryCount === 1 ? "entry" : "entries"} (${formatBytes(store.totalValueBytes)}), sealed under ${secrets} ${secrets === 1 ? "secret" : "secrets"}, can never be read again, by anyone, and are then purged. Tokens granting this store keep their grant but find nothing. This cannot be undone.</p>
<div class="field">
<label for="delete-${id}-confirm">Type <kbd>${id}</kbd> to confirm</label>
<input id="delete-${id}-confirm" name="confirm" type="text" autocomplete="off" spellcheck="false" data-must-equal="${id}" aria-describedby="delete-${id}-what${attempt === undefined ? "" : html` delete-${id}-confirm-error`}"${attempt === undefined ? "" : html` aria-invalid="true" autofocus`}>
${fieldError(`delete-${id}-confirm`, attempt?.error)}
</div>
<button type="submit" class="danger">Delete store ${id} for good</button>
</form>
</details>
</article>`;
}

function snippet(id: string, text: string, label: string): Html {
  return html`<div class="snippet"><pre><code id="${id}" aria-label="${label}">${text}</code></pre><button type="button" class="secondary" data-copy="${id}" hidden>Copy</button></div>`;
}
