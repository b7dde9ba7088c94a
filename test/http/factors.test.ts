import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";
import { codeAt, parseOtpauth, type TotpParams, wrongCodeAt } from "../helpers/totp.js";

type Created = {
  id: string;
  entity_id: string;
  label: string | null;
  status: string;
  digits: number;
  period: number;
  locked_until: string | null;
  created_at: string;
  otpauth_uri: string;
  qr_svg: string;
};
type Challenge = { valid: boolean; reason: string | null; factor_id: string | null };
type VerifyResult = { valid: boolean; status: string | null; reason: string | null };

describe("TOTP factors", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness({ VERIFYD_SERVICE_NAME: "Acme Login" });
  });
  afterEach(async () => h.close());

  const enroll = async (body: Record<string, unknown> = { entity_id: "user_42" }) => {
    const res = await h.json<Created>("POST", "/v1/factors", body);
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const uri = parseOtpauth(res.body.otpauth_uri);
    const params: TotpParams = { secret: uri.secret, digits: uri.digits, period: uri.period };
    return { ...res.body, uri, params };
  };
  const code = (p: TotpParams, offset = 0) => codeAt(p, h.clock.now(), offset);
  const verify = (id: string, c: string) => h.json<VerifyResult>("POST", `/v1/factors/${id}/verify`, { code: c });
  const challenge = (body: Record<string, unknown>) => h.json<Challenge>("POST", "/v1/challenges", body);
  const activate = async (f: { id: string; params: TotpParams }) => {
    expect((await verify(f.id, await code(f.params))).body).toEqual({ valid: true, status: "verified", reason: null });
  };

  it("creates an unverified factor with an otpauth URI and its QR code, and never shows the secret again", async () => {
    const f = await enroll();
    expect(f).toMatchObject({ entity_id: "user_42", label: null, status: "unverified", digits: 6, period: 30 });
    expect(f.id).toMatch(/^fct_[0-9a-f]{32}$/);
    expect(f.created_at).toBe(new Date(h.clock.now()).toISOString());
    expect(f.uri).toMatchObject({ protocol: "otpauth:", type: "totp", issuer: "Acme Login", algorithm: "SHA1" });
    expect(f.uri.rawLabel).toBe("Acme%20Login:user_42");
    expect([f.uri.digits, f.uri.period]).toEqual([6, 30]);
    expect(f.uri.secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits, unpadded base32
    expect(f.qr_svg.startsWith("<svg")).toBe(true);
    expect(f.qr_svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(f.qr_svg.length).toBeGreaterThan(1000);

    const custom = await enroll({ entity_id: "user_42", label: "ada@example.com", digits: 8, period: 60 });
    expect(custom).toMatchObject({ label: "ada@example.com", digits: 8, period: 60 });
    expect(custom.uri).toMatchObject({ rawLabel: "Acme%20Login:ada%40example.com", digits: 8, period: 60 });
    expect(custom.uri.secret).not.toBe(f.uri.secret);

    const read = await h.call("GET", `/v1/factors/${f.id}`);
    const list = await h.call("GET", "/v1/factors?entity_id=user_42");
    const texts = [await read.text(), await list.text()];
    expect([read.status, list.status]).toEqual([200, 200]);
    for (const text of texts) for (const secret of [f.uri.secret, custom.uri.secret]) expect(text).not.toContain(secret);
    const listed = JSON.parse(texts[1] as string) as { data: { id: string; status: string }[] };
    expect(listed.data.map((x) => x.id)).toEqual([f.id, custom.id]);
    expect(JSON.parse(texts[0] as string)).not.toHaveProperty("otpauth_uri");
  });

  it("activates with a first code, then accepts challenges by factor and by entity, each step once", async () => {
    const f = await enroll();
    expect((await challenge({ factor_id: f.id, code: await code(f.params) })).body).toEqual({
      valid: false,
      reason: "not_verified",
      factor_id: f.id,
    });
    const wrong = await wrongCodeAt(f.params, h.clock.now());
    expect((await verify(f.id, wrong)).body).toEqual({ valid: false, status: "unverified", reason: "wrong_code" });
    await activate(f);
    // The step used for activation is spent.
    expect((await challenge({ factor_id: f.id, code: await code(f.params) })).body.reason).toBe("replayed");

    h.clock.advance(30_000);
    const next = await code(f.params);
    const ok = await challenge({ factor_id: f.id, code: next });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ valid: true, reason: null, factor_id: f.id });
    expect((await challenge({ factor_id: f.id, code: next })).body).toEqual({
      valid: false,
      reason: "replayed",
      factor_id: f.id,
    });

    h.clock.advance(30_000);
    expect((await challenge({ entity_id: "user_42", code: await code(f.params) })).body).toEqual({
      valid: true,
      reason: null,
      factor_id: f.id,
    });
    const read = await h.json<{ status: string; locked_until: string | null }>("GET", `/v1/factors/${f.id}`);
    expect(read.body).toMatchObject({ status: "verified", locked_until: null });
  });

  it("accepts one step of clock drift either way and refuses two", async () => {
    const f = await enroll();
    await activate(f);
    h.clock.advance(150_000);
    expect((await challenge({ factor_id: f.id, code: await code(f.params, -1) })).body.valid).toBe(true);
    expect((await challenge({ factor_id: f.id, code: await code(f.params, 1) })).body.valid).toBe(true);
    h.clock.advance(600_000);
    for (const offset of [-2, 2]) {
      expect((await challenge({ factor_id: f.id, code: await code(f.params, offset) })).body).toEqual({
        valid: false,
        reason: "wrong_code",
        factor_id: f.id,
      });
    }
    expect((await challenge({ factor_id: f.id, code: await code(f.params) })).body.valid).toBe(true);
  });

  it("accepts exactly one of 10 concurrent identical correct challenges", async () => {
    const f = await enroll();
    await activate(f);
    h.clock.advance(30_000);
    const c = await code(f.params);
    const results = await Promise.all(Array.from({ length: 10 }, () => challenge({ factor_id: f.id, code: c })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(results.filter((r) => r.body.valid)).toHaveLength(1);
    // The others are refused: as replays, or as locked once their up-front counting hit the limit.
    const refusals = results.filter((r) => !r.body.valid).map((r) => r.body.reason);
    expect(refusals.every((reason) => reason === "replayed" || reason === "locked")).toBe(true);
    expect(refusals).toContain("replayed");
    // The success cleared the count: the next step is accepted.
    h.clock.advance(30_000);
    expect((await challenge({ factor_id: f.id, code: await code(f.params) })).body.valid).toBe(true);
  });

  it("compares at most 5 of 20 concurrent wrong guesses before the lock holds", async () => {
    const f = await enroll();
    await activate(f);
    h.clock.advance(30_000);
    const guesses = Array.from({ length: 20 }, (_, i) => String(i).padStart(6, "0"));
    const results = await Promise.all(guesses.map((c) => challenge({ factor_id: f.id, code: c })));
    const reasons = results.map((r) => r.body.reason);
    expect(reasons.filter((r) => r === "wrong_code" || r === null)).toHaveLength(5);
    expect(reasons.filter((r) => r === "locked")).toHaveLength(15);
  });

  it("locks after 5 consecutive wrong codes, refuses the right code for 15 minutes, then unlocks", async () => {
    const f = await enroll();
    await activate(f);
    h.clock.advance(30_000);
    const wrong = await wrongCodeAt(f.params, h.clock.now());
    for (let i = 0; i < 5; i++) expect((await challenge({ factor_id: f.id, code: wrong })).body.reason).toBe("wrong_code");
    expect((await challenge({ factor_id: f.id, code: await code(f.params) })).body).toEqual({
      valid: false,
      reason: "locked",
      factor_id: f.id,
    });
    // While locked the answer does not depend on the code, so guesses learn nothing.
    expect((await challenge({ factor_id: f.id, code: wrong })).body.reason).toBe("locked");
    const locked = await h.json<{ locked_until: string }>("GET", `/v1/factors/${f.id}`);
    expect(locked.body.locked_until).toBe(new Date(h.clock.now() + 15 * 60_000).toISOString());
    h.clock.advance(15 * 60_000 - 1);
    expect((await challenge({ entity_id: "user_42", code: await code(f.params) })).body.reason).toBe("locked");
    h.clock.advance(1);
    expect((await challenge({ factor_id: f.id, code: await code(f.params) })).body).toEqual({
      valid: true,
      reason: null,
      factor_id: f.id,
    });
  });

  it("a success resets the failure count", async () => {
    const f = await enroll();
    await activate(f);
    for (let round = 0; round < 2; round++) {
      h.clock.advance(30_000);
      const wrong = await wrongCodeAt(f.params, h.clock.now());
      for (let i = 0; i < 4; i++) await challenge({ factor_id: f.id, code: wrong });
      expect((await challenge({ factor_id: f.id, code: await code(f.params) })).body.valid).toBe(true);
    }
  });

  it("deletes a factor", async () => {
    const f = await enroll();
    await activate(f);
    expect((await h.call("DELETE", `/v1/factors/${f.id}`)).status).toBe(204);
    expect((await h.call("GET", `/v1/factors/${f.id}`)).status).toBe(404);
    h.clock.advance(30_000);
    expect((await challenge({ factor_id: f.id, code: await code(f.params) })).body.reason).toBe("not_found");
    expect((await challenge({ entity_id: "user_42", code: await code(f.params) })).body.reason).toBe("not_found");
    expect((await h.json<{ data: unknown[] }>("GET", "/v1/factors?entity_id=user_42")).body.data).toEqual([]);
  });
});
