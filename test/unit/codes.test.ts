import { describe, expect, it } from "vitest";
import { createCodeKit, generateCode } from "../../src/core/codes.js";

const kit = createCodeKit("unit-test-secret-0123456789abcdefghijklmnop");

describe("generateCode", () => {
  it("has the requested length and only digits", () => {
    for (const length of [4, 6, 10]) {
      const code = generateCode(length);
      expect(code).toHaveLength(length);
      expect(code).toMatch(/^\d+$/);
    }
  });

  it("draws digits uniformly (chi-square over 60,000 digits)", () => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) for (const d of generateCode(6)) counts[Number(d)]! += 1;
    const expected = 6_000;
    const chi2 = counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: p = 0.0001 at 33.7. A `byte % 10` generator scores in the hundreds here.
    expect(chi2).toBeLessThan(33.7);
  });

  it("honours another alphabet", () => {
    expect(generateCode(8, "AB")).toMatch(/^[AB]{8}$/);
  });
});

describe("code kit", () => {
  it("matches the right code and only for its own verification", () => {
    const digest = kit.hash("ver_a", "123456");
    expect(kit.matches(digest, "ver_a", "123456")).toBe(true);
    expect(kit.matches(digest, "ver_a", "123457")).toBe(false);
    expect(kit.matches(digest, "ver_b", "123456")).toBe(false);
  });

  it("never stores the code: the digest depends on the secret", () => {
    const other = createCodeKit("another-secret-0123456789abcdefghijklmnopq");
    expect(kit.hash("ver_a", "123456").equals(other.hash("ver_a", "123456"))).toBe(false);
    expect(kit.hash("ver_a", "123456").toString("hex")).not.toContain("123456");
  });

  it("rejects oversized and odd candidates without throwing", () => {
    const digest = kit.hash("ver_a", "123456");
    expect(kit.matches(digest, "ver_a", "1".repeat(10_000))).toBe(false);
    expect(kit.matches(digest, "ver_a", "")).toBe(false);
    expect(kit.matches(Buffer.alloc(3), "ver_a", "123456")).toBe(false);
  });

  it("seals and opens a code, bound to the verification id", () => {
    const sealed = kit.seal("ver_a", "987654");
    expect(sealed.toString("latin1")).not.toContain("987654");
    expect(kit.open("ver_a", sealed)).toBe("987654");
    expect(() => kit.open("ver_b", sealed)).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => kit.open("ver_a", tampered)).toThrow();
  });
});
