import { describe, expect, it } from "vitest";
import { VerifydError } from "../../src/core/errors.js";
import { normalizePhone } from "../../src/core/phone.js";

describe("normalizePhone", () => {
  it("normalizes formatted numbers to E.164 with their country", () => {
    expect(normalizePhone("+1 (415) 555-0100")).toEqual({ e164: "+14155550100", country: "US", type: "fixed_line_or_mobile" });
    expect(normalizePhone("+49 151 12345678")).toEqual({ e164: "+4915112345678", country: "DE", type: "mobile" });
    expect(normalizePhone("+91 98765 43210")).toEqual({ e164: "+919876543210", country: "IN", type: "mobile" });
  });

  it("names the line type in snake_case", () => {
    expect(normalizePhone("+44 909 879 0000").type).toBe("premium_rate");
    expect(normalizePhone("+1 800 555 0199").type).toBe("toll_free");
    expect(normalizePhone("+49 30 12345678").type).toBe("fixed_line");
    expect(normalizePhone("+34 902 123 456").type).toBe("shared_cost");
  });

  it.each([
    ["4155550100", "country calling code"],
    ["+1415", "too short"],
    ["+1 415 123 4567", "not a valid number"],
    ["+1 415 555 01000000", "too long"],
    ["hello", "country calling code"],
    ["+abc", "not a phone number"],
  ])("refuses %s (%s)", (input, words) => {
    try {
      normalizePhone(input);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(VerifydError);
      expect((err as VerifydError).code).toBe("invalid_phone_number");
      expect((err as VerifydError).detail).toContain(words);
    }
  });
});
