import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_KEY, createHarness, type Harness } from "../helpers/harness.js";
import { codeAt, parseOtpauth } from "../helpers/totp.js";
import { ACCOUNT_SID } from "../helpers/twilio-sdk.js";

/**
 * Codes as people paste them from a message: grouped with spaces or dashes, in fullwidth or
 * Arabic-Indic digits. The right code is the right code; a candidate that cannot be the code
 * (wrong length or alphabet) is `malformed_code` and spends neither an attempt nor the
 * failed-check limit.
 */

type Check = { valid: boolean; status: string | null; reason: string | null; attempts_remaining: number };

const FULLWIDTH = (code: string) => [...code].map((d) => String.fromCodePoint(0xff10 + Number(d))).join("");
const ARABIC_INDIC = (code: string) => [...code].map((d) => String.fromCodePoint(0x0660 + Number(d))).join("");

describe("codes as typed", () => {
  let h: Harness;
  afterEach(async () => h.close());

  const check = (id: string, code: string) => h.json<Check>("POST", `/v1/verifications/${id}/check`, { code });

  it.each([
    ["grouped with a space", (c: string) => `${c.slice(0, 3)} ${c.slice(3)}`],
    ["padded with spaces", (c: string) => ` ${c} `],
    ["grouped with a dash", (c: string) => `${c.slice(0, 3)}-${c.slice(3)}`],
    ["in fullwidth digits", FULLWIDTH],
    ["in Arabic-Indic digits with right-to-left marks", (c: string) => `\u200f${ARABIC_INDIC(c)}\u200f`],
  ])("approves the right code %s", async (_, typed) => {
    h = await createHarness();
    const { id, code } = await h.startVerification("+14155550101");
    const res = await check(id, typed(code));
    expect(res.body).toMatchObject({ valid: true, status: "approved", reason: null });
  });

  it("approves by destination too", async () => {
    h = await createHarness();
    const { code } = await h.startVerification("+14155550102");
    const res = await h.json<Check>("POST", "/v1/verification-checks", {
      to: "+14155550102",
      code: `${code.slice(0, 3)} ${code.slice(3)}`,
    });
    expect(res.body).toMatchObject({ valid: true, status: "approved" });
  });

  it("answers malformed_code for a candidate of the wrong length or alphabet, and counts it nowhere", async () => {
    h = await createHarness();
    const { id, code } = await h.startVerification("+14155550103");
    // Far more than the 5 checks of a verification and the 10 failed checks an hour of a number.
    for (let i = 0; i < 30; i++) {
      for (const typed of [code.slice(1), `${code}0`, `${code.slice(1)}x`, "-- --"]) {
        const res = await check(id, typed);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          valid: false,
          status: "pending",
          reason: "malformed_code",
          attempts_remaining: 5,
          verification_id: id,
        });
      }
    }
    // A well-formed wrong code still spends an attempt.
    const wrong = `${(Number(code[0]) + 1) % 10}${code.slice(1)}`;
    expect((await check(id, wrong)).body).toMatchObject({ valid: false, reason: "wrong_code", attempts_remaining: 4 });
    expect((await check(id, code)).body).toMatchObject({ valid: true, status: "approved" });
  });

  it("answers a closed verification's reason, not malformed_code", async () => {
    h = await createHarness();
    const { id, code } = await h.startVerification("+14155550104");
    await check(id, code);
    expect((await check(id, "12")).body).toMatchObject({ valid: false, reason: "already_approved" });
    const other = await h.startVerification("+14155550105");
    h.clock.advance(11 * 60_000);
    expect((await check(other.id, "12")).body).toMatchObject({ valid: false, reason: "expired" });
  });

  it("reads alphanumeric codes case-insensitively, dashes and all", async () => {
    h = await createHarness();
    const set = await h.json("PATCH", "/v1/services/svc_default", { alphabet: "alphanumeric" });
    expect(set.status).toBe(200);
    h.clock.advance(6_000); // past the service cache
    const { id, code } = await h.startVerification("+14155550106");
    expect((await check(id, `${code.slice(0, 3)}0${code.slice(4)}`)).body.reason).toBe("malformed_code"); // no 0 is drawn
    const typed = `${code.slice(0, 3)}-${code.slice(3)}`.toLowerCase();
    expect((await check(id, typed)).body).toMatchObject({ valid: true, status: "approved" });
  });

  it("matches a test number's fixed code however it is typed, and tells its length", async () => {
    h = await createHarness();
    await h.json("PATCH", "/v1/services/svc_default", { test_numbers: { "+15005550006": "424242" } });
    h.clock.advance(6_000);
    const started = await h.json<{ id: string }>("POST", "/v1/verifications", { to: "+15005550006" });
    expect((await check(started.body.id, "4242")).body).toMatchObject({ reason: "malformed_code", attempts_remaining: 5 });
    expect((await check(started.body.id, "424 242")).body).toMatchObject({ valid: true, status: "approved" });
  });
});

describe("codes as typed on the Twilio surface", () => {
  let h: Harness;
  afterEach(async () => h.close());
  const basic = `Basic ${Buffer.from(`${ACCOUNT_SID}:${ADMIN_KEY}`).toString("base64")}`;
  const post = async (path: string, form: Record<string, string>) => {
    const res = await h.runtime.app.request(`/twilio/v2${path}`, {
      method: "POST",
      headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("answers a malformed code as a wrong one (200, pending) without spending an attempt, and 60200 outside 4 to 10 characters", async () => {
    h = await createHarness();
    const service = await post("/Services", { FriendlyName: "Acme" });
    const sid = service.body.sid as string;
    const TO = "+14155550107";
    await post(`/Services/${sid}/Verifications`, { To: TO, Channel: "sms" });
    const code = h.sender.lastCode(TO);
    for (let i = 0; i < 10; i++) {
      const res = await post(`/Services/${sid}/VerificationCheck`, { To: TO, Code: `${code.slice(1)}` });
      expect(res).toMatchObject({ status: 200, body: { status: "pending", valid: false } });
    }
    const short = await post(`/Services/${sid}/VerificationCheck`, { To: TO, Code: "1 2 3" });
    expect(short).toMatchObject({ status: 400, body: { code: 60200 } });
    const spaced = await post(`/Services/${sid}/VerificationCheck`, { To: TO, Code: `${code.slice(0, 3)} ${code.slice(3)}` });
    expect(spaced).toMatchObject({ status: 200, body: { status: "approved", valid: true } });
  });
});

describe("authenticator codes as typed", () => {
  let h: Harness;
  afterEach(async () => h.close());

  it("accepts a pasted code and refuses one of the wrong length as malformed_code, without locking the factor", async () => {
    h = await createHarness();
    const created = await h.json<{ id: string; otpauth_uri: string }>("POST", "/v1/factors", { entity_id: "user_7" });
    const params = { secret: parseOtpauth(created.body.otpauth_uri).secret };
    const first = await codeAt(params, h.clock.now());
    const activated = await h.json("POST", `/v1/factors/${created.body.id}/verify`, { code: FULLWIDTH(first) });
    expect(activated.body).toEqual({ valid: true, status: "verified", reason: null });
    // More than the 5 wrong codes that lock a factor.
    for (let i = 0; i < 10; i++) {
      const res = await h.json("POST", "/v1/challenges", { factor_id: created.body.id, code: "12345" });
      expect(res.body).toEqual({ valid: false, reason: "malformed_code", factor_id: created.body.id });
    }
    h.clock.advance(30_000);
    const next = await codeAt(params, h.clock.now());
    const ok = await h.json("POST", "/v1/challenges", { entity_id: "user_7", code: `${next.slice(0, 3)} ${next.slice(3)}` });
    expect(ok.body).toEqual({ valid: true, reason: null, factor_id: created.body.id });
  });
});
