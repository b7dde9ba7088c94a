/**
 * SMPP 3.4's command_status values: what a status means for the send that got it (retry, rejected,
 * misconfigured), and how it is reported (the wire value and the spec's name).
 */
import smppModule from "smpp";
import type { ProviderError, SendResult } from "../core/sender.js";

// A static import (not createRequire) so the single-executable bundle includes the package.
const { errors } = smppModule as { errors: Record<string, number> };
const STATUS_NAMES = new Map(Object.entries(errors).map(([name, status]) => [status, name]));

export const ESME_RX_T_APPN = 0x64;

/** What a send that was not accepted comes back as. */
export type SmppFailure = Exclude<SendResult, { kind: "accepted" }>;

/** command_status classes of SMPP 3.4 §5.1.3 as carriers use them; statuses not listed there are permanent for the message. */
const STATUS_KINDS = new Map<number, SmppFailure["kind"]>([
  [0x08, "retry"], // RSYSERR
  [0x14, "retry"], // RMSGQFUL
  [0x45, "retry"], // RSUBMITFAIL
  [0x58, "retry"], // RTHROTTLED
  [0x64, "retry"], // RX_T_APPN
  [0xff, "retry"], // RUNKNOWNERR
  [0x04, "misconfigured"], // RINVBNDSTS
  [0x05, "misconfigured"], // RALYBND
  [0x0a, "misconfigured"], // RINVSRCADR
  [0x0d, "misconfigured"], // RBINDFAIL
  [0x0e, "misconfigured"], // RINVPASWD
  [0x0f, "misconfigured"], // RINVSYSID
  // Not in the reference table, but about our own settings like RINVSRCADR: source TON/NPI, system_type.
  [0x48, "misconfigured"], // RINVSRCTON
  [0x49, "misconfigured"], // RINVSRCNPI
  [0x53, "misconfigured"], // RINVSYSTYP
  [0x0b, "rejected"], // RINVDSTADR
  [0x62, "rejected"], // RINVEXPIRY
  [0x65, "rejected"], // RX_P_APPN
  [0x66, "rejected"], // RX_R_APPN
]);

export function statusKind(status: number): SmppFailure["kind"] {
  return STATUS_KINDS.get(status) ?? "rejected";
}

/** `0x00000058` / `ESME_RTHROTTLED`: the wire value as the code, the spec's name as the message. */
export function statusError(status: number): ProviderError {
  const code = `0x${status.toString(16).toUpperCase().padStart(8, "0")}`;
  return { code, message: STATUS_NAMES.get(status) ?? "unknown command_status" };
}
