import { destinationLimitKey } from "../core/email.js";
import type { NumberVault } from "../core/number-vault.js";
import type { LimitRule } from "../core/ports.js";

/**
 * How a store keeps phone numbers at rest, whatever its SQL dialect: a number column holds the
 * number's blind index (so equality lookups, unique indexes and erasure run on it) and a sibling
 * column holds the number sealed; documents that contain numbers (event payloads, stored
 * idempotent answers) are sealed whole. Every AAD context is named here, so a store that reads
 * a box seals and opens it the same way as the one that wrote it.
 */

export const sealedContext = {
  destination: (verificationId: string) => `verifications.to_number:${verificationId}`,
  verifiedNumber: (verificationId: string) => `verifications.verified_number:${verificationId}`,
  /** Bound to the row's index, so a sealed number cannot be moved under another number's key. */
  optOut: (phoneIndex: string) => `opt_outs.phone:${phoneIndex}`,
  eventPayload: (eventId: string) => `events.payload:${eventId}`,
  idempotentBody: (serviceId: string, key: string) => `idempotency_keys.response_body:${serviceId}:${key}`,
  idempotentFingerprint: (serviceId: string, key: string) => `idempotency_keys.fingerprint:${serviceId}:${key}`,
  abuseBlockKey: (blockId: string) => `abuse_blocks.key:${blockId}`,
} as const;

/** How the conversion guard's counters and blocks name a prefix, range or email domain (by blind index) or a country (as is). */
export function storedConversionKey(vault: NumberVault, scope: string, key: string): string {
  return scope === "country" ? key : vault.index(`${scope}:${key}`);
}

/**
 * How the conversion guard's history names a destination (a number or an address) it remembers as
 * approved: by its blind index, under scope `destination`.
 */
export function storedApprovedDestination(vault: NumberVault, to: string): { scope: string; key: string } {
  return { scope: "destination", key: vault.index(`destination:${to}`) };
}

/** The stored form of a verification's destination: '' (an inbound verification any sender may answer) stays ''. */
export function destinationIndex(vault: NumberVault, to: string): string {
  return to === "" ? "" : vault.index(to);
}

/** The blind index and the sealed box of a number, for a row that keeps both. */
export function storedNumber(
  vault: NumberVault,
  value: string | null,
  context: string,
): { index: string | null; sealed: Buffer | null } {
  if (value === null || value === "") return { index: value, sealed: null };
  return { index: vault.index(value), sealed: vault.seal(value, context) };
}

/** The clear number of a row: '' or null when nothing was sealed. */
export function openNumber(vault: NumberVault, sealed: Buffer | null, context: string): string | null {
  return sealed ? vault.open(sealed, context) : null;
}

/**
 * Limiter rules whose key is a destination (phone number or email address) or a part of one (a
 * prefix, an email domain), or the integrator's id of a person (device, user account): their
 * counters are keyed by index.
 */
export const NUMBER_KEYED_RULES: readonly LimitRule[] = [
  "sends_per_destination",
  "calls_per_destination",
  "emails_per_domain",
  "sends_per_prefix",
  "starts_per_device",
  "starts_per_user",
  "failed_checks_per_destination",
  "inbound_approvals_per_sender",
  "inbound_unknown_per_sender",
];

/** The key a limiter stores for `rule`: a blind index when the key is (part of) a number, else as given. */
export function storedLimitKey(vault: NumberVault, rule: LimitRule, key: string): string {
  return NUMBER_KEYED_RULES.includes(rule) ? vault.index(key) : key;
}

/** The rate-limit rules whose counters are keyed by a phone number (rate-limiter-flexible keys are `<rule>:<key>`). */
const PER_NUMBER_RULES: readonly (LimitRule | `${LimitRule}_strikes`)[] = [
  "sends_per_destination",
  "calls_per_destination",
  "failed_checks_per_destination",
  "failed_checks_per_destination_strikes", // the lockouts remembered for escalation (limits/limiter.ts)
  "inbound_approvals_per_sender",
  "inbound_unknown_per_sender",
];

/** The stored keys of every rate-limit counter about `number`, which erasing the number deletes. */
export function perNumberLimitKeys(vault: NumberVault, number: string): string[] {
  // A strikes counter is keyed like its rule's counter (limits/limiter.ts).
  const baseRule = (prefix: (typeof PER_NUMBER_RULES)[number]) => prefix.replace(/_strikes$/, "") as LimitRule;
  // An address's counters are keyed by its limit key (`destinationLimitKey`), as the guards count them.
  const key = destinationLimitKey(number);
  return PER_NUMBER_RULES.map((rule) => `${rule}:${storedLimitKey(vault, baseRule(rule), key)}`);
}

/** The verification a stored idempotent answer is about (its `id`), kept in clear beside the sealed body for erasure. */
export function answeredVerificationId(body: string): string | null {
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    return typeof id === "string" ? id : null;
  } catch {
    return null;
  }
}
