import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Storage } from "../../vault/storage-port.js";
import type { Vault } from "../../vault/vault.js";
import { isVaultError, VaultError } from "../../vault/vault-error.js";
import type { HttpContext, HttpRoute } from "../http/http-routes.js";
import type { Auditor } from "../interceptors/audit-calls.js";
import { answerGather, gatherFromGroup } from "../metrics/cluster-gather.js";
import { tokenIdOf } from "../token-id.js";
import { ActivityHistory, type ActivityRecord } from "./activity-history.js";
import { assetRoutes } from "./dashboard-assets.js";
import { DASHBOARD_METHODS, DashboardAudit, type RequestFacts } from "./dashboard-audit.js";
import {
  crossSiteRefusal,
  peerOf,
  RefusedRequest,
  readCookie,
  readForm,
  redirect,
  sendHtml,
} from "./dashboard-http.js";
import {
  type DashboardPage,
  messageOf,
  type PageAction,
  type PageDeps,
  type PageResult,
  type ServerFacts,
  statusOf,
} from "./dashboard-page.js";
import { DashboardSessions, SESSION_LIFETIME_MS, type Session } from "./dashboard-sessions.js";
import { html } from "./html.js";
import { layout, PAGES } from "./layout.js";
import { activityChartsFragment, activityPage } from "./pages/activity-page.js";
import { healthPage } from "./pages/health-page.js";
import { signInContent } from "./pages/sign-in-page.js";
import { deleteStorePage, storesPage } from "./pages/stores-page.js";
import { revokeTokenPage, tokensPage } from "./pages/tokens-page.js";
import { sameCsrf } from "./session-secret.js";

/** What the dashboard is given by the server it runs in. */
export interface DashboardOptions {
  readonly vault: () => Vault | undefined;
  readonly storage: () => Storage | undefined;
  /** The audit sink; undefined with `--audit off` (and while the server starts). */
  readonly auditor: () => Auditor | undefined;
  /** The server's metrics registry: the Activity charts read it. */
  readonly registry: Registry;
  readonly server: ServerFacts;
  readonly log: Logger;
}

const SIGN_IN = "/dashboard/sign-in";
const HOME = PAGES[0].path;
const GROUP_TOPIC = "dashboard-activity";

/**
 * The dashboard's routes on the HTTP listener (`--dashboard`): server-made
 * pages under /dashboard/ (docs/dashboard.md). Every request but the sign-in
 * and the static assets needs a session (dashboard-sessions.ts); every form
 * post must come from the dashboard's own pages (Origin / Sec-Fetch-Site)
 * and carry its session's CSRF token; every page is sent under a strict CSP.
 * What a page does goes through the vault's admin plane and the audit log,
 * exactly as the gRPC admin calls do.
 *
 * @example
 * serveHttpEndpoints({ ..., routes: config.dashboard ? dashboardRoutes({ vault: () => vault, … }) : [] });
 */
export function dashboardRoutes(options: DashboardOptions): HttpRoute[] {
  const { log, server } = options;
  const sessions = new DashboardSessions({
    storage: options.storage,
    authenticate: (authorization) => vaultOf(options).authenticator.authenticate(authorization),
  });
  const audit = new DashboardAudit(options.auditor);
  const history = new ActivityHistory(options.registry);
  history.start();
  server.health.onClose(() => history.stop());
  if (server.inGroup) answerGather(GROUP_TOPIC, () => history.record());
  const deps: PageDeps = {
    vault: () => vaultOf(options),
    reads: () => storageOf(options).reads,
    audit,
    server,
    log,
    activity: async () =>
      server.inGroup
        ? ((await gatherFromGroup(GROUP_TOPIC)) as ActivityRecord[])
        : [history.record()],
  };
  const cookie = sessionCookie(server.tls);

  const refuse = (response: ServerResponse, status: number, message: string): void => {
    sendHtml(
      response,
      status,
      layout(
        { title: "Refused", current: "", csrf: undefined },
        html`<h1>Refused</h1><p class="notice bad">${message}</p><p><a href="${HOME}">Back to the dashboard</a></p>`,
      ),
    );
  };

  const showSignIn = (
    response: ServerResponse,
    status: number,
    error: string | undefined,
    notice?: string,
    cookies: readonly string[] = [],
  ): void => {
    sendHtml(
      response,
      status,
      layout(
        {
          title: "Sign in",
          current: SIGN_IN,
          csrf: undefined,
          notice: notice === undefined ? undefined : { text: notice },
        },
        signInContent({ error }),
      ),
      cookies,
    );
  };

  /** Runs one page action for a signed-in request: the session, the CSRF token, the page. */
  const serve = async (
    action: PageAction,
    request: IncomingMessage,
    response: ServerResponse,
    context: HttpContext,
    post: boolean,
  ): Promise<void> => {
    const facts: RequestFacts = {
      requestId: context.requestId,
      peer: peerOf(request),
      tokenId: null,
    };
    let form = new URLSearchParams();
    if (post) {
      const refusal = crossSiteRefusal(request);
      if (refusal !== undefined) {
        log.warn(
          { requestId: context.requestId, path: context.path },
          "dashboard: cross-site request refused",
        );
        request.resume();
        return refuse(response, 403, refusal);
      }
      form = await readForm(request);
    }
    const resumed = await sessions.resume(readCookie(request, cookie.name));
    if (resumed.state === "refused") {
      // The token behind the session no longer works: refused as a gRPC call would be.
      if (action.method !== undefined) {
        await audit.refused(
          { ...facts, tokenId: resumed.tokenId },
          action.method,
          null,
          resumed.error,
        );
      }
      return showSignIn(response, 401, messageOf(resumed.error, context.requestId), undefined, [
        cookie.clear,
      ]);
    }
    if (resumed.state === "none") {
      if (!post) return redirect(response, SIGN_IN);
      return showSignIn(response, 401, undefined, "Your session has ended: sign in again.", [
        cookie.clear,
      ]);
    }
    const session = resumed.session;
    if (post && !sameCsrf(form.get("csrf"), session.keys.csrf)) {
      log.warn(
        { requestId: context.requestId, path: context.path },
        "dashboard: form without its session's CSRF token refused",
      );
      return refuse(
        response,
        403,
        "refused a form without this session's CSRF token: reload the page and try again",
      );
    }
    const signedIn = { ...facts, tokenId: session.caller.tokenId };
    let result: PageResult;
    try {
      result = await action.run(deps, { session, facts: signedIn, query: context.query, form });
    } catch (error) {
      if (!isVaultError(error)) throw error;
      result = {
        kind: "page",
        status: statusOf(error),
        title: "Error",
        content: html`<h1>Not done</h1><p class="notice bad" role="alert">${messageOf(error, context.requestId)}</p>`,
      };
    }
    respond(response, result, session, context.path);
  };

  const pageRoutes = (page: DashboardPage): HttpRoute[] => {
    const routes: HttpRoute[] = [];
    const { get, post } = page;
    if (get !== undefined) {
      routes.push({
        method: "GET",
        path: page.path,
        handle: (q, r, c) => guard(r, c, () => serve(get, q, r, c, false)),
      });
    }
    if (post !== undefined) {
      routes.push({
        method: "POST",
        path: page.path,
        handle: (q, r, c) => guard(r, c, () => serve(post, q, r, c, true)),
      });
    }
    return routes;
  };

  /** Turns refused request bodies and storage outages into pages; anything else is the router's 500. */
  const guard = async (
    response: ServerResponse,
    context: HttpContext,
    run: () => Promise<void>,
  ): Promise<void> => {
    try {
      await run();
    } catch (error) {
      if (error instanceof RefusedRequest) return refuse(response, error.status, error.message);
      if (isVaultError(error) && statusOf(error) === 503) {
        return refuse(response, 503, messageOf(error, context.requestId));
      }
      throw error;
    }
  };

  return [
    ...assetRoutes(),
    { method: "GET", path: "/", handle: (_q, r) => redirect(r, HOME) },
    { method: "GET", path: "/dashboard", handle: (_q, r) => redirect(r, HOME) },
    { method: "GET", path: "/dashboard/", handle: (_q, r) => redirect(r, HOME) },
    {
      method: "GET",
      path: SIGN_IN,
      handle: (request, response, context) =>
        guard(response, context, async () => {
          const resumed = await sessions
            .resume(readCookie(request, cookie.name))
            .catch(() => ({ state: "none" }) as const);
          if (resumed.state === "open") return redirect(response, HOME);
          const notice = context.query.get("signed-out") === "1" ? "Signed out." : undefined;
          showSignIn(response, 200, undefined, notice);
        }),
    },
    {
      method: "POST",
      path: SIGN_IN,
      handle: (request, response, context) =>
        guard(response, context, async () => {
          const refusal = crossSiteRefusal(request);
          if (refusal !== undefined) {
            request.resume();
            return refuse(response, 403, refusal);
          }
          const token = ((await readForm(request)).get("token") ?? "").trim();
          const facts: RequestFacts = {
            requestId: context.requestId,
            peer: peerOf(request),
            tokenId: tokenIdOf(`Bearer ${token}`) ?? null,
          };
          let session: Session;
          try {
            const caller = await sessions.check(token);
            session = await audit.write(
              { ...facts, tokenId: caller.tokenId },
              DASHBOARD_METHODS.signIn,
              null,
              (audited) => sessions.open(token, caller, audited),
            );
          } catch (error) {
            if (!isVaultError(error) || statusOf(error) === 503 || statusOf(error) === 500)
              throw error;
            await audit.refused(facts, DASHBOARD_METHODS.signIn, null, error);
            return showSignIn(response, statusOf(error), messageOf(error, context.requestId));
          }
          redirect(response, HOME, [cookie.set(session.id)]);
        }),
    },
    {
      method: "POST",
      path: "/dashboard/sign-out",
      handle: (request, response, context) =>
        guard(response, context, () =>
          serve(
            {
              method: DASHBOARD_METHODS.signOut,
              async run(_deps, page) {
                await audit.write(page.facts, DASHBOARD_METHODS.signOut, null, (audited) =>
                  sessions.end(page.session.id, audited),
                );
                return { kind: "redirect", location: `${SIGN_IN}?signed-out=1` };
              },
            },
            request,
            response,
            context,
            true,
          ),
        ),
    },
    ...[
      storesPage,
      deleteStorePage,
      tokensPage,
      revokeTokenPage,
      activityPage,
      activityChartsFragment,
      healthPage,
    ].flatMap(pageRoutes),
  ];

  function respond(
    response: ServerResponse,
    result: PageResult,
    session: Session,
    path: string,
  ): void {
    switch (result.kind) {
      case "redirect":
        // Signing out clears the cookie; every other redirect keeps it.
        redirect(response, result.location, path === "/dashboard/sign-out" ? [cookie.clear] : []);
        return;
      case "fragment":
        sendHtml(response, 200, result.content);
        return;
      case "page":
        sendHtml(
          response,
          result.status ?? 200,
          layout(
            { title: result.title, current: path, csrf: session.keys.csrf, notice: result.notice },
            result.content,
          ),
        );
    }
  }
}

/** The session cookie: HttpOnly, SameSite=Strict, for the whole host; Secure (and __Host-) under TLS. */
function sessionCookie(tls: boolean): { name: string; set(id: string): string; clear: string } {
  const name = tls ? "__Host-hexclave-session" : "hexclave-session";
  const flags = `Path=/; HttpOnly; SameSite=Strict${tls ? "; Secure" : ""}`;
  return {
    name,
    set: (id) => `${name}=${id}; ${flags}; Max-Age=${SESSION_LIFETIME_MS / 1000}`,
    clear: `${name}=; ${flags}; Max-Age=0`,
  };
}

function vaultOf(options: DashboardOptions): Vault {
  const vault = options.vault();
  if (vault === undefined) throw starting();
  return vault;
}

function storageOf(options: DashboardOptions): Storage {
  const storage = options.storage();
  if (storage === undefined) throw starting();
  return storage;
}

function starting(): VaultError {
  return new VaultError(
    "STORAGE_UNAVAILABLE",
    "the server is starting and cannot reach its database yet: retry shortly",
  );
}
