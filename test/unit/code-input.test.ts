import { describe, expect, it } from "vitest";
import { fitsShape, normalizeCandidate } from "../../src/core/code-input.js";

describe("codes as people type them", () => {
  it.each([
    ["558262", "558262"],
    ["558 262", "558262"],
    [" 558262 ", "558262"],
    ["558-262", "558262"],
    ["558\u2013262", "558262"], // en dash
    ["558\u00a0262", "558262"], // no-break space, as some messaging apps copy it
    ["\u200f558262\u200f", "558262"], // right-to-left marks around a pasted code
    ["５５８２６２", "558262"], // fullwidth
    ["٥٥٨٢٦٢", "558262"], // Arabic-Indic
    ["۵۵۸۲۶۲", "558262"], // Extended Arabic-Indic (Persian)
    ["५५८२६२", "558262"], // Devanagari
    ["𝟓𝟓𝟖𝟐𝟔𝟐", "558262"], // mathematical bold digits
    ["\u{116D5}\u{116D0}", "50"], // a script whose digits come in two runs of ten, back to back
  ])("reads %j as %s", (typed, code) => {
    expect(normalizeCandidate(typed, "digits")).toBe(code);
  });

  it("upper-cases alphanumeric codes, and only those", () => {
    expect(normalizeCandidate("ab3-d4e", "alphanumeric")).toBe("AB3D4E");
    expect(normalizeCandidate("ｋ７ｍ", "alphanumeric")).toBe("K7M");
    expect(normalizeCandidate("ab3", "digits")).toBe("ab3");
  });

  it("maps every Unicode decimal digit to its ASCII value", () => {
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      const ch = String.fromCodePoint(cp);
      if (!/\p{Nd}/u.test(ch)) continue;
      const normalized = normalizeCandidate(ch, "digits");
      expect(normalized, `U+${cp.toString(16)}`).toMatch(/^[0-9]$/);
    }
    // Each run of ten starts at zero: spot-check the values, not just the range.
    expect(normalizeCandidate("\u0660\u0669\u0966\u096f\u{1D7CE}\u{1D7FF}", "digits")).toBe("090909");
  });

  it("tells a candidate that cannot be the code by its length and alphabet", () => {
    const digits = { length: 6, alphabet: "digits" as const };
    expect(fitsShape("558262", digits)).toBe(true);
    expect(fitsShape("55826", digits)).toBe(false);
    expect(fitsShape("5582620", digits)).toBe(false);
    expect(fitsShape("55826a", digits)).toBe(false);
    expect(fitsShape("", digits)).toBe(false);
    const alnum = { length: 4, alphabet: "alphanumeric" as const };
    expect(fitsShape("AB3D", alnum)).toBe(true);
    expect(fitsShape("AB0D", alnum)).toBe(false); // 0 is never drawn: it looks like O
    // A fixed test code may hold anything; only its length tells.
    expect(fitsShape("a+b!", { length: 4, alphabet: null })).toBe(true);
    expect(fitsShape("a+b", { length: 4, alphabet: null })).toBe(false);
  });
});
