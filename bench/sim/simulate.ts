import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { buildRuntime, type Runtime } from "../../src/compose.js";
import { loadConfig } from "../../src/config/env.js";
import type { Channel } from "../../src/core/model.js";
import { createLogger } from "../../src/observability/logger.js";
import { counterIds } from "./ids.js";
import { HOUR, type Outcome, type RealTraffic, type Scenario, type Wave } from "./model.js";
import { type NumberPlan, numberRange, PLANS, randomNumber, sendable } from "./numbers.js";
import { Prng } from "./prng.js";
import { type Network, simAdapterType } from "./providers.js";
import { EventQueue, SimClock } from "./queue.js";

/**
 * Runs one scenario against a real verifyd built in process (SQLite in a temp folder, the real
 * limiter, outbox and conversion guard), through its HTTP API with `app.request`. Time is simulated:
 * the clock jumps from one event to the next, so a day of traffic takes seconds, and the seeded
 * random source makes every run of a scenario identical.
 */

const ADMIN_KEY = "sim-admin-key-0123456789abcdef";
const SECRET = "sim-secret-0123456789abcdef0123456789abcdef";
const DAY_ONE = Date.UTC(2026, 2, 2, 0, 0, 0);
/** The outbox worker's pass for expiry; a fallback after a missing receipt gets a pass of its own when due. */
const OUTBOX_TICK_MS = 300_000;
const RESEND_COOLDOWN_MS = 30_000;

type Population = "real" | "pump";

interface Destination {
  population: Population;
  country: string;
  onWhatsApp: boolean;
  /** The verification whose code this user is waiting for. */
  waiting: { id: string; user: RealUser } | null;
}

interface RealUser {
  traffic: RealTraffic;
  to: string;
  ip: string;
  measured: boolean;
  refused: boolean;
  wouldBeRefused: boolean;
  gotCode: boolean;
  /** The guard's reasons when it sent this user's verification on WhatsApp alone. */
  withheld: string[] | null;
}

/** How busy an hour of the day is, relative to the mean: quiet nights, a busy evening. */
const DAY_CURVE = [
  0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.1, 1.3, 1.3, 1.3, 1.2, 1.3, 1.3, 1.2, 1.2, 1.3, 1.4, 1.5, 1.6, 1.5, 1.3, 0.9, 0.5,
];
const PEAK = Math.max(...DAY_CURVE);

/** Who the request being handled is for: log lines written while it runs are theirs. */
interface OnBehalf {
  population: Population;
  /** Marks the sender as one that would have been refused. */
  wouldRefuse(): void;
}

/** Tallies monitor-mode log lines ("… would refuse (monitor mode)") by who the request was for. */
function monitorSink(outcome: Outcome, current: () => OnBehalf | null) {
  return new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split("\n")) {
        const who = current();
        if (!line.includes("would refuse") || !who) continue;
        const entry = JSON.parse(line) as { reasons?: string[] };
        for (const reason of entry.reasons ?? []) bump(outcome.monitored.reasons[who.population], reason);
        who.wouldRefuse();
      }
      done();
    },
  });
}

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** The guard's reasons when it sent a verification on WhatsApp alone (`withheld`), else null. */
function withheldReasons(body: Record<string, unknown>): string[] | null {
  const withheld = body.withheld as { reasons?: string[] } | undefined;
  return withheld?.reasons?.length ? withheld.reasons : null;
}

/** The reasons a refused send names: the `reasons` of a 403 `blocked`, else the limit's rule or the error code. */
function reasonsOf(body: { code?: string; reasons?: string[]; limit?: { rule?: string } }): string[] {
  if (body.reasons?.length) return body.reasons;
  if (body.limit?.rule) return [body.limit.rule];
  return [body.code ?? "unknown"];
}

export async function simulate(scenario: Scenario, seed = 1): Promise<Outcome> {
  const rng = new Prng(seed);
  const queue = new EventQueue();
  const START = DAY_ONE + scenario.startHour * HOUR;
  const clock = new SimClock(START);
  const measureFrom = START + scenario.warmupMs;
  const end = measureFrom + scenario.durationMs;
  const measuring = () => clock.t >= measureFrom;
  const destinations = new Map<string, Destination>();
  const approvedNumbers = new Map<string, string[]>();
  const outcome: Outcome = {
    scenario: scenario.name,
    realUsers: 0,
    realRefused: 0,
    approvals: 0,
    sent: 0,
    billable: 0,
    pumpAttempts: 0,
    pumpRefused: 0,
    pumpBilled: 0,
    reasons: { real: {}, pump: {} },
    monitored: { pumpSends: 0, realUsers: 0, reasons: { real: {}, pump: {} } },
  };
  let onBehalf: OnBehalf | null = null;

  const later = (ms: number, run: () => Promise<void> | void) => queue.push(clock.t + ms, run);
  let onReceived: Network["received"] = () => {};
  const network: Network = {
    onWhatsApp: (to) => destinations.get(to)?.onWhatsApp ?? false,
    // One WhatsApp message in twenty never reports delivery: the route falls back to SMS after 30 s.
    whatsappDelivers: () => !rng.chance(0.05),
    attempted: () => {},
    billed: (to, channel) => {
      if (!measuring()) return;
      outcome.billable++;
      if (channel === "sms") outcome.sent++;
      if (destinations.get(to)?.population === "pump") outcome.pumpBilled++;
    },
    received: (to, code, channel, verificationId) => onReceived(to, code, channel, verificationId),
    later,
    fallbackDue: (ms) => later(ms, () => outboxPass()),
  };
  // WhatsApp sends are counted when accepted, delivered or not; SMS when billed (above).
  const countAccepted = (channel: Channel) => {
    if (channel === "whatsapp" && measuring()) outcome.sent++;
  };

  const dir = mkdtempSync(join(tmpdir(), "verifyd-sim-"));
  const configFile = join(dir, "config.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      providers: { wa: { type: "sim", channel: "whatsapp" }, sms: { type: "sim", channel: "sms" } },
      route: [
        { channel: "whatsapp", providers: ["wa"], fallbackAfter: "30s" },
        { channel: "sms", providers: ["sms"] },
      ],
    }),
  );
  const config = loadConfig({
    // In memory: the same SQL and group commit, without the file system between runs of the model.
    VERIFYD_DB: ":memory:",
    VERIFYD_SECRET: SECRET,
    VERIFYD_ADMIN_KEY: ADMIN_KEY,
    VERIFYD_CONFIG_FILE: configFile,
    VERIFYD_LOG_LEVEL: "warn",
    // The fake providers answer at once: no real-time race between a send and its budget.
    VERIFYD_DISPATCH_BUDGET: "60s",
    ...scenario.env,
  });
  const adapter = simAdapterType(network);
  const counting = adapter.create;
  adapter.create = (settings, deps) => {
    const sender = counting(settings, deps);
    const send = sender.send.bind(sender);
    sender.send = async (message, signal) => {
      const result = await send(message, signal);
      if (result.kind === "accepted") countAccepted(message.channel);
      return result;
    };
    return sender;
  };
  let runtime: Runtime | undefined;
  const outboxPass = async () => {
    await runtime?.outbox.runOnce();
  };
  // rate-limiter-flexible reads Date.now(): the system date follows the simulated clock for the run.
  const systemNow = Date.now;
  Date.now = () => clock.t;
  try {
    runtime = await buildRuntime(config, {
      clock,
      ids: counterIds(),
      // pino writes to this stream as it logs, so a line belongs to the request being handled.
      logger: createLogger(
        "warn",
        monitorSink(outcome, () => (measuring() ? onBehalf : null)),
      ),
      adapterTypes: { sim: adapter },
    });
    const app = runtime.app;
    const call = async (path: string, body: unknown, who: OnBehalf | null = null) => {
      onBehalf = who;
      try {
        const res = await app.request(path, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      } finally {
        onBehalf = null;
      }
    };
    /** On behalf of a real user: counted once among those who would have been refused. */
    const forUser = (user: RealUser): OnBehalf => ({
      population: "real",
      wouldRefuse: () => {
        if (user.measured && !user.wouldBeRefused) outcome.monitored.realUsers++;
        user.wouldBeRefused = true;
      },
    });
    /** On behalf of one pumping send: counted once among the sends that would have been refused. */
    const forPumpSend = (): OnBehalf => {
      let counted = false;
      return {
        population: "pump",
        wouldRefuse: () => {
          if (!counted) outcome.monitored.pumpSends++;
          counted = true;
        },
      };
    };

    /** A refused send: tallied by population and reason. */
    const refused = (population: Population, body: Record<string, unknown>) => {
      if (!measuring()) return;
      for (const reason of reasonsOf(body)) bump(outcome.reasons[population], reason);
    };

    // --- real users ---------------------------------------------------------------------------
    const ipOf = (r: Prng) => `${10 + r.int(200)}.${r.int(256)}.${r.int(256)}.${1 + r.int(254)}`;

    /** A new real user's number: in a wave's ranges for the share of users who live there, else anywhere. */
    function newNumber(country: string, r: Prng): string {
      for (const shared of sharedRanges.filter((s) => s.wave.country === country)) {
        if (!r.chance(shared.wave.realShare)) continue;
        for (;;) {
          const n = r.pick(shared.ranges).at(r.int(shared.wave.rangeSize));
          if (sendable(n, country)) return n;
        }
      }
      return randomNumber(PLANS[country] as NumberPlan, r);
    }

    async function realStart(traffic: RealTraffic, r: Prng) {
      const known = approvedNumbers.get(traffic.country) ?? [];
      const returning = known.length > 0 && r.chance(traffic.returning);
      const to = returning ? r.pick(known) : newNumber(traffic.country, r);
      if (destinations.get(to)?.population === "pump") return; // a drawn number the bots also use: skip it
      const dest = destinations.get(to) ?? {
        population: "real" as const,
        country: traffic.country,
        onWhatsApp: r.chance(traffic.whatsapp),
        waiting: null,
      };
      destinations.set(to, dest);
      const user: RealUser = {
        traffic,
        to,
        ip: ipOf(r),
        measured: measuring(),
        refused: false,
        wouldBeRefused: false,
        gotCode: false,
        withheld: null,
      };
      if (user.measured) outcome.realUsers++;
      const res = await call("/v1/verifications", { to, client_ip: user.ip }, forUser(user));
      if (res.status !== 201) return refuseUser(user, res.body);
      const withheld = withheldReasons(res.body);
      if (withheld) {
        user.withheld = withheld;
        onWhatsAppAlone.push(user);
      }
      const id = String(res.body.id);
      dest.waiting = { id, user };
      // Some users ask for another code when none arrived within 45 s, and a few out of impatience.
      const impatient = r.chance(0.05);
      later(impatient ? 35_000 : 45_000, async () => {
        if (dest.waiting?.id !== id || (user.gotCode && !impatient)) return;
        const again = await call(`/v1/verifications/${id}/resend`, { client_ip: user.ip }, forUser(user));
        if (again.status >= 400 && again.body.code !== "verification_closed") refuseUser(user, again.body);
      });
    }

    /**
     * Users whose verification the guard sent on WhatsApp alone: refused when no code reached them
     * (no WhatsApp account, or the message was lost, and no SMS to fall back on).
     */
    const onWhatsAppAlone: RealUser[] = [];

    function refuseUser(user: RealUser, body: Record<string, unknown>) {
      // Too early a resend is the user's haste, not a refusal: the code is on its way.
      if (!user.measured || body.code === "resend_cooldown") return;
      refused("real", body);
      if (!user.refused) outcome.realRefused++;
      user.refused = true;
    }

    const entering = new Set<string>();
    onReceived = (to, code, _channel, verificationId) => {
      const dest = destinations.get(to);
      if (dest?.population !== "real" || dest.waiting?.id !== verificationId) return;
      const { user } = dest.waiting;
      user.gotCode = true;
      if (entering.has(verificationId)) return;
      entering.add(verificationId);
      const r = rng.fork(verificationId);
      if (!r.chance(user.traffic.enters)) return;
      const typo = r.chance(0.04);
      later(r.logNormal(25_000, 0.6), async () => {
        if (typo) await call(`/v1/verifications/${verificationId}/check`, { code: "ZZZZZZ", client_ip: user.ip });
        const res = await call(`/v1/verifications/${verificationId}/check`, { code, client_ip: user.ip });
        if (res.body.valid !== true) return;
        dest.waiting = null;
        if (measuring()) outcome.approvals++;
        const list = approvedNumbers.get(dest.country) ?? [];
        if (!list.includes(to)) list.push(to);
        approvedNumbers.set(dest.country, list);
      });
    };

    function scheduleArrivals(traffic: RealTraffic, r: Prng) {
      // Thinning: draw at the peak rate, keep each arrival with the hour's share of the peak.
      const meanGap = HOUR / (traffic.perHour * PEAK);
      const arrive = (at: number) => {
        if (at >= end) return;
        queue.push(at, async () => {
          const hour = new Date(at).getUTCHours();
          if (r.chance((DAY_CURVE[hour] as number) / PEAK)) await realStart(traffic, r);
          arrive(at + r.exponential(meanGap));
        });
      };
      arrive(START + r.exponential(meanGap));
    }

    // --- pumping ------------------------------------------------------------------------------
    /** Each wave's ranges, drawn before any traffic: real users may live in them too. */
    const sharedRanges = scenario.waves.map((wave) => {
      const plan = PLANS[wave.country];
      if (!plan) throw new Error(`no number plan for ${wave.country}`);
      const r = rng.fork(`ranges:${wave.label}`);
      return { wave, ranges: Array.from({ length: wave.ranges }, () => numberRange(plan, r, wave.rangeSize)) };
    });

    function scheduleWave(wave: Wave, ranges: ReturnType<typeof numberRange>[], r: Prng) {
      const ips = Array.from({ length: wave.ips }, () => `${200 + r.int(20)}.${r.int(256)}.${r.int(256)}.${1 + r.int(254)}`);
      let walked = 0;
      const pick = () => {
        const range = ranges[walked % ranges.length] as (typeof ranges)[number];
        const i = wave.pattern === "sequential" ? Math.floor(walked / ranges.length) : r.int(wave.rangeSize);
        walked++;
        return range.at(i);
      };
      const from = measureFrom + wave.startAt;
      const until = Math.min(end, from + wave.durationMs);
      const meanGap = HOUR / wave.perHour;
      const arrive = (at: number) => {
        if (at >= until) return;
        queue.push(at, async () => {
          await pumpStart(pick(), wave, ips.length > 0 ? r.pick(ips) : ipOf(r));
          arrive(at + r.exponential(meanGap));
        });
      };
      arrive(from + r.exponential(meanGap));
    }

    async function pumpStart(to: string, wave: Wave, ip: string) {
      const dest = destinations.get(to);
      if (dest?.population === "real") return; // a number of a real user: the bots' range overlaps it
      destinations.set(to, { population: "pump", country: wave.country, onWhatsApp: false, waiting: null });
      const attempt = async (path: string) => {
        const res = await call(path, { ...(path === "/v1/verifications" ? { to } : {}), client_ip: ip }, forPumpSend());
        if (measuring()) outcome.pumpAttempts++;
        // Sent on WhatsApp alone, which these numbers do not have: refused on every channel that pays them.
        const withheld = withheldReasons(res.body);
        if (res.status < 400 && !withheld) return String(res.body.id);
        if (measuring()) outcome.pumpRefused++;
        refused("pump", withheld ? { reasons: withheld } : res.body);
        return res.status < 400 ? String(res.body.id) : null;
      };
      const id = await attempt("/v1/verifications");
      if (!id) return;
      for (let i = 1; i <= wave.resends; i++)
        later(i * (RESEND_COOLDOWN_MS + 1_000), async () => {
          await attempt(`/v1/verifications/${id}/resend`);
        });
    }

    // --- the run ------------------------------------------------------------------------------
    for (const traffic of scenario.real) scheduleArrivals(traffic, rng.fork(`real:${traffic.country}`));
    for (const { wave, ranges } of sharedRanges) scheduleWave(wave, ranges, rng.fork(`wave:${wave.label}`));
    queue.every(START + OUTBOX_TICK_MS, end, OUTBOX_TICK_MS, outboxPass);
    await queue.runAll(clock);
    for (const user of onWhatsAppAlone) {
      if (user.gotCode || user.refused || !user.measured) continue;
      refuseUser(user, { reasons: user.withheld });
    }
    return outcome;
  } finally {
    await runtime?.close();
    Date.now = systemNow;
    rmSync(dir, { recursive: true, force: true });
  }
}
