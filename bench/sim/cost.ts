import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { z } from "zod";
import type { AdapterType } from "../../src/channels/registry.js";
import { buildRuntime, type Runtime } from "../../src/compose.js";
import { loadConfig } from "../../src/config/env.js";
import type { Channel, StatusUpdate } from "../../src/core/model.js";
import type { OutboundMessage, SendResult } from "../../src/core/sender.js";
import { createLogger } from "../../src/observability/logger.js";
import type { CostCountry, CostOutcome, CostRow, CostScenario } from "./cost-model.js";
import { counterIds } from "./ids.js";
import { PLANS, randomNumber } from "./numbers.js";
import { Prng } from "./prng.js";
import { EventQueue, SimClock } from "./queue.js";

/**
 * The cost model: real users of several countries verify on a route of WhatsApp (falling back to SMS
 * after 30 s without a receipt) then SMS, against fake providers whose reach and prices differ by
 * country. The same seeded population runs twice: with the route as configured all along, and with
 * the service switched to `route_mode: "learned"` after the warm-up. Each user's traits and
 * behaviour come from a source of their own, so both runs see the same people.
 */

const ADMIN_KEY = "sim-admin-key-0123456789abcdef";
const SECRET = "sim-secret-0123456789abcdef0123456789abcdef";
const DAY_ONE = Date.UTC(2026, 2, 2, 0, 0, 0);
const OUTBOX_TICK_MS = 300_000;
const WA_RECEIPT_MS = 2_000;
const SMS_ARRIVAL_MS = 5_000;
const SMS_FAILURE_MS = 20_000;
const WA_FALLBACK_MS = 31_000;

interface Person {
  country: CostCountry;
  onWhatsApp: boolean;
  smsArrives: boolean;
  waArrives: boolean;
  enters: boolean;
  delayMs: number;
  measured: boolean;
  approved: boolean;
}

interface Network {
  person(to: string): Person | undefined;
  later(ms: number, run: () => Promise<void> | void): void;
  billed(to: string, amount: number): void;
  received(to: string, code: string, verificationId: string): void;
}

/** `{ "type": "costsim", "channel": "whatsapp" }`: a provider of the cost model. */
function costAdapter(network: Network): AdapterType {
  return {
    schema: z.object({ channel: z.enum(["sms", "whatsapp"]) }),
    create: (settings: { channel: Channel }, deps) => {
      let sent = 0;
      const status = (update: StatusUpdate) => deps.onStatus(update);
      return {
        provider: deps.name,
        channels: [settings.channel],
        async send(message: OutboundMessage): Promise<SendResult> {
          const p = network.person(message.to);
          if (!p) return { kind: "rejected", error: { code: "unknown", message: "no such number" } };
          const id = `${deps.name}_${++sent}`;
          if (settings.channel === "whatsapp") {
            if (!p.onWhatsApp) return { kind: "rejected", error: { code: "131026", message: "not on WhatsApp" } };
            if (p.waArrives) {
              network.later(WA_RECEIPT_MS, async () => {
                network.billed(message.to, p.country.waPrice);
                network.received(message.to, message.code, message.verificationId);
                await status({ providerMessageId: id, status: "delivered" });
              });
            } else network.later(WA_FALLBACK_MS, () => {});
            return { kind: "accepted", providerMessageId: id };
          }
          network.billed(message.to, p.country.smsPrice);
          if (p.smsArrives)
            network.later(SMS_ARRIVAL_MS, () => network.received(message.to, message.code, message.verificationId));
          else network.later(SMS_FAILURE_MS, () => status({ providerMessageId: id, status: "undelivered", errorCode: "30003" }));
          return { kind: "accepted", providerMessageId: id };
        },
      };
    },
  };
}

/** Runs the population once: `learned` switches the service to learned routes when the measured part begins. */
export async function simulateCost(scenario: CostScenario, mode: "fixed" | "learned", seed = 1): Promise<CostOutcome> {
  const rng = new Prng(seed);
  const queue = new EventQueue();
  const clock = new SimClock(DAY_ONE);
  const measureFrom = DAY_ONE + scenario.warmupMs;
  const end = measureFrom + scenario.durationMs;
  const people = new Map<string, Person>();
  const billed = new Map<string, number>();
  const starts = new Map<string, number>();
  const approvals = new Map<string, number>();
  let explored = 0;
  const bump = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);
  const later = (ms: number, run: () => Promise<void> | void) => queue.push(clock.t + ms, run);

  let runtime: Runtime | undefined;
  const outboxPass = async () => {
    await runtime?.outbox.runOnce();
  };
  const pending = new Map<string, string>();
  const network: Network = {
    person: (to) => people.get(to),
    later: (ms, run) =>
      later(ms, async () => {
        await run();
        // A WhatsApp message that never reports delivery is overdue then: the worker falls back.
        if (ms === WA_FALLBACK_MS) await outboxPass();
      }),
    billed: (to, amount) => {
      const p = people.get(to);
      if (p?.measured) bump(billed, p.country.country, amount);
    },
    received: (to, code, verificationId) => {
      const p = people.get(to);
      if (!p?.enters || p.approved || pending.get(verificationId) !== to) return;
      pending.delete(verificationId);
      later(p.delayMs, async () => {
        const res = await call("POST", `/v1/verifications/${verificationId}/check`, { code });
        if (res.body.valid === true) {
          p.approved = true;
          if (p.measured) bump(approvals, p.country.country);
        }
      });
    },
  };

  const dir = mkdtempSync(join(tmpdir(), "verifyd-cost-"));
  const configFile = join(dir, "config.json");
  const prices = Object.fromEntries(
    ["wa", "sms"].map((name) => [
      name,
      {
        [name === "wa" ? "whatsapp" : "sms"]: {
          countries: Object.fromEntries(scenario.countries.map((c) => [c.country, name === "wa" ? c.waPrice : c.smsPrice])),
        },
      },
    ]),
  );
  writeFileSync(
    configFile,
    JSON.stringify({
      providers: { wa: { type: "costsim", channel: "whatsapp" }, sms: { type: "costsim", channel: "sms" } },
      route: [
        { channel: "whatsapp", providers: ["wa"], fallbackAfter: "30s" },
        { channel: "sms", providers: ["sms"] },
      ],
      prices: { currency: "EUR", providers: prices },
    }),
  );
  const config = loadConfig({
    VERIFYD_DB: ":memory:",
    VERIFYD_SECRET: SECRET,
    VERIFYD_ADMIN_KEY: ADMIN_KEY,
    VERIFYD_CONFIG_FILE: configFile,
    VERIFYD_LOG_LEVEL: "warn",
    VERIFYD_DISPATCH_BUDGET: "60s",
    // Real users only, from many IPs: the abuse defences are the other model's subject.
    VERIFYD_CONVERSION_THRESHOLD: "0",
    VERIFYD_LIMIT_SENDS_PER_COUNTRY: "100000/1h",
    ...scenario.env,
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await (runtime as Runtime).app.request(path, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  const systemNow = Date.now;
  Date.now = () => clock.t;
  try {
    const explore = rng.fork("explore");
    runtime = await buildRuntime(config, {
      clock,
      // Learned routes log each decision at info: the ones that explored are counted off that line.
      logger: createLogger(
        "info",
        new Writable({
          write(chunk, _enc, done) {
            const text = chunk.toString();
            if (clock.t >= measureFrom && text.includes('"msg":"learned route"') && text.includes('"explored":true')) explored++;
            done();
          },
        }),
      ),
      ids: counterIds(),
      adapterTypes: { costsim: costAdapter(network) },
      random: () => explore.next(),
    });

    let n = 0;
    const arrive = (c: CostCountry, r: Prng, at: number) => {
      if (at >= end) return;
      queue.push(at, async () => {
        const u = rng.fork(`user:${c.country}:${++n}`);
        const to = randomNumber(PLANS[c.country] as NonNullable<(typeof PLANS)[string]>, u);
        if (!people.has(to)) {
          people.set(to, {
            country: c,
            onWhatsApp: u.chance(c.whatsapp),
            smsArrives: u.chance(c.smsDelivers),
            waArrives: !u.chance(0.03),
            enters: u.chance(c.enters),
            delayMs: Math.round(u.logNormal(25_000, 0.5)),
            measured: clock.t >= measureFrom,
            approved: false,
          });
          const res = await call("POST", "/v1/verifications", {
            to,
            client_ip: `10.${u.int(256)}.${u.int(256)}.${1 + u.int(254)}`,
          });
          const p = people.get(to) as Person;
          if (res.status === 201) {
            pending.set(String(res.body.id), to);
            if (p.measured) bump(starts, c.country);
          }
        }
        arrive(c, r, Math.round(at + r.exponential(3_600_000 / c.perHour)));
      });
    };
    for (const c of scenario.countries) {
      const r = rng.fork(`arrivals:${c.country}`);
      arrive(c, r, Math.round(DAY_ONE + r.exponential(3_600_000 / c.perHour)));
    }
    if (mode === "learned") {
      queue.push(measureFrom, async () => {
        await call("PATCH", "/v1/services/svc_default", { route_mode: "learned" });
      });
    }
    queue.every(DAY_ONE + OUTBOX_TICK_MS, end + 15 * 60_000, OUTBOX_TICK_MS, outboxPass);
    await queue.runAll(clock);

    // verifyd's own figures for the measured verifications.
    const q = `from=${new Date(measureFrom).toISOString()}&to=${new Date(end).toISOString()}`;
    const reported = await call("GET", `/v1/analytics?group_by=country&${q}`);
    const groups = reported.body.groups as { key: { country: string }; cost: number; cost_per_approval: number | null }[];
    const rows: CostRow[] = scenario.countries.map((c) => {
      const g = groups.find((x) => x.key.country === c.country);
      return {
        country: c.country,
        starts: starts.get(c.country) ?? 0,
        approvals: approvals.get(c.country) ?? 0,
        billed: Math.round((billed.get(c.country) ?? 0) * 1e6) / 1e6,
        reportedCost: g?.cost ?? 0,
        reportedCostPerApproval: g?.cost_per_approval ?? null,
      };
    });
    return { mode, rows, explored };
  } finally {
    await runtime?.close();
    Date.now = systemNow;
    rmSync(dir, { recursive: true, force: true });
  }
}
