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

  it("draws every position uniformly, the first as the last (chi-square over 10,000 codes each)", () => {
    const counts = Array.from({ length: 6 }, () => new Array<number>(10).fill(0));
    for (let i = 0; i < 10_000; i++) {
      const code = generateCode(6);
      for (let at = 0; at < code.length; at++) counts[at]![Number(code[at])]! += 1;
    }
    for (const position of counts) {
      const chi2 = position.reduce((sum, n) => sum + (n - 1_000) ** 2 / 1_000, 0);
      // 9 degrees of freedom: p = 1.2e-8 at 55, so sixteen positions over both tests never fail by chance.
      expect(chi2).toBeLessThan(55);
    }
  });

  it("is uniform also where one draw cannot cover the whole code (36 characters, 10 long)", () => {
    const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const counts = Array.from({ length: 10 }, () => new Map<string, number>());
    for (let i = 0; i < 7_200; i++) {
      const code = generateCode(10, alphabet);
      for (let at = 0; at < code.length; at++) counts[at]!.set(code[at]!, (counts[at]!.get(code[at]!) ?? 0) + 1);
    }
    for (const position of counts) {
      expect(position.size).toBe(36);
      const chi2 = [...position.values()].reduce((sum, n) => sum + (n - 200) ** 2 / 200, 0);
      // 35 degrees of freedom: p = 3.6e-8 at 100. A position stuck on one character scores about 250,000.
      expect(chi2).toBeLessThan(100);
    }
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
