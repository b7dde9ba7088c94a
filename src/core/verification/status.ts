import { VerifydError } from "../errors.js";
import { noopEventSink, verificationData } from "../events.js";
import type { Service, Verification, VerificationStatus } from "../model.js";
import type { DispatchOutcome } from "../ports.js";
import type { VerificationDeps } from "./deps.js";

/** A pending verification past its expiry is expired, whether or not the sweeper has closed it yet. */
export function effectiveStatus(v: Verification, now: number): VerificationStatus {
  return v.status === "pending" && v.expiresAt <= now ? "expired" : v.status;
}

/** When the next resend may happen, or null when no resend is possible. */
export function nextResendAt(v: Verification, service: Service, now: number): number | null {
  if (v.status !== "pending" || v.expiresAt <= now || v.sends >= v.maxSends) return null;
  return Math.max(now, v.lastSentAt + service.policy.resendCooldownMs);
}

/**
 * Reading a verification and closing it by hand: get, cancel and the integrator's approval, plus the
 * reads and the cancel that starts and resends share.
 */
export function createStatusFlow(deps: VerificationDeps) {
  const { store, clock } = deps;
  const events = deps.events ?? noopEventSink;

  const mustFind = async (service: Service, id: string): Promise<Verification> => {
    const v = await store.getVerification(service.id, id);
    if (!v) throw new VerifydError("verification_not_found", `no verification ${id} in this service`);
    return v;
  };

  /** Refuses a verification that is no longer pending (expired ones included) with `verification_closed`. */
  const mustBePending = (v: Verification, now: number): void => {
    const status = effectiveStatus(v, now);
    if (status !== "pending") throw new VerifydError("verification_closed", `the verification is ${status}`);
  };

  /** Cancels a pending verification and tells its readers; false when it had closed meanwhile. */
  async function closeCanceled(v: Verification, now: number): Promise<boolean> {
    if (!(await store.closeVerification(v.id, "canceled", now))) return false;
    deps.notifier?.notify(v.id);
    await events.emit("verification.canceled", verificationData({ ...v, status: "canceled" }));
    return true;
  }

  return {
    mustFind,
    mustBePending,
    closeCanceled,

    /**
     * What a start or resend answers after its inline send: the verification as written when the
     * provider accepted the send (nothing else can have changed it), else read back, so the answer
     * shows a send that failed, fell back or is still under way.
     */
    afterDispatch: async (service: Service, written: Verification, outcome: DispatchOutcome) =>
      outcome === "accepted" ? written : mustFind(service, written.id),

    async get(service: Service, id: string): Promise<Verification> {
      return mustFind(service, id);
    },

    async cancel(service: Service, id: string): Promise<Verification> {
      const v = await mustFind(service, id);
      mustBePending(v, clock.now());
      if (!(await closeCanceled(v, clock.now()))) {
        throw new VerifydError("verification_closed", "the verification closed meanwhile");
      }
      return mustFind(service, id);
    },

    /** Approves a pending verification without a code: the integrator checked the user some other way. */
    async approve(service: Service, id: string): Promise<Verification> {
      const v = await mustFind(service, id);
      const now = clock.now();
      mustBePending(v, now);
      if (!(await store.approve(v.id, now))) throw new VerifydError("verification_closed", "the verification closed meanwhile");
      deps.notifier?.notify(v.id);
      await events.emit("verification.approved", verificationData({ ...v, status: "approved", approvedAt: now, updatedAt: now }));
      return mustFind(service, id);
    },
  };
}

export type StatusFlow = ReturnType<typeof createStatusFlow>;
