import { describe, expect, it } from "vitest";
import {
  type AdmissionOptions,
  createAdmissionControl,
  type Permit,
  type Refusal,
  SHEDDING_WINDOW_MS,
} from "../../src/http/admission.js";
import { FakeClock } from "../helpers/clock.js";

type Entry = Permit | Refusal | Promise<Permit | Refusal>;

/** A controller on a fake clock whose timer never fires: the tests call `expire()` themselves. */
function controller(options: Partial<AdmissionOptions> = {}) {
  const clock = new FakeClock();
  const control = createAdmissionControl({
    maxInFlight: 2,
    maxQueued: 2,
    queueTimeoutMs: 250,
    clock,
    schedule: () => {},
    ...options,
  });
  return { clock, control };
}

const isPermit = (e: Entry): e is Permit => typeof e === "object" && !(e instanceof Promise);

/** Records a queued entry's outcome as it settles, so a test can assert "not settled yet". */
function watch(entry: Entry) {
  if (!(entry instanceof Promise)) throw new Error(`expected a place in the queue, got ${String(entry)}`);
  const seen: { outcome?: Permit | Refusal } = {};
  const settled = entry.then((outcome) => {
    seen.outcome = outcome;
    return outcome;
  });
  return { seen, settled };
}

/** Lets promise reactions run (settling is synchronous; only the `then` callbacks wait for microtasks). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("admission control", () => {
  it("admits up to the in-flight limit at once, then queues, then refuses with queue_full", () => {
    const { control } = controller();
    expect(isPermit(control.admit())).toBe(true);
    expect(isPermit(control.admit())).toBe(true);
    expect(control.admit()).toBeInstanceOf(Promise);
    expect(control.admit()).toBeInstanceOf(Promise);
    expect(control.admit()).toBe("queue_full");
    expect(control.inFlight).toBe(2);
    expect(control.queued).toBe(2);
  });

  it("gives a freed slot to the oldest waiter, and a newcomer queues behind the waiters", async () => {
    const { control } = controller({ maxQueued: 3 });
    const first = control.admit() as Permit;
    control.admit();
    const a = watch(control.admit());
    const b = watch(control.admit());
    first.release();
    const late = control.admit(); // a slot was freed, but it went to `a`: no overtaking
    expect(late).toBeInstanceOf(Promise);
    expect(isPermit(await a.settled)).toBe(true);
    await flush();
    expect(b.seen.outcome).toBeUndefined();
    expect(control.inFlight).toBe(2);
    expect(control.queued).toBe(2);
  });

  it("refuses a waiter that waited past the queue timeout when a slot frees, and gives the slot to the next one in time", async () => {
    const { clock, control } = controller();
    const first = control.admit() as Permit;
    control.admit();
    const old = watch(control.admit());
    clock.advance(200);
    const recent = watch(control.admit());
    clock.advance(50); // `old` has waited 250 ms, its whole allowance; `recent` 50 ms
    first.release();
    expect(await old.settled).toBe("queue_timeout");
    expect(isPermit(await recent.settled)).toBe(true);
    expect(control.inFlight).toBe(2);
    expect(control.queued).toBe(0);
  });

  it("refuses waiters at their deadline even when no slot frees (expire)", async () => {
    const { clock, control } = controller();
    control.admit();
    control.admit();
    const old = watch(control.admit());
    clock.advance(100);
    const recent = watch(control.admit());
    clock.advance(149);
    control.expire();
    await flush();
    expect(old.seen.outcome).toBeUndefined();
    clock.advance(1);
    control.expire();
    expect(await old.settled).toBe("queue_timeout");
    await flush();
    expect(recent.seen.outcome).toBeUndefined();
    clock.advance(100);
    control.expire();
    expect(await recent.settled).toBe("queue_timeout");
    expect(control.queued).toBe(0);
    expect(control.inFlight).toBe(2);
  });

  it("arms its timer for the oldest waiter's deadline", () => {
    const delays: number[] = [];
    const { clock, control } = controller({ schedule: (_run, delayMs) => delays.push(delayMs) });
    control.admit();
    control.admit();
    control.admit();
    clock.advance(100);
    control.admit(); // the timer is already armed for the first waiter
    expect(delays).toEqual([250]);
  });

  it("drops a waiter whose caller leaves: refused client_closed, and the slot goes to the next waiter", async () => {
    const { control } = controller();
    const first = control.admit() as Permit;
    control.admit();
    const caller = new AbortController();
    const gone = watch(control.admit(() => caller.signal));
    const next = watch(control.admit());
    caller.abort();
    expect(await gone.settled).toBe("client_closed");
    expect(control.queued).toBe(1);
    first.release();
    expect(isPermit(await next.settled)).toBe(true);
    expect(control.inFlight).toBe(2);
  });

  it("does not queue a caller that has already left", () => {
    const { control } = controller();
    control.admit();
    control.admit();
    const caller = new AbortController();
    caller.abort();
    expect(control.admit(() => caller.signal)).toBe("client_closed");
    expect(control.queued).toBe(0);
  });

  it("frees a slot once however often a permit is released", () => {
    const { control } = controller();
    const permit = control.admit() as Permit;
    control.admit();
    permit.release();
    permit.release();
    expect(control.inFlight).toBe(1);
  });

  it("admits everything when the in-flight limit is 0", () => {
    const { control } = controller({ maxInFlight: 0, maxQueued: 0 });
    for (let i = 0; i < 1000; i++) expect(isPermit(control.admit())).toBe(true);
  });

  it("says it is full exactly when it would refuse at once", () => {
    const { control } = controller({ maxInFlight: 1, maxQueued: 1 });
    expect(control.full).toBe(false);
    const permit = control.admit() as Permit;
    expect(control.full).toBe(false);
    control.admit();
    expect(control.full).toBe(true);
    expect(control.admit()).toBe("queue_full");
    permit.release(); // the waiter takes the slot; the queue is empty again
    expect(control.full).toBe(false);
    expect(controller({ maxInFlight: 0, maxQueued: 0 }).control.full).toBe(false);
  });

  it("refuses at once when there is no queue", () => {
    const { control } = controller({ maxInFlight: 1, maxQueued: 0 });
    control.admit();
    expect(control.admit()).toBe("queue_full");
  });
  it("says it is shedding for a second after a refusal for want of capacity, not after a caller left", () => {
    const { clock, control } = controller();
    expect(control.shedding()).toBe(false);
    control.noteRefusal("client_closed");
    expect(control.shedding()).toBe(false);
    control.noteRefusal("queue_full");
    expect(control.shedding()).toBe(true);
    clock.advance(SHEDDING_WINDOW_MS - 1);
    expect(control.shedding()).toBe(true);
    clock.advance(1);
    expect(control.shedding()).toBe(false);
    control.noteRefusal("queue_timeout");
    expect(control.shedding()).toBe(true);
  });

  it("caps admissions a second while shedding, and only then", () => {
    const { clock, control } = controller({ maxInFlight: 100, maxQueued: 0, maxAdmittedPerSecond: 10 });
    // Not shedding: the slots alone decide, even past the rate.
    const permits: Permit[] = [];
    for (let i = 0; i < 20; i++) permits.push(control.admit() as Permit);
    expect(permits.every(isPermit)).toBe(true);
    for (const p of permits) p.release();

    control.noteRefusal("queue_full");
    clock.advance(500); // half a second: 5 admissions, on an empty bucket
    const admitted = Array.from({ length: 8 }, () => control.admit());
    expect(admitted.filter(isPermit)).toHaveLength(5);
    expect(admitted.slice(5)).toEqual(["admission_rate", "admission_rate", "admission_rate"]);
    expect(control.refusing()).toBe("admission_rate");
    clock.advance(100); // one more
    expect(control.refusing()).toBeNull();
    expect(isPermit(control.admit())).toBe(true);
    expect(control.admit()).toBe("admission_rate");
  });

  it("lifts the cap a second after the last refusal for want of room, even while the rate refuses", () => {
    const { clock, control } = controller({ maxInFlight: 100, maxQueued: 0, maxAdmittedPerSecond: 1 });
    control.noteRefusal("queue_full");
    expect(isPermit(control.admit())).toBe(true); // the bucket held one
    clock.advance(SHEDDING_WINDOW_MS / 2);
    expect(control.admit()).toBe("admission_rate");
    control.noteRefusal("admission_rate"); // the front door notes each refusal: it does not prolong shedding
    clock.advance(SHEDDING_WINDOW_MS / 2 - 1);
    expect(control.shedding()).toBe(true);
    clock.advance(1);
    expect(control.shedding()).toBe(false);
    expect(control.refusing()).toBeNull();
    for (let i = 0; i < 5; i++) expect(isPermit(control.admit())).toBe(true);
  });

  it("spends no admission on a request the full queue refuses", () => {
    const { clock, control } = controller({ maxInFlight: 1, maxQueued: 0, maxAdmittedPerSecond: 1 });
    control.noteRefusal("queue_full");
    const permit = control.admit() as Permit;
    expect(isPermit(permit)).toBe(true);
    clock.advance(1000); // one admission refilled
    expect(control.refusing()).toBe("queue_full");
    expect(control.admit()).toBe("queue_full");
    permit.release();
    expect(isPermit(control.admit())).toBe(true);
  });

  it("caps nothing without a rate", () => {
    const { control } = controller({ maxInFlight: 1000, maxQueued: 0 });
    control.noteRefusal("queue_full");
    for (let i = 0; i < 500; i++) expect(isPermit(control.admit())).toBe(true);
    expect(control.refusing()).toBeNull();
  });
});
