import { type CodeShape, fitsShape, normalizeCandidate } from "../code-input.js";
import { parseDestination } from "../destination.js";
import { noopEventSink, verificationData } from "../events.js";
import { clearFailedChecks, guardFailedChecks, recordFailedCheck } from "../guards.js";
import { noopMetrics } from "../metrics.js";
import type { Service, Verification, VerificationStatus } from "../model.js";
import { wasWithheld } from "../routing.js";
import type { Store } from "../store/index.js";
import type { StoreUnit } from "../store/unit.js";
import { sameTransaction, type Transaction, transactionBinding } from "../transaction.js";
import type { VerificationDeps } from "./deps.js";
import { effectiveStatus } from "./status.js";

/**
 * The check half of the verification flow: a typed code against a verification, with the
 * brute-force limits, the atomic attempt count, the constant-time comparison and the single approval.
 */

export type CheckReason =
  | "wrong_code"
  | "expired"
  | "max_attempts_reached"
  | "not_found"
  | "already_approved"
  | "canceled"
  /** The right or wrong code, but not the amount and payee it was issued for: counted as a failed attempt. */
  | "transaction_mismatch"
  /** Not the length or alphabet of the code, once spaces and dashes are removed: it cannot be right, so nothing is counted. */
  | "malformed_code";

/** Every well-formed check ends in one of these: data, not an error. */
export interface CheckOutcome {
  valid: boolean;
  status: VerificationStatus | null;
  reason: CheckReason | null;
  attemptsRemaining: number;
  verification: Verification | null;
}

/** A verification by id, or the live one of a number (`country` reads a national number, as at the start). */
export type CheckTarget = { id: string } | { to: string; country?: string | null };

export function createCheckFlow(deps: VerificationDeps) {
  const { store, clock, codes, limiter } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const events = deps.events ?? noopEventSink;
  // Test numbers stay out of the metrics, so dashboards show real traffic only.
  const tallied = (outcome: CheckOutcome): CheckOutcome => {
    if (!outcome.verification?.test) metrics.checked(outcome.valid ? "approved" : (outcome.reason ?? "unknown"));
    return outcome;
  };

  /** The live verification for a number or address, else its latest one (to explain why a check fails). */
  async function findByDestination(
    s: Store,
    service: Service,
    input: string,
    country?: string | null,
  ): Promise<Verification | null> {
    const { to } = parseDestination(input, { country, defaultCountry: service.settings.defaultCountry });
    return (await s.findPendingByDestination(service.id, to, clock.now())) ?? (await s.findLatestByDestination(service.id, to));
  }

  /**
   * The shape the live code of a pending verification has; null when there is none to tell by: the
   * code is wiped, or a provider of its route sends codes of its own (of a length verifyd does not set).
   */
  function liveCodeShape(service: Service, v: Verification): CodeShape | null {
    if (v.codeLength == null || effectiveStatus(v, clock.now()) !== "pending") return null;
    if (v.route.some((step) => step.providers.some((p) => deps.delegated?.delegates(p)))) return null;
    return { length: v.codeLength, alphabet: v.test ? null : service.settings.alphabet };
  }

  async function refusedOutcome(unit: StoreUnit, v: Verification): Promise<CheckOutcome> {
    const s = unit.join(store);
    const now = clock.now();
    const base = { valid: false, attemptsRemaining: 0, verification: v };
    switch (effectiveStatus(v, now)) {
      case "approved":
        return { ...base, status: "approved", reason: "already_approved" };
      case "canceled":
        return { ...base, status: "canceled", reason: "canceled" };
      case "expired":
      case "failed":
        if (v.status === "pending" && (await s.closeVerification(v.id, "expired", now)))
          await events.emit("verification.expired", verificationData({ ...v, status: "expired" }), unit);
        return { ...base, status: effectiveStatus(v, now) === "failed" ? "failed" : "expired", reason: "expired" };
      case "max_attempts_reached":
      case "pending":
        // A pending row refused by the counter has used all its checks (possibly a concurrent check's).
        if (v.status === "pending" && (await s.closeVerification(v.id, "max_attempts_reached", now)))
          await events.emit(
            "verification.max_attempts_reached",
            verificationData({ ...v, status: "max_attempts_reached" }),
            unit,
          );
        return { ...base, status: "max_attempts_reached", reason: "max_attempts_reached" };
    }
  }

  return {
    /**
     * Checks a code. Order: find → failed-check limits → the code's shape (a candidate that cannot
     * be the code is answered `malformed_code` and counts nowhere) → atomic attempt count → constant-time
     * compare → conditional approval (so concurrent correct checks approve exactly once). All of it
     * is one store unit: it waits for one commit, and is answered after it.
     */
    check(
      service: Service,
      target: CheckTarget,
      typed: string,
      clientIp?: string | null,
      transaction?: Transaction | null,
    ): Promise<CheckOutcome> {
      return store.unit((unit) => checkIn(unit, service, target, typed, clientIp, transaction));
    },
  };

  async function checkIn(
    unit: StoreUnit,
    service: Service,
    target: CheckTarget,
    typed: string,
    clientIp?: string | null,
    transaction?: Transaction | null,
  ): Promise<CheckOutcome> {
    const s = unit.join(store);
    const code = normalizeCandidate(typed, service.settings.alphabet);
    const v =
      "id" in target
        ? await s.getVerification(service.id, target.id)
        : await findByDestination(s, service, target.to, target.country);
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
    const shape = liveCodeShape(service, v);
    if (shape && !fitsShape(code, shape)) {
      return tallied({
        valid: false,
        status: "pending",
        reason: "malformed_code",
        attemptsRemaining: Math.max(0, v.maxChecks - v.checks),
        verification: v,
      });
    }
    const attempt = await s.recordCheck(service.id, v.id, clock.now());
    if (attempt.kind === "refused") return tallied(await refusedOutcome(unit, attempt.verification ?? v));

    const counted = attempt.verification;
    // The hash covers the presented payment, so a code for EUR 12.50 cannot approve EUR 1250.00; the explicit
    // comparison only names the reason. The hash is computed either way, so both failures cost the same.
    const presented = transaction ?? null;
    const codeMatches = codes.matches(attempt.codeHash, v.id, code, transactionBinding(presented));
    const bound = sameTransaction(counted.transaction, presented);
    // The code is ours, or (after a delegated step) the provider's own; either approves.
    if (bound && (codeMatches || (!counted.transaction && (await deps.delegated?.matches(v.id, code))))) {
      const now = clock.now();
      if (await s.approve(v.id, now)) {
        deps.notifier?.notify(v.id);
        await clearFailedChecks(limiter, v.to);
        if (!counted.test) await deps.conversion?.countApproval(counted, wasWithheld(counted.route), unit);
        const approved = { ...counted, status: "approved" as const, approvedAt: now, updatedAt: now };
        if (!counted.test)
          metrics.verificationApproved(service.id, counted.route[counted.currentStep]?.channel ?? "sms", counted.country);
        await events.emit("verification.approved", verificationData(approved), unit);
        return tallied({ valid: true, status: "approved", reason: null, attemptsRemaining: 0, verification: approved });
      }
      return tallied(await refusedOutcome(unit, (await s.getVerification(service.id, v.id)) ?? counted));
    }
    await recordFailedCheck(limiter, v.to, clientIp);
    const remaining = Math.max(0, counted.maxChecks - counted.checks);
    let status: VerificationStatus = "pending";
    if (remaining === 0) {
      if (await s.closeVerification(v.id, "max_attempts_reached", clock.now()))
        await events.emit(
          "verification.max_attempts_reached",
          verificationData({ ...counted, status: "max_attempts_reached" }),
          unit,
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
  }
}
