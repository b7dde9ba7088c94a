import { normalizeCandidate } from "../code-input.js";
import { generateCode } from "../codes.js";
import { type Destination, parseDestination } from "../destination.js";
import { stopIfCallerGone, VerifydError } from "../errors.js";
import { noopEventSink, verificationData } from "../events.js";
import type { StartSignals } from "../guards.js";
import { noopMetrics } from "../metrics.js";
import type { Channel, RouteStep, Service, Verification } from "../model.js";
import type { Caller } from "../ports.js";
import { reachesUnpaid, withholdPaidSteps } from "../routing.js";
import { ALPHABETS } from "../service-settings.js";
import { localeFor, testCodeFor } from "../start-options.js";
import { deliveryJob, type NewDelivery } from "../store/deliveries.js";
import type { StoreUnit } from "../store/unit.js";
import { sameTransaction, type Transaction, transactionBinding } from "../transaction.js";
import type { Admission, Screened } from "./admission.js";
import type { VerificationDeps } from "./deps.js";
import { newDelivery, type ResendFlow } from "./resend.js";
import type { StatusFlow } from "./status.js";

export interface StartInput {
  /** A phone number (E.164) or an email address. */
  to: string;
  /** ISO 3166-1 alpha-2: the country a national `to` (no `+`, no `00`) is read in; else the service's default country. */
  country?: string | null;
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
  /**
   * The caller's connection. A start whose caller left before its write committed writes and sends
   * nothing (it throws `CallerGone`); `waiting` is called before the inline send.
   */
  caller?: Caller;
}

/** What `write` wrote: the verification, its claimed first delivery (none for a test number) and its sealed code. */
interface Written {
  v: Verification;
  first: (NewDelivery & { leaseUntil: number }) | null;
  sealedCode: Buffer;
  /** The code in clear, for the inline send only. */
  code: string;
}

/** What a start's store unit found: the live verification of the destination, else what it wrote. */
interface Step {
  now: number;
  screened: Screened;
  live: Verification | null;
  written?: Written | null;
}

/** A rival start can win the destination's one live verification this many times before a start gives up. */
const START_ROUNDS = 3;

/** Starts a verification, or resends the live one for the same destination. */
export function createStartFlow(
  deps: VerificationDeps,
  parts: { status: StatusFlow; admission: Admission; resend: Pick<ResendFlow, "resendLive"> },
) {
  const { store, clock, ids, codes, dispatcher } = deps;
  const { status, admission, resend } = parts;
  const metrics = deps.metrics ?? noopMetrics;
  const events = deps.events ?? noopEventSink;

  /** The new verification as it is written: pending, sent once, on the first step of its route. */
  function newVerification(
    id: string,
    service: Service,
    input: StartInput,
    destination: Destination,
    route: RouteStep[],
    code: string,
    test: boolean,
    now: number,
  ): Verification {
    const { policy } = service;
    return {
      id,
      serviceId: service.id,
      to: destination.to,
      country: destination.country,
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
      locale: localeFor(service, input.locale, destination.country),
      transaction: input.transaction ?? null,
      test,
      codeLength: Buffer.byteLength(code, "utf8"),
    };
  }

  /**
   * Writes a new verification with its code and first delivery, as part of `unit`. Null when a
   * concurrent start for the same destination wrote its verification first.
   */
  async function write(
    unit: StoreUnit,
    service: Service,
    input: StartInput,
    destination: Destination,
    route: RouteStep[],
    testCode: string | null,
    now: number,
  ): Promise<Written | null> {
    const id = ids.verification();
    // A fixed test code is kept in the form typed codes are compared in, so it matches however it is typed.
    const code =
      testCode === null
        ? generateCode(service.policy.codeLength, ALPHABETS[service.settings.alphabet])
        : normalizeCandidate(testCode, service.settings.alphabet);
    const v = newVerification(id, service, input, destination, route, code, testCode !== null, now);
    // A test number gets no delivery row at all, so no provider can ever be called for it.
    // The first delivery is written already claimed for the inline send below.
    const first = v.test ? null : { ...newDelivery(ids, v, 0, now), leaseUntil: now + dispatcher.leaseMs };
    const secrets = { codeHash: codes.hash(id, code, transactionBinding(v.transaction)), sealedCode: codes.seal(id, code) };
    stopIfCallerGone(input.caller?.abort);
    if (!(await unit.join(store).createVerification(v, secrets, first))) return null;
    return { v, first, sealedCode: secrets.sealedCode, code };
  }

  /**
   * Admits the first send (a test number sends nothing) and writes the verification, as part of
   * `unit`; a send the conversion guard withholds from its paying channels is written without them.
   */
  async function admitAndWrite(
    unit: StoreUnit,
    service: Service,
    input: StartInput,
    destination: Destination,
    route: RouteStep[],
    testCode: string | null,
    now: number,
  ): Promise<Written | null> {
    const withheld =
      testCode !== null
        ? null
        : await admission.admitSend(
            { ...destination, channel: route[0]?.channel, unpaidAlternative: reachesUnpaid(route, 0, false) },
            input.clientIp,
            true,
            now,
            unit,
          );
    const sent = withheld ? withholdPaidSteps(route, withheld) : route;
    return write(unit, service, input, destination, sent, testCode, now);
  }

  /**
   * Once the write is committed: announces the new verification and sends its first delivery inline.
   * `optedOut`: the number's opt-outs as the start's unit read them, so the send does not read them again.
   */
  async function announceAndSend(
    service: Service,
    input: StartInput,
    destination: Destination,
    { v, first, sealedCode, code }: Written,
    optedOut: ReadonlySet<Channel> | undefined,
  ): Promise<Verification> {
    const abort = input.caller?.abort;
    // Settled right after its commit. A hang-up that reached the server right behind the request, or
    // while the write was committing, is read only in the next turn: the check waits for that read.
    // Nobody has been told of this verification yet, so a caller gone by then has it closed unsent
    // (its claimed delivery is never sent) and unannounced.
    await input.caller?.nextRead?.();
    if (abort?.aborted) {
      await store.closeVerification(v.id, "canceled", clock.now());
      stopIfCallerGone(abort);
    }
    if (first) {
      metrics.verificationStarted(service.id, first.channel, destination.country);
    }
    await events.emit("verification.started", verificationData(v));
    // A test number (no delivery) is answered as written, like an accepted send.
    if (!first) return v;
    // Written claimed, the first delivery is on its first try: the job is described here, not read back.
    const job = deliveryJob({ delivery: { ...first, tries: 1 }, verification: v, service, sealedCode, code, optedOut });
    input.caller?.waiting?.();
    return status.afterDispatch(service, v, await dispatcher.dispatchClaimed(job));
  }

  return {
    /**
     * Destination and route → screening → the destination's live verification (resent when it is
     * for the same payment, else canceled) → admission of the send → write → inline send.
     */
    async start(service: Service, input: StartInput): Promise<Verification> {
      stopIfCallerGone(input.caller?.abort);
      const destination = parseDestination(input.to, {
        country: input.country,
        defaultCountry: service.settings.defaultCountry,
      });
      const transaction = input.transaction ?? null;
      const testCode = testCodeFor(service, destination.to);
      const test = testCode !== null;
      let screened: Screened | null = null;
      for (let round = 0; round < START_ROUNDS; round++) {
        // Screening (the first round), the live verification, admission and the write are one store
        // unit: they wait for one commit together, and whatever they refuse is answered after it.
        const step = await store.unit(async (unit): Promise<Step> => {
          screened ??= await admission.screenStart(service, destination, test, input, unit);
          const now = clock.now();
          const live = await unit.join(store).findPendingByDestination(service.id, destination.to, now);
          if (live) return { now, screened, live };
          return {
            now,
            screened,
            live: null,
            written: await admitAndWrite(unit, service, input, destination, screened.route, testCode, now),
          };
        });
        let written = step.written ?? null;
        if (step.live) {
          if (sameTransaction(step.live.transaction, transaction))
            return resend.resendLive(service, step.live, input.clientIp, input.caller);
          // Another payment needs another code: the live one is canceled rather than resent with the wrong amount.
          await status.closeCanceled(step.live, step.now);
          written = await store.unit((unit) =>
            admitAndWrite(unit, service, input, destination, step.screened.route, testCode, step.now),
          );
        }
        if (written) return announceAndSend(service, input, destination, written, step.screened.optedOut);
        // A concurrent start for the same destination won; go round and treat this one as its resend.
      }
      throw new VerifydError("service_unavailable", "too many concurrent starts for this destination; retry");
    },
  };
}
