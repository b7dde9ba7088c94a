/**
 * What a simulated scenario is made of: real users per country, and pumping waves. Times are
 * milliseconds from the start of the scenario; rates are per simulated hour.
 */

export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** The real users of one country. */
export interface RealTraffic {
  country: string;
  /** Mean starts per hour; arrivals follow a day's curve around it (quiet nights, busy evenings). */
  perHour: number;
  /** Share of the country's numbers with a WhatsApp account (the rest fall back to SMS at once). */
  whatsapp: number;
  /** Share of users who enter the code they receive. */
  enters: number;
  /** Share of starts by users who verified before (a returning login). */
  returning: number;
}

/**
 * A pumping wave: bots start verifications to numbers they profit from and never enter a code.
 * `sequential` walks consecutive numbers of its ranges; `random` draws numbers anywhere in them.
 */
export interface Wave {
  label: string;
  country: string;
  pattern: "sequential" | "random";
  /** How many ranges of `rangeSize` consecutive numbers the wave spreads over. */
  ranges: number;
  rangeSize: number;
  perHour: number;
  startAt: number;
  durationMs: number;
  /** How many client IPs the bots use; 0 for a new IP on every request (a botnet or residential proxies). */
  ips: number;
  /** Resends asked for each pumped verification, 30 s apart (each is another paid message). */
  resends: number;
  /**
   * Share of the country's real users whose numbers are in the wave's ranges (an operator's ranges
   * that real subscribers use too), from the start of the scenario: the ranges have a history of
   * approvals when the wave comes.
   */
  realShare: number;
}

export interface Scenario {
  name: string;
  description: string;
  /** The hour of the day (UTC) the scenario starts at: the day's curve of real traffic follows it. */
  startHour: number;
  /** Real traffic before the measured part: the history a running service has. */
  warmupMs: number;
  /** The measured part, after the warm-up. */
  durationMs: number;
  real: RealTraffic[];
  waves: Wave[];
  /** Environment overrides for verifyd (settings under test). */
  env?: Record<string, string>;
}

/** What one scenario measured, after its warm-up. */
export interface Outcome {
  scenario: string;
  realUsers: number;
  /** Real users refused at least one send (start or resend). */
  realRefused: number;
  approvals: number;
  /** Messages providers accepted (every WhatsApp and SMS send), and the billed ones (SMS and delivered WhatsApp). */
  sent: number;
  billable: number;
  pumpAttempts: number;
  pumpRefused: number;
  /** Messages billed for pumped numbers. */
  pumpBilled: number;
  /** Refused sends by reason, real users and pumping apart. */
  reasons: { real: Record<string, number>; pump: Record<string, number> };
  /** Monitor mode: what would have been refused (pumping sends, real users), and the reasons logged for each. */
  monitored: { pumpSends: number; realUsers: number; reasons: { real: Record<string, number>; pump: Record<string, number> } };
}
