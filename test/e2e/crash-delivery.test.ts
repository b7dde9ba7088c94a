import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeVonage, startFakeVonage } from "../fakes/vonage.js";
import { GUARD_NEVER_TRIPS } from "../helpers/conversion.js";
import { type ServerProcess, spawnServer, waitReady } from "../helpers/server-process.js";
import { sharedBackendsEnv } from "../helpers/shared-backends.js";
import { until, within } from "../helpers/waiting.js";
import { freePort } from "../helpers/webhook-sink.js";

/**
 * SIGKILL with deliveries both queued for retry (after a 503) and in flight (a request the provider
 * never answered), then a restart on the same database: every verification's code still reaches the
 * provider. The Vonage fake can neither hang nor fail selected requests, so a small proxy in front of
 * it does: while `failing`, it answers 503 for FAIL numbers and holds every other request; once
 * healthy, it forwards everything to the fake.
 */

const ADMIN_KEY = `e2e-admin-${randomBytes(16).toString("hex")}`;
const ACCOUNT = { apiKey: "a1b2c3d4", apiSecret: randomBytes(12).toString("hex") };
const NUMBERS = Array.from({ length: 10 }, (_, i) => `+141555501${String(i).padStart(2, "0")}`);
// Fewer than 5: five failures in a row would open the provider's circuit before the held sends go out.
const FAIL = new Set(NUMBERS.slice(0, 4));
const HOLD = NUMBERS.slice(4);

type View = {
  id: string;
  status: string;
  deliveries?: Array<{ id: string; status: string; error_code: string | null; tries: number }>;
};
type Check = { valid: boolean; status: string | null; reason: string | null };
interface Seen {
  to: string;
  outcome: "503" | "held" | "forwarded";
  /** A held request whose client has not gone away yet: its outcome is unknown to the server. */
  open: boolean;
}
type Child = ServerProcess;

async function startProxy(fake: FakeVonage) {
  const seen: Seen[] = [];
  const held = new Set<ServerResponse>();
  const state = { failing: true };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const to = `+${String((JSON.parse(body || "{}") as { to?: unknown }).to)}`;
      if (state.failing && FAIL.has(to)) {
        seen.push({ to, outcome: "503", open: false });
        res.writeHead(503, { "content-type": "application/problem+json" });
        return res.end(
          JSON.stringify({ type: "https://developer.vonage.com/api-errors#service-unavailable", title: "Unavailable" }),
        );
      }
      if (state.failing) {
        const entry: Seen = { to, outcome: "held", open: true };
        seen.push(entry);
        held.add(res);
        res.on("close", () => {
          entry.open = false;
          held.delete(res);
        });
        return; // never answered: the server's 500 ms timeout or its death ends it
      }
      seen.push({ to, outcome: "forwarded", open: false });
      const headers: Record<string, string> = {};
      for (const name of ["authorization", "content-type", "accept"]) {
        const value = req.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      const answer = await fetch(`${fake.baseUrl}${req.url}`, { method: req.method, headers, body });
      res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
      res.end(await answer.text());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    state,
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("verifyd killed mid-delivery", () => {
  const children: Child[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill("SIGKILL");
      await within(child.exited, 5000, "killing a leftover child");
    }
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("loses no verification and no send across a SIGKILL with sends queued and in flight", async () => {
    const fake = await startFakeVonage({ account: ACCOUNT, now: () => Date.now() });
    cleanups.push(() => fake.close());
    const proxy = await startProxy(fake);
    cleanups.push(() => proxy.close());
    const dir = mkdtempSync(join(tmpdir(), "verifyd-crash-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

    const configFile = join(dir, "verifyd.json");
    const vonage = { type: "vonage", ...ACCOUNT, smsFrom: "verifyd", baseUrl: proxy.url, timeoutMs: 500 };
    writeFileSync(configFile, JSON.stringify({ providers: { vonage }, route: [{ channel: "sms", providers: ["vonage"] }] }));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const shared = await sharedBackendsEnv();
    cleanups.push(() => shared.cleanup());
    const env = {
      ...shared.env,
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      VERIFYD_DB: join(dir, "verifyd.db"),
      VERIFYD_SECRET: randomBytes(36).toString("base64"),
      VERIFYD_ADMIN_KEY: ADMIN_KEY,
      VERIFYD_ENV: "production",
      VERIFYD_HOST: "127.0.0.1",
      VERIFYD_CONFIG_FILE: configFile,
      VERIFYD_DELIVERY_LEASE: "2s",
      VERIFYD_OUTBOX_POLL: "100ms",
      VERIFYD_DISPATCH_BUDGET: "200ms",
      VERIFYD_CODE_LENGTH: "8",
      ...GUARD_NEVER_TRIPS,
      VERIFYD_LOG_LEVEL: "info",
    };

    const startServer = async (): Promise<Child> => {
      const child = spawnServer(env);
      children.push(child);
      await waitReady(child, base);
      return child;
    };
    const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
      const headers = {
        authorization: `Bearer ${ADMIN_KEY}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      };
      const res = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as T };
    };
    const start = async (to: string) => {
      const res = await api<View>("POST", "/v1/verifications", { to });
      expect(res.status, `start ${to}`).toBe(201);
      return [to, res.body.id] as const;
    };

    const first = await startServer();
    // The refused ones first (each answers within the dispatch budget, then waits ~1 s for its retry),
    // then the held ones, so the kill lands well inside the held sends' 500 ms timeout.
    const ids = new Map(await Promise.all([...FAIL].map(start)));
    for (const to of FAIL) {
      const d = (await api<View>("GET", `/v1/verifications/${ids.get(to)}`)).body.deliveries?.[0];
      expect(d, `delivery to ${to} before the crash`).toMatchObject({
        status: "queued",
        error_code: "service-unavailable",
        tries: 1,
      });
    }
    for (const [to, id] of await Promise.all(HOLD.map(start))) ids.set(to, id);

    const inFlight = await until(
      "a send held in flight next to a refused one",
      () => {
        const open = proxy.seen.filter((s) => s.open).map((s) => s.to);
        return open.length > 0 && proxy.seen.some((s) => s.outcome === "503") ? open : undefined;
      },
      50,
      10,
    );
    first.proc.kill("SIGKILL");
    expect(await within(first.exited, 5000, "SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
    expect(proxy.seen.filter((s) => s.outcome === "forwarded")).toEqual([]); // nothing reached the provider yet
    expect(fake.sent).toEqual([]);

    proxy.state.failing = false;
    const second = await startServer();
    const sentTo = (to: string) => fake.sent.find((body) => body.to === to.slice(1));
    await until("an accepted send for every verification", () => (NUMBERS.every(sentTo) ? true : undefined), 200, 100);

    const codes = new Map<string, string>();
    for (const to of NUMBERS) {
      const text = String(sentTo(to)?.text);
      const code = /^Your verifyd code is (\d{8})\b/.exec(text)?.[1];
      expect(code, `code in "${text}"`).toBeDefined();
      codes.set(to, code as string);
    }
    expect(new Set(codes.values()).size).toBe(NUMBERS.length);
    expect(fake.requests.every((r) => r.auth?.kind === "basic")).toBe(true);

    for (const to of NUMBERS) {
      const id = ids.get(to) as string;
      const check = await api<Check>("POST", `/v1/verifications/${id}/check`, { code: codes.get(to) });
      expect(check.body, `check ${to}`).toMatchObject({ valid: true, status: "approved", reason: null });
      const view = await api<View>("GET", `/v1/verifications/${id}`);
      const accepted = view.body.deliveries?.filter((d) => d.status === "accepted") ?? [];
      expect(accepted, `accepted deliveries of ${to}`).toHaveLength(1);
      if (inFlight.includes(to) || FAIL.has(to)) expect(accepted[0]?.tries, `tries of ${to}`).toBeGreaterThanOrEqual(2);
    }

    // Each verification was sent once after the restart (the held sends were never answered before).
    expect(fake.sent).toHaveLength(NUMBERS.length);
    const output = first.output() + second.output();
    expect(output).toContain("delivery accepted");
    for (const code of codes.values()) expect(output).not.toContain(code);
  }, 30_000);
});
