import { enforceSendVelocity, type Screening, screenRoute } from "./abuse.js";
import { createCheckFlow, effectiveStatus } from "./check.js";
import { type CodeKit, generateCode } from "./codes.js";
import type { ConversionGuard } from "./conversion.js";
import { VerifydError } from "./errors.js";
import { type EventSink, noopEventSink, verificationData } from "./events.js";
import { enforceSendLimits, enforceSignalLimits, type StartSignals } from "./guards.js";
import { type Metrics, noopMetrics } from "./metrics.js";
import type { Channel, Service, Verification } from "./model.js";
import type { ChangeNotifier } from "./notifier.js";
import { routeFullyOptedOut } from "./opt-outs.js";
import { normalizePhone } from "./phone.js";
import type { Clock, DelegatedCodes, Dispatcher, DispatchOutcome, Ids, Limiter } from "./ports.js";
import { chooseRoute } from "./routing.js";
import { ALPHABETS } from "./service-settings.js";
import { enforceServiceCountries, localeFor, testCodeFor } from "./start-options.js";
import type { DeliveryJob, NewDelivery } from "./store/deliveries.js";
import type { Store } from "./store/index.js";
import { sameTransaction, type Transaction, transactionBinding } from "./transaction.js";

export { type CheckOutcome, type CheckReason, type CheckTarget, effectiveStatus } from "./check.js";

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
  /** The integrator's device and user ids, counted by the per-device and per-user start limits. */
  signals?: StartSignals;
}

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

export function createVerificationService(deps: VerificationDeps) {
  const { store, clock, ids, codes, limiter, dispatcher } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const events = deps.events ?? noopEventSink;
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

  /**
   * What a start or resend answers after its inline send: the verification as written when the
   * provider accepted the send (nothing else can have changed it), else read back, so the answer
   * shows a send that failed, fell back or is still under way.
   */
  const afterDispatch = async (service: Service, written: Verification, outcome: DispatchOutcome) =>
    outcome === "accepted" ? written : mustFind(service, written.id);

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
    if (!delivery) return outcome.verification; // a test number: nothing is sent
    await deps.conversion?.countSend(v);
    return afterDispatch(service, outcome.verification, await dispatcher.dispatch(delivery.id));
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
      if (!test && input.signals) await enforceSignalLimits(limiter, input.signals);
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
        // The first delivery is written already claimed for the inline send below.
        const first = test ? null : { ...newDelivery(v, 0, now), leaseUntil: now + dispatcher.leaseMs };
        const secrets = { codeHash: codes.hash(id, code, transactionBinding(transaction)), sealedCode: codes.seal(id, code) };
        if (await store.createVerification(v, secrets, first)) {
          if (first) {
            metrics.verificationStarted(service.id, first.channel, phone.country);
            await deps.conversion?.countSend(v);
          }
          await events.emit("verification.started", verificationData(v));
          // A test number (no delivery) is answered as written, like an accepted send.
          if (!first) return v;
          const job: DeliveryJob = {
            id: first.id,
            verificationId: id,
            serviceId: service.id,
            serviceName: service.name,
            to: phone.e164,
            step: 0,
            channel: first.channel,
            provider: first.provider,
            tries: 1,
            route,
            sealedCode: secrets.sealedCode,
            expiresAt: v.expiresAt,
            locale: v.locale ?? null,
            transaction,
            settings: service.settings,
          };
          return afterDispatch(service, v, await dispatcher.dispatchClaimed(job));
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

    ...createCheckFlow(deps),
  };
}

export type VerificationService = ReturnType<typeof createVerificationService>;
