import type { LimitRule } from "../core/ports.js";
import { rate } from "./kinds.js";
import { type Setting, setting } from "./table.js";
import type { RateSetting } from "./units.js";

/** Each rule's count and window: `config.limits`, as the limiters take it. */
export type LimitSettings = Record<LimitRule, RateSetting>;

/**
 * Every rate-limit rule, with the variable that sets it and its default (count/window). Keyed by
 * the domain's `LimitRule`, so a rule without a row here does not compile; the variable's name is
 * checked against the rule's, so the two cannot drift apart.
 */
const LIMITS: { [R in LimitRule]: { variable: `VERIFYD_LIMIT_${Uppercase<R>}`; default: string } } = {
  sends_per_destination: { variable: "VERIFYD_LIMIT_SENDS_PER_DESTINATION", default: "5/10m" },
  calls_per_destination: { variable: "VERIFYD_LIMIT_CALLS_PER_DESTINATION", default: "3/1h" },
  emails_per_domain: { variable: "VERIFYD_LIMIT_EMAILS_PER_DOMAIN", default: "1000/1h" },
  sends_per_prefix: { variable: "VERIFYD_LIMIT_SENDS_PER_PREFIX", default: "30/1h" },
  sends_per_country: { variable: "VERIFYD_LIMIT_SENDS_PER_COUNTRY", default: "500/1h" },
  starts_per_ip: { variable: "VERIFYD_LIMIT_STARTS_PER_IP", default: "20/1h" },
  starts_per_device: { variable: "VERIFYD_LIMIT_STARTS_PER_DEVICE", default: "10/1h" },
  starts_per_user: { variable: "VERIFYD_LIMIT_STARTS_PER_USER", default: "10/1h" },
  requests_per_key: { variable: "VERIFYD_LIMIT_REQUESTS_PER_KEY", default: "6000/1m" },
  failed_checks_per_destination: { variable: "VERIFYD_LIMIT_FAILED_CHECKS_PER_DESTINATION", default: "10/1h" },
  failed_checks_per_ip: { variable: "VERIFYD_LIMIT_FAILED_CHECKS_PER_IP", default: "30/1h" },
  inbound_approvals_per_sender: { variable: "VERIFYD_LIMIT_INBOUND_APPROVALS_PER_SENDER", default: "5/1h" },
  inbound_unknown_per_sender: { variable: "VERIFYD_LIMIT_INBOUND_UNKNOWN_PER_SENDER", default: "10/1h" },
};

/** The rows above as a settings table, which reads to a `LimitSettings`. */
export const LIMIT_SETTINGS = Object.fromEntries(
  Object.entries(LIMITS).map(([rule, row]) => [rule, setting(row.variable, rate(row.default))]),
) as Record<LimitRule, Setting<ReturnType<typeof rate>>>;
