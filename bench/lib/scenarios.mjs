// The workloads. Each start uses a number never used before in this run, so none becomes a resend.
import { describe } from "./load.mjs";

/**
 * Indian mobiles +91 98xx xxxxxx: libphonenumber-js (max metadata) accepts all 10^8 of them as
 * valid, and the E.164 form is the input itself. With `prefix` "+234803" and 7 digits: Nigerian
 * mobiles, all 10^7 valid too (the refused scenario's blocked country).
 */
export function phoneNumbers(prefix = "+9198", digits = 8) {
  let next = 0;
  return () => {
    if (next >= 10 ** digits) throw new Error("ran out of phone numbers");
    return `${prefix}${String(next++).padStart(digits, "0")}`;
  };
}

/** The refused scenario's blocked country and its numbers (see bench/run.mjs). */
export const BLOCKED_COUNTRY = "NG";
export const blockedNumbers = () => phoneNumbers("+234803", 7);

/** The mixed scenario's shares of requests: the rest are checks with a wrong code. */
export const MIX = { start: 0.7, check: 0.25 };

/** A code that is not `code`: the same length, every digit shifted by one. */
const wrongCode = (code) => code.replace(/\d/g, (d) => String((Number(d) + 1) % 10));

/** `codes` gives the code sent for a verification id (see capture.mjs). */
export function workloads({ client, codes, nextPhone }) {
  /** POST /v1/verifications; resolves to the id, or to a failure. */
  async function start() {
    const res = await client.post("/v1/verifications", { to: nextPhone() });
    if (res.status !== 201) return { ok: false, why: describe(res) };
    if (typeof res.json?.id !== "string" || res.json.status !== "pending") {
      return { ok: false, why: `start answered status ${res.json?.status}` };
    }
    return { ok: true, id: res.json.id };
  }

  /** POST /v1/verifications/{id}/check with the right code; anything but an approval is a failure. */
  async function check(id, code) {
    const res = await client.post(`/v1/verifications/${id}/check`, { code });
    if (res.status !== 200) return { ok: false, why: describe(res) };
    if (res.json?.valid !== true) return { ok: false, why: `check not approved (${res.json?.reason})` };
    return { ok: true };
  }

  /** A check with a wrong code: it must answer 200 with `valid: false` and leave the verification pending. */
  async function wrongCheck(id, code) {
    const res = await client.post(`/v1/verifications/${id}/check`, { code: wrongCode(code) });
    if (res.status !== 200) return { ok: false, why: describe(res) };
    if (res.json?.valid !== false) return { ok: false, why: "a wrong code was approved" };
    return { ok: true };
  }

  /**
   * One request of the mixed load: 70% starts, 25% correct checks, 5% wrong codes. Checks use the
   * most recent verifications this load started (their codes arrive in the background), so none has
   * expired in a long run; a verification that got one wrong code goes back, as a user retyping would.
   * With nothing to check yet, it starts.
   */
  function mixed() {
    const pending = [];
    const keep = 10_000; // the oldest unchecked ones are forgotten (abandoned, as by real users)
    return async () => {
      const roll = Math.random();
      if (roll < MIX.start || pending.length === 0) {
        const r = await start();
        if (r.ok) {
          codes.take(r.id).then(
            (code) => pending.push({ id: r.id, code }) > 2 * keep && pending.splice(0, keep),
            () => {},
          );
        }
        return r;
      }
      const v = pending.pop();
      if (roll < MIX.start + MIX.check) return check(v.id, v.code);
      const r = await wrongCheck(v.id, v.code);
      // Back on top, so it is checked again soon; after two wrong codes it is abandoned, as it
      // would otherwise risk running out of attempts and fail its correct check.
      v.wrong = (v.wrong ?? 0) + 1;
      if (v.wrong < 2) pending.push(v);
      return r;
    };
  }

  /**
   * A start that must be refused `403 blocked` for `reason` (e.g. `country_velocity`), as a pumping
   * wave's starts are; `next` gives its number.
   */
  const refused = (next, reason) => async () => {
    const res = await client.post("/v1/verifications", { to: next() });
    if (res.status !== 403 || res.json?.code !== "blocked") return { ok: false, why: describe(res) };
    if (!res.json.reasons?.includes(reason)) return { ok: false, why: `refused for ${res.json.reasons}, not ${reason}` };
    return { ok: true };
  };

  /** A start's request with an unknown API key: it must be answered 401 `unauthorized`. */
  async function unauthorized() {
    const res = await client.post("/v1/verifications", { to: nextPhone() });
    if (res.status !== 401 || res.json?.code !== "unauthorized") return { ok: false, why: describe(res) };
    return { ok: true };
  }

  return {
    start,
    check,
    mixed,
    refused,
    unauthorized,
    /** Start, read the code from the capture, check it. */
    async flow() {
      const started = await start();
      if (!started.ok) return started;
      const code = await codes.take(started.id);
      return check(started.id, code);
    },
    /** A start whose code has been captured, ready to be checked later. */
    async prepared() {
      const started = await start();
      if (!started.ok) return started;
      return { ok: true, id: started.id, code: await codes.take(started.id) };
    },
  };
}
