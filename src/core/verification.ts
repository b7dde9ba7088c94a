import { enforceSendVelocity, type Screening, screenRoute } from "./abuse.js";
import { type CodeKit, generateCode } from "./codes.js";
import type { ConversionGuard } from "./conversion.js";
import { VerifydError } from "./errors.js";
import { type EventSink, noopEventSink, verificationData } from "./events.js";
import { clearFailedChecks, enforceSendLimits, guardFailedChecks, recordFailedCheck } from "./guards.js";
import { type Metrics, noopMetrics } from "./metrics.js";
import type { ChangeNotifier } from "./notifier.js";
import { routeFullyOptedOut } from "./opt-outs.js";
import { normalizePhone } from "./phone.js";
import type {
  Channel,
  Clock,
  DelegatedCodes,
  Dispatcher,
  Ids,
  Limiter,
  NewDelivery,
  Service,
  Store,
  Verification,
  VerificationStatus,
} from "./ports.js";
import { chooseRoute } from "./routing.js";
import { ALPHABETS, normalizeCandidate } from "./service-settings.js";
import { enforceServiceCountries, localeFor, testCodeFor } from "./start-options.js";
import { sameTransaction, type Transaction, transactionBinding } from "./transaction.js";

export type CheckReason =
  | "wrong_code"
  | "expired"
  | "max_attempts_reached"
  | "not_found"
  | "already_approved"
  | "canceled"
  /** The right or wrong code, but not the amount and payee it was issued for: counted as a failed attempt. */
  | "transaction_mismatch";

/** Every well-formed check ends in one of these: data, not an error. */
export interface CheckOutcome {
  valid: boolean;
  status: VerificationStatus | null;
  reason: CheckReason | null;
  attemptsRemaining: number;
  verification: Verification | null;
}

export interface StartInput {
  to: string;
  /** Channels the user prefers, in order; narrows the service's route. */
  channels?: readonly Channel[];
  /** The end user's IP, passed by the integrator (the TCP peer of a sidecar is the login service). */
  clientIp?: string | null;
  /** BCP-47 tag of the user's language; see `localeFor`. */
  locale?: string | null;
  /** A payment to bind the code to (PSD2): shown in the message, and the check must present it. */
  transaction?: Transaction | null;
}

export type CheckTarget = { id: string } | { to: string };

export interface VerificationDeps {
  store: Store;
  clock: Clock;
  ids: Ids;
  codes: CodeKit;
  limiter: Limiter;
  dispatcher: Dispatcher;
  /** Present when some provider sends its own codes (delegated steps). */
  delegated?: DelegatedCodes;
  /** Signalled when a verification is approved or canceled, for long-polling readers. */
  notifier?: ChangeNotifier;
  metrics?: Metrics;
  /** Event webhooks to the integrator; a no-op when absent. */
  events?: EventSink;
  /** Number-type and country screening of new verifications' destinations. */
  screening?: Screening;
  /** Blocks prefixes and countries whose sends stop turning into approvals. */
  conversion?: ConversionGuard;
}

/** When the next resend may happen, or null when no resend is possible. */
export function nextResendAt(v: Verification, service: Service, now: number): number | null {
  if (v.status !== "pending" || v.expiresAt <= now || v.sends >= v.maxSends) return null;
  return Math.max(now, v.lastSentAt + service.policy.resendCooldownMs);
}

/** A pending verification past its expiry is expired, whether or not the sweeper has closed it yet. */
export function effectiveStatus(v: Verification, now: number): VerificationStatus {
  return v.status === "pending" && v.expiresAt <= now ? "expired" : v.status;
}

export function createVerificationService(deps: VerificationDeps) {
  const { store, clock, ids, codes, limiter, dispatcher } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const events = deps.events ?? noopEventSink;
  // Test numbers stay out of the metrics, so dashboards show real traffic only.
  const tallied = (outcome: CheckOutcome): CheckOutcome => {
    if (!outcome.verification?.test) metrics.checked(outcome.valid ? "approved" : (outcome.reason ?? "unknown"));
    return outcome;
  };

  const newDelivery = (v: Verification, step: number, now: number): NewDelivery => {
    const routeStep = v.route[step];
    if (!routeStep) throw new VerifydError("channel_unavailable", "the service has no delivery route configured");
    return {
      id: ids.delivery(),
      verificationId: v.id,
      step,
      channel: routeStep.channel,
      provider: routeStep.providers[0] as string,
      nextTryAt: now,
    };
  };

  const mustFind = async (service: Service, id: string): Promise<Verification> => {
    const v = await store.getVerification(service.id, id);
    if (!v) throw new VerifydError("verification_not_found", `no verification ${id} in this service`);
    return v;
  };

  /** Reads back after a dispatch, so the answer shows a send that failed or fell back. */
  const reload = async (service: Service, id: string) => mustFind(service, id);

  async function resendLive(service: Service, v: Verification, clientIp: string | null | undefined) {
    const now = clock.now();
    const { policy } = service;
    if (v.sends >= v.maxSends) {
      throw new VerifydError("max_sends_reached", `this verification was sent ${v.sends} times, the most allowed`, {
        retryAfterMs: Math.max(0, v.expiresAt - now),
      });
    }
    const waitMs = v.lastSentAt + policy.resendCooldownMs - now;
    if (waitMs > 0) {
      throw new VerifydError("resend_cooldown", `a new send is possible in ${Math.ceil(waitMs / 1000)} s`, {
        retryAfterMs: waitMs,
      });
    }
    // A blocked prefix or country refuses resends too, before any counter moves.
    await deps.conversion?.admit(v.to, v.country);
    // Every send counts against its prefix and country, resends included (after the cooldown checks, so a refused resend costs nothing).
    // A test number sends nothing, so it costs nothing to limit.
    if (!v.test) {
      await enforceSendVelocity(limiter, { e164: v.to, country: v.country, type: null }, deps.screening);
      await enforceSendLimits(limiter, v.to, clientIp);
    }
    const rotate = policy.resendPolicy === "new" && !v.test;
    let secrets: { codeHash: Buffer; sealedCode: Buffer } | undefined;
    if (rotate) {
      const code = generateCode(policy.codeLength, ALPHABETS[service.settings.alphabet]);
      secrets = { codeHash: codes.hash(v.id, code, transactionBinding(v.transaction)), sealedCode: codes.seal(v.id, code) };
    }
    const delivery = v.test ? undefined : newDelivery(v, v.currentStep, now);
    const outcome = await store.recordResend({
      id: v.id,
      now,
      cooldownMs: policy.resendCooldownMs,
      secrets,
      expiresAt: rotate ? now + policy.ttlMs : undefined,
      delivery,
    });
    if (outcome.kind === "refused") {
      // Lost a race with another resend, a check or the expiry sweep: report what won.
      if (outcome.reason === "cooldown") throw new VerifydError("resend_cooldown", "a send just happened; wait for the cooldown");
      if (outcome.reason === "max_sends") throw new VerifydError("max_sends_reached", "the most sends allowed were made");
      throw new VerifydError("verification_closed", "the verification is no longer pending");
    }
    if (delivery) {
      await deps.conversion?.countSend(v);
      await dispatcher.dispatch(delivery.id);
    }
    return reload(service, v.id);
  }

  /** The live verification for a number, else its latest one (to explain why a check fails). */
  async function findByDestination(service: Service, to: string): Promise<Verification | null> {
    const e164 = normalizePhone(to).e164;
    return (
      (await store.findPendingByDestination(service.id, e164, clock.now())) ??
      (await store.findLatestByDestination(service.id, e164))
    );
  }

  async function refusedOutcome(v: Verification): Promise<CheckOutcome> {
    const now = clock.now();
    const base = { valid: false, attemptsRemaining: 0, verification: v };
    switch (effectiveStatus(v, now)) {
      case "approved":
        return { ...base, status: "approved", reason: "already_approved" };
      case "canceled":
        return { ...base, status: "canceled", reason: "canceled" };
      case "expired":
      case "failed":
        if (v.status === "pending" && (await store.closeVerification(v.id, "expired", now)))
          await events.emit("verification.expired", verificationData({ ...v, status: "expired" }));
        return { ...base, status: effectiveStatus(v, now) === "failed" ? "failed" : "expired", reason: "expired" };
      case "max_attempts_reached":
      case "pending":
        // A pending row refused by the counter has used all its checks (possibly a concurrent check's).
        if (v.status === "pending" && (await store.closeVerification(v.id, "max_attempts_reached", now)))
          await events.emit("verification.max_attempts_reached", verificationData({ ...v, status: "max_attempts_reached" }));
        return { ...base, status: "max_attempts_reached", reason: "max_attempts_reached" };
    }
  }

  return {
    /** Starts a verification, or resends the live one for the same destination. */
    async start(service: Service, input: StartInput): Promise<Verification> {
      const phone = normalizePhone(input.to);
      const { policy } = service;
      const transaction = input.transaction ?? null;
      const testCode = testCodeFor(service, phone.e164);
      const test = testCode !== null;
      if (!test) enforceServiceCountries(service, phone.country);
      const chosen = chooseRoute(service, phone.country, input.channels);
      const route = test ? chosen : screenRoute(chosen, phone, deps.screening);
      if (!test && (await routeFullyOptedOut(store, phone.e164, route))) {
        throw new VerifydError(
          "opted_out",
          "the destination opted out of every channel of this route (it may text START to opt back in)",
        );
      }
      for (let attempt = 0; attempt < 3; attempt++) {
        const now = clock.now();
        const live = await store.findPendingByDestination(service.id, phone.e164, now);
        if (live && sameTransaction(live.transaction, transaction)) return resendLive(service, live, input.clientIp);
        // Another payment needs another code: the live one is canceled rather than resent with the wrong amount.
        if (live && (await store.closeVerification(live.id, "canceled", now))) {
          deps.notifier?.notify(live.id);
          await events.emit("verification.canceled", verificationData({ ...live, status: "canceled" }));
        }
        if (!test) {
          await deps.conversion?.admit(phone.e164, phone.country);
          await enforceSendVelocity(limiter, phone, deps.screening);
          await enforceSendLimits(limiter, phone.e164, input.clientIp);
        }
        const id = ids.verification();
        const code = testCode ?? generateCode(policy.codeLength, ALPHABETS[service.settings.alphabet]);
        const v: Verification = {
          id,
          serviceId: service.id,
          to: phone.e164,
          country: phone.country,
          status: "pending",
          route,
          currentStep: 0,
          sends: 1,
          checks: 0,
          maxChecks: policy.maxChecks,
          maxSends: policy.maxSends,
          clientIp: input.clientIp ?? null,
          createdAt: now,
          updatedAt: now,
          expiresAt: now + policy.ttlMs,
          lastSentAt: now,
          approvedAt: null,
          locale: localeFor(service, input.locale, phone.country),
          transaction,
          test,
        };
        // A test number gets no delivery row at all, so no provider can ever be called for it.
        const first = test ? null : newDelivery(v, 0, now);
        const secrets = { codeHash: codes.hash(id, code, transactionBinding(transaction)), sealedCode: codes.seal(id, code) };
        if (await store.createVerification(v, secrets, first)) {
          if (first) {
            metrics.verificationStarted(service.id, first.channel, phone.country);
            await deps.conversion?.countSend(v);
          }
          await events.emit("verification.started", verificationData(v));
          if (first) await dispatcher.dispatch(first.id);
          return reload(service, id);
        }
        // A concurrent start for the same destination won; go round and treat this one as its resend.
      }
      throw new VerifydError("service_unavailable", "too many concurrent starts for this destination; retry");
    },

    async get(service: Service, id: string): Promise<Verification> {
      return mustFind(service, id);
    },

    async resend(service: Service, id: string, clientIp?: string | null): Promise<Verification> {
      const v = await mustFind(service, id);
      if (v.inboundChannels)
        throw new VerifydError("invalid_request", "an inbound verification is approved by the user's message");
      if (effectiveStatus(v, clock.now()) !== "pending") {
        throw new VerifydError("verification_closed", `the verification is ${effectiveStatus(v, clock.now())}`);
      }
      return resendLive(service, v, clientIp);
    },

    async cancel(service: Service, id: string): Promise<Verification> {
      const v = await mustFind(service, id);
      const status = effectiveStatus(v, clock.now());
      if (status !== "pending") throw new VerifydError("verification_closed", `the verification is ${status}`);
      if (!(await store.closeVerification(v.id, "canceled", clock.now()))) {
        throw new VerifydError("verification_closed", "the verification closed meanwhile");
      }
      deps.notifier?.notify(v.id);
      await events.emit("verification.canceled", verificationData({ ...v, status: "canceled" }));
      return mustFind(service, id);
    },

    /** Approves a pending verification without a code: the integrator checked the user some other way. */
    async approve(service: Service, id: string): Promise<Verification> {
      const v = await mustFind(service, id);
      const now = clock.now();
      const status = effectiveStatus(v, now);
      if (status !== "pending") throw new VerifydError("verification_closed", `the verification is ${status}`);
      if (!(await store.approve(v.id, now))) throw new VerifydError("verification_closed", "the verification closed meanwhile");
      deps.notifier?.notify(v.id);
      await events.emit("verification.approved", verificationData({ ...v, status: "approved", approvedAt: now, updatedAt: now }));
      return mustFind(service, id);
    },

    /**
     * Checks a code. Order: find → failed-check limits → atomic attempt count → constant-time
     * compare → conditional approval (so concurrent correct checks approve exactly once).
     */
    async check(
      service: Service,
      target: CheckTarget,
      typed: string,
      clientIp?: string | null,
      transaction?: Transaction | null,
    ): Promise<CheckOutcome> {
      const code = normalizeCandidate(typed, service.settings.alphabet);
      const v = "id" in target ? await store.getVerification(service.id, target.id) : await findByDestination(service, target.to);
      if (!v) {
        codes.hash("ver_unknown", code); // same work as a real comparison: unknown ids do not answer faster
        return tallied({ valid: false, status: null, reason: "not_found", attemptsRemaining: 0, verification: null });
      }
      if (v.inboundChannels) {
        // Approved only by the user's message: a typed code must neither approve nor close it.
        const status = effectiveStatus(v, clock.now());
        return tallied({
          valid: false,
          status,
          reason: status === "approved" ? "already_approved" : "wrong_code",
          attemptsRemaining: 0,
          verification: v,
        });
      }
      await guardFailedChecks(limiter, v.to, clientIp);
      const attempt = await store.recordCheck(service.id, v.id, clock.now());
      if (attempt.kind === "refused") return tallied(await refusedOutcome(attempt.verification ?? v));

      const counted = attempt.verification;
      // The hash covers the presented payment, so a code for EUR 12.50 cannot approve EUR 1250.00; the explicit
      // comparison only names the reason. The hash is computed either way, so both failures cost the same.
      const presented = transaction ?? null;
      const codeMatches = codes.matches(attempt.codeHash, v.id, code, transactionBinding(presented));
      const bound = sameTransaction(counted.transaction, presented);
      // The code is ours, or (after a delegated step) the provider's own; either approves.
      if (bound && (codeMatches || (!counted.transaction && (await deps.delegated?.matches(v.id, code))))) {
        const now = clock.now();
        if (await store.approve(v.id, now)) {
          deps.notifier?.notify(v.id);
          await clearFailedChecks(limiter, v.to);
          if (!counted.test) await deps.conversion?.countApproval(counted);
          const approved = { ...counted, status: "approved" as const, approvedAt: now, updatedAt: now };
          if (!counted.test)
            metrics.verificationApproved(service.id, counted.route[counted.currentStep]?.channel ?? "sms", counted.country);
          await events.emit("verification.approved", verificationData(approved));
          return tallied({ valid: true, status: "approved", reason: null, attemptsRemaining: 0, verification: approved });
        }
        return tallied(await refusedOutcome((await store.getVerification(service.id, v.id)) ?? counted));
      }
      await recordFailedCheck(limiter, v.to, clientIp);
      const remaining = Math.max(0, counted.maxChecks - counted.checks);
      let status: VerificationStatus = "pending";
      if (remaining === 0) {
        if (await store.closeVerification(v.id, "max_attempts_reached", clock.now()))
          await events.emit(
            "verification.max_attempts_reached",
            verificationData({ ...counted, status: "max_attempts_reached" }),
          );
        status = "max_attempts_reached";
      }
      return tallied({
        valid: false,
        status,
        reason: bound ? "wrong_code" : "transaction_mismatch",
        attemptsRemaining: remaining,
        verification: { ...counted, status },
      });
    },
  };
}

export type VerificationService = ReturnType<typeof createVerificationService>;
