import { createPrivateKey, type KeyObject, sign } from "node:crypto";
import type { Clock } from "../core/ports.js";
import type { ProviderError } from "../core/sender.js";
import { callProvider } from "./http-client.js";

/**
 * OAuth2 access tokens for a Google service account (JWT bearer grant, RFC 7523), as Google's
 * client libraries do it: an RS256 JWT signed with the key file's private key is exchanged at the
 * token URI for a short-lived bearer token, which is cached until shortly before it expires.
 */

export const RBM_SCOPE = "https://www.googleapis.com/auth/rcsbusinessmessaging";
const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** Google accepts assertions valid for at most an hour. */
const ASSERTION_LIFETIME_S = 3600;
/** Refresh this long before the token's own expiry, so a send never carries a token that lapses in flight. */
const REFRESH_MARGIN_MS = 60_000;

export interface ServiceAccountKey {
  clientEmail: string;
  /** PEM, as `private_key` in the key file. */
  privateKey: string;
  tokenUri: string;
}

/** A token, or why there is none, already classed the way a send would class it. */
export type TokenOutcome =
  | { kind: "token"; accessToken: string }
  | { kind: "retry"; error: ProviderError }
  | { kind: "misconfigured"; error: ProviderError };

export interface AccessTokens {
  /** A cached token, or a fresh one; concurrent callers share one request to the token endpoint. */
  get(signal: AbortSignal): Promise<TokenOutcome>;
  /** Forgets `accessToken` after the API refused it (401), unless a newer token already replaced it. */
  invalidate(accessToken: string): void;
}

export function createAccessTokens(options: { key: ServiceAccountKey; clock: Clock; timeoutMs: number }): AccessTokens {
  const { key, clock, timeoutMs } = options;
  const privateKey = createPrivateKey(key.privateKey);
  let cached: { accessToken: string; refreshAt: number } | null = null;
  let inFlight: Promise<TokenOutcome> | null = null;

  const fetchToken = async (): Promise<TokenOutcome> => {
    const issuedAt = clock.now();
    const assertion = signAssertion(key, privateKey, issuedAt);
    const body = new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion });
    // Not tied to any one caller's signal: other sends may be waiting on this same request.
    const response = await callProvider({ url: key.tokenUri, body, timeoutMs, signal: new AbortController().signal });
    if (response.kind === "unreachable") return { kind: "retry", error: response.error };
    const json = (response.json ?? {}) as { access_token?: unknown; expires_in?: unknown; error?: unknown };
    if (response.ok && typeof json.access_token === "string" && typeof json.expires_in === "number") {
      const lifetimeMs = json.expires_in * 1000;
      const refreshAt = issuedAt + lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2);
      cached = { accessToken: json.access_token, refreshAt };
      return { kind: "token", accessToken: json.access_token };
    }
    // OAuth errors are `{"error":"invalid_grant","error_description":"…"}` (RFC 6749 §5.2).
    const error = {
      code: typeof json.error === "string" ? json.error : `token_http_${response.status}`,
      message: `token endpoint answered ${response.status}`,
    };
    // A bad key, a deleted service account or a clock far off: a new assertion will not fare better.
    if (response.status >= 300 && response.status < 500 && response.status !== 408 && response.status !== 429) {
      return { kind: "misconfigured", error };
    }
    return { kind: "retry", error };
  };

  return {
    async get(signal) {
      if (signal.aborted) return aborted();
      if (cached && clock.now() < cached.refreshAt) return { kind: "token", accessToken: cached.accessToken };
      inFlight ??= fetchToken()
        .catch((err: Error): TokenOutcome => ({ kind: "retry", error: { code: "token_error", message: err.message } }))
        .finally(() => {
          inFlight = null;
        });
      return untilAborted(inFlight, signal);
    },
    invalidate(accessToken) {
      if (cached?.accessToken === accessToken) cached = null;
    },
  };
}

function signAssertion(key: ServiceAccountKey, privateKey: KeyObject, now: number): string {
  const iat = Math.floor(now / 1000);
  const header = { alg: "RS256", typ: "JWT" };
  const claims = { iss: key.clientEmail, scope: RBM_SCOPE, aud: key.tokenUri, iat, exp: iat + ASSERTION_LIFETIME_S };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign("sha256", Buffer.from(input), privateKey);
  return `${input}.${signature.toString("base64url")}`;
}

function base64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}

function aborted(): TokenOutcome {
  return { kind: "retry", error: { code: "aborted", message: "aborted while waiting for an access token" } };
}

/** Lets one waiter give up (shutdown) without cancelling the shared token request for the others. */
function untilAborted(pending: Promise<TokenOutcome>, signal: AbortSignal): Promise<TokenOutcome> {
  return new Promise((resolve) => {
    const onAbort = () => resolve(aborted());
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then((outcome) => {
      signal.removeEventListener("abort", onAbort);
      resolve(outcome);
    });
  });
}
