/** Simulated time and what happens next: a clock that jumps from one event to the next. */

export interface SimEvent {
  at: number;
  /** Ties at the same instant run in the order they were scheduled. */
  seq: number;
  run: () => Promise<void> | void;
}

/** A binary min-heap of events by time, then by scheduling order. */
export class EventQueue {
  private heap: SimEvent[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, run: SimEvent["run"]): void {
    const event = { at, seq: this.seq++, run };
    const h = this.heap;
    h.push(event);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(event, h[parent] as SimEvent)) break;
      h[i] = h[parent] as SimEvent;
      i = parent;
    }
    h[i] = event;
  }

  /** Runs `run` at `from`, then every `everyMs`, while before `until`. */
  every(from: number, until: number, everyMs: number, run: () => Promise<void>): void {
    if (from < until)
      this.push(from, async () => {
        await run();
        this.every(from + everyMs, until, everyMs, run);
      });
  }

  /** Runs every event in order, moving `clock` to each event's time, until none is left. */
  async runAll(clock: SimClock): Promise<void> {
    for (let event = this.pop(); event; event = this.pop()) {
      if (event.at > clock.t) clock.t = event.at;
      await event.run();
    }
  }

  pop(): SimEvent | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (!top || !last || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best = last;
      if (l < h.length && before(h[l] as SimEvent, best)) {
        m = l;
        best = h[l] as SimEvent;
      }
      if (r < h.length && before(h[r] as SimEvent, best)) m = r;
      if (m === i) break;
      h[i] = h[m] as SimEvent;
      i = m;
    }
    h[i] = last;
    return top;
  }
}

const before = (a: SimEvent, b: SimEvent) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** The clock verifyd reads: it shows the time of the event being run. */
export class SimClock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
}
