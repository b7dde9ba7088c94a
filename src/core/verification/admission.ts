import { enforceSendVelocity, screenRoute } from "../abuse.js";
import type { Destination } from "../destination.js";
import { isEmailAddress } from "../email.js";
import { enforceDomainVelocity, screenEmail } from "../email-screening.js";
import { VerifydError } from "../errors.js";
import { enforceSendLimits, enforceSignalLimits, guardCalls, type StartSignals } from "../guards.js";
import type { Channel, ConversionReason, RouteStep, Service } from "../model.js";
import { optedOutChannels, routeFullyOptedOut } from "../opt-outs.js";
import { chooseRoute } from "../routing.js";
import { enforceServiceCountries } from "../start-options.js";
import { PLAIN_UNIT, type StoreUnit } from "../store/unit.js";
import type { VerificationDeps } from "./deps.js";

/**
 * One send as admission sees it: where it goes and, when known, on which channel it leaves;
 * `unpaidAlternative`, whether it can go on WhatsApp alone (see `ConversionSubject`).
 */
export interface SendTarget extends Pick<Destination, "to" | "country" | "type"> {
  channel?: Channel;
  unpaidAlternative?: boolean;
}

/**
 * A new verification's route, and the channels its number had opted out of when the route was
 * screened (none for a test number or an address, whose sends read them themselves).
 */
export interface Screened {
  route: RouteStep[];
  optedOut?: ReadonlySet<Channel>;
}

/**
 * The gates a send must pass before anything is written: which route a new verification's
 * destination gets and whether it may be sent to at all, then, for every send (start or resend),
 * the conversion guard, the fraud velocity and the rate limits, in that order, each counted once.
 */
export function createAdmission(deps: Pick<VerificationDeps, "store" | "limiter" | "screening" | "conversion" | "routePlanner">) {
  const { store, limiter } = deps;

  return {
    /**
     * The route of a new verification, once its destination passed the service's countries, number
     * (or address) screening, opt-outs and the per-device and per-user start limits, in the order the
     * route planner chooses. A test number sends nothing, so it gets the route as configured and skips
     * the rest. `unit`: the store unit its reads are part of (core/store/unit.ts), as for `admitSend`.
     */
    async screenStart(
      service: Service,
      destination: Destination,
      test: boolean,
      input: { channels?: readonly Channel[]; signals?: StartSignals },
      unit: StoreUnit = PLAIN_UNIT,
    ): Promise<Screened> {
      // An address has no country: the service's allowed countries are about numbers.
      if (!test && !destination.email) enforceServiceCountries(service, destination.country);
      const chosen = chooseRoute(service, destination, input.channels);
      if (test) return { route: chosen };
      let route = chosen;
      let optedOut: Set<Channel> | undefined;
      if (destination.email) screenEmail(destination.to, deps.screening);
      else {
        route = screenRoute(
          chosen,
          { e164: destination.to, country: destination.country, type: destination.type },
          deps.screening,
        );
        optedOut = await optedOutChannels(unit.join(store), destination.to);
        if (routeFullyOptedOut(optedOut, route)) {
          throw new VerifydError(
            "opted_out",
            "the destination opted out of every channel of this route (it may text START to opt back in)",
          );
        }
      }
      if (input.signals) await enforceSignalLimits(limiter, input.signals);
      // The caller's own order of channels stands; otherwise learned order and channel memory may move steps.
      if (!deps.routePlanner || input.channels?.length) return { route, optedOut };
      return { route: await deps.routePlanner.plan(service, destination, route), optedOut };
    },

    /**
     * Admits one send of the verification started at `createdAt`: a prefix, range, country or domain
     * blocked by the conversion guard refuses it before any counter moves; then it counts against
     * its velocity (prefix and country of a number, domain of an address), the end user's IP and the
     * destination (a send that places a call is refused while the number's calls are used up); last,
     * the guard counts it and judges its keys, so what another rule refused never counts as an
     * unanswered send. `limited` false (a test number's resend: nothing is sent) skips the counting.
     * Answers the guard's reasons when it refused the send's paying channels but let it go on WhatsApp.
     */
    async admitSend(
      send: SendTarget,
      clientIp: string | null | undefined,
      limited: boolean,
      createdAt: number,
      unit: StoreUnit = PLAIN_UNIT,
    ): Promise<readonly ConversionReason[] | null> {
      const subject = { to: send.to, country: send.country, createdAt, unpaidAlternative: send.unpaidAlternative };
      const admitted = await deps.conversion?.refuseBlocked(subject, unit);
      // Withheld from its paying channels by a block, the send goes on WhatsApp alone and, like a
      // refused send, counts against nothing that watches for pumping.
      const withheld = admitted?.withheld ?? null;
      if (!limited) return withheld;
      // A send monitor mode spared (enforce mode would have refused it) goes out under the rate
      // limits, but counts nowhere enforce mode would not have counted it: its reports stay true.
      const spared = admitted?.count === false;
      if (!spared) {
        if (isEmailAddress(send.to)) await enforceDomainVelocity(limiter, send.to, deps.screening);
        else await enforceSendVelocity(limiter, { e164: send.to, country: send.country, type: send.type }, deps.screening);
      }
      if (send.channel === "voice") await guardCalls(limiter, send.to);
      await enforceSendLimits(limiter, send.to, clientIp);
      if (spared) return withheld;
      return (await deps.conversion?.countSend(subject, admitted, unit)) ?? null;
    },
  };
}

export type Admission = ReturnType<typeof createAdmission>;
