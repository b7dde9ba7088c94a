import { describe, expect, it } from "vitest";
import { refusalLog } from "../../src/observability/refusal-log.js";
import { FakeClock } from "../helpers/clock.js";

type Line = { fields: Record<string, unknown>; message: string };

/** A refusal log over a fake clock whose scheduled flushes run only when the test says so. */
function setup() {
  const clock = new FakeClock();
  const lines: Line[] = [];
  const scheduled: { run: () => void; ms: number }[] = [];
  const log = refusalLog(
    { warn: (fields: object, message: string) => lines.push({ fields: fields as never, message }) } as never,
    clock,
    {
      everyMs: 10_000,
      schedule: (run, ms) => scheduled.push({ run, ms }),
    },
  );
  return { clock, lines, scheduled, log };
}

const velocity = (to: string, country: string, reasons = ["country_velocity"]) => ({
  to,
  country,
  reasons,
  blocked: true,
  mode: "enforce",
});

describe("refusal log", () => {
  it("logs the first refusal at once and sums up the rest of the wave in one line when the interval is up", () => {
    const { clock, lines, scheduled, log } = setup();
    log.refused("send velocity refused", velocity("+9198***0001", "IN"));
    expect(lines).toEqual([{ message: "send velocity refused", fields: { ...velocity("+9198***0001", "IN"), refused: 1 } }]);

    clock.advance(1_000);
    log.refused("send velocity refused", velocity("+9198***0002", "IN"));
    clock.advance(1_000);
    log.refused("send velocity refused", velocity("+9198***0003", "IN", ["prefix_velocity", "country_velocity"]));
    log.refused("send velocity refused", velocity("+2348***0004", "NG"));
    expect(lines).toHaveLength(1);
    // One flush for the window, due when 10 s have passed since the line written.
    expect(scheduled.map((s) => s.ms)).toEqual([9_000]);

    clock.advance(8_000);
    scheduled[0]?.run();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({
      message: "send velocity refused",
      fields: {
        to: "+9198***0002",
        country: "IN",
        blocked: true,
        mode: "enforce",
        reasons: ["country_velocity", "prefix_velocity"],
        refused: 3,
        by_reason: { country_velocity: 3, prefix_velocity: 1 },
        by_country: { IN: 2, NG: 1 },
        since: new Date(clock.now() - 9_000).toISOString(),
      },
    });
  });

  it("writes at most one line per kind every interval while the wave lasts, and at once after a quiet spell", () => {
    const { clock, lines, scheduled, log } = setup();
    log.refused("send velocity refused", velocity("+9198***0001", "IN"));
    clock.advance(10_000);
    log.refused("send velocity refused", velocity("+9198***0002", "IN")); // 10 s after the first line: at once
    expect(lines).toHaveLength(2);
    clock.advance(2_000);
    log.refused("send velocity refused", velocity("+9198***0003", "IN"));
    clock.advance(8_000);
    scheduled.shift()?.run();
    expect(lines.map((l) => l.fields.refused)).toEqual([1, 1, 1]);
    clock.advance(3_000);
    log.refused("send velocity refused", velocity("+9198***0004", "IN")); // 3 s after the summary: waits
    expect(lines).toHaveLength(3);
    expect(scheduled.map((s) => s.ms)).toEqual([7_000]);
    clock.advance(7_000);
    scheduled.shift()?.run();
    expect(lines).toHaveLength(4);
    clock.advance(60_000);
    log.refused("send velocity refused", velocity("+9198***0005", "IN"));
    expect(lines).toHaveLength(5);
    expect(lines[4]?.fields).toMatchObject({ to: "+9198***0005", refused: 1 });
    expect(scheduled).toHaveLength(0);
  });

  it("keeps each kind of refusal apart", () => {
    const { lines, log } = setup();
    log.refused("send velocity refused", velocity("+9198***0001", "IN"));
    log.refused("conversion guard refused", { to: "+2348***0001", country: "NG", reasons: ["unproven_country"] });
    log.refused("send velocity refused", velocity("+9198***0002", "IN"));
    expect(lines.map((l) => l.message)).toEqual(["send velocity refused", "conversion guard refused"]);
  });

  it("writes what is pending on flush (at shutdown), and nothing when nothing is", () => {
    const { lines, log } = setup();
    log.flush();
    expect(lines).toHaveLength(0);
    log.refused("destination screening refused", { to: "+4490***0000", country: "GB", reasons: ["premium_rate_number"] });
    log.refused("destination screening refused", { to: "+4490***0001", country: "GB", reasons: ["premium_rate_number"] });
    log.flush();
    log.flush();
    expect(lines.map((l) => l.fields.refused)).toEqual([1, 1]);
    expect(lines[1]?.fields).toMatchObject({ by_reason: { premium_rate_number: 1 }, by_country: { GB: 1 } });
  });
});
