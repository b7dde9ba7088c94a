import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ADAPTER_TYPES } from "../../src/channels/adapter-types.js";
import { type AdapterType, buildSenders } from "../../src/channels/registry.js";
import { loadConfig } from "../../src/config/env.js";
import { ConfigError } from "../../src/config/errors.js";
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
