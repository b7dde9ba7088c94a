import { describe, expect, it } from "vitest";
import {
  bucketOf,
  conversionKeys,
  cooldownFor,
  DEFAULT_CONVERSION_SETTINGS,
  isTrusted,
  judgeKey,
  settledWindow,
} from "../../src/core/conversion-rules.js";
import type { ConversionStanding } from "../../src/core/store/conversion.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const s = DEFAULT_CONVERSION_SETTINGS;

/** A standing: settled and unsettled sends/approvals, and the key's history. */
const standing = (
  settled: [number, number],
  unsettled: [number, number] = [0, 0],
  history: Partial<Pick<ConversionStanding, "lastApprovedAt" | "blockedUntil">> = {},
): ConversionStanding => ({
  settled: { sends: settled[0], approvals: settled[1] },
  unsettled: { sends: unsettled[0], approvals: unsettled[1] },
  lastApprovedAt: null,
  blockedUntil: null,
  ...history,
});
const trusted = { lastApprovedAt: NOW - DAY };

describe("conversion keys", () => {
  it("counts a number against its prefix, its range (two digits fewer) and its country", () => {
    expect(conversionKeys("+14155550123", "US")).toEqual([
      { scope: "prefix", key: "+1415555" },
      { scope: "range", key: "+14155" },
      { scope: "country", key: "US" },
    ]);
    expect(conversionKeys("+447400123456", "GB", 3)).toEqual([
      { scope: "prefix", key: "+447400123" },
      { scope: "range", key: "+4474001" },
      { scope: "country", key: "GB" },
    ]);
  });

  it("counts an email address against its domain", () => {
    expect(conversionKeys("ada@mail.example.com", null)).toEqual([{ scope: "domain", key: "mail.example.com" }]);
  });

  it("leaves out a prefix or range that would be the whole number, and a missing country", () => {
    expect(conversionKeys("+2901234", null)).toEqual([{ scope: "prefix", key: "+290" }]);
    expect(conversionKeys("+29012", null)).toEqual([]);
  });
});

describe("settled window", () => {
  it("ends at the last whole minute at least the settle delay ago, whatever the window's length", () => {
    for (const windowMs of [HOUR, DAY, 90 * MIN]) {
      for (const settleMs of [10 * MIN, 90_000, 0]) {
        for (const offset of [0, 1, 59_999]) {
          const now = NOW + offset;
          const w = settledWindow(now, { windowMs, settleMs });
          expect(w.to).toBe(bucketOf(now - settleMs));
          expect(now - w.to).toBeGreaterThanOrEqual(settleMs); // every send judged is settled…
          expect(now - w.to).toBeLessThan(settleMs + MIN); // …and none settled a minute ago is left out
          expect(w.to - w.from).toBe(windowMs);
        }
      }
    }
  });
});

describe("trust", () => {
  it("needs an approval within memory, and since the key's latest block", () => {
    expect(isTrusted(standing([0, 0]), NOW, s.memoryMs)).toBe(false);
    expect(isTrusted(standing([0, 0], [0, 0], { lastApprovedAt: NOW - 29 * DAY }), NOW, s.memoryMs)).toBe(true);
    expect(isTrusted(standing([0, 0], [0, 0], { lastApprovedAt: NOW - 30 * DAY }), NOW, s.memoryMs)).toBe(false);
    const blocked = { lastApprovedAt: NOW - 2 * HOUR, blockedUntil: NOW - HOUR };
    expect(isTrusted(standing([0, 0], [0, 0], blocked), NOW, s.memoryMs)).toBe(false);
    expect(isTrusted(standing([0, 0], [0, 0], { ...blocked, lastApprovedAt: NOW - HOUR }), NOW, s.memoryMs)).toBe(true);
  });
});

describe("judging a trusted key", () => {
  const judge = (settled: [number, number], unsettled?: [number, number]) =>
    judgeKey("prefix", standing(settled, unsettled, trusted), NOW, s);

  it("blocks once its settled sends reach minSends and convert under the threshold", () => {
    expect(judge([9, 0])).toBeNull();
    expect(judge([10, 0])).toEqual({ action: "block", reason: "low_conversion_prefix", totals: { sends: 10, approvals: 0 } });
    expect(judge([20, 1])?.action).toBe("block");
    expect(judge([20, 2])).toBeNull();
  });

  it("refuses sends past minSends unanswered, each approval being worth 1/threshold more", () => {
    expect(judge([0, 0], [10, 0])).toBeNull();
    expect(judge([0, 0], [11, 0])).toEqual({
      action: "hold",
      reason: "low_conversion_prefix",
      totals: { sends: 11, approvals: 0 },
    });
    expect(judge([5, 1], [15, 0])).toBeNull(); // 20 sends: 10 + 10 for the approval
    expect(judge([5, 1], [16, 0])?.action).toBe("hold");
  });
});

describe("judging a key on probation", () => {
  it("blocks a key never approved after probationSends settled sends, as unproven", () => {
    expect(judgeKey("country", standing([4, 0]), NOW, s)).toBeNull();
    expect(judgeKey("country", standing([5, 0]), NOW, s)).toEqual({
      action: "block",
      reason: "unproven_country",
      totals: { sends: 5, approvals: 0 },
    });
  });

  it("refuses a key never approved past probationSends unanswered, settled or not", () => {
    expect(judgeKey("range", standing([2, 0], [3, 0]), NOW, s)).toBeNull();
    expect(judgeKey("range", standing([2, 0], [4, 0]), NOW, s)).toEqual({
      action: "hold",
      reason: "unproven_range",
      totals: { sends: 6, approvals: 0 },
    });
    // An approval not yet on record as the key's latest (it is being counted) still buys its sends.
    expect(judgeKey("range", standing([2, 0], [4, 1]), NOW, s)).toBeNull();
  });

  it("judges a key blocked before and not approved since on one unanswered send, as low conversion when it had approvals", () => {
    const repeat = { lastApprovedAt: NOW - 3 * HOUR, blockedUntil: NOW - HOUR };
    expect(judgeKey("prefix", standing([0, 0], [1, 0], repeat), NOW, s)).toBeNull();
    expect(judgeKey("prefix", standing([0, 0], [2, 0], repeat), NOW, s)?.action).toBe("hold");
    expect(judgeKey("prefix", standing([1, 0], [0, 0], repeat), NOW, s)).toEqual({
      action: "block",
      reason: "low_conversion_prefix",
      totals: { sends: 1, approvals: 0 },
    });
    const neverApproved = { blockedUntil: NOW - HOUR };
    expect(judgeKey("country", standing([1, 0], [0, 0], neverApproved), NOW, s)?.reason).toBe("unproven_country");
    // A block older than the memory is forgotten: the key is on probation again, with its usual floor.
    expect(judgeKey("country", standing([1, 0], [4, 0], { blockedUntil: NOW - 31 * DAY }), NOW, s)).toBeNull();
  });
});

describe("cool-downs", () => {
  it("lengthen with each earlier block, the last repeating", () => {
    expect([0, 1, 2, 3, 9].map((n) => cooldownFor(n, s.cooldownsMs) / HOUR)).toEqual([1, 4, 24, 24, 24]);
    expect(cooldownFor(3, [HOUR])).toBe(HOUR);
  });
});
