/**
 * A unit of store operations: what one request reads, counts and writes before it may act (send a
 * code, answer). Not a transaction the caller can roll back: each operation stays atomic on its own,
 * and one that throws undoes only itself, exactly as outside a unit.
 */
export interface StoreUnit {
  /**
   * `port` (the Store, or a store opened beside it on the same database, such as the conversion
   * store) with its operations made part of this unit. A port the backend does not batch with this
   * unit comes back as it is.
   */
  join<T extends object>(port: T): T;
  /**
   * Calls `then` once the unit has settled: with true when every write made through it is durable,
   * with false when the unit failed (they may be lost). For a backend whose every operation commits
   * on its own, at once with true: what ran before is durable already.
   */
  afterCommit(then: (durable: boolean) => void): void;
}

export interface UnitStore {
  /**
   * Runs `work` as one unit and settles as it does, but only once every write made through the
   * unit's `join`ed ports is durable: a refusal (rejection) too waits for the counts made before it.
   * Inside the unit an operation settles as soon as it ran instead of after its own commit, so the
   * whole unit pays for one commit rather than one per operation; nothing made inside may be acted
   * on outside (a send, an answer) before the unit has settled. When a commit that held an earlier
   * operation of the unit failed, the unit's next operation and the unit itself reject with that
   * failure, so nothing is built on a write that was lost. A backend whose every operation commits
   * on its own (PostgreSQL) runs `work` with its ports unchanged.
   */
  unit<T>(work: (unit: StoreUnit) => Promise<T>): Promise<T>;
}

/** A unit whose ports are used as they are: each operation commits (and settles) on its own. */
export const PLAIN_UNIT: StoreUnit = { join: (port) => port, afterCommit: (then) => then(true) };

/** `unit` for a backend without batching: `work` with its ports as they are. */
export const plainUnit = <T>(work: (unit: StoreUnit) => Promise<T>): Promise<T> => work(PLAIN_UNIT);
