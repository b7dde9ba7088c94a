import type { Verification } from "../../src/core/model.js";
import { createNumberVault } from "../../src/core/number-vault.js";

/** The number vault the store suites seal with. */
export const testVault = createNumberVault("store-test-secret-0123456789abcdef0123456789");

/** A pending verification of `svc_test` created at `at`, for the Store contract suites. */
export function sampleVerification(id: string, at: number, over: Partial<Verification> = {}): Verification {
  return {
    id,
    serviceId: "svc_test",
    to: "+14155550100",
    country: "US",
    status: "pending",
    route: [
      { channel: "whatsapp", providers: ["p1"] },
      { channel: "sms", providers: ["p2"] },
    ],
    currentStep: 0,
    sends: 1,
    checks: 0,
    maxChecks: 3,
    maxSends: 3,
    clientIp: null,
    createdAt: at,
    updatedAt: at,
    expiresAt: at + 600_000,
    lastSentAt: at,
    approvedAt: null,
    ...over,
  };
}
