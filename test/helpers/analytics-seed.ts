import type { Channel, RouteStep, Verification } from "../../src/core/model.js";
import { createNumberVault } from "../../src/core/number-vault.js";
import type { NewDelivery } from "../../src/core/store/deliveries.js";
import type { Store } from "../../src/core/store/index.js";
import { sqliteStores } from "../../src/store/backends.js";
import { migrateSqlite, openSqlite } from "../../src/store/sqlite/open.js";
import { TEST_SECRET } from "./harness.js";

const DAY = 24 * 60 * 60 * 1000;
const SECRETS = { codeHash: Buffer.alloc(32, 1), sealedCode: Buffer.alloc(40, 2) };

const sms = (provider: string): RouteStep => ({ channel: "sms", providers: [provider] });
const wa = (provider: string): RouteStep => ({ channel: "whatsapp", providers: [provider] });

/** The day (UTC midnight, epoch ms) the seeded dataset's first day starts at, `daysBack` days before `now`. */
export const seedDay = (now: number, daysBack: number) => Math.floor(now / DAY) * DAY - daysBack * DAY;

/**
 * Writes a known dataset through the Store, one operation at a time as the outbox and the checks
 * would, at explicit times. Day 1 starts at `day1` (UTC midnight), day 2 the day after.
 *
 * | id   | day | country | route          | what happens                                          |
 * | a1   | 1   | US      | sms/tw         | delivered; wrong check, approved after 30 s            |
 * | a2   | 1   | US      | sms/tw         | delivered; approved after 60 s                         |
 * | a3   | 1   | US      | sms/tw         | accepted, no receipt, never checked                    |
 * | a4   | 1   | GB      | wa/wa → sms/vn | WhatsApp rejects; SMS delivered; approved after 45 s   |
 * | a5   | 2   | GB      | wa/wa → sms/vn | WhatsApp accepted then failed; SMS delivered; 90 s     |
 * | a6   | 2   | GB      | wa/wa → sms/vn | WhatsApp delivered; approved after 20 s                |
 * | a7   | 2   | DE      | sms/vn         | rejected: the verification fails                       |
 * | a8   | 2   | US      | sms/tw         | accepted, resent and accepted again; wrong check; expires |
 * Plus `a0` the day before day 1 (outside the range) and `x1` of `svc_other` on day 1.
 */
export async function seedAnalytics(store: Store, serviceId: string, day1: number): Promise<void> {
  let n = 0;
  const deliveryId = () => `dlv_seed_${++n}`;
  const start = async (id: string, to: string, country: string, route: RouteStep[], at: number, service = serviceId) => {
    const v: Verification = {
      id,
      serviceId: service,
      to,
      country,
      status: "pending",
      route,
      currentStep: 0,
      sends: 1,
      checks: 0,
      maxChecks: 5,
      maxSends: 5,
      clientIp: null,
      createdAt: at,
      updatedAt: at,
      expiresAt: at + 600_000,
      lastSentAt: at,
      approvedAt: null,
    };
    const first = delivery(id, 0, route, at);
    if (!(await store.createVerification(v, SECRETS, first))) throw new Error(`seed: ${id} not created`);
    return first.id;
  };
  const delivery = (verificationId: string, step: number, route: RouteStep[], at: number): NewDelivery => ({
    id: deliveryId(),
    verificationId,
    step,
    channel: route[step]?.channel as Channel,
    provider: route[step]?.providers[0] as string,
    nextTryAt: at,
  });
  const accept = async (id: string, messageId: string, at: number) => {
    if (!(await store.claimDelivery(id, at, 30_000))) throw new Error(`seed: ${id} not claimable`);
    await store.recordDeliveryResult({ deliveryId: id, status: "accepted", providerMessageId: messageId }, at);
  };
  const reject = async (id: string, at: number, fallback?: NewDelivery) => {
    if (!(await store.claimDelivery(id, at, 30_000))) throw new Error(`seed: ${id} not claimable`);
    await store.recordDeliveryResult(
      { deliveryId: id, status: "failed", errorCode: "rejected", fallback, failVerification: !fallback },
      at,
    );
  };
  const receipt = (provider: string, messageId: string, status: "delivered" | "failed", at: number) =>
    store.recordStatus(provider, { providerMessageId: messageId, status }, at);
  const check = (id: string, at: number, service = serviceId) => store.recordCheck(service, id, at);
  const approve = async (id: string, at: number, service = serviceId) => {
    await check(id, at, service);
    if (!(await store.approve(id, at))) throw new Error(`seed: ${id} not approved`);
  };
  const s = 1000;
  const d1 = day1 + 9 * 60 * 60 * 1000;
  const d2 = d1 + DAY;
  const fallbackRoute = [wa("wa"), sms("vn")];

  const a0 = await start("ver_seed_a0", "+14155550100", "US", [sms("tw")], d1 - DAY);
  await accept(a0, "m0", d1 - DAY + s);

  const a1 = await start("ver_seed_a1", "+14155550101", "US", [sms("tw")], d1);
  await accept(a1, "m1", d1 + s);
  await receipt("tw", "m1", "delivered", d1 + 5 * s);
  await check("ver_seed_a1", d1 + 10 * s);
  await approve("ver_seed_a1", d1 + 30 * s);

  const a2 = await start("ver_seed_a2", "+14155550102", "US", [sms("tw")], d1 + 60 * s);
  await accept(a2, "m2", d1 + 61 * s);
  await receipt("tw", "m2", "delivered", d1 + 65 * s);
  await approve("ver_seed_a2", d1 + 120 * s);

  const a3 = await start("ver_seed_a3", "+14155550103", "US", [sms("tw")], d1 + 200 * s);
  await accept(a3, "m3", d1 + 201 * s);

  const a4 = await start("ver_seed_a4", "+447400123401", "GB", fallbackRoute, d1 + 300 * s);
  const a4sms = delivery("ver_seed_a4", 1, fallbackRoute, d1 + 301 * s);
  await reject(a4, d1 + 301 * s, a4sms);
  await accept(a4sms.id, "m4", d1 + 302 * s);
  await receipt("vn", "m4", "delivered", d1 + 310 * s);
  await approve("ver_seed_a4", d1 + 345 * s);

  const x1 = await start("ver_seed_x1", "+14155550109", "US", [sms("tw")], d1 + 400 * s, "svc_other");
  await accept(x1, "mx", d1 + 401 * s);
  await approve("ver_seed_x1", d1 + 410 * s, "svc_other");

  const a5 = await start("ver_seed_a5", "+447400123402", "GB", fallbackRoute, d2);
  await accept(a5, "m5", d2 + s);
  const failed = await receipt("wa", "m5", "failed", d2 + 10 * s);
  if (!failed) throw new Error("seed: m5 unknown");
  const next = delivery("ver_seed_a5", 1, fallbackRoute, d2 + 10 * s);
  await store.advanceRoute({ fromDeliveryId: failed.deliveryId, next, reason: "failed", now: d2 + 10 * s });
  await accept(next.id, "m6", d2 + 11 * s);
  await receipt("vn", "m6", "delivered", d2 + 20 * s);
  await approve("ver_seed_a5", d2 + 90 * s);

  const a6 = await start("ver_seed_a6", "+447400123403", "GB", fallbackRoute, d2 + 100 * s);
  await accept(a6, "m7", d2 + 101 * s);
  await receipt("wa", "m7", "delivered", d2 + 105 * s);
  await approve("ver_seed_a6", d2 + 120 * s);

  const a7 = await start("ver_seed_a7", "+4915112345601", "DE", [sms("vn")], d2 + 200 * s);
  await reject(a7, d2 + 201 * s);

  const a8 = await start("ver_seed_a8", "+14155550104", "US", [sms("tw")], d2 + 300 * s);
  await accept(a8, "m8", d2 + 301 * s);
  const again = delivery("ver_seed_a8", 0, [sms("tw")], d2 + 340 * s);
  await store.recordResend({ id: "ver_seed_a8", now: d2 + 340 * s, cooldownMs: 30_000, delivery: again });
  await accept(again.id, "m9", d2 + 341 * s);
  await check("ver_seed_a8", d2 + 350 * s);
  await store.closeVerification("ver_seed_a8", "expired", d2 + 900 * s);
}

/** Seeds the database file behind a running verifyd through a second connection, as an operator's tool would. */
export async function seedDatabaseFile(dbPath: string, serviceId: string, day1: number, now: number): Promise<void> {
  const sqlite = openSqlite(dbPath);
  migrateSqlite(sqlite.db);
  const store = sqliteStores(sqlite, createNumberVault(TEST_SECRET)).store;
  try {
    await store.ensureService({ id: "svc_other", name: "Other", route: [] }, now);
    await seedAnalytics(store, serviceId, day1);
  } finally {
    await store.close();
  }
}
