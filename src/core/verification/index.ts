import { createAdmission } from "./admission.js";
import { createCheckFlow } from "./check.js";
import type { VerificationDeps } from "./deps.js";
import { createResendFlow } from "./resend.js";
import { createStartFlow } from "./start.js";
import { createStatusFlow } from "./status.js";

/**
 * Phone verification: start (or resend) a code, check it, read or close the verification.
 * `start.ts` reads top-down; the gates a send must pass are in `admission.ts`.
 */

export type { CheckOutcome, CheckReason, CheckTarget } from "./check.js";
export type { VerificationDeps } from "./deps.js";
export type { StartInput } from "./start.js";
export { effectiveStatus, nextResendAt } from "./status.js";

export function createVerificationService(deps: VerificationDeps) {
  const status = createStatusFlow(deps);
  const admission = createAdmission(deps);
  const resend = createResendFlow(deps, status, admission);
  const { start } = createStartFlow(deps, { status, admission, resend });
  const { check } = createCheckFlow(deps);
  return {
    start,
    get: status.get,
    resend: resend.resend,
    cancel: status.cancel,
    approve: status.approve,
    check,
  };
}

export type VerificationService = ReturnType<typeof createVerificationService>;
