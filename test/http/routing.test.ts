import { afterEach, describe, expect, it } from "vitest";
import type { Sender, WebhookRequest } from "../../src/core/sender.js";
import { createHarness, type Harness } from "../helpers/harness.js";

const routes = {
  providers: { wa: { type: "capture" }, sms1: { type: "capture" }, sms2: { type: "capture" }, rbm: { type: "capture" } },
  route: [
    { channel: "whatsapp", providers: ["wa"], fallbackAfter: "30s" },
    { channel: "sms", providers: ["sms1", "sms2"] },
  ],
  countryRoutes: { DE: [{ channel: "sms", providers: ["sms2"] }] },
};

type View = {
  id: string;
  channel: string;
  deliveries: { step: number; channel: string; provider: string; status: string; error_code: string | null }[];
};

describe("routes from the config file", () => {
  let h: Harness;
  afterEach(async () => h.close());

  it("uses the default route, WhatsApp first", async () => {
    h = await createHarness({}, routes);
    const { id } = await h.startVerification("+14155550100");
    expect(h.provider("wa").messages).toHaveLength(1);
    expect(h.provider("sms1").messages).toHaveLength(0);
    const view = await h.json<View>("GET", `/v1/verifications/${id}`);
    expect(view.body.channel).toBe("whatsapp");
    expect(view.body.deliveries).toMatchObject([{ step: 0, channel: "whatsapp", provider: "wa", status: "accepted" }]);
  });

  it("uses the destination country's route", async () => {
    h = await createHarness({}, routes);
    await h.startVerification("+4915112345678");
    expect(h.provider("sms2").messages.map((m) => m.to)).toEqual(["+4915112345678"]);
    expect(h.provider("wa").messages).toHaveLength(0);
  });

  it("narrows and orders the route by the request's channels", async () => {
    h = await createHarness({}, routes);
    const res = await h.json<View>("POST", "/v1/verifications", { to: "+14155550101", channels: ["sms"] });
    expect(res.status).toBe(201);
    expect(res.body.channel).toBe("sms");
    expect(h.provider("sms1").messages).toHaveLength(1);
    expect(h.provider("wa").messages).toHaveLength(0);
  });

  it("refuses channels the route cannot carry with 422 channel_not_in_route: the caller's choice, not an outage", async () => {
    h = await createHarness({}, routes);
    const res = await h.json<{ code: string; detail: string }>("POST", "/v1/verifications", {
      to: "+14155550102",
      channels: ["rcs"],
    });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("retry-after")).toBeNull();
    expect(res.body.code).toBe("channel_not_in_route");
    expect(res.body.detail).toContain("rcs");
    // The country's route has no WhatsApp step, though the default route has one.
    const de = await h.json<{ code: string }>("POST", "/v1/verifications", { to: "+4915112345678", channels: ["whatsapp"] });
    expect(de).toMatchObject({ status: 422, body: { code: "channel_not_in_route" } });
    const voice = await h.json<{ code: string }>("POST", "/v1/verifications", { to: "+14155550102", channels: ["voice"] });
    expect(voice).toMatchObject({ status: 422, body: { code: "channel_not_in_route" } });
    const bad = await h.json<{ code: string }>("POST", "/v1/verifications", { to: "+14155550102", channels: ["fax"] });
    expect(bad.status).toBe(400);
    expect([...h.provider("wa").messages, ...h.provider("sms1").messages, ...h.provider("sms2").messages]).toEqual([]);
  });

  it("keeps 503 channel_unavailable for a service with no usable route at all", async () => {
    h = await createHarness({}, routes);
    const other = await h.otherServiceKey(); // svc_other has an empty route
    for (const body of [{ to: "+14155550104" }, { to: "+14155550104", channels: ["sms"] }]) {
      const res = await h.runtime.app.request("/v1/verifications", {
        method: "POST",
        headers: { ...other, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { code: string }).code).toBe("channel_unavailable");
    }
  });

  it("shows why a step was left in the verification's deliveries", async () => {
    h = await createHarness({}, routes);
    h.provider("wa").script.push({ kind: "rejected", error: { code: "131026", message: "not a WhatsApp user" } });
    const { id } = await h.startVerification("+14155550103");
    const view = await h.json<View>("GET", `/v1/verifications/${id}`);
    expect(view.body.deliveries).toMatchObject([
      { step: 0, provider: "wa", status: "failed", error_code: "131026" },
      { step: 1, provider: "sms1", status: "accepted", error_code: null },
    ]);
    expect(view.body.channel).toBe("sms");
  });

  it("answers a start with the step its send ended on, not the one it was written with", async () => {
    h = await createHarness({}, routes);
    h.provider("wa").script.push({ kind: "rejected", error: { code: "131026", message: "not a WhatsApp user" } });
    const fellBack = await h.json<View>("POST", "/v1/verifications", { to: "+14155550104" });
    expect(fellBack.status).toBe(201);
    expect(fellBack.body.channel).toBe("sms");
    const accepted = await h.json<View>("POST", "/v1/verifications", { to: "+14155550105" });
    expect(accepted.body.channel).toBe("whatsapp");
  });
});

describe("provider webhooks", () => {
  let h: Harness;
  afterEach(async () => h.close());

  /** Gives the capture provider "wa" a webhook handler that trusts only a fixed token. */
  const withWebhook = (sender: Sender, seen: WebhookRequest[]) => {
    sender.handleWebhook = async (request) => {
      seen.push(request);
      if (request.headers["x-test-signature"] !== "good") return { kind: "rejected", reason: "bad signature" };
      if (request.method === "GET") return { kind: "challenge", body: "challenge-42" };
      const body = JSON.parse(request.rawBody) as { id: string; status: "delivered" | "failed" };
      return {
        kind: "accepted",
        statuses: [
          { providerMessageId: body.id, status: body.status, errorCode: body.status === "failed" ? "131026" : undefined },
        ],
        inbound: [],
      };
    };
  };

  it("rejects a badly signed status webhook with 401 and changes nothing", async () => {
    h = await createHarness({ VERIFYD_PUBLIC_URL: "https://verify.example.com" }, routes);
    const seen: WebhookRequest[] = [];
    withWebhook(h.provider("wa"), seen);
    const { id } = await h.startVerification("+14155550104");
    const res = await h.runtime.app.request("/webhooks/wa/status?x=1", {
      method: "POST",
      headers: { "x-test-signature": "forged", "content-type": "application/json" },
      body: JSON.stringify({ id: "msg_1", status: "failed" }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe("webhook_signature_invalid");
    expect(seen[0]?.url).toBe("https://verify.example.com/webhooks/wa/status?x=1");
    expect(h.provider("sms1").messages).toHaveLength(0);
    const view = await h.json<View>("GET", `/v1/verifications/${id}`);
    expect(view.body.deliveries.map((d) => d.status)).toEqual(["accepted"]);
  });

  it("a signed failed receipt falls over to SMS; a delivered one is recorded", async () => {
    h = await createHarness({}, routes);
    withWebhook(h.provider("wa"), []);
    const { id } = await h.startVerification("+14155550105");
    const failed = await h.runtime.app.request("/webhooks/wa/status", {
      method: "POST",
      headers: { "x-test-signature": "good" },
      body: JSON.stringify({ id: "msg_1", status: "failed" }),
    });
    expect(failed.status).toBe(200);
    expect(h.provider("sms1").messages).toHaveLength(1);
    await h.runtime.app.request("/webhooks/sms1/status", { method: "POST", body: "{}" }); // sms1 has no handler
    const view = await h.json<View>("GET", `/v1/verifications/${id}`);
    expect(view.body.deliveries).toMatchObject([
      { provider: "wa", status: "failed", error_code: "131026" },
      { provider: "sms1", status: "accepted" },
    ]);
  });

  it("answers a verification handshake and 404 for providers without webhooks", async () => {
    h = await createHarness({}, routes);
    withWebhook(h.provider("wa"), []);
    const hs = await h.runtime.app.request("/webhooks/wa/status?hub.challenge=challenge-42", {
      headers: { "x-test-signature": "good" },
    });
    expect(hs.status).toBe(200);
    expect(await hs.text()).toBe("challenge-42");
    expect((await h.runtime.app.request("/webhooks/sms1/status", { method: "POST", body: "{}" })).status).toBe(404);
    expect((await h.runtime.app.request("/webhooks/nobody/status", { method: "POST", body: "{}" })).status).toBe(404);
  });
});

describe("delegated steps", () => {
  it("approves with the provider's own code, forwarded to the provider", async () => {
    const h = await createHarness({}, { providers: { mc: { type: "capture" } }, route: [{ channel: "sms", providers: ["mc"] }] });
    try {
      const mc = h.provider("mc");
      const forwarded: [string, string][] = [];
      mc.checkCode = async (reference, code) => {
        forwarded.push([reference, code]);
        return code === "4321" ? { kind: "approved" } : { kind: "wrong_code" };
      };
      const { id } = await h.startVerification("+14155550106");
      const wrong = await h.json<{ valid: boolean; reason: string }>("POST", `/v1/verifications/${id}/check`, { code: "9999" });
      expect(wrong.body).toMatchObject({ valid: false, reason: "wrong_code" });
      const ok = await h.json<{ valid: boolean; status: string }>("POST", `/v1/verifications/${id}/check`, { code: "4321" });
      expect(ok.body).toMatchObject({ valid: true, status: "approved" });
      expect(forwarded).toEqual([
        ["msg_1", "9999"],
        ["msg_1", "4321"],
      ]);
    } finally {
      await h.close();
    }
  });
});
