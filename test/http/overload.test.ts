import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createServerFor } from "../../src/main.js";
import { ADMIN_KEY, createHarness, type Harness } from "../helpers/harness.js";
import { until } from "../helpers/waiting.js";

type Problem = { type: string; status: number; code: string; detail: string };

/**
 * Holds every send until `release()`: with an hour of dispatch budget, a start keeps its admission
 * slot until then. `reached` settles when the first send is under way.
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

/** The harness's runtime served as in production (`createServerFor`: the front door, then the app) on a free port. */
async function serveHarness(h: Harness) {
  const server = createServerFor(h.runtime, { host: "127.0.0.1", tls: undefined });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const request = (path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...init.headers } });
  const post = (path: string, body: unknown) =>
    request(path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  /** The value of a sample of /metrics, e.g. `verifyd_requests_shed_total{reason="queue_full"}`. */
  const metric = async (sample: string): Promise<number | undefined> => {
    const text = await (await request("/metrics")).text();
    const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
    return line === undefined ? undefined : Number(line.slice(sample.length + 1));
  };
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { request, post, metric, close };
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
    await served.close();
    await h.close();
  });

  async function setUp(env: Record<string, string>) {
    h = await createHarness(env);
    served = await serveHarness(h);
    return served;
  }

  it("queues past the in-flight limit, refuses past the queue with 503 overloaded before any work, and keeps health, readiness and metrics answering", async () => {
    const { post, request, metric } = await setUp(ONE_SLOT);
    const sends = holdSends(h);
    const first = post("/v1/verifications", { to: "+14155550100" });
    await sends.firstSend;
    const queued = post("/v1/verifications", { to: "+14155550101" });
    await until("the second start to queue", async () => ((await metric("verifyd_requests_queued")) === 1 ? true : undefined));
    expect(await metric("verifyd_requests_in_flight")).toBe(1);

    const refused = await post("/v1/verifications", { to: "+14155550102" });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toMatchObject({
      type: "https://verifyd.dev/problems/overloaded",
      title: expect.any(String),
      status: 503,
      code: "overloaded",
      detail: expect.any(String),
      instance: "/v1/verifications",
    });
    // Refused before the body is read or the key looked up: no 400, no 401.
    const unread = await fetch(refused.url, { method: "POST", body: "{not json" });
    expect(unread.status).toBe(503);
    // Any path but the probes, the scrape and provider callbacks is governed, however it is spelled.
    expect((await request("/%68ealthz")).status).toBe(503);
    expect((await request("/docs")).status).toBe(503);

    // The Twilio surface refuses in Twilio's error shape.
    const twilio = await request("/twilio/v2/Services/VA0123/Verifications", { method: "POST" });
    expect(twilio.status).toBe(503);
    expect(twilio.headers.get("retry-after")).toBe("1");
    expect(await twilio.json()).toMatchObject({
      code: 20503,
      status: 503,
      more_info: "https://www.twilio.com/docs/errors/20503",
    });

    for (const path of ["/healthz", "/readyz", "/metrics"]) expect((await request(path)).status).toBe(200);

    // The queued start waits no longer than the queue timeout, then is refused.
    h.clock.advance(250);
    const timedOut = await queued;
    expect(timedOut.status).toBe(503);
    expect(timedOut.headers.get("retry-after")).toBe("1");
    expect(((await timedOut.json()) as Problem).detail).toContain("250 ms");

    sends.release();
    expect((await first).status).toBe(201);
    expect((await post("/v1/verifications", { to: "+14155550103" })).status).toBe(201);
    expect(h.sender.messages.map((m) => m.to)).toEqual(["+14155550100", "+14155550103"]);
    expect(await metric('verifyd_requests_shed_total{reason="queue_full"}')).toBe(5);
    expect(await metric('verifyd_requests_shed_total{reason="queue_timeout"}')).toBe(1);
    expect(await metric("verifyd_requests_in_flight")).toBe(0);
  });

  it("frees the slot of a long poll while it waits", async () => {
    const { post, request, metric } = await setUp({ ...ONE_SLOT, VERIFYD_MAX_QUEUED: "0" });
    const { id } = await h.startVerification("+14155550100");
    let polling = true;
    const poll = request(`/v1/verifications/${id}?wait=30`).then(async (res) => {
      polling = false;
      return (await res.json()) as { status: string };
    });
    await until("the long poll to wait", async () => ((await metric("verifyd_requests_in_flight")) === 0 ? true : undefined));
    expect(polling).toBe(true);
    expect((await post("/v1/verifications", { to: "+14155550101" })).status).toBe(201);
    expect(polling).toBe(true); // both at once, with one slot
    expect((await post(`/v1/verifications/${id}/cancel`, {})).status).toBe(200);
    expect((await poll).status).toBe("canceled");
  });

  it("drops a queued request whose caller leaves, without working on it", async () => {
    const { post, request, metric } = await setUp(ONE_SLOT);
    const sends = holdSends(h);
    const first = post("/v1/verifications", { to: "+14155550100" });
    await sends.firstSend;
    const caller = new AbortController();
    const left = request("/v1/verifications", {
      method: "POST",
      body: JSON.stringify({ to: "+14155550101" }),
      headers: { "content-type": "application/json" },
      signal: caller.signal,
    }).catch((err: Error) => err.name);
    await until("the second start to queue", async () => ((await metric("verifyd_requests_queued")) === 1 ? true : undefined));
    caller.abort();
    expect(await left).toBe("AbortError");
    await until("the queue to drop it", async () =>
      (await metric('verifyd_requests_shed_total{reason="client_closed"}')) === 1 ? true : undefined,
    );
    expect(await metric("verifyd_requests_queued")).toBe(0);
    sends.release();
    expect((await first).status).toBe(201);
    expect(h.sender.messages.map((m) => m.to)).toEqual(["+14155550100"]);
  });

  it("admits everything with VERIFYD_MAX_IN_FLIGHT=0", async () => {
    const { post } = await setUp({ ...ONE_SLOT, VERIFYD_MAX_IN_FLIGHT: "0" });
    const sends = holdSends(h);
    const first = post("/v1/verifications", { to: "+14155550100" });
    await sends.firstSend;
    const more = ["+14155550101", "+14155550102", "+14155550103"].map((to) => post("/v1/verifications", { to }));
    sends.release();
    for (const res of await Promise.all([first, ...more])) expect(res.status).toBe(201);
  });
});
