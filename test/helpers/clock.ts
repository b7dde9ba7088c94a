import type { Clock } from "../../src/core/ports.js";

/** A clock that moves only when told to. */
export class FakeClock implements Clock {
  constructor(private t = Date.UTC(2026, 0, 15, 12, 0, 0)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
