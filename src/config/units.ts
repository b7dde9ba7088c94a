const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s" → 30000, "10m" → 600000, "1500ms" → 1500; a bare number is seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * (UNIT_MS[m[2] ?? "s"] ?? 1000);
}

/** A rate limit: `points` per window of `windowMs`. */
export type RateSetting = { points: number; windowMs: number };

/** "5/10m" → 5 points per 600000 ms. */
export function parseRate(text: string): RateSetting | undefined {
  const [count, window] = text.split("/");
  if (!count || !window || !/^\s*\d+\s*$/.test(count)) return undefined;
  const windowMs = parseDuration(window);
  const points = Number(count);
  if (!windowMs || points < 1) return undefined;
  return { points, windowMs };
}
