import { afterEach, describe, expect, it } from "vitest";
import type { WebhookRequest } from "../../src/core/sender.js";
import { type FakeSendgrid, startFakeSendgrid } from "../fakes/sendgrid.js";
import { type FakeSmtp, startFakeSmtp } from "../fakes/smtp.js";
import { ADMIN_KEY, createHarness, type Harness } from "../helpers/harness.js";
import { PUBLIC_URL } from "../helpers/provider-credentials.js";
import { listen, sdkClient } from "../helpers/twilio-sdk.js";

/**
 * The email channel through the whole service, against a real SMTP server and the SendGrid fake:
 * an address is normalised, screened and limited; its code goes out, comes back and approves; a
 * bounce moves the route on.
 */

const FROM = "Acme <no-reply@auth.acme.example>";

type View = {
  id: string;
  to: string;
  status: string;
  channel: string;
  country: string | null;
  deliveries: { step: number; channel: string; provider: string; status: string; error_code: string | null }[];
};
type Problem = { code: string; detail: string; reasons?: string[]; errors?: { pointer: string }[] };

const codeOf = (subject: string | undefined) => /^(\d{6}) /.exec(subject ?? "")?.[1] ?? "none";

describe("email verification", () => {
  let h: Harness | undefined;
  let smtp: FakeSmtp | undefined;
  let sendgrid: FakeSendgrid | undefined;
  afterEach(async () => {
    await h?.close();
    await smtp?.close();
    await sendgrid?.close();
    h = smtp = sendgrid = undefined;
  });

  async function setUp(env: Record<string, string> = {}, route?: object[]) {
    smtp = await startFakeSmtp();
    sendgrid = await startFakeSendgrid({ now: () => (h ? h.clock.now() : Date.now()) });
    h = await createHarness(env, {
      publicUrl: PUBLIC_URL,
      providers: {
        mail: { type: "smtp", host: smtp.host, port: smtp.port, ca: smtp.ca, from: FROM },
        sendgrid: {
          type: "sendgrid",
          apiKey: sendgrid.apiKey,
          from: FROM,
          webhookPublicKey: sendgrid.publicKey,
          baseUrl: sendgrid.baseUrl,
        },
      },
      route: route ?? [
        { channel: "sms", providers: ["console"] },
        { channel: "email", providers: ["mail"] },
      ],
    });
    return { h, smtp, sendgrid };
  }
  /** Events are recorded only for a receiver; none is listening, and the worker never runs here. */
  const EVENTS = { VERIFYD_EVENTS_URL: "http://127.0.0.1:9/events", VERIFYD_EVENTS_SECRET: `whsec_${"A".repeat(43)}=` };
  const eventsOf = async (type: string) =>
    (await (h as Harness).json<{ data: { payload: { type: string; data: object } }[] }>("GET", "/v1/events?limit=500")).body.data
      .filter((e) => e.payload.type === type)
      .map((e) => e.payload.data);
  const view = async (id: string) => (await (h as Harness).json<View>("GET", `/v1/verifications/${id}`)).body;
  const rows = async (id: string) =>
    (await view(id)).deliveries.map((d) => `${d.step}:${d.provider}:${d.status}:${d.error_code ?? ""}`);
  const post = (webhook: WebhookRequest) =>
    (h as Harness).runtime.app.request("/webhooks/sendgrid/status", {
      method: "POST",
      headers: webhook.headers,
      body: webhook.rawBody,
    });

  it("sends the code to a normalised address over SMTP, and the code approves", async () => {
    const { h, smtp } = await setUp();
    const started = await h.json<View>("POST", "/v1/verifications", { to: "  Ada.Lovelace@Bücher.Example ", locale: "en" });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ to: "ada.lovelace@xn--bcher-kva.example", channel: "email", country: null });
    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0] as FakeSmtp["received"][number];
    // The address goes out in ASCII (the server shows the envelope decoded).
    expect(mail.raw).toContain("To: ada.lovelace@xn--bcher-kva.example");
    expect(mail.parsed.from?.text).toBe('"Acme" <no-reply@auth.acme.example>');
    const code = codeOf(mail.parsed.subject);
    expect(mail.parsed.subject).toBe(`${code} is your verifyd verification code`);
    expect(await rows(started.body.id)).toEqual(["0:mail:accepted:"]);

    const wrong = await h.json("POST", "/v1/verification-checks", { to: "ada.lovelace@bücher.example", code: "000000" });
    expect(wrong.body).toMatchObject({ valid: false, verification_id: started.body.id });
    const right = await h.json("POST", "/v1/verification-checks", { to: "ADA.LOVELACE@xn--bcher-kva.example", code });
    expect(right.body).toMatchObject({ valid: true, status: "approved", verification_id: started.body.id });
    // Logs show the address masked, never whole, and never the code.
    const logs = h.logs.join("\n");
    expect(logs).not.toContain("ada.lovelace");
    expect(logs).not.toContain(code);
  });

  it("a phone number keeps the phone steps; an address only the email steps", async () => {
    const { h, smtp } = await setUp();
    const phone = await h.json<View>("POST", "/v1/verifications", { to: "+14155550100" });
    expect(phone.body.channel).toBe("sms");
    expect(smtp.received).toHaveLength(0);
    const refused = await h.json<Problem>("POST", "/v1/verifications", { to: "ada@example.com", channels: ["sms"] });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe("channel_not_in_route");
    const viaChannel = await h.json<View>("POST", "/v1/verifications", { to: "ada@example.com", channel: "email" });
    expect(viaChannel.body.channel).toBe("email");
  });

  it.each([
    ["ada@", "no valid domain"],
    ["ada@example", "no valid domain"],
    ["ada@-bad-.example", "no valid domain"],
    ["a..da@example.com", "dot"],
    ['"ada"@example.com', "quoted"],
    ["ada lovelace@example.com", "spaces"],
    ["ada@127.0.0.1", "IP address"],
  ])("refuses %s with 400 invalid_email_address", async (to, words) => {
    const { h } = await setUp();
    const res = await h.json<Problem>("POST", "/v1/verifications", { to });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("invalid_email_address");
    expect(res.body.detail).toContain(words);
    expect(res.body.errors?.[0]?.pointer).toBe("/to");
  });

  it("refuses a disposable-mailbox domain (and its subdomains) unless allow-listed", async () => {
    const first = await setUp();
    for (const to of ["someone@mailinator.com", "someone@inbox.mailinator.com"]) {
      const res = await first.h.json<Problem>("POST", "/v1/verifications", { to });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: "blocked", reasons: ["disposable_email_domain"] });
    }
    await first.h.close();
    await first.smtp.close();
    await first.sendgrid.close();
    h = undefined;
    const allowed = await setUp({ VERIFYD_ALLOW_EMAIL_DOMAINS: "mailinator.com" });
    expect((await allowed.h.json("POST", "/v1/verifications", { to: "someone@inbox.mailinator.com" })).status).toBe(201);
  });

  it("limits sends per address across +tags and per domain", async () => {
    const { h } = await setUp({ VERIFYD_LIMIT_SENDS_PER_DESTINATION: "2/10m", VERIFYD_LIMIT_EMAILS_PER_DOMAIN: "3/1h" });
    const start = (to: string) => h.json<Problem>("POST", "/v1/verifications", { to });
    expect((await start("ada+1@gmail.com")).status).toBe(201);
    expect((await start("a.da+2@googlemail.com")).status).toBe(201);
    const third = await start("ADA+3@gmail.com");
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ code: "rate_limited", limit: { rule: "sends_per_destination" } });
    // The refused third send counted against gmail.com already (as a number's prefix velocity does).
    expect((await start("grace@gmail.com")).status).toBe(201);
    const fifth = await start("alan@gmail.com");
    expect(fifth.status).toBe(403);
    expect(fifth.body).toMatchObject({ code: "blocked", reasons: ["domain_velocity"] });
    expect((await start("alan@example.org")).status).toBe(201);
  });

  it("SendGrid: a bounce is recorded and the route falls back to the next email step with the same code", async () => {
    const { h, smtp, sendgrid } = await setUp({}, [
      { channel: "email", providers: ["sendgrid"] },
      { channel: "email", providers: ["mail"] },
    ]);
    const started = await h.json<View>("POST", "/v1/verifications", { to: "ada@example.com" });
    expect(sendgrid.sent).toHaveLength(1);
    const sent = sendgrid.sent[0] as FakeSendgrid["sent"][number];
    const code = codeOf(sent.body.subject as string);
    const bounce = sendgrid.events([
      { messageId: sent.messageId, event: "processed" },
      {
        messageId: sent.messageId,
        event: "bounce",
        extra: { type: "bounce", status: "5.1.1", reason: "550 5.1.1 no such user" },
      },
    ]);
    expect((await post(bounce)).status).toBe(200);
    expect(await rows(started.body.id)).toEqual(["0:sendgrid:undelivered:bounce", "1:mail:accepted:"]);
    expect(codeOf(smtp.received[0]?.parsed.subject)).toBe(code);
    // A forged event changes nothing.
    const forged = sendgrid.events([{ messageId: sent.messageId, event: "delivered" }], { tamper: true });
    expect((await post(forged)).status).toBe(401);
  });

  it("SMTP: a permanent refusal at RCPT (550) is a failed delivery; the route falls back to the next email step with the same code", async () => {
    const { h, smtp, sendgrid } = await setUp(EVENTS, [
      { channel: "email", providers: ["mail"] },
      { channel: "email", providers: ["sendgrid"] },
    ]);
    const started = await h.json<View>("POST", "/v1/verifications", { to: "nouser@example.com" });
    expect(started.status).toBe(201);
    expect(smtp.received).toHaveLength(0); // the real SMTP server refused the recipient
    expect(await rows(started.body.id)).toEqual(["0:mail:failed:smtp_550", "1:sendgrid:accepted:"]);
    expect(started.body.channel).toBe("email");
    expect(await eventsOf("delivery.fallback")).toMatchObject([
      { reason: "smtp_550", provider: "mail", to_provider: "sendgrid" },
    ]);
    const code = codeOf(sendgrid.sent[0]?.body.subject as string);
    expect(code).toMatch(/^\d{6}$/); // SendGrid's subject carries the code SMTP could not deliver
    const check = await h.json("POST", `/v1/verifications/${started.body.id}/check`, { code });
    expect(check.body).toMatchObject({ valid: true, status: "approved" });
  });

  it("SMTP: a message refused after DATA (554) on the last step fails the verification, with a delivery.failed event", async () => {
    const { h, smtp } = await setUp(EVENTS, [{ channel: "email", providers: ["mail"] }]);
    const started = await h.json<View>("POST", "/v1/verifications", { to: "spam@example.com" });
    expect(smtp.received).toHaveLength(0);
    expect(await rows(started.body.id)).toEqual(["0:mail:failed:smtp_554"]);
    expect((await view(started.body.id)).status).toBe("failed");
    expect(await eventsOf("delivery.failed")).toMatchObject([
      {
        verification_id: started.body.id,
        channel: "email",
        provider: "mail",
        error_code: "smtp_554",
        to_masked: "s***@example.com",
      },
    ]);
    // A temporary refusal (451) is retried, not a failure.
    const later = await h.json<View>("POST", "/v1/verifications", { to: "tempfail@example.com" });
    expect(await rows(later.body.id)).toEqual(["0:mail:queued:smtp_451"]);
    expect((await view(later.body.id)).status).toBe("pending");
  });

  it("SendGrid: a delivered event settles the delivery; a drop on the last step leaves the verification for a resend", async () => {
    const { h, sendgrid } = await setUp(EVENTS, [{ channel: "email", providers: ["sendgrid"] }]);
    const first = await h.json<View>("POST", "/v1/verifications", { to: "ada@example.com" });
    await post(sendgrid.events([{ messageId: sendgrid.sent[0]?.messageId as string, event: "delivered" }]));
    expect(await rows(first.body.id)).toEqual(["0:sendgrid:delivered:"]);
    const second = await h.json<View>("POST", "/v1/verifications", { to: "grace@example.com" });
    await post(
      sendgrid.events([
        { messageId: sendgrid.sent[1]?.messageId as string, event: "dropped", extra: { reason: "Bounced Address" } },
      ]),
    );
    expect(await rows(second.body.id)).toEqual(["0:sendgrid:failed:dropped"]);
    expect((await view(second.body.id)).status).toBe("pending");
    // Not silently: the integrator hears of it, the address masked.
    expect(await eventsOf("delivery.undelivered")).toMatchObject([
      {
        verification_id: second.body.id,
        channel: "email",
        to_masked: "g***@example.com",
        provider: "sendgrid",
        status: "failed",
        error_code: "dropped",
        verification_status: "pending",
      },
    ]);
  });

  it("a service test address gets no email, skips the screens and approves with its fixed code", async () => {
    const { h, smtp } = await setUp({ VERIFYD_LIMIT_SENDS_PER_DESTINATION: "1/10m" });
    const bad = await h.json<Problem>("PATCH", "/v1/services/svc_default", {
      test_numbers: { "Reviewer@Acme.example": "123456" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors?.map((e) => e.pointer)).toEqual(["/test_numbers/Reviewer@Acme.example"]);
    const set = await h.json("PATCH", "/v1/services/svc_default", {
      test_numbers: { "reviewer@mailinator.com": "123456", "+15005550006": "654321" },
    });
    expect(set.status).toBe(200);
    h.clock.advance(6_000); // the authenticator caches the service for 5 s

    // Written in any case, on a disposable domain, twice within a one-send limit: nothing refuses it, nothing is sent.
    for (const to of ["Reviewer@Mailinator.com", "reviewer@mailinator.com"]) {
      const started = await h.json<View & { test?: boolean }>("POST", "/v1/verifications", { to });
      expect(started.status, to).toBe(201);
      expect(started.body).toMatchObject({ to: "reviewer@mailinator.com", channel: "email", test: true });
      expect((await view(started.body.id)).deliveries).toEqual([]);
      const wrong = await h.json("POST", "/v1/verification-checks", { to: "reviewer@mailinator.com", code: "654321" });
      expect(wrong.body).toMatchObject({ valid: false });
      const right = await h.json("POST", "/v1/verification-checks", { to: "reviewer@mailinator.com", code: "123456" });
      expect(right.body).toMatchObject({ valid: true, status: "approved", verification_id: started.body.id });
    }
    expect(smtp.received).toHaveLength(0);
    // Any other address of the domain is still screened.
    expect((await h.json<Problem>("POST", "/v1/verifications", { to: "other@mailinator.com" })).body.code).toBe("blocked");
  });

  it("erases every row about an address", async () => {
    const { h } = await setUp();
    const started = await h.json<View>("POST", "/v1/verifications", { to: "ada@example.com" });
    const erased = await h.json<{ to: string; deleted: Record<string, number> }>("POST", "/v1/erasure", {
      to: "Ada@Example.com",
    });
    expect(erased.status).toBe(200);
    expect(erased.body).toMatchObject({ to: "ada@example.com", deleted: { verifications: 1, deliveries: 1 } });
    // On SQLite the counters are in the database, and go too (the address's send counter, at least).
    if (!h.onPostgres) expect(erased.body.deleted.rate_limits).toBeGreaterThanOrEqual(1);
    expect((await h.json("GET", `/v1/verifications/${started.body.id}`)).status).toBe(404);
  });

  it("the official twilio SDK starts a verification with Channel=email and checks the emailed code", async () => {
    const { h, smtp } = await setUp();
    const server = await listen(h);
    try {
      const client = sdkClient(server.base, ADMIN_KEY);
      const { sid } = await client.verify.v2.services.create({ friendlyName: "Acme" });
      const service = client.verify.v2.services(sid);
      const started = await service.verifications.create({ to: "ada@example.com", channel: "email" });
      expect(started).toMatchObject({ status: "pending", channel: "email", to: "ada@example.com" });
      expect(started.sendCodeAttempts[0]).toMatchObject({ channel: "email" });
      const code = codeOf(smtp.received[0]?.parsed.subject);
      expect(smtp.received[0]?.parsed.subject).toBe(`${code} is your Acme verification code`);
      const checked = await service.verificationChecks.create({ to: "ada@example.com", code });
      expect(checked).toMatchObject({ status: "approved", valid: true, channel: "email" });
    } finally {
      await server.close();
    }
  });
});
