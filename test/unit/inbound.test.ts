import { describe, expect, it } from "vitest";
import { generateCode } from "../../src/core/codes.js";
import { findInboundCode, INBOUND_ALPHABET } from "../../src/core/inbound.js";

describe("findInboundCode", () => {
  it.each([
    ["hi VERIFY 4kq7zp thanks", "4KQ7ZP"],
    ["VERIFY 4KQ7ZP", "4KQ7ZP"],
    ["verify: 4kq 7zp", "4KQ7ZP"],
    ["4KQ7ZP", "4KQ7ZP"],
    [" 4kq 7zp ", "4KQ7ZP"],
    ["my code is 4KQ7XP thanks", "4KQ7XP"],
    ["VERIFY 0KQ7ZP", "0KQ7ZP"], // looked up (and counted) though it cannot match
  ])("%s → %s", (text, code) => {
    expect(findInboundCode(text)).toBe(code);
  });

  it.each([
    ["VERIFY 4KQ7Z"], // too short
    ["VERIFY 4KQ7ZPX"], // too long
    ["my code is 4KQ7ZP thanks"], // among words, only alphabet words count
    ["hello there"],
    [""],
    ["4KQ7XP or 3ACDEF"], // ambiguous without the keyword
  ])("%s → null", (text) => {
    expect(findInboundCode(text)).toBeNull();
  });

  it("reads back any generated code", () => {
    for (let i = 0; i < 200; i++) {
      const code = generateCode(6, INBOUND_ALPHABET);
      expect(findInboundCode(`Hi! VERIFY ${code.toLowerCase()}.`)).toBe(code);
    }
  });
});
