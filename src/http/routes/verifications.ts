import { createHash } from "node:crypto";
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { InboundNumber } from "../../config/env.js";
import { VerifydError } from "../../core/errors.js";
import { INBOUND_KEYWORD, type InboundService } from "../../core/inbound.js";
import type { ChangeNotifier } from "../../core/notifier.js";
import type { Clock, Delivery, Service, Store, Verification } from "../../core/ports.js";
import { type CheckOutcome, effectiveStatus, nextResendAt, type VerificationService } from "../../core/verification.js";
import type { AppEnv } from "../context.js";
import { inboundInstructions } from "../inbound-links.js";
import { clientIpOf } from "../middleware/limits.js";
import { json, problems, security } from "../openapi.js";
import {
  CheckBody,
  CheckByToBody,
  CheckResult,
  ClientIpBody,
  IdParam,
  StartBody,
  VerificationView,
  WaitQuery,
} from "../schemas.js";
import { validationHook } from "../validation.js";

export interface VerificationRoutesDeps {
  verifications: VerificationService;
  store: Store;
  clock: Clock;
  trustProxyHops: number;
  /** Person-to-application verification; without it `channel: inbound` answers 503. */
  inbound?: InboundService;
  inboundNumbers?: readonly InboundNumber[];
  /** Wakes long-polling reads (`?wait=`) when a verification changes. */
  notifier?: ChangeNotifier;
}

/** The longest a read may be held open (`?wait=`). */
const MAX_WAIT_MS = 30_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toView(v: Verification, service: Service, now: number, deliveries?: Delivery[]) {
  const status = effectiveStatus(v, now);
  const inbound = !!v.inboundChannels;
  return {
    id: v.id,
    to: v.to === "" ? null : v.to,
    country: v.country,
    status,
    channel: inbound ? "inbound" : (v.route[v.currentStep]?.channel ?? null),
    send_attempts: v.sends,
    max_sends: v.maxSends,
    check_attempts: v.checks,
    attempts_remaining: status === "pending" && !inbound ? Math.max(0, v.maxChecks - v.checks) : 0,
    created_at: iso(v.createdAt) as string,
    updated_at: iso(v.updatedAt) as string,
    expires_at: iso(v.expiresAt) as string,
    next_resend_at: iso(nextResendAt(v, service, now)),
    approved_at: iso(v.approvedAt),
    locale: v.locale ?? null,
    ...(v.transaction ? { amount: v.transaction.amount, payee: v.transaction.payee } : {}),
    ...(v.test ? { test: true as const } : {}),
    ...(inbound ? { verified_number: v.verifiedNumber ?? null } : {}),
    ...(deliveries
      ? {
          deliveries: deliveries.map((d) => ({
            id: d.id,
            step: d.step,
            channel: d.channel,
            provider: d.provider,
            status: d.status,
            error_code: d.errorCode,
            error_message: d.errorMessage,
            tries: d.tries,
            created_at: iso(d.createdAt) as string,
            updated_at: iso(d.updatedAt) as string,
          })),
        }
      : {}),
  };
}

const checkView = (o: CheckOutcome) => ({
  valid: o.valid,
  status: o.status,
  reason: o.reason,
  attempts_remaining: o.attemptsRemaining,
  verification_id: o.verification?.id ?? null,
  ...(o.verification?.test ? { test: true as const } : {}),
});

/** The payment a request binds or presents, when it names one (the schemas require both fields together). */
const transactionOf = (b: { amount?: string; payee?: string }) =>
  b.amount !== undefined && b.payee !== undefined ? { amount: b.amount, payee: b.payee } : null;

const startRoute = createRoute({
  method: "post",
  path: "/",
  summary: "Start a verification (or resend the live one for the same number)",
  description: "Send an `Idempotency-Key` header to make retries safe: the same key and body replay the first answer.",
  security,
  request: { body: { content: { "application/json": { schema: StartBody } }, required: true } },
  responses: { 201: json(VerificationView, "Started; the code is on its way"), ...problems(400, 401, 409, 422, 429, 503) },
});
const getRoute = createRoute({
  method: "get",
  path: "/{id}",
  summary: "Read a verification and its deliveries",
  description:
    "With `?wait=N` (at most 30 s), a pending verification's answer is held until its status changes or N seconds pass.",
  security,
  request: { params: IdParam, query: WaitQuery },
  responses: { 200: json(VerificationView, "The verification"), ...problems(401, 404) },
});
const checkRoute = createRoute({
  method: "post",
  path: "/{id}/check",
  summary: "Check a code",
  description: "Every well-formed check answers 200: `valid` says whether it approved, `reason` why not.",
  security,
  request: { params: IdParam, body: { content: { "application/json": { schema: CheckBody } }, required: true } },
  responses: { 200: json(CheckResult, "The outcome"), ...problems(400, 401, 429) },
});
const resendRoute = createRoute({
  method: "post",
  path: "/{id}/resend",
  summary: "Send the code again (same code, or a new one under the `new` resend policy)",
  security,
  request: { params: IdParam, body: { content: { "application/json": { schema: ClientIpBody } }, required: false } },
  responses: { 200: json(VerificationView, "Resent"), ...problems(401, 404, 409, 429) },
});
const cancelRoute = createRoute({
  method: "post",
  path: "/{id}/cancel",
  summary: "Cancel a pending verification",
  security,
  request: { params: IdParam },
  responses: { 200: json(VerificationView, "Canceled"), ...problems(401, 404, 409) },
});
export const checkByToRoute = createRoute({
  method: "post",
  path: "/",
  summary: "Check a code by phone number (the live verification of that number)",
  security,
  request: { body: { content: { "application/json": { schema: CheckByToBody } }, required: true } },
  responses: { 200: json(CheckResult, "The outcome"), ...problems(400, 401, 429) },
});

const IDEMPOTENCY_KEY = /^"?([\x21\x23-\x7e]{1,255})"?$/;

export function verificationRoutes(deps: VerificationRoutesDeps) {
  const { verifications, store, clock, trustProxyHops } = deps;
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(startRoute, async (c) => {
    const input = c.req.valid("json");
    const { service } = c.get("principal");
    const clientIp = clientIpOf(c, input.client_ip, trustProxyHops);
    if (input.channel === "inbound") {
      // Nothing is sent, so a retried start costs nothing; and the answer holds the code, which is never stored.
      if (!deps.inbound) throw new VerifydError("channel_unavailable", "inbound verification is not configured");
      const started = await deps.inbound.start(service, { to: input.to, channels: input.inbound_channels, clientIp });
      const v = started.verification;
      const inbound = await inboundInstructions(
        `${INBOUND_KEYWORD} ${started.code}`,
        deps.inboundNumbers ?? [],
        v.inboundChannels ?? [],
      );
      return c.json({ ...toView(v, service, clock.now()), inbound }, 201);
    }
    const to = input.to;
    if (!to) throw new VerifydError("invalid_request", "to is required (except with channel: inbound)");
    if (input.inbound_channels) throw new VerifydError("invalid_request", "inbound_channels needs channel: inbound");
    const run = async () => {
      const v = await verifications.start(service, {
        to,
        channels: input.channels,
        clientIp,
        locale: input.locale,
        transaction: transactionOf(input),
      });
      return toView(v, service, clock.now());
    };
    const rawKey = c.req.header("idempotency-key");
    if (rawKey === undefined) return c.json(await run(), 201);

    const key = IDEMPOTENCY_KEY.exec(rawKey.trim())?.[1];
    if (!key) throw new VerifydError("idempotency_key_invalid", "use 1 to 255 printable ASCII characters, e.g. a UUID");
    const fingerprint = createHash("sha256").update(JSON.stringify(input)).digest("base64");
    const begun = await store.beginIdempotent(service.id, key, fingerprint, clock.now());
    switch (begun.kind) {
      case "replay":
        return c.json(JSON.parse(begun.body) as ReturnType<typeof toView>, 201, { "idempotent-replayed": "true" });
      case "in_flight":
        throw new VerifydError("idempotency_key_in_flight", "the first request with this key has not finished; retry shortly", {
          retryAfterMs: 1000,
        });
      case "mismatch":
        throw new VerifydError("idempotency_key_mismatch", "this key was first used with a different body");
      case "new":
        break;
    }
    try {
      const view = await run();
      await store.finishIdempotent(service.id, key, 201, JSON.stringify(view));
      return c.json(view, 201);
    } catch (err) {
      // Failures are not remembered: a retry after a limit or an outage should get a real second try.
      await store.abandonIdempotent(service.id, key);
      throw err;
    }
  });

  app.openapi(getRoute, async (c) => {
    const { service } = c.get("principal");
    const id = c.req.valid("param").id;
    const waitMs = Math.min(MAX_WAIT_MS, (c.req.valid("query").wait ?? 0) * 1000);
    // Subscribed before the read, so a change between the read and the wait still wakes it.
    const subscription = waitMs > 0 ? deps.notifier?.subscribe(id) : undefined;
    try {
      let v = await verifications.get(service, id);
      if (subscription && effectiveStatus(v, clock.now()) === "pending") {
        await subscription.wait(waitMs);
        v = await verifications.get(service, id);
      }
      return c.json(toView(v, service, clock.now(), await store.listDeliveries(v.id)), 200);
    } finally {
      subscription?.cancel();
    }
  });

  app.openapi(checkRoute, async (c) => {
    const { service } = c.get("principal");
    const input = c.req.valid("json");
    const ip = clientIpOf(c, input.client_ip, trustProxyHops);
    const outcome = await verifications.check(service, { id: c.req.valid("param").id }, input.code, ip, transactionOf(input));
    return c.json(checkView(outcome), 200);
  });

  app.openapi(resendRoute, async (c) => {
    const { service } = c.get("principal");
    const text = await c.req.text();
    const parsed = ClientIpBody.safeParse(text.trim() ? safeJson(text) : {});
    if (!parsed.success) throw new VerifydError("invalid_request", "the body may only hold client_ip");
    const ip = clientIpOf(c, parsed.data.client_ip, trustProxyHops);
    const v = await verifications.resend(service, c.req.valid("param").id, ip);
    return c.json(toView(v, service, clock.now()), 200);
  });

  app.openapi(cancelRoute, async (c) => {
    const { service } = c.get("principal");
    const v = await verifications.cancel(service, c.req.valid("param").id);
    return c.json(toView(v, service, clock.now()), 200);
  });

  return app;
}

export function verificationCheckRoutes(deps: VerificationRoutesDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(checkByToRoute, async (c) => {
    const { service } = c.get("principal");
    const input = c.req.valid("json");
    const ip = clientIpOf(c, input.client_ip, deps.trustProxyHops);
    const outcome = await deps.verifications.check(service, { to: input.to }, input.code, ip, transactionOf(input));
    return c.json(checkView(outcome), 200);
  });
  return app;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new VerifydError("invalid_json", "the body is not valid JSON");
  }
}
