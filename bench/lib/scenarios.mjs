// The three workloads. Each start uses a number never used before in this run, so none becomes a resend.
import { describe } from "./load.mjs";

/**
 * Indian mobiles +91 98xx xxxxxx: libphonenumber-js (max metadata) accepts all 10^8 of them as
 * valid, and the E.164 form is the input itself.
 */
export function phoneNumbers() {
  let next = 0;
  return () => {
    if (next >= 100_000_000) throw new Error("ran out of phone numbers");
    return `+9198${String(next++).padStart(8, "0")}`;
  };
}

export function workloads({ client, sink, nextPhone }) {
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

  return {
    start,
    check,
    /** Start, read the code from the sink, check it. */
    async flow() {
      const started = await start();
      if (!started.ok) return started;
      const code = await sink.take(started.id);
      return check(started.id, code);
    },
    /** A start whose code has reached the sink, ready to be checked later. */
    async prepared() {
      const started = await start();
      if (!started.ok) return started;
      return { ok: true, id: started.id, code: await sink.take(started.id) };
    },
  };
}
