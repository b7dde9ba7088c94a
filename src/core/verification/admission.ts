import { type Destination, enforceSendVelocity, screenRoute } from "../abuse.js";
import { VerifydError } from "../errors.js";
import { enforceSendLimits, enforceSignalLimits, type StartSignals } from "../guards.js";
import type { Channel, RouteStep, Service } from "../model.js";
import { routeFullyOptedOut } from "../opt-outs.js";
import type { PhoneNumber } from "../phone.js";
import { chooseRoute } from "../routing.js";
import { enforceServiceCountries } from "../start-options.js";
import type { VerificationDeps } from "./deps.js";

/**
 * The gates a send must pass before anything is written: which route a new verification's
 * destination gets and whether it may be sent to at all, then, for every send (start or resend),
 * the conversion guard, the fraud velocity and the rate limits, in that order, each counted once.
 */
export function createAdmission(deps: Pick<VerificationDeps, "store" | "limiter" | "screening" | "conversion">) {
  const { store, limiter } = deps;

  return {
    /**
     * The route of a new verification, once its destination passed the service's countries, number
     * screening, opt-outs and the per-device and per-user start limits. A test number sends
     * nothing, so it gets the route as configured and skips the rest.
     */
    async screenStart(
      service: Service,
      phone: PhoneNumber,
      test: boolean,
      input: { channels?: readonly Channel[]; signals?: StartSignals },
    ): Promise<RouteStep[]> {
      if (!test) enforceServiceCountries(service, phone.country);
      const chosen = chooseRoute(service, phone.country, input.channels);
      if (test) return chosen;
      const route = screenRoute(chosen, phone, deps.screening);
      if (await routeFullyOptedOut(store, phone.e164, route)) {
        throw new VerifydError(
          "opted_out",
          "the destination opted out of every channel of this route (it may text START to opt back in)",
        );
      }
      if (input.signals) await enforceSignalLimits(limiter, input.signals);
      return route;
    },

    /**
     * Admits one send of the verification started at `createdAt`: a prefix, range or country blocked
     * by the conversion guard refuses it before any counter moves; then it counts against its
     * prefix and country velocity, the end user's IP and the destination; last, the guard counts it
     * and judges its keys (so what another rule refused never counts as an unanswered send).
     * `limited` false (a test number's resend: nothing is sent) skips the counting.
     */
    async admitSend(to: Destination, clientIp: string | null | undefined, limited: boolean, createdAt: number): Promise<void> {
      const subject = { to: to.e164, country: to.country, createdAt };
      const admitted = await deps.conversion?.refuseBlocked(subject);
      if (!limited) return;
      // A send monitor mode spared (enforce mode would have refused it) goes out under the rate
      // limits, but counts nowhere enforce mode would not have counted it: its reports stay true.
      const spared = admitted?.count === false;
      if (!spared) await enforceSendVelocity(limiter, to, deps.screening);
      await enforceSendLimits(limiter, to.e164, clientIp);
      if (!spared) await deps.conversion?.countSend(subject, admitted);
    },
  };
}

export type Admission = ReturnType<typeof createAdmission>;
