/** Bounded waiting on another process or server: never used to wait for domain time (that is the FakeClock's job). */

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something other than undefined, at most `tries` times. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  tries = 100,
  everyMs = 100,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await pause(everyMs);
  }
  throw new Error(`gave up waiting for ${what} after ${tries * everyMs} ms`);
}

/** Rejects when `promise` takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}
