import { afterEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

const routes = {
  providers: { wa: { type: "capture" }, sms1: { type: "capture" } },
  route: [
    { channel: "whatsapp", providers: ["wa"], fallbackAfter: "30s" },
    { channel: "sms", providers: ["sms1"] },
  ],
};

type Sample = { name: string; labels: Record<string, string>; value: number };

/** Parses the Prometheus text exposition format (samples only; comments skipped). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key as string] = (raw as string).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when none. */
function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

async function scrape(h: Harness, headers: Record<string, string> = {}) {
  const res = await h.runtime.app.request("/metrics", { headers });
  return { res, text: await res.text() };
}

describe("GET /metrics", () => {
  let h: Harness;
  afterEach(async () => h.close());

  it("counts starts, checks, deliveries, fallbacks, rate limits, blocks, expiries and requests by route pattern", async () => {
    // Events go to a closed port: they stay queued, which the webhook outbox gauge shows.
    h = await createHarness(
      { VERIFYD_LIMIT_SENDS_PER_DESTINATION: "1/10m", VERIFYD_EVENTS_URL: "http://127.0.0.1:9/events" },
      routes,
    );
    const phones = ["+14155550100", "+447400123456", "+447400123457", "+14155550199"];
    const codes: string[] = [];

    // SMS in the US: a wrong code, then the right one.
    const a = await h.startVerification(phones[0] as string, { channels: ["sms"] });
    codes.push(a.code);
    const wrong = a.code === "000000" ? "111111" : "000000";
    const bad = await h.json<{ valid: boolean }>("POST", `/v1/verifications/${a.id}/check`, { code: wrong });
    expect(bad.body.valid).toBe(false);
    // Its SMS is confirmed delivered 4 s after it was queued.
    h.clock.advance(4_000);
    expect(await h.runtime.outbox.applyStatus("sms1", { providerMessageId: "msg_1", status: "delivered" })).not.toBeNull();
    const ok = await h.json<{ valid: boolean }>("POST", `/v1/verifications/${a.id}/check`, { code: a.code });
    expect(ok.body.valid).toBe(true);

    // A premium-rate number is refused by screening on both channels of the route.
    const blocked = await h.json<{ code: string }>("POST", "/v1/verifications", { to: "+449098790000" });
    expect(blocked.status).toBe(403);

    // A second send to the same number within the window is refused.
    const refused = await h.json<{ code: string }>("POST", "/v1/verifications", { to: phones[0] });
    expect(refused.status).toBe(429);

    // WhatsApp rejects at send time: the route falls over to SMS at once.
    h.provider("wa").script.push({ kind: "rejected", error: { code: "131026", message: "not a WhatsApp user" } });
    codes.push((await h.startVerification(phones[1] as string)).code);

    // WhatsApp accepts, then its receipt says failed: the route falls over to SMS.
    codes.push((await h.startVerification(phones[2] as string)).code);
    const wa = h.provider("wa");
    const sent = await h.runtime.outbox.applyStatus("wa", {
      providerMessageId: `msg_${wa.messages.length}`,
      status: "failed",
      errorCode: "131026",
    });
    expect(sent).not.toBeNull();

    // A transient SMS failure leaves the delivery queued for a retry.
    h.provider("sms1").script.push({ kind: "retry", error: { code: "throttled", message: "slow down" } });
    codes.push((await h.startVerification(phones[3] as string, { channels: ["sms"] })).code);

    // Past the 10-minute TTL the sweep expires the three verifications still pending.
    h.clock.advance(11 * 60_000);
    await h.runtime.outbox.runOnce();

    const { res, text } = await scrape(h);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseExposition(text);
    const v = (name: string, labels?: Record<string, string>) => sampleValue(samples, `verifyd_${name}`, labels);

    const service = "svc_default";
    expect(v("verifications_started_total", { service, channel: "sms", country: "US" })).toBe(2);
    expect(v("verifications_started_total", { service, channel: "whatsapp", country: "GB" })).toBe(2);
    expect(v("verifications_approved_total", { service, channel: "sms", country: "US" })).toBe(1);
    // Both GB verifications had fallen over to SMS; the US one with the retry was on SMS all along.
    expect(v("verifications_expired_total", { service, channel: "sms", country: "GB" })).toBe(2);
    expect(v("verifications_expired_total", { service, channel: "sms", country: "US" })).toBe(1);
    expect(v("abuse_blocked_total", { rule: "premium_rate_number" })).toBe(1);
    expect(v("time_to_delivered_seconds_count", { provider: "sms1", channel: "sms" })).toBe(1);
    expect(v("time_to_delivered_seconds_sum", { provider: "sms1", channel: "sms" })).toBe(4);
    expect(v("time_to_delivered_seconds_bucket", { provider: "sms1", channel: "sms", le: "2" })).toBe(0);
    expect(v("time_to_delivered_seconds_bucket", { provider: "sms1", channel: "sms", le: "5" })).toBe(1);
    // Every verification and delivery event, none deliverable to the closed port: the gauge is the table's depth.
    const pending = await h.withStore((store) => store.countPendingEvents());
    expect(pending).toBeGreaterThanOrEqual(5);
    expect(v("events_pending")).toBe(pending);
    expect(v("verification_checks_total", { reason: "wrong_code" })).toBe(1);
    expect(v("verification_checks_total", { reason: "approved" })).toBe(1);
    expect(v("rate_limited_total", { rule: "sends_per_destination" })).toBe(1);
    expect(v("deliveries_total", { provider: "sms1", channel: "sms", outcome: "accepted" })).toBe(3);
    expect(v("deliveries_total", { provider: "sms1", channel: "sms", outcome: "delivered" })).toBe(1);
    expect(v("deliveries_total", { provider: "sms1", channel: "sms", outcome: "retry" })).toBe(1);
    expect(v("deliveries_total", { provider: "wa", channel: "whatsapp", outcome: "rejected" })).toBe(1);
    expect(v("deliveries_total", { provider: "wa", channel: "whatsapp", outcome: "accepted" })).toBe(1);
    expect(v("deliveries_total", { provider: "wa", channel: "whatsapp", outcome: "failed" })).toBe(1);
    expect(v("fallbacks_total", { from: "whatsapp", to: "sms", reason: "rejected" })).toBe(1);
    // The provider's error code (131026) is not part of the reason label.
    expect(v("fallbacks_total", { from: "whatsapp", to: "sms", reason: "failed" })).toBe(1);
    expect(v("send_duration_seconds_count", { provider: "sms1" })).toBe(4);
    expect(v("send_duration_seconds_count", { provider: "wa" })).toBe(2);
    // The queued retry was canceled when its verification expired.
    expect(v("outbox_queued")).toBe(0);

    const checkRoute = { route: "/v1/verifications/:id/check", method: "POST" };
    expect(v("http_request_duration_seconds_count", { ...checkRoute, status: "200" })).toBe(2);
    expect(v("http_request_duration_seconds_count", { route: "/v1/verifications", method: "POST", status: "201" })).toBe(4);
    expect(v("http_request_duration_seconds_count", { route: "/v1/verifications", method: "POST", status: "429" })).toBe(1);
    expect(v("http_request_duration_seconds_count", { route: "/v1/verifications", method: "POST", status: "403" })).toBe(1);
    // Process metrics come along on the runtime's own registry.
    expect(sampleValue(samples, "process_cpu_user_seconds_total")).toBeGreaterThanOrEqual(0);

    // No label carries a number, a code or an id.
    const values = samples.flatMap((s) => Object.values(s.labels));
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) {
      for (const phone of phones) expect(value).not.toContain(phone.slice(1));
      for (const code of codes) expect(value).not.toBe(code);
      expect(value).not.toContain(a.id);
      expect(value).not.toMatch(/ver_/);
    }
  });

  it("requires the metrics token when one is configured", async () => {
    const token = "metrics-token-0123456789abcdef";
    h = await createHarness({ VERIFYD_METRICS_TOKEN: token });
    const missing = await scrape(h);
    expect(missing.res.status).toBe(401);
    expect(missing.text).not.toContain("verifyd_");
    expect((await scrape(h, { authorization: "Bearer metrics-token-wrong" })).res.status).toBe(401);
    // The admin API key is not the metrics token.
    expect((await scrape(h, { authorization: "Bearer test-admin-key-0123456789abcdef" })).res.status).toBe(401);
    const good = await scrape(h, { authorization: `Bearer ${token}` });
    expect(good.res.status).toBe(200);
    expect(good.text).toContain("# TYPE verifyd_verifications_started_total counter");
  });

  it("keeps each runtime's metrics apart", async () => {
    h = await createHarness();
    const other = await createHarness();
    try {
      await h.startVerification("+14155550111");
      const mine = parseExposition((await scrape(h)).text);
      const theirs = parseExposition((await scrape(other)).text);
      const started = { service: "svc_default", channel: "sms", country: "US" };
      expect(sampleValue(mine, "verifyd_verifications_started_total", started)).toBe(1);
      expect(sampleValue(theirs, "verifyd_verifications_started_total", started)).toBeUndefined();
    } finally {
      await other.close();
    }
  });
});
