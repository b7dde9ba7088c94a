import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { countSegments } from "../../src/core/messages/segments.js";
import { createHarness, type Harness } from "../helpers/harness.js";

type Problem = { code: string; status: number; detail: string; errors?: { pointer: string; detail: string }[] };
type View = Record<string, unknown> & { id: string };

describe("service settings, templates and locales, WebOTP, PSD2, test numbers", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  /** Changes the default service (the admin key's) and waits out the authenticator's 5 s cache. */
  const configure = async (body: object) => {
    const res = await h.json<View & Problem>("PATCH", "/v1/services/svc_default", body);
    h.clock.advance(6_000);
    return res;
  };
  const lastBody = () => h.sender.messages.at(-1)?.body ?? "";

  it("round-trips every setting through the admin API", async () => {
    const settings = {
      alphabet: "alphanumeric",
      route: [
        { channel: "sms", providers: ["console"], fallback_after_seconds: null, line_types: null },
        { channel: "voice", providers: ["console"], fallback_after_seconds: 120, line_types: ["fixed_line"] },
      ],
      country_routes: { FR: [{ channel: "sms", providers: ["console"], fallback_after_seconds: null, line_types: null }] },
      allowed_countries: ["FR", "US"],
      default_country: "FR",
      default_locale: "de",
      templates: { fr: { sms: "{code} est votre code {service}." }, "pt-BR": { rcs: "Seu codigo {service}: {code}" } },
      webotp_origin: "example.com",
      android_app_hash: "FA+9qCX9VSu",
      test_numbers: { "+15005550006": "ABCD23" },
      email_from: "Acme <no-reply@auth.acme.example>",
      route_mode: "shadow",
    };
    const created = await h.json<View & { settings: object }>("POST", "/v1/services", { name: "Acme", ...settings });
    expect(created.status).toBe(201);
    expect(created.body.settings).toEqual(settings);
    const read = await h.json<View>("GET", `/v1/services/${created.body.id}`);
    expect(read.body).toEqual(created.body);

    const patched = await h.json<View & { settings: Record<string, unknown> }>("PATCH", `/v1/services/${created.body.id}`, {
      webotp_origin: null,
      default_locale: "es",
    });
    expect(patched.status).toBe(200);
    expect(patched.body.settings).toEqual({ ...settings, webotp_origin: null, default_locale: "es" });
  });

  it("rejects bad settings with problem documents naming the field", async () => {
    const cases: [object, string][] = [
      [{ webotp_origin: "https://example.com/x" }, "/webotp_origin"],
      [{ android_app_hash: "tooShort" }, "/android_app_hash"],
      [{ alphabet: "emoji" }, "/alphabet"],
      [{ test_numbers: { "4155550100": "123456" } }, "/test_numbers/4155550100"],
      [{ templates: { fr: { sms: "Votre code {service}." } } }, "/templates/fr/sms"],
      [{ templates: { en: { sms: `${"x".repeat(150)} {code}` } } }, "/templates/en/sms"],
      [{ templates: { ru: { sms: `${"я".repeat(60)} {code}` } } }, "/templates/ru/sms"],
      [{ route: [{ channel: "sms", providers: ["nowhere"] }] }, "/route/0/providers"],
      [{ test_numbers: { "+15005550006": "12" } }, "/test_numbers/+15005550006"],
      [{ templates: { en: { email_subject: "{code}\r\nBcc: victim@example.com" } } }, "/templates/en/email_subject"],
      [{ templates: { en: { voice: "Your code." } } }, "/templates/en/voice"],
      [{ email_from: "Acme <no-reply@auth.acme.example" }, "/email_from"],
      [{ route: [{ channel: "voice", providers: ["console"], line_types: ["landline"] }] }, "/route/0/line_types/0"],
    ];
    for (const [body, pointer] of cases) {
      const res = await h.json<Problem>("POST", "/v1/services", { name: "Acme", ...body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.body.code).toBe("invalid_request");
      expect(res.body.errors?.map((e) => e.pointer)).toContain(pointer);
    }
    // 60 + a space + a 10-character code: 71 UCS-2 characters, one more than a segment.
    const ucs2 = await h.json<Problem>("POST", "/v1/services", {
      name: "Acme",
      templates: { ru: { sms: `${"я".repeat(60)} {code}` } },
    });
    expect(ucs2.body.detail).toBe(
      "the sms template of ru takes 71 UCS-2 characters with the longest values (a 10-character code, the longest amount and payee, the autofill lines); one SMS segment holds 70",
    );
    const fits = await h.json("POST", "/v1/services", { name: "Acme", templates: { ru: { sms: `${"я".repeat(59)} {code}` } } });
    expect(fits.status).toBe(201);
  });

  it("refuses a rename or a WebOTP origin that pushes a stored override over one segment", async () => {
    expect((await configure({ templates: { en: { sms: `${"x".repeat(130)} {code} {service}` } } })).status).toBe(200);
    const res = await configure({ webotp_origin: "example.com" });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.pointer).toBe("/templates/en/sms");
  });

  it("writes in the request's locale, else the country's language, else the service default", async () => {
    await h.startVerification("+33612345678");
    expect(lastBody()).toMatch(/^Votre code verifyd est \d{6}\. Il expire dans 10 minutes\. Ne le partagez pas\.$/);
    const pt = await h.json<View>("POST", "/v1/verifications", { to: "+14155550100", locale: "pt-BR" });
    expect(pt.body.locale).toBe("pt");
    expect(lastBody()).toMatch(/^verifyd: use \d{6} para confirmar\./);
    await configure({ default_locale: "de" });
    await h.startVerification("+14155550101");
    expect(lastBody()).toMatch(/^Ihr verifyd-Code lautet \d{6}\./);
    expect((await h.json<Problem>("POST", "/v1/verifications", { to: "+14155550102", locale: "%%" })).status).toBe(400);
  });

  it("uses a service override, and ends SMS with the app hash and the WebOTP line in one segment", async () => {
    await configure({
      templates: { fr: { sms: "{code} est votre code {service}." } },
      webotp_origin: "example.com",
      android_app_hash: "FA+9qCX9VSu",
    });
    const { code } = await h.startVerification("+33612345678");
    expect(lastBody()).toBe(`${code} est votre code verifyd.\nFA+9qCX9VSu\n@example.com #${code}`);
    expect(countSegments(lastBody()).segments).toBe(1);
  });

  it("binds the code to amount and payee: the same payment approves, another fails as transaction_mismatch", async () => {
    const payment = { amount: "EUR 12.50", payee: "ACME" };
    const { id, code } = await h.startVerification("+14155550100", payment);
    expect(lastBody()).toBe(`verifyd: code ${code} to pay EUR 12.50 to ACME. It expires in 10 minutes. Do not share it.`);
    const read = await h.json<View>("GET", `/v1/verifications/${id}`);
    expect(read.body).toMatchObject(payment);

    const other = await h.json("POST", `/v1/verifications/${id}/check`, { code, amount: "EUR 1250.00", payee: "ACME" });
    expect(other.body).toMatchObject({ valid: false, status: "pending", reason: "transaction_mismatch", attempts_remaining: 4 });
    const missing = await h.json("POST", `/v1/verifications/${id}/check`, { code });
    expect(missing.body).toMatchObject({ valid: false, reason: "transaction_mismatch", attempts_remaining: 3 });
    const wrong = await h.json("POST", `/v1/verifications/${id}/check`, { code: "000000", ...payment });
    expect(wrong.body).toMatchObject({ valid: false, reason: "wrong_code", attempts_remaining: 2 });
    const ok = await h.json("POST", `/v1/verifications/${id}/check`, { code, ...payment });
    expect(ok.body).toMatchObject({ valid: true, status: "approved", reason: null });
  });

  it("cancels the pending verification when the same number starts another payment", async () => {
    const first = await h.startVerification("+14155550100", { amount: "EUR 12.50", payee: "ACME" });
    const second = await h.startVerification("+14155550100", { amount: "EUR 99.00", payee: "ACME" });
    expect(second.id).not.toBe(first.id);
    expect((await h.json<View>("GET", `/v1/verifications/${first.id}`)).body.status).toBe("canceled");
    const old = await h.json("POST", `/v1/verifications/${first.id}/check`, {
      code: first.code,
      amount: "EUR 12.50",
      payee: "ACME",
    });
    expect(old.body).toMatchObject({ valid: false, reason: "canceled" });
    const same = await h.json<View>("POST", "/v1/verifications", { to: "+14155550100", amount: "EUR 99.00", payee: "ACME" });
    expect(same.status).toBe(429); // the same payment again is a resend of the pending one, inside its cooldown
  });

  it("validates amount and payee at the start", async () => {
    for (const body of [{ amount: "12.50", payee: "ACME" }, { amount: "EUR 12,50", payee: "ACME" }, { amount: "EUR 1" }]) {
      const res = await h.json<Problem>("POST", "/v1/verifications", { to: "+14155550100", ...body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it("never sends to a test number, answers test: true, and leaves it out of the metrics", async () => {
    await configure({ test_numbers: { "+15005550006": "424242" } });
    const started = await h.json<View>("POST", "/v1/verifications", { to: "+15005550006" });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ status: "pending", test: true });
    const resent = await h.json<View>("POST", `/v1/verifications/${started.body.id}/resend`);
    h.clock.advance(31_000);
    const resentLater = await h.json<View>("POST", `/v1/verifications/${started.body.id}/resend`);
    expect([resent.status, resentLater.status]).toEqual([429, 200]);
    expect(resentLater.body.test).toBe(true);
    await h.runtime.outbox.runOnce();
    expect(h.sender.messages).toHaveLength(0);
    const read = await h.json<View & { deliveries: unknown[] }>("GET", `/v1/verifications/${started.body.id}`);
    expect(read.body.deliveries).toEqual([]);

    const wrong = await h.json("POST", `/v1/verifications/${started.body.id}/check`, { code: "000000" });
    expect(wrong.body).toMatchObject({ valid: false, reason: "wrong_code", test: true });
    const ok = await h.json("POST", "/v1/verification-checks", { to: "+15005550006", code: "424242" });
    expect(ok.body).toMatchObject({ valid: true, status: "approved", test: true });

    const metrics = await (await h.runtime.app.request("/metrics")).text();
    expect(metrics).not.toMatch(/verifyd_verifications_started_total\{[^}]*\} [1-9]/);
    expect(metrics).not.toMatch(/verifyd_verification_checks_total\{[^}]*\} [1-9]/);

    // A real number of the same service is sent to, counted, and carries no test flag.
    const real = await h.json<View>("POST", "/v1/verifications", { to: "+14155550100" });
    expect(real.body.test).toBeUndefined();
    expect(h.sender.messages).toHaveLength(1);

    // Analytics count the real verification only.
    const day = new Date(h.clock.now()).toISOString().slice(0, 10);
    const next = new Date(h.clock.now() + 86_400_000).toISOString().slice(0, 10);
    const funnel = await h.json<{ groups: { requested: number }[] }>("GET", `/v1/analytics?group_by=day&from=${day}&to=${next}`);
    expect(funnel.body.groups.map((g) => g.requested)).toEqual([1]);
  });

  it("refuses countries outside the service's allowed_countries", async () => {
    await configure({ allowed_countries: ["FR"] });
    const res = await h.json<Problem & { reasons: string[] }>("POST", "/v1/verifications", { to: "+14155550100" });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: "blocked", reasons: ["country_not_allowed"] });
    expect((await h.json("POST", "/v1/verifications", { to: "+33612345678" })).status).toBe(201);
  });

  it("draws alphanumeric codes and checks them case-insensitively", async () => {
    await configure({ alphabet: "alphanumeric" });
    const { id, code } = await h.startVerification("+14155550100");
    expect(code).toMatch(/^[2-9A-HJKMNP-Z]{6}$/);
    const ok = await h.json("POST", `/v1/verifications/${id}/check`, { code: code.toLowerCase() });
    expect(ok.body).toMatchObject({ valid: true });
  });
});

describe("the time left in a message", () => {
  it("says seconds for a TTL under a minute, in the user's language", async () => {
    const h = await createHarness({ VERIFYD_CODE_TTL: "3s" });
    try {
      await h.startVerification("+14155550100");
      expect(h.sender.messages.at(-1)?.body).toContain("It expires in 3 seconds.");
      await h.startVerification("+33612345678"); // France: the French text
      expect(h.sender.messages.at(-1)?.body).toContain("Il expire dans 3 secondes.");
    } finally {
      await h.close();
    }
  });
});
