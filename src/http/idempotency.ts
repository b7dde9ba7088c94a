import { createHash } from "node:crypto";
import type { Context } from "hono";
import { VerifydError } from "../core/errors.js";
import type { Service } from "../core/model.js";
import type { Store } from "../core/store/index.js";

const IDEMPOTENCY_KEY = /^"?([\x21\x23-\x7e]{1,255})"?$/;

/**
 * Runs `run` at most once per `Idempotency-Key` (per service): the same key with the same request
 * (`what`: the operation, its path parameters and its body) replays the first answer; with another
 * request it is refused (422); while the first is still running it is refused (409). Without the
 * header `run` simply runs. Failures are not remembered: a retry after a limit or an outage gets a
 * real second try. `headers` marks a replayed answer (`Idempotent-Replayed: true`).
 */
export async function idempotent<T>(
  c: Context,
  deps: { store: Store; clock: { now(): number }; service: Service },
  what: unknown,
  status: number,
  run: () => Promise<T>,
): Promise<{ body: T; headers?: Record<string, string> }> {
  const rawKey = c.req.header("idempotency-key");
  if (rawKey === undefined) return { body: await run() };

  const { store, service } = deps;
  const key = IDEMPOTENCY_KEY.exec(rawKey.trim())?.[1];
  if (!key) throw new VerifydError("idempotency_key_invalid", "use 1 to 255 printable ASCII characters, e.g. a UUID");
  const fingerprint = createHash("sha256").update(JSON.stringify(what)).digest("base64");
  const begun = await store.beginIdempotent(service.id, key, fingerprint, deps.clock.now());
  switch (begun.kind) {
    case "replay":
      return { body: JSON.parse(begun.body) as T, headers: { "idempotent-replayed": "true" } };
    case "in_flight":
      throw new VerifydError("idempotency_key_in_flight", "the first request with this key has not finished; retry shortly", {
        retryAfterMs: 1000,
      });
    case "mismatch":
      throw new VerifydError("idempotency_key_mismatch", "this key was first used with a different request");
    case "new":
      break;
  }
  try {
    const view = await run();
    await store.finishIdempotent(service.id, key, status, JSON.stringify(view));
    return { body: view };
  } catch (err) {
    await store.abandonIdempotent(service.id, key);
    throw err;
  }
}
