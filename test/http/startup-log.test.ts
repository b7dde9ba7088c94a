import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { AdapterType } from "../../src/channels/registry.js";
import { loadConfig } from "../../src/config/env.js";
import { type RunningServer, startServer } from "../../src/main.js";
import { createLogger } from "../../src/observability/logger.js";
import { CapturingSender } from "../helpers/senders.js";

/** The start-up line tells the routes sends really take, not the fallback sender of an unrouted setup. */
describe("the start-up log line", () => {
  let dir: string;
  let server: RunningServer | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-startup-log-"));
  });
  afterEach(async () => {
    await server?.shutdown("test");
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const capture: AdapterType = {
    schema: z.object({ channels: z.array(z.string()).optional() }),
    create: (_settings, deps) =>
      Object.assign(new CapturingSender(), { provider: deps.name, channels: ["sms", "whatsapp"] }) as never,
  };

  async function listeningLine(file: object | undefined): Promise<Record<string, unknown>> {
    const lines: string[] = [];
    const logger = createLogger(
      "info",
      new Writable({
        write(chunk, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const env: Record<string, string> = {
      PORT: "0",
      VERIFYD_HOST: "127.0.0.1",
      VERIFYD_DB: join(dir, "verifyd.db"),
      VERIFYD_SECRET: "startup-log-secret-0123456789abcdef0123",
      VERIFYD_ADMIN_KEY: "startup-log-admin-0123456789",
    };
    if (file) {
      writeFileSync(join(dir, "config.json"), JSON.stringify(file));
      env.VERIFYD_CONFIG_FILE = join(dir, "config.json");
    }
    server = await startServer(loadConfig(env), { logger, adapterTypes: { capture } });
    const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "verifyd listening");
    if (!line) throw new Error(`no start-up line in:\n${lines.join("")}`);
    return line;
  }

  it("names the default and per-country routes with their providers per step", async () => {
    const line = await listeningLine({
      providers: { wa: { type: "capture" }, tw: { type: "capture" }, vg: { type: "capture" } },
      route: [
        { channel: "whatsapp", providers: ["wa"] },
        { channel: "sms", providers: ["tw", "vg"] },
      ],
      countryRoutes: { IN: [{ channel: "sms", providers: ["vg"] }] },
    });
    expect(line).toMatchObject({
      name: "verifyd",
      route: ["whatsapp: wa", "sms: tw, vg"],
      country_routes: { IN: ["sms: vg"] },
    });
    expect(line).not.toHaveProperty("sender");
  });

  it("names the console channel when nothing else is configured", async () => {
    expect(await listeningLine(undefined)).toMatchObject({ route: ["sms: console"], country_routes: {} });
  });
});
