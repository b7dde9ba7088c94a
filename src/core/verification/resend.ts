import { generateCode } from "../codes.js";
import { stopIfCallerGone, VerifydError } from "../errors.js";
import type { Service, Verification } from "../model.js";
import type { Caller, Ids } from "../ports.js";
import { reachesUnpaid } from "../routing.js";
import { ALPHABETS } from "../service-settings.js";
import type { NewDelivery } from "../store/deliveries.js";
import { transactionBinding } from "../transaction.js";
import type { Admission } from "./admission.js";
import type { VerificationDeps } from "./deps.js";
import type { StatusFlow } from "./status.js";

/** A queued delivery on a step of the verification's route, to its step's first provider. */
export function newDelivery(ids: Ids, v: Verification, step: number, now: number): NewDelivery {
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
}

/** Another send of a pending verification: asked for by the integrator, or by a start for the same destination. */
export function createResendFlow(deps: VerificationDeps, status: StatusFlow, admission: Admission) {
  const { store, clock, ids, codes, dispatcher } = deps;

  /**
   * Resends a verification known to be pending; the store has the last word on races. Nothing is
   * written once the caller has gone; once written, the resend is sent.
   */
  async function resendLive(service: Service, v: Verification, clientIp: string | null | undefined, caller?: Caller) {
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
    // After the cooldown checks, so a refused resend costs nothing. A blocked prefix, range or country
    // refuses resends too; a test number sends nothing, so it costs nothing to limit.
    // A resend may go on WhatsApp alone only when every step it can still reach is WhatsApp (the
    // others withheld at the start): its route is not narrowed afterwards.
    const target = {
      to: v.to,
      country: v.country,
      type: null,
      channel: v.route[v.currentStep]?.channel,
      unpaidAlternative: reachesUnpaid(v.route, v.currentStep, true),
    };
    await admission.admitSend(target, clientIp, !v.test, v.createdAt);
    const rotate = policy.resendPolicy === "new" && !v.test;
    let secrets: { codeHash: Buffer; sealedCode: Buffer } | undefined;
    if (rotate) {
      const code = generateCode(policy.codeLength, ALPHABETS[service.settings.alphabet]);
      secrets = { codeHash: codes.hash(v.id, code, transactionBinding(v.transaction)), sealedCode: codes.seal(v.id, code) };
    }
    const delivery = v.test ? undefined : newDelivery(ids, v, v.currentStep, now);
    stopIfCallerGone(caller?.abort);
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
    caller?.waiting?.();
    return status.afterDispatch(service, outcome.verification, await dispatcher.dispatch(delivery.id));
  }

  return {
    resendLive,

    async resend(service: Service, id: string, clientIp?: string | null, caller?: Caller): Promise<Verification> {
      const v = await status.mustFind(service, id);
      if (v.inboundChannels)
        throw new VerifydError("invalid_request", "an inbound verification is approved by the user's message");
      status.mustBePending(v, clock.now());
      return resendLive(service, v, clientIp, caller);
    },
  };
}

export type ResendFlow = ReturnType<typeof createResendFlow>;
