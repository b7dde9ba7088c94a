import type { Screening } from "../abuse.js";
import type { CodeKit } from "../codes.js";
import type { ConversionGuard } from "../conversion.js";
import type { EventSink } from "../events.js";
import type { Metrics } from "../metrics.js";
import type { ChangeNotifier } from "../notifier.js";
import type { Clock, DelegatedCodes, Dispatcher, Ids, Limiter } from "../ports.js";
import type { RoutePlanner } from "../route-planner.js";
import type { Store } from "../store/index.js";

/** What the verification flow runs on; every part of it (start, resend, status, check) takes the same deps. */
export interface VerificationDeps {
  store: Store;
  clock: Clock;
  ids: Ids;
  codes: CodeKit;
  limiter: Limiter;
  dispatcher: Dispatcher;
  /** Present when some provider sends its own codes (delegated steps). */
  delegated?: DelegatedCodes;
  /** Signalled when a verification is approved or canceled, for long-polling readers. */
  notifier?: ChangeNotifier;
  metrics?: Metrics;
  /** Event webhooks to the integrator; a no-op when absent. */
  events?: EventSink;
  /** Number-type and country screening of new verifications' destinations. */
  screening?: Screening;
  /** Blocks prefixes and countries whose sends stop turning into approvals. */
  conversion?: ConversionGuard;
  /** Orders a new verification's route (learned routes, channel memory); the configured order without it. */
  routePlanner?: Pick<RoutePlanner, "plan">;
}
