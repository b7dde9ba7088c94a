import { DEFAULT_PREFIX_DIGITS, numberPrefix } from "./abuse.js";
import { emailDomain, isEmailAddress } from "./email.js";
import type { ConversionKey, ConversionReason, ConversionScope } from "./model.js";
import type { ConversionStanding, ConversionTotals } from "./store/conversion.js";

/**
 * The conversion guard's rules, as pure functions of the counts: which keys a number counts against,
 * which window they are judged on, whether a key's counts trip the guard, and how long a block lasts.
 *
 * Pumped numbers never enter their codes. A key is judged on the sends of the last `windowMs`:
 * - settled ones, older than the settle delay (their codes had every chance to be entered), block
 *   the key when they reach a floor and convert under `threshold`;
 * - all of them, the unsettled included, may exceed what the key's approvals are worth (1/`threshold`
 *   sends each) by that floor at most: a budget of unanswered sends, past which sends are refused at
 *   once, so a burst of pumping does not run free while its codes settle.
 * The floor is `minSends` for a trusted key (an approval on record within `memoryMs`, since its
 * latest block) and `probationSends` for a key on probation: a destination the service never
 * converted in, or one blocked before and not approved since.
 */

export interface ConversionSettings {
  /** How far back sends are summed. @default 1 h */
  windowMs: number;
  /** Unanswered sends a trusted key may have at a time, and the settled sends it is judged on. @default 10 */
  minSends: number;
  /** Approvals per send under which the guard trips; 0 turns the guard off. @default 0.1 */
  threshold: number;
  /** How long the first, second, … block of a key within `memoryMs` lasts; the last repeats. @default [1 h, 4 h, 24 h] */
  cooldownsMs: readonly number[];
  /** Sends younger than this are left out of the judgement. @default 10 min */
  settleMs: number;
  /** Unanswered sends a key on probation may have at a time, and the settled sends it is judged on. @default 5 */
  probationSends: number;
  /** How long approvals and blocks are remembered: a key without an approval this recent is on probation. @default 30 d */
  memoryMs: number;
}

const HOUR = 3_600_000;

export const DEFAULT_CONVERSION_SETTINGS: ConversionSettings = {
  windowMs: HOUR,
  minSends: 10,
  threshold: 0.1,
  cooldownsMs: [HOUR, 4 * HOUR, 24 * HOUR],
  settleMs: 600_000,
  probationSends: 5,
  memoryMs: 30 * 24 * HOUR,
};

/**
 * Sends and approvals are counted per minute of their verification's start (its cohort). A window
 * ends at the last whole minute before `now - settle`, so every send judged is at least `settle`
 * old, and none older than `settle` + 1 min is left out, whatever the window's length.
 */
export const BUCKET_MS = 60_000;

export const bucketOf = (t: number) => Math.floor(t / BUCKET_MS) * BUCKET_MS;

/** The settled window at `now`: the bucket starts `[from, to)`. */
export function settledWindow(now: number, s: Pick<ConversionSettings, "windowMs" | "settleMs">): { from: number; to: number } {
  const to = bucketOf(now - s.settleMs);
  return { from: to - s.windowMs, to };
}

/** A range is this many digits shorter than a prefix: a hundred prefixes. */
export const RANGE_EXTRA_DIGITS = 2;

/**
 * The keys a destination counts against: a number's prefix, range and country, narrowest first (a
 * prefix or range that would be the whole number, a very short one, is left out); an email
 * address's domain.
 */
export function conversionKeys(to: string, country: string | null, prefixDigits = DEFAULT_PREFIX_DIGITS): ConversionKey[] {
  if (isEmailAddress(to)) return [{ scope: "domain", key: emailDomain(to) }];
  const keys: ConversionKey[] = [];
  const prefix = numberPrefix(to, prefixDigits);
  if (prefix !== to) keys.push({ scope: "prefix", key: prefix });
  const range = numberPrefix(to, prefixDigits + RANGE_EXTRA_DIGITS);
  if (range !== to && range !== prefix) keys.push({ scope: "range", key: range });
  if (country) keys.push({ scope: "country", key: country });
  return keys;
}

/** Whether a key has earned normal judgement: an approval within memory, since its latest block. */
export function isTrusted(standing: ConversionStanding, now: number, memoryMs: number): boolean {
  const { lastApprovedAt, blockedUntil } = standing;
  if (lastApprovedAt === null || lastApprovedAt <= now - memoryMs) return false;
  return blockedUntil === null || lastApprovedAt >= blockedUntil;
}

export interface Verdict {
  /** `block`: open a block for the key; `hold`: refuse this send only, the key is over its budget. */
  action: "block" | "hold";
  reason: ConversionReason;
  /** The counts that tripped the guard. */
  totals: ConversionTotals;
}

/**
 * The floor of a key blocked before and not approved since: one unanswered send at a time, enough
 * for a real user to prove the key again, and all a pumping wave gets when it comes back.
 */
const AFTER_BLOCK_SENDS = 1;

const trips = (t: ConversionTotals, min: number, threshold: number) => t.sends >= min && t.approvals / t.sends < threshold;

/**
 * Judges one key, whose standing counts the send being judged: a verdict when it trips the guard,
 * else null. A trusted key's floor is `minSends`, a key on probation's `probationSends`:
 * - its settled sends, once they reach the floor, must convert at `threshold` or the key is blocked;
 * - all its sends of the window, the unsettled included, may exceed what its approvals are worth
 *   (1/`threshold` sends each) by the floor at most: past it, sends are refused until answers come.
 */
export function judgeKey(
  scope: ConversionScope,
  standing: ConversionStanding,
  now: number,
  s: Pick<ConversionSettings, "minSends" | "threshold" | "probationSends" | "memoryMs">,
): Verdict | null {
  const { settled, unsettled, lastApprovedAt } = standing;
  const trusted = isTrusted(standing, now, s.memoryMs);
  const blockedBefore = standing.blockedUntil !== null && standing.blockedUntil > now - s.memoryMs;
  const floor = trusted ? s.minSends : blockedBefore ? AFTER_BLOCK_SENDS : s.probationSends;
  const approvedBefore = lastApprovedAt !== null && lastApprovedAt > now - s.memoryMs;
  const reason: ConversionReason = approvedBefore ? `low_conversion_${scope}` : `unproven_${scope}`;
  if (trips(settled, floor, s.threshold)) return { action: "block", reason, totals: settled };
  const all = { sends: settled.sends + unsettled.sends, approvals: settled.approvals + unsettled.approvals };
  return all.sends > floor + all.approvals / s.threshold ? { action: "hold", reason, totals: all } : null;
}

/** How long a key's block lasts when `earlier` blocks of it were opened within memory. */
export function cooldownFor(earlier: number, cooldownsMs: readonly number[]): number {
  return cooldownsMs[Math.min(earlier, cooldownsMs.length - 1)] as number;
}
