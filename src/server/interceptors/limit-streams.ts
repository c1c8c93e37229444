import { VaultError } from "../../vault/vault-error.js";
import type { Interceptor } from "../call-pipeline.js";

/** Options for {@link limitStreams}. */
export interface StreamLimits {
  /** Streaming calls open at once with one token. Default 4. */
  readonly perToken?: number;
  /** Streaming calls open at once in the whole server. Default 64. */
  readonly total?: number;
}

/**
 * Caps the streaming calls (ListEntries) open at once, per token and in
 * total. A stream holds a page of entries in memory while its client reads,
 * so without a cap a few clients that never read could make the server hold
 * as much as they like. Past a cap the call is refused with
 * RESOURCE_EXHAUSTED / OVERLOADED; unary calls are not affected.
 *
 * @example
 * chain([observe, authenticate(a), limitStreams({ perToken: 4, total: 64 })], handler);
 */
export function limitStreams(limits: StreamLimits = {}): Interceptor {
  const perToken = limits.perToken ?? 4;
  const total = limits.total ?? 64;
  const open = new Map<string, number>();
  let all = 0;
  return (next) => async (call) => {
    if (call.method.kind !== "serverStream") return next(call);
    const token = call.caller?.tokenId ?? "";
    const mine = open.get(token) ?? 0;
    if (mine >= perToken || all >= total) {
      const which = mine >= perToken ? `${perToken} per token` : `${total} in all`;
      throw new VaultError(
        "OVERLOADED",
        `too many listings open at once (at most ${which}): finish or cancel one, then retry`,
        { metadata: { limit: which } },
      );
    }
    open.set(token, mine + 1);
    all += 1;
    try {
      return await next(call);
    } finally {
      all -= 1;
      const left = (open.get(token) ?? 1) - 1;
      if (left === 0) open.delete(token);
      else open.set(token, left);
    }
  };
}
