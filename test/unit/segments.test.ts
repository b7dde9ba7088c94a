import { describe, expect, it } from "vitest";
import { countSegments, fitsOneSegment, gsm7Septets } from "../../src/core/messages/segments.js";

describe("SMS segments", () => {
  it("counts GSM-7 basic characters as one septet and extension-table characters as two", () => {
    expect(gsm7Septets("Your code is 123456.")).toBe(20);
    expect(gsm7Septets("[x]")).toBe(5);
    expect(gsm7Septets("€")).toBe(2);
    expect(gsm7Septets("Ça coûte")).toBeNull(); // û has no GSM-7 form
  });

  it("fits 160 septets in one GSM-7 segment and splits the 161st into 153-septet parts", () => {
    expect(countSegments("a".repeat(160))).toEqual({ encoding: "gsm7", units: 160, segments: 1, singleSegmentLimit: 160 });
    expect(countSegments("a".repeat(161)).segments).toBe(2);
    expect(countSegments("a".repeat(306)).segments).toBe(2);
    expect(countSegments("a".repeat(307)).segments).toBe(3);
  });

  it("counts extension characters twice against the 160 budget", () => {
    expect(fitsOneSegment(`${"a".repeat(158)}{`)).toBe(true);
    expect(fitsOneSegment(`${"a".repeat(159)}{`)).toBe(false);
  });

  it("switches the whole text to UCS-2 for one character outside GSM-7, with 70 code units a segment", () => {
    expect(countSegments(`${"a".repeat(69)}ç`)).toEqual({ encoding: "ucs2", units: 70, segments: 1, singleSegmentLimit: 70 });
    expect(countSegments(`${"a".repeat(70)}ç`).segments).toBe(2);
    expect(countSegments("я".repeat(134)).segments).toBe(2);
    expect(countSegments("я".repeat(135)).segments).toBe(3);
  });

  it("counts an emoji outside the BMP as two UTF-16 code units", () => {
    expect(countSegments("🙂").units).toBe(2);
    expect(fitsOneSegment(`${"a".repeat(68)}🙂`)).toBe(true);
    expect(fitsOneSegment(`${"a".repeat(69)}🙂`)).toBe(false);
  });
});
