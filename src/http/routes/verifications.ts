import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { InboundNumber } from "../../config/env.js";
import { VerifydError } from "../../core/errors.js";
import { INBOUND_KEYWORD, type InboundService } from "../../core/inbound.js";
import type { Delivery, Service, Verification } from "../../core/model.js";
import type { ChangeNotifier } from "../../core/notifier.js";
import type { Clock } from "../../core/ports.js";
import type { Store } from "../../core/store/index.js";
import { type CheckOutcome, effectiveStatus, nextResendAt, type VerificationService } from "../../core/verification/index.js";
import { callerOf, releaseAdmissionSlot } from "../admission.js";
import type { AppEnv } from "../context.js";
import { idempotent } from "../idempotency.js";
import { inboundInstructions } from "../inbound-links.js";
import { noteDestination } from "../middleware/access-log.js";
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

/** The steps the conversion guard withheld at the start, and why (see `RouteStep.withheld`). */
function withheldView(v: Verification) {
  const steps = v.route.filter((step) => step.withheld?.length);
  if (steps.length === 0) return undefined;
  return {
    channels: [...new Set(steps.map((step) => step.channel))],
    reasons: [...new Set(steps.flatMap((step) => step.withheld ?? []))],
  };
}

export function toView(v: Verification, service: Service, now: number, deliveries?: Delivery[]) {
  const status = effectiveStatus(v, now);
  const inbound = !!v.inboundChannels;
  const withheld = withheldView(v);
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
    ...(withheld ? { withheld } : {}),
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
  operationId: "startVerification",
  path: "/",
  summary: "Start a verification (or resend the live one for the same number)",
  description: [
    "Send an `Idempotency-Key` header to make retries safe: the same key and body replay the first answer.",
    "**Channels.** The service's route decides how the code travels: a phone number takes its `sms`, `whatsapp`, `rcs` and `voice` steps (a step may be kept for some line types, so a landline is called rather than refused), an email address its `email` steps; `channels` narrows and orders them. A call speaks the code digit by digit, several times; it counts as delivered once answered by a person long enough to hear it. A busy, unanswered or machine-answered call, an undelivered SMS, or a bounced or refused email moves the route to its next step with the same code; when the last step's receipt comes back failed the verification stays `pending` for a resend (event `delivery.undelivered`), and when the last step is refused while sending it becomes `failed`.",
    "**Limits.** Every send counts against `sends_per_destination` (the number, or the address without its `+tag`) and the caller's IP; calls also against `calls_per_destination` (3 per hour by default), emails against their domain (`emails_per_domain`, 1000 per hour). Over a limit: `429 rate_limited` naming the rule in `limit`. Disposable-mailbox domains and refused number types answer `403 blocked` with `reasons`.",
    "**Costs.** Each send is billed by its provider: a call per started minute, usually several times an SMS to the same country (a number whose SMS and call both fail costs both); an email a fraction of an SMS. A service's `test_numbers` (numbers or addresses) send nothing.",
  ].join("\n\n"),
  security,
  request: { body: { content: { "application/json": { schema: StartBody } }, required: true } },
  responses: {
    201: json(VerificationView, "Started; the code is on its way"),
    ...problems(400, 401, 403, 409, 422, 429, 503),
  },
});
const getRoute = createRoute({
  method: "get",
  operationId: "getVerification",
  path: "/{id}",
  summary: "Read a verification and its deliveries",
  description:
    "With `?wait=N` (at most 30 s), a pending verification's answer is held until its status changes or N seconds pass.",
  security,
  request: { params: IdParam, query: WaitQuery },
  responses: { 200: json(VerificationView, "The verification"), ...problems(400, 401, 404) },
});
const checkRoute = createRoute({
  method: "post",
  operationId: "checkVerification",
  path: "/{id}/check",
  summary: "Check a code",
  description:
    "Every well-formed check answers 200: `valid` says whether it approved, `reason` why not. With an `Idempotency-Key`, a retried check replays the first answer and spends no attempt.",
  security,
  request: { params: IdParam, body: { content: { "application/json": { schema: CheckBody } }, required: true } },
  responses: { 200: json(CheckResult, "The outcome"), ...problems(400, 401, 409, 422, 429) },
});
const resendRoute = createRoute({
  method: "post",
  operationId: "resendVerification",
  path: "/{id}/resend",
  summary: "Send the code again (same code, or a new one under the `new` resend policy)",
  security,
  request: { params: IdParam, body: { content: { "application/json": { schema: ClientIpBody } }, required: false } },
  responses: { 200: json(VerificationView, "Resent"), ...problems(400, 401, 403, 404, 409, 422, 429, 503) },
});
const cancelRoute = createRoute({
  method: "post",
  operationId: "cancelVerification",
  path: "/{id}/cancel",
  summary: "Cancel a pending verification",
  security,
  request: { params: IdParam },
  responses: { 200: json(VerificationView, "Canceled"), ...problems(400, 401, 404, 409, 422) },
});
export const checkByToRoute = createRoute({
  method: "post",
  operationId: "checkVerificationByDestination",
  path: "/",
  summary: "Check a code by phone number (the live verification of that number)",
  description: "Takes an `Idempotency-Key` as the other checks do.",
  security,
  request: { body: { content: { "application/json": { schema: CheckByToBody } }, required: true } },
  responses: { 200: json(CheckResult, "The outcome"), ...problems(400, 401, 409, 422, 429) },
});

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
      const started = await deps.inbound.start(service, {
        to: input.to,
        country: input.country,
        channels: input.inbound_channels,
        clientIp,
      });
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
    noteDestination(c, to);
    if (input.inbound_channels) throw new VerifydError("invalid_request", "inbound_channels needs channel: inbound");
    if (input.channel && input.channels) throw new VerifydError("invalid_request", "give channel or channels, not both");
    const channels = input.channel ? [input.channel] : input.channels;
    const run = async () => {
      const v = await verifications.start(service, {
        to,
        country: input.country,
        channels,
        clientIp,
        locale: input.locale,
        transaction: transactionOf(input),
        signals: { deviceId: input.device_id, userId: input.user_id },
        caller: callerOf(c),
      });
      return toView(v, service, clock.now());
    };
    // The fingerprint is the body alone, as it has been since start first took the header.
    const { body, headers } = await idempotent(c, { store, clock, service }, input, 201, run);
    return c.json(body, 201, headers);
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
        // Waiting costs nothing: the admission slot goes to a request with work to do.
        releaseAdmissionSlot(c.env);
        await subscription.wait(waitMs);
        v = await verifications.get(service, id);
      }
      noteDestination(c, v.to);
      return c.json(toView(v, service, clock.now(), await store.listDeliveries(v.id)), 200);
    } finally {
      subscription?.cancel();
    }
  });

  app.openapi(checkRoute, async (c) => {
    const { service } = c.get("principal");
    const input = c.req.valid("json");
    const ip = clientIpOf(c, input.client_ip, trustProxyHops);
    const id = c.req.valid("param").id;
    // A replayed check answers as the first one did and spends no attempt.
    const { body, headers } = await idempotent(c, { store, clock, service }, { op: "check", id, ...input }, 200, async () =>
      checkView(await verifications.check(service, { id }, input.code, ip, transactionOf(input))),
    );
    return c.json(body, 200, headers);
  });

  app.openapi(resendRoute, async (c) => {
    const { service } = c.get("principal");
    const text = await c.req.text();
    const parsed = ClientIpBody.safeParse(text.trim() ? safeJson(text) : {});
    if (!parsed.success) throw new VerifydError("invalid_request", "the body may only hold client_ip");
    const ip = clientIpOf(c, parsed.data.client_ip, trustProxyHops);
    const id = c.req.valid("param").id;
    const { body, headers } = await idempotent(
      c,
      { store, clock, service },
      { op: "resend", id, ...parsed.data },
      200,
      async () => toView(await verifications.resend(service, id, ip, callerOf(c)), service, clock.now()),
    );
    return c.json(body, 200, headers);
  });

  app.openapi(cancelRoute, async (c) => {
    const { service } = c.get("principal");
    const id = c.req.valid("param").id;
    const { body, headers } = await idempotent(c, { store, clock, service }, { op: "cancel", id }, 200, async () =>
      toView(await verifications.cancel(service, id), service, clock.now()),
    );
    return c.json(body, 200, headers);
  });

  return app;
}

export function verificationCheckRoutes(deps: VerificationRoutesDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(checkByToRoute, async (c) => {
    const { service } = c.get("principal");
    const input = c.req.valid("json");
    const ip = clientIpOf(c, input.client_ip, deps.trustProxyHops);
    noteDestination(c, input.to);
    const { body, headers } = await idempotent(c, { ...deps, service }, { op: "check", ...input }, 200, async () =>
      checkView(
        await deps.verifications.check(service, { to: input.to, country: input.country }, input.code, ip, transactionOf(input)),
      ),
    );
    return c.json(body, 200, headers);
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
