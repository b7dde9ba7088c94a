import { describe, expect, it } from "vitest";
import { DEFAULT_SCREENING_RULES, screenRoute } from "../../src/core/abuse.js";
import { parseDestination } from "../../src/core/destination.js";
import type { RouteStep, Service } from "../../src/core/model.js";
import { chooseRoute } from "../../src/core/routing.js";
import { DEFAULT_SETTINGS } from "../../src/core/service-settings.js";

const service = (route: RouteStep[], countryRoutes: Record<string, RouteStep[]> = {}): Service => ({
  id: "svc_test",
  name: "Acme",
  policy: { codeLength: 6, ttlMs: 600_000, maxChecks: 5, maxSends: 5, resendCooldownMs: 30_000, resendPolicy: "same" },
  route,
  countryRoutes,
  settings: DEFAULT_SETTINGS,
});

const whatsapp: RouteStep = { channel: "whatsapp", providers: ["wa"], lineTypes: ["mobile", "fixed_line_or_mobile"] };
const sms: RouteStep = { channel: "sms", providers: ["sms"] };
const voice: RouteStep = { channel: "voice", providers: ["call"] };
const email: RouteStep = { channel: "email", providers: ["mail"] };
const route = [whatsapp, sms, voice, email];
const channels = (steps: RouteStep[]) => steps.map((s) => s.channel);
const screened = (to: string) => {
  const d = parseDestination(to);
  return channels(
    screenRoute(
      chooseRoute(service(route), d),
      { e164: d.to, country: d.country, type: d.type },
      { rules: DEFAULT_SCREENING_RULES },
    ),
  );
};

describe("routes by destination and line type", () => {
  it("a mobile keeps WhatsApp → SMS → voice; a landline is called; an address gets the email steps", () => {
    expect(screened("+4915112345678")).toEqual(["whatsapp", "sms", "voice"]);
    expect(screened("+14155550100")).toEqual(["whatsapp", "sms", "voice"]); // fixed_line_or_mobile
    expect(screened("+493012345678")).toEqual(["voice"]);
    expect(channels(chooseRoute(service(route), parseDestination("ada@example.com")))).toEqual(["email"]);
  });

  it("refuses what no step can reach: a landline without a voice step, an address without an email step", () => {
    expect(() =>
      screenRoute(
        chooseRoute(service([sms]), parseDestination("+493012345678")),
        { e164: "+493012345678", country: "DE", type: "fixed_line" },
        { rules: DEFAULT_SCREENING_RULES },
      ),
    ).toThrow(/fixed_line_number/);
    expect(() => chooseRoute(service([sms, voice]), parseDestination("ada@example.com"))).toThrow(/email addresses/);
    expect(() => chooseRoute(service([email]), parseDestination("+4915112345678"))).toThrow(/no delivery route/);
  });

  it("a premium-rate number is refused on every phone channel, calls included", () => {
    expect(() => screened("+449098790000")).toThrow(/premium_rate_number/);
  });

  it("a number whose type libphonenumber cannot tell matches no line-type filter", () => {
    expect(channels(chooseRoute(service([whatsapp, sms]), { country: null, type: null, email: false }))).toEqual(["sms"]);
  });

  it("the request's channels narrow and order the reachable steps", () => {
    expect(channels(chooseRoute(service(route), parseDestination("+4915112345678"), ["voice", "sms"]))).toEqual(["voice", "sms"]);
  });
});
