import { describe, expect, it } from "vitest";
import {
  DEFAULT_SCREENING_RULES,
  maskNumber,
  type ScreeningRules,
  screenDestination,
  screenRoute,
} from "../../src/core/abuse.js";
import { VerifydError } from "../../src/core/errors.js";
import type { RouteStep } from "../../src/core/model.js";
import { normalizePhone } from "../../src/core/phone.js";

const rules = (overrides: Partial<ScreeningRules> = {}): ScreeningRules => ({ ...DEFAULT_SCREENING_RULES, ...overrides });
const screen = (to: string, channels: Parameters<typeof screenDestination>[1], r = rules()) =>
  screenDestination(normalizePhone(to), channels, r);

describe("screenDestination", () => {
  it.each([
    ["+44 909 879 0000", "GB", "premium_rate_number"],
    ["+33 8 99 12 34 56", "FR", "premium_rate_number"],
    ["+1 900 555 0199", "US", "premium_rate_number"],
    ["+1 800 555 0199", "US", "toll_free_number"],
    ["+33 800 12 34 56", "FR", "toll_free_number"],
    ["+34 902 123 456", "ES", "shared_cost_number"],
    ["+49 30 12345678", "DE", "fixed_line_number"],
    ["+44 20 7183 8750", "GB", "fixed_line_number"],
  ])("refuses %s (%s) for SMS and RCS: %s", (to, country, reason) => {
    expect(normalizePhone(to).country).toBe(country);
    expect(screen(to, ["sms"])).toEqual({ blocked: true, reasons: [reason] });
    expect(screen(to, ["rcs"])).toEqual({ blocked: true, reasons: [reason] });
  });

  it.each([
    ["+447400123456", "GB"],
    ["+4915112345678", "DE"],
    ["+33612345678", "FR"],
    ["+34612345678", "ES"],
    ["+919876543210", "IN"],
    ["+14155550100", "US"],
  ])("lets the mobile (or mobile-capable) number %s (%s) through on every channel", (to, country) => {
    expect(normalizePhone(to).country).toBe(country);
    expect(screen(to, ["sms", "whatsapp", "rcs"])).toEqual({ blocked: false, reasons: [] });
  });

  it("refuses a number of unknown type for SMS", () => {
    expect(screenDestination({ e164: "+88213123456", country: null, type: null }, ["sms"], rules())).toEqual({
      blocked: true,
      reasons: ["unknown_number_type"],
    });
  });

  it("lets WhatsApp carry a fixed line or toll-free number but never a premium-rate or shared-cost one", () => {
    expect(screen("+49 30 12345678", ["whatsapp"])).toEqual({ blocked: false, reasons: [] });
    expect(screen("+1 800 555 0199", ["whatsapp"])).toEqual({ blocked: false, reasons: [] });
    expect(screen("+44 909 879 0000", ["whatsapp"])).toEqual({ blocked: true, reasons: ["premium_rate_number"] });
    expect(screen("+34 902 123 456", ["whatsapp"])).toEqual({ blocked: true, reasons: ["shared_cost_number"] });
  });

  it("is not blocked while one channel accepts, but names what the others refuse", () => {
    expect(screen("+49 30 12345678", ["sms", "whatsapp"])).toEqual({ blocked: false, reasons: ["fixed_line_number"] });
  });

  it("refuses blocked countries on every channel", () => {
    const r = rules({ blockedCountries: ["IN", "FR"] });
    expect(screen("+919876543210", ["sms", "whatsapp"], r)).toEqual({ blocked: true, reasons: ["country_blocked"] });
    expect(screen("+33 8 99 12 34 56", ["sms"], r)).toEqual({
      blocked: true,
      reasons: ["country_blocked", "premium_rate_number"],
    });
    expect(screen("+4915112345678", ["sms"], r)).toEqual({ blocked: false, reasons: [] });
  });

  it("serves only the allowed countries when an allow-list of countries is set", () => {
    const r = rules({ allowedCountries: ["US", "DE"] });
    expect(screen("+4915112345678", ["sms"], r)).toEqual({ blocked: false, reasons: [] });
    expect(screen("+14155550100", ["sms"], r)).toEqual({ blocked: false, reasons: [] });
    expect(screen("+447400123456", ["whatsapp"], r)).toEqual({ blocked: true, reasons: ["country_not_allowed"] });
    expect(screenDestination({ e164: "+88213123456", country: null, type: "mobile" }, ["sms"], r)).toEqual({
      blocked: true,
      reasons: ["country_not_allowed"],
    });
  });

  it("lets allow-listed numbers and prefixes bypass every rule", () => {
    const r = rules({ allowNumbers: ["+4490987", "+493012345678"], blockedCountries: ["GB", "DE"] });
    expect(screen("+44 909 879 0000", ["sms"], r)).toEqual({ blocked: false, reasons: [] });
    expect(screen("+49 30 12345678", ["sms"], r)).toEqual({ blocked: false, reasons: [] });
    // A neighbour of the listed number is still screened.
    expect(screen("+49 30 12345679", ["sms"], r)).toEqual({
      blocked: true,
      reasons: ["country_blocked", "fixed_line_number"],
    });
  });
});

describe("screenRoute", () => {
  const sms: RouteStep = { channel: "sms", providers: ["sms1"], fallbackAfterMs: null };
  const whatsapp: RouteStep = { channel: "whatsapp", providers: ["wa"], fallbackAfterMs: null };
  const logs: { fields: Record<string, unknown>; message: string }[] = [];
  const logger = { warn: (fields: object, message: string) => logs.push({ fields: fields as never, message }) };

  it("drops the steps whose channel refuses the number and keeps the rest", () => {
    const route = screenRoute([sms, whatsapp], normalizePhone("+49 30 12345678"), { rules: rules(), logger });
    expect(route).toEqual([whatsapp]);
  });

  it("keeps a route untouched for a mobile number, without logging", () => {
    logs.length = 0;
    const route = [sms, whatsapp];
    expect(screenRoute(route, normalizePhone("+4915112345678"), { rules: rules(), logger })).toBe(route);
    expect(logs).toHaveLength(0);
  });

  it("throws blocked with the reasons when no step remains", () => {
    try {
      screenRoute([sms, whatsapp], normalizePhone("+44 909 879 0000"), { rules: rules(), logger });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(VerifydError);
      expect((err as VerifydError).code).toBe("blocked");
      expect((err as VerifydError).details.extensions).toEqual({ reasons: ["premium_rate_number"] });
    }
  });

  it("in monitor mode keeps the whole route and logs the masked number with the reasons", () => {
    logs.length = 0;
    const route = [sms];
    const screened = screenRoute(route, normalizePhone("+44 909 879 0000"), {
      rules: rules({ mode: "monitor" }),
      logger,
    });
    expect(screened).toBe(route);
    expect(logs).toHaveLength(1);
    expect(logs[0]?.fields).toMatchObject({ to: "+4490***0000", reasons: ["premium_rate_number"], mode: "monitor" });
    expect(JSON.stringify(logs)).not.toContain("+449098790000");
  });
});

describe("maskNumber", () => {
  it("hides the middle digits", () => {
    expect(maskNumber("+14155550100")).toBe("+1415***0100");
    expect(maskNumber("+449098790000")).toBe("+4490***0000");
  });
});
