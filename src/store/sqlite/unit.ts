import type { StoreUnit } from "../../core/store/unit.js";
import { type Batch, type GroupCommit, groupCommitted, OUTSIDE_BATCHES } from "./group-commit.js";

/**
 * `unit` on a group-committed SQLite connection (see core/store/unit.ts and group-commit.ts).
 *
 * Outside a unit every operation settles after the commit of its batch, so a start that makes a
 * handful of operations one after another waits for as many commits (one per turn of the event
 * loop) and pays the batching's promises each time. Inside a unit an operation joins the open batch
 * and settles as soon as it ran; the unit itself settles after the commit of the last batch it
 * joined. Operations that follow one another on promises alone stay in one turn, hence in one
 * batch, which is one `BEGIN IMMEDIATE … COMMIT`: whatever they read of each other's writes is
 * committed or lost together with them. Should the unit outlive a turn (real I/O between two
 * operations), the batch it joined before is committed by the time its next operation runs; if
 * that commit failed, that operation and the unit reject with the failure instead of building on a
 * lost write. Every answer, refusals included, still comes after the commit of what it reports.
 */
export function groupUnits(group: GroupCommit) {
  return async function unit<T>(work: (unit: StoreUnit) => Promise<T>): Promise<T> {
    const state: { batch: Batch | null } = { batch: null };
    const after: ((durable: boolean) => void)[] = [];
    const settle = (durable: boolean) => {
      for (const then of after) then(durable);
    };
    // A request joins the same ports again and again (a start: in screening, admission and the write):
    // each is wrapped once per unit.
    const joined = new Map<object, object>();
    const join = <P extends object>(port: P): P => {
      const known = joined.get(port);
      if (known) return known as P;
      const wrapped = groupCommitted(port);
      const result = !wrapped || wrapped.group !== group ? port : deferred(port, wrapped.target as P, group, state);
      joined.set(port, result);
      return result;
    };
    let value: T;
    try {
      value = await work({ join, afterCommit: (then) => after.push(then) });
    } catch (err) {
      if (state.batch) await group.settledOf(state.batch).catch(() => {});
      settle(false);
      throw err;
    }
    try {
      if (state.batch) await group.settledOf(state.batch);
    } catch (err) {
      settle(false);
      throw err;
    }
    settle(true);
    return value;
  };
}

/** `target`'s operations in the open batch, settling as soon as they ran; what is not an operation goes to `port`. */
function deferred<P extends object>(port: P, target: P, group: GroupCommit, state: { batch: Batch | null }): P {
  const methods = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object);
      if (typeof value !== "function") return value;
      if (property === "unit" || OUTSIDE_BATCHES.has(property)) return Reflect.get(port, property);
      let method = methods.get(property);
      if (!method) {
        method = (...args: unknown[]) => {
          group.join();
          const batch = group.current();
          // The unit's earlier batch is settled once another is open: a lost write stops the unit here.
          if (state.batch && state.batch !== batch && state.batch.error !== undefined) return Promise.reject(state.batch.error);
          if (batch) state.batch = batch;
          return value.apply(object, args);
        };
        methods.set(property, method);
      }
      return method;
    },
  });
}
