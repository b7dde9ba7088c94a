import type { Context, MiddlewareHandler } from "hono";
import { VerifydError } from "../../core/errors.js";
import type { Limiter, LimitState } from "../../core/ports.js";
import type { AppEnv } from "../context.js";

/** RateLimit-Policy / RateLimit fields (draft-ietf-httpapi-ratelimit-headers). */
export function rateLimitHeaders(state: LimitState): Record<string, string> {
  const windowS = Math.max(1, Math.round(state.windowMs / 1000));
  return {
    "ratelimit-policy": `"${state.rule}";q=${state.limit};w=${windowS}`,
    ratelimit: `"${state.rule}";r=${state.remaining};t=${Math.max(0, Math.ceil(state.resetMs / 1000))}`,
  };
}

/** Counts every authenticated request against its API key. */
export function limitPerKey(limiter: Limiter): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const state = await limiter.consume("requests_per_key", c.get("principal").key.id);
    if (!state.allowed) {
      throw new VerifydError(
        "rate_limited",
        `this API key may make ${state.limit} requests per ${Math.round(state.windowMs / 1000)} s`,
        {
          retryAfterMs: state.resetMs,
          limit: state,
        },
      );
    }
    await next();
    // A refusal by a narrower limit already carries that limit's fields; they are the ones that matter.
    if (c.res.headers.has("ratelimit")) return;
    for (const [name, value] of Object.entries(rateLimitHeaders(state))) c.res.headers.set(name, value);
  };
}

/**
 * The end user's IP: the body's `client_ip` first (the integrator knows it; a sidecar's TCP peer is
 * the login service), else `X-Forwarded-For` when verifyd sits behind `hops` trusted proxies.
 * Otherwise null, and per-IP limits do not apply.
 */
export function clientIpOf(c: Context, bodyIp: string | undefined, hops: number): string | null {
  if (bodyIp) return bodyIp;
  if (hops <= 0) return null;
  const chain = (c.req.header("x-forwarded-for") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return chain[chain.length - hops] ?? null;
}
