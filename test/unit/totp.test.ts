import { describe, expect, it } from "vitest";
import { checkTotp, createTotpSealer, newTotpSecret, otpauthUri, stepAt, toBase32 } from "../../src/core/totp.js";
import { codeAt, parseOtpauth } from "../helpers/totp.js";

/** RFC 6238 appendix B, SHA-1 rows: the 20-byte ASCII secret, 8 digits, 30-second steps. */
const RFC_SECRET = Buffer.from("12345678901234567890", "ascii");
const RFC_VECTORS: [number, string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
];

const check = (code: string, nowSeconds: number, lastStep: number | null = null, secret: Uint8Array = RFC_SECRET) =>
  checkTotp({ secret, code, digits: 8, period: 30, now: nowSeconds * 1000, lastStep });

describe("checkTotp", () => {
  it.each(RFC_VECTORS)("accepts the RFC 6238 vector at T = %i", async (t, code) => {
    expect(await check(code, t)).toEqual({ kind: "valid", step: Math.floor(t / 30) });
  });

  it("refuses an RFC vector at another time", async () => {
    expect(await check("94287082", 1111111109)).toEqual({ kind: "wrong_code" });
  });

  it("accepts one step of drift either way and refuses two", async () => {
    const p = { secret: toBase32(RFC_SECRET), digits: 8 };
    const now = 1_800_000_000_000;
    const step = stepAt(now, 30);
    for (const [offset, expected] of [
      [-1, { kind: "valid", step: step - 1 }],
      [1, { kind: "valid", step: step + 1 }],
      [-2, { kind: "wrong_code" }],
      [2, { kind: "wrong_code" }],
    ] as const) {
      expect(await check(await codeAt(p, now, offset), now / 1000)).toEqual(expected);
    }
  });

  it("refuses a step at or below the last accepted one as a replay, and accepts a later one", async () => {
    const [t, code] = RFC_VECTORS[1]!;
    const step = Math.floor(t / 30);
    expect(await check(code, t, step)).toEqual({ kind: "replayed" });
    expect(await check(code, t, step + 1)).toEqual({ kind: "replayed" });
    expect(await check(code, t, step - 1)).toEqual({ kind: "valid", step });
    expect(await check("00000000", t, step)).toEqual({ kind: "wrong_code" });
  });

  it("copes with a last step beyond the window (a clock that went back)", async () => {
    const [t, code] = RFC_VECTORS[2]!;
    expect(await check(code, t, Math.floor(t / 30) + 50)).toEqual({ kind: "replayed" });
  });

  it("answers wrong_code for malformed codes instead of throwing", async () => {
    for (const code of ["", "9428708", "942870820", "9428708a", " 4287082", "94287082\n"]) {
      expect(await check(code, 59)).toEqual({ kind: "wrong_code" });
    }
  });

  it("honours 60-second steps and 6 digits", async () => {
    const secret = newTotpSecret();
    const p = { secret: toBase32(secret), period: 60 };
    const now = 1_800_000_040_000;
    const code = await codeAt(p, now);
    expect(code).toHaveLength(6);
    const result = await checkTotp({ secret, code, digits: 6, period: 60, now, lastStep: null });
    expect(result).toEqual({ kind: "valid", step: stepAt(now, 60) });
    expect(await checkTotp({ secret, code, digits: 6, period: 30, now, lastStep: null })).toEqual({ kind: "wrong_code" });
  });
});

describe("TOTP secrets", () => {
  it("are 20 fresh bytes each time", () => {
    const a = newTotpSecret();
    expect(a).toHaveLength(20);
    expect(newTotpSecret().equals(a)).toBe(false);
  });

  it("encode to unpadded base32", () => {
    expect(toBase32(RFC_SECRET)).toBe("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  });

  it("are sealed under VERIFYD_SECRET, bound to their factor id, and hide the plaintext", () => {
    const sealer = createTotpSealer("unit-test-secret-0123456789abcdefghijklmnop");
    const sealed = sealer.seal("fct_1", RFC_SECRET);
    expect(sealer.open("fct_1", sealed).equals(RFC_SECRET)).toBe(true);
    expect(sealed.includes(RFC_SECRET)).toBe(false);
    expect(sealed.toString("latin1")).not.toContain(toBase32(RFC_SECRET));
    expect(sealer.seal("fct_1", RFC_SECRET).equals(sealed)).toBe(false); // fresh IV per seal
    expect(() => sealer.open("fct_2", sealed)).toThrow();
    expect(() => createTotpSealer("another-secret-0123456789abcdefghijklmnop").open("fct_1", sealed)).toThrow();
  });
});

describe("otpauthUri", () => {
  it("writes every parameter and parses back", () => {
    const uri = otpauthUri({ issuer: "verifyd", account: "user_42", secret: RFC_SECRET, digits: 6, period: 30 });
    expect(uri).toBe(
      "otpauth://totp/verifyd:user_42?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=verifyd&algorithm=SHA1&digits=6&period=30",
    );
  });

  it("percent-encodes issuer and account so a colon or space cannot split the label", () => {
    const uri = otpauthUri({ issuer: "Acme: Login", account: "ada@example.com", secret: RFC_SECRET, digits: 8, period: 60 });
    const parsed = parseOtpauth(uri);
    expect(parsed).toMatchObject({ type: "totp", issuer: "Acme: Login", digits: 8, period: 60, algorithm: "SHA1" });
    expect(parsed.rawLabel).toBe("Acme%3A%20Login:ada%40example.com");
    expect(parsed.rawLabel.split(":").map(decodeURIComponent)).toEqual(["Acme: Login", "ada@example.com"]);
  });
});
