import { afterEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";
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

/** The value of a sample in the harness's /metrics, e.g. `verifyd_requests_shed_total{reason="queue_full"}`. */
async function metric(h: Harness, sample: string): Promise<number | undefined> {
  const text = await (await h.runtime.app.request("/metrics")).text();
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

const ONE_SLOT = {
  VERIFYD_MAX_IN_FLIGHT: "1",
  VERIFYD_MAX_QUEUED: "1",
  VERIFYD_QUEUE_TIMEOUT: "250ms",
  VERIFYD_DISPATCH_BUDGET: "1h",
};

describe("admission control (overload)", () => {
  let h: Harness;
  afterEach(async () => h.close());

  it("queues past the in-flight limit, refuses past the queue with 503 overloaded before any work, and keeps health, readiness and metrics answering", async () => {
    h = await createHarness(ONE_SLOT);
    const sends = holdSends(h);
    const first = h.json("POST", "/v1/verifications", { to: "+14155550100" });
    await sends.firstSend;
    const queued = h.json<Problem>("POST", "/v1/verifications", { to: "+14155550101" });
    expect(await metric(h, "verifyd_requests_in_flight")).toBe(1);
    expect(await metric(h, "verifyd_requests_queued")).toBe(1);

    const refused = await h.call("POST", "/v1/verifications", { to: "+14155550102" });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toMatchObject({
      type: "https://verifyd.dev/problems/overloaded",
      status: 503,
      code: "overloaded",
      instance: "/v1/verifications",
    });
    // Refused before the body is read or the key looked up: no 400, no 401.
    const unread = await h.runtime.app.request("/v1/verifications", { method: "POST", body: "{not json" });
    expect(unread.status).toBe(503);

    // The Twilio surface refuses in Twilio's error shape.
    const twilio = await h.runtime.app.request("/twilio/v2/Services/VA0123/Verifications", { method: "POST" });
    expect(twilio.status).toBe(503);
    expect(twilio.headers.get("retry-after")).toBe("1");
    expect(await twilio.json()).toMatchObject({
      code: 20503,
      status: 503,
      more_info: "https://www.twilio.com/docs/errors/20503",
    });

    for (const path of ["/healthz", "/readyz", "/metrics"]) expect((await h.runtime.app.request(path)).status).toBe(200);

    // The queued start waits no longer than the queue timeout, then is refused.
    h.clock.advance(250);
    const timedOut = await queued;
    expect(timedOut.status).toBe(503);
    expect(timedOut.headers.get("retry-after")).toBe("1");
    expect(timedOut.body).toMatchObject({ code: "overloaded", detail: expect.stringContaining("250 ms") });

    sends.release();
    expect((await first).status).toBe(201);
    expect((await h.json("POST", "/v1/verifications", { to: "+14155550103" })).status).toBe(201);
    expect(h.sender.messages.map((m) => m.to)).toEqual(["+14155550100", "+14155550103"]);
    expect(await metric(h, 'verifyd_requests_shed_total{reason="queue_full"}')).toBe(3);
    expect(await metric(h, 'verifyd_requests_shed_total{reason="queue_timeout"}')).toBe(1);
    expect(await metric(h, "verifyd_requests_in_flight")).toBe(0);
  });

  it("frees the slot of a long poll while it waits", async () => {
    h = await createHarness({ ...ONE_SLOT, VERIFYD_MAX_QUEUED: "0" });
    const { id } = await h.startVerification("+14155550100");
    const poll = h.json<{ status: string }>("GET", `/v1/verifications/${id}?wait=30`);
    let polling = true;
    poll.finally(() => {
      polling = false;
    });
    await until("the long poll to give its slot back", async () =>
      (await metric(h, "verifyd_requests_in_flight")) === 0 ? true : undefined,
    );
    expect((await h.json("POST", "/v1/verifications", { to: "+14155550101" })).status).toBe(201);
    expect(polling).toBe(true); // both at once, with one slot
    expect((await h.json("POST", `/v1/verifications/${id}/cancel`)).status).toBe(200);
    expect((await poll).body.status).toBe("canceled");
  });

  it("admits everything with VERIFYD_MAX_IN_FLIGHT=0", async () => {
    h = await createHarness({ ...ONE_SLOT, VERIFYD_MAX_IN_FLIGHT: "0" });
    const sends = holdSends(h);
    const first = h.json("POST", "/v1/verifications", { to: "+14155550100" });
    await sends.firstSend;
    const more = ["+14155550101", "+14155550102", "+14155550103"].map((to) => h.json("POST", "/v1/verifications", { to }));
    sends.release();
    for (const res of await Promise.all([first, ...more])) expect(res.status).toBe(201);
  });
});
