/**
 * Where the abuse rules tell of a send they refused (number and email screening, the send
 * velocity, the conversion guard), in enforce mode. Under a pumping wave refusals come by the
 * thousand per second and a log line each would cost more than the refusal itself, so the adapter
 * (observability/refusal-log.ts) sums them up in a line every few seconds; each is still counted in
 * the metrics (`verifyd_abuse_blocked_total`, `verifyd_conversion_guard_total`). Monitor mode's lines
 * are not refusals: each is logged as it comes, as that mode is there to report every one.
 */
export interface RefusalLog {
  /** One refusal: `message` says which rule (the log line's message), `fields` what it refused. */
  refused(message: string, fields: RefusalFields): void;
}

/** What a refusal's line says: the destination masked, its country and the reasons, and more per rule. */
export interface RefusalFields {
  to: string;
  country?: string | null;
  reasons: readonly string[];
  [field: string]: unknown;
}

interface WarnLogger {
  warn(fields: object, message: string): void;
}

/**
 * Tells of an enforce-mode refusal: to `refusals` when there is one, else as one warning line of
 * `logger` (what a caller without the summary, such as a unit test, gets).
 */
export function tellRefusal(to: { refusals?: RefusalLog; logger?: WarnLogger }, message: string, fields: RefusalFields): void {
  if (to.refusals) to.refusals.refused(message, fields);
  else to.logger?.warn(fields, message);
}
