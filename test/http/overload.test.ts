import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createServerFor } from "../../src/main.js";
import { GUARD_NEVER_TRIPS } from "../helpers/conversion.js";
import { ADMIN_KEY, createHarness, type Harness } from "../helpers/harness.js";
import { until } from "../helpers/waiting.js";
import { startWebhookSink } from "../helpers/webhook-sink.js";

/**
 * Admission control as deployed: the harness's runtime served by `createServerFor` (the front door,
 * then the app) on a real socket. A request with the `x-test-hold` header is held before it reaches
 * the app (so it keeps its slot) until `release()`. `arrived(path)` settles once the server has
 * parsed a request's headers for `path`.
 */
async function serveHarness(h: Harness) {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const app = h.runtime.app;
  const fetch: typeof app.fetch = (req, env) =>
    req.headers.get("x-test-hold") ? released.then(() => app.fetch(req, env)) : app.fetch(req, env);
  const server = createServerFor({ admit: h.runtime.admit, app: { fetch } }, { host: "127.0.0.1", tls: undefined });
  const arrivals: string[] = [];
  server.on("request", (req) => arrivals.push(req.url ?? ""));
  const arrived = (path: string) => until(`a request for ${path}`, () => (arrivals.includes(path) ? true : undefined));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  const request = (path: string, init: RequestInit = {}) =>
    globalThis.fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...init.headers } });
  const post = (path: string, body: unknown, init: RequestInit = {}) =>
    request(path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, ...init });
  /** A request that holds its slot until `release()`. */
  const held = () => request("/v1/verifications/ver_held", { headers: { "x-test-hold": "1" } });
  /** The value of a sample of /metrics, e.g. `verifyd_requests_shed_total{reason="queue_full"}`. */
  const metric = async (sample: string): Promise<number | undefined> => {
    const text = await (await request("/metrics")).text();
    const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
    return line === undefined ? undefined : Number(line.slice(sample.length + 1));
  };
  const gauge = (name: string, value: number) =>
    until(`${name} to be ${value}`, async () => ((await metric(name)) === value ? true : undefined));
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { port, request, post, held, release, metric, gauge, arrived, close };
}

/**
 * Holds every send until `release()`: with an hour of dispatch budget, a start waits for its
 * provider until then. `reached` settles when the first send is under way.
 */
function holdSends(h: Harness) {
  const send = h.sender.send.bind(h.sender);
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reached = () => {};
  const firstSend = new Promise<void>((resolve) => {
    reached = resolve;
  });
  h.sender.send = async (message) => {
    reached();
    await released;
    return send(message);
  };
  return { firstSend, release };
}

const ONE_SLOT = {
  VERIFYD_MAX_IN_FLIGHT: "1",
  VERIFYD_MAX_QUEUED: "1",
  VERIFYD_QUEUE_TIMEOUT: "250ms",
  VERIFYD_DISPATCH_BUDGET: "1h",
};

describe("admission control (overload)", () => {
  let h: Harness;
  let served: Awaited<ReturnType<typeof serveHarness>>;
  afterEach(async () => {
    served.release();
    await served.close();
    await h.close();
  });

  async function setUp(env: Record<string, string>) {
    h = await createHarness(env);
    served = await serveHarness(h);
    return served;
  }

  it("queues past the in-flight limit, refuses past the queue with 503 overloaded before any work, and keeps probes, scrapes and provider callbacks answering", async () => {
    const { post, request, held, release, metric, gauge } = await setUp(ONE_SLOT);
    const first = held();
    await gauge("verifyd_requests_in_flight", 1);
    const queued = post("/v1/verifications", { to: "+14155550101" });
    await gauge("verifyd_requests_queued", 1);

    const refused = await post("/v1/verifications", { to: "+14155550102" });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toEqual({
      type: "https://verifyd.dev/problems/overloaded",
      title: "Too many requests are in progress; retry later",
      status: 503,
      code: "overloaded",
      detail: "too many requests are in progress; retry later",
      instance: "/v1/verifications",
    });
    // Refused before the body is read or the key looked up: no 400, no 401.
    expect((await globalThis.fetch(refused.url, { method: "POST", body: "{not json" })).status).toBe(503);
    // Any path but the probes, the scrape and provider callbacks is governed, however it is spelled.
    expect((await request("/%68ealthz")).status).toBe(503);
    expect((await request("/docs")).status).toBe(503);

    // The Twilio surface refuses in Twilio's error shape.
    const twilio = await request("/twilio/v2/Services/VA0123/Verifications", { method: "POST" });
    expect(twilio.status).toBe(503);
    expect(twilio.headers.get("retry-after")).toBe("1");
    expect(await twilio.json()).toEqual({
      code: 20503,
      status: 503,
      message: "Service unavailable: too many requests are in progress; retry later",
      more_info: "https://www.twilio.com/docs/errors/20503",
    });

    for (const path of ["/healthz", "/readyz", "/metrics"]) expect((await request(path)).status).toBe(200);
    expect((await request("/webhooks/nobody", { method: "POST" })).status).toBe(404); // reached the app

    // The queued start waits no longer than the queue timeout, then is refused.
    h.clock.advance(250);
    const timedOut = await queued;
    expect(timedOut.status).toBe(503);
    expect(timedOut.headers.get("retry-after")).toBe("1");
    expect(((await timedOut.json()) as { detail: string }).detail).toBe("no capacity freed up within 250 ms; retry later");

    release();
    expect((await first).status).toBe(404); // the held request went on to the app
    expect((await post("/v1/verifications", { to: "+14155550103" })).status).toBe(201);
    expect(h.sender.messages.map((m) => m.to)).toEqual(["+14155550103"]);
    expect(await metric('verifyd_requests_shed_total{reason="queue_full"}')).toBe(5);
    expect(await metric('verifyd_requests_shed_total{reason="queue_timeout"}')).toBe(1);
    expect(await metric("verifyd_requests_in_flight")).toBe(0);
  });

  it("while it refuses requests, event webhooks wait: a worker pass sends one batch until a second has passed", async () => {
    const sink = await startWebhookSink();
    try {
      const { post, held } = await setUp({
        ...ONE_SLOT,
        ...GUARD_NEVER_TRIPS,
        VERIFYD_EVENTS_URL: sink.url,
        VERIFYD_LIMIT_SENDS_PER_PREFIX: "1000/1h",
      });
      for (let i = 0; i < 40; i++) expect((await post("/v1/verifications", { to: `+1212555${1000 + i}` })).status).toBe(201);
      const holding = held();
      await served.gauge("verifyd_requests_in_flight", 1);
      const queued = post("/v1/verifications", { to: "+14155550101" });
      await served.gauge("verifyd_requests_queued", 1);
      expect((await post("/v1/verifications", { to: "+14155550102" })).status).toBe(503);

      await h.runtime.outbox.runOnce();
      expect(sink.requests).toHaveLength(32); // of 80 (a started and a sent event per start)
      h.clock.advance(1000); // also times the queued start out: one more refusal, now
      expect((await queued).status).toBe(503);
      await h.runtime.outbox.runOnce();
      expect(sink.requests).toHaveLength(64);
      h.clock.advance(1000);
      await h.runtime.outbox.runOnce();
      expect(sink.requests).toHaveLength(80);
      served.release();
      expect((await holding).status).toBe(404);
    } finally {
      await sink.close();
    }
  });

  it("drops a queued request whose caller leaves, without working on it", async () => {
    const { post, held, release, metric, gauge } = await setUp(ONE_SLOT);
    const first = held();
    await gauge("verifyd_requests_in_flight", 1);
    const caller = new AbortController();
    const left = post("/v1/verifications", { to: "+14155550101" }, { signal: caller.signal }).catch((err: Error) => err.name);
    await gauge("verifyd_requests_queued", 1);
    caller.abort();
    expect(await left).toBe("AbortError");
    await gauge('verifyd_requests_shed_total{reason="client_closed"}', 1);
    expect(await metric("verifyd_requests_queued")).toBe(0);
    release();
    await first;
    expect(h.sender.messages).toEqual([]);
  });

  it("gives a request its slot only once its body has arrived: a slow upload holds a connection, not a slot", async () => {
    const { port, post, arrived } = await setUp({ ...ONE_SLOT, VERIFYD_MAX_QUEUED: "0" });
    const body = JSON.stringify({ to: "+14155550100" });
    const slow = net.connect(port, "127.0.0.1");
    let answer = "";
    slow.on("data", (chunk) => {
      answer += chunk.toString();
    });
    const answered = new Promise<void>((resolve) => slow.on("end", resolve));
    slow.write(
      `POST /v1/verifications?slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`,
    );
    await arrived("/v1/verifications?slow");
    expect((await post("/v1/verifications", { to: "+14155550101" })).status).toBe(201);
    slow.write(body.slice(5));
    await answered;
    expect(answer).toMatch(/^HTTP\/1\.1 201 /);
    expect(h.sender.messages.map((m) => m.to).sort()).toEqual(["+14155550100", "+14155550101"]);
  });

  it("refuses a body declared larger than the limit at the door, 413", async () => {
    const { request } = await setUp(ONE_SLOT);
    const res = await request("/v1/verifications", {
      method: "POST",
      body: JSON.stringify({ to: "+14155550100", pad: "x".repeat(20_000) }),
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "payload_too_large", detail: "bodies are limited to 16384 bytes" });
  });

  it("gives the slot of a start back while it waits for its provider, so a slow provider holds up no other request", async () => {
    const { post } = await setUp({ ...ONE_SLOT, VERIFYD_MAX_QUEUED: "0" });
    const sends = holdSends(h);
    const first = post("/v1/verifications", { to: "+14155550100" });
    await sends.firstSend;
    const other = post("/v1/verifications", { to: "+14155550101" });
    sends.release();
    expect((await first).status).toBe(201);
    expect((await other).status).toBe(201);
  });

  it("frees the slot of a long poll while it waits", async () => {
    const { post, request, gauge, arrived } = await setUp({ ...ONE_SLOT, VERIFYD_MAX_QUEUED: "0" });
    const { id } = await h.startVerification("+14155550100");
    let polling = true;
    const poll = request(`/v1/verifications/${id}?wait=30`).then(async (res) => {
      polling = false;
      return (await res.json()) as { status: string };
    });
    await arrived(`/v1/verifications/${id}?wait=30`); // admitted at once (no body to wait for) …
    await gauge("verifyd_requests_in_flight", 0); // … and then its slot given back
    expect((await post("/v1/verifications", { to: "+14155550101" })).status).toBe(201);
    expect(polling).toBe(true); // both at once, with one slot
    expect((await post(`/v1/verifications/${id}/cancel`, {})).status).toBe(200);
    expect((await poll).status).toBe("canceled");
  });

  it("admits everything with VERIFYD_MAX_IN_FLIGHT=0", async () => {
    const { held, post, release } = await setUp({ ...ONE_SLOT, VERIFYD_MAX_IN_FLIGHT: "0" });
    const holding = [held(), held()];
    expect((await post("/v1/verifications", { to: "+14155550100" })).status).toBe(201);
    release();
    for (const res of await Promise.all(holding)) expect(res.status).toBe(404);
  });

  it("while refusing, admits no more than VERIFYD_MAX_ADMISSION_RATE requests a second, and says why", async () => {
    const { post, held, release, metric, gauge } = await setUp({
      ...ONE_SLOT,
      VERIFYD_MAX_IN_FLIGHT: "2",
      VERIFYD_MAX_QUEUED: "0",
      VERIFYD_MAX_ADMISSION_RATE: "2",
    });
    const holding = [held(), held()]; // the bucket's two admissions, and both slots
    await gauge("verifyd_requests_in_flight", 2);
    expect((await post("/v1/verifications", { to: "+14155550101" })).status).toBe(503); // queue_full: shedding now
    release();
    for (const res of await Promise.all(holding)) expect(res.status).toBe(404);

    // Slots are free, but no admission is left this second.
    const refused = await post("/v1/verifications", { to: "+14155550102" });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(((await refused.json()) as { detail: string }).detail).toBe(
      "more requests are arriving than can be served; retry later",
    );
    h.clock.advance(500); // one admission back
    expect((await post("/v1/verifications", { to: "+14155550103" })).status).toBe(201);
    expect((await post("/v1/verifications", { to: "+14155550104" })).status).toBe(503);
    expect(h.sender.messages.map((m) => m.to)).toEqual(["+14155550103"]);
    expect(await metric('verifyd_requests_shed_total{reason="queue_full"}')).toBe(1);
    expect(await metric('verifyd_requests_shed_total{reason="admission_rate"}')).toBe(2);
  });
});
