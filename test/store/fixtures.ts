import type { Verification } from "../../src/core/ports.js";

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
