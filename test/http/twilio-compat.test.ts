import twilio from "twilio";
import { afterEach, describe, expect, it } from "vitest";
import { serviceSid } from "../../src/http/twilio/sids.js";
import { GUARD_NEVER_TRIPS } from "../helpers/conversion.js";
import { ADMIN_KEY, createHarness, type Harness } from "../helpers/harness.js";
import { ACCOUNT_SID, LocalVerifyClient, listen, restException, sdkClient } from "../helpers/twilio-sdk.js";

const TO = "+14155550100";
const SID = /^VE[0-9a-f]{32}$/;
const START = new Date(Date.UTC(2026, 0, 15, 12, 0, 0));

/** A code that is surely wrong: the right one with its first digit changed. */
const wrong = (code: string) => `${(Number(code[0]) + 1) % 10}${code.slice(1)}`;

describe("Twilio Verify v2 compatibility, driven by the official twilio SDK", () => {
  let h: Harness | undefined;
  let server: { base: string; close: () => Promise<void> } | undefined;
  afterEach(async () => {
    await server?.close();
    await h?.close();
    h = server = undefined;
  });

  async function setUp(env: Record<string, string> = {}) {
    h = await createHarness(env);
    server = await listen(h);
    return { h, client: sdkClient(server.base, ADMIN_KEY) };
  }

  it("creates a service, starts a verification, refuses a wrong code, approves the right one, then forgets it", async () => {
    const { h, client } = await setUp();
    const service = await client.verify.v2.services.create({ friendlyName: "Acme", codeLength: 8 });
    expect(service.sid).toMatch(/^VA[0-9a-f]{32}$/);
    expect(service.friendlyName).toBe("Acme");
    expect(service.codeLength).toBe(8);
    expect(service.accountSid).toBe(ACCOUNT_SID);
    expect((await client.verify.v2.services(service.sid).fetch()).friendlyName).toBe("Acme");

    const verifications = client.verify.v2.services(service.sid).verifications;
    const started = await verifications.create({ to: TO, channel: "sms" });
    expect(started.sid).toMatch(SID);
    expect(started.sid).toHaveLength(34);
    expect(started).toMatchObject({ status: "pending", channel: "sms", to: TO, valid: false, serviceSid: service.sid });
    expect(started.accountSid).toBe(ACCOUNT_SID);
    expect(started.dateCreated).toEqual(START);
    expect(started.sendCodeAttempts).toHaveLength(1);
    expect(started.sendCodeAttempts[0]).toMatchObject({ channel: "sms", attempt_sid: expect.stringMatching(/^VL[0-9a-f]{32}$/) });
    expect(started.url).toBe(`${server?.base}/twilio/v2/Services/${service.sid}/Verifications/${started.sid}`);

    const code = h.sender.lastCode(TO);
    expect(code).toHaveLength(8); // the service's CodeLength reached the core
    const checks = client.verify.v2.services(service.sid).verificationChecks;
    const miss = await checks.create({ to: TO, code: wrong(code) });
    expect(miss).toMatchObject({ sid: started.sid, status: "pending", valid: false });

    const hit = await checks.create({ verificationSid: started.sid, code });
    expect(hit).toMatchObject({ sid: started.sid, status: "approved", valid: true, to: TO, channel: "sms" });

    const gone = await restException(verifications(started.sid).fetch());
    expect(gone).toMatchObject({ status: 404, code: 20404, moreInfo: "https://www.twilio.com/docs/errors/20404" });
    expect((await restException(checks.create({ to: TO, code }))).code).toBe(20404);

    // The same core underneath: its metrics count these calls.
    const metrics = await (await h.runtime.app.request("/metrics")).text();
    expect(metrics).toMatch(/verifyd_verifications_started_total\{service="svc_[^"]+",channel="sms",country="US"\} 1/);
    expect(metrics).toMatch(/verifyd_verification_checks_total\{reason="wrong_code"\} 1/);
    expect(metrics).toMatch(/verifyd_verifications_approved_total\{service="svc_[^"]+",channel="sms",country="US"\} 1/);
  });

  it("binds Amount and Payee to the code (PSD2): another payee is a wrong code, the same one approves", async () => {
    const { h, client } = await setUp();
    const service = await client.verify.v2.services.create({ friendlyName: "Shop" });
    const verifications = client.verify.v2.services(service.sid).verifications;
    const started = await verifications.create({ to: TO, channel: "sms", amount: "EUR 12.50", payee: "ACME" });
    expect(started).toMatchObject({ status: "pending", amount: "EUR 12.50", payee: "ACME" });
    const code = h.sender.lastCode(TO);
    expect(h.sender.messages.at(-1)?.body).toContain("EUR 12.50");

    const checks = client.verify.v2.services(service.sid).verificationChecks;
    const other = await checks.create({ verificationSid: started.sid, code, amount: "EUR 12.50", payee: "EVIL" });
    expect(other).toMatchObject({ status: "pending", valid: false });
    const same = await checks.create({ verificationSid: started.sid, code, amount: "EUR 12.50", payee: "ACME" });
    expect(same).toMatchObject({ status: "approved", valid: true, amount: "EUR 12.50", payee: "ACME" });

    const half = await restException(verifications.create({ to: "+14155550101", channel: "sms", amount: "EUR 1.00" }));
    expect(half).toMatchObject({ status: 400, code: 60200 });
  });

  it("reads a pending verification by its sid or its To number, and cancels or approves it", async () => {
    const { h, client } = await setUp();
    const { sid: serviceSid } = await client.verify.v2.services.create({ friendlyName: "Acme" });
    const service = client.verify.v2.services(serviceSid);
    const first = await service.verifications.create({ to: TO, channel: "auto" });
    expect((await service.verifications(TO).fetch()).sid).toBe(first.sid);

    const canceled = await service.verifications(first.sid).update({ status: "canceled" });
    expect(canceled).toMatchObject({ sid: first.sid, status: "canceled" });
    expect((await restException(service.verifications(first.sid).fetch())).code).toBe(20404);
    const code = h.sender.lastCode(TO);
    expect((await restException(service.verificationChecks.create({ verificationSid: first.sid, code }))).code).toBe(20404);

    const second = await service.verifications.create({ to: TO, channel: "sms" });
    expect(second.sid).not.toBe(first.sid);
    const approved = await service.verifications(TO).update({ status: "approved" });
    expect(approved).toMatchObject({ sid: second.sid, status: "approved", valid: true });
    expect((await restException(service.verifications(second.sid).update({ status: "canceled" }))).status).toBe(404);
  });

  it("answers 60202 once the checks are used up, and 60203 once the sends are", async () => {
    const { h, client } = await setUp({ ...GUARD_NEVER_TRIPS });
    const service = client.verify.v2.services((await client.verify.v2.services.create({ friendlyName: "Acme" })).sid);
    const v = await service.verifications.create({ to: TO, channel: "sms" });
    const bad = wrong(h.sender.lastCode(TO));
    const statuses: string[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await service.verificationChecks.create({ verificationSid: v.sid, code: bad })).status);
    expect(statuses).toEqual(["pending", "pending", "pending", "pending", "max_attempts_reached"]);
    const limit = await restException(service.verificationChecks.create({ verificationSid: v.sid, code: bad }));
    expect(limit).toMatchObject({ status: 429, code: 60202 });
    expect((await restException(service.verifications(v.sid).fetch())).code).toBe(20404);

    const other = "+14155550101";
    const sends: number[] = [];
    for (let i = 0; i < 5; i++) {
      const resent = await service.verifications.create({ to: other, channel: "sms" });
      sends.push(resent.sendCodeAttempts.length);
      h.clock.advance(31_000); // past the resend cooldown
    }
    expect(sends).toEqual([1, 2, 3, 4, 5]);
    const exhausted = await restException(service.verifications.create({ to: other, channel: "sms" }));
    expect(exhausted).toMatchObject({ status: 429, code: 60203 });
    expect(h.sender.messages.filter((m) => m.to === other)).toHaveLength(5);
  });

  it("maps number screening to Twilio's geo-permission and landline codes", async () => {
    const { h, client } = await setUp({ VERIFYD_BLOCKED_COUNTRIES: "FR" });
    const service = client.verify.v2.services((await client.verify.v2.services.create({ friendlyName: "Acme" })).sid);
    const geo = await restException(service.verifications.create({ to: "+33612345678", channel: "sms" }));
    expect(geo).toMatchObject({ status: 403, code: 60605 });
    const landline = await restException(service.verifications.create({ to: "+493012345678", channel: "sms" }));
    expect(landline).toMatchObject({ status: 403, code: 60205 });
    const premium = await restException(service.verifications.create({ to: "+449098790000", channel: "sms" }));
    expect(premium).toMatchObject({ status: 403, code: 60410 });
    expect(h.sender.messages).toHaveLength(0);
  });

  it("scopes a service key to its own service and refuses bad credentials", async () => {
    const { h, client } = await setUp();
    const { sid } = await client.verify.v2.services.create({ friendlyName: "Acme" });
    const other = (await h.otherServiceKey()).authorization.replace("Bearer ", "");
    const base = server?.base as string;
    const scoped = sdkClient(base, other);
    expect((await restException(scoped.verify.v2.services(sid).verifications.create({ to: TO, channel: "sms" }))).code).toBe(
      20404,
    );
    expect(await restException(scoped.verify.v2.services.create({ friendlyName: "Mine" }))).toMatchObject({
      status: 403,
      code: 20403,
    });
    // Its own service, under the sid derived from its id, is reachable.
    expect((await scoped.verify.v2.services(serviceSid("svc_other")).fetch()).friendlyName).toBe("Other");
    // API-key auth: an SK username, the account named separately; the default service by its derived sid.
    const keyAuth = twilio(`SK${"ab".repeat(16)}`, ADMIN_KEY, {
      accountSid: ACCOUNT_SID,
      httpClient: new LocalVerifyClient(base),
    });
    const byDefault = await keyAuth.verify.v2
      .services(serviceSid("svc_default"))
      .verifications.create({ to: TO, channel: "sms" });
    expect(byDefault).toMatchObject({ status: "pending", serviceSid: serviceSid("svc_default") });
    expect(byDefault.accountSid).toMatch(/^AC[0-9a-f]{32}$/);
    const denied = await restException(sdkClient(base, "vfd_not-a-key").verify.v2.services(sid).fetch());
    expect(denied).toMatchObject({ status: 401, code: 20003 });
  });

  it("also works with the base URL set on the SDK's Verify domain", async () => {
    const { client } = await setUp();
    const plain = twilio(ACCOUNT_SID, ADMIN_KEY);
    plain.verify.baseUrl = `${server?.base}/twilio`;
    const { sid } = await client.verify.v2.services.create({ friendlyName: "Acme" });
    expect((await plain.verify.v2.services(sid).verifications.create({ to: TO, channel: "sms" })).status).toBe("pending");
    expect(new LocalVerifyClient("x")).toBeInstanceOf(twilio.RequestClient);
  });
});

describe("Twilio Verify v2 compatibility over plain HTTP", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const basic = `Basic ${Buffer.from(`${ACCOUNT_SID}:${ADMIN_KEY}`).toString("base64")}`;

  async function post(path: string, body: string, type = "application/x-www-form-urlencoded") {
    const res = await (h as Harness).runtime.app.request(`/twilio/v2${path}`, {
      method: "POST",
      headers: { authorization: basic, "content-type": type },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, type: res.headers.get("content-type") };
  }

  it("answers parameter errors as 60200 in Twilio's error JSON", async () => {
    h = await createHarness();
    const created = await post("/Services", "FriendlyName=Acme");
    expect(created.status).toBe(201);
    const verifications = `/Services/${created.body.sid}/Verifications`;

    const json = await post(verifications, JSON.stringify({ To: TO, Channel: "sms" }), "application/json");
    expect(json.status).toBe(400);
    expect(json.type).toMatch(/^application\/json/);
    expect(json.body).toEqual({
      code: 60200,
      message: expect.stringContaining("form-urlencoded"),
      more_info: "https://www.twilio.com/docs/errors/60200",
      status: 400,
    });
    expect((await post(verifications, "Channel=sms")).body).toMatchObject({ code: 60200, status: 400 });
    expect((await post(verifications, `to=${encodeURIComponent(TO)}&channel=sms`)).body.code).toBe(60200); // names are capitalised
    expect((await post(verifications, `To=${encodeURIComponent(TO)}&Channel=fax`)).body.code).toBe(60200);
    expect((await post(verifications, "To=12&Channel=sms")).body).toMatchObject({ code: 60200, status: 400 });
    expect((await post(verifications, `To=${encodeURIComponent(TO)}&To=%2B14155550101&Channel=sms`)).body.code).toBe(60200);
    expect((await post(verifications, `To=${encodeURIComponent(TO)}&Channel=sms&DeviceIp=nope`)).body.code).toBe(60200);
    expect((await post("/Services", "FriendlyName=Acme&CodeLength=3")).body.code).toBe(60200);
    expect((await post(`/Services/${created.body.sid}/VerificationCheck`, "Code=123456")).body.code).toBe(60200);
    expect(h.sender.messages).toHaveLength(0);
  });

  it("answers a channel the service's route does not carry as 60223 (400), not as an outage", async () => {
    h = await createHarness(); // the default route: one SMS step
    const created = await post("/Services", "FriendlyName=Acme");
    const res = await post(`/Services/${created.body.sid}/Verifications`, `To=${encodeURIComponent(TO)}&Channel=whatsapp`);
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      code: 60223,
      message: expect.stringContaining("Delivery channel disabled"),
      more_info: "https://www.twilio.com/docs/errors/60223",
      status: 400,
    });
    expect(h.sender.messages).toHaveLength(0);
  });

  it("answers a body over VERIFYD_MAX_BODY_BYTES as 20413 in Twilio's error JSON, declared or chunked", async () => {
    h = await createHarness({ VERIFYD_MAX_BODY_BYTES: "1024" });
    const path = `/twilio/v2/Services/${serviceSid("svc_default")}/Verifications`;
    const body = `To=${encodeURIComponent(TO)}&Channel=sms&Payee=${"x".repeat(2048)}`;
    const declared = await h.runtime.app.request(path, {
      method: "POST",
      headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    const bytes = new TextEncoder().encode(body);
    const chunked = await h.runtime.app.request(path, {
      method: "POST",
      headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
      body: new ReadableStream({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 512) controller.enqueue(bytes.subarray(at, at + 512));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    for (const res of [declared, chunked]) {
      expect(res.status).toBe(413);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({
        code: 20413,
        message: expect.stringContaining("1024 bytes"),
        more_info: "https://www.twilio.com/docs/errors/20413",
        status: 413,
      });
    }
    expect(h.sender.messages).toHaveLength(0);
  });

  it("answers other refusals of a request to the surface in Twilio's shape: a JSON body, the bare base path", async () => {
    h = await createHarness();
    const json = await post(`/Services/${serviceSid("svc_default")}/Verifications`, `{"To":"${TO}"}`, "application/json");
    expect(json).toMatchObject({ status: 400, body: { code: 60200, status: 400 } });
    expect(json.type).toMatch(/^application\/json/);
    for (const path of ["/twilio/v2", "/twilio/v2/"]) {
      const res = await h.runtime.app.request(path, { headers: { authorization: basic } });
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await res.json()).toMatchObject({ code: 20404, status: 404 });
    }
  });

  it("answers unknown resources and missing credentials in Twilio's shapes", async () => {
    h = await createHarness();
    const unknown = await post(`/Services/VA${"0".repeat(32)}/Verifications`, `To=${encodeURIComponent(TO)}&Channel=sms`);
    expect(unknown).toMatchObject({ status: 404, body: { code: 20404, status: 404 } });
    expect(unknown.body.message).toBe(`The requested resource /Services/VA${"0".repeat(32)}/Verifications was not found`);
    const anonymous = await h.runtime.app.request("/twilio/v2/Services", { method: "POST" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toContain("Basic");
    expect(await anonymous.json()).toMatchObject({ code: 20003, status: 401 });
    const bearer = await h.runtime.app.request("/twilio/v2/Services", { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(bearer.status).toBe(401);
  });
});
