import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context } from "hono";
import type { Caller, Clock } from "../core/ports.js";

/**
 * Admission control: at most `maxInFlight` requests are worked on at once; the next `maxQueued`
 * wait for a slot in arrival order, each at most `queueTimeoutMs`; the rest are refused at once.
 * Past capacity, a request is refused before any work is spent on it (its body not parsed, its key
 * not looked up), so the requests admitted keep their latency and the refused ones learn it in time
 * to go elsewhere or retry later, instead of every caller waiting until it gives up.
 *
 * Hand-rolled rather than cockatiel's bulkhead, which has no queue deadline, leaves a freed slot
 * unused when the queued task it picks was cancelled, and lets a new arrival overtake the queue.
 */

/**
 * Why a request was refused: the queue was full, it waited too long, its caller left while it
 * waited, or (while refusing already) more requests came than `maxAdmittedPerSecond` lets in.
 */
export type Refusal = "queue_full" | "queue_timeout" | "client_closed" | "admission_rate";

/** A slot held by one request; `release` frees it (once; later calls do nothing). */
export interface Permit {
  release(): void;
}

export interface AdmissionOptions {
  /** Requests worked on at once; 0 turns admission control off (everything is admitted). */
  maxInFlight: number;
  /** Requests that may wait for a slot. */
  maxQueued: number;
  /** The longest a request waits for a slot before it is refused. */
  queueTimeoutMs: number;
  /**
   * While requests are being refused (see `shedding`), at most this many are admitted a second
   * (a token bucket holding up to `maxInFlight`); 0 leaves the rate to the slots alone.
   */
  maxAdmittedPerSecond?: number;
  clock: Clock;
  /** Runs `expire` later; the default is an unref'd `setTimeout`. Tests pass one that never fires. */
  schedule?: (run: () => void, delayMs: number) => void;
}

export interface AdmissionControl {
  /**
   * A permit at once when a slot is free; a refusal at once when the queue is full; else a place in
   * the queue, settled when a slot frees (a permit), the wait times out or the caller's signal
   * aborts (a refusal). `callerSignal` is asked for only when the request is queued.
   */
  admit(callerSignal?: () => AbortSignal): Permit | Refusal | Promise<Permit | Refusal>;
  /** Refuses the waiters whose time is up; a timer calls it, tests call it after moving the clock. */
  expire(): void;
  readonly inFlight: number;
  readonly queued: number;
  readonly queueTimeoutMs: number;
  /** Whether every slot is in use and the queue full. */
  readonly full: boolean;
  /**
   * What `admit` would refuse with now, without spending anything: `queue_full`, or `admission_rate`
   * while shedding with no admission left; null when it would admit or queue.
   */
  refusing(): Refusal | null;
  /** Told of each request refused for want of capacity (the front door calls it; see `shedding`). */
  noteRefusal(reason: Refusal): void;
  /**
   * Whether requests were refused for want of room (a full queue or a queue deadline; not a caller
   * that left, nor the admission rate) within the last `SHEDDING_WINDOW_MS`: background work that
   * can wait, such as event webhooks, holds back meanwhile, so the core's time goes to answering
   * callers, and the admission rate (if any) is enforced. The rate's own refusals do not prolong it,
   * so a cap set under a normal load's rate lasts a second after a burst, not as long as that load.
   */
  shedding(): boolean;
}

/** How long after the last refusal `shedding()` still says so. */
export const SHEDDING_WINDOW_MS = 1000;

interface Waiter {
  deadline: number;
  settle: (outcome: Permit | Refusal) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  settled: boolean;
}

const UNLIMITED: Permit = { release() {} };

const unrefTimeout = (run: () => void, delayMs: number) => {
  setTimeout(run, delayMs).unref();
};

export function createAdmissionControl(options: AdmissionOptions): AdmissionControl {
  const { maxInFlight, maxQueued, queueTimeoutMs, clock } = options;
  const schedule = options.schedule ?? unrefTimeout;
  const admissionRate = admissionRateLimit(options.maxAdmittedPerSecond ?? 0, maxInFlight, clock);
  // A FIFO as an array and a head index: shift() would copy the array on every grant.
  let queue: Waiter[] = [];
  let head = 0;
  let waiting = 0; // waiters not yet settled (aborted ones stay in `queue` until they reach its head)
  let inFlight = 0;
  let timerArmed = false;
  let lastRefusalAt = Number.NEGATIVE_INFINITY;

  const permit = (): Permit => {
    let held = true;
    return {
      release() {
        if (!held) return;
        held = false;
        inFlight--;
        grantNext();
      },
    };
  };

  const settle = (w: Waiter, outcome: Permit | Refusal) => {
    w.settled = true;
    waiting--;
    if (w.onAbort) w.signal?.removeEventListener("abort", w.onAbort);
    w.settle(outcome);
  };

  /** The oldest waiter still waiting, dropping the settled ones in front of it. */
  const peek = (): Waiter | undefined => {
    while (head < queue.length && queue[head]?.settled) head++;
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    return queue[head];
  };

  /** Gives a freed slot to the oldest waiter in time, refusing the ones whose time ran out. */
  function grantNext(): void {
    const now = clock.now();
    for (let w = peek(); w && inFlight < maxInFlight; w = peek()) {
      head++;
      if (now >= w.deadline) settle(w, "queue_timeout");
      else {
        inFlight++;
        settle(w, permit());
      }
    }
  }

  function expire(): void {
    const now = clock.now();
    for (let w = peek(); w && now >= w.deadline; w = peek()) {
      head++;
      settle(w, "queue_timeout");
    }
    armTimer();
  }

  /** One timer at a time, for the oldest waiter's deadline. */
  function armTimer(): void {
    const first = peek();
    if (timerArmed || !first) return;
    timerArmed = true;
    schedule(
      () => {
        timerArmed = false;
        expire();
      },
      Math.max(1, first.deadline - clock.now()),
    );
  }

  /** Every slot in use (or taken by those waiting first) and the queue full. */
  function noRoom(): boolean {
    return !(inFlight < maxInFlight && waiting === 0) && waiting >= maxQueued;
  }

  function shedding(): boolean {
    return clock.now() - lastRefusalAt < SHEDDING_WINDOW_MS;
  }

  return {
    get inFlight() {
      return inFlight;
    },
    get queued() {
      return waiting;
    },
    queueTimeoutMs,
    get full() {
      return maxInFlight > 0 && noRoom();
    },
    refusing() {
      if (maxInFlight <= 0) return null;
      if (noRoom()) return "queue_full";
      return shedding() && !admissionRate.available() ? "admission_rate" : null;
    },
    expire,
    noteRefusal(reason) {
      if (reason === "queue_full" || reason === "queue_timeout") lastRefusalAt = clock.now();
    },
    shedding,
    admit(callerSignal) {
      if (maxInFlight <= 0) return UNLIMITED;
      if (noRoom()) return "queue_full";
      // A request that would get a slot or a place in the queue spends an admission; while shedding,
      // one without an admission left is refused (between overloads the slots alone decide).
      if (!admissionRate.take() && shedding()) return "admission_rate";
      if (inFlight < maxInFlight && waiting === 0) {
        inFlight++;
        return permit();
      }
      const signal = callerSignal?.();
      if (signal?.aborted) return "client_closed";
      return new Promise<Permit | Refusal>((resolve) => {
        const w: Waiter = { deadline: clock.now() + queueTimeoutMs, settle: resolve, settled: false };
        if (signal) {
          w.signal = signal;
          w.onAbort = () => {
            if (!w.settled) settle(w, "client_closed");
          };
          signal.addEventListener("abort", w.onAbort, { once: true });
        }
        queue.push(w);
        waiting++;
        armTimer();
      });
    },
  };
}

/**
 * A token bucket of `perSecond` admissions, holding at most `burst` and never more than a second's
 * worth (at least one). `take` spends one when there is one (and says whether there was); with
 * `perSecond` 0 there always is.
 */
function admissionRateLimit(perSecond: number, burst: number, clock: Clock) {
  const capacity = Math.max(1, Math.min(burst, perSecond));
  let tokens = capacity;
  let filledAt = clock.now();
  const refill = () => {
    const now = clock.now();
    tokens = Math.min(capacity, tokens + ((now - filledAt) * perSecond) / 1000);
    filledAt = now;
  };
  const available = (): boolean => {
    if (perSecond <= 0) return true;
    refill();
    return tokens >= 1;
  };
  return {
    available,
    take(): boolean {
      if (!available()) return false;
      if (perSecond > 0) tokens -= 1;
      return true;
    },
  };
}

/** The slot each admitted request holds, by its IncomingMessage (set by the front door). */
const slots = new WeakMap<object, Permit>();

export function holdSlot(request: object, permit: Permit): void {
  slots.set(request, permit);
}

/**
 * Frees the slot of the request behind a Hono context's `env` (@hono/node-server puts the
 * IncomingMessage there), for a handler about to wait without working, such as a long poll. Does
 * nothing for a request that holds none (admission control off, or `app.request` in tests).
 */
export function releaseAdmissionSlot(env: unknown): void {
  const incoming = (env as { incoming?: object } | undefined)?.incoming;
  if (incoming) slots.get(incoming)?.release();
}

/**
 * A request's caller as the core sees it: its connection's abort signal (a start whose caller has
 * gone writes nothing), and a hook that gives the admission slot back while the request only waits
 * for its provider, so a slow provider does not hold up other work (checks above all).
 */
export function callerOf(c: Context): Caller {
  return { abort: connectionOf(c), nextRead, waiting: () => releaseAdmissionSlot(c.env) };
}

/**
 * The next turn of the event loop, after its poll phase (where connections are read): a
 * `setImmediate` set from a turn's check phase (where the group commit runs) runs in the next
 * turn's, and one set from elsewhere in the current turn's, after its poll.
 */
const nextRead = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Whether the caller's connection closed before its answer was out, read from Node's own state of
 * the request, its response and their socket (@hono/node-server passes the first two in `env`),
 * without the AbortController and Request object that asking for the request's signal builds (a
 * few percent of a start, more of a refusal). Without Node's objects (`app.request` in tests), the
 * request's signal.
 *
 * The socket is asked too, because it knows first. A caller's hang-up (its FIN, or a reset) is read
 * in the event loop's poll phase, which ends or destroys the socket there and then; the response is
 * marked destroyed (and the request's signal aborted) only by the socket's `close` event, which
 * comes in the loop's last phase, after the group commit's (`setImmediate`). Asked only for the
 * response, a start whose caller hung up in the same turn it was written passed the check after
 * its commit and was sent. A socket whose reading side has ended is as good as gone: Node's server
 * (without `httpAllowHalfOpen`) then closes it without answering.
 */
export function connectionOf(c: Context): { readonly aborted: boolean } {
  const env = c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
  const incoming = env?.incoming;
  const outgoing = env?.outgoing;
  if (!incoming || !outgoing) return c.req.raw.signal;
  return {
    get aborted() {
      if (incoming.errored !== null) return true;
      if (outgoing.writableFinished) return false;
      if (outgoing.destroyed) return true;
      const socket = incoming.socket as IncomingMessage["socket"] | null;
      return socket !== null && (socket.destroyed || socket.readableEnded);
    },
  };
}
