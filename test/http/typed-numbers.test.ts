import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_KEY, createHarness, type Harness } from "../helpers/harness.js";
import { ACCOUNT_SID } from "../helpers/twilio-sdk.js";

/** Numbers as people write them: `00` for `+`, or a national number with a country. */

type View = { id: string; to: string; country: string | null };
type Problem = { code: string; detail: string; errors?: { pointer: string; detail: string }[] };

describe("numbers as typed", () => {
  let h: Harness;
  afterEach(async () => h.close());

  it("starts with 00 for +, and with a national number and its country", async () => {
    h = await createHarness();
    const intl = await h.json<View>("POST", "/v1/verifications", { to: "0044 7400 123456" });
    expect(intl.status).toBe(201);
    expect(intl.body).toMatchObject({ to: "+447400123456", country: "GB" });
    const national = await h.json<View>("POST", "/v1/verifications", { to: "(415) 555-0100", country: "US" });
    expect(national.status).toBe(201);
    expect(national.body).toMatchObject({ to: "+14155550100", country: "US" });
  });

  it("says a national number needs a country, and refuses an unknown one", async () => {
    h = await createHarness();
    const missing = await h.json<Problem>("POST", "/v1/verifications", { to: "020 7946 0958" });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe("invalid_phone_number");
    expect(missing.body.detail).toBe(
      '"to" has no country calling code; write it in E.164 form (+14155550100), begin it with 00, or give "country" for a national number',
    );
    const unknown = await h.json<Problem>("POST", "/v1/verifications", { to: "020 7946 0958", country: "ZZ" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors?.[0]?.pointer).toBe("/country");
    const lower = await h.json<Problem>("POST", "/v1/verifications", { to: "020 7946 0958", country: "gb" });
    expect(lower.status).toBe(400);
  });

  it("reads national numbers in the service's default country, for starts and checks by number", async () => {
    h = await createHarness();
    const bad = await h.json<Problem>("PATCH", "/v1/services/svc_default", { default_country: "ZZ" });
    expect(bad.status).toBe(400);
    type Settings = { settings: { default_country: string | null } };
    const set = await h.json<Settings>("PATCH", "/v1/services/svc_default", { default_country: "GB" });
    expect(set.status).toBe(200);
    expect(set.body.settings.default_country).toBe("GB");
    h.clock.advance(6_000); // past the service cache
    const { id, code } = await h.startVerification("07400 123456");
    expect((await h.json<View>("GET", `/v1/verifications/${id}`)).body.to).toBe("+447400123456");
    // The request's country wins over the default.
    const us = await h.json<View>("POST", "/v1/verifications", { to: "415 555 0100", country: "US" });
    expect(us.body.to).toBe("+14155550100");
    const checked = await h.json<{ valid: boolean }>("POST", "/v1/verification-checks", { to: "07400 123456", code });
    expect(checked.body.valid).toBe(true);
    const cleared = await h.json<Settings>("PATCH", "/v1/services/svc_default", { default_country: null });
    expect(cleared.body.settings.default_country).toBeNull();
  });

  it("keeps the Twilio surface's To in E.164 form", async () => {
    h = await createHarness();
    const basic = `Basic ${Buffer.from(`${ACCOUNT_SID}:${ADMIN_KEY}`).toString("base64")}`;
    const post = async (path: string, form: Record<string, string>) => {
      const res = await h.runtime.app.request(`/twilio/v2${path}`, {
        method: "POST",
        headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form).toString(),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const sid = (await post("/Services", { FriendlyName: "Acme" })).body.sid as string;
    const started = await post(`/Services/${sid}/Verifications`, { To: "0044 7400 123456", Channel: "sms" });
    expect(started).toMatchObject({ status: 400, body: { code: 60200 } });
    expect((await post(`/Services/${sid}/Verifications`, { To: "+44 7400 123456", Channel: "sms" })).status).toBe(201);
  });
});
