import { isEmailAddress, maskEmail } from "./email.js";
import { VerifydError } from "./errors.js";
import type { AbuseMode, Channel, RouteStep } from "./model.js";
import type { LineType, PhoneNumber } from "./phone.js";
import type { Limiter, LimitRule } from "./ports.js";
import { type RefusalLog, tellRefusal } from "./refusals.js";

/**
 * Destination screening against SMS pumping (toll fraud): number types no code should be sent to
 * on a channel, countries refused or not allowed, and an allow-list that bypasses both.
 */

/** A line type, or `unknown` when libphonenumber cannot tell. */
export type ScreenedType = LineType | "unknown";

export interface ScreeningRules {
  /** Per channel, the line types that channel refuses. */
  refusedTypes: Record<Channel, readonly ScreenedType[]>;
  /** ISO 3166-1 alpha-2 codes refused on every channel. */
  blockedCountries: readonly string[];
  /** When not empty, only these countries are served. */
  allowedCountries: readonly string[];
  /** E.164 numbers or prefixes (e.g. `+4477009`) the rules never refuse. */
  allowNumbers: readonly string[];
  /** `enforce` refuses; `monitor` only logs what would be refused. */
  mode: AbuseMode;
  /** Digits dropped from the end of a number to form its velocity prefix (default 4). */
  prefixDigits?: number;
  /** The screening of email destinations (`email-screening.ts`); unset: `DEFAULT_EMAIL_SCREENING`. */
  email?: EmailScreeningRules;
}

export interface EmailScreeningRules {
  /** Refuse addresses at disposable-mailbox domains. @default true */
  refuseDisposable: boolean;
  /** Domains (and their subdomains) never refused as disposable and not counted by the domain velocity. */
  allowDomains: readonly string[];
}

export const DEFAULT_EMAIL_SCREENING: EmailScreeningRules = { refuseDisposable: true, allowDomains: [] };

const SMS_REFUSED: readonly ScreenedType[] = [
  "premium_rate",
  "shared_cost",
  "toll_free",
  "uan",
  "pager",
  "voicemail",
  "unknown",
  "fixed_line",
];

/**
 * A call reaches fixed lines, which is what it is for; it refuses the ranges that pay their owner per
 * minute or forward anywhere (international revenue share fraud pumps calls to exactly those).
 */
const VOICE_REFUSED: readonly ScreenedType[] = [
  "premium_rate",
  "shared_cost",
  "toll_free",
  "uan",
  "pager",
  "voicemail",
  "personal_number",
  "unknown",
];

export const DEFAULT_REFUSED_TYPES: Record<Channel, readonly ScreenedType[]> = {
  sms: SMS_REFUSED,
  rcs: SMS_REFUSED,
  whatsapp: ["premium_rate", "shared_cost", "pager", "voicemail"],
  voice: VOICE_REFUSED,
  // An email step never carries a code to a phone number (see routing.ts), so it screens no line type.
  email: [],
};

export const DEFAULT_SCREENING_RULES: ScreeningRules = {
  refusedTypes: DEFAULT_REFUSED_TYPES,
  blockedCountries: [],
  allowedCountries: [],
  allowNumbers: [],
  mode: "enforce",
};

export interface ScreeningResult {
  /** True when no channel given may carry a code to this destination. */
  blocked: boolean;
  /** Every rule the destination broke, snake_case, without duplicates. */
  reasons: string[];
}

export type Destination = Pick<PhoneNumber, "e164" | "country" | "type">;

const typeReason = (type: ScreenedType): string => (type === "unknown" ? "unknown_number_type" : `${type}_number`);

/** Whether the allow-list names this number or a prefix of it. */
export function isAllowListed(e164: string, allowNumbers: readonly string[]): boolean {
  return allowNumbers.some((entry) => e164.startsWith(entry));
}

/** The country rules: a reason when the destination's country is refused, else null. */
function countryReason(country: string | null, rules: ScreeningRules): string | null {
  if (country && rules.blockedCountries.includes(country)) return "country_blocked";
  if (rules.allowedCountries.length > 0 && !(country && rules.allowedCountries.includes(country))) {
    return "country_not_allowed";
  }
  return null;
}

/** The reason a channel refuses this destination's line type, or null when it accepts it. */
export function channelRefusal(type: LineType | null, channel: Channel, rules: ScreeningRules): string | null {
  const screened: ScreenedType = type ?? "unknown";
  return rules.refusedTypes[channel].includes(screened) ? typeReason(screened) : null;
}

/**
 * Screens a destination for the channels that could carry its code. It is blocked when its
 * country is refused, or when every channel refuses its line type.
 * @example screenDestination(normalizePhone("+449098790000"), ["sms"], DEFAULT_SCREENING_RULES)
 *   // { blocked: true, reasons: ["premium_rate_number"] }
 */
export function screenDestination(phone: Destination, channels: readonly Channel[], rules: ScreeningRules): ScreeningResult {
  if (isAllowListed(phone.e164, rules.allowNumbers)) return { blocked: false, reasons: [] };
  const reasons = new Set<string>();
  const geo = countryReason(phone.country, rules);
  if (geo) reasons.add(geo);
  let accepted = 0;
  for (const channel of channels) {
    const refusal = channelRefusal(phone.type, channel, rules);
    if (refusal) reasons.add(refusal);
    else accepted++;
  }
  const blocked = geo !== null || (channels.length > 0 && accepted === 0);
  return { blocked, reasons: [...reasons] };
}

/** The number with its middle hidden, for logs: +14155550100 → +1415***0100; an address → a***@example.com. */
export function maskNumber(e164: string): string {
  if (isEmailAddress(e164)) return maskEmail(e164);
  if (e164.length <= 9) return `${e164.slice(0, 3)}***`;
  return `${e164.slice(0, 5)}***${e164.slice(-4)}`;
}

interface ScreeningLogger {
  warn(fields: object, message: string): void;
}

export interface Screening {
  rules: ScreeningRules;
  logger?: ScreeningLogger;
  /** Where enforce-mode refusals go (summed up); without it each is a warning of `logger`. */
  refusals?: RefusalLog;
}

/**
 * Applies screening to a chosen route. In enforce mode, steps whose channel refuses the line type
 * are dropped, and a destination left with no step throws `blocked` with the reasons. In monitor
 * mode, the route is kept as is and what would have been refused is logged.
 */
export function screenRoute(route: RouteStep[], phone: Destination, screening: Screening | undefined): RouteStep[] {
  if (!screening) return route;
  const { rules, logger } = screening;
  const result = screenDestination(
    phone,
    route.map((step) => step.channel),
    rules,
  );
  if (result.reasons.length === 0) return route;
  // Allow-listed numbers come back with no reasons, so here every step is screened.
  const kept = result.blocked ? [] : route.filter((step) => channelRefusal(phone.type, step.channel, rules) === null);
  const fields = {
    to: maskNumber(phone.e164),
    country: phone.country,
    number_type: phone.type ?? "unknown",
    reasons: result.reasons,
    blocked: result.blocked,
    mode: rules.mode,
    dropped_channels: route.filter((step) => !kept.includes(step)).map((step) => step.channel),
  };
  if (rules.mode === "monitor") {
    logger?.warn(fields, "destination screening would refuse (monitor mode)");
    return route;
  }
  // A start refused outright is summed up with the others; one that only lost steps goes ahead, told as it comes.
  if (kept.length > 0) logger?.warn(fields, "destination screening refused");
  else tellRefusal(screening, "destination screening refused", fields);
  if (kept.length === 0) {
    throw new VerifydError("blocked", `the destination is refused: ${result.reasons.join(", ")}`, {
      extensions: { reasons: result.reasons },
    });
  }
  return kept;
}

export const DEFAULT_PREFIX_DIGITS = 4;

/** The number without its last `digits` digits: the key of the per-prefix send velocity. */
export function numberPrefix(e164: string, digits = DEFAULT_PREFIX_DIGITS): string {
  return e164.length > digits + 2 ? e164.slice(0, -digits) : e164;
}

/**
 * Counts a send against the velocity of its number prefix and country, which catch pumping spread
 * over many numbers. In enforce mode an exceeded rule throws `blocked` (403, not 429: the limit
 * protects against fraud, not against a client); in monitor mode it is only logged. Allow-listed
 * numbers are neither counted nor refused.
 */
export async function enforceSendVelocity(limiter: Limiter, phone: Destination, screening: Screening | undefined) {
  if (!screening) return;
  const { rules, logger } = screening;
  if (isAllowListed(phone.e164, rules.allowNumbers)) return;
  const checks: [LimitRule, string | null, string][] = [
    ["sends_per_prefix", numberPrefix(phone.e164, rules.prefixDigits), "prefix_velocity"],
    ["sends_per_country", phone.country, "country_velocity"],
  ];
  const reasons: string[] = [];
  for (const [rule, key, reason] of checks) {
    if (key === null) continue;
    const state = await limiter.consume(rule, key);
    if (!state.allowed) reasons.push(reason);
  }
  if (reasons.length === 0) return;
  const fields = { to: maskNumber(phone.e164), country: phone.country, reasons, blocked: true, mode: rules.mode };
  if (rules.mode === "monitor") {
    logger?.warn(fields, "send velocity would refuse (monitor mode)");
    return;
  }
  tellRefusal(screening, "send velocity refused", fields);
  throw new VerifydError("blocked", `the destination is refused: ${reasons.join(", ")}`, { extensions: { reasons } });
}
