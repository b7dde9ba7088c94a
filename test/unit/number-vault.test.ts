import { describe, expect, it } from "vitest";
import { createNumberVault, SealedElsewhereError } from "../../src/core/number-vault.js";

const vault = createNumberVault("unit-test-secret-0123456789abcdefghijklmnop");

describe("number vault", () => {
  it("opens what it sealed, in its context only", () => {
    const sealed = vault.seal("+14155550100", "destination:ver_a");
    expect(vault.open(sealed, "destination:ver_a")).toBe("+14155550100");
    expect(() => vault.open(sealed, "destination:ver_b")).toThrow();
  });

  it("refuses a box altered after the genuine one was opened (and remembered)", () => {
    const sealed = vault.seal("+14155550101", "destination:ver_c");
    expect(vault.open(sealed, "destination:ver_c")).toBe("+14155550101");
    for (const at of [2, 10, sealed.length - 1]) {
      const altered = Buffer.from(sealed);
      altered[at]! ^= 1;
      expect(() => vault.open(altered, "destination:ver_c")).toThrow();
    }
    expect(vault.open(sealed, "destination:ver_c")).toBe("+14155550101");
  });

  it("keeps opening correctly past its memory's bound, and refuses another key's box", () => {
    const boxes = Array.from({ length: 3_000 }, (_, i) => {
      const number = `+1415555${String(i).padStart(4, "0")}`;
      return { number, sealed: vault.seal(number, `destination:ver_${i}`) };
    });
    for (const round of [0, 1]) {
      for (const [i, { number, sealed }] of boxes.entries()) {
        expect(vault.open(sealed, `destination:ver_${i}`), `round ${round}`).toBe(number);
      }
    }
    const other = createNumberVault("another-secret-0123456789abcdefghijklmnopq");
    const foreign = other.seal("+14155550102", "destination:ver_d");
    if (foreign[1] === vault.keyId) expect(() => vault.open(foreign, "destination:ver_d")).toThrow();
    else expect(() => vault.open(foreign, "destination:ver_d")).toThrow(SealedElsewhereError);
  });

  it("gives one number one blind index, and two numbers two", () => {
    expect(vault.index("+14155550100")).toBe(vault.index("+14155550100"));
    expect(vault.index("+14155550100")).not.toBe(vault.index("+14155550101"));
  });
});
