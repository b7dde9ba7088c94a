import type { MiddlewareHandler } from "hono";
import { hashApiKey, sameDigest } from "../../core/api-keys.js";
import { VerifydError } from "../../core/errors.js";
import type { VerificationPolicy } from "../../core/model.js";
import type { Clock } from "../../core/ports.js";
import { DEFAULT_SERVICE_ID, resolveService } from "../../core/services.js";
import type { Store } from "../../core/store/index.js";
import type { AppEnv, Principal } from "../context.js";

export interface AuthenticatorOptions {
  store: Store;
  clock: Clock;
  defaults: VerificationPolicy;
  /** The bootstrap admin key from the environment, if any. */
  adminKey?: string;
  /** How long a resolved key (and its service) is trusted before being read again. @default 5_000 */
  cacheMs?: number;
}

export type Authenticator = (bearer: string) => Promise<Principal | null>;

/**
 * Resolves a bearer token to its key and service. Results are cached briefly (revocation takes
 * effect within `cacheMs`) so the hot path costs one hash, not two queries.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { store, clock, defaults } = options;
  const cacheMs = options.cacheMs ?? 5_000;
  const envAdmin = options.adminKey ? hashApiKey(options.adminKey) : undefined;
  const cache = new Map<string, { principal: Principal | null; until: number }>();

  const serviceFor = async (serviceId: string) => {
    const record = await store.getService(serviceId);
    return record ? resolveService(record, defaults) : null;
  };

  return async (bearer) => {
    const digest = hashApiKey(bearer);
    const cacheKey = digest.toString("base64");
    const now = clock.now();
    const hit = cache.get(cacheKey);
    if (hit && hit.until > now) return hit.principal;

    let principal: Principal | null = null;
    if (envAdmin && sameDigest(digest, envAdmin)) {
      const service = await serviceFor(DEFAULT_SERVICE_ID);
      if (service)
        principal = { key: { id: "key_env_admin", serviceId: null, prefix: "env", revokedAt: null }, service, admin: true };
    } else {
      const key = await store.findApiKeyByHash(digest);
      if (key && key.revokedAt === null) {
        const service = await serviceFor(key.serviceId ?? DEFAULT_SERVICE_ID);
        if (service) principal = { key, service, admin: key.serviceId === null };
      }
    }
    if (cache.size > 10_000) cache.clear();
    cache.set(cacheKey, { principal, until: now + cacheMs });
    return principal;
  };
}

/** Requires `Authorization: Bearer <key>`; sets `principal` on the context. */
export function requireApiKey(authenticate: Authenticator): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S{1,256})\s*$/i.exec(header);
    if (!match?.[1]) throw new VerifydError("unauthorized", "send the API key as Authorization: Bearer <key>");
    const principal = await authenticate(match[1]);
    if (!principal) throw new VerifydError("unauthorized", "the API key is unknown or revoked");
    c.set("principal", principal);
    await next();
  };
}

/** Refuses keys of a service (403 `forbidden`): for what spans tenants, such as services and erasure. */
export function requireAdmin(what: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.get("principal").admin) throw new VerifydError("forbidden", what);
    await next();
  };
}
