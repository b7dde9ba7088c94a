import { randomUUID } from "node:crypto";

/**
 * The Voice API half of the Vonage fake (`POST /v1/calls`): it validates the body as the API does,
 * answers 201 `{uuid, status, direction, conversation_uuid}`, keeps each call's NCCO, and builds the
 * event bodies Vonage posts to `event_url` for the outcome a test asks for (signed by the main fake).
 */

export interface VonageCall {
  uuid: string;
  conversationUuid: string;
  body: Record<string, unknown>;
}

export type VonageCallOutcome =
  | "completed"
  | "busy"
  | "timeout"
  | "unanswered"
  | "rejected"
  | "failed"
  | "machine"
  | "hung-up-early";

/** Why `/v1/calls` refuses a body with 400 (undefined: valid). */
export function callInvalidity(body: Record<string, unknown>): string | undefined {
  const to = Array.isArray(body.to) ? (body.to[0] as Record<string, unknown> | undefined) : undefined;
  if (to?.type !== "phone" || typeof to.number !== "string" || !/^[1-9]\d{6,14}$/.test(to.number)) {
    return "Invalid 'to': an array of phone endpoints with digits only";
  }
  const from = body.from as Record<string, unknown> | undefined;
  if (from?.type !== "phone" || typeof from.number !== "string") return "Invalid 'from'";
  const ncco = body.ncco;
  if (!Array.isArray(ncco) || ncco.length === 0) return "Missing 'ncco' or 'answer_url'";
  for (const action of ncco as Record<string, unknown>[]) {
    if (action.action !== "talk" || typeof action.text !== "string" || action.text === "") return "Invalid NCCO";
  }
  if (body.event_url !== undefined && !(Array.isArray(body.event_url) && body.event_url.length === 1)) {
    return "Invalid 'event_url'";
  }
  if (body.machine_detection !== undefined && body.machine_detection !== "hangup" && body.machine_detection !== "continue") {
    return "Invalid 'machine_detection'";
  }
  return undefined;
}

export function createVonageCalls() {
  const calls: VonageCall[] = [];
  return {
    calls,
    place(body: Record<string, unknown>) {
      const call = { uuid: randomUUID(), conversationUuid: `CON-${randomUUID()}`, body };
      calls.push(call);
      return { uuid: call.uuid, status: "started", direction: "outbound", conversation_uuid: call.conversationUuid };
    },
    /** The event bodies of one call, in the order Vonage posts them. */
    events(uuid: string, outcome: VonageCallOutcome): Record<string, unknown>[] {
      const call = calls.find((c) => c.uuid === uuid);
      if (!call) throw new Error(`the fake placed no call ${uuid}`);
      const to = ((call.body.to as Record<string, unknown>[])[0]?.number as string) ?? "";
      const from = (call.body.from as Record<string, unknown>).number as string;
      const common = { from, to, uuid, conversation_uuid: call.conversationUuid, direction: "outbound" };
      const at = (status: string, extra: Record<string, unknown> = {}) => ({
        ...common,
        status,
        timestamp: "2026-01-15T12:00:05.000Z",
        ...extra,
      });
      const out: Record<string, unknown>[] = [at("started"), at("ringing")];
      if (["busy", "timeout", "unanswered", "rejected", "failed"].includes(outcome)) {
        const detail = {
          busy: "busy",
          timeout: undefined,
          unanswered: "unavailable",
          rejected: "restricted",
          failed: "cannot_route",
        }[outcome as "busy"];
        out.push(at(outcome, detail ? { detail, sip_code: 480 } : {}));
        return out;
      }
      out.push(at("answered", { start_time: null, rate: null, network: null }));
      if (outcome === "machine") {
        // Machine-detection events name the call in call_uuid, not uuid.
        const { uuid: _u, ...rest } = common;
        out.push({ ...rest, call_uuid: uuid, status: "machine", sub_state: null, timestamp: "2026-01-15T12:00:08.000Z" });
        out.push(at("completed", { duration: "3", disconnected_by: "platform" }));
        return out;
      }
      const duration = outcome === "hung-up-early" ? "2" : "21";
      out.push(at("completed", { duration, rate: "0.01", price: "0.007", network: "26201", disconnected_by: "user" }));
      return out;
    },
  };
}
