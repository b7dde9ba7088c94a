import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ADAPTER_TYPES } from "../../src/channels/adapter-types.js";
import { type AdapterType, buildSenders, checkRouteChannels } from "../../src/channels/registry.js";
import { loadConfig } from "../../src/config/env.js";
import { ConfigError } from "../../src/config/errors.js";
import type { Sender } from "../../src/core/sender.js";
import { FakeClock } from "../helpers/clock.js";

const baseConfig = loadConfig({ VERIFYD_DB: ":memory:", VERIFYD_SECRET: "registry-test-secret-0123456789abcdef" });
const deps = { clock: new FakeClock(), onStatus: async () => {}, onInbound: () => {} };

/** A lazily imported adapter type that counts its imports. */
function lazyType() {
  const loaded = { count: 0 };
  const type: AdapterType = {
    schema: z.object({ from: z.string() }),
    create: (_settings, d) =>
      ({ provider: d.name, channels: ["sms"], send: async () => ({ kind: "accepted", providerMessageId: "m" }) }) as never,
  };
  const load = async () => {
    loaded.count++;
    return type;
  };
  return { load, loaded };
}

describe("provider adapter registry", () => {
  it("imports an adapter type only when a configured provider uses it", async () => {
    const { load, loaded } = lazyType();
    await buildSenders({ ...baseConfig, providers: {} }, { lazy: load }, deps);
    expect(loaded.count).toBe(0);

    const senders = await buildSenders(
      { ...baseConfig, providers: { first: { type: "lazy", from: "A" }, second: { type: "lazy", from: "B" } } },
      { lazy: load },
      deps,
    );
    expect(senders.map((s) => s.provider)).toEqual(expect.arrayContaining(["first", "second"]));
    expect(loaded.count).toBe(2);
  });

  it("validates a lazily imported type's settings like an eager one", async () => {
    const { load } = lazyType();
    await expect(
      buildSenders({ ...baseConfig, providers: { first: { type: "lazy", from: 7 } } }, { lazy: load }, deps),
    ).rejects.toThrow(ConfigError);
    await expect(buildSenders({ ...baseConfig, providers: { first: { type: "nope" } } }, { lazy: load }, deps)).rejects.toThrow(
      /unknown provider type "nope"/,
    );
  });

  it("resolves every built-in adapter type to a settings schema and a factory", async () => {
    for (const [name, load] of Object.entries(ADAPTER_TYPES)) {
      const type = typeof load === "function" ? await load() : load;
      expect(type.schema, name).toBeInstanceOf(z.ZodType);
      expect(typeof type.create, name).toBe("function");
    }
  });
});

describe("provider settings that teach", () => {
  const build = (providers: Record<string, { type: string } & Record<string, unknown>>) =>
    buildSenders({ ...baseConfig, providers }, ADAPTER_TYPES, deps);
  const problem = async (providers: Record<string, { type: string } & Record<string, unknown>>) => {
    const err = await build(providers).then(
      () => expect.unreachable(),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  };
  const TWILIO = { type: "twilio", accountSid: `AC${"a".repeat(32)}`, authToken: "token", from: "+15017122661" };

  it("suggests the closest known type for a misspelled one", async () => {
    expect(await problem({ sms: { ...TWILIO, type: "twillio" } })).toBe(
      `config.providers.sms.type: unknown provider type "twillio" (did you mean "twilio"?) (known: ${Object.keys(ADAPTER_TYPES).join(", ")})`,
    );
  });

  it("refuses an unknown key, naming it and the closest known one", async () => {
    const { accountSid, ...rest } = TWILIO;
    const message = await problem({ sms: { ...rest, acountSid: accountSid } });
    expect(message).toContain("config.providers.sms.accountSid: required");
    expect(message).toMatch(
      /config\.providers\.sms\.acountSid: unknown setting \(did you mean "accountSid"\?\) \(known: accountSid, /,
    );
  });

  it("refuses unknown keys inside nested settings too", async () => {
    const message = await problem({
      wa: { type: "vonage", apiKey: "k", apiSecret: "s", whatsappFrom: "14157386102", whatsappTemplate: { nmae: "otp" } },
    });
    expect(message).toContain('config.providers.wa.whatsappTemplate.nmae: unknown setting (did you mean "name"?)');
  });

  it("reports a missing field by name", async () => {
    const { from: _from, ...rest } = TWILIO;
    expect(await problem({ sms: rest })).toBe(
      "invalid provider settings\n  config.providers.sms.from: set from or messagingServiceSid (SMS), whatsappFrom (WhatsApp) and/or voice (calls)",
    );
    const { customerId: _id, ...mc } = { type: "messagecentral", customerId: "C-1", password: "p" };
    expect(await problem({ mc })).toBe("invalid provider settings\n  config.providers.mc.customerId: required");
  });

  it("reports what an adapter refuses while it is built as a ConfigError naming the provider", async () => {
    const failing: AdapterType = {
      schema: z.object({}),
      create: () => {
        throw new Error("set applicationId + privateKey or apiKey + apiSecret");
      },
    };
    const err = await buildSenders({ ...baseConfig, providers: { v: { type: "failing" } } }, { failing }, deps).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe("config.providers.v: set applicationId + privateKey or apiKey + apiSecret");
  });
});

describe("route steps and the channels of their providers", () => {
  const TWILIO_SMS = { type: "twilio", accountSid: `AC${"a".repeat(32)}`, authToken: "token", from: "+15017122661" };
  const SENDGRID = { type: "sendgrid", apiKey: "SG.key", from: "no-reply@auth.acme.example", webhookPublicKey: "AAAA" };
  /** The real adapters' senders, by name, as the composition root holds them. */
  const sendersOf = async (providers: Record<string, { type: string } & Record<string, unknown>>) => {
    const built = await buildSenders({ ...baseConfig, providers }, ADAPTER_TYPES, deps);
    return new Map(built.map((s) => [s.provider, s]));
  };
  const step = (channel: "sms" | "voice" | "email", ...providers: string[]) => ({ channel, providers, fallbackAfterMs: null });
  const refusal = (
    route: ReturnType<typeof step>[],
    countryRoutes: Record<string, ReturnType<typeof step>[]>,
    senders: Map<string, Sender>,
  ) => {
    try {
      checkRouteChannels({ route, countryRoutes }, senders);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    return expect.unreachable("the route was accepted");
  };

  it("refuses a voice step on an account without voice, and an email step through an SMS provider, naming each step", async () => {
    const senders = await sendersOf({ twilio: TWILIO_SMS, mail: SENDGRID });
    expect(refusal([step("sms", "twilio"), step("voice", "twilio")], {}, senders)).toBe(
      'config.route[1].providers: provider "twilio" cannot send voice (it sends sms); name a provider with voice settings (twilio or vonage with voice.from)',
    );
    const message = refusal([step("email", "mail", "twilio")], { DE: [step("sms", "mail")] }, senders);
    expect(message.split("\n")).toEqual([
      "invalid configuration (2 problems)",
      '  config.route[0].providers: provider "twilio" cannot send email (it sends sms); name an email provider (smtp or sendgrid)',
      '  config.countryRoutes.DE[0].providers: provider "mail" cannot send sms (it sends email); name an SMS sender (twilio from, vonage smsFrom, smpp, messagecentral, http)',
    ]);
  });

  it("accepts each step whose providers send its channel", async () => {
    const senders = await sendersOf({ twilio: { ...TWILIO_SMS, voice: { from: "+15017122662" } }, mail: SENDGRID });
    expect(() =>
      checkRouteChannels(
        { route: [step("sms", "twilio"), step("voice", "twilio"), step("email", "mail")], countryRoutes: {} },
        senders,
      ),
    ).not.toThrow();
  });
});
