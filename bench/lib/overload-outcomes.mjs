// What the overload bench makes of the answers its open loop got (bench/overload.mjs): each answer's
// digest, a phase's status mix and where its time went, and what was written or sent for callers that
// had gone (read from the server's database and the dryrun channel's capture).
import Database from "better-sqlite3";
import { percentile } from "./load.mjs";

/** What a request must get within 1 s: a start, or a refusal the caller can act on. */
export const ANSWER_WITHIN_MS = 1000;

/** A refusal a caller can act on: 503 `overloaded` as problem+json with Retry-After. */
const isProperRefusal = (r) =>
  r.status === 503 &&
  /^application\/problem\+json/.test(r.headers["content-type"] ?? "") &&
  r.headers["retry-after"] !== undefined &&
  typeof r.json?.code === "string";

/**
 * What the report needs of an answer, kept in its place: a 10× phase holds 130 000–290 000 of them,
 * and the load generator's lateness counts as the server's. Against the bare refuser at 12 000
 * requests/s, its garbage collection took 16–17 % of the time with every answer's headers and body
 * kept, 11–15 % with these.
 */
export const digest = (r) => ({
  status: r.status,
  id: r.status === 201 && typeof r.json?.id === "string" ? r.json.id : undefined,
  proper: isProperRefusal(r),
  why: r.why,
  writtenAt: r.writtenAt,
});

/** Sorts each request's outcome (`digest`) into the status mix and collects the ids of the starts answered 201. */
export function classify(records) {
  const mix = { ok: 0, r429: 0, r503: 0, bad503: 0, other: 0, none: 0 };
  const answeredIds = new Set();
  const whyNone = new Map();
  let within = 0;
  let okWithin = 0;
  // Where an answer's time went: waiting in the callers' pool for a connection, then on it.
  const waits = [];
  const onConnection = [];
  for (const { at, ms, result } of records) {
    const r = result;
    if (r.status !== 0 && Number.isFinite(r.writtenAt)) {
      waits.push(r.writtenAt - at);
      onConnection.push(at + ms - r.writtenAt);
    }
    if (r.status === 201 && r.id !== undefined) {
      mix.ok++;
      answeredIds.add(r.id);
      if (ms <= ANSWER_WITHIN_MS) {
        within++;
        okWithin++;
      }
    } else if (r.status === 503) {
      if (r.proper) {
        mix.r503++;
        if (ms <= ANSWER_WITHIN_MS) within++;
      } else mix.bad503++;
    } else if (r.status === 429) mix.r429++;
    else if (r.status === 0) {
      mix.none++;
      whyNone.set(r.why, (whyNone.get(r.why) ?? 0) + 1);
    } else mix.other++;
  }
  waits.sort((a, b) => a - b);
  onConnection.sort((a, b) => a - b);
  const split = {
    waitP50: percentile(waits, 0.5),
    waitP99: percentile(waits, 0.99),
    onConnectionP50: percentile(onConnection, 0.5),
    onConnectionP99: percentile(onConnection, 0.99),
  };
  return { mix, answeredIds, within, okWithin, whyNone, split };
}

/**
 * The codes sent for callers that had gone, split by when the caller left (`leftAt`, by number),
 * against when its verification was written (`created_at`, the server's clock, before the commit):
 * `before` is a send whose caller had closed its connection before its start was even written (the
 * guarantee is that none is sent), `after` one whose caller left while it was being committed and
 * answered, `unknown` one whose caller got no answer without giving up (a failed connection).
 * `lateMs`: how long after its caller left the latest of the `before` ones was written.
 */
export function departedSends(dbPath, sent, leftAtByNumber) {
  const counts = { before: 0, after: 0, unknown: 0, lateMs: 0 };
  if (sent.length === 0) return counts;
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const createdAt = db.prepare("select created_at from verifications where id = ?").pluck();
    for (const { id, to } of sent) {
      const leftAt = to === undefined ? undefined : leftAtByNumber.get(to);
      const written = createdAt.get(id);
      if (leftAt === undefined || written === undefined) counts.unknown++;
      else if (leftAt < written) {
        counts.before++;
        counts.lateMs = Math.max(counts.lateMs, written - leftAt);
      } else counts.after++;
    }
    return counts;
  } finally {
    db.close();
  }
}

/** Verifications written since `sinceMs` whose start was not answered 201, by status. */
export function writtenForDeparted(dbPath, sinceMs, answeredIds) {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const byStatus = new Map();
    for (const row of db.prepare("select id, status from verifications where created_at >= ?").iterate(sinceMs)) {
      if (answeredIds.has(row.id)) continue;
      byStatus.set(row.status, (byStatus.get(row.status) ?? 0) + 1);
    }
    return byStatus;
  } finally {
    db.close();
  }
}
