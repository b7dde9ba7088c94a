export type IdempotencyBegin =
  | { kind: "new" }
  | { kind: "replay"; status: number; body: string }
  | { kind: "in_flight" }
  | { kind: "mismatch" };

/** Idempotency keys: a replayed request is answered with the stored response. */
export interface IdempotencyStore {
  beginIdempotent(serviceId: string, key: string, fingerprint: string, now: number): Promise<IdempotencyBegin>;
  finishIdempotent(serviceId: string, key: string, status: number, body: string): Promise<void>;
  abandonIdempotent(serviceId: string, key: string): Promise<void>;
}
