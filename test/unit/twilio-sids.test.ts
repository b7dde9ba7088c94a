import { describe, expect, it } from "vitest";
import { VerifydError } from "../../src/core/errors.js";
import { fromVerifydError } from "../../src/http/twilio/errors.js";
import { attemptSid, serviceIdOf, serviceSid, verificationIdOf, verificationSid } from "../../src/http/twilio/sids.js";

const HEX = "0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4";

describe("Twilio sids for verifyd ids", () => {
  it("reuses the 32 hex digits of generated ids, both ways", () => {
    expect(verificationSid(`ver_${HEX}`)).toBe(`VE${HEX}`);
    expect(verificationIdOf(`VE${HEX}`)).toBe(`ver_${HEX}`);
    expect(serviceSid(`svc_${HEX}`)).toBe(`VA${HEX}`);
    expect(serviceIdOf(`VA${HEX}`)).toBe(`svc_${HEX}`);
    expect(attemptSid(`dlv_${HEX}`)).toBe(`VL${HEX}`);
  });

  it("gives other ids a stable hashed sid that does not read back as an id", () => {
    const sid = serviceSid("svc_default");
    expect(sid).toMatch(/^VA[0-9a-f]{32}$/);
    expect(serviceSid("svc_default")).toBe(sid);
    expect(serviceSid("svc_other")).not.toBe(sid);
    expect(serviceIdOf(sid)).not.toBe("svc_default");
  });

  it("refuses sids of the wrong kind or form", () => {
    expect(verificationIdOf(`VA${HEX}`)).toBeNull();
    expect(verificationIdOf(`VE${HEX.toUpperCase()}`)).toBeNull();
    expect(serviceIdOf(`VA${HEX}0`)).toBeNull();
  });
});

describe("verifyd errors as Twilio codes", () => {
  const limit = (rule: "failed_checks_per_ip" | "sends_per_destination" | "requests_per_key") =>
    new VerifydError("rate_limited", "x", {
      limit: { rule, allowed: false, limit: 1, remaining: 0, windowMs: 1000, resetMs: 1000 },
      retryAfterMs: 1000,
    });

  it("maps limits by rule and screening by reason", () => {
    expect(fromVerifydError(limit("failed_checks_per_ip"), "/p")).toMatchObject({ code: 60202, status: 429, retryAfterMs: 1000 });
    expect(fromVerifydError(limit("sends_per_destination"), "/p")).toMatchObject({ code: 60203, status: 429 });
    expect(fromVerifydError(limit("requests_per_key"), "/p")).toMatchObject({ code: 20429, status: 429 });
    const blocked = (reasons: string[]) => new VerifydError("blocked", "x", { extensions: { reasons } });
    expect(fromVerifydError(blocked(["prefix_velocity"]), "/p").code).toBe(60410);
    expect(fromVerifydError(blocked(["fixed_line_number"]), "/p").code).toBe(60205);
    expect(fromVerifydError(blocked(["fixed_line_number", "country_blocked"]), "/p").code).toBe(60605);
    expect(fromVerifydError(new VerifydError("verification_closed", "x"), "/Services/VA1").message).toBe(
      "The requested resource /Services/VA1 was not found",
    );
  });
});
