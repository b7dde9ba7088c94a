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
