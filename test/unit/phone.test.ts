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

describe("normalizePhone with numbers as people write them", () => {
  const problem = (input: string, hints?: Parameters<typeof normalizePhone>[1]) => {
    try {
      normalizePhone(input, hints);
    } catch (err) {
      return (err as VerifydError).detail;
    }
    return expect.unreachable();
  };

  it("reads 00 as +, the international prefix of most of the world", () => {
    expect(normalizePhone("0044 20 7946 0958")).toMatchObject({ e164: "+442079460958", country: "GB" });
    expect(normalizePhone(" 0049 151 12345678", { country: "US" }).e164).toBe("+4915112345678");
  });

  it("reads a national number in the request's country, else the service's default country", () => {
    expect(normalizePhone("020 7946 0958", { country: "GB" })).toMatchObject({ e164: "+442079460958", country: "GB" });
    expect(normalizePhone("020 7946 0958", { defaultCountry: "GB" }).e164).toBe("+442079460958");
    expect(normalizePhone("(415) 555-0100", { country: "US", defaultCountry: "GB" }).e164).toBe("+14155550100");
    // A number with its country calling code keeps it, whatever the hints say.
    expect(normalizePhone("+49 151 12345678", { country: "GB" }).e164).toBe("+4915112345678");
  });

  it("says what is missing or wrong, exactly", () => {
    expect(problem("020 7946 0958")).toBe(
      '"to" has no country calling code; write it in E.164 form (+14155550100), begin it with 00, or give "country" for a national number',
    );
    expect(problem("123 456 7890", { country: "US" })).toBe('"to" is not a valid number of US');
    expect(problem("020 7946 0958", { country: "US" })).toBe('"to" is too long');
    expect(problem("020 7946 0958", { defaultCountry: "ZZ" })).toBe(
      '"to" cannot be read as a national number of ZZ, which is not a known country',
    );
    expect(problem("0044 20")).toBe('"to" is too short');
  });
});
